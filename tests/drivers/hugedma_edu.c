// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma_edu: a test consumer of hugedma buffers, driving QEMU's edu DMA
 * engine (PCI 1234:11e8).  Loaded only in tests.  It DMAs buffer bytes into
 * edu's 4 KB window and back out to another place, three ways: through the
 * in-kernel API, through a dma-buf fd, and at raw bus addresses that user
 * space read from sysfs.
 *
 * edu: BAR0 0x80 source, 0x88 destination, 0x90 count, 0x98 command (bit 0
 * start, bit 1 edu-to-RAM); its buffer is at device address 0x40000.  QEMU 7.2
 * aborts on a transfer of 4096 bytes or out of 0x40000..0x40fff.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/hugedma.h>
#include <linux/iopoll.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "../../module/compat.h"
#include "hugedma_edu.h"

HUGEDMA_IMPORT_NS(HUGEDMA);
HUGEDMA_IMPORT_NS(DMA_BUF);

#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_COUNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_CMD_START	0x1
#define EDU_CMD_TO_RAM	0x2
#define EDU_BUF		0x40000
#define EDU_BUF_MAX	4095
#define EDU_DMABUF_HELD	4

struct hugedma_edu {
	struct pci_dev *pdev;
	void __iomem *regs;
	struct mutex lock;		/* the engine, and the held mapping */
	struct hugedma_buffer *held;
	struct sg_table *held_sgt;
	/* dma-buf mappings held from DMABUF_ATTACH to DMABUF_DETACH */
	struct dma_buf_attachment *dmabuf_att[EDU_DMABUF_HELD];
	struct sg_table *dmabuf_sgt[EDU_DMABUF_HELD];
	enum dma_data_direction dmabuf_dir[EDU_DMABUF_HELD];
	unsigned int dmabuf_nr;
	/* benchmarks: coherent chunks */
	void **co_cpu;
	dma_addr_t *co_dma;
	unsigned long co_nr;
	size_t co_chunk;
	atomic_t co_maps;		/* user mappings of the chunks: no free */
};

static struct hugedma_edu *edu_dev;	/* one edu per guest */
static DEFINE_MUTEX(edu_dev_lock);

/*
 * The DMA limits probe sets (the tests of attachments that wait for a driver
 * change them before a bind; SET_DMA and SET_BOUNDARY change them while bound).
 */
static unsigned int dma_bits = 64;
module_param(dma_bits, uint, 0644);
MODULE_PARM_DESC(dma_bits, "DMA mask width set at probe (default 64)");
static unsigned int max_seg_size = SZ_1G;
module_param(max_seg_size, uint, 0644);
MODULE_PARM_DESC(max_seg_size, "max segment size set at probe (default 1 GiB)");
static unsigned long seg_boundary;
module_param(seg_boundary, ulong, 0644);
MODULE_PARM_DESC(seg_boundary, "segment boundary mask set at probe (default 0: PCI's, 4 GiB)");

static int edu_set_boundary(struct pci_dev *pdev, unsigned long mask)
{
	if (!pdev->dev.dma_parms)
		return -EIO;
	dma_set_seg_boundary(&pdev->dev, mask);	/* returns nothing from 6.12 */
	return 0;
}

static int edu_dma(struct hugedma_edu *edu, u64 src, u64 dst, u32 len, bool to_ram)
{
	u64 cmd;

	writeq(src, edu->regs + EDU_DMA_SRC);
	writeq(dst, edu->regs + EDU_DMA_DST);
	writeq(len, edu->regs + EDU_DMA_COUNT);
	writeq(EDU_CMD_START | (to_ram ? EDU_CMD_TO_RAM : 0), edu->regs + EDU_DMA_CMD);
	return readq_poll_timeout(edu->regs + EDU_DMA_CMD, cmd, !(cmd & EDU_CMD_START),
				  1000, 5 * USEC_PER_SEC);
}

