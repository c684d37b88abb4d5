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
	if (buffer_contiguous(b) >= 0)
		printf("%-12s %s\n", "contiguous", buffer_contiguous(b) ? "yes" : "no");
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
	if (s->contiguous && (ret = do_write(j, s->name, NULL, "contiguous", "1", NULL)))
		return ret;
	if (s->enable) {
		ret = do_write(j, s->name, NULL, "enable", "1", "0");
		if (ret)
			return ret;
		journal_action(j, "enable", s->name, NULL, NULL);
	}
	return 0;
}

/* "DDDD:BB:DD.F" as the kernel spells a PCI device's name (a domain of 4 to 8 digits) */
static bool pci_name_ok(const char *s)
{
	unsigned int domain, bus, slot, fn;
	char canon[32];
	int n = 0;

	if (strlen(s) > 16 || sscanf(s, "%8x:%2x:%2x.%1x%n", &domain, &bus, &slot, &fn, &n) != 4 ||
	    s[n] || slot > 0x1f || fn > 7)
		return false;
	snprintf(canon, sizeof(canon), "%04x:%02x:%02x.%x", domain, bus, slot, fn);
	return !strcmp(canon, s);
}

/*
 * --near BDF: the node the device reports (its numa_node), into @out, strict
 * as --node is.  A device that reports none (-1) needs --node, which is then
 * the node; a --node that names another node than the device's is an error,
 * not a choice between them: the buffer would not be where either says.
 * Returns 0, 1 (an error, said) or 2 (a malformed BDF, said with the usage).
 */
static int near_node(const char *bdf, const char *node, char *out, size_t len)
{
	struct hugedma_device_desc d;
	char *end;
	long n;
	int ret;

	if (!pci_name_ok(bdf))
		return usage("create: --near: '%s' is not a PCI device name (DDDD:BB:DD.F, as in /sys/bus/pci/devices)",
			     bdf);
	ret = hugedma_device_describe(bdf, &d);
	if (ret == -ENOENT)
		return failf("create: --near: there is no PCI device %s", bdf);
	if (ret)
		return fail(hugedma_error_path(), ret);
	if (d.numa_node < 0) {
		if (node) {
			snprintf(out, len, "%s", node);
			return 0;
		}
		return failf("create: --near: %s reports no NUMA node (numa_node -1); give --node N too",
			     bdf);
	}
	if (node) {
		errno = 0;
		n = strtol(node, &end, 10);
		if (errno || end == node || *end || n != d.numa_node)
			return failf("create: --node %s disagrees with --near %s, which is on node %d",
				     node, bdf, d.numa_node);
	}
	snprintf(out, len, "%d", d.numa_node);
	return 0;
}

