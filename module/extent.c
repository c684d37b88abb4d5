// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma: merging physically adjacent huge pages into extents.
 *
 * Pure: no locks, no allocation, no global state, so that it can be tested
 * on its own (KUnit).  The published extents and every attachment's
 * scatter-gather table come from here.
 */
#include <linux/kernel.h>	/* rounddown(): linux/math.h only from 5.11 */
#include <linux/minmax.h>

#include "hugedma.h"

/**
 * hugedma_merge_extents() - physically contiguous runs of equal huge pages
 * @phys: the pages' physical addresses, in buffer order
 * @nr: number of pages
 * @shift: log2 of the page size
 * @max_len: longest extent, a multiple of PAGE_SIZE (U64_MAX: no limit)
 * @boundary_mask: no extent crosses a multiple of @boundary_mask + 1
 *	(a device's segment boundary; U64_MAX: none)
 * @ext: where to store the extents, in buffer order; may be NULL
 * @max_ext: room in @ext; extents past it are counted, not stored
 *
 * Page i + 1 joins page i's extent when it starts where page i ends.  A run
 * longer than @max_len is cut into pieces of whole pages when @max_len is at
 * least a page (the pieces start page-aligned), else into pieces of @max_len;
 * a piece that would cross the boundary ends at it.  The extents, laid end to
 * end, cover the buffer in order.
 *
 * Return: the number of extents the pages make (which may exceed @max_ext).
 */
unsigned long hugedma_merge_extents(const phys_addr_t *phys, unsigned long nr,
				    unsigned int shift, u64 max_len, u64 boundary_mask,
				    struct hugedma_extent *ext, unsigned long max_ext)
{
	u64 psize = 1ULL << shift;
	u64 piece = max_len >= psize ? rounddown(max_len, psize) : max_len;
	unsigned long count = 0, i = 0, j;

	if (!piece)
		return 0;
	while (i < nr) {
		u64 addr = phys[i], end = addr + psize;

		for (j = i + 1; j < nr && phys[j] == end; j++)
			end += psize;
		while (addr < end) {
			u64 len = min(end - addr, piece);
			u64 next = (addr | boundary_mask) + 1;	/* 0: no boundary above */

			if (next)
				len = min(len, next - addr);
			if (count < max_ext) {
				ext[count].addr = addr;
				ext[count].len = len;
			}
			count++;
			addr += len;
		}
		i = j;
	}
	return count;
}
