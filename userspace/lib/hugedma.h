/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libhugedma: user-space access to hugedma buffers.
 *
 * A hugedma buffer is a set of 1 GB (or 2 MB) hugetlb pages that the kernel
 * module pins and publishes for DMA.  This library opens a buffer's character
 * device /dev/hugedma/NAME, describes it, maps it into the caller with huge
 * page-table entries, reads the addresses the module publishes in
 * /sys/class/hugedma/NAME, and imports the caller's own hugetlb memory as a
 * buffer through /dev/hugedma/control.
 *
 * Conventions, for every function that returns int:
 *   - the result is 0 on success or a negative errno value (-ENOENT, ...);
 *     errno itself is left unspecified;
 *   - outputs go through pointer arguments, which are written only on success;
 *   - a NULL handle or output pointer is -EINVAL.
 *
 * Buffer names are 1-32 characters of [a-z0-9_-], starting with a letter or
 * digit, and never "control" (HUGEDMA_NAME_LEN counts the NUL); anything else
 * is -EINVAL before the kernel is asked.
 *
 * A handle may be used by several threads at once; closing it while another
 * thread uses it is the caller's bug, as with close(2).
 *
 * Build with: cc prog.c $(pkg-config --cflags --libs hugedma)
 */
#ifndef HUGEDMA_H
#define HUGEDMA_H

#include <fcntl.h>		/* O_RDONLY, O_RDWR for hugedma_open() */
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>		/* PROT_READ, PROT_WRITE for hugedma_map() */

#include <hugedma/uapi.h>	/* struct hugedma_info, enum hugedma_source, ... */

