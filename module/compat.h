/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hugedma: every difference between the kernels hugedma builds against
 * (Debian's 6.1, 6.12 and the newest) lives here, behind wrappers named for
 * what they do.  No other file tests LINUX_VERSION_CODE.
 *
 * None of these changes left a macro behind to test for, so they are tested
 * by version.  Each version is the mainline release that made the change
 * (checked against its merge, and against Debian's 6.1, 6.12 and 7.2 headers).
 */
#ifndef HUGEDMA_COMPAT_H
#define HUGEDMA_COMPAT_H

#include <linux/cred.h>
#include <linux/device.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/version.h>
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#include <linux/mnt_idmapping.h>
#endif

/*
 * An unlinked regular file on a kernel-internal mount (vfs_tmpfile_open() in
 * 6.1, 6.3 idmap, 6.5 rename; before 6.1 a tmpfile dentry, opened here).
 */
static inline struct file *hugedma_tmpfile_open(const struct path *root)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	return kernel_tmpfile_open(&nop_mnt_idmap, root, S_IFREG | 0600,
				   O_RDWR | O_LARGEFILE, current_cred());
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	return vfs_tmpfile_open(&nop_mnt_idmap, root, S_IFREG | 0600,
				O_RDWR | O_LARGEFILE, current_cred());
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 1, 0)
	return vfs_tmpfile_open(&init_user_ns, root, S_IFREG | 0600,
				O_RDWR | O_LARGEFILE, current_cred());
#else
	struct path path = { .mnt = root->mnt };
	struct file *file;

#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 12, 0)
	path.dentry = vfs_tmpfile(&init_user_ns, root->dentry, S_IFREG | 0600, O_RDWR);
#else
	path.dentry = vfs_tmpfile(root->dentry, S_IFREG | 0600, O_RDWR);
#endif
	if (IS_ERR(path.dentry))
		return ERR_CAST(path.dentry);
	file = dentry_open(&path, O_RDWR | O_LARGEFILE, current_cred());
	dput(path.dentry);
	return file;
#endif
}

/* A string mount parameter (the length argument went away in 6.18). */
static inline int hugedma_fs_param(struct fs_context *fc, const char *key,
				   const char *value)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 18, 0)
	return vfs_parse_fs_string(fc, key, value);
#else
	return vfs_parse_fs_string(fc, key, value, strlen(value));
#endif
}

/*
 * Pin the page at @addr of @mm long-term (FOLL_LONGTERM: never in ZONE_MOVABLE
 * or CMA), faulting it in for reading if need be; the caller holds @mm's mmap
 * lock for reading.  1 on success.  The vmas argument went away in 6.5.
 */
static inline long hugedma_pin_remote(struct mm_struct *mm, unsigned long addr,
				      struct page **page)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	return pin_user_pages_remote(mm, addr, 1, FOLL_LONGTERM, page, NULL);
#else
	return pin_user_pages_remote(mm, addr, 1, FOLL_LONGTERM, page, NULL, NULL);
#endif
}

/* VMA flags are set through vm_flags_set() from 6.3; the mmap lock is held for writing. */
static inline void hugedma_vma_set_flags(struct vm_area_struct *vma, unsigned long flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/* class_create() lost its owner argument in 6.4. */
static inline struct class *hugedma_class_create(const char *name)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
	return class_create(name);
#else
	return class_create(THIS_MODULE, name);
#endif
}

/* struct class::devnode takes a const device from 6.2. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define HUGEDMA_DEVNODE_CONST const
#else
#define HUGEDMA_DEVNODE_CONST
#endif

/* sysfs binary attributes (callbacks and group arrays) are const from 6.16. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 16, 0)
#define HUGEDMA_BIN_ATTR_CONST const
#else
#define HUGEDMA_BIN_ATTR_CONST
#endif

/* Symbol namespaces are strings from 6.13. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define HUGEDMA_EXPORT(sym)	EXPORT_SYMBOL_NS_GPL(sym, "HUGEDMA")
#define HUGEDMA_IMPORT_NS(ns)	MODULE_IMPORT_NS(#ns)
#else
#define HUGEDMA_EXPORT(sym)	EXPORT_SYMBOL_NS_GPL(sym, HUGEDMA)
#define HUGEDMA_IMPORT_NS(ns)	MODULE_IMPORT_NS(ns)
#endif

/* dma_set_max_seg_size() returns nothing from 6.12 (it WARNs without dma_parms). */
static inline int hugedma_set_max_seg_size(struct device *dev, unsigned int size)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	if (!dev->dma_parms)
		return -EIO;
	dma_set_max_seg_size(dev, size);
	return 0;
