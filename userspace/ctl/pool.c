// SPDX-License-Identifier: GPL-2.0
/*
 * hugedmactl: pool, the hugetlb pool's counters and what hugedma holds of them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

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

int cmd_pool(int argc, char **argv)
{
	struct json_object *root, *sizes;
	int *nodes = NULL, maxnode = 0, ret = 0;
	size_t nn;

	(void)argv;
	if (argc != 1)
		return usage("pool: no arguments");
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
	free(nodes);
	json_object_object_add(root, "pools", sizes);
	if (json_out && !ret)
		print_json(root);
	json_object_put(root);
	return ret;
}
