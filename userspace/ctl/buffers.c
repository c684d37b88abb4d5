// SPDX-License-Identifier: GPL-2.0
/*
 * hugedmactl: the buffer commands: list, show, create, destroy, enable,
 * disable.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

/* ------------------------------------------------------------ list, show */

int cmd_list(int argc, char **argv)
{
	struct json_object *arr = NULL;
	char size[32], psize[32], node[16];
	struct hugedma_buffer_desc b;
	char **names;
	size_t n;
	int ret;

	(void)argv;
	if (argc != 1)
		return usage("list: no arguments");
	if (take_lock(false))
		return 1;
	ret = hugedma_list_buffers(&names, &n);
	if (ret)
		return fail(hugedma_error_path(), ret);
	if (json_out)
		arr = json_object_new_array();
	else
		printf("%-32s %-10s %8s %5s %5s %s\n", "NAME", "STATE", "SIZE", "PAGE", "NODE",
		       "SOURCE");
	for (size_t i = 0; i < n; i++) {
		ret = hugedma_buffer_describe(names[i], &b);
		if (ret == -ENOENT)
			continue;	/* removed while we looked */
		if (ret) {
			hugedma_names_free(names, n);
			json_object_put(arr);
			return fail(hugedma_error_path(), ret);
		}
		if (json_out) {
			json_object_array_add(arr, buffer_json(&b));
			continue;
		}
		human_size(size, sizeof(size), b.size);
		human_size(psize, sizeof(psize), b.page_size);
		snprintf(node, sizeof(node), "%d", b.numa_node);
		printf("%-32s %-10s %8s %5s %5s %s\n", b.name, b.state, size, psize,
		       b.numa_node < 0 ? "any" : node, b.source);
	}
	hugedma_names_free(names, n);
	if (json_out) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "buffers", arr);
		print_json(o);
		json_object_put(o);
	}
	return 0;
}

static bool proc_maps_has(const char *pid, const char *devpath)
{
	char path[PATH_MAX], *maps, *p;
	size_t len = strlen(devpath);
	bool found;

	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	if (read_text(path, &maps))
		return false;
	p = strstr(maps, devpath);
	found = p && (p[len] == '\n' || p[len] == ' ' || !p[len]);
	free(maps);
	return found;
}

static bool proc_fds_have(const char *pid, const char *devpath)
{
	char path[PATH_MAX], link[PATH_MAX];
	struct dirent *fe;
	bool found = false;
	DIR *fds;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	fds = opendir(path);
	while (fds && !found && (fe = readdir(fds))) {
		snprintf(path, sizeof(path), "/proc/%s/fd/%s", pid, fe->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			found = !strcmp(link, devpath);
		}
	}
	if (fds)
		closedir(fds);
	return found;
}

/* Processes with /dev/hugedma/NAME open or mapped: only those /proc lets us see. */
static struct json_object *find_users(const char *name)
{
	struct json_object *arr = json_object_new_array();
	char devpath[PATH_MAX], path[PATH_MAX], comm[64];
	struct dirent *de;
	DIR *proc;

	snprintf(devpath, sizeof(devpath), "/dev/hugedma/%s", name);
	proc = opendir("/proc");
	if (!proc)
		return arr;
	while ((de = readdir(proc))) {
		struct json_object *u;
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (!proc_fds_have(de->d_name, devpath) && !proc_maps_has(de->d_name, devpath))
			continue;
		comm[0] = '\0';
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "re");
		if (f) {
			if (!fgets(comm, sizeof(comm), f))
				comm[0] = '\0';
			comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
		u = json_object_new_object();
		json_object_object_add(u, "pid", json_object_new_int(atoi(de->d_name)));
		json_object_object_add(u, "comm", json_object_new_string(comm));
		json_object_array_add(arr, u);
	}
	closedir(proc);
	return arr;
}

/* The buffer's attachments as show prints them: configfs ones and kernel users'. */
static struct json_object *attachments_json(const char *name)
{
	struct json_object *atts = json_object_new_array();
	char **bdfs;
	size_t n;

	if (hugedma_list_attachments(name, &bdfs, &n))
		return atts;
	for (size_t i = 0; i < n; i++) {
		struct hugedma_attachment_desc a;
		struct hugedma_segment *segs = NULL;
		size_t nseg = 0;
		bool have = false;

		if (hugedma_attachment_describe(name, bdfs[i], &a)) {
			/* gone while we looked: what little is known */
			memset(&a, 0, sizeof(a));
			snprintf(a.bdf, sizeof(a.bdf), "%s", bdfs[i]);
			a.enable = -1;
			a.nr_segments = -1;
		}
		if (a.published)
			have = !hugedma_attachment_segments(name, bdfs[i], &segs, &nseg);
		json_object_array_add(atts, attachment_json(&a, segs, nseg, have));
		free(segs);
	}
	hugedma_names_free(bdfs, n);
	return atts;
}

