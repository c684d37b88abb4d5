// SPDX-License-Identifier: GPL-2.0
/*
 * libhugedma on an enabled pool buffer, checked against the kernel's own
 * files: /proc/self/pagemap for the frames behind a mapping, smaps for its
 * page size, the buffer's sysfs files for what the info ioctl says.
 *
 *   test_device NAME SIZE PAGE_SIZE      (sizes in bytes or with K/M/G)
 *
 * NAME must be an enabled buffer of SIZE bytes of PAGE_SIZE pages, at least
 * two pages for the offset tests.  Run as root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hugedma.h>

#include "harness.h"

static const char *name;
static uint64_t size, page_size, nr;

/* how many descriptors of this process are on /dev/hugedma/NAME; -1 if one lacks FD_CLOEXEC */
static int node_fds_cloexec(void)
{
	char node[128], link[300], target[256];
	struct dirent *de;
	int count = 0;
	ssize_t len;
	DIR *d;

	snprintf(node, sizeof(node), "/dev/hugedma/%s", name);
	d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (strcmp(target, node))
			continue;
		if (!(fcntl(atoi(de->d_name), F_GETFD) & FD_CLOEXEC))
			count = -1000;
		count++;
	}
	closedir(d);
	return count < 0 ? -1 : count;
}

static void test_open_errors(void)
{
	static const char *const bad_names[] = {
		"", "Bad", "a/b", "../x", "control", "-x", "x y",
		"abcdefghijklmnopqrstuvwxyz0123456",
	};
	static const int bad_flags[] = {
		O_WRONLY, O_RDWR | O_CREAT, O_RDONLY | O_NONBLOCK, O_RDWR | O_APPEND, 3,
	};
	struct hugedma *h = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		t_ret(hugedma_open(bad_names[i], O_RDWR, &h), -EINVAL, "open: bad name \"%s\"",
		      bad_names[i]);
	t_ret(hugedma_open(NULL, O_RDWR, &h), -EINVAL, "open: NULL name");
	for (i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++)
		t_ret(hugedma_open(name, bad_flags[i], &h), -EINVAL, "open: flags %#x",
		      bad_flags[i]);
	t_ret(hugedma_open(name, O_RDWR, NULL), -EINVAL, "open: NULL out");
	if (t_ret(hugedma_open(name, O_RDONLY | O_CLOEXEC, &h), 0, "open: O_CLOEXEC accepted")) {
		t_ok(node_fds_cloexec() == 1, "open: one descriptor, close-on-exec");
		hugedma_close(h);
		h = NULL;
	}
	t_ret(hugedma_open("no-such-buffer", O_RDWR, &h), -ENOENT, "open: nonexistent name");
	t_ok(h == NULL, "open: out untouched by errors");
	hugedma_close(NULL);
	t_ok(true, "close(NULL) does nothing");
}

static void test_query(struct hugedma *h)
{
	struct hugedma_info info;
	char path[128], line[64];

	memset(&info, 0xff, sizeof(info));
	if (!t_ret(hugedma_query(h, &info), 0, "query"))
		return;
	t_u64(info.argsz, sizeof(info), "query: argsz");
	t_u64(info.flags, 0, "query: flags");
	t_u64(info.size, size, "query: size");
	t_u64(info.page_size, page_size, "query: page_size");
	t_u64(info.nr_pages, nr, "query: nr_pages");
	t_u64(info.state, HUGEDMA_STATE_ENABLED, "query: state enabled");
	t_u64(info.source, HUGEDMA_SOURCE_POOL, "query: source pool");
	t_ok(!strcmp(info.name, name), "query: name \"%s\"", info.name);
	snprintf(path, sizeof(path), "/sys/class/hugedma/%s/numa_node", name);
	t_ok(!t_read_line(path, line, sizeof(line)) && atoi(line) == info.numa_node,
	     "query: numa_node %d as in sysfs", info.numa_node);
	t_ret(hugedma_query(h, NULL), -EINVAL, "query: NULL info");
	t_ret(hugedma_query(NULL, &info), -EINVAL, "query: NULL handle");
}

/* every page of [p, p + len) at buffer offset off is the published page */
static bool frames_match(const char *what, char *p, uint64_t off, uint64_t len,
			 const uint64_t *phys)
{
	bool ok = true;
	uint64_t i;

	for (i = 0; i < len / page_size; i++) {
		uint64_t got = t_pagemap_phys(p + i * page_size);
		uint64_t want = phys[off / page_size + i];

		if (got != want) {
			t_diag("%s: page %" PRIu64 " at %p: pagemap %#" PRIx64 ", phys_addrs %#"
			       PRIx64, what, i, (void *)(p + i * page_size), got, want);
			ok = false;
		}
	}
	return ok;
}