/* bytes at bus address src -> edu -> bus address dst */
static int edu_round_trip(struct hugedma_edu *edu, u64 src, u64 dst, u32 len)
{
	int ret;

	if (!len || len > EDU_BUF_MAX)
		return -EINVAL;
	ret = edu_dma(edu, src, EDU_BUF, len, false);
	if (!ret)
		ret = edu_dma(edu, EDU_BUF, dst, len, true);
	return ret;
}

/* The bus address of [off, off + len) if one DMA segment holds it all. */
static int edu_sgt_addr(struct sg_table *sgt, u64 off, u32 len, u64 *dma)
{
	struct scatterlist *sg;
	u64 pos = 0;
	int i;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		if (off >= pos && off + len <= pos + sg_dma_len(sg)) {
			*dma = sg_dma_address(sg) + (off - pos);
			return 0;
		}
		pos += sg_dma_len(sg);
	}
	return -ERANGE;
}

static int edu_xfer_sgt(struct hugedma_edu *edu, struct sg_table *sgt,
			struct hugedma_edu_xfer *x)
{
	int ret;

	ret = edu_sgt_addr(sgt, x->src, x->len, &x->src_dma);
	if (!ret)
		ret = edu_sgt_addr(sgt, x->dst, x->len, &x->dst_dma);
	if (!ret)
		ret = edu_round_trip(edu, x->src_dma, x->dst_dma, x->len);
	return ret;
}

static int edu_kapi(struct hugedma_edu *edu, struct hugedma_edu_xfer *x)
{
	struct hugedma_buffer *buf;
	struct sg_table *sgt;
	int ret;

	buf = hugedma_get(x->name);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	sgt = hugedma_map(buf, &edu->pdev->dev, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
		goto out_put;
	}
	ret = edu_xfer_sgt(edu, sgt, x);
	hugedma_unmap(buf, sgt);
out_put:
	hugedma_put(buf);
	return ret;
}

/* Attach dma-buf @fd to edu and map it; edu_dmabuf_unmap() undoes it all. */
static struct sg_table *edu_dmabuf_map(struct hugedma_edu *edu, int fd,
				       enum dma_data_direction dir,
				       struct dma_buf_attachment **attachp)
{
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;

	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf))
		return ERR_CAST(dmabuf);
	attach = dma_buf_attach(dmabuf, &edu->pdev->dev);
	if (IS_ERR(attach)) {
		sgt = ERR_CAST(attach);
		goto out_put;
	}
	sgt = hugedma_dma_buf_map(attach, dir);
	if (IS_ERR(sgt))
		goto out_detach;
	*attachp = attach;
	return sgt;

out_detach:
	dma_buf_detach(dmabuf, attach);
out_put:
	dma_buf_put(dmabuf);
	return sgt;
}

static void edu_dmabuf_unmap(struct dma_buf_attachment *attach, struct sg_table *sgt,
			     enum dma_data_direction dir)
{
	struct dma_buf *dmabuf = attach->dmabuf;

	hugedma_dma_buf_unmap(attach, sgt, dir);
	dma_buf_detach(dmabuf, attach);
	dma_buf_put(dmabuf);
}

static int edu_dmabuf(struct hugedma_edu *edu, struct hugedma_edu_xfer *x)
{
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;
	int ret;

	sgt = edu_dmabuf_map(edu, x->fd, DMA_BIDIRECTIONAL, &attach);
	if (IS_ERR(sgt))
		return PTR_ERR(sgt);
	ret = edu_xfer_sgt(edu, sgt, x);
	edu_dmabuf_unmap(attach, sgt, DMA_BIDIRECTIONAL);
	return ret;
}

static int edu_dmabuf_attach(struct hugedma_edu *edu, const s32 *arg)
{
	enum dma_data_direction dir = arg[1];
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;

	if (edu->dmabuf_nr == EDU_DMABUF_HELD)
		return -EBUSY;
	if (!valid_dma_direction(dir))
		return -EINVAL;
	sgt = edu_dmabuf_map(edu, arg[0], dir, &attach);
	if (IS_ERR(sgt))
		return PTR_ERR(sgt);
	edu->dmabuf_att[edu->dmabuf_nr] = attach;
	edu->dmabuf_sgt[edu->dmabuf_nr] = sgt;
	edu->dmabuf_dir[edu->dmabuf_nr] = dir;
	edu->dmabuf_nr++;
	return 0;
}

