/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhugedma: user-space access to hugedma buffers.
 *
 * A hugedma buffer is a set of 1 GB (or 2 MB) hugetlb pages that the kernel
 * module pins and publishes for DMA.  This library opens a buffer's character
 * device /dev/hugedma/NAME, describes it, maps it into the caller with huge
 * page-table entries, reads the addresses the module publishes in
 * /sys/class/hugedma/NAME, and imports the caller's own hugetlb memory as a
 * buffer through /dev/hugedma/control.  It also drives the configuration:
 * it lists, describes, creates, enables, attaches and removes buffers in
 * configfs (/sys/kernel/config/hugedma/buffers) and reads the hugetlb pool's
 * counters; hugedmactl(8) is a thin layer over these functions.
 *
 * Conventions, for every function that returns int:
 *   - the result is 0 on success or a negative errno value (-ENOENT, ...);
 *     errno itself is left unspecified;
 *   - outputs go through pointer arguments, which are written only on success;
 *   - a NULL handle or output pointer is -EINVAL.
 *
 * Buffer names are 1-32 characters of [a-z0-9_-], starting with a letter or
 * digit, and never "control" (HUGEDMA_NAME_LEN counts the NUL); anything else
 * is -EINVAL before the kernel is asked (hugedma_name_check()).  The
 * configuration functions are the exception: they pass any name that is one
 * path component to the kernel, whose refusal is then the answer.
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
 * hugedma_device_path() - the device node of a buffer, or of the control file
 * @buf: where to write it
 * @len: its size
 * @name: a buffer's name (see the top of this file), or NULL for the control
 *        file that imports
 *
 * /dev/hugedma/@name, or /dev/hugedma/control: what hugedma_open() and
 * hugedma_control_open() open, for programs that hand the node to another
 * (a container runtime, through a CDI spec: hugedmactl cdi).  The node
 * exists while the buffer is enabled (the control file while the module is
 * loaded); this does not look.
 *
 * Return: 0; -EINVAL for a bad name or a NULL @buf; -ENAMETOOLONG when @buf
 * is too small.
 */
