// SPDX-License-Identifier: GPL-2.0
/*
 * hugedmactl: show hugedma buffers and the hugetlb pool.
 *
 * It reads only the documented ABI (configfs-schema/): the configfs tree under
 * /sys/kernel/config/hugedma, the class devices under /sys/class/hugedma, and
 * the kernel's hugetlb pool counters.
 *
 *   hugedmactl list              one line per buffer
 *   hugedmactl show NAME         one buffer: configuration, state, pages
 *   hugedmactl pool              1 GB and 2 MB pool per node, and what hugedma holds
 *
 * Exit status: 0 success, 1 error (with the errno in words), 2 usage.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIGFS "/sys/kernel/config/hugedma/buffers"
#define CLASSDIR "/sys/class/hugedma"
#define NODEDIR "/sys/devices/system/node"

static const char *prog = "hugedmactl";

static int usage(const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fprintf(stderr, "%s: ", prog);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, "usage: %s list | show NAME | pool\n", prog);
	return 2;
}

/* Read a one-line attribute into buf (newline stripped). Returns 0 or -errno. */
static int read_attr(char *buf, size_t len, const char *fmt, ...)
{
	char path[512];
	va_list ap;
	FILE *f;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	if (ferror(f)) {
		int err = -errno;

		fclose(f);
		return err;
	}
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int read_u64(uint64_t *val, const char *fmt, const char *name, const char *attr)
{
	char buf[64];
	int ret;

	ret = read_attr(buf, sizeof(buf), fmt, name, attr);
	if (!ret)
		*val = strtoull(buf, NULL, 0);
	return ret;
}

static void human_size(char *out, size_t len, uint64_t bytes)
{
	static const char *const units[] = { "B", "K", "M", "G", "T", "P" };
	int u = 0;

	while (u < 5 && bytes && !(bytes & 1023)) {
		bytes >>= 10;
		u++;
	}
	snprintf(out, len, "%" PRIu64 "%s", bytes, units[u]);
}

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The buffer names in configfs, sorted. Returns the count or -errno. */
static int list_names(char ***names)
{
	struct dirent *de;
	char **v = NULL;
	int n = 0;
	DIR *d;

	d = opendir(CONFIGFS);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char **nv;

		if (de->d_name[0] == '.')
			continue;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv || !(nv[n] = strdup(de->d_name))) {
			closedir(d);
			free(nv ? nv : v);
			return -ENOMEM;
		}
		v = nv;
		n++;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), names_cmp);
	*names = v;
	return n;
}

static void free_names(char **names, int n)
{
	while (n--)
		free(names[n]);
	free(names);
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(-err));
	if (err == -ENOENT && !strncmp(what, CONFIGFS, strlen(CONFIGFS)))
		fprintf(stderr, "%s: is the hugedma module loaded?\n", prog);
	return 1;
}

static int cmd_list(void)
{
	char **names, size[32], psize[32], state[32], node[16];
	uint64_t bytes, pbytes;
	int n, i, ret;

	n = list_names(&names);
	if (n < 0)
		return fail(CONFIGFS, n);
	printf("%-32s %-10s %8s %8s %5s\n", "NAME", "STATE", "SIZE", "PAGE", "NODE");
	for (i = 0; i < n; i++) {
		ret = read_u64(&bytes, CONFIGFS "/%s/%s", names[i], "size");
		if (!ret)
			ret = read_u64(&pbytes, CONFIGFS "/%s/%s", names[i], "page_size");
		if (!ret)
			ret = read_attr(state, sizeof(state), CONFIGFS "/%s/state", names[i]);
		if (!ret)
			ret = read_attr(node, sizeof(node), CONFIGFS "/%s/numa_node", names[i]);
		if (ret == -ENOENT)
			continue;	/* removed while we looked */
		if (ret) {
			free_names(names, n);
			return fail(names[i], ret);
		}
		human_size(size, sizeof(size), bytes);
		human_size(psize, sizeof(psize), pbytes);
		printf("%-32s %-10s %8s %8s %5s\n", names[i], state, size, psize,
		       strcmp(node, "-1") ? node : "any");
	}
	free_names(names, n);
	return 0;
}

