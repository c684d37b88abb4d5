// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma: dma-buf export of a buffer (HUGEDMA_IOC_EXPORT_DMABUF).
 *
 * Each importer attachment is a hugedma attachment (attach.c): mapped through
 * the importer device's DMA API and listed in sysfs like any other.  mmap goes
 * through the buffer's hugetlbfs mapping with huge page-table entries, never
 * through base-page PTEs into a hugetlb folio (which 6.1's udmabuf does, and
 * which crashed at process exit).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/fcntl.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "compat.h"
#include "hugedma.h"

HUGEDMA_IMPORT_NS(DMA_BUF);

static int hugedma_dmabuf_attach(struct dma_buf *dmabuf, struct dma_buf_attachment *attach)
{
	struct hugedma_buffer *buf = dmabuf->priv;
	struct hugedma_attachment *att;
	char name[64];

	snprintf(name, sizeof(name), "%s-dmabuf%u", dev_name(attach->dev),
		 hugedma_buffer_next_dmabuf_seq(buf));
	att = hugedma_att_create(buf, attach->dev, name, DMA_BIDIRECTIONAL, true);
	if (IS_ERR(att))
		return PTR_ERR(att);
	attach->priv = att;
	return 0;
}

static void hugedma_dmabuf_detach(struct dma_buf *dmabuf, struct dma_buf_attachment *attach)
{
	hugedma_att_destroy(attach->priv);
}

static struct sg_table *hugedma_dmabuf_map(struct dma_buf_attachment *attach,
					   enum dma_data_direction dir)
{
	struct hugedma_attachment *att = attach->priv;
	int ret;

	ret = hugedma_att_set_dir(att, dir);
	if (!ret)
		ret = hugedma_att_map(att);
	if (ret < 0)
		return ERR_PTR(ret);
	return &att->sgt;
}

static void hugedma_dmabuf_unmap(struct dma_buf_attachment *attach, struct sg_table *sgt,
				 enum dma_data_direction dir)
{
	hugedma_att_unmap(attach->priv);
}

static int hugedma_dmabuf_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	return hugedma_buffer_mmap(dmabuf->priv, vma);
}

/* the last fd and importer are gone */
static void hugedma_dmabuf_release(struct dma_buf *dmabuf)
{
	struct hugedma_buffer *buf = dmabuf->priv;

	hugedma_buffer_release_hold(buf, HUGEDMA_USER_DMABUF);
	hugedma_buffer_put(buf);
}

static const struct dma_buf_ops hugedma_dmabuf_ops = {
	.attach = hugedma_dmabuf_attach,
	.detach = hugedma_dmabuf_detach,
	.map_dma_buf = hugedma_dmabuf_map,
	.unmap_dma_buf = hugedma_dmabuf_unmap,
	.mmap = hugedma_dmabuf_mmap,
	.release = hugedma_dmabuf_release,
};

/*
 * A dma-buf of the whole buffer with the access mode in @flags, not yet
 * installed in any fd table: the caller installs its file, or drops it with
 * dma_buf_put().
 */
struct dma_buf *hugedma_dmabuf_export(struct hugedma_buffer *buf, unsigned int flags)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct dma_buf *dmabuf;
	char *name;
	int ret;

	name = kstrdup(buf->name, GFP_KERNEL);
	if (!name)
		return ERR_PTR(-ENOMEM);
	ret = hugedma_buffer_hold(buf, HUGEDMA_USER_DMABUF);
	if (ret)
		goto out_free_name;
	hugedma_buffer_get(buf);

	exp_info.ops = &hugedma_dmabuf_ops;
	exp_info.size = hugedma_buffer_size(buf);
	exp_info.flags = flags & O_ACCMODE;
	exp_info.priv = buf;
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto out_release_hold;
	}
	/* the dma-buf owns the hold and the reference from here: its release drops them */
	spin_lock(&dmabuf->name_lock);
	dmabuf->name = name;
	spin_unlock(&dmabuf->name_lock);
	return dmabuf;

out_release_hold:
	hugedma_buffer_release_hold(buf, HUGEDMA_USER_DMABUF);
	hugedma_buffer_put(buf);
out_free_name:
	kfree(name);
	return ERR_PTR(ret);
}
