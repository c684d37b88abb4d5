// SPDX-License-Identifier: GPL-2.0
/*
 * A program's use of hugedma's dma-heaps, end to end: DMA_HEAP_IOCTL_ALLOC on
 * /dev/dma_heap/HEAP, the dma-buf's size (rounded up to whole pages of the
 * heap), the pool and the caller's locked memory (VmLck) charged by as many
 * pages, the allocation listed in sysfs (/sys/class/hugedma/NAME, source
 * heap, this process's pid), the dma-buf mapped with huge page-table entries
 * onto the listed pages, zeroed, written under DMA_BUF_IOCTL_SYNC and read
 * back through a second mapping; then munmap and close give everything back.
 *
 *   hugedma_heap_test HEAP LEN
 *
 * HEAP: hugedma-2m or hugedma-1g; LEN: bytes (K/M/G suffixes).  Run as root
 * (the physical addresses) by tests/guest/test_heap.py with the module loaded
 * with dma_heaps=1.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"

#define CHECK_ALL	(64ULL << 20)	/* every byte checked up to this size */
#define CHUNK		(64ULL << 10)	/* else this much at both ends of each page */

static uint64_t page_size;

/* VmLck of this process in bytes, or -1 */
static long long vmlck(void)
{
	char line[256];
	long long kb = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

/* the dma-buf's name (its hugedma buffer's) from the kernel's fdinfo */
static int dmabuf_name(int fd, char *name, size_t len)
{
	char path[64], line[256];
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "name:", 5)) {
			char *v = line + 5;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(name, len, "%s", v);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

static uint64_t attr_u64(const char *name, const char *attr)
{
	char path[256], v[64];

	snprintf(path, sizeof(path), "/sys/class/hugedma/%s/%s", name, attr);
	if (t_read_line(path, v, sizeof(v)))
		return UINT64_MAX;
	return strtoull(v, NULL, 0);
}

static bool attr_is(const char *name, const char *attr, const char *want)
{
	char path[256], v[64];

	snprintf(path, sizeof(path), "/sys/class/hugedma/%s/%s", name, attr);
	return !t_read_line(path, v, sizeof(v)) && !strcmp(v, want);
}

/* the n-th line of phys_addrs, or 0 */
static uint64_t listed_phys(const char *name, uint64_t n)
{
	char path[256], line[32];
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/hugedma/%s/phys_addrs", name);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fseek(f, (long)(n * 19), SEEK_SET) && fgets(line, sizeof(line), f))
		v = strtoull(line, NULL, 16);
	fclose(f);
	return v;
}

/* a MAP_SHARED mapping of the dma-buf at a page_size-aligned address, or NULL */
static uint8_t *map(int fd, uint64_t size, int prot)
{
	uint8_t *win, *at, *p;

	win = mmap(NULL, size + page_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (win == MAP_FAILED)
		return NULL;
	at = (uint8_t *)(((uintptr_t)win + page_size - 1) & ~(uintptr_t)(page_size - 1));
	p = mmap(at, size, prot, MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		munmap(win, size + page_size);
		return NULL;
	}
	/* the window's ends around the mapping */
	if (at > win)
		munmap(win, at - win);
	if (win + size + page_size > at + size)
		munmap(at + size, win + size + page_size - (at + size));
	return p;
}

static bool zero(const uint8_t *p, uint64_t len)
{
	uint64_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* [off, off + len) of the buffer: what the check looks at */
static void each_range(uint64_t size, void (*fn)(uint64_t off, uint64_t len, void *arg),
		       void *arg)
{
	uint64_t pg;

	if (size <= CHECK_ALL) {
		fn(0, size, arg);
		return;
	}
	for (pg = 0; pg < size; pg += page_size) {
		fn(pg, CHUNK, arg);
		fn(pg + page_size - CHUNK, CHUNK, arg);
	}
}

struct check {
	uint8_t *p;
	bool ok;
};

static void check_zero(uint64_t off, uint64_t len, void *arg)
{
	struct check *c = arg;

	c->ok = c->ok && zero(c->p + off, len);
}

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)((off >> 12) * 31 + off * 7 + 1);
}

static void fill(uint64_t off, uint64_t len, void *arg)
{
	struct check *c = arg;
	uint64_t i;

	for (i = off; i < off + len; i++)
		c->p[i] = pattern(i);
}

static void check_pattern(uint64_t off, uint64_t len, void *arg)
{
	struct check *c = arg;
	uint64_t i;

	for (i = off; i < off + len && c->ok; i++)
		c->ok = c->p[i] == pattern(i);
}

static int sync_fd(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) ? -errno : 0;
}

