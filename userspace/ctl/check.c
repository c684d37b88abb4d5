// SPDX-License-Identifier: GPL-2.0
/*
 * hugedmactl: check, what stands between this machine and a working buffer.
 *
 * One line per finding, "ok", "note" (worth knowing, not wrong) or "problem"
 * (with what fixes it); exit status 0 only without a problem.  The findings,
 * in order: the module, configfs, the hugetlb pools per node, the IOMMU and
 * its invalidation mode, each buffer's state, each attachment's device
 * (driver, DMA mask, IOMMU domain), group access to the device nodes.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"

enum level { OK, NOTE, PROBLEM };
static const char *const level_names[] = { "ok", "note", "problem" };

struct report {
	struct json_object *items;
	int problems;
};

static void __attribute__((format(printf, 4, 5)))
say(struct report *r, enum level l, const char *what, const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (l == PROBLEM)
		r->problems++;
	json_object_object_add(o, "check", json_object_new_string(what));
	json_object_object_add(o, "level", json_object_new_string(level_names[l]));
	json_object_object_add(o, "detail", json_object_new_string(text));
	json_object_array_add(r->items, o);
	if (!json_out)
		printf("%-8s %-10s %s\n", level_names[l], what, text);
}

static bool exists(const char *path)
{
	return !access(path, F_OK);
}

/* the module and configfs; false when nothing further can be checked */
static bool check_module(struct report *r)
{
	char root[PATH_MAX], ver[64] = "";
	FILE *f;

	if (!exists("/sys/module/hugedma")) {
		say(r, PROBLEM, "module", "hugedma is not loaded: modprobe hugedma");
		return false;
	}
	f = fopen("/sys/module/hugedma/version", "re");
	if (f) {
		if (!fgets(ver, sizeof(ver), f))
			ver[0] = '\0';
		ver[strcspn(ver, "\n")] = '\0';
		fclose(f);
	}
	say(r, OK, "module", "hugedma%s%s is loaded", ver[0] ? " " : "", ver);
	hugedma_config_path(root, sizeof(root), NULL, NULL, NULL);
	if (!exists(root)) {
		say(r, PROBLEM, "configfs", "%s is missing: mount -t configfs none /sys/kernel/config",
		    root);
		return false;
	}
	say(r, OK, "configfs", "%s", root);
	return true;
}

static void check_pools(struct report *r)
{
	uint64_t pages_all = 0;
	int *nodes = NULL;
	size_t nn = 0;

	if (hugedma_nodes(&nodes, &nn))
		nn = 0;
	for (unsigned int s = 0; s < ARRAY_LEN(page_sizes); s++) {
		const char *ps = s ? "2M" : "1G";
		struct hugedma_pool all, p;
		char text[512];
		size_t off = 0;

		if (hugedma_pool_get(page_sizes[s], -1, &all)) {
			say(r, NOTE, "pool", "%s: this kernel has no %s pages", ps, ps);
			continue;
		}
		pages_all += all.total;
		text[0] = '\0';
		for (size_t i = 0; i < nn && off < sizeof(text); i++)
			if (!hugedma_pool_get(page_sizes[s], nodes[i], &p))
				off += snprintf(text + off, sizeof(text) - off,
						"%snode %d: %" PRIu64 " of %" PRIu64 " free",
						i ? ", " : "", nodes[i], p.free, p.total);
		say(r, all.total ? OK : NOTE, "pool", "%s: %" PRIu64 " pages, %" PRIu64
		    " free, %" PRIu64 " reserved (%s)%s", ps, all.total, all.free, all.reserved,
		    text, all.total ? "" : s ? "; hugedmactl pool set 2M COUNT" :
		    "; boot with hugepagesz=1G hugepages=N, or hugedmactl pool set 1G COUNT");
	}
	free(nodes);
	if (!pages_all)
		say(r, PROBLEM, "pool", "no huge pages in any pool: a buffer cannot be enabled");
}