static void edu_dmabuf_detach_all(struct hugedma_edu *edu)
{
	while (edu->dmabuf_nr) {
		unsigned int i = --edu->dmabuf_nr;

		edu_dmabuf_unmap(edu->dmabuf_att[i], edu->dmabuf_sgt[i], edu->dmabuf_dir[i]);
	}
}

static int edu_dmabuf_xfer(struct hugedma_edu *edu, struct hugedma_edu_xfer *x)
{
	if (!edu->dmabuf_nr)
		return -ENOENT;
	return edu_xfer_sgt(edu, edu->dmabuf_sgt[0], x);
}

/* A kernel importer's CPU access: vmap, begin, copy, end, vunmap. */
static int edu_vmap(struct hugedma_edu_vmap *v)
{
	enum dma_data_direction dir = v->write ? DMA_TO_DEVICE : DMA_FROM_DEVICE;
	void __user *data = u64_to_user_ptr(v->data);
	struct dma_buf *dmabuf;
	void *vaddr;
	int ret;

	dmabuf = dma_buf_get(v->fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	ret = -EINVAL;
	if (v->offset > dmabuf->size || v->len > dmabuf->size - v->offset)
		goto out_put;
	vaddr = hugedma_dma_buf_vmap(dmabuf);
	if (IS_ERR(vaddr)) {
		ret = PTR_ERR(vaddr);
		goto out_put;
	}
	ret = dma_buf_begin_cpu_access(dmabuf, dir);
	if (ret)
		goto out_vunmap;
	if (v->write)
		ret = copy_from_user(vaddr + v->offset, data, v->len) ? -EFAULT : 0;
	else
		ret = copy_to_user(data, vaddr + v->offset, v->len) ? -EFAULT : 0;
	dma_buf_end_cpu_access(dmabuf, dir);
out_vunmap:
	hugedma_dma_buf_vunmap(dmabuf, vaddr);
out_put:
	dma_buf_put(dmabuf);
	return ret;
}

static void edu_release_held(struct hugedma_edu *edu)
{
	if (edu->held) {
		hugedma_unmap(edu->held, edu->held_sgt);
		hugedma_put(edu->held);
		edu->held = NULL;
	}
}

static int edu_hold(struct hugedma_edu *edu, struct hugedma_edu_xfer *x)
{
	struct hugedma_buffer *buf;
	struct sg_table *sgt;

	if (edu->held)
		return -EBUSY;
	buf = hugedma_get(x->name);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	sgt = hugedma_map(buf, &edu->pdev->dev, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		hugedma_put(buf);
		return PTR_ERR(sgt);
	}
	edu->held = buf;
	edu->held_sgt = sgt;
	return 0;
}

static void edu_coherent_free(struct hugedma_edu *edu)
{
	unsigned long i;

	if (WARN_ON(atomic_read(&edu->co_maps)))	/* unbind with a mapping: leak */
		return;
	for (i = 0; i < edu->co_nr; i++)
		dma_free_coherent(&edu->pdev->dev, edu->co_chunk, edu->co_cpu[i], edu->co_dma[i]);
	kvfree(edu->co_cpu);
	kvfree(edu->co_dma);
	edu->co_cpu = NULL;
	edu->co_dma = NULL;
	edu->co_nr = 0;
}

/* the pfn of byte @off of chunk @i (behind an IOMMU the chunk may be vmapped pages) */
static unsigned long edu_coherent_pfn(struct hugedma_edu *edu, unsigned long i, size_t off)
{
	void *p = edu->co_cpu[i] + off;

	return is_vmalloc_addr(p) ? vmalloc_to_pfn(p) : PHYS_PFN(virt_to_phys(p));
}

static unsigned long edu_coherent_runs(struct hugedma_edu *edu)
{
	unsigned long i, runs = 0, prev = 0;
	size_t off;

	for (i = 0; i < edu->co_nr; i++) {
		for (off = 0; off < edu->co_chunk; off += PAGE_SIZE) {
			unsigned long pfn = edu_coherent_pfn(edu, i, off);

			if (!runs || pfn != prev + 1)
				runs++;
			prev = pfn;
		}
		cond_resched();
	}
	return runs;
}

static int edu_coherent_alloc(struct hugedma_edu *edu, struct hugedma_edu_coherent *c)
{
	unsigned long nr, i;

	if (edu->co_nr)
		return -EBUSY;
	if (!c->chunk || !is_power_of_2(c->chunk) || c->chunk < PAGE_SIZE ||
	    !c->total || c->total % c->chunk)
		return -EINVAL;
	nr = c->total / c->chunk;
	edu->co_cpu = kvcalloc(nr, sizeof(*edu->co_cpu), GFP_KERNEL);
	edu->co_dma = kvcalloc(nr, sizeof(*edu->co_dma), GFP_KERNEL);
	if (!edu->co_cpu || !edu->co_dma) {
		edu_coherent_free(edu);
		return -ENOMEM;
	}
	edu->co_chunk = c->chunk;
	for (i = 0; i < nr; i++) {
		edu->co_cpu[i] = dma_alloc_coherent(&edu->pdev->dev, c->chunk, &edu->co_dma[i],
						    GFP_KERNEL | __GFP_NOWARN);
		if (!edu->co_cpu[i]) {
			edu_coherent_free(edu);
			return -ENOMEM;
		}
		edu->co_nr++;
		if (fatal_signal_pending(current)) {
			edu_coherent_free(edu);
			return -EINTR;
		}
	}
	c->nr_chunks = nr;
	c->nr_phys_runs = edu_coherent_runs(edu);
	return 0;
}

static void edu_vma_open(struct vm_area_struct *vma)
{
	struct hugedma_edu *edu = vma->vm_private_data;

	atomic_inc(&edu->co_maps);
}

static void edu_vma_close(struct vm_area_struct *vma)
{
	struct hugedma_edu *edu = vma->vm_private_data;

	atomic_dec(&edu->co_maps);
}

static const struct vm_operations_struct edu_vm_ops = {
	.open = edu_vma_open,
	.close = edu_vma_close,
};

/* The chunks end to end, PTEs built now, as dma_mmap_coherent() does. */
static int edu_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct hugedma_edu *edu;
	unsigned long addr = vma->vm_start, i, start = 0, n = 0, pfn;
	size_t off;
	int ret = 0;

	mutex_lock(&edu_dev_lock);
	edu = edu_dev;
	if (!edu) {
		mutex_unlock(&edu_dev_lock);
		return -ENODEV;
	}
	mutex_lock(&edu->lock);
	if (vma->vm_pgoff || vma->vm_end - vma->vm_start != edu->co_nr * edu->co_chunk) {
		ret = -EINVAL;
		goto out_unlock;
	}
	/* one remap_pfn_range() per physically contiguous run */
	for (i = 0; i < edu->co_nr && !ret; i++) {
		for (off = 0; off < edu->co_chunk; off += PAGE_SIZE) {
			pfn = edu_coherent_pfn(edu, i, off);
			if (n && pfn == start + n) {
				n++;
				continue;
			}
			if (n) {
				ret = remap_pfn_range(vma, addr, start, n << PAGE_SHIFT,
						      vma->vm_page_prot);
				if (ret)
					break;
				addr += n << PAGE_SHIFT;
			}
			start = pfn;
			n = 1;
		}
	}
	if (!ret && n)
		ret = remap_pfn_range(vma, addr, start, n << PAGE_SHIFT, vma->vm_page_prot);
	if (!ret) {
		vma->vm_private_data = edu;
		vma->vm_ops = &edu_vm_ops;
		edu_vma_open(vma);
	}
out_unlock:
	mutex_unlock(&edu->lock);
	mutex_unlock(&edu_dev_lock);
	return ret;
}

