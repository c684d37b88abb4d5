// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma: /dev/hugedma/NAME, the char device of an enabled buffer.
 *
 * One cdev covers every minor; an xarray maps a minor to its buffer while the
 * buffer is enabled.  An open file holds a buffer reference and counts as a
 * user (disable fails with -EBUSY); so does any VMA mapping the pages, which
 * outlives the file.  mmap is the buffer's (buffer.c), which hands the VMA to
 * hugetlbfs (backing.c), so the mapping has 1 GB page-table entries and
 * hugedma code is not on its fault path: a mapping does not pin the module,
 * but it keeps the buffer enabled, and an enabled buffer keeps its configfs
 * directory, which keeps the module.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cdev.h>
#include <linux/dma-buf.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include <uapi/hugedma.h>

#include "hugedma.h"

#define HUGEDMA_MINORS	BIT(16)

static dev_t hugedma_devt;
static struct cdev hugedma_cdev;
static DEFINE_XARRAY_ALLOC1(hugedma_minors);

static_assert(sizeof(struct hugedma_info) == HUGEDMA_INFO_SIZE_VER0);
static_assert(sizeof(struct hugedma_export) == HUGEDMA_EXPORT_SIZE_VER1);
static_assert(sizeof_field(struct hugedma_info, name) > HUGEDMA_NAME_MAX);

static int hugedma_cdev_open(struct inode *inode, struct file *file)
{
	struct hugedma_buffer *buf;
	int ret;

	xa_lock(&hugedma_minors);
	buf = xa_load(&hugedma_minors, iminor(inode));
	if (buf)	/* listed only while enabled, so still alive */
		hugedma_buffer_get(buf);
	xa_unlock(&hugedma_minors);
	if (!buf)
		return -ENODEV;

	ret = hugedma_buffer_hold(buf, HUGEDMA_USER_OPEN);
	if (ret) {
		hugedma_buffer_put(buf);
		return ret;
	}
	file->private_data = buf;
	return nonseekable_open(inode, file);
}

static int hugedma_cdev_release(struct inode *inode, struct file *file)
{
	struct hugedma_buffer *buf = file->private_data;

	hugedma_buffer_release_hold(buf, HUGEDMA_USER_OPEN);
	hugedma_buffer_put(buf);
	return 0;
}

static int hugedma_cdev_mmap(struct file *file, struct vm_area_struct *vma)
{
	return hugedma_buffer_mmap(file->private_data, vma);
}

static unsigned long hugedma_cdev_get_unmapped_area(struct file *file, unsigned long addr,
						    unsigned long len, unsigned long pgoff,
						    unsigned long flags)
{
	return hugedma_buffer_get_unmapped_area(file->private_data, addr, len, pgoff, flags);
}

static long hugedma_ioctl_info(struct hugedma_buffer *buf, void __user *uarg)
{
	struct hugedma_info info = {};
	u32 argsz, flags;

	if (get_user(argsz, (u32 __user *)uarg) ||
	    get_user(flags, (u32 __user *)(uarg + offsetof(struct hugedma_info, flags))))
		return -EFAULT;
	if (argsz < HUGEDMA_INFO_SIZE_VER0 || flags)
		return -EINVAL;

	info.argsz = sizeof(info);
	hugedma_buffer_info(buf, &info);
	if (copy_to_user(uarg, &info, min_t(size_t, argsz, sizeof(info))))
		return -EFAULT;
	return 0;
}

/*
 * A dma-buf of the whole buffer, or of the range offset and length give (a
 * caller of the first version, argsz 16, gets them as 0: the whole buffer).
 * A dma-buf may grant no more than the file it is exported from: a writable
 * one (O_WRONLY or O_RDWR) needs a file open for writing (-EACCES).  The fd is
 * reserved first and installed last, once the caller has been told its
 * number: a fault copying it out (-EFAULT) leaves no fd behind.
 */
static long hugedma_ioctl_export(struct file *file, struct hugedma_buffer *buf,
				 void __user *uarg)
{
	struct hugedma_export arg;
	struct dma_buf *dmabuf;
	u32 argsz;
	int ret, fd;

	if (get_user(argsz, (u32 __user *)uarg))
		return -EFAULT;
	if (argsz < HUGEDMA_EXPORT_SIZE_VER0)
		return -EINVAL;
	ret = copy_struct_from_user(&arg, sizeof(arg), uarg, argsz);
	if (ret)
		return ret;
	if (arg.flags & ~(O_CLOEXEC | O_ACCMODE) || arg.fd || arg.reserved)
		return -EINVAL;
	if ((arg.flags & O_ACCMODE) != O_RDONLY && !(file->f_mode & FMODE_WRITE))
		return -EACCES;

	fd = get_unused_fd_flags(arg.flags & O_CLOEXEC);
	if (fd < 0)
		return fd;
	dmabuf = hugedma_dmabuf_export(buf, arg.flags, arg.offset, arg.length);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto out_put_fd;
	}
	if (put_user(fd, (s32 __user *)(uarg + offsetof(struct hugedma_export, fd)))) {
		ret = -EFAULT;
		goto out_put_dmabuf;
	}
	fd_install(fd, dmabuf->file);
	return 0;

out_put_dmabuf:
	dma_buf_put(dmabuf);
out_put_fd:
	put_unused_fd(fd);
	return ret;
}

static long hugedma_cdev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct hugedma_buffer *buf = file->private_data;

	switch (cmd) {
	case HUGEDMA_IOC_INFO:
		return hugedma_ioctl_info(buf, (void __user *)arg);
	case HUGEDMA_IOC_EXPORT_DMABUF:
		return hugedma_ioctl_export(file, buf, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations hugedma_cdev_fops = {
	.owner = THIS_MODULE,
	.open = hugedma_cdev_open,
	.release = hugedma_cdev_release,
	.mmap = hugedma_cdev_mmap,
	.get_unmapped_area = hugedma_cdev_get_unmapped_area,
	.unlocked_ioctl = hugedma_cdev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/* Give an enabling buffer a minor; its device node appears with its class device. */
int hugedma_chardev_add(struct hugedma_buffer *buf, dev_t *devt)
{
	u32 minor;
	int ret;

	ret = xa_alloc(&hugedma_minors, &minor, buf, XA_LIMIT(1, HUGEDMA_MINORS - 1),
		       GFP_KERNEL);
	if (ret)
		return ret == -EBUSY ? -ENOSPC : ret;
	*devt = MKDEV(MAJOR(hugedma_devt), minor);
	return 0;
}

/* After this, no new open finds the buffer. */
void hugedma_chardev_del(dev_t devt)
{
	xa_erase(&hugedma_minors, MINOR(devt));
}

int hugedma_chardev_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&hugedma_devt, 0, HUGEDMA_MINORS, KBUILD_MODNAME);
	if (ret)
		return ret;
	cdev_init(&hugedma_cdev, &hugedma_cdev_fops);
	ret = cdev_add(&hugedma_cdev, hugedma_devt, HUGEDMA_MINORS);
	if (ret)
		goto out_unregister_region;
	return 0;

out_unregister_region:
	unregister_chrdev_region(hugedma_devt, HUGEDMA_MINORS);
	return ret;
}

void hugedma_chardev_exit(void)
{
	cdev_del(&hugedma_cdev);
	unregister_chrdev_region(hugedma_devt, HUGEDMA_MINORS);
}