static int cmd_show(const char *name)
{
	static const char *const cfg[] = { "state", "size", "page_size", "numa_node" };
	static const char *const pub[] = { "nr_pages", "numa_node" };
	char val[64], path[512], line[64];
	unsigned int i;
	FILE *f;
	int ret;

	for (i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++) {
		ret = read_attr(val, sizeof(val), CONFIGFS "/%s/%s", name, cfg[i]);
		if (ret) {
			snprintf(path, sizeof(path), CONFIGFS "/%s/%s", name, cfg[i]);
			return fail(path, ret);
		}
		printf("%-16s %s\n", cfg[i], val);
	}
	for (i = 0; i < sizeof(pub) / sizeof(pub[0]); i++) {
		ret = read_attr(val, sizeof(val), CLASSDIR "/%s/%s", name, pub[i]);
		if (ret == -ENOENT)
			return 0;	/* not enabled: nothing published */
		if (ret) {
			snprintf(path, sizeof(path), CLASSDIR "/%s/%s", name, pub[i]);
			return fail(path, ret);
		}
		printf("%-16s %s\n", !strcmp(pub[i], "numa_node") ? "pages_node" : pub[i], val);
	}
	snprintf(path, sizeof(path), CLASSDIR "/%s/phys_addrs", name);
	f = fopen(path, "r");
	if (!f) {
		if (errno == EACCES || errno == EPERM) {
			printf("%-16s (root only)\n", "phys_addrs");
			return 0;
		}
		return fail(path, -errno);
	}
	printf("phys_addrs\n");
	while (fgets(line, sizeof(line), f))
		printf("  %s", line);
	fclose(f);
	return 0;
}

/* Pool counters of one page size, per node, plus what hugedma's enabled buffers hold. */
static int pool_size(const char *dir, uint64_t page_bytes, char **names, int n)
{
	uint64_t total, free, surplus, held = 0, b, p;
	struct dirent *de;
	char ps[16];
	int ret, k;
	DIR *d;

	human_size(ps, sizeof(ps), page_bytes);
	d = opendir(NODEDIR);
	if (!d)
		return fail(NODEDIR, -errno);
	while ((de = readdir(d))) {
		const char *node = de->d_name;

		if (strncmp(node, "node", 4) || node[4] < '0' || node[4] > '9')
			continue;
		ret = read_u64(&total, NODEDIR "/%s/hugepages/%s/nr_hugepages", node, dir);
		if (ret == -ENOENT)
			continue;	/* the kernel has no such page size */
		if (!ret)
			ret = read_u64(&free, NODEDIR "/%s/hugepages/%s/free_hugepages", node, dir);
		if (!ret)
			ret = read_u64(&surplus, NODEDIR "/%s/hugepages/%s/surplus_hugepages",
				       node, dir);
		if (ret) {
			fprintf(stderr, "%s: " NODEDIR "/%s/hugepages/%s: %s\n", prog, node, dir,
				strerror(-ret));
			closedir(d);
			return 1;
		}
		printf("%-6s %-6s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n", ps, node + 4,
		       total, free, surplus);
	}
	closedir(d);
	for (k = 0; k < n; k++) {
		if (read_u64(&p, CLASSDIR "/%s/%s", names[k], "page_size") ||
		    read_u64(&b, CLASSDIR "/%s/%s", names[k], "nr_pages"))
			continue;	/* not enabled */
		if (p == page_bytes)
			held += b;
	}
	printf("%-6s %-6s %8" PRIu64 " held by hugedma buffers\n", ps, "-", held);
	return 0;
}

static int cmd_pool(void)
{
	char **names = NULL;
	int n, ret;

	n = list_names(&names);
	if (n < 0)
		n = 0;	/* module not loaded: it holds nothing */
	printf("%-6s %-6s %8s %8s %8s\n", "PAGE", "NODE", "TOTAL", "FREE", "SURPLUS");
	ret = pool_size("hugepages-1048576kB", 1ULL << 30, names, n);
	if (!ret)
		ret = pool_size("hugepages-2048kB", 2ULL << 20, names, n);
	free_names(names, n);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage("no command given");
	if (!strcmp(argv[1], "list") && argc == 2)
		return cmd_list();
	if (!strcmp(argv[1], "show") && argc == 3)
		return cmd_show(argv[2]);
	if (!strcmp(argv[1], "pool") && argc == 2)
		return cmd_pool();
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return usage(NULL) - 2;
	return usage("bad command '%s'", argv[1]);
}
