// SPDX-License-Identifier: GPL-2.0
/*
 * libhugedma-hugetlbfs: get_huge_pages() memory imported in one call, checked
 * against pagemap, smaps and the pool counters, through unmap and release.
 *
 *   test_hugepages NAME PAGE_SIZE NR
 *
 * NAME must be unused; PAGE_SIZE is the page size libhugetlbfs is expected to
 * use in this environment (HUGETLB_DEFAULT_PAGE_SIZE, HUGETLB_PATH: see
 * hugedma-hugetlbfs.h); NR pages of it must be free in the pool.  Run as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <hugedma-hugetlbfs.h>

#include "harness.h"

static const char *name;
static uint64_t page_size, nr;

static void test_errors(void)
{
	struct hugedma_import_handle *h = NULL;

	t_ret(hugedma_import_hugepages(name, page_size, NULL), -EINVAL, "NULL out");
	t_ret(hugedma_import_hugepages(NULL, page_size, &h), -EINVAL, "NULL name");
	t_ret(hugedma_import_hugepages("Bad", page_size, &h), -EINVAL, "bad name");
	t_ret(hugedma_import_hugepages(name, 0, &h), -EINVAL, "length 0");
	t_ret(hugedma_import_hugepages(name, page_size / 2, &h), -EINVAL,
	      "length not whole pages");
	t_ret(hugedma_import_hugepages_region(NULL, NULL, NULL, NULL), -EINVAL, "region: NULL");
	t_ret(hugedma_import_hugepages_unmap(NULL), -EINVAL, "unmap: NULL");
	hugedma_import_hugepages_release(NULL);
	t_ok(h == NULL, "out untouched by errors");
}

int main(int argc, char **argv)
{
	struct hugedma_import_handle *ih, *dup = NULL;
	size_t len = 0, ps = 0, n = 0, i;
	const uint64_t *phys = NULL;
	uint64_t *seen = NULL;
	struct hugedma_info info;
	long free0, resv0, held;
	char dev[128];
	struct hugedma *h;
	char *p = NULL, *old;
	bool ok;

	t_init(argc, argv, 3, "NAME PAGE_SIZE NR");
	name = argv[1];
	page_size = t_parse_size(argv[2]);
	nr = strtoull(argv[3], NULL, 0);
	snprintf(dev, sizeof(dev), "/sys/class/hugedma/%s", name);
	t_diag("%s: %" PRIu64 " pages of %" PRIu64 " KiB; HUGETLB_DEFAULT_PAGE_SIZE=%s",
	       name, nr, page_size >> 10, getenv("HUGETLB_DEFAULT_PAGE_SIZE") ?: "(unset)");

	test_errors();
	free0 = t_pool(page_size, "free_hugepages");
	resv0 = t_pool(page_size, "resv_hugepages");
	t_ok(free0 >= 0 && (uint64_t)(free0 - resv0) >= nr, "pool has %" PRIu64 " free pages",
	     nr);

	if (!t_ret(hugedma_import_hugepages(name, nr * page_size, &ih), 0, "import_hugepages"))
		return t_done();
	t_ret(hugedma_import_hugepages_region(ih, (void **)&p, &len, &ps), 0, "region");
	t_u64(ps, page_size, "region: the page size libhugetlbfs used");
	t_u64(len, nr * page_size, "region: length");
	t_ok(p && (uintptr_t)p % page_size == 0, "region: address %p page-aligned", (void *)p);
	t_u64(t_smaps_page_size(p), page_size, "smaps KernelPageSize");
	held = free0 - t_pool(page_size, "free_hugepages");
	t_ok(held == (long)nr, "pool: %ld pages taken, want %" PRIu64, held, nr);
	t_ok(t_pool(page_size, "resv_hugepages") == resv0, "pool: no reservation left over");

	seen = calloc(nr, sizeof(*seen));
	for (ok = true, i = 0; seen && i < nr; i++) {
		ok &= p[i * page_size] == 0 && p[i * page_size + page_size - 1] == 0;
		p[i * page_size] = 'h';
		p[i * page_size + page_size - 1] = 'H';
		seen[i] = t_pagemap_phys(p + i * page_size);
		ok &= seen[i] != 0;
	}
	t_ok(seen && ok, "memory zeroed, writable and present");

	if (t_ret(hugedma_open(name, O_RDONLY, &h), 0, "open the imported buffer")) {
		if (t_ret(hugedma_query(h, &info), 0, "query")) {
			t_u64(info.source, HUGEDMA_SOURCE_USER, "query: source user");
			t_u64(info.page_size, page_size, "query: page size");
			t_u64(info.size, nr * page_size, "query: size");
		}
		if (t_ret(hugedma_phys_addrs(h, &phys, &n), 0, "phys_addrs")) {
			for (ok = n == nr, i = 0; seen && ok && i < nr; i++)
				ok = phys[i] == seen[i];
			t_ok(ok, "phys_addrs are the frames pagemap shows behind the memory");
		}
		hugedma_close(h);
	}

	/* a second import of that name fails and leaves nothing behind */
	t_ret(hugedma_import_hugepages(name, page_size, &dup), -EEXIST, "same name again");
	t_ok(dup == NULL && free0 - t_pool(page_size, "free_hugepages") == held,
	     "same name again: no pages kept");

	old = p;
	t_ret(hugedma_import_hugepages_unmap(ih), 0, "unmap");
	t_ret(hugedma_import_hugepages_region(ih, (void **)&p, NULL, NULL), 0,
	      "region after unmap");
	t_ok(p == NULL, "region: no address after unmap");
	t_ok(t_smaps_page_size(old) == 0, "unmap: the mapping is gone from smaps");
	t_ok(free0 - t_pool(page_size, "free_hugepages") == held,
	     "pool: pages still held after unmap (pinned by the import)");
	t_ok(t_exists(dev), "still published after unmap");
	if (!hugedma_open(name, O_RDONLY, &h)) {
		t_ok(!hugedma_phys_addrs(h, &phys, &n) && n == nr && seen && phys[0] == seen[0],
		     "phys_addrs unchanged after unmap");
		hugedma_close(h);
	}
	t_ret(hugedma_import_hugepages_unmap(ih), 0, "unmap again does nothing");

	hugedma_import_hugepages_release(ih);
	t_ok(!t_exists(dev), "release: the buffer is gone");
	t_ok(t_pool(page_size, "free_hugepages") == free0, "release: pool restored");
	free(seen);
	return t_done();
}
