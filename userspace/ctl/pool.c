// SPDX-License-Identifier: GPL-2.0
/*
 * hugedmactl: pool, the hugetlb pool's counters and what hugedma holds of
 * them, with the kubelet settings that keep pods off those pages; pool set,
 * its size, as hugeadm --pool-pages-min sets it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

const uint64_t page_sizes[2] = { SZ_1G, SZ_2M };

/* What enabled hugedma buffers hold of a page size, per node (0..maxnode). */
static void held_pages(uint64_t page_bytes, uint64_t *total, uint64_t *per_node, int maxnode)
{
	struct hugedma_buffer_desc b;
	char **names;
	size_t n;

	*total = 0;
	if (hugedma_list_buffers(&names, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		if (hugedma_buffer_describe(names[i], &b) || !b.published ||
		    b.page_size != page_bytes)
			continue;
		*total += b.nr_pages;
		if (b.pages_node >= 0 && b.pages_node <= maxnode)
			per_node[b.pages_node] += b.nr_pages;
	}
	hugedma_names_free(names, n);
}

/* One page size: its nodes' rows and its total row; the JSON into @sizes. */
static int pool_size(uint64_t ps_bytes, const int *nodes, size_t nn, int maxnode,
		     struct json_object *sizes)
{
	struct json_object *so, *no;
	struct hugedma_pool all, p;
	uint64_t held, *held_node;
	char ps[16];
	int ret;

	ret = hugedma_pool_get(ps_bytes, -1, &all);
	if (ret == -ENOENT)
		return 0;	/* the kernel has no such page size */
	human_size(ps, sizeof(ps), ps_bytes);
	held_node = calloc(maxnode + 1, sizeof(*held_node));
	if (!held_node)
		return fail("pool", -ENOMEM);
	held_pages(ps_bytes, &held, held_node, maxnode);
	if (ret) {
		free(held_node);
		return fail(hugedma_error_path(), ret);
	}
	so = json_object_new_object();
	json_object_object_add(so, "page_size", json_object_new_uint64(ps_bytes));
	json_object_object_add(so, "total", json_object_new_uint64(all.total));
	json_object_object_add(so, "free", json_object_new_uint64(all.free));
	json_object_object_add(so, "reserved", json_object_new_uint64(all.reserved));
	json_object_object_add(so, "surplus", json_object_new_uint64(all.surplus));
	json_object_object_add(so, "hugedma", json_object_new_uint64(held));
	no = json_object_new_array();
	for (size_t i = 0; i < nn; i++) {
		struct json_object *n;

		ret = hugedma_pool_get(ps_bytes, nodes[i], &p);
		if (ret == -ENOENT) {
			ret = 0;
			continue;
		}
		if (ret)
			break;
		n = json_object_new_object();
		json_object_object_add(n, "node", json_object_new_int(nodes[i]));
		json_object_object_add(n, "total", json_object_new_uint64(p.total));
		json_object_object_add(n, "free", json_object_new_uint64(p.free));
		json_object_object_add(n, "surplus", json_object_new_uint64(p.surplus));
		json_object_object_add(n, "hugedma", json_object_new_uint64(held_node[nodes[i]]));
		json_object_array_add(no, n);
		if (!json_out)
			printf("%-5s %-5d %8" PRIu64 " %8" PRIu64 " %8s %8" PRIu64 " %8" PRIu64 "\n",
			       ps, nodes[i], p.total, p.free, "-", p.surplus, held_node[nodes[i]]);
	}
	free(held_node);
	json_object_object_add(so, "nodes", no);
	json_object_array_add(sizes, so);
	if (ret)
		return fail(hugedma_error_path(), ret);
	if (!json_out)
		printf("%-5s %-5s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n",
		       ps, "all", all.total, all.free, all.reserved, all.surplus, held);
	return 0;
}

/* A Kubernetes quantity of bytes: the largest binary suffix that divides it */
static void k8s_quantity(char *out, size_t len, uint64_t bytes)
{
	static const char *const units[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi" };
	int u = 0;

	while (u < 5 && bytes && !(bytes & 1023)) {
		bytes >>= 10;
		u++;
	}
	snprintf(out, len, "%" PRIu64 "%s", bytes, units[u]);
}

/* hugepages-1Gi, hugepages-2Mi: the kubelet's resource name of a page size */
static void k8s_resource(char *out, size_t len, uint64_t page_size)
{
	char q[16];

	k8s_quantity(q, sizeof(q), page_size);
	snprintf(out, len, "hugepages-%s", q);
}

/*
 * What the kubelet must be told: it counts a node's whole pool (nr_hugepages,
 * read when it starts) as hugepages-<size> capacity, pages hugedma holds
 * included.  Per node, the Memory Manager's --reserved-memory keeps them from
 * Guaranteed pods; --system-reserved takes them off Allocatable, the
 * scheduler's figure.  The Memory Manager refuses to start unless each
 * type's reserved-memory adds up to system-reserved + kube-reserved + the
 * eviction threshold, so the two go together; kubelets that do not take
 * hugepages in --system-reserved ("cannot reserve", before the hugepages
 * reservation of KEP-6252) can take neither.  Buffers whose pages span nodes
 * (numa_node -1 on a machine of several) are not counted per node.
 */
static void kubelet_advice(const int *nodes, size_t nn, int maxnode, struct json_object *root)
{
	struct json_object *ko = json_object_new_object(), *rm = json_object_new_array();
	struct json_object *spanning = json_object_new_array();
	uint64_t (*held)[ARRAY_LEN(page_sizes)] = calloc(maxnode + 1, sizeof(*held));
	uint64_t total[ARRAY_LEN(page_sizes)] = { 0 };
	struct hugedma_buffer_desc b;
	char sysres[256] = "", **names;
	size_t n;

	if (!held || hugedma_list_buffers(&names, &n)) {
		names = NULL;	/* no module: no buffer holds a page */
		n = 0;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned int s;

		if (hugedma_buffer_describe(names[i], &b) || !b.published)
			continue;
		for (s = 0; s < ARRAY_LEN(page_sizes) && page_sizes[s] != b.page_size; s++)
			;
		if (s == ARRAY_LEN(page_sizes))
			continue;
		if (b.pages_node < 0 || b.pages_node > maxnode) {
			json_object_array_add(spanning, json_object_new_string(b.name));
			continue;
		}
		held[b.pages_node][s] += b.nr_pages;
		total[s] += b.nr_pages;
	}
	hugedma_names_free(names, n);
	for (size_t i = 0; i < nn && held; i++) {
		char arg[256];
		size_t k = 0;

		k += snprintf(arg + k, sizeof(arg) - k, "%d:", nodes[i]);
		for (unsigned int s = 0; s < ARRAY_LEN(page_sizes); s++) {
			char res[32], q[32];

			if (!held[nodes[i]][s])
				continue;
			k8s_resource(res, sizeof(res), page_sizes[s]);
			k8s_quantity(q, sizeof(q), held[nodes[i]][s] * page_sizes[s]);
			k += snprintf(arg + k, sizeof(arg) - k, "%s%s=%s",
				      arg[k - 1] == ':' ? "" : ",", res, q);
		}
		if (arg[k - 1] != ':')
			json_object_array_add(rm, json_object_new_string(arg));
	}
	for (unsigned int s = 0, k = 0; s < ARRAY_LEN(page_sizes); s++) {
		char res[32], q[32];

		if (!total[s])
			continue;
		k8s_resource(res, sizeof(res), page_sizes[s]);
		k8s_quantity(q, sizeof(q), total[s] * page_sizes[s]);
		k += snprintf(sysres + k, sizeof(sysres) - k, "%s%s=%s", k ? "," : "", res, q);
	}
	free(held);
	json_object_object_add(ko, "reserved_memory", rm);
	json_object_object_add(ko, "system_reserved",
			       sysres[0] ? json_object_new_string(sysres) : NULL);
	json_object_object_add(ko, "spanning_nodes", spanning);
	json_object_object_add(root, "kubelet", ko);
	if (json_out)
		return;
	if (!sysres[0] && !json_object_array_length(spanning)) {
		printf("kubelet: hugedma holds no pages: nothing to reserve\n");
	} else if (sysres[0]) {
		printf("kubelet: keep pods off the pages hugedma holds:\n ");
		for (size_t i = 0; i < json_object_array_length(rm); i++)
			printf(" --reserved-memory %s",
			       json_object_get_string(json_object_array_get_idx(rm, i)));
		printf(" --system-reserved=%s\n", sysres);
		printf("  (add each node's memory= to its --reserved-memory, and the other\n"
		       "  --system-reserved values: each type's reserved-memory must add up to\n"
		       "  system-reserved + kube-reserved + eviction threshold; a kubelet that\n"
		       "  refuses hugepages in --system-reserved can take neither)\n");
	}
	for (size_t i = 0; i < json_object_array_length(spanning); i++)
		printf("kubelet: buffer %s has pages on several nodes and is not counted per "
		       "node: create it with --node\n",
		       json_object_get_string(json_object_array_get_idx(spanning, i)));
}

/* a count: decimal digits only, no sign, no suffix */
static bool parse_count(const char *s, uint64_t *out)
{
	char *end;

	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 12)
		return false;
	*out = strtoull(s, &end, 10);
	return !*end;
}

struct pool_req {
	int node;		/* -1: the pool as a whole */
	uint64_t count;
};

/*
 * pool set 1G|2M COUNT | NODE:COUNT ...: every request is checked before any
 * is made (nodes exist, no node twice, never below what buffers hold); then
 * each is written and read back.  Exit 1 when a pool did not reach its count.
 */
static int pool_set(int argc, char **argv)
{
	struct json_object *root, *res;
	struct pool_req *req;
	int *nodes = NULL, maxnode = 0, nreq = argc - 2, ret = 0, shortfall = 0;
	uint64_t ps, held, *held_node;
	struct hugedma_pool p;
	size_t nn;
	char psz[16];

	if (argc < 3)
		return usage("pool set: give a page size (1G or 2M) and COUNT or NODE:COUNT ...");
	if (hugedma_parse_size(argv[1], &ps) || (ps != SZ_1G && ps != SZ_2M))
		return usage("pool set: page size '%s' is not 1G or 2M", argv[1]);
	if (get_nodes(&nodes, &nn, &maxnode))
		return 1;
	req = calloc(nreq, sizeof(*req));
	held_node = calloc(maxnode + 1, sizeof(*held_node));
	if (!req || !held_node) {
		ret = fail("pool set", -ENOMEM);
		goto out;
	}
	for (int i = 0; i < nreq; i++) {
		const char *a = argv[i + 2], *colon = strchr(a, ':');
		bool found = false;
		uint64_t node;

		req[i].node = -1;
		if (colon) {
			char nbuf[16];

			if (colon - a >= (int)sizeof(nbuf) || colon == a) {
				ret = usage("pool set: '%s' is not COUNT or NODE:COUNT", a);
				goto out;
			}
			memcpy(nbuf, a, colon - a);
			nbuf[colon - a] = '\0';
			if (!parse_count(nbuf, &node) || node > INT32_MAX) {
				ret = usage("pool set: '%s' is not COUNT or NODE:COUNT", a);
				goto out;
			}
			for (size_t k = 0; k < nn; k++)
				found |= nodes[k] == (int)node;
			if (!found) {
				ret = usage("pool set: node %" PRIu64 " does not exist", node);
				goto out;
			}
			req[i].node = (int)node;
			a = colon + 1;
		}
		if (!parse_count(a, &req[i].count)) {
			ret = usage("pool set: '%s' is not COUNT or NODE:COUNT", argv[i + 2]);
			goto out;
		}
		for (int k = 0; k < i; k++)
			if (req[k].node == req[i].node || (req[k].node < 0) != (req[i].node < 0)) {
				ret = usage("pool set: give one COUNT, or NODE:COUNT once per node");
				goto out;
			}
	}
	if (need_root() || take_lock(true)) {
		ret = 1;
		goto out;
	}
	human_size(psz, sizeof(psz), ps);
	if (hugedma_pool_get(ps, -1, &p)) {
		ret = failf("pool set: this kernel has no %s pages", psz);
		goto out;
	}
	held_pages(ps, &held, held_node, maxnode);
	for (int i = 0; i < nreq; i++) {
		uint64_t h = req[i].node < 0 ? held : held_node[req[i].node];

		if (req[i].count < h) {
			ret = req[i].node < 0 ?
			      failf("pool set: hugedma's buffers hold %" PRIu64 " %s pages; the pool "
				    "cannot shrink to %" PRIu64, h, psz, req[i].count) :
			      failf("pool set: hugedma's buffers hold %" PRIu64 " %s pages on node %d; "
				    "its pool cannot shrink to %" PRIu64, h, psz, req[i].node,
				    req[i].count);
			goto out;
		}
	}
	root = json_object_new_object();
	res = json_object_new_array();
	json_object_object_add(root, "page_size", json_object_new_uint64(ps));
	json_object_object_add(root, "pools", res);
	for (int i = 0; i < nreq && !ret; i++) {
		struct json_object *o;
		uint64_t got = 0;
		char where[32];

		ret = hugedma_pool_set(ps, req[i].node, req[i].count, &got);
		if (ret) {
			fail(hugedma_error_path(), ret);
			break;
		}
		if (req[i].node < 0)
			snprintf(where, sizeof(where), "all nodes");
		else
			snprintf(where, sizeof(where), "node %d", req[i].node);
		o = json_object_new_object();
		json_object_object_add(o, "node", json_object_new_int(req[i].node));
		json_object_object_add(o, "requested", json_object_new_uint64(req[i].count));
		json_object_object_add(o, "obtained", json_object_new_uint64(got));
		json_object_array_add(res, o);
		if (got < req[i].count) {
			shortfall++;
			failf("pool set: %s %s: asked for %" PRIu64 " pages, obtained %" PRIu64
			      " (memory is short or too fragmented for more)", psz, where,
			      req[i].count, got);
		} else if (got > req[i].count) {
			shortfall++;
			failf("pool set: %s %s: asked for %" PRIu64 " pages, the pool keeps %" PRIu64
			      " (pages in use are not freed)", psz, where, req[i].count, got);
		} else if (!json_out) {
			printf("%s %s: %" PRIu64 " pages\n", psz, where, got);
		}
	}
	json_object_object_add(root, "ok", json_object_new_boolean(!ret && !shortfall));
	if (json_out && !ret)
		print_json(root);
	json_object_put(root);
	ret = ret || shortfall ? 1 : 0;
out:
	free(req);
	free(held_node);
	free(nodes);
	return ret;
}

int cmd_pool(int argc, char **argv)
{
	struct json_object *root, *sizes;
	int *nodes = NULL, maxnode = 0, ret = 0;
	size_t nn;

	if (argc > 1 && !strcmp(argv[1], "set"))
		return pool_set(argc - 1, argv + 1);
	if (argc != 1)
		return usage("pool: no arguments, or set 1G|2M COUNT|NODE:COUNT ...");
	if (take_lock(false))
		return 1;
	if (get_nodes(&nodes, &nn, &maxnode))
		return 1;
	root = json_object_new_object();
	sizes = json_object_new_array();
	if (!json_out)
		printf("%-5s %-5s %8s %8s %8s %8s %8s\n", "PAGE", "NODE", "TOTAL", "FREE",
		       "RESV", "SURPLUS", "HUGEDMA");
	for (unsigned int s = 0; s < ARRAY_LEN(page_sizes) && !ret; s++)
		ret = pool_size(page_sizes[s], nodes, nn, maxnode, sizes);
	json_object_object_add(root, "pools", sizes);
	if (!ret)
		kubelet_advice(nodes, nn, maxnode, root);
	free(nodes);
	if (json_out && !ret)
		print_json(root);
	json_object_put(root);
	return ret;
}
