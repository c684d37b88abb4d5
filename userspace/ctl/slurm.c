// SPDX-License-Identifier: GPL-2.0
/*
 * hugedmactl: slurm gres, this node's gres.conf lines for Slurm.
 *
 * Two kinds of line (see admin/slurm/README):
 * - per-job buffers, which admin/slurm's prolog makes and its epilog removes:
 *   a count-only GRES "hugedma" per page size (Type 1g, 2m) whose count is the
 *   free pool in bytes, so that slurmctld never starts more jobs on the node
 *   than its pool holds and refuses at submission a job no node can hold;
 * - statically provisioned buffers (every enabled configfs buffer but the
 *   prolog's slurm-JOBID ones): a GRES "hugedma_buf" of Type NAME with its
 *   device node as File, which a job asks for by name.
 * Then, as comments, what slurm.conf needs beside them.  A buffer's name
 * (letters, digits, '_' and '-': the module's rule) is always a word Slurm
 * takes as a GRES type.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

#define JOB_PREFIX "slurm-"

/* Slurm splits gres.conf on blanks and a request on ':' and ','. */
static bool slurm_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

/* The short host name, as slurmd names its node by default. */
static int host_name(char *buf, size_t len)
{
	char *dot;

	if (gethostname(buf, len))
		return -errno;
	buf[len - 1] = '\0';
	dot = strchr(buf, '.');
	if (dot)
		*dot = '\0';
	return 0;
}

static void add_line(struct json_object *lines, struct json_object *gres, const char *text,
		     const char *name, const char *type, uint64_t count, const char *file)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "count", json_object_new_uint64(count));
	if (file)
		json_object_object_add(o, "file", json_object_new_string(file));
	json_object_object_add(o, "line", json_object_new_string(text));
	json_object_array_add(gres, o);
	json_object_array_add(lines, json_object_new_string(text));
}

static int gres(const char *node_name)
{
	struct json_object *root, *lines, *gresa;
	char line[1024], conf[2048] = "", sz[32], types[16];
	struct hugedma_buffer_desc b;
	struct hugedma_pool p;
	size_t n, used = 0;
	char **names;
	int ret;

	root = json_object_new_object();
	lines = json_object_new_array();
	gresa = json_object_new_array();
	json_object_object_add(root, "node_name", json_object_new_string(node_name));
	for (size_t i = 0; i < ARRAY_LEN(page_sizes); i++) {
		ret = hugedma_pool_get(page_sizes[i], -1, &p);
		if (ret == -ENOENT || (!ret && !p.free))
			continue;	/* no such pool, or nothing in it to give */
		if (ret) {
			json_object_put(root);
			json_object_put(lines);
			json_object_put(gresa);
			return fail(hugedma_error_path(), ret);
		}
		snprintf(types, sizeof(types), "%s", page_sizes[i] == SZ_1G ? "1g" : "2m");
		human_size(sz, sizeof(sz), p.free * page_sizes[i]);
		snprintf(line, sizeof(line),
			 "NodeName=%s Name=hugedma Type=%s Count=%s Flags=CountOnly",
			 node_name, types, sz);
		add_line(lines, gresa, line, "hugedma", types, p.free * page_sizes[i], NULL);
		used += snprintf(conf + used, sizeof(conf) - used, "%shugedma:%s:%s",
				 used ? "," : "", types, sz);
	}
	ret = hugedma_list_buffers(&names, &n);
	if (ret) {
		json_object_put(root);
		json_object_put(lines);
		json_object_put(gresa);
		return fail(hugedma_error_path(), ret);
	}
	for (size_t i = 0; i < n; i++) {
		char file[300];

		if (!strncmp(names[i], JOB_PREFIX, strlen(JOB_PREFIX)) ||
		    hugedma_buffer_describe(names[i], &b) || !b.configfs || !b.published)
			continue;
		snprintf(file, sizeof(file), "/dev/hugedma/%s", b.name);
		snprintf(line, sizeof(line), "NodeName=%s Name=hugedma_buf Type=%s File=%s",
			 node_name, b.name, file);
		add_line(lines, gresa, line, "hugedma_buf", b.name, 1, file);
		if (used < sizeof(conf))
			used += snprintf(conf + used, sizeof(conf) - used, "%shugedma_buf:%s:1",
					 used ? "," : "", b.name);
	}
	hugedma_names_free(names, n);
	if (used >= sizeof(conf)) {
		json_object_put(root);
		json_object_put(lines);
		json_object_put(gresa);
		return failf("slurm gres: the node's Gres= list is longer than %zu bytes",
			     sizeof(conf) - 1);
	}
	json_object_object_add(root, "gres", gresa);
	json_object_object_add(root, "slurm_conf_gres_types",
			       json_object_new_string("hugedma,hugedma_buf"));
	json_object_object_add(root, "slurm_conf_node_gres", json_object_new_string(conf));
	if (json_out) {
		json_object_put(lines);
		print_json(root);
		return 0;
	}
	json_object_put(root);
	printf("# gres.conf for %s (hugedmactl slurm gres): per-job buffers as the free pool\n"
	       "# in bytes by page size, then the statically provisioned buffers\n", node_name);
	for (size_t i = 0; i < json_object_array_length(lines); i++)
		printf("%s\n", json_object_get_string(json_object_array_get_idx(lines, i)));
	printf("# slurm.conf: GresTypes=hugedma,hugedma_buf\n"
	       "# slurm.conf: NodeName=%s ... Gres=%s\n", node_name, conf);
	json_object_put(lines);
	return 0;
}

/* slurm gres [--node-name NAME] */
int cmd_slurm(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node-name", required_argument, NULL, 'n' },
		{ 0 }
	};
	char host[256];
	const char *node = NULL;
	int c, ret;

	while ((c = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (c) {
		case 'n': node = optarg; break;
		default: return usage("bad option");
		}
	}
	if (optind != argc - 1 || strcmp(argv[optind], "gres"))
		return usage("slurm: give gres (the only subcommand)");
	if (node && !slurm_word(node))
		return usage("slurm gres: node name '%s' is not a Slurm node name", node);
	if (!node) {
		ret = host_name(host, sizeof(host));
		if (ret)
			return fail("gethostname", ret);
		node = host;
	}
	if (take_lock(false))
		return 1;
	return gres(node);
}
