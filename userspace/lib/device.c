// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libhugedma: a buffer's character device /dev/hugedma/NAME: open, describe,
 * map.  The module does the checking too; the library checks first so that
 * every caller gets the same -EINVAL for the same mistake.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

static int hugedma_info_ioctl(int fd, struct hugedma_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	if (ioctl(fd, HUGEDMA_IOC_INFO, info))
		return -errno;
	return 0;
}

HUGEDMA_EXPORT int hugedma_open(const char *name, int flags, struct hugedma **out)
{
	char path[sizeof(HUGEDMA_DEV_DIR) + HUGEDMA_NAME_LEN];
	struct hugedma_info info;
	struct hugedma *h;
	int fd, ret;

	flags &= ~O_CLOEXEC;	/* always set */
	if (!out || hugedma_name_check(name) || (flags != O_RDONLY && flags != O_RDWR))
		return -EINVAL;
	snprintf(path, sizeof(path), HUGEDMA_DEV_DIR "/%s", name);
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = hugedma_info_ioctl(fd, &info);
	if (ret)
		goto out_close;
	/* what every later check divides by: a power of two, whole pages */
	if (!info.page_size || (info.page_size & (info.page_size - 1)) ||
	    info.size != info.nr_pages * info.page_size) {
		ret = -EBADMSG;
		goto out_close;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		ret = -ENOMEM;
		goto out_close;
	}
	ret = pthread_mutex_init(&h->lock, NULL);
	if (ret) {
		free(h);
		ret = -ret;
		goto out_close;
	}
	h->fd = fd;
	h->accmode = flags;
	strcpy(h->name, name);	/* checked: fits */
	h->size = info.size;
	h->page_size = info.page_size;
	h->nr_pages = info.nr_pages;
	*out = h;
	return 0;

out_close:
	close(fd);
	return ret;
}

HUGEDMA_EXPORT void hugedma_close(struct hugedma *h)
{
	if (!h)
		return;
	close(h->fd);
	pthread_mutex_destroy(&h->lock);
	free(h->phys);
	free(h);
}

HUGEDMA_EXPORT int hugedma_query(struct hugedma *h, struct hugedma_info *info)
{
	struct hugedma_info tmp;
	int ret;

	if (!h || !info)
		return -EINVAL;
	ret = hugedma_info_ioctl(h->fd, &tmp);
	if (!ret)
		*info = tmp;
	return ret;
}

HUGEDMA_EXPORT int hugedma_export_dmabuf_range(struct hugedma *h, int flags, uint64_t offset,
					       uint64_t length, int *fd)
{
	struct hugedma_export arg = { .argsz = sizeof(arg) };

	if (!h || !fd || (flags & ~(O_CLOEXEC | O_ACCMODE)) ||
	    (flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	arg.flags = (uint32_t)flags;
	arg.offset = offset;
	arg.length = length;
	if (ioctl(h->fd, HUGEDMA_IOC_EXPORT_DMABUF, &arg))
		return -errno;
	*fd = arg.fd;
	return 0;
}

HUGEDMA_EXPORT int hugedma_export_dmabuf(struct hugedma *h, int flags, int *fd)
{
	return hugedma_export_dmabuf_range(h, flags, 0, 0, fd);
}

HUGEDMA_EXPORT int hugedma_map(struct hugedma *h, uint64_t offset, size_t length, int prot,
			       void **addr)
{
	void *p;

	if (!h || !addr || !(prot & PROT_READ) || (prot & ~(PROT_READ | PROT_WRITE)))
		return -EINVAL;
	if (offset >= h->size || offset % h->page_size)
		return -EINVAL;
	if (!length) {
		if (h->size - offset > SIZE_MAX)
			return -ENOMEM;	/* cannot be mapped whole on this machine */
		length = h->size - offset;
	}
	if (length % h->page_size || length > h->size - offset)
		return -EINVAL;
	p = mmap(NULL, length, prot, MAP_SHARED, h->fd, (off_t)offset);
	if (p == MAP_FAILED)
		return -errno;
	*addr = p;
	return 0;
}

HUGEDMA_EXPORT int hugedma_unmap(struct hugedma *h, void *addr, size_t length)
{
	if (!h || !addr || !length || (uintptr_t)addr % h->page_size || length % h->page_size)
		return -EINVAL;
	if (munmap(addr, length))
		return -errno;
	return 0;
}

HUGEDMA_EXPORT int hugedma_device_path(char *buf, size_t len, const char *name)
{
	if (!buf || (name && hugedma_name_check(name)))
		return -EINVAL;
	if (!name)
		return hugedma__path(buf, len, "%s", HUGEDMA_CONTROL);
	return hugedma__path(buf, len, HUGEDMA_DEV_DIR "/%s", name);
}
