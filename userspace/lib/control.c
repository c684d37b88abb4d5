// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libhugedma: /dev/hugedma/control, importing the caller's hugetlb memory.
 *
 * An import lives as long as the control file stays open.  The descriptor is
 * close-on-exec; a fork()ed child shares it, and then the import lasts until
 * every copy is closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"

HUGEDMA_EXPORT int hugedma_control_open(struct hugedma_control **out)
{
	struct hugedma_control *ctl;
	int fd;

	if (!out)
		return -EINVAL;
	ctl = malloc(sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	fd = open(HUGEDMA_CONTROL, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int ret = -errno;

		free(ctl);
		return ret;
	}
	ctl->fd = fd;
	*out = ctl;
	return 0;
}

HUGEDMA_EXPORT void hugedma_control_close(struct hugedma_control *ctl)
{
	if (!ctl)
		return;
	close(ctl->fd);
	free(ctl);
}

HUGEDMA_EXPORT int hugedma_import(struct hugedma_control *ctl, const char *name, void *addr,
				  size_t length)
{
	struct hugedma_import arg;

	if (!ctl || !addr || hugedma_name_check(name))
		return -EINVAL;
	memset(&arg, 0, sizeof(arg));
	arg.argsz = sizeof(arg);
	arg.addr = (uintptr_t)addr;
	arg.length = length;
	strcpy(arg.name, name);	/* checked: at most HUGEDMA_NAME_LEN with the NUL */
	if (ioctl(ctl->fd, HUGEDMA_IOC_IMPORT, &arg))
		return -errno;
	return 0;
}