int main(int argc, char **argv)
{
	struct dma_heap_allocation_data data = { 0 };
	char path[128], name[64] = "", pid[32];
	long free_before, lck_before;
	uint64_t len, size, nr, i;
	struct check c;
	uint8_t *p, *q;
	int heap, ret;

	t_init(argc, argv, 2, "HEAP LEN");
	len = t_parse_size(argv[2]);
	if (!strcmp(argv[1], "hugedma-1g")) {
		page_size = 1ULL << 30;
	} else if (!strcmp(argv[1], "hugedma-2m")) {
		page_size = 2ULL << 20;
	} else {
		fprintf(stderr, "%s: no such hugedma heap\n", argv[1]);
		return 2;
	}
	if (!len) {
		fprintf(stderr, "%s: bad length\n", argv[2]);
		return 2;
	}
	size = (len + page_size - 1) / page_size * page_size;
	nr = size / page_size;

	snprintf(path, sizeof(path), "/dev/dma_heap/%s", argv[1]);
	heap = open(path, O_RDONLY | O_CLOEXEC);
	if (!t_ok(heap >= 0, "open %s", path)) {
		t_diag("%s", strerror(errno));
		return t_done();
	}
	free_before = t_pool(page_size, "free_hugepages");
	lck_before = vmlck();

	data.len = len;
	data.fd_flags = O_RDWR | O_CLOEXEC;
	ret = ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &data) ? -errno : 0;
	if (!t_ret(ret, 0, "DMA_HEAP_IOCTL_ALLOC of %" PRIu64 " bytes", len))
		return t_done();
	t_u64(lseek(data.fd, 0, SEEK_END), size, "the dma-buf is whole pages: %" PRIu64 " bytes",
	      size);
	lseek(data.fd, 0, SEEK_SET);
	t_u64(free_before - t_pool(page_size, "free_hugepages"), nr,
	      "free_hugepages fell by %" PRIu64, nr);
	t_u64(vmlck() - lck_before, size, "VmLck rose by the allocation");

	/* the sysfs listing */
	ret = dmabuf_name(data.fd, name, sizeof(name));
	t_ret(ret, 0, "the dma-buf is named (fdinfo): %s", name);
	snprintf(path, sizeof(path), "%s-", argv[1]);
	t_ok(!strncmp(name, path, strlen(path)), "named %sN", path);
	snprintf(path, sizeof(path), "/sys/class/hugedma/%s", name);
	t_ok(t_exists(path), "listed: %s", path);
	t_ok(attr_is(name, "source", "heap"), "source: heap");
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	t_ok(attr_is(name, "pid", pid), "pid: %s", pid);
	t_ok(attr_is(name, "state", "enabled"), "state: enabled");
	t_u64(attr_u64(name, "size"), size, "size");
	t_u64(attr_u64(name, "page_size"), page_size, "page_size");
	t_u64(attr_u64(name, "nr_pages"), nr, "nr_pages");

	/* mapped with huge entries onto the listed pages, zeroed */
	p = map(data.fd, size, PROT_READ | PROT_WRITE);
	if (!t_ok(p, "mmap of the dma-buf")) {
		t_diag("%s", strerror(errno));
		return t_done();
	}
	t_u64(t_smaps_page_size(p), page_size, "KernelPageSize");
	c.p = p;
	c.ok = true;
	each_range(size, check_zero, &c);
	t_ok(c.ok, "zeroed (%s)", size <= CHECK_ALL ? "every byte" : "both ends of every page");
	for (i = 0; i < nr; i++) {
		uint64_t phys = t_pagemap_phys(p + i * page_size);

		if (phys != listed_phys(name, i)) {
			t_u64(phys, listed_phys(name, i), "page %" PRIu64 " is phys_addrs' line", i);
			break;
		}
	}
	t_ok(i == nr, "every page is the one phys_addrs lists");

	/* written under a CPU-access sync, read through a second mapping */
	t_ret(sync_fd(data.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE), 0, "SYNC_START");
	each_range(size, fill, &c);
	t_ret(sync_fd(data.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE), 0, "SYNC_END");
	q = map(data.fd, size, PROT_READ);
	if (t_ok(q, "a second, read-only mapping")) {
		c.p = q;
		c.ok = true;
		each_range(size, check_pattern, &c);
		t_ok(c.ok, "it reads what the first wrote");
		munmap(q, size);
	}
	munmap(p, size);
	close(data.fd);

	/* everything back */
	t_u64(t_pool(page_size, "free_hugepages"), free_before, "free_hugepages is back");
	t_u64(vmlck(), lck_before, "VmLck is back");
	snprintf(path, sizeof(path), "/sys/class/hugedma/%s", name);
	t_ok(!t_exists(path), "no longer listed");
	close(heap);
	return t_done();
}