int hugedma_device_path(char *buf, size_t len, const char *name);

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
 * hugedma_export_dmabuf_range() - a dma-buf of a range of the buffer's pages
 * @h: the handle
 * @flags: O_RDONLY or O_RDWR, optionally with O_CLOEXEC
 * @offset: bytes from the start of the buffer: a multiple of its page size
 * @length: bytes, a multiple of the page size; 0 means from @offset to the end
 * @fd: on success, the new dma-buf file descriptor (named after the buffer)
 *
 * As hugedma_export_dmabuf(), but the dma-buf is @length bytes of the buffer
 * from @offset: importers' mappings cover that range only, and offset 0 of
 * the fd's mmap(2) is @offset of the buffer.  Needs a module that knows
 * ranges (one that does not takes a non-zero range as -E2BIG).
 *
 * Return: 0; -EINVAL for bad @flags, NULL arguments, or a range that is not
 * whole pages inside the buffer (the kernel's verdict); or the ioctl's error.
 */
int hugedma_export_dmabuf_range(struct hugedma *h, int flags, uint64_t offset,
				uint64_t length, int *fd);

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

/* ---------------------------------------------------------------- VFIO */

/**
 * hugedma_vfio_map() - map a range of this process into a VFIO container's IOMMU
 * @container: an open /dev/vfio/vfio with its group set and a type1 IOMMU
 *             (VFIO_SET_IOMMU with VFIO_TYPE1v2_IOMMU or VFIO_TYPE1_IOMMU)
 * @addr: start of the range, typically from hugedma_map(): aligned to the
 *        system page size (a buffer mapping is aligned to its page size)
 * @length: bytes, a non-zero multiple of the system page size
 * @iova: where the container's devices will see @addr: aligned as @addr,
 *        inside the IOVA ranges the container reports
 *        (VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) and clear of its other mappings
 * @prot: what the devices may do: PROT_READ (read the memory), PROT_WRITE
 *        (write it) or both; nothing else
 *
 * A device bound to vfio-pci cannot be attached in configfs (VFIO owns its
 * IOMMU domain): its user-space driver maps the buffer itself.  One
 * VFIO_IOMMU_MAP_DMA maps the whole range as one entry of the container, so
 * any buffer size counts once against type1's dma_entry_limit.  VFIO pins
 * the pages where they are: they are the buffer's, no hugetlb pool page is
 * taken, and the pins are charged to this process's locked memory (VmLck;
 * past RLIMIT_MEMLOCK without CAP_IPC_LOCK the map fails with -ENOMEM).
 * The mapping holds the pages until hugedma_vfio_unmap() or the container's
 * last close, even after @addr is unmapped, and a buffer disabled under it
 * gives those pages back to the pool only when the mapping goes: unmap from
 * the container first, then the memory.
 *
 * The kernel's iommufd (/dev/iommu) is the successor of the container; it
 * maps the same way (IOMMU_IOAS_MAP: address, length, IOVA), and with
 * CONFIG_IOMMUFD_VFIO_CONTAINER its /dev/vfio/vfio takes these ioctls
 * too.  Debian's kernels (6.1, 6.12, 7.2) have no iommufd.
 *
 * Return: 0; -EINVAL for a negative @container, NULL @addr, a misaligned,
 * empty or wrapping range, or bad @prot, and VFIO's -EINVAL (an IOVA outside
 * its ranges, no IOMMU set); -EEXIST when the IOVA range overlaps a mapping
 * of the container; -ENOMEM past the locked-memory limit; -EFAULT when the
 * range is not all mapped in this process with @prot's access; -ENOSPC when
 * the container holds dma_entry_limit mappings; another error of the ioctl.
 */
int hugedma_vfio_map(int container, void *addr, size_t length, uint64_t iova, int prot);

/**
 * hugedma_vfio_unmap() - remove a mapping made by hugedma_vfio_map()
 * @container: the container it was made in
 * @iova: its @iova
 * @length: its @length (type1v2 unmaps only whole mappings)
 *
 * When this returns, no device of the container can reach the range (type1
 * flushes the IOTLB before it answers) and its pins and locked-memory charge
 * are returned.
 *
 * Return: 0; -EINVAL for a negative @container or a misaligned, empty or
 * wrapping range, and VFIO's -EINVAL for a range that cuts a mapping;
 * -ENOENT when mappings did not cover the whole range (those inside it are
 * unmapped); another error of the ioctl.
 */
int hugedma_vfio_unmap(int container, uint64_t iova, size_t length);

/* ---------------------------------------------------------------- configuration */

/**
 * hugedma_name_check() - whether a buffer name follows the module's rule
 * @name: the name
 *
 * The rule of configfs-schema/hugedma.json: 1-32 characters of [a-z0-9_-],
 * starting with a letter or digit, not "control".
 *
 * Return: 0 for a valid name; -EINVAL for anything else, NULL included.
 */
int hugedma_name_check(const char *name);

/**
 * hugedma_parse_size() - a size as the module's size and page_size files take it
 * @text: a decimal number of bytes with an optional suffix K, M, G or T (either
 *        case, binary multiples), with optional white space around it
 * @bytes: on success, the number of bytes
 *
 * Return: 0; -EINVAL for any other text, for zero and for NULL arguments;
 * -ERANGE when the value does not fit in 64 bits.  Whether the kernel then
 * takes the value (a multiple of the page size, no more than the RAM) is its
 * own to say.
 */
int hugedma_parse_size(const char *text, uint64_t *bytes);

/**
 * hugedma_error_path() - the file the calling thread's last failure was about
 * Return: the path of the file or directory whose read, write, mkdir or rmdir
 * failed in this thread's last configuration function (the functions below)
 * that failed with such an error, for messages; "" when none has.  Valid
 * until the thread's next call of one of them.
 */
const char *hugedma_error_path(void);

/**
 * hugedma_config_path() - the configfs path of a buffer, attachment or attribute
 * @buf: where to write it
 * @len: its size
 * @name: a buffer's name, or NULL for the directory of all buffers
 * @bdf: an attachment's device name, or NULL
 * @attr: an attribute's file name, or NULL
 *
 * Makes /sys/kernel/config/hugedma/buffers[/@name[/attachments/@bdf]][/@attr].
 *
 * Return: 0; -EINVAL when a part is not one path component (empty, ".",
 * "..", with a '/', longer than NAME_MAX) or @bdf comes without @name;
 * -ENAMETOOLONG when @buf is too small.
 */
int hugedma_config_path(char *buf, size_t len, const char *name, const char *bdf,
			const char *attr);

/**
 * hugedma_config_read() - one configfs attribute of a buffer or attachment
 * @name: the buffer's name
 * @bdf: the attachment's device name, or NULL for the buffer's own attribute
 * @attr: size, page_size, numa_node, enable, state, direction, ...
 * @buf: the value, its newline removed
 * @len: the size of @buf, at least 2
 *
 * Return: 0; -EINVAL for a name that is not one path component; or the error
 * of reading the file (hugedma_error_path() names it).
 */
int hugedma_config_read(const char *name, const char *bdf, const char *attr, char *buf,
			size_t len);

/**
 * hugedma_config_write() - set one configfs attribute, in one write(2)
 * @name: the buffer's name
 * @bdf: the attachment's device name, or NULL
 * @attr: the attribute
 * @value: written as it is: the kernel judges it
 *
 * Return: 0; -EINVAL for a name that is not one path component; the kernel's
 * refusal (-EINVAL, -ERANGE, -EBUSY, -ENOSPC, ...); -EIO for a short write.
 */
int hugedma_config_write(const char *name, const char *bdf, const char *attr,
			 const char *value);

/**
 * hugedma_buffer_create() - mkdir a buffer: disabled, without a size
 * hugedma_buffer_destroy() - rmdir a disabled buffer without attachments
 * hugedma_buffer_enable() - write @enable (0 or 1) to the buffer's enable
 * hugedma_attach() - mkdir attachments/@bdf: a device the buffer is mapped for
 * hugedma_detach() - rmdir an unmapped attachment
 * @name: the buffer's name
 * @bdf: the device's PCI name, "0000:03:00.0"
 * @enable: nonzero to enable
 *
 * Return: 0; -EINVAL for a name that is not one path component; else the
 * kernel's answer to mkdir(2), rmdir(2) or the write (-EINVAL for a name it
 * refuses, -EEXIST, -ENOENT, -EBUSY, -ENOSPC, ...).
 */
int hugedma_buffer_create(const char *name);
int hugedma_buffer_destroy(const char *name);
int hugedma_buffer_enable(const char *name, int enable);
int hugedma_attach(const char *name, const char *bdf);
int hugedma_detach(const char *name, const char *bdf);

/**
 * hugedma_list_buffers() - the name of every buffer, configured or imported
 * hugedma_list_attachments() - the device name of every attachment of a buffer
 * @name: the buffer's name
 * @names: on success, a new NULL-terminated array of *@n names in strcmp(3)
 *         order, the union of configfs and /sys/class/hugedma; free it with
 *         hugedma_names_free()
 * @bdfs: the same, for attachments: configfs ones and kernel users'
 * @n: on success, the number of names
 *
 * Return: 0; -ENOENT (buffers only) when the module is not loaded; -ENOMEM;
 * or the error of reading a directory.  A buffer without attachments, or
 * none at all, is 0 with *@n 0.
 */
int hugedma_list_buffers(char ***names, size_t *n);
int hugedma_list_attachments(const char *name, char ***bdfs, size_t *n);

/**
 * hugedma_names_free() - free a list of names
 * @names: from hugedma_list_buffers() or hugedma_list_attachments(), or NULL
 * @n: its number of names
 */
void hugedma_names_free(char **names, size_t n);

/**
 * struct hugedma_buffer_desc - what configfs and sysfs say of a buffer
 * @name: its name
 * @source: "pool" (made in configfs), "user" (imported) or "heap" (a dma-heap allocation)
 * @state: its state file: disabled, enabling, enabled, ...
 * @configfs: nonzero when it has a configfs directory (else it is imported)
 * @published: nonzero when its class device /sys/class/hugedma/NAME exists
 * @enabled: nonzero when enable is 1 (an imported buffer always is)
 * @numa_node: the configured node, -1 for any
 * @pages_node: the node its pages are on, -1 when mixed or not published
 * @size: bytes (0: not set)
 * @page_size: bytes
 * @nr_pages: pages held, 0 unless published
 */
struct hugedma_buffer_desc {
	char name[256];
	char source[64];
	char state[64];
	int configfs;
	int published;
	int enabled;
	int numa_node;
	int pages_node;
	uint64_t size;
	uint64_t page_size;
	uint64_t nr_pages;
};

/**
 * hugedma_buffer_describe() - describe a buffer
 * @name: its name
 * @desc: filled on success
 *
 * Return: 0; -ENOENT when no buffer has that name; -EINVAL for a name that is
 * not one path component; or the error of reading a configfs attribute.
 */
int hugedma_buffer_describe(const char *name, struct hugedma_buffer_desc *desc);

/**
 * struct hugedma_attachment_desc - what configfs and sysfs say of an attachment
 * @bdf: the device's name
 * @direction: bidirectional, to_device or from_device
 * @state: its state file
 * @iommu: how the device's addresses are made (published only), or ""
 * @configfs: nonzero when it has a configfs directory (else a kernel user's)
 * @published: nonzero when /sys/class/hugedma/NAME/attachments/BDF exists
 * @enable: its configfs enable, -1 without a configfs directory
 * @nr_segments: the number of DMA segments, -1 when not published
 */
struct hugedma_attachment_desc {
	char bdf[256];
	char direction[64];
	char state[64];
	char iommu[64];
	int configfs;
	int published;
	int enable;
	int64_t nr_segments;
};

/**
 * hugedma_attachment_describe() - describe one attachment of a buffer
 * @name: the buffer's name
 * @bdf: the device's name
 * @desc: filled on success
 *
 * Return: 0; -ENOENT when the buffer has no such attachment; -EINVAL for
 * names that are not one path component.
 */
int hugedma_attachment_describe(const char *name, const char *bdf,
				struct hugedma_attachment_desc *desc);

/**
 * hugedma_buffer_phys_addrs() - a published buffer's page addresses, without a handle
 * @name: the buffer's name
 * @addrs: on success, a new array of *@n addresses to free(3)
 * @n: on success, their number
 *
 * As hugedma_phys_addrs(), without opening the buffer: nothing is cached.
 *
 * Return: 0; -ENOENT when it is not published; -EACCES for a caller that may
 * not read the file; -EBADMSG when it is malformed; -ENOMEM.
 */
int hugedma_buffer_phys_addrs(const char *name, uint64_t **addrs, size_t *n);

/**
 * hugedma_attachment_segments() - as hugedma_bus_addrs(), without a handle
 * @name: the buffer's name
 * @bdf: the attached device's name
 * @segs: on success, a new array of *@n segments to free(3)
 * @n: on success, their number (0 while not mapped)
 *
 * Return: as hugedma_bus_addrs().
 */
int hugedma_attachment_segments(const char *name, const char *bdf,
				struct hugedma_segment **segs, size_t *n);

/**
 * hugedma_nodes() - the NUMA nodes of this machine
 * @ids: on success, a new array of *@n node ids, ascending, to free(3)
 * @n: on success, their number (0 without /sys/devices/system/node)
 *
 * Return: 0; -ENOMEM; or the error of reading the directory.
 */
int hugedma_nodes(int **ids, size_t *n);

/**
 * struct hugedma_pool - the hugetlb pool's counters for one page size
 * @page_size: bytes
 * @total: nr_hugepages
 * @free: free_hugepages
 * @reserved: resv_hugepages (of the whole pool only; 0 for a node)
 * @surplus: surplus_hugepages
 */
struct hugedma_pool {
	uint64_t page_size;
	uint64_t total;
	uint64_t free;
	uint64_t reserved;
	uint64_t surplus;
};

/**
 * hugedma_pool_get() - the pool of one page size, on one node or all
 * @page_size: bytes: 1073741824 or 2097152
 * @node: a node id, or -1 for the whole pool
 * @pool: filled on success
 *
 * Return: 0; -ENOENT when the kernel (or that node) has no pool of that page
 * size; -EINVAL for a page size under 1 KB or a node below -1; or the error of
 * reading a counter.
 */
int hugedma_pool_get(uint64_t page_size, int node, struct hugedma_pool *pool);

/**
 * hugedma_pool_path() - where the kernel keeps one pool's counter, for messages
 * @buf: where to write the path
 * @len: its size
 * @page_size: bytes
 * @node: a node id, or -1 for the whole pool
 * @counter: nr_hugepages, free_hugepages, ...; NULL for the pool's directory
 *
 * /sys/kernel/mm/hugepages/hugepages-NkB or
 * /sys/devices/system/node/nodeN/hugepages/hugepages-NkB, with /@counter: the
 * file an administrator writes nr_hugepages to.
 *
 * Return: 0; -EINVAL as for hugedma_pool_get(), or for a @counter that is not
 * one path component; -ENAMETOOLONG when @buf is too small.
 */
int hugedma_pool_path(char *buf, size_t len, uint64_t page_size, int node,
		      const char *counter);

/**
 * hugedma_pool_set() - grow or shrink the hugetlb pool of one page size
 * @page_size: bytes per page (1 GB or 2 MB)
 * @node: a node, or -1 for the pool as a whole (the kernel spreads it)
 * @count: the number of pages the pool should hold
 * @obtained: when not NULL, the pool's size after the change
 *
 * Writes nr_hugepages as hugeadm(8) does.  The kernel takes the pages it can
 * find and reports success, so *@obtained may be less than @count (memory
 * short or fragmented); and it never frees pages in use, so it may be more.
 * The caller refuses to shrink below what buffers hold.  Needs root.
 *
 * Return: 0; -ENOENT when the kernel has no such page size or node; -EINVAL
 * for a page size below 1 KiB or a node below -1; or the write's error.
 */
int hugedma_pool_set(uint64_t page_size, int node, uint64_t count, uint64_t *obtained);

/**
 * struct hugedma_device_desc - what sysfs says of a PCI device, for DMA
 * @bdf: its name, as 0000:03:00.0
 * @driver: the bound driver's name, or "" when none is bound
 * @numa_node: its node, -1 when the platform reports none
 * @dma_mask_bits: width of its streaming DMA mask (PCI's default 32 until a
 *	driver sets it)
 * @coherent_dma_mask_bits: width of its coherent DMA mask
 * @iommu_group: its IOMMU group's number, or "" when no IOMMU translates for it
 * @iommu_type: the group's domain type: "DMA" (strict invalidation), "DMA-FQ"
 *	(lazy), "identity" (passthrough), "blocked"; "" when unknown (no group,
 *	or a kernel before 5.11)
 */
struct hugedma_device_desc {
	char bdf[64];
	char driver[64];
	int numa_node;
	int dma_mask_bits;
	int coherent_dma_mask_bits;
	char iommu_group[32];
	char iommu_type[32];
};

/**
 * hugedma_device_describe() - describe a PCI device as a DMA consumer
 * @bdf: the device's name under /sys/bus/pci/devices
 * @desc: filled on success
 *
 * Return: 0; -ENOENT when there is no such device; -EINVAL for a name that is
 * not one path component.
 */
int hugedma_device_describe(const char *bdf, struct hugedma_device_desc *desc);

#ifdef __cplusplus
}
#endif

#endif /* HUGEDMA_H */