/* the IOMMUs, and their groups' domain types (DMA, DMA-FQ, identity) */
static void check_iommu(struct report *r)
{
	int strict = 0, lazy = 0, identity = 0, other = 0, units = 0;
	char path[PATH_MAX], type[32];
	struct dirent *de;
	DIR *d;

	d = opendir("/sys/class/iommu");
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			units++;
	if (d)
		closedir(d);
	if (!units) {
		say(r, NOTE, "iommu", "no IOMMU: devices see physical addresses, so a device's "
		    "DMA mask must reach every page of a buffer it attaches");
		return;
	}
	d = opendir("/sys/kernel/iommu_groups");
	while (d && (de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%s/type", de->d_name);
		f = fopen(path, "re");
		if (!f || !fgets(type, sizeof(type), f)) {
			other++;
		} else {
			type[strcspn(type, "\n")] = '\0';
			if (!strcmp(type, "DMA"))
				strict++;
			else if (!strcmp(type, "DMA-FQ"))
				lazy++;
			else if (!strcmp(type, "identity"))
				identity++;
			else
				other++;
		}
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	say(r, OK, "iommu", "%d unit(s); groups: %d translated strict, %d translated lazy "
	    "(DMA-FQ), %d passthrough (identity), %d other", units, strict, lazy, identity,
	    other);
}

/* one attachment's device: there, with a driver, a mask that reaches the pages */
static void check_device(struct report *r, const struct hugedma_buffer_desc *b,
			 const char *bdf)
{
	struct hugedma_attachment_desc a;
	struct hugedma_device_desc d;
	char what[320];

	snprintf(what, sizeof(what), "%s/%s", b->name, bdf);
	if (hugedma_attachment_describe(b->name, bdf, &a))
		return;	/* gone meanwhile */
	if (!a.configfs) {
		/* a dma-buf importer's or an in-kernel driver's: named for it, not a BDF */
		say(r, OK, "attachment", "%s: a kernel user's, %s", what, a.state);
		return;
	}
	if (hugedma_device_describe(bdf, &d)) {
		say(r, PROBLEM, "attachment", "%s: no such PCI device (state %s)", what, a.state);
		return;
	}
	if (!strcmp(a.state, "removed")) {
		say(r, PROBLEM, "attachment", "%s: the device was removed; detach and attach again",
		    what);
		return;
	}
	if (a.enable && !strcmp(a.state, "waiting") && !d.driver[0])
		say(r, NOTE, "attachment", "%s: waiting for a driver to bind (mapped then)", what);
	else if (a.enable && !strcmp(a.state, "waiting"))
		say(r, PROBLEM, "attachment",
		    "%s: waiting, but driver %s is bound: its limits refused the map (kernel log)",
		    what, d.driver);
	else if (a.enable && strcmp(a.state, "mapped"))
		say(r, PROBLEM, "attachment", "%s: enabled but %s", what, a.state);
	say(r, d.driver[0] ? OK : NOTE, "device",
	    "%s: driver %s, DMA mask %d bits (coherent %d), IOMMU %s%s%s, node %d", what,
	    d.driver[0] ? d.driver : "none (masks are PCI's defaults until one binds)",
	    d.dma_mask_bits, d.coherent_dma_mask_bits,
	    d.iommu_group[0] ? "group " : "none", d.iommu_group,
	    d.iommu_type[0] ? (!strcmp(d.iommu_type, "DMA-FQ") ? " (lazy)" :
			       !strcmp(d.iommu_type, "DMA") ? " (strict)" :
			       !strcmp(d.iommu_type, "identity") ? " (passthrough)" : "") : "",
	    d.numa_node);
}

static void check_buffers(struct report *r)
{
	char **names = NULL, **bdfs;
	size_t n = 0, na;
	int ret;

	ret = hugedma_list_buffers(&names, &n);
	if (ret) {
		say(r, PROBLEM, "buffers", "%s: %s", hugedma_error_path(), strerror(-ret));
		return;
	}
	if (!n)
		say(r, NOTE, "buffers", "none");
	for (size_t i = 0; i < n; i++) {
		struct hugedma_buffer_desc b;

		if (hugedma_buffer_describe(names[i], &b))
			continue;
		if (b.enabled && strcmp(b.state, "enabled"))
			say(r, PROBLEM, "buffer", "%s: enabled but %s", b.name, b.state);
		else
			say(r, OK, "buffer", "%s: %s, %" PRIu64 " pages", b.name, b.state,
			    b.nr_pages);
		if (hugedma_list_attachments(b.name, &bdfs, &na))
			continue;
		for (size_t k = 0; k < na; k++)
			check_device(r, &b, bdfs[k]);
		hugedma_names_free(bdfs, na);
	}
	hugedma_names_free(names, n);
}

/* udev gives group hugedma the device nodes when /etc/hugedma/group-access exists */
static void check_access(struct report *r)
{
	struct group *g;
	struct dirent *de;
	struct stat st;
	char path[PATH_MAX];
	DIR *d;

	if (!exists("/etc/hugedma/group-access")) {
		say(r, NOTE, "access", "buffers are root's only (no /etc/hugedma/group-access)");
		return;
	}
	g = getgrnam("hugedma");
	if (!g) {
		say(r, PROBLEM, "access", "/etc/hugedma/group-access asks for group access, but "
		    "there is no group hugedma: groupadd --system hugedma");
		return;
	}
	d = opendir("/dev/hugedma");
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "control"))
			continue;
		snprintf(path, sizeof(path), "/dev/hugedma/%s", de->d_name);
		if (stat(path, &st))
			continue;
		if (st.st_gid != g->gr_gid || (st.st_mode & 0060) != 0060)
			say(r, PROBLEM, "access", "%s is not group hugedma rw (mode %04o): "
			    "udevadm trigger --subsystem-match=hugedma", path, st.st_mode & 07777);
	}
	if (d)
		closedir(d);
	say(r, OK, "access", "group hugedma (gid %u) may open enabled buffers",
	    (unsigned int)g->gr_gid);
}

int cmd_check(int argc, char **argv)
{
	struct report r = { .items = json_object_new_array() };
	struct json_object *root;

	(void)argv;
	if (argc != 1) {
		json_object_put(r.items);
		return usage("check: no arguments");
	}
	if (check_module(&r)) {
		check_pools(&r);
		check_iommu(&r);
		check_buffers(&r);
		check_access(&r);
	} else {
		check_pools(&r);
		check_iommu(&r);
	}
	if (json_out) {
		root = json_object_new_object();
		json_object_object_add(root, "ok", json_object_new_boolean(!r.problems));
		json_object_object_add(root, "problems", json_object_new_int(r.problems));
		json_object_object_add(root, "checks", r.items);
		print_json(root);
		json_object_put(root);
	} else {
		printf("%d problem(s)\n", r.problems);
		json_object_put(r.items);
	}
	return r.problems ? 1 : 0;
}
