// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma_import() with the caller's own MAP_HUGETLB memory (2 MB pages):
 * the pages published are the ones mapped, they stay held after munmap, and
 * closing the control handle gives them back.
 *
 *   test_import NEWNAME TAKENNAME
 *
 * NEWNAME must be unused; TAKENNAME must be a buffer that exists (enabled or
 * not).  Needs 4 free 2 MB pool pages.  Run as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <hugedma.h>

#include "harness.h"

#define SZ_2M	(2ULL << 20)
#define NR	4

static const char *name, *taken;

static char *huge_map(size_t nr)
{
	char *p = mmap(NULL, nr * SZ_2M, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
	size_t i;

	if (p == MAP_FAILED)
		return NULL;
	for (i = 0; i < nr; i++)
		p[i * SZ_2M] = 'u';
	return p;
}

static void test_errors(struct hugedma_control *ctl, char *p)
{
	char *anon;

	t_ret(hugedma_control_open(NULL), -EINVAL, "control_open: NULL out");
	t_ret(hugedma_import(NULL, name, p, SZ_2M), -EINVAL, "import: NULL control");
	t_ret(hugedma_import(ctl, NULL, p, SZ_2M), -EINVAL, "import: NULL name");
	t_ret(hugedma_import(ctl, "Bad", p, SZ_2M), -EINVAL, "import: bad name");
	t_ret(hugedma_import(ctl, "control", p, SZ_2M), -EINVAL, "import: name \"control\"");
	t_ret(hugedma_import(ctl, name, NULL, SZ_2M), -EINVAL, "import: NULL addr");
	t_ret(hugedma_import(ctl, name, p, 0), -EINVAL, "import: length 0");
	t_ret(hugedma_import(ctl, name, p + 4096, SZ_2M), -EINVAL, "import: misaligned addr");
	t_ret(hugedma_import(ctl, name, p, SZ_2M + 4096), -EINVAL, "import: misaligned length");
	t_ret(hugedma_import(ctl, name, p, (NR + 1) * SZ_2M), -EINVAL,
	      "import: range past the mapping");
	anon = mmap(NULL, 2 * SZ_2M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon != MAP_FAILED) {
		char *a = (char *)(((uintptr_t)anon + SZ_2M - 1) & ~(SZ_2M - 1));

		a[0] = 1;
		t_ret(hugedma_import(ctl, name, a, SZ_2M), -EINVAL, "import: not hugetlb memory");
		munmap(anon, 2 * SZ_2M);
	}
	t_ret(hugedma_import(ctl, taken, p, SZ_2M), -EEXIST, "import: name in use");
	t_ok(!t_exists("/sys/class/hugedma/Bad"), "import: nothing published by the errors");
}

int main(int argc, char **argv)
{
	const uint64_t *phys = NULL;
	struct hugedma_control *ctl;
	struct hugedma_info info;
	char dev[128], src[128], line[32];
	long free0, free_mapped;
	struct hugedma *h;
	uint64_t seen[NR];
	char *p, *q;
	size_t n, i;
	bool ok;

	t_init(argc, argv, 2, "NEWNAME TAKENNAME");
	name = argv[1];
	taken = argv[2];
	snprintf(dev, sizeof(dev), "/sys/class/hugedma/%s", name);
	snprintf(src, sizeof(src), "/sys/class/hugedma/%s/source", name);

	free0 = t_pool(SZ_2M, "free_hugepages");
	if (!t_ret(hugedma_control_open(&ctl), 0, "control_open"))
		return t_done();
	p = huge_map(NR);
	if (!t_ok(p != NULL, "mmap %d x 2 MB MAP_HUGETLB", NR)) {
		hugedma_control_close(ctl);
		return t_done();
	}
	free_mapped = t_pool(SZ_2M, "free_hugepages");
	t_ok(free_mapped == free0 - NR, "pool: %d pages taken by the mapping", NR);
	for (i = 0; i < NR; i++)
		seen[i] = t_pagemap_phys(p + i * SZ_2M);

	test_errors(ctl, p);

	if (!t_ret(hugedma_import(ctl, name, p, NR * SZ_2M), 0, "import"))
		goto out;
	t_ok(t_exists(dev), "import: %s exists", dev);
	t_ok(!t_read_line(src, line, sizeof(line)) && !strcmp(line, "user"),
	     "import: source is \"user\"");
	t_ret(hugedma_import(ctl, "other", p + SZ_2M, SZ_2M), -EBUSY,
	      "import: the same pages again");

	if (t_ret(hugedma_open(name, O_RDONLY, &h), 0, "open: the imported buffer")) {
		if (t_ret(hugedma_query(h, &info), 0, "query: the imported buffer")) {
			t_u64(info.source, HUGEDMA_SOURCE_USER, "query: source user");
			t_u64(info.page_size, SZ_2M, "query: page size 2 MB");
			t_u64(info.nr_pages, NR, "query: nr_pages");
		}
		if (t_ret(hugedma_phys_addrs(h, &phys, &n), 0, "phys_addrs: the imported buffer")) {
			for (ok = n == NR, i = 0; ok && i < NR; i++)
				ok = phys[i] == seen[i];
			t_ok(ok, "phys_addrs: the frames pagemap shows behind the mapping");
		}
		t_ret(hugedma_map(h, 0, 0, PROT_READ, (void **)&q), -ENODEV,
		      "map: an imported buffer is not mapped through hugedma");
		hugedma_close(h);
	}

	t_ok(!munmap(p, NR * SZ_2M), "munmap the imported range");
	p = NULL;
	t_ok(t_pool(SZ_2M, "free_hugepages") == free_mapped, "pool: pages still held after munmap");
	t_ok(t_exists(dev), "import: still published after munmap");
	if (!hugedma_open(name, O_RDONLY, &h)) {
		t_ok(!hugedma_phys_addrs(h, &phys, &n) && n == NR && phys[0] == seen[0],
		     "phys_addrs: unchanged after munmap");
		hugedma_close(h);
	}
out:
	if (p)
		munmap(p, NR * SZ_2M);
	hugedma_control_close(ctl);
	t_ok(!t_exists(dev), "control_close: the buffer is gone");
	t_ok(t_pool(SZ_2M, "free_hugepages") == free0, "control_close: pool restored");
	hugedma_control_close(NULL);
	return t_done();
}