/* The number of DMA segments of a dma-buf mapped for edu. */
static int edu_dmabuf_segs(struct hugedma_edu *edu, u64 *arg)
{
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;

	sgt = edu_dmabuf_map(edu, arg[0], DMA_BIDIRECTIONAL, &attach);
	if (IS_ERR(sgt))
		return PTR_ERR(sgt);
	arg[1] = sgt->nents;
	edu_dmabuf_unmap(attach, sgt, DMA_BIDIRECTIONAL);
	return 0;
}

static long edu_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct hugedma_edu_coherent co;
	struct hugedma_edu_vmap vm;
	struct hugedma_edu_xfer x;
	struct hugedma_edu *edu;
	s32 att[2];
	u64 dma[2];
	int ret;

	mutex_lock(&edu_dev_lock);
	edu = edu_dev;
	if (!edu) {
		mutex_unlock(&edu_dev_lock);
		return -ENODEV;
	}
	mutex_lock(&edu->lock);
	if (cmd == HUGEDMA_EDU_RELEASE) {
		edu_release_held(edu);
		ret = 0;
		goto out_unlock;
	}
	if (cmd == HUGEDMA_EDU_DMABUF_DETACH) {
		edu_dmabuf_detach_all(edu);
		ret = 0;
		goto out_unlock;
	}
	if (cmd == HUGEDMA_EDU_DMABUF_ATTACH) {
		ret = -EFAULT;
		if (!copy_from_user(att, (void __user *)arg, sizeof(att)))
			ret = edu_dmabuf_attach(edu, att);
		goto out_unlock;
	}
	if (cmd == HUGEDMA_EDU_VMAP) {
		ret = -EFAULT;
		if (!copy_from_user(&vm, (void __user *)arg, sizeof(vm)))
			ret = edu_vmap(&vm);
		goto out_unlock;
	}
	if (cmd == HUGEDMA_EDU_COHERENT_FREE) {
		ret = atomic_read(&edu->co_maps) ? -EBUSY : 0;
		if (!ret)
			edu_coherent_free(edu);
		goto out_unlock;
	}
	if (cmd == HUGEDMA_EDU_COHERENT_ALLOC) {
		ret = -EFAULT;
		if (copy_from_user(&co, (void __user *)arg, sizeof(co)))
			goto out_unlock;
		ret = edu_coherent_alloc(edu, &co);
		if (!ret && copy_to_user((void __user *)arg, &co, sizeof(co)))
			ret = -EFAULT;
		goto out_unlock;
	}
	if (cmd == HUGEDMA_EDU_DMABUF_SEGS) {
		ret = -EFAULT;
		if (copy_from_user(dma, (void __user *)arg, sizeof(dma)))
			goto out_unlock;
		ret = edu_dmabuf_segs(edu, dma);
		if (!ret && copy_to_user((void __user *)arg, dma, sizeof(dma)))
			ret = -EFAULT;
		goto out_unlock;
	}
	if (cmd == HUGEDMA_EDU_SET_BOUNDARY) {
		ret = -EFAULT;
		if (!copy_from_user(dma, (void __user *)arg, sizeof(dma[0])))
			ret = edu_set_boundary(edu->pdev, dma[0]);
		goto out_unlock;
	}
	if (cmd == HUGEDMA_EDU_SET_DMA) {
		ret = -EFAULT;
		if (copy_from_user(dma, (void __user *)arg, sizeof(dma)))
			goto out_unlock;
		ret = dma_set_mask_and_coherent(&edu->pdev->dev, DMA_BIT_MASK(dma[0]));
		if (!ret)
			ret = hugedma_set_max_seg_size(&edu->pdev->dev, dma[1]);
		goto out_unlock;
	}
	ret = -EFAULT;
	if (copy_from_user(&x, (void __user *)arg, sizeof(x)))
		goto out_unlock;
	x.name[sizeof(x.name) - 1] = '\0';
	switch (cmd) {
	case HUGEDMA_EDU_RAW:
		ret = edu_round_trip(edu, x.src, x.dst, x.len);
		break;
	case HUGEDMA_EDU_READ:
		ret = x.len && x.len <= EDU_BUF_MAX ? edu_dma(edu, x.src, EDU_BUF, x.len, false) :
			-EINVAL;
		break;
	case HUGEDMA_EDU_WRITE:
		ret = x.len && x.len <= EDU_BUF_MAX ? edu_dma(edu, EDU_BUF, x.dst, x.len, true) :
			-EINVAL;
		break;
	case HUGEDMA_EDU_KAPI:
		ret = edu_kapi(edu, &x);
		break;
	case HUGEDMA_EDU_DMABUF:
		ret = edu_dmabuf(edu, &x);
		break;
	case HUGEDMA_EDU_DMABUF_XFER:
		ret = edu_dmabuf_xfer(edu, &x);
		break;
	case HUGEDMA_EDU_HOLD:
		ret = edu_hold(edu, &x);
		break;
	default:
		ret = -ENOTTY;
	}
	if (!ret && _IOC_DIR(cmd) & _IOC_READ && copy_to_user((void __user *)arg, &x, sizeof(x)))
		ret = -EFAULT;