static void print_show(const struct hugedma_buffer_desc *b, struct json_object *phys,
		       bool phys_denied, struct json_object *atts, struct json_object *users)
{
	char h[32];

	human_size(h, sizeof(h), b->size);
	printf("%-12s %s\n", "name", b->name);
	printf("%-12s %s\n", "source", b->source);
	printf("%-12s %s\n", "state", b->state);
	printf("%-12s %s (%" PRIu64 ")\n", "size", h, b->size);
	human_size(h, sizeof(h), b->page_size);
	printf("%-12s %s\n", "page_size", h);
	if (b->numa_node < 0)
		printf("%-12s any\n", "numa_node");
	else
		printf("%-12s %d\n", "numa_node", b->numa_node);
	if (b->published) {
		printf("%-12s %" PRIu64 "\n", "nr_pages", b->nr_pages);
		printf("%-12s %d\n", "pages_node", b->pages_node);
		if (phys_denied) {
			printf("%-12s (root only)\n", "phys_addrs");
		} else if (phys) {
			printf("phys_addrs\n");
			for (size_t i = 0; i < json_object_array_length(phys); i++)
				printf("  %s\n", json_object_get_string(
					json_object_array_get_idx(phys, i)));
		}
	}
	for (size_t i = 0; i < json_object_array_length(atts); i++) {
		struct json_object *ao = json_object_array_get_idx(atts, i), *v, *segs;

		printf("attachment %s: state %s, direction %s",
		       json_object_get_string(json_object_object_get(ao, "bdf")),
		       json_object_get_string(json_object_object_get(ao, "state")),
		       json_object_get_string(json_object_object_get(ao, "direction")));
		if ((v = json_object_object_get(ao, "iommu")))
			printf(", iommu %s", json_object_get_string(v));
		if ((v = json_object_object_get(ao, "nr_segments")))
			printf(", %s segments", json_object_get_string(v));
		if (!json_object_get_boolean(json_object_object_get(ao, "configfs")))
			printf(" (kernel user)");
		printf("\n");
		segs = json_object_object_get(ao, "segments");
		for (size_t k = 0; segs && k < json_object_array_length(segs); k++) {
			struct json_object *s = json_object_array_get_idx(segs, k);

			printf("  %s +%s\n", json_object_get_string(json_object_object_get(s, "addr")),
			       json_object_get_string(json_object_object_get(s, "length")));
		}
	}
	for (size_t i = 0; i < json_object_array_length(users); i++) {
		struct json_object *u = json_object_array_get_idx(users, i);

		printf("user         pid %d (%s)\n",
		       json_object_get_int(json_object_object_get(u, "pid")),
		       json_object_get_string(json_object_object_get(u, "comm")));
	}
}

int cmd_show(int argc, char **argv)
{
	struct json_object *o, *phys = NULL, *atts, *users;
	struct hugedma_buffer_desc b;
	const char *name;
	bool phys_denied = false;
	int ret;

	if ((ret = one_name(argc, argv, "show", 1)))
		return ret;
	if (take_lock(false))
		return 1;
	name = argv[1];
	ret = hugedma_buffer_describe(name, &b);
	if (ret)
		return fail(hugedma_error_path(), ret);
	o = buffer_json(&b);
	if (b.published) {
		uint64_t *v = NULL;
		size_t n = 0;
		char h[32];

		ret = hugedma_buffer_phys_addrs(name, &v, &n);
		if (ret == -EACCES || ret == -EPERM) {
			phys_denied = true;
		} else if (ret && ret != -ENOENT && ret != -EBADMSG) {
			json_object_put(o);
			return fail(hugedma_error_path(), ret);
		} else if (ret != -ENOENT) {
			phys = json_object_new_array();	/* empty when malformed */
			for (size_t i = 0; !ret && i < n; i++)
				json_object_array_add(phys, json_object_new_string(
					hex(h, sizeof(h), v[i])));
			free(v);
		}
	}
	json_object_object_add(o, "phys_addrs", phys);
	atts = attachments_json(name);
	json_object_object_add(o, "attachments", atts);
	users = find_users(name);
	json_object_object_add(o, "users", users);
	if (json_out)
		print_json(o);
	else
		print_show(&b, phys, phys_denied, atts, users);
	json_object_put(o);
	return 0;
}

/* ------------------------------------------------------------ create ... disable */

