/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhugedma-hugetlbfs: import huge pages obtained from libhugetlbfs.
 *
 * The classic workflow in one call: get huge pages from libhugetlbfs'
 * get_huge_pages(), fault them in, and import them as a hugedma buffer whose
 * physical addresses /sys/class/hugedma/NAME/phys_addrs then publishes.
 *
 * This is a separate library (libhugedma-hugetlbfs.so.0, pkg-config
 * "hugedma-hugetlbfs") so that libhugedma itself does not depend on
 * libhugetlbfs, which also interposes shmget() in every process it is loaded
 * into.  Build with: cc prog.c $(pkg-config --cflags --libs hugedma-hugetlbfs)
 *
 * Page size.  libhugetlbfs reads its environment once, when it is loaded
 * (before main()), and get_huge_pages() always uses its "default" huge page
 * size, gethugepagesize():
 *   - without HUGETLB_DEFAULT_PAGE_SIZE it is the kernel's default size, the
 *     "Hugepagesize:" of /proc/meminfo: 2 MB on x86-64 unless the kernel was
 *     booted with default_hugepagesz=1G.  The memory is an anonymous
 *     MAP_PRIVATE|MAP_HUGETLB mapping; no hugetlbfs mount is needed.
 *   - HUGETLB_DEFAULT_PAGE_SIZE=1G selects 1 GB pages only if a hugetlbfs
 *     mount of that page size is found (mount -t hugetlbfs -o pagesize=1G
 *     none /mnt/huge1g, writable by the caller; HUGETLB_PATH=/mnt/huge1g
 *     names it, otherwise /proc/mounts is searched).  The memory is then a
 *     MAP_PRIVATE mapping of an unlinked file there.  Without such a mount,
 *     libhugetlbfs warns "No mount point found for default huge page size"
 *     and silently uses the kernel's default size instead: check the page
 *     size hugedma_import_hugepages_region() reports.
 * Each page comes from the pool of that size (free_hugepages in
 * /sys/kernel/mm/hugepages/hugepages-*kB/); the mapping reserves them at once,
 * so a short pool fails the call with -ENOMEM rather than a later SIGBUS
 * (unless HUGETLB_NO_RESERVE=yes).
 */
#ifndef HUGEDMA_HUGETLBFS_H
#define HUGEDMA_HUGETLBFS_H

#include <stddef.h>

#include <hugedma.h>

#ifdef __cplusplus
extern "C" {
#endif

/** struct hugedma_import_handle - huge pages of this process imported as a buffer (opaque) */
struct hugedma_import_handle;

/**
 * hugedma_import_hugepages() - get huge pages and import them as buffer @name
 * @name: the new buffer's name (1-32 of [a-z0-9_-], see hugedma.h)
 * @length: bytes: a non-zero multiple of libhugetlbfs' page size (above)
 * @out: on success, the handle, to be freed with hugedma_import_hugepages_release()
 *
 * Opens /dev/hugedma/control, calls get_huge_pages(@length, GHP_DEFAULT),
 * faults every page in for writing (MADV_POPULATE_WRITE, or a write to each
 * page on kernels before 5.14), and imports the range with hugedma_import().
 * The memory is zeroed, readable and writable at the address that
 * hugedma_import_hugepages_region() gives; the buffer is published as
 * /sys/class/hugedma/@name and /dev/hugedma/@name.
 *
 * Return: 0; -EINVAL for a bad name, a zero or misaligned @length or a NULL
 * @out; -ENOSYS when libhugetlbfs finds no huge page size; -ENOENT when the
 * module is not loaded; -EACCES when not root; -ENOMEM when the pool is short;
 * -EEXIST when @name is in use; another error of get_huge_pages() or of
 * hugedma_import().  Nothing is left allocated after an error.
 */
int hugedma_import_hugepages(const char *name, size_t length, struct hugedma_import_handle **out);

/**
 * hugedma_import_hugepages_region() - where the imported memory is
 * @h: the handle
 * @addr: if not NULL, the start of the mapping; NULL after
 *        hugedma_import_hugepages_unmap()
 * @length: if not NULL, its length in bytes
 * @page_size: if not NULL, the huge page size it was allocated with
 *
 * Return: 0, or -EINVAL for a NULL @h.
 */
int hugedma_import_hugepages_region(const struct hugedma_import_handle *h, void **addr,
				    size_t *length, size_t *page_size);

/**
 * hugedma_import_hugepages_unmap() - drop this process's mapping, keep the import
 * @h: the handle
 *
 * free_huge_pages() the memory: this process can no longer reach it, but the
 * import's pins keep the pages out of the pool and the buffer published until
 * hugedma_import_hugepages_release().  Use this, never munmap(2) or
 * free_huge_pages() directly, so that release does not unmap twice.  Calling
 * it again does nothing.
 *
 * Return: 0, or -EINVAL for a NULL @h.
 */
int hugedma_import_hugepages_unmap(struct hugedma_import_handle *h);

/**
 * hugedma_import_hugepages_release() - end the import and free the memory
 * @h: the handle, or NULL (nothing happens)
 *
 * Unmaps the memory (unless hugedma_import_hugepages_unmap() did) and closes
 * the control file.  The buffer goes away once its last user (an open hugedma
 * handle or mapping of it elsewhere) lets go; its pages then return to the pool.
 */
void hugedma_import_hugepages_release(struct hugedma_import_handle *h);

#ifdef __cplusplus
}
#endif

#endif /* HUGEDMA_HUGETLBFS_H */
