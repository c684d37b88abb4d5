// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma: the in-kernel API (include/linux/hugedma.h), for PCIe drivers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/err.h>
#include <linux/hugedma.h>
#include <linux/module.h>

#include "compat.h"
#include "hugedma.h"

/**
 * hugedma_get() - look up an enabled buffer by name and hold it
 * @name: the buffer's name (configfs directory or import name)
 *
 * The reference keeps the buffer enabled: writing 0 to its enable file and
 * removing its directory fail with -EBUSY until hugedma_put().
 *
 * Context: process context; may sleep.
 * Return: the buffer, ERR_PTR(-ENOENT) if no buffer has that name,
 * ERR_PTR(-ENODEV) if it is not enabled.
 */
struct hugedma_buffer *hugedma_get(const char *name)
{
	struct hugedma_buffer *buf;
	int ret;

	buf = hugedma_buffer_find(name);
	if (!buf)
		return ERR_PTR(-ENOENT);
	ret = hugedma_buffer_hold(buf, HUGEDMA_USER_KERNEL);
	if (ret) {
		hugedma_buffer_put(buf);
		return ERR_PTR(ret);
	}
	return buf;
}

HUGEDMA_EXPORT(hugedma_get);

/**
 * hugedma_put() - release a buffer from hugedma_get()
 * @buf: the buffer; every mapping made with hugedma_map() must be unmapped
 */
void hugedma_put(struct hugedma_buffer *buf)
{
	hugedma_buffer_release_hold(buf, HUGEDMA_USER_KERNEL);
	hugedma_buffer_put(buf);
}

HUGEDMA_EXPORT(hugedma_put);

/**
 * hugedma_size() - the buffer's size in bytes
 * @buf: a buffer from hugedma_get()
 */
u64 hugedma_size(struct hugedma_buffer *buf)
{
	return hugedma_buffer_size(buf);
}

HUGEDMA_EXPORT(hugedma_size);

/**
 * hugedma_page_size() - the size of the buffer's pages in bytes (1 GiB or 2 MiB)
 * @buf: a buffer from hugedma_get()
 *
 * Each page is physically contiguous; behind an IOMMU the DMA API may merge
 * pages into longer DMA segments.
 */
u64 hugedma_page_size(struct hugedma_buffer *buf)
{
	return 1ULL << hugedma_buffer_page_shift(buf);
}

HUGEDMA_EXPORT(hugedma_page_size);

/**
 * hugedma_map() - map the whole buffer for a device
 * @buf: a buffer from hugedma_get()
 * @dev: the device that will DMA; its DMA mask and max segment size apply
 * @dir: the DMA direction
 *
 * Walk the result with for_each_sgtable_dma_sg().  One mapping per device and
 * buffer.  If @dev is removed or unbound while mapped, hugedma unmaps it and
 * marks the attachment removed; hugedma_unmap() must still be called.
 *
 * Context: process context; may sleep.
 * Return: the DMA-mapped sg_table, or ERR_PTR: -EEXIST if @dev has a mapping
 * of @buf already, -ERANGE if the device's DMA mask refuses the buffer
 * (without an IOMMU a page above it; behind one, no IOVA range that large
 * below it), -EINVAL if its max segment size or segment boundary is below a
 * page, -E2BIG if they cut the buffer into more than 65536 segments, -EBUSY
 * if user space owns the device's DMA (vfio), or an error of the DMA API.
 * A refusal is logged in one line naming the buffer, the device and the limit.
 */
struct sg_table *hugedma_map(struct hugedma_buffer *buf, struct device *dev,
			     enum dma_data_direction dir)
{
	struct hugedma_attachment *att;
	int ret;

	if (!valid_dma_direction(dir))
		return ERR_PTR(-EINVAL);
	att = hugedma_att_create(buf, dev, dev_name(dev), dir, true);
	if (IS_ERR(att))
		return ERR_CAST(att);
	ret = hugedma_att_map(att);
	if (ret) {
		hugedma_att_destroy(att);
		return ERR_PTR(ret < 0 ? ret : -EEXIST);
	}
	return &att->sgt;
}

HUGEDMA_EXPORT(hugedma_map);

/**
 * hugedma_unmap() - undo hugedma_map()
 * @buf: the buffer
 * @sgt: what hugedma_map() returned for it
 */
void hugedma_unmap(struct hugedma_buffer *buf, struct sg_table *sgt)
{
	struct hugedma_attachment *att = container_of(sgt, struct hugedma_attachment, sgt);

	if (WARN_ON(att->buf != buf))
		return;
	hugedma_att_destroy(att);
}

HUGEDMA_EXPORT(hugedma_unmap);
