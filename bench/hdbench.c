// SPDX-License-Identifier: GPL-2.0
/*
 * hdbench: the timed inner loops of `make bench`, run in the guest by
 * bench/guest.py.  Each subcommand prints key=value lines; those that hold
 * something print "ready" and wait for a line on stdin before tearing down.
 *
 *   hdbench touch PATH BYTES          mmap PATH shared, write a byte in every 4 KB page
 *   hdbench hugetlb GB NAME           MAP_HUGETLB|MAP_HUGE_1GB, touched by this thread,
 *                                     pinned through hugedma's import as buffer NAME
 *   hdbench udmabuf GB                a dma-buf from a 1 GB hugetlb memfd (/dev/udmabuf)
 *   hdbench coherent BYTES CHUNK      hugedma_edu's dma_alloc_coherent() chunks
 *   hdbench warm GB                   touch and free GB of 1 GB pool pages, untimed: under
 *                                     TCG the guest's first touch of its RAM costs the host
 *                                     page faults, which no row should pay
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/udmabuf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../module/include/uapi/hugedma.h"
#include "../tests/drivers/hugedma_edu.h"

#define GB (1ULL << 30)
#define PG 4096ULL

#ifndef MAP_HUGE_1GB
#define MAP_HUGE_1GB (30 << 26)
#endif
#ifndef MFD_HUGE_1GB
#define MFD_HUGE_1GB (30 << 26)
#endif

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static void die(const char *what)
{
	fprintf(stderr, "hdbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* write one byte in every 4 KB page; returns the page faults it took */
static long touch(volatile char *p, uint64_t len)
{
	long f = faults();
	uint64_t off;

	for (off = 0; off < len; off += PG)
		p[off] = 1;
	return faults() - f;
}

/* physical address of each 1 GB page of [p, p + len), from /proc/self/pagemap */
static void print_phys(const char *p, uint64_t len, uint64_t step)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t off, e;

	if (fd < 0)
		die("pagemap");
	printf("phys=");
	for (off = 0; off < len; off += step) {
		if (pread(fd, &e, 8, ((uintptr_t)p + off) / PG * 8) != 8)
			die("pagemap read");
		printf("%s0x%llx", off ? "," : "",
		       (unsigned long long)((e & ((1ULL << 55) - 1)) * PG));
	}
	printf("\n");
	close(fd);
}

static void wait_line(void)
{
	char line[64];

	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		exit(1);
}

static int cmd_touch(const char *path, uint64_t len)
{
	int fd = open(path, O_RDWR);
	char *p;
	double t;
	long f;

	if (fd < 0)
		die(path);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	t = now();
	f = touch(p, len);
	printf("faults=%ld\ntouch_s=%.6f\n", f, now() - t);
	munmap(p, len);
	close(fd);
	return 0;
}

static int cmd_hugetlb(uint64_t gb, const char *name)
{
	struct hugedma_import imp = { .argsz = sizeof(imp) };
	uint64_t len = gb * GB;
	double t0, t1;
	char *p;
	long f;
	int fd;

	t0 = now();
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB, -1, 0);
	if (p == MAP_FAILED)
		die("mmap MAP_HUGETLB");
	f = touch(p, len);
	fd = open("/dev/hugedma/control", O_RDWR);
	if (fd < 0)
		die("/dev/hugedma/control");
	imp.addr = (uintptr_t)p;
	imp.length = len;
	snprintf(imp.name, sizeof(imp.name), "%s", name);
	if (ioctl(fd, HUGEDMA_IOC_IMPORT, &imp))
		die("HUGEDMA_IOC_IMPORT");
	t1 = now();
	printf("prov_s=%.6f\nfaults=%ld\n", t1 - t0, f);
	print_phys(p, len, GB);
	wait_line();
	t0 = now();
	close(fd);
	munmap(p, len);
	printf("teardown_s=%.6f\n", now() - t0);
	return 0;
}