#else
	return dma_set_max_seg_size(dev, size);
#endif
}

/* dma-buf importers: the _unlocked map/unmap variants appeared in 6.2. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define hugedma_dma_buf_map(attach, dir)	dma_buf_map_attachment_unlocked(attach, dir)
#define hugedma_dma_buf_unmap(attach, sgt, dir)	dma_buf_unmap_attachment_unlocked(attach, sgt, dir)
#else
#define hugedma_dma_buf_map(attach, dir)	dma_buf_map_attachment(attach, dir)
#define hugedma_dma_buf_unmap(attach, sgt, dir)	dma_buf_unmap_attachment(attach, sgt, dir)
#endif

/*
 * dma-buf vmap.  An exporter's op fills a struct dma_buf_map from 5.11
 * (renamed struct iosys_map in 5.18); 5.10's returns the address, NULL on
 * failure (so an importer learns no errno there).
 * HUGEDMA_DMA_BUF_VMAP_OPS(prefix) defines the ops prefix_vmap and
 * prefix_vunmap over prefix_vmap_addr() (returns the address or an ERR_PTR)
 * and prefix_vunmap_addr() (takes it back).  An importer maps with
 * hugedma_dma_buf_vmap() (the address or an ERR_PTR; _unlocked from 6.2,
 * when dma_buf_vmap() came to need the reservation lock held) and unmaps
 * with hugedma_dma_buf_vunmap().
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 18, 0)
#include <linux/iosys-map.h>
#define hugedma_vmap_map		iosys_map
#define hugedma_vmap_map_set_vaddr	iosys_map_set_vaddr
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(5, 11, 0)
#include <linux/dma-buf-map.h>
#define hugedma_vmap_map		dma_buf_map
#define hugedma_vmap_map_set_vaddr	dma_buf_map_set_vaddr
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 11, 0)
#define HUGEDMA_DMA_BUF_VMAP_OPS(prefix)						\
static int prefix##_vmap(struct dma_buf *dmabuf, struct hugedma_vmap_map *map)		\
{											\
	void *vaddr = prefix##_vmap_addr(dmabuf);					\
											\
	if (IS_ERR(vaddr))								\
		return PTR_ERR(vaddr);							\
	hugedma_vmap_map_set_vaddr(map, vaddr);						\
	return 0;									\
}											\
static void prefix##_vunmap(struct dma_buf *dmabuf, struct hugedma_vmap_map *map)	\
{											\
	prefix##_vunmap_addr(dmabuf, map->vaddr);					\
}

static inline void *hugedma_dma_buf_vmap(struct dma_buf *dmabuf)
{
	struct hugedma_vmap_map map;
	int ret;

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	ret = dma_buf_vmap_unlocked(dmabuf, &map);
#else
	ret = dma_buf_vmap(dmabuf, &map);
#endif
	return ret ? ERR_PTR(ret) : map.vaddr;
}

static inline void hugedma_dma_buf_vunmap(struct dma_buf *dmabuf, void *vaddr)
{
	struct hugedma_vmap_map map;

	hugedma_vmap_map_set_vaddr(&map, vaddr);
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	dma_buf_vunmap_unlocked(dmabuf, &map);
#else
	dma_buf_vunmap(dmabuf, &map);
#endif
}
#else
#define HUGEDMA_DMA_BUF_VMAP_OPS(prefix)						\
static void *prefix##_vmap(struct dma_buf *dmabuf)					\
{											\
	void *vaddr = prefix##_vmap_addr(dmabuf);					\
											\
	return IS_ERR(vaddr) ? NULL : vaddr;						\
}											\
static void prefix##_vunmap(struct dma_buf *dmabuf, void *vaddr)			\
{											\
	prefix##_vunmap_addr(dmabuf, vaddr);						\
}

static inline void *hugedma_dma_buf_vmap(struct dma_buf *dmabuf)
{
	return dma_buf_vmap(dmabuf) ?: ERR_PTR(-ENOMEM);
}

static inline void hugedma_dma_buf_vunmap(struct dma_buf *dmabuf, void *vaddr)
{
	dma_buf_vunmap(dmabuf, vaddr);
}
#endif

/*
 * Before folios (5.16): a hugetlb page is a compound page named by its head,
 * which a struct folio overlays exactly as the later kernels' does, so the
 * folio calls hugedma makes are those of the head page.  Only 5.10 and 6.1 on
 * are built and tested; the releases between are not claimed.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 16, 0)
struct folio {
	struct page page;
};

static inline struct folio *page_folio(struct page *page)
{
	return (struct folio *)compound_head(page);
}

static inline struct page *folio_page(struct folio *folio, unsigned long n)
{
	return nth_page(&folio->page, n);
}

static inline unsigned long folio_pfn(struct folio *folio)
{
	return page_to_pfn(&folio->page);
}

static inline int folio_nid(struct folio *folio)
{
	return page_to_nid(&folio->page);
}

static inline size_t folio_size(struct folio *folio)
{
	return page_size(&folio->page);
}

static inline unsigned int folio_shift(struct folio *folio)
{
	return PAGE_SHIFT + compound_order(&folio->page);
}

static inline bool folio_test_hugetlb(struct folio *folio)
{
	return PageHuge(&folio->page);
}

static inline bool folio_maybe_dma_pinned(struct folio *folio)
{
	return page_maybe_dma_pinned(&folio->page);
}

static inline enum zone_type folio_zonenum(struct folio *folio)
{
	return page_zonenum(&folio->page);
}
#endif

/* The VMA at @addr, or NULL (vma_lookup() from 5.14). */
#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 14, 0)
static inline struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	return vma && addr >= vma->vm_start ? vma : NULL;
}
#endif

