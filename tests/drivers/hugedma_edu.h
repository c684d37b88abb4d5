/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/* ioctls of the hugedma_edu test driver, /dev/hugedma-edu (tests only) */
#ifndef HUGEDMA_EDU_H
#define HUGEDMA_EDU_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * One round trip through the edu device: len bytes at src into edu's buffer,
 * then back out to dst.  For RAW, src and dst are bus addresses; otherwise
 * offsets into the buffer, whose bus addresses come back in src_dma/dst_dma.
 */
struct hugedma_edu_xfer {
	char name[40];		/* KAPI, HOLD: the buffer's name */
	__s32 fd;		/* DMABUF: a dma-buf fd */
	__u32 len;		/* 1..4095 */
	__u64 src;
	__u64 dst;
	__u64 src_dma;		/* out */
	__u64 dst_dma;		/* out */
};

#define HUGEDMA_EDU_RAW		_IOWR('h', 0x40, struct hugedma_edu_xfer)
#define HUGEDMA_EDU_KAPI	_IOWR('h', 0x41, struct hugedma_edu_xfer)
#define HUGEDMA_EDU_DMABUF	_IOWR('h', 0x42, struct hugedma_edu_xfer)
/* hold a kernel-API mapping of name until RELEASE, rmmod or unbind */
#define HUGEDMA_EDU_HOLD	_IOW('h', 0x43, struct hugedma_edu_xfer)
#define HUGEDMA_EDU_RELEASE	_IO('h', 0x44)
/* RAW's first half only: len bytes at bus address src into edu (reads memory) */
#define HUGEDMA_EDU_READ	_IOWR('h', 0x46, struct hugedma_edu_xfer)
/* RAW's second half only: len bytes of edu's buffer out to bus address dst (writes memory) */
#define HUGEDMA_EDU_WRITE	_IOWR('h', 0x4a, struct hugedma_edu_xfer)
/* the device's DMA mask in bits, and its max segment size in bytes */
#define HUGEDMA_EDU_SET_DMA	_IOW('h', 0x45, __u64[2])
/* the device's segment boundary mask (PCI's default 0xffffffff) */
#define HUGEDMA_EDU_SET_BOUNDARY	_IOW('h', 0x4f, __u64)

/*
 * Benchmarks: the status quo, a buffer of total bytes as dma_alloc_coherent()
 * chunks of chunk bytes (a power of two; -ENOMEM if one fails: try smaller).
 * The chunks stay until COHERENT_FREE, rmmod or unbind; /dev/hugedma-edu's
 * mmap maps them end to end, as dma_mmap_coherent() would (PTEs built at mmap);
 * COHERENT_FREE is -EBUSY while they are mapped.
 */
struct hugedma_edu_coherent {
	__u64 total;		/* bytes */
	__u64 chunk;		/* bytes per dma_alloc_coherent() */
	__u64 nr_chunks;	/* out: DMA segments a device is given */
	__u64 nr_phys_runs;	/* out: physically contiguous runs, page by page */
};

#define HUGEDMA_EDU_COHERENT_ALLOC	_IOWR('h', 0x47, struct hugedma_edu_coherent)
#define HUGEDMA_EDU_COHERENT_FREE	_IO('h', 0x48)

/* Benchmarks: map a dma-buf (fd) for edu; out: its DMA segments (nents), unmapped again */
#define HUGEDMA_EDU_DMABUF_SEGS		_IOWR('h', 0x49, __u64[2])

/*
 * dma-buf importer tests.  DMABUF_ATTACH attaches dma-buf fd arg[0] to edu and
 * maps it in direction arg[1] (enum dma_data_direction), held until
 * DMABUF_DETACH (all of them), rmmod or unbind: at most 4 (-EBUSY beyond).
 * DMABUF_XFER is DMABUF's round trip through the first held mapping (src and
 * dst are offsets into the dma-buf; fd is ignored).
 */
#define HUGEDMA_EDU_DMABUF_ATTACH	_IOW('h', 0x4b, __s32[2])
#define HUGEDMA_EDU_DMABUF_XFER		_IOWR('h', 0x4c, struct hugedma_edu_xfer)
#define HUGEDMA_EDU_DMABUF_DETACH	_IO('h', 0x4d)

/*
 * VMAP: dma_buf_vmap() of dma-buf fd, then len bytes at offset of that
 * mapping copied to user memory at data (write 0) or from it (write 1),
 * between dma_buf_begin_cpu_access() and dma_buf_end_cpu_access(); unmapped
 * again.  The errno is vmap's (5.10: ENOMEM for any refusal).
 */
struct hugedma_edu_vmap {
	__s32 fd;
	__u32 write;
	__u64 offset;
	__u64 len;
	__u64 data;		/* a user pointer */
};

#define HUGEDMA_EDU_VMAP		_IOW('h', 0x4e, struct hugedma_edu_vmap)

#endif /* HUGEDMA_EDU_H */