static int cmd_udmabuf(uint64_t gb)
{
	struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC };
	uint64_t len = gb * GB, segs[2];
	int memfd, dev, buf, edu;
	double t0, t1;
	char *p;
	long f;

	dev = open("/dev/udmabuf", O_RDWR);
	if (dev < 0)
		die("/dev/udmabuf");
	t0 = now();
	memfd = memfd_create("hdbench", MFD_HUGETLB | MFD_HUGE_1GB | MFD_ALLOW_SEALING);
	if (memfd < 0)
		die("memfd_create");
	if (ftruncate(memfd, len) || fallocate(memfd, 0, 0, len))
		die("fallocate");
	if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK))
		die("F_SEAL_SHRINK");
	c.memfd = memfd;
	c.size = len;
	buf = ioctl(dev, UDMABUF_CREATE, &c);
	if (buf < 0)
		die("UDMABUF_CREATE");
	t1 = now();
	printf("prov_s=%.6f\n", t1 - t0);
	/* the memfd's own mapping, for the addresses (not the dma-buf's mmap) */
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, memfd, 0);
	if (p == MAP_FAILED)
		die("mmap memfd");
	f = faults();
	for (uint64_t off = 0; off < len; off += GB)
		(void)*(volatile char *)(p + off);
	printf("memfd_faults=%ld\n", faults() - f);
	print_phys(p, len, GB);
	munmap(p, len);
	edu = open("/dev/hugedma-edu", O_RDWR);
	if (edu >= 0) {
		segs[0] = buf;
		segs[1] = 0;
		if (ioctl(edu, HUGEDMA_EDU_DMABUF_SEGS, segs))
			die("HUGEDMA_EDU_DMABUF_SEGS");
		printf("segments=%llu\n", (unsigned long long)segs[1]);
		close(edu);
	}
	wait_line();
	t0 = now();
	close(buf);
	close(memfd);
	printf("teardown_s=%.6f\n", now() - t0);
	close(dev);
	return 0;
}

static int cmd_coherent(uint64_t total, uint64_t chunk)
{
	struct hugedma_edu_coherent c = { .total = total };
	double t0, t1;
	char *p;
	int fd;

	fd = open("/dev/hugedma-edu", O_RDWR);
	if (fd < 0)
		die("/dev/hugedma-edu");
	/* the largest chunk that works, from CHUNK down */
	for (c.chunk = chunk; c.chunk >= PG; c.chunk /= 2) {
		t0 = now();
		if (!ioctl(fd, HUGEDMA_EDU_COHERENT_ALLOC, &c))
			break;
		if (errno != ENOMEM)
			die("HUGEDMA_EDU_COHERENT_ALLOC");
	}
	if (c.chunk < PG)
		die("HUGEDMA_EDU_COHERENT_ALLOC");
	t1 = now();
	printf("prov_s=%.6f\nchunk=%llu\nsegments=%llu\nruns=%llu\n", t1 - t0,
	       (unsigned long long)c.chunk, (unsigned long long)c.nr_chunks,
	       (unsigned long long)c.nr_phys_runs);
	p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap edu");
	printf("faults=%ld\n", touch(p, total));
	munmap(p, total);
	wait_line();
	t0 = now();
	if (ioctl(fd, HUGEDMA_EDU_COHERENT_FREE))
		die("HUGEDMA_EDU_COHERENT_FREE");
	printf("teardown_s=%.6f\n", now() - t0);
	close(fd);
	return 0;
}

static int cmd_warm(uint64_t gb)
{
	uint64_t len = gb * GB;
	char *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB, -1, 0);
	if (p == MAP_FAILED)
		die("mmap MAP_HUGETLB");
	touch(p, len);
	munmap(p, len);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "touch"))
		return cmd_touch(argv[2], strtoull(argv[3], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "hugetlb"))
		return cmd_hugetlb(strtoull(argv[2], NULL, 0), argv[3]);
	if (argc == 3 && !strcmp(argv[1], "udmabuf"))
		return cmd_udmabuf(strtoull(argv[2], NULL, 0));
	if (argc == 3 && !strcmp(argv[1], "warm"))
		return cmd_warm(strtoull(argv[2], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "coherent"))
		return cmd_coherent(strtoull(argv[2], NULL, 0), strtoull(argv[3], NULL, 0));
	fprintf(stderr, "usage: see the comment at the top of bench/hdbench.c\n");
	return 2;
}
