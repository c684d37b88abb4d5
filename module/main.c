// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma: huge DMA buffers backed by the hugetlb pool's 1 GB (or 2 MB) pages.
 *
 * Administrators create buffers under /sys/kernel/config/hugedma/buffers/,
 * enable them to take zeroed, pinned pages from the hugetlb pool, and find the
 * pages' addresses under /sys/class/hugedma/NAME/.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>

#include "hugedma.h"

static int __init hugedma_init(void)
{
	int ret;

	ret = hugedma_backing_init();
	if (ret)
		return ret;
	ret = hugedma_chardev_init();
	if (ret)
		goto out_backing_exit;
	ret = hugedma_class_init();
	if (ret)
		goto out_chardev_exit;
	ret = hugedma_attach_init();
	if (ret)
		goto out_class_exit;
	ret = hugedma_import_init();
	if (ret)
		goto out_attach_exit;
	ret = hugedma_configfs_init();
	if (ret)
		goto out_import_exit;
	/* last: a registered dma-heap cannot be taken back */
	hugedma_heap_init();
	return 0;

out_import_exit:
	hugedma_import_exit();
out_attach_exit:
	hugedma_attach_exit();
out_class_exit:
	hugedma_class_exit();
out_chardev_exit:
	hugedma_chardev_exit();
out_backing_exit:
	hugedma_backing_exit();
	return ret;
}

/*
 * configfs holds a module reference per buffer directory, an open control
 * file one for its imports, a dma-buf one, and registered dma-heaps one for
 * good: no buffer is left here.
 */
static void __exit hugedma_exit(void)
{
	hugedma_configfs_exit();
	hugedma_import_exit();
	hugedma_attach_exit();
	hugedma_class_exit();
	hugedma_chardev_exit();
	hugedma_backing_exit();
}

module_init(hugedma_init);
module_exit(hugedma_exit);

MODULE_DESCRIPTION("Huge DMA buffers backed by hugetlb pool pages");
MODULE_AUTHOR("The hugedma authors");
MODULE_LICENSE("GPL");