/* A kthread's last act: complete @comp and exit (renamed in 5.17). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 17, 0)
#define hugedma_complete_and_exit(comp, code)	kthread_complete_and_exit(comp, code)
#else
#define hugedma_complete_and_exit(comp, code)	complete_and_exit(comp, code)
#endif

/* Back off before retrying an allocation (memalloc_retry_wait() from 5.17). */
static inline void hugedma_retry_wait(void)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 17, 0)
	memalloc_retry_wait(GFP_KERNEL);
#else
	schedule_timeout_uninterruptible(1);
#endif
}

/* Make @file the VMA's file (vma_set_file() from 5.11). */
static inline void hugedma_vma_set_file(struct vm_area_struct *vma, struct file *file)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 11, 0)
	vma_set_file(vma, file);
#else
	get_file(file);
	swap(vma->vm_file, file);
	fput(file);
#endif
}

/* Root-only binary sysfs attributes: the helper macro came after 5.10. */
#ifndef BIN_ATTR_ADMIN_RO
#define BIN_ATTR_ADMIN_RO(_name, _size)					\
struct bin_attribute bin_attr_##_name = {				\
	.attr	= { .name = __stringify(_name), .mode = 0400 },		\
	.read	= _name##_read,						\
	.size	= _size,						\
}
#endif

/* kobject types are passed as const pointers on 6.1 (not on 5.10). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 1, 0)
#define HUGEDMA_KTYPE_CONST const
#else
#define HUGEDMA_KTYPE_CONST
#endif

/*
 * A driver that manages its device's DMA itself (vfio-pci): from 5.19 it says
 * so in struct pci_driver; before, vfio-pci is known by name.
 */
static inline bool hugedma_driver_manages_dma(struct device_driver *drv)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 19, 0)
	return to_pci_driver(drv)->driver_managed_dma;
#else
	return !strcmp(drv->name, "vfio-pci");
#endif
}

/*
 * Flush a lazily invalidating DMA domain's IOTLB after an unmap.  From 5.15 a
 * lazy domain says so (__IOMMU_DOMAIN_DMA_FQ) and iommu_flush_iotlb_all()
 * drains it.  Before, intel-iommu keeps a flush queue of its own (drained
 * within 10 ms, or at once with intel_iommu=strict) that no attribute reports
 * and no exported call drains: false there, and the caller says so.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 15, 0)
#define HUGEDMA_CAN_FLUSH_LAZY_IOTLB	true
static inline void hugedma_iommu_flush_lazy(struct iommu_domain *domain)
{
	if (domain && (domain->type & __IOMMU_DOMAIN_DMA_FQ))
		iommu_flush_iotlb_all(domain);
}
#else
#define HUGEDMA_CAN_FLUSH_LAZY_IOTLB	false
static inline void hugedma_iommu_flush_lazy(struct iommu_domain *domain)
{
}
#endif

/*
 * dma_map_sgtable() returns the map's own error from 5.16 (-ENOMEM when no
 * IOVA range was found); before, any failure of the map is -EINVAL (from
 * dma_map_sg()'s 0), an IOVA allocation's included.
 */
static inline bool hugedma_dma_map_no_space(int err)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 16, 0)
	return err == -ENOMEM;
#else
	return err == -ENOMEM || err == -EINVAL;
#endif
}

#endif /* HUGEDMA_COMPAT_H */
