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
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/mm.h>
#include <linux/mnt_idmapping.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/version.h>

/* An unlinked regular file on a kernel-internal mount (6.3 idmap, 6.5 rename). */
static inline struct file *hugedma_tmpfile_open(const struct path *root)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	return kernel_tmpfile_open(&nop_mnt_idmap, root, S_IFREG | 0600,
				   O_RDWR | O_LARGEFILE, current_cred());
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	return vfs_tmpfile_open(&nop_mnt_idmap, root, S_IFREG | 0600,
				O_RDWR | O_LARGEFILE, current_cred());
#else
	return vfs_tmpfile_open(&init_user_ns, root, S_IFREG | 0600,
				O_RDWR | O_LARGEFILE, current_cred());
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

#endif /* HUGEDMA_COMPAT_H */
