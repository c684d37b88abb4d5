// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma: dma-buf export of a buffer or of a range of its pages
 * (HUGEDMA_IOC_EXPORT_DMABUF).
 *
 * Each importer attachment is a hugedma attachment (attach.c) of the
 * dma-buf's pages only: mapped through the importer device's DMA API and
 * listed in sysfs like any other.  mmap goes through the buffer's hugetlbfs
 * mapping with huge page-table entries, never through base-page PTEs into a
 * hugetlb folio (which 6.1's udmabuf does, and which crashed at process exit).
 *
 * CPU access (DMA_BUF_IOCTL_SYNC, dma_buf_begin/end_cpu_access()) syncs the
 * mapped attachments of this dma-buf, not every attachment of the buffer: the
 * dma-buf's contract is with its own importers, whose mappings cover what the
 * caller can reach through it (a range's pages), while a configfs attachment,
 * a kernel-API user or another dma-buf's importers keep their own protocol
 * with the CPU.  The dma-buf keeps its attachments on a list of its own under
 * its own mutex rather than walking the core's dmabuf->attachments, whose lock
 * is the reservation lock (6.1 on; dmabuf->lock on 5.10): the core calls
 * map_dma_buf with the reservation lock held, map takes att->op_lock, and
 * the sync takes the list lock then op_lock, never the reservation lock, so
 * the orders cannot cross.
 *
 * vmap gives a kernel importer one virtually contiguous mapping.  vmap() maps
 * base pages only, so it costs 2 MiB of struct page pointers per GiB while it
 * is built and 2 MiB of page tables per GiB while it lives: a dma-buf beyond
 * HUGEDMA_VMAP_MAX is exported without the vmap op, so dma_buf_vmap() fails
 * (-EINVAL; NULL before 5.11) rather than building GBs of page tables.  An
 * op that refused instead would trip the core's WARN_ON_ONCE on a failed
 * vmap, a splat for what is a documented limit.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/fcntl.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "hugedma.h"

HUGEDMA_IMPORT_NS(DMA_BUF);

/* dmabuf->priv: which pages of which buffer, and the importers' attachments */
struct hugedma_dmabuf {
	struct hugedma_buffer *buf;	/* reference, and a dma-buf hold */
	unsigned long first, nr;	/* the range, in the buffer's pages */
	unsigned int shift;		/* the buffer's page shift */
	struct mutex lock;		/* @atts */
	struct list_head atts;		/* struct hugedma_dmabuf_att.node */
};

/* dma_buf_attachment->priv */
struct hugedma_dmabuf_att {
	struct list_head node;		/* hugedma_dmabuf.atts */
	struct hugedma_attachment *att;
};

static int hugedma_dmabuf_attach(struct dma_buf *dmabuf, struct dma_buf_attachment *attach)
{
	struct hugedma_dmabuf *hd = dmabuf->priv;
	struct hugedma_dmabuf_att *da;
	struct hugedma_attachment *att;
	char name[64];

	da = kzalloc(sizeof(*da), GFP_KERNEL);
	if (!da)
		return -ENOMEM;
	snprintf(name, sizeof(name), "%s-dmabuf%u", dev_name(attach->dev),
		 hugedma_buffer_next_dmabuf_seq(hd->buf));
	att = hugedma_att_create(hd->buf, attach->dev, name, DMA_BIDIRECTIONAL, true);
	if (IS_ERR(att)) {
		kfree(da);
		return PTR_ERR(att);
	}
	hugedma_att_set_range(att, hd->first, hd->nr);
	da->att = att;
	mutex_lock(&hd->lock);
	list_add_tail(&da->node, &hd->atts);
	mutex_unlock(&hd->lock);
	attach->priv = da;
	return 0;
}

static void hugedma_dmabuf_detach(struct dma_buf *dmabuf, struct dma_buf_attachment *attach)
{
	struct hugedma_dmabuf *hd = dmabuf->priv;
	struct hugedma_dmabuf_att *da = attach->priv;

	mutex_lock(&hd->lock);		/* a sync under way finishes with it first */
	list_del(&da->node);
	mutex_unlock(&hd->lock);
	hugedma_att_destroy(da->att);
	kfree(da);
}

static struct sg_table *hugedma_dmabuf_map(struct dma_buf_attachment *attach,
					   enum dma_data_direction dir)
{
	struct hugedma_dmabuf_att *da = attach->priv;
	int ret;

	ret = hugedma_att_set_dir(da->att, dir);
	if (!ret)
		ret = hugedma_att_map(da->att);
	if (ret < 0)
		return ERR_PTR(ret);
	return &da->att->sgt;
}

static void hugedma_dmabuf_unmap(struct dma_buf_attachment *attach, struct sg_table *sgt,
				 enum dma_data_direction dir)
{
	struct hugedma_dmabuf_att *da = attach->priv;

	hugedma_att_unmap(da->att);
}

/* Every mapped attachment of this dma-buf, for the CPU or for its device. */
static void hugedma_dmabuf_sync(struct dma_buf *dmabuf, bool for_cpu)
{
	struct hugedma_dmabuf *hd = dmabuf->priv;
	struct hugedma_dmabuf_att *da;

	mutex_lock(&hd->lock);
	list_for_each_entry(da, &hd->atts, node)
		hugedma_att_sync(da->att, for_cpu);
	mutex_unlock(&hd->lock);
}

static int hugedma_dmabuf_begin_cpu_access(struct dma_buf *dmabuf,
					   enum dma_data_direction dir)
{
	hugedma_dmabuf_sync(dmabuf, true);
	return 0;
}

static int hugedma_dmabuf_end_cpu_access(struct dma_buf *dmabuf,
					 enum dma_data_direction dir)
{
	hugedma_dmabuf_sync(dmabuf, false);
	return 0;
}

/*
 * The range's pages from offset 0 of the dma-buf: the mapping's offset
 * becomes one into the buffer's hugetlbfs file, whose mmap the VMA gets.
 */
static int hugedma_dmabuf_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct hugedma_dmabuf *hd = dmabuf->priv;
	unsigned int shift = hd->shift;
	unsigned long pgoff = vma->vm_pgoff;
	u64 off = (u64)pgoff << PAGE_SHIFT;
	u64 len = vma->vm_end - vma->vm_start;
	u64 size = (u64)hd->nr << shift;
	int ret;

	if (off > size || len > size - off)
		return -EINVAL;
	vma->vm_pgoff += hd->first << (shift - PAGE_SHIFT);
	ret = hugedma_buffer_mmap(hd->buf, vma);
	if (ret)
		vma->vm_pgoff = pgoff;
	return ret;
}

static void *hugedma_dmabuf_vmap_addr(struct dma_buf *dmabuf)
{
	struct hugedma_dmabuf *hd = dmabuf->priv;
	void *vaddr;

	vaddr = hugedma_pages_vmap(hd->buf->pages, hd->first, hd->nr);
	return vaddr ?: ERR_PTR(-ENOMEM);
}

static void hugedma_dmabuf_vunmap_addr(struct dma_buf *dmabuf, void *vaddr)
{
	vunmap(vaddr);
}

/* hugedma_dmabuf_vmap() and hugedma_dmabuf_vunmap(), as this kernel's ops take them */
HUGEDMA_DMA_BUF_VMAP_OPS(hugedma_dmabuf)

/* the last fd and importer are gone */
static void hugedma_dmabuf_release(struct dma_buf *dmabuf)
{
	struct hugedma_dmabuf *hd = dmabuf->priv;
	struct hugedma_buffer *buf = hd->buf;

	WARN_ON(!list_empty(&hd->atts));
	mutex_destroy(&hd->lock);
	kfree(hd);
	hugedma_buffer_release_hold(buf, HUGEDMA_USER_DMABUF);
	hugedma_buffer_put(buf);
}

static const struct dma_buf_ops hugedma_dmabuf_ops = {
	.attach = hugedma_dmabuf_attach,
	.detach = hugedma_dmabuf_detach,
	.map_dma_buf = hugedma_dmabuf_map,
	.unmap_dma_buf = hugedma_dmabuf_unmap,
	.begin_cpu_access = hugedma_dmabuf_begin_cpu_access,
	.end_cpu_access = hugedma_dmabuf_end_cpu_access,
	.mmap = hugedma_dmabuf_mmap,
	.vmap = hugedma_dmabuf_vmap,
	.vunmap = hugedma_dmabuf_vunmap,
	.release = hugedma_dmabuf_release,
};

/* the same, for a dma-buf larger than HUGEDMA_VMAP_MAX: no kernel mapping */
static const struct dma_buf_ops hugedma_dmabuf_ops_novmap = {
	.attach = hugedma_dmabuf_attach,
	.detach = hugedma_dmabuf_detach,
	.map_dma_buf = hugedma_dmabuf_map,
	.unmap_dma_buf = hugedma_dmabuf_unmap,
	.begin_cpu_access = hugedma_dmabuf_begin_cpu_access,
	.end_cpu_access = hugedma_dmabuf_end_cpu_access,
	.mmap = hugedma_dmabuf_mmap,
	.release = hugedma_dmabuf_release,
};

/*
 * [@offset, @offset + @length) of the enabled buffer in whole pages; @length
 * 0 runs to the end.  -EINVAL, with one rate-limited line, for a range that
 * is not whole pages, is empty, wraps or ends beyond the buffer.
 */
static int hugedma_dmabuf_range(struct hugedma_dmabuf *hd, u64 offset, u64 length)
{
	unsigned int shift = hugedma_buffer_page_shift(hd->buf);
	u64 size = hugedma_buffer_size(hd->buf);
	u64 mask = (1ULL << shift) - 1;

	if (!length && offset < size)
		length = size - offset;
	if ((offset | length) & mask || !length || offset >= size || length > size - offset) {
		pr_warn_ratelimited("%s: rejected export_range 'offset %#llx length %#llx of %#llx bytes in pages of %#llx': %pe\n",
				    hd->buf->name, offset, length, size, mask + 1,
				    ERR_PTR(-EINVAL));
		return -EINVAL;
	}
	hd->shift = shift;
	hd->first = offset >> shift;
	hd->nr = length >> shift;
	return 0;
}

/*
 * A dma-buf of @length bytes of the buffer from @offset (0 and 0: the whole
 * buffer) with the access mode in @flags, not yet installed in any fd table:
 * the caller installs its file, or drops it with dma_buf_put().
 */
struct dma_buf *hugedma_dmabuf_export(struct hugedma_buffer *buf, unsigned int flags,
				      u64 offset, u64 length)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct hugedma_dmabuf *hd;
	struct dma_buf *dmabuf;
	char *name;
	int ret;

	hd = kzalloc(sizeof(*hd), GFP_KERNEL);
	if (!hd)
		return ERR_PTR(-ENOMEM);
	mutex_init(&hd->lock);
	INIT_LIST_HEAD(&hd->atts);
	hd->buf = buf;
	ret = -ENOMEM;
	name = kstrdup(buf->name, GFP_KERNEL);
	if (!name)
		goto out_free_hd;
	ret = hugedma_buffer_hold(buf, HUGEDMA_USER_DMABUF);
	if (ret)
		goto out_free_name;
	hugedma_buffer_get(buf);
	/* held: enabled, so its size and page size stay what they are now */
	ret = hugedma_dmabuf_range(hd, offset, length);
	if (ret)
		goto out_release_hold;

	exp_info.size = (size_t)hd->nr << hd->shift;
	exp_info.ops = exp_info.size > HUGEDMA_VMAP_MAX ? &hugedma_dmabuf_ops_novmap :
			&hugedma_dmabuf_ops;
	exp_info.flags = flags & O_ACCMODE;
	exp_info.priv = hd;
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto out_release_hold;
	}
	/* the dma-buf owns hd, the hold and the reference from here: its release drops them */
	spin_lock(&dmabuf->name_lock);
	dmabuf->name = name;
	spin_unlock(&dmabuf->name_lock);
	return dmabuf;

out_release_hold:
	hugedma_buffer_release_hold(buf, HUGEDMA_USER_DMABUF);
	hugedma_buffer_put(buf);
out_free_name:
	kfree(name);
out_free_hd:
	mutex_destroy(&hd->lock);
	kfree(hd);
	return ERR_PTR(ret);
}
