// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libhugedma-hugetlbfs: huge pages from libhugetlbfs' get_huge_pages(),
 * imported through libhugedma.  The only object that links libhugetlbfs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <hugetlbfs.h>

#include "internal.h"
#include "hugedma-hugetlbfs.h"

struct hugedma_import_handle {
	struct hugedma_control *ctl;
	void *addr;		/* NULL once unmapped */
	size_t length;
	size_t page_size;
};

/*
 * Fault every page in for writing.  MADV_POPULATE_WRITE reports a failure as
 * an error where a plain write would be killed by SIGBUS; older kernels (before
 * 5.14) do not know it, and there the reservation made at mmap time is what
 * keeps the writes from failing.
 */
static int hugedma_populate(void *addr, size_t length, size_t page_size)
{
	size_t off;

	if (!madvise(addr, length, MADV_POPULATE_WRITE))
		return 0;
	if (errno != EINVAL)
		return -errno;
	for (off = 0; off < length; off += page_size)
		((volatile char *)addr)[off] = 0;	/* fresh pages are zeroed anyway */
	return 0;
}

HUGEDMA_EXPORT int hugedma_import_hugepages(const char *name, size_t length,
					    struct hugedma_import_handle **out)
{
	struct hugedma_import_handle *h;
	long page_size;
	int ret;

	if (!out || hugedma_name_check(name) || !length)
		return -EINVAL;
	errno = 0;
	page_size = gethugepagesize();
	if (page_size <= 0)
		return errno ? -errno : -ENOSYS;
	if (length % page_size)
		return -EINVAL;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->length = length;
	h->page_size = page_size;
	/* first, so that no memory is taken when the module is not there */
	ret = hugedma_control_open(&h->ctl);
	if (ret)
		goto out_free;

	errno = 0;
	h->addr = get_huge_pages(length, GHP_DEFAULT);
	if (!h->addr) {
		ret = errno ? -errno : -ENOMEM;
		goto out_close;
	}
	ret = hugedma_populate(h->addr, length, page_size);
	if (!ret)
		ret = hugedma_import(h->ctl, name, h->addr, length);
	if (ret)
		goto out_unmap;
	*out = h;
	return 0;

out_unmap:
	free_huge_pages(h->addr);
out_close:
	hugedma_control_close(h->ctl);
out_free:
	free(h);
	return ret;
}

HUGEDMA_EXPORT int hugedma_import_hugepages_region(const struct hugedma_import_handle *h,
						   void **addr, size_t *length,
						   size_t *page_size)
{
	if (!h)
		return -EINVAL;
	if (addr)
		*addr = h->addr;
	if (length)
		*length = h->length;
	if (page_size)
		*page_size = h->page_size;
	return 0;
}

HUGEDMA_EXPORT int hugedma_import_hugepages_unmap(struct hugedma_import_handle *h)
{
	if (!h)
		return -EINVAL;
	if (h->addr) {
		free_huge_pages(h->addr);
		h->addr = NULL;
	}
	return 0;
}

HUGEDMA_EXPORT void hugedma_import_hugepages_release(struct hugedma_import_handle *h)
{
	if (!h)
		return;
	hugedma_import_hugepages_unmap(h);
	hugedma_control_close(h->ctl);
	free(h);
}