static void test_map(struct hugedma *h)
{
	const uint64_t *phys = NULL, *again = NULL;
	size_t n = 0, n2 = 0;
	char *p = NULL, *q = NULL;
	uint64_t i;
	bool ok;

	if (!t_ret(hugedma_phys_addrs(h, &phys, &n), 0, "phys_addrs") ||
	    !t_u64(n, nr, "phys_addrs: one per page"))
		return;
	t_ret(hugedma_phys_addrs(h, &again, &n2), 0, "phys_addrs: again");
	t_ok(again == phys && n2 == n, "phys_addrs: cached in the handle");
	for (ok = true, i = 0; i < n; i++)
		ok &= phys[i] && phys[i] % page_size == 0;
	t_ok(ok, "phys_addrs: non-zero, page-aligned");

	if (!t_ret(hugedma_map(h, 0, 0, PROT_READ | PROT_WRITE, (void **)&p), 0,
		   "map: whole buffer (length 0)"))
		return;
	t_u64((uintptr_t)p % page_size, 0, "map: address aligned to the page size");
	t_u64(t_smaps_page_size(p), page_size, "map: smaps KernelPageSize is the page size");
	for (i = 0; i < nr; i++) {
		p[i * page_size] = 'a' + i % 26;
		p[i * page_size + page_size / 2] = 'A' + i % 26;
		p[i * page_size + page_size - 1] = 'z';
	}
	t_ok(frames_match("whole", p, 0, size, phys), "map: pagemap frames are phys_addrs");

	if (nr >= 2) {
		if (t_ret(hugedma_map(h, page_size, page_size, PROT_READ, (void **)&q), 0,
			  "map: second page alone, read-only")) {
			/* the data first: reading faults the page in for pagemap */
			t_ok(q[0] == 'b' && q[page_size / 2] == 'B' && q[page_size - 1] == 'z',
			     "map: at an offset, the page's data");
			t_ok(frames_match("offset", q, page_size, page_size, phys),
			     "map: at an offset, the published page");
			t_ret(hugedma_unmap(h, q, page_size), 0, "unmap: the second mapping");
		}
	} else {
		t_skip("the buffer has one page", "map: at an offset");
	}

	/* requests the library refuses before the kernel sees them */
	t_ret(hugedma_map(h, page_size / 2, page_size, PROT_READ, (void **)&q), -EINVAL,
	      "map: misaligned offset");
	t_ret(hugedma_map(h, 0, page_size / 2, PROT_READ, (void **)&q), -EINVAL,
	      "map: length not whole pages");
	t_ret(hugedma_map(h, size, 0, PROT_READ, (void **)&q), -EINVAL, "map: offset at the end");
	t_ret(hugedma_map(h, size + page_size, page_size, PROT_READ, (void **)&q), -EINVAL,
	      "map: offset past the end");
	t_ret(hugedma_map(h, page_size, size, PROT_READ, (void **)&q), -EINVAL,
	      "map: offset + length past the end");
	t_ret(hugedma_map(h, UINT64_MAX - page_size + 1, page_size, PROT_READ, (void **)&q),
	      -EINVAL, "map: offset near 2^64");
	t_ret(hugedma_map(h, 0, 0, PROT_READ | PROT_EXEC, (void **)&q), -EINVAL, "map: PROT_EXEC");
	t_ret(hugedma_map(h, 0, 0, PROT_NONE, (void **)&q), -EINVAL, "map: PROT_NONE");
	t_ret(hugedma_map(h, 0, 0, PROT_WRITE, (void **)&q), -EINVAL, "map: PROT_WRITE alone");
	t_ret(hugedma_map(h, 0, 0, PROT_READ, NULL), -EINVAL, "map: NULL addr");
	t_ret(hugedma_map(NULL, 0, 0, PROT_READ, (void **)&q), -EINVAL, "map: NULL handle");

	t_ret(hugedma_unmap(h, NULL, page_size), -EINVAL, "unmap: NULL addr");
	t_ret(hugedma_unmap(h, p, 0), -EINVAL, "unmap: length 0");
	t_ret(hugedma_unmap(h, p + 4096, page_size), -EINVAL, "unmap: misaligned address");
	t_ret(hugedma_unmap(h, p, page_size + 4096), -EINVAL, "unmap: misaligned length");
	t_ret(hugedma_unmap(NULL, p, page_size), -EINVAL, "unmap: NULL handle");
	t_ret(hugedma_unmap(h, p, size), 0, "unmap: whole buffer");
}