int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "node", required_argument, NULL, 'n' },
		{ "near", required_argument, NULL, 'N' },
		{ "page-size", required_argument, NULL, 'p' },
		{ "contiguous", no_argument, NULL, 'c' },
		{ 0 }
	};
	struct bufspec s = { .enable = true };
	const char *near = NULL;
	char node[16];
	struct journal j;
	int c, ret;

	while ((c = getopt_long(argc, argv, "s:n:p:", opts, NULL)) != -1) {
		switch (c) {
		case 'c': s.contiguous = true; break;
		case 's': s.size = optarg; break;
		case 'n': s.node = optarg; break;
		case 'N': near = optarg; break;
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
	if (near && (ret = near_node(near, s.node, node, sizeof(node))))
		return ret;
	if (near)
		s.node = node;
	if (need_root() || take_lock(true))
		return 1;
	journal_init(&j);
	return finish_change(&j, make_buffer(&j, &s), "create");
}

/*
 * Journal how to make configfs object @name (@bdf: its attachment) again with
 * the values of @attrs it has now, before it is removed: newest first, the
 * rollback then makes it, then writes them in @attrs' order.
 */
static void journal_remake(struct journal *j, const char *name, const char *bdf,
			   const char *const *attrs, int n)
{
	char val[64];

	for (int i = n - 1; i >= 0; i--)
		/* size 0 (unset) cannot be written back: leave it */
		if (!hugedma_config_read(name, bdf, attrs[i], val, sizeof(val)) &&
		    (strcmp(attrs[i], "size") || strcmp(val, "0")))
			journal_undo(j, UNDO_WRITE, name, bdf, attrs[i], val);
	journal_undo(j, UNDO_MKDIR, name, bdf, NULL, NULL);
}

/* Unmap and remove one configfs attachment; journal how to put it back. */
int remove_attachment(struct journal *j, const char *name, const char *bdf)
{
	static const char *const att_attrs[] = { "direction" };
	char val[16];
	int ret = 0, mark;

	if (!hugedma_config_read(name, bdf, "enable", val, sizeof(val)) && !strcmp(val, "1"))
		ret = do_write(j, name, bdf, "enable", "0", "1");
	if (ret)
		return ret;
	/* the values, read before the rmdir; dropped if it fails */
	mark = j->n;
	journal_remake(j, name, bdf, att_attrs, ARRAY_LEN(att_attrs));
	ret = hugedma_detach(name, bdf);
	if (ret) {
		j->n = mark;
		return lib_fail(ret);
	}
	journal_action(j, "detach", name, bdf, NULL);
	return 0;
}

/*
 * Unmap and remove a buffer's configfs attachments, disable it, remove it.
 * Journals how to put it all back, for a run that removes it as one step of
 * a larger change (restore --replace).
 */
int remove_buffer(struct journal *j, const char *name)
{
	static const char *const buf_attrs[] = { "page_size", "size", "numa_node" };
	char val[16], **bdfs;
	int ret, mark;
	size_t n;

	ret = hugedma_list_attachments(name, &bdfs, &n);
	if (ret)
		return lib_fail(ret);
	for (size_t i = 0; i < n && !ret; i++)
		if (cfg_exists(name, bdfs[i]))	/* else a kernel user's: not ours */
			ret = remove_attachment(j, name, bdfs[i]);
	hugedma_names_free(bdfs, n);
	if (ret)
		return ret;
	if (!hugedma_config_read(name, NULL, "enable", val, sizeof(val)) && !strcmp(val, "1")) {
		ret = do_write(j, name, NULL, "enable", "0", "1");
		if (ret)
			return ret;
		journal_action(j, "disable", name, NULL, NULL);
	}
	mark = j->n;
	journal_remake(j, name, NULL, buf_attrs, ARRAY_LEN(buf_attrs));
	ret = hugedma_buffer_destroy(name);
	if (ret) {
		j->n = mark;
		return lib_fail(ret);
	}
	journal_action(j, "destroy", name, NULL, NULL);
	return 0;
}

/*
 * Whether a buffer is in use, as far as this tool can see: processes with its
 * device node open or mapped, kernel users' attachments (dma-buf importers,
 * in-kernel drivers).  1 with @why saying by whom, else 0.  The kernel's
 * EBUSY at disable remains the last word (a dma-buf fd is not seen here).
 */
int buffer_in_use(const char *name, char *why, size_t len)
{
	struct json_object *users = find_users(name);
	size_t off = 0, nu = json_object_array_length(users), na = 0;
	char **bdfs = NULL;

	why[0] = '\0';
	for (size_t i = 0; i < nu && off < len; i++) {
		struct json_object *u = json_object_array_get_idx(users, i), *pid, *comm;

		json_object_object_get_ex(u, "pid", &pid);
		json_object_object_get_ex(u, "comm", &comm);
		off += snprintf(why + off, len - off, "%spid %d (%s)", off ? ", " : "",
				json_object_get_int(pid), json_object_get_string(comm));
	}
	json_object_put(users);
	if (!hugedma_list_attachments(name, &bdfs, &na)) {
		for (size_t i = 0; i < na && off < len; i++)
			if (!cfg_exists(name, bdfs[i]))
				off += snprintf(why + off, len - off, "%skernel user %s",
						off ? ", " : "", bdfs[i]);
		hugedma_names_free(bdfs, na);
	}
	return why[0] != '\0';
}

/* clear [--dry-run]: every configfs buffer goes, or (when any is in use) none */
int cmd_clear(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ 0 }
	};
	bool dry_run = false, busy = false;
	char **names, why[512];
	struct journal j;
	size_t n;
	int c, ret;

	while ((c = getopt_long(argc, argv, "n", opts, NULL)) != -1) {
		if (c != 'n')
			return usage("bad option");
		dry_run = true;
	}
	if (optind != argc)
		return usage("clear: no arguments but --dry-run");
	if ((!dry_run && need_root()) || take_lock(!dry_run))
		return 1;
	ret = hugedma_list_buffers(&names, &n);
	if (ret)
		return fail(hugedma_error_path(), ret);
	for (size_t i = 0; i < n; i++) {
		if (!cfg_exists(names[i], NULL) || !buffer_in_use(names[i], why, sizeof(why)))
			continue;
		failf("clear: %s is in use: %s", names[i], why);
		busy = true;
	}
	if (busy) {
		hugedma_names_free(names, n);
		return failf("clear: nothing was removed");
	}
	journal_init(&j);
	for (size_t i = 0; i < n && !ret; i++) {
		if (!cfg_exists(names[i], NULL))
			continue;	/* imported: not configuration */
		if (dry_run)
			journal_action(&j, "destroy", names[i], NULL, NULL);
		else
			ret = remove_buffer(&j, names[i]);
	}
	hugedma_names_free(names, n);
	/* no rollback once removal started: what is left, clear removes next time */
	j.n = 0;
	if (!json_out && !ret)
		print_actions(stdout, j.actions, dry_run ? "would " : "");
	if (json_out && dry_run) {
		struct json_object *none = json_object_new_array();

		print_result(1, j.actions, none, "", 0);
		json_object_put(none);
		journal_free(&j);
		return 0;
	}
	return finish_change(&j, ret, "clear");
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
