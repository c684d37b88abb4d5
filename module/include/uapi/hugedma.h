/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * hugedma user-space ABI: ioctls on /dev/hugedma/NAME.
 *
 * Structs are extensible: the caller sets argsz to sizeof() of the struct it
 * was built with; the kernel accepts any argsz from the first version's size
 * up, fills what both know, zeroes nothing beyond argsz, and returns the size
 * it knows in argsz.  Fields are only ever appended.
 */
#ifndef _UAPI_HUGEDMA_H
#define _UAPI_HUGEDMA_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define HUGEDMA_IOC_MAGIC	0xB8
#define HUGEDMA_NAME_LEN	33	/* 32 characters and a NUL */

enum hugedma_state_uapi {
	HUGEDMA_STATE_DISABLED = 0,
	HUGEDMA_STATE_ENABLING = 1,
	HUGEDMA_STATE_ENABLED = 2,
	HUGEDMA_STATE_DISABLING = 3,
};

enum hugedma_source {
	HUGEDMA_SOURCE_POOL = 0,	/* pages taken from the hugetlb pool */
	HUGEDMA_SOURCE_USER = 1,	/* a user hugetlb mapping, pinned */
	HUGEDMA_SOURCE_HEAP = 2,	/* pool pages, a dma-heap allocation (hugedma-1g, -2m) */
};

/**
 * struct hugedma_info - what HUGEDMA_IOC_INFO returns about a buffer
 * @argsz: in: sizeof(struct hugedma_info) as the caller knows it; out: as the kernel does
 * @flags: in: must be 0
 * @size: bytes
 * @page_size: bytes per page (1 GiB or 2 MiB)
 * @nr_pages: pages
 * @numa_node: node holding every page, or -1 if they span nodes
 * @state: enum hugedma_state_uapi
 * @source: enum hugedma_source
 * @name: the buffer's name, NUL-terminated
 */
struct hugedma_info {
	__u32 argsz;
	__u32 flags;
	__u64 size;
	__u64 page_size;
	__u64 nr_pages;
	__s32 numa_node;
	__u32 state;
	__u32 source;
	__u32 reserved;
	char name[40];
};

#define HUGEDMA_INFO_SIZE_VER0	88	/* the first published size */

/* Fill a struct hugedma_info. */
#define HUGEDMA_IOC_INFO	_IO(HUGEDMA_IOC_MAGIC, 0x00)

/**
 * struct hugedma_export - HUGEDMA_IOC_EXPORT_DMABUF: a dma-buf of the buffer or of a range
 * @argsz: in: sizeof(struct hugedma_export) as the caller knows it
 * @flags: in: O_CLOEXEC and the access mode (O_RDONLY or O_RDWR) of the new fd
 * @fd: out: the dma-buf file descriptor (in: 0)
 * @reserved: 0
 * @offset: in: the range's first byte in the buffer, a multiple of its page size
 * @length: in: the range's bytes, a multiple of the page size; 0: to the buffer's end
 *
 * The dma-buf is named after the buffer and is @length bytes of it from
 * @offset: a caller of the first version (argsz 16, or offset and length 0)
 * gets the whole buffer.  A range that is not whole pages, is empty, wraps or
 * ends beyond the buffer is EINVAL.  Importers attach and map it through the
 * dma-buf API (their mappings, of the range only, appear under the buffer's
 * attachments/); mmap of the fd maps the range's huge pages (offset 0 of the
 * fd is @offset of the buffer), so it needs MAP_SHARED and an address, offset
 * and length aligned to the buffer's page size (the dma-buf core does not
 * align the address itself: map with MAP_FIXED inside a reserved, aligned
 * range).  DMA_BUF_IOCTL_SYNC syncs the importers' mappings of this dma-buf;
 * a kernel mapping (dma_buf_vmap()) of more than 1 GiB is refused (E2BIG:
 * hugedma(7)).  The buffer cannot be disabled while any dma-buf of
 * it is alive.
 */
struct hugedma_export {
	__u32 argsz;
	__u32 flags;
	__s32 fd;
	__u32 reserved;
	__u64 offset;
	__u64 length;
};

#define HUGEDMA_EXPORT_SIZE_VER0	16	/* the first published size: the whole buffer */
#define HUGEDMA_EXPORT_SIZE_VER1	32	/* with offset and length */

#define HUGEDMA_IOC_EXPORT_DMABUF	_IO(HUGEDMA_IOC_MAGIC, 0x01)

/**
 * struct hugedma_import - a user hugetlb range to publish as a buffer
 * @argsz: in: sizeof(struct hugedma_import) as the caller knows it
 * @flags: in: must be 0
 * @addr: start of the range: a 1 GB (or 2 MB) page boundary of a MAP_HUGETLB mapping
 * @length: bytes, whole pages, all of one hugetlb page size
 * @name: the new buffer's name, NUL-terminated: 1-32 of [a-z0-9_-]
 *
 * On /dev/hugedma/control.  The pages are pinned (FOLL_LONGTERM) and published
 * as buffer @name (source "user") until that control file is closed and the
 * buffer's last user has let go.  Errors: EINVAL for a range that is not
 * whole huge pages of hugetlb mappings of one page size, or a bad name;
 * EACCES for a range that is not writable; EEXIST for a name in use; EBUSY
 * when a page is in a hugedma buffer already; EFAULT for a bad pointer.
 */
struct hugedma_import {
	__u32 argsz;
	__u32 flags;
	__u64 addr;
	__u64 length;
	char name[40];
};

#define HUGEDMA_IMPORT_SIZE_VER0	64

#define HUGEDMA_IOC_IMPORT	_IO(HUGEDMA_IOC_MAGIC, 0x10)

#endif /* _UAPI_HUGEDMA_H */