/* an O_RDONLY handle maps read-only only, and sees what the first one wrote */
static void test_readonly(void)
{
	struct hugedma *ro;
	char *p = NULL;

	if (!t_ret(hugedma_open(name, O_RDONLY, &ro), 0, "open: O_RDONLY"))
		return;
	t_ret(hugedma_map(ro, 0, 0, PROT_READ | PROT_WRITE, (void **)&p), -EACCES,
	      "map: PROT_WRITE on an O_RDONLY handle");
	if (t_ret(hugedma_map(ro, 0, 0, PROT_READ, (void **)&p), 0, "map: read-only")) {
		t_ok(p[0] == 'a' && p[page_size / 2] == 'A' && p[size - 1] == 'z',
		     "map: read-only mapping sees the data (MAP_SHARED)");
		hugedma_unmap(ro, p, size);
	}
	hugedma_close(ro);
}

/* a mapping outlives its handle (and keeps the buffer enabled) */
static void test_outlives_close(void)
{
	const uint64_t *phys;
	struct hugedma *h;
	char path[128];
	uint64_t first;
	char *p = NULL;
	int fd, err;
	size_t n;

	if (!t_ret(hugedma_open(name, O_RDWR, &h), 0, "open: again"))
		return;
	if (hugedma_phys_addrs(h, &phys, &n) ||
	    !t_ret(hugedma_map(h, 0, 0, PROT_READ | PROT_WRITE, (void **)&p), 0, "map: again")) {
		hugedma_close(h);
		return;
	}
	first = phys[0];
	hugedma_close(h);

	snprintf(path, sizeof(path), "/sys/kernel/config/hugedma/buffers/%s/enable", name);
	fd = open(path, O_WRONLY);
	err = fd < 0 ? errno : write(fd, "0", 1) < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	t_ret(-err, -EBUSY, "disable refused while a closed handle's mapping lives");
	t_ok(p[0] == 'a' && t_pagemap_phys(p) == first, "mapping valid after hugedma_close()");
	munmap(p, size);
}

/* phys_addrs is root's: an unprivileged process gets -EACCES, from sysfs itself */
static void test_unprivileged(void)
{
	int pipefd[2], res[2] = { 1, 1 };
	struct hugedma *h, *h2 = NULL;
	const uint64_t *phys;
	size_t n;
	pid_t pid;

	if (!t_ret(hugedma_open(name, O_RDONLY, &h), 0, "open: for the unprivileged child"))
		return;
	if (pipe(pipefd)) {
		hugedma_close(h);
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(3);
		res[0] = hugedma_phys_addrs(h, &phys, &n);	/* handle opened by root */
		res[1] = hugedma_open(name, O_RDONLY, &h2);
		if (write(pipefd[1], res, sizeof(res)) != sizeof(res))
			_exit(4);
		_exit(0);
	}
	close(pipefd[1]);
	if (read(pipefd[0], res, sizeof(res)) != sizeof(res))
		res[0] = res[1] = 1;
	close(pipefd[0]);
	waitpid(pid, NULL, 0);
	t_ret(res[0], -EACCES, "phys_addrs: -EACCES for uid 65534 (file is root's)");
	t_ret(res[1], -EACCES, "open: -EACCES for uid 65534 (node is 0600)");
	/* the parent's handle was not cached by the child's failure */
	t_ret(hugedma_phys_addrs(h, &phys, &n), 0, "phys_addrs: root still reads it");
	hugedma_close(h);
}

static void test_bus_addrs(struct hugedma *h)
{
	struct hugedma_segment *segs = NULL;
	size_t n;

	t_ret(hugedma_bus_addrs(h, "0000:00:1f.7", &segs, &n), -ENOENT,
	      "bus_addrs: no such attachment");
	t_ret(hugedma_bus_addrs(h, "../..", &segs, &n), -EINVAL, "bus_addrs: path in bdf");
}