#ifdef __cplusplus
extern "C" {
#endif

/* library version, as in the shared object's real name libhugedma.so.0.1.0 */
#define HUGEDMA_LIB_VERSION_MAJOR	0
#define HUGEDMA_LIB_VERSION_MINOR	1
#define HUGEDMA_LIB_VERSION_PATCH	0

/** struct hugedma - an open buffer (opaque): one file descriptor on /dev/hugedma/NAME */
struct hugedma;

/** struct hugedma_control - an open /dev/hugedma/control (opaque): owns its imports */
struct hugedma_control;

/**
 * struct hugedma_segment - one contiguous range of a buffer as a device sees it
 * @addr: bus address (an IOVA behind an IOMMU, else the physical address)
 * @length: bytes, never 0
 */
struct hugedma_segment {
	uint64_t addr;
	uint64_t length;
};

/**
 * hugedma_open() - open an enabled buffer's character device
 * @name: the buffer's name; opens /dev/hugedma/@name
 * @flags: O_RDONLY or O_RDWR, nothing else but O_CLOEXEC, which is always set anyway
 * @out: on success, the new handle, to be freed with hugedma_close()
 *
 * The handle describes the buffer at once (HUGEDMA_IOC_INFO), so it also works
 * for imported buffers, which cannot be mapped.  While the handle is open the
 * buffer cannot be disabled (writing 0 to its enable file fails with EBUSY).
 *
 * Return: 0; -EINVAL for a bad name or flags; -ENOENT when no buffer of that
 * name is enabled (or the module is not loaded); -ENODEV when it is being
 * disabled; -EACCES without permission on the node (root only unless udev
 * rules say otherwise); -ENOMEM; or another error of open(2) or the info ioctl.
 */
int hugedma_open(const char *name, int flags, struct hugedma **out);

/**
 * hugedma_close() - close a handle and free what it cached
 * @h: a handle from hugedma_open(), or NULL (nothing happens)
 *
 * Mappings made with hugedma_map() stay valid after this and keep the buffer
 * enabled until they are unmapped.  Pointers from hugedma_phys_addrs() become
 * invalid.
 */
void hugedma_close(struct hugedma *h);

/**
 * hugedma_query() - describe the buffer
 * @h: the handle
 * @info: filled with the kernel's answer to HUGEDMA_IOC_INFO: size, page_size,
 *        nr_pages, numa_node, state, source and name
 *
 * The library sets argsz to sizeof(struct hugedma_info) as this header
 * defines it; should the structure grow, the new size comes with a new symbol
 * version, so programs built against this header keep getting this size.
 *
 * Return: 0; -EINVAL for NULL arguments; or the ioctl's error.
 */
int hugedma_query(struct hugedma *h, struct hugedma_info *info);

/**
 * hugedma_export_dmabuf() - a dma-buf of the whole buffer, for a device driver
 * @h: the handle
 * @flags: O_RDONLY or O_RDWR, optionally with O_CLOEXEC
 * @fd: on success, the new dma-buf file descriptor (named after the buffer)
 *
 * Hand the fd to a driver that imports dma-bufs: its device maps the buffer
 * through its own DMA API, and the mapping appears under the buffer's
 * attachments/ in sysfs.  The buffer cannot be disabled while a dma-buf of it
 * is open anywhere.  mmap(2) of the fd needs MAP_SHARED and an address
 * aligned to the buffer's page size (hugedma_map() is simpler).
 *
 * Return: 0; -EINVAL for bad @flags or NULL arguments; or the ioctl's error.
 */
int hugedma_export_dmabuf(struct hugedma *h, int flags, int *fd);

/**
 * hugedma_map() - map (part of) the buffer into this process
 * @h: the handle
 * @offset: bytes from the start of the buffer: a multiple of its page size
 * @length: bytes, a multiple of the page size; 0 means from @offset to the end
 * @prot: PROT_READ, optionally with PROT_WRITE (which needs an O_RDWR handle);
 *        other bits are -EINVAL
 * @addr: on success, the start of the mapping, aligned to the page size
 *
 * The mapping is MAP_SHARED, so it is the buffer's own pages, with page-table
 * entries of the buffer's page size (KernelPageSize in /proc/PID/smaps).  It
 * outlives hugedma_close() and keeps the buffer enabled until it is unmapped.
 *
 * Return: 0; -EINVAL for a misaligned, empty or out-of-range request, bad @prot
 * or NULL arguments; -EACCES for PROT_WRITE on an O_RDONLY handle; -ENODEV
 * for an imported buffer (map the importer's own memory instead); -ENOMEM
 * when no aligned address range is free; or another error of mmap(2).
 */
int hugedma_map(struct hugedma *h, uint64_t offset, size_t length, int prot, void **addr);

/**
 * hugedma_unmap() - undo hugedma_map()
 * @h: the handle the mapping came from (its page size is checked against)
 * @addr: the start of the range to unmap, aligned to the buffer's page size
 * @length: bytes, a non-zero multiple of the page size; after a map of length
 *          0, the buffer's size less the offset mapped
 *
 * Unmapping part of a mapping is allowed, in whole pages.
 *
 * Return: 0; -EINVAL for a NULL or misaligned @addr or @length; or the error
 * of munmap(2).
 */
int hugedma_unmap(struct hugedma *h, void *addr, size_t length);

/**
 * hugedma_phys_addrs() - the physical address of every page of the buffer
 * @h: the handle
 * @addrs: on success, an array of *@n addresses in buffer order (page i
 *         covers buffer bytes [i * page_size, (i + 1) * page_size)); owned by
 *         the handle and valid until hugedma_close()
 * @n: on success, the number of pages
 *
 * Read and parsed on the first call from /sys/class/hugedma/NAME/phys_addrs
 * (one 0x-prefixed hexadecimal address per line), then cached: the addresses of
 * an enabled buffer never change.  That file is readable by root only, as
 * frame numbers are in /proc/PID/pagemap.
 *
 * Return: 0; -EACCES for a caller that may not read the file; -EBADMSG when
 * the file does not hold exactly nr_pages addresses; -ENOMEM; or the error of
 * reading the file.
 */
int hugedma_phys_addrs(struct hugedma *h, const uint64_t **addrs, size_t *n);

/**
 * hugedma_bus_addrs() - where one attached device sees the buffer
 * @h: the handle
 * @bdf: the attached device's name as it appears under the buffer's
 *       attachments/ directory: for PCI its address, "0000:03:00.0"
 * @segs: on success, a new array of *@n segments in buffer order, to be freed
 *        by the caller with free(3)
 * @n: on success, the number of segments
 *
 * Reads /sys/class/hugedma/NAME/attachments/@bdf/dma_addrs and dma_lengths,
 * two root-only files of one number per line (0x-prefixed hexadecimal or
 * decimal) whose lines pair up into segments.  They are read again until they
 * agree, so a mapping that changes meanwhile is never mixed with its successor.
 * Nothing is cached: devices attach and detach.  *@n is 0 (and *@segs an empty
 * array to free) while the attachment exists but is not mapped.
 *
 * Return: 0; -EINVAL for an empty @bdf, one with '/' or one that is "." or
 * "..", or NULL arguments; -ENOENT when that device is not attached to the
 * buffer; -EACCES for a caller that may not read the files; -EBADMSG when the
 * files are malformed or never pair up; another error of reading them; -ENOMEM.
 */
int hugedma_bus_addrs(struct hugedma *h, const char *bdf, struct hugedma_segment **segs,
		      size_t *n);

/**
 * hugedma_control_open() - open /dev/hugedma/control for importing
 * @out: on success, the new handle, to be freed with hugedma_control_close()
 *
 * Return: 0; -ENOENT when the module is not loaded; -EACCES when not root;
 * -ENOMEM; or another error of open(2).
 */
int hugedma_control_open(struct hugedma_control **out);

/**
 * hugedma_control_close() - close the control file, ending its imports
 * @ctl: a handle from hugedma_control_open(), or NULL (nothing happens)
 *
 * Every buffer imported through @ctl is withdrawn: its device goes away once
 * its last user (an open hugedma handle) lets go, and then its pages are
 * unpinned.  Pages no longer mapped by anyone go back to the hugetlb pool then.
 */
void hugedma_control_close(struct hugedma_control *ctl);

/**
 * hugedma_import() - publish this process's hugetlb memory as a buffer
 * @ctl: the control handle that will own the import
 * @name: the new buffer's name (see the top of this file)
 * @addr: start of the range: a huge page boundary in a writable MAP_HUGETLB or
 *        hugetlbfs mapping (shared or private) of this process
 * @length: bytes: whole huge pages, all of one page size, all mapped
 *
 * Pages not yet present are faulted in; all are pinned and published as
 * /sys/class/hugedma/@name (source "user") and /dev/hugedma/@name until @ctl
 * is closed.  The pins hold the pages even after the range is unmapped.
 *
 * Return: 0; -EINVAL for a bad name, a range that is not whole huge pages of
 * hugetlb mappings of one page size, or NULL arguments; -EEXIST for a name in
 * use; -EBUSY when a page is already in a hugedma buffer; -EACCES for a
 * read-only mapping; -EINTR when a fatal signal came; -ENOMEM.
 */
int hugedma_import(struct hugedma_control *ctl, const char *name, void *addr, size_t length);

#ifdef __cplusplus
}
#endif

#endif /* HUGEDMA_H */