out_unlock:
	mutex_unlock(&edu->lock);
	mutex_unlock(&edu_dev_lock);
	return ret;
}

static const struct file_operations edu_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = edu_ioctl,
	.mmap = edu_mmap,
};

static struct miscdevice edu_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "hugedma-edu",
	.mode = 0600,
	.fops = &edu_fops,
};

static int edu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct hugedma_edu *edu;
	int ret;

	edu = devm_kzalloc(&pdev->dev, sizeof(*edu), GFP_KERNEL);
	if (!edu)
		return -ENOMEM;
	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = pcim_iomap_regions(pdev, BIT(0), KBUILD_MODNAME);
	if (ret)
		return ret;
	pci_set_master(pdev);
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(clamp(dma_bits, 12U, 64U)));
	if (ret)
		return ret;
	/* a scatter-gather engine would take long segments; PCI's default is 64 KB */
	ret = hugedma_set_max_seg_size(&pdev->dev, max_seg_size);
	if (!ret && seg_boundary)
		ret = edu_set_boundary(pdev, seg_boundary);
	if (ret)
		return ret;
	edu->pdev = pdev;
	edu->regs = pcim_iomap_table(pdev)[0];
	mutex_init(&edu->lock);
	pci_set_drvdata(pdev, edu);

	mutex_lock(&edu_dev_lock);
	if (edu_dev) {
		mutex_unlock(&edu_dev_lock);
		return -EBUSY;
	}
	edu_dev = edu;
	mutex_unlock(&edu_dev_lock);
	return 0;
}