/* A dma-buf keeps the buffer enabled; it is named after the buffer. */
static void test_export(struct hugedma *h)
{
	char path[256], fdinfo[4096], want[64];
	int fd = -1, efd;
	ssize_t n;

	t_ret(hugedma_export_dmabuf(h, O_WRONLY | O_RDONLY | O_RDWR, &fd), -EINVAL,
	      "export: bad access mode");
	t_ret(hugedma_export_dmabuf(h, O_RDWR | O_APPEND, &fd), -EINVAL, "export: bad flags");
	t_ret(hugedma_export_dmabuf(NULL, O_RDWR, &fd), -EINVAL, "export: NULL handle");
	if (!t_ret(hugedma_export_dmabuf(h, O_RDWR | O_CLOEXEC, &fd), 0, "export"))
		return;
	t_ok(fcntl(fd, F_GETFD) == FD_CLOEXEC, "export: close-on-exec fd");
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	efd = open(path, O_RDONLY);
	n = efd < 0 ? -1 : read(efd, fdinfo, sizeof(fdinfo) - 1);
	if (efd >= 0)
		close(efd);
	fdinfo[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "name:\t%s\n", name);
	t_ok(strstr(fdinfo, want) != NULL, "export: dma-buf named \"%s\"", name);
	snprintf(path, sizeof(path), "/sys/kernel/config/hugedma/buffers/%s/enable", name);
	efd = open(path, O_WRONLY);
	if (efd >= 0) {
		t_ok(write(efd, "0", 1) < 0 && errno == EBUSY,
		     "export: a live dma-buf keeps the buffer enabled");
		close(efd);
	}
	close(fd);
}

/* fdinfo's "size:" of dma-buf @fd, or 0 */
static uint64_t dmabuf_size(int fd)
{
	char path[64], text[4096], *at;
	ssize_t n = -1;
	int efd;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	efd = open(path, O_RDONLY);
	if (efd >= 0) {
		n = read(efd, text, sizeof(text) - 1);
		close(efd);
	}
	text[n > 0 ? n : 0] = '\0';
	at = strstr(text, "size:\t");
	return at ? strtoull(at + 6, NULL, 10) : 0;
}

/* A dma-buf of the last page, of the rest from a page, and ranges refused. */
static void test_export_range(struct hugedma *h)
{
	int fd = -1;

	t_ret(hugedma_export_dmabuf_range(h, O_RDWR, page_size / 2, page_size, &fd), -EINVAL,
	      "export range: offset not a whole page");
	t_ret(hugedma_export_dmabuf_range(h, O_RDWR, 0, page_size + 4096, &fd), -EINVAL,
	      "export range: length not a whole page");
	t_ret(hugedma_export_dmabuf_range(h, O_RDWR, size, 0, &fd), -EINVAL,
	      "export range: offset at the end");
	t_ret(hugedma_export_dmabuf_range(h, O_RDWR, size - page_size, 2 * page_size, &fd),
	      -EINVAL, "export range: beyond the end");
	t_ret(hugedma_export_dmabuf_range(h, O_RDWR, page_size, UINT64_MAX - page_size + 1, &fd),
	      -EINVAL, "export range: wraps");
	t_ret(hugedma_export_dmabuf_range(NULL, O_RDWR, 0, 0, &fd), -EINVAL,
	      "export range: NULL handle");
	if (t_ret(hugedma_export_dmabuf_range(h, O_RDWR | O_CLOEXEC, size - page_size, page_size,
					      &fd), 0, "export range: the last page")) {
		t_u64(dmabuf_size(fd), page_size, "export range: the dma-buf is one page");
		close(fd);
	}
	if (t_ret(hugedma_export_dmabuf_range(h, O_RDWR | O_CLOEXEC, 0, 0, &fd), 0,
		  "export range: 0 and 0")) {
		t_u64(dmabuf_size(fd), size, "export range: 0 and 0 is the whole buffer");
		close(fd);
	}
}

int main(int argc, char **argv)
{
	struct hugedma *h;

	t_init(argc, argv, 3, "NAME SIZE PAGE_SIZE");
	name = argv[1];
	size = t_parse_size(argv[2]);
	page_size = t_parse_size(argv[3]);
	nr = size / page_size;
	t_diag("buffer %s: %" PRIu64 " pages of %" PRIu64 " KiB", name, nr, page_size >> 10);

	test_open_errors();
	if (t_ret(hugedma_open(name, O_RDWR, &h), 0, "open: O_RDWR")) {
		test_query(h);
		test_export(h);
		test_export_range(h);
		test_map(h);
		test_bus_addrs(h);
		test_readonly();
		hugedma_close(h);
		test_outlives_close();
		test_unprivileged();
	}
	return t_done();
}
