// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libhugedma: a mapping of a buffer in a VFIO container, for user-space
 * drivers.  A device bound to vfio-pci is not a configfs attachment (VFIO owns
 * its IOMMU domain); its driver maps the buffer's pages into that domain
 * itself, at IOVAs of its choosing, through the container.
 *
 * One VFIO_IOMMU_MAP_DMA for the whole range: type1 makes one entry of it
 * (the container holds at most dma_entry_limit of them, 65535 by default,
 * so one per page would cap a buffer of 1 GB pages at 64 TB) and pins its
 * pages where they are, in the buffer; no pool page is taken.  Type1v2
 * unmaps only whole entries, hence hugedma_vfio_unmap() takes back exactly
 * what one hugedma_vfio_map() mapped.
 */
#include <errno.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

/* the IOMMU's smallest page: what VFIO checks alignment against is never less */
static int vfio_range_check(uint64_t start, uint64_t iova, uint64_t length)
{
	uint64_t mask = (uint64_t)sysconf(_SC_PAGESIZE) - 1;

	if (!length || ((start | iova | length) & mask))
		return -EINVAL;
	if (start + length < start || iova + length < iova)
		return -EINVAL;
	return 0;
}

HUGEDMA_EXPORT int hugedma_vfio_map(int container, void *addr, size_t length,
				    uint64_t iova, int prot)
{
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	int ret;

	if (container < 0 || !addr || !prot || (prot & ~(PROT_READ | PROT_WRITE)))
		return -EINVAL;
	ret = vfio_range_check((uintptr_t)addr, iova, length);
	if (ret)
		return ret;
	/* the device's view: it reads memory the CPU wrote, and writes into it */
	if (prot & PROT_READ)
		map.flags |= VFIO_DMA_MAP_FLAG_READ;
	if (prot & PROT_WRITE)
		map.flags |= VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = (uintptr_t)addr;
	map.iova = iova;
	map.size = length;
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map))
		return -errno;
	return 0;
}

HUGEDMA_EXPORT int hugedma_vfio_unmap(int container, uint64_t iova, size_t length)
{
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	int ret;

	if (container < 0)
		return -EINVAL;
	ret = vfio_range_check(0, iova, length);
	if (ret)
		return ret;
	unmap.iova = iova;
	unmap.size = length;
	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		return -errno;
	/* type1 answers a range that holds no whole entry with size 0 */
	if (unmap.size != length)
		return -ENOENT;
	return 0;
}
