// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma_cdi_probe: run inside a container (tests/guest/test_cdi.py), it says
 * what the container can do with a hugedma buffer, one "key=value" line each.
 *
 *   hugedma_cdi_probe map NAME      open /dev/hugedma/NAME with libhugedma, map it
 *                                   whole: the page size the mapping's
 *                                   page-table entries have (smaps), the text at
 *                                   the start of every page (the host wrote it),
 *                                   and write "container-I" at the middle of page
 *                                   I for the host to read; then every way to an
 *                                   address: phys_addrs, extent_addrs, every
 *                                   attachment's dma_addrs, hugedma_phys_addrs()
 *                                   and /proc/self/pagemap's frame number
 *   hugedma_cdi_probe open PATH     open(2) of PATH, read-write
 *   hugedma_cdi_probe mknod PATH MAJOR MINOR
 *                                   make a character node (container root has
 *                                   CAP_MKNOD) and open it: the device cgroup
 *                                   decides
 *
 * Errors are printed as errno names (ENOENT, EPERM, ...).  Exit status 0 when
 * the probe ran (whatever it found), 2 for bad arguments.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <hugedma.h>

static const char *ename(int err)
{
	const char *n = strerrorname_np(err);

	return n ? n : "E?";
}

/* "OK" or the errno of reading the whole file */
static const char *read_result(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return ename(errno);
	r = read(fd, buf, sizeof(buf));
	close(fd);
	return r < 0 ? ename(errno) : "OK";
}

/* KernelPageSize of the mapping that starts at @addr, in kB; -1 if not found */
static long smaps_page_kb(void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	unsigned long start;
	bool here = false;
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-", &start) == 1 && strchr(line, '-') &&
		    strchr(line, '-') < strchr(line, ' '))
			here = start == (unsigned long)addr;
		else if (here && sscanf(line, "KernelPageSize: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

static int probe_map(const char *name)
{
	char var[128], path[512];
	const uint64_t *phys;
	struct hugedma_info info;
	struct hugedma *h;
	const char *env;
	uint64_t pm = 0;
	size_t n;
	DIR *d;
	void *p;
	int ret, fd;

	snprintf(var, sizeof(var), "HUGEDMA_BUFFER_");
	for (size_t i = 0, k = strlen(var); name[i] && k + 1 < sizeof(var); i++, k++) {
		var[k] = name[i] == '-' ? '_' :
			 (name[i] >= 'a' && name[i] <= 'z') ? name[i] - 'a' + 'A' : name[i];
		var[k + 1] = '\0';
	}
	env = getenv(var);
	printf("env=%s\n", env ? env : "");
	ret = hugedma_open(name, O_RDWR, &h);
	if (ret) {
		printf("open=%s\n", ename(-ret));
		return 0;
	}
	printf("open=OK\n");
	ret = hugedma_query(h, &info);
	if (ret) {
		printf("query=%s\n", ename(-ret));
		return 0;
	}
	printf("size=%llu\npage_size=%llu\n", (unsigned long long)info.size,
	       (unsigned long long)info.page_size);
	ret = hugedma_map(h, 0, 0, PROT_READ | PROT_WRITE, &p);
	if (ret) {
		printf("map=%s\n", ename(-ret));
		return 0;
	}
	printf("map=OK\nkernel_page_kb=%ld\n", smaps_page_kb(p));
	for (uint64_t i = 0; i < info.nr_pages; i++) {
		char *page = (char *)p + i * info.page_size;

		printf("page%llu=%.32s\n", (unsigned long long)i, page);
		snprintf(page + info.page_size / 2, 32, "container-%llu", (unsigned long long)i);
	}
	/* every way to an address: none may work without CAP_SYS_ADMIN */
	for (const char *const *a = (const char *const[]){ "phys_addrs", "extent_addrs", NULL };
	     *a; a++) {
		snprintf(path, sizeof(path), "/sys/class/hugedma/%s/%s", name, *a);
		printf("%s=%s\n", *a, read_result(path));
	}
	snprintf(path, sizeof(path), "/sys/class/hugedma/%s/attachments", name);
	d = opendir(path);
	for (struct dirent *e; d && (e = readdir(d));) {
		char f[1024];

		if (e->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s/dma_addrs", path, e->d_name);
		printf("dma_addrs:%s=%s\n", e->d_name, read_result(f));
	}
	if (d)
		closedir(d);
	ret = hugedma_phys_addrs(h, &phys, &n);
	printf("lib_phys_addrs=%s\n", ret ? ename(-ret) : "OK");
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && pread(fd, &pm, sizeof(pm),
			     (off_t)((uintptr_t)p / (uintptr_t)sysconf(_SC_PAGESIZE) * 8)) == 8)
		printf("pagemap_present=%d\npagemap_pfn=%llu\n", (int)(pm >> 63),
		       (unsigned long long)(pm & ((1ULL << 55) - 1)));
	if (fd >= 0)
		close(fd);
	hugedma_unmap(h, p, info.size);
	hugedma_close(h);
	return 0;
}

int main(int argc, char **argv)
{
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "map"))
		return probe_map(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "open")) {
		fd = open(argv[2], O_RDWR | O_CLOEXEC);
		printf("open=%s\n", fd < 0 ? ename(errno) : "OK");
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "mknod")) {
		dev_t dev = makedev(strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10));

		if (mknod(argv[2], S_IFCHR | 0600, dev)) {
			printf("mknod=%s\n", ename(errno));
			return 0;
		}
		printf("mknod=OK\n");
		fd = open(argv[2], O_RDWR | O_CLOEXEC);
		printf("open=%s\n", fd < 0 ? ename(errno) : "OK");
		return 0;
	}
	fprintf(stderr, "usage: %s map NAME | open PATH | mknod PATH MAJOR MINOR\n", argv[0]);
	return 2;
}
