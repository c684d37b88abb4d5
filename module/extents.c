// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma: the DMA segments of a buffer for one device, as a pure function of
 * its pages' physical addresses, so that KUnit (module/kunit.c) can check it
 * without a device.
 */
#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/mm.h>

#include "hugedma.h"

/*
 * Cut @nr pages of 1 << @shift bytes, at the physical addresses @phys[], into
 * extents of at most @max_seg bytes (rounded down to whole base pages), in
 * order, covering every byte of every page once.  Each page is cut on its
 * own: physically adjacent pages are not merged (HUGEDMA_EXTENTS_MERGE).
 *
 * Writes the extents to @out unless it is NULL, so a first call with NULL
 * sizes the array for the second.  Returns the number of extents: 0 when
 * @max_seg is below PAGE_SIZE (or @nr is 0).
 */
unsigned long hugedma_extents(const phys_addr_t *phys, unsigned long nr,
			      unsigned int shift, u64 max_seg,
			      struct hugedma_extent *out)
{
	u64 psize = 1ULL << shift;
	u64 seg = min_t(u64, ALIGN_DOWN(max_seg, PAGE_SIZE), psize);
	unsigned long n = 0, i;
	u64 off;

	if (!seg)
		return 0;
	for (i = 0; i < nr; i++) {
		for (off = 0; off < psize; off += seg, n++) {
			if (out) {
				out[n].addr = phys[i] + off;
				out[n].len = min(seg, psize - off);
			}
		}
	}
	return n;
}
