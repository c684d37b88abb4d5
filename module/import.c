// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma: /dev/hugedma/control, importing user hugetlb memory as buffers.
 *
 * This is the classic flow done right: a process gets 1 GB pages (e.g. from
 * libhugetlbfs' get_huge_pages()), hands the range to hugedma, and hugedma
 * pins it and publishes it like a pool buffer, addresses and all.  The pins
 * last until this file is closed and the buffer's last user lets go.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include <uapi/hugedma.h>

#include "hugedma.h"

static_assert(sizeof(struct hugedma_import) == HUGEDMA_IMPORT_SIZE_VER0);

/* One open control file: the buffers it imported, each with a reference. */
struct hugedma_importer {
	struct xarray buffers;
};

static int hugedma_control_open(struct inode *inode, struct file *file)
{
	struct hugedma_importer *imp;

	imp = kzalloc(sizeof(*imp), GFP_KERNEL);
	if (!imp)
		return -ENOMEM;
	xa_init_flags(&imp->buffers, XA_FLAGS_ALLOC);
	file->private_data = imp;
	return nonseekable_open(inode, file);
}

static int hugedma_control_release(struct inode *inode, struct file *file)
{
	struct hugedma_importer *imp = file->private_data;
	struct hugedma_buffer *buf;
	unsigned long id;

	xa_for_each(&imp->buffers, id, buf) {
		hugedma_buffer_importer_gone(buf);
		hugedma_buffer_put(buf);
	}
	xa_destroy(&imp->buffers);
	kfree(imp);
	return 0;
}

static long hugedma_ioctl_import(struct hugedma_importer *imp, void __user *uarg)
{
	struct hugedma_import arg;
	struct hugedma_pages *pages;
	struct hugedma_buffer *buf;
	u32 argsz, id;
	int ret;

	if (get_user(argsz, (u32 __user *)uarg))
		return -EFAULT;
	if (argsz < HUGEDMA_IMPORT_SIZE_VER0)
		return -EINVAL;
	ret = copy_struct_from_user(&arg, sizeof(arg), uarg, argsz);
	if (ret)
		return ret;
	if (arg.flags || strnlen(arg.name, sizeof(arg.name)) == sizeof(arg.name) ||
	    !hugedma_name_valid(arg.name))
		return -EINVAL;
	if (arg.addr != untagged_addr(arg.addr) || arg.length > ULONG_MAX)
		return -EINVAL;

	pages = hugedma_pages_pin(arg.addr, arg.length);
	if (IS_ERR(pages))
		return PTR_ERR(pages);
	buf = hugedma_enable_imported(arg.name, pages);
	if (IS_ERR(buf)) {
		hugedma_pages_free(pages);
		return PTR_ERR(buf);
	}
	/* the buffer owns the pages from here; this file owns a reference */
	ret = xa_alloc(&imp->buffers, &id, buf, xa_limit_32b, GFP_KERNEL);
	if (ret) {
		hugedma_buffer_importer_gone(buf);
		hugedma_buffer_put(buf);
		return ret;
	}
	return 0;
}

static long hugedma_control_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case HUGEDMA_IOC_IMPORT:
		return hugedma_ioctl_import(file->private_data, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations hugedma_control_fops = {
	.owner = THIS_MODULE,
	.open = hugedma_control_open,
	.release = hugedma_control_release,
	.unlocked_ioctl = hugedma_control_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/*
 * The name's '!' stands for '/': should the node name's allocation fail, the
 * driver core falls back to the device name, which must not become a node
 * /dev/hugedma in place of the directory every buffer's node goes in.
 */
static struct miscdevice hugedma_control = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "hugedma!control",
	.nodename = "hugedma/control",
	.mode = 0600,
	.fops = &hugedma_control_fops,
};

int hugedma_import_init(void)
{
	return misc_register(&hugedma_control);
}

void hugedma_import_exit(void)
{
	misc_deregister(&hugedma_control);
}