static void edu_remove(struct pci_dev *pdev)
{
	struct hugedma_edu *edu = pci_get_drvdata(pdev);

	mutex_lock(&edu_dev_lock);
	if (edu_dev == edu)
		edu_dev = NULL;
	mutex_unlock(&edu_dev_lock);
	mutex_lock(&edu->lock);
	edu_release_held(edu);
	edu_dmabuf_detach_all(edu);
	edu_coherent_free(edu);
	mutex_unlock(&edu->lock);
}

static const struct pci_device_id edu_ids[] = {
	{ PCI_DEVICE(0x1234, 0x11e8) },
	{ }
};
MODULE_DEVICE_TABLE(pci, edu_ids);

static struct pci_driver edu_driver = {
	.name = KBUILD_MODNAME,
	.id_table = edu_ids,
	.probe = edu_probe,
	.remove = edu_remove,
};

static int __init edu_init(void)
{
	int ret;

	ret = misc_register(&edu_misc);
	if (ret)
		return ret;
	ret = pci_register_driver(&edu_driver);
	if (ret)
		misc_deregister(&edu_misc);
	return ret;
}

static void __exit edu_exit(void)
{
	pci_unregister_driver(&edu_driver);
	misc_deregister(&edu_misc);
}

module_init(edu_init);
module_exit(edu_exit);

MODULE_DESCRIPTION("hugedma test consumer for QEMU's edu DMA device");
MODULE_LICENSE("GPL");
