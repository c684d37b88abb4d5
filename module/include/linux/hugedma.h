/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hugedma in-kernel API: PCIe drivers DMA into hugedma buffers.
 *
 * A driver looks a buffer up by name, maps it for its struct device through
 * the device's DMA API (IOVAs behind an IOMMU), programs its engine from the
 * sg_table's DMA addresses, and unmaps and releases it when done.  While a
 * driver holds a buffer, the buffer cannot be disabled or removed (EBUSY);
 * its mappings appear under /sys/class/hugedma/NAME/attachments/DEVICE/.
 *
 * The symbols are GPL-only, in the symbol namespace HUGEDMA: a user module
 * needs MODULE_IMPORT_NS(HUGEDMA) (MODULE_IMPORT_NS("HUGEDMA") from 6.13).
 */
#ifndef _LINUX_HUGEDMA_H
#define _LINUX_HUGEDMA_H

#include <linux/dma-direction.h>
#include <linux/types.h>

struct device;
struct hugedma_buffer;
struct sg_table;

struct hugedma_buffer *hugedma_get(const char *name);
void hugedma_put(struct hugedma_buffer *buf);
u64 hugedma_size(struct hugedma_buffer *buf);
u64 hugedma_page_size(struct hugedma_buffer *buf);
struct sg_table *hugedma_map(struct hugedma_buffer *buf, struct device *dev,
			     enum dma_data_direction dir);
void hugedma_unmap(struct hugedma_buffer *buf, struct sg_table *sgt);

#endif /* _LINUX_HUGEDMA_H */