/* Make a buffer that does not exist, set it up and (if asked) enable it. */
int make_buffer(struct journal *j, const struct bufspec *s)
{
	int ret;

	ret = do_mkdir(j, s->name, NULL);
	if (ret)
		return ret;
	journal_action(j, "create", s->name, NULL, NULL);
	/* page_size first: size must be a multiple of it */
	if (s->page_size && (ret = do_write(j, s->name, NULL, "page_size", s->page_size, NULL)))
		return ret;
	if (s->size && (ret = do_write(j, s->name, NULL, "size", s->size, NULL)))
		return ret;
	if (s->node && (ret = do_write(j, s->name, NULL, "numa_node", s->node, NULL)))
		return ret;
	if (s->enable) {
		ret = do_write(j, s->name, NULL, "enable", "1", "0");
		if (ret)
			return ret;
		journal_action(j, "enable", s->name, NULL, NULL);
	}
	return 0;
}

int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "node", required_argument, NULL, 'n' },
		{ "page-size", required_argument, NULL, 'p' },
		{ 0 }
	};
	struct bufspec s = { .enable = true };
	struct journal j;
	int c;

	while ((c = getopt_long(argc, argv, "s:n:p:", opts, NULL)) != -1) {
		switch (c) {
		case 's': s.size = optarg; break;
		case 'n': s.node = optarg; break;
		case 'p': s.page_size = optarg; break;
		default: return usage("bad option");
		}
	}
	if (optind != argc - 1 || !s.size)
		return usage(optind != argc - 1 ? "create: give one NAME" :
			     "create: --size is required");
	s.name = argv[optind];
	if (!name_ok(s.name))
		return usage("bad buffer name '%s'", s.name);
	if (need_root() || take_lock(true))
		return 1;
	journal_init(&j);
	return finish_change(&j, make_buffer(&j, &s), "create");
}

/* Unmap and remove a buffer's configfs attachments, disable it, remove it. */
static int remove_buffer(struct journal *j, const char *name)
{
	char val[16], **bdfs;
	size_t n;
	int ret;

	ret = hugedma_list_attachments(name, &bdfs, &n);
	if (ret)
		return lib_fail(ret);
	for (size_t i = 0; i < n && !ret; i++) {
		if (!cfg_exists(name, bdfs[i]))
			continue;	/* a kernel user's: not ours to remove */
		if (!hugedma_config_read(name, bdfs[i], "enable", val, sizeof(val)) &&
		    !strcmp(val, "1"))
			ret = do_write(j, name, bdfs[i], "enable", "0", "1");
		if (!ret) {
			ret = hugedma_detach(name, bdfs[i]);
			if (ret)
				lib_fail(ret);
			else
				journal_action(j, "detach", name, bdfs[i], NULL);
		}
	}
	hugedma_names_free(bdfs, n);
	if (ret)
		return ret;
	if (!hugedma_config_read(name, NULL, "enable", val, sizeof(val)) && !strcmp(val, "1")) {
		ret = do_write(j, name, NULL, "enable", "0", "1");
		if (ret)
			return ret;
		journal_action(j, "disable", name, NULL, NULL);
	}
	ret = hugedma_buffer_destroy(name);
	if (ret)
		return lib_fail(ret);
	journal_action(j, "destroy", name, NULL, NULL);
	return 0;
}

int cmd_destroy(int argc, char **argv)
{
	char path[PATH_MAX];
	struct journal j;
	int ret;

	ret = one_name(argc, argv, "destroy", 1);
	if (!ret && (need_root() || take_lock(true)))
		ret = 1;
	if (ret)
		return ret;
	journal_init(&j);
	if (!cfg_exists(argv[1], NULL)) {
		hugedma_config_path(path, sizeof(path), argv[1], NULL, NULL);
		return finish_change(&j, step_fail(path, -ENOENT), "destroy");
	}
	/* no rollback once removal started: a half-destroyed buffer is re-destroyed */
	ret = remove_buffer(&j, argv[1]);
	j.n = 0;
	return finish_change(&j, ret, "destroy");
}

static int enable(int argc, char **argv, bool on)
{
	const char *verb = on ? "enable" : "disable";
	struct journal j;
	int ret;

	ret = one_name(argc, argv, verb, 1);
	if (!ret && (need_root() || take_lock(true)))
		ret = 1;
	if (ret)
		return ret;
	journal_init(&j);
	ret = do_write(&j, argv[1], NULL, "enable", on ? "1" : "0", NULL);
	if (!ret)
		journal_action(&j, verb, argv[1], NULL, NULL);
	return finish_change(&j, ret, verb);
}

int cmd_enable(int argc, char **argv)
{
	return enable(argc, argv, true);
}

int cmd_disable(int argc, char **argv)
{
	return enable(argc, argv, false);
}
