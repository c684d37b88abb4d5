// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma: the "hugedma" class and, while a buffer is enabled, its device
 * /sys/class/hugedma/NAME with what the consuming driver needs to know.
 * One value per file; phys_addrs is one array of one type and root-only,
 * like /proc/PID/pagemap's frame numbers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/pid.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "compat.h"
#include "hugedma.h"

static struct class *hugedma_class;

/*
 * The device exists only between hugedma_sysfs_publish() and
 * hugedma_sysfs_unpublish(), while buf->pages is set and the configuration is
 * frozen by the enabled state; device removal waits for readers.
 */
static struct hugedma_buffer *to_buffer(struct device *dev)
{
	return dev_get_drvdata(dev);
}

static ssize_t size_show(struct device *dev, struct device_attribute *attr, char *page)
{
	struct hugedma_pages *pages = to_buffer(dev)->pages;

	return sysfs_emit(page, "%llu\n", (u64)pages->nr << pages->shift);
}
static DEVICE_ATTR_RO(size);

static ssize_t page_size_show(struct device *dev, struct device_attribute *attr,
			      char *page)
{
	return sysfs_emit(page, "%llu\n", 1ULL << to_buffer(dev)->pages->shift);
}
static DEVICE_ATTR_RO(page_size);

static ssize_t nr_pages_show(struct device *dev, struct device_attribute *attr,
			     char *page)
{
	return sysfs_emit(page, "%lu\n", to_buffer(dev)->pages->nr);
}
static DEVICE_ATTR_RO(nr_pages);

static ssize_t numa_node_show(struct device *dev, struct device_attribute *attr,
			      char *page)
{
	return sysfs_emit(page, "%d\n", to_buffer(dev)->pages->nid);
}
static DEVICE_ATTR_RO(numa_node);

static ssize_t state_show(struct device *dev, struct device_attribute *attr, char *page)
{
	return sysfs_emit(page, "%s\n",
			  hugedma_state_name(hugedma_buffer_state(to_buffer(dev))));
}
static DEVICE_ATTR_RO(state);

/* where the pages came from: "pool" (configfs), "user" (imported) or "heap" */
static ssize_t source_show(struct device *dev, struct device_attribute *attr, char *page)
{
	struct hugedma_buffer *buf = to_buffer(dev);

	return sysfs_emit(page, "%s\n", buf->heap ? "heap" : buf->user ? "user" : "pool");
}
static DEVICE_ATTR_RO(source);

/*
 * The process that enabled the buffer (wrote 1 to enable), imported it or
 * allocated it from a dma-heap, as the reader's PID namespace numbers it (0
 * outside it); it may have exited since.
 */
static ssize_t pid_show(struct device *dev, struct device_attribute *attr, char *page)
{
	return sysfs_emit(page, "%d\n", pid_vnr(to_buffer(dev)->pid));
}
static DEVICE_ATTR_RO(pid);

/* "0x" + 16 hex digits + "\n": fixed width, so line i starts at i * 19 */
#define HUGEDMA_ADDR_LINE	19

/* Binary attribute so that any number of pages fits, not one sysfs page. */
static ssize_t phys_addrs_read(struct file *file, struct kobject *kobj,
			       HUGEDMA_BIN_ATTR_CONST struct bin_attribute *attr, char *out,
			       loff_t off, size_t count)
{
	struct hugedma_pages *pages = to_buffer(kobj_to_dev(kobj))->pages;
	loff_t end = (loff_t)pages->nr * HUGEDMA_ADDR_LINE;
	char line[HUGEDMA_ADDR_LINE + 1];
	size_t done = 0;
	int ret;

	ret = hugedma_addrs_readable(file);
	if (ret)
		return ret;
	if (off >= end)
		return 0;
	count = min_t(loff_t, count, end - off);
	while (done < count) {
		unsigned long i = div_u64(off + done, HUGEDMA_ADDR_LINE);
		size_t skip = off + done - (loff_t)i * HUGEDMA_ADDR_LINE;
		size_t n = min(count - done, HUGEDMA_ADDR_LINE - skip);

		snprintf(line, sizeof(line), "0x%016llx\n",
			 (u64)hugedma_pages_phys(pages, i));
		memcpy(out + done, line + skip, n);
		done += n;
	}
	return done;
}
static BIN_ATTR_ADMIN_RO(phys_addrs, 0);

static ssize_t nr_extents_show(struct device *dev, struct device_attribute *attr,
			       char *page)
{
	return sysfs_emit(page, "%lu\n", to_buffer(dev)->pages->nr_extents);
}
static DEVICE_ATTR_RO(nr_extents);

static ssize_t hugedma_read_text(const char *text, size_t len, char *out, loff_t off,
				 size_t count)
{
	if (off >= len)
		return 0;
	count = min_t(size_t, count, len - off);
	memcpy(out, text + off, count);
	return count;
}

/* the extents: rendered at publish time, fixed while the device exists */
static ssize_t extent_addrs_read(struct file *file, struct kobject *kobj,
				 HUGEDMA_BIN_ATTR_CONST struct bin_attribute *attr, char *out,
				 loff_t off, size_t count)
{
	struct hugedma_buffer *buf = to_buffer(kobj_to_dev(kobj));
	int ret;

	ret = hugedma_addrs_readable(file);
	if (ret)
		return ret;
	return hugedma_read_text(buf->ext_addrs, buf->ext_addrs_len, out, off, count);
}
static BIN_ATTR_ADMIN_RO(extent_addrs, 0);

static ssize_t extent_lengths_read(struct file *file, struct kobject *kobj,
				   HUGEDMA_BIN_ATTR_CONST struct bin_attribute *attr, char *out,
				   loff_t off, size_t count)
{
	struct hugedma_buffer *buf = to_buffer(kobj_to_dev(kobj));

	return hugedma_read_text(buf->ext_lens, buf->ext_lens_len, out, off, count);
}
static BIN_ATTR_ADMIN_RO(extent_lengths, 0);

static struct attribute *hugedma_buffer_attrs[] = {
	&dev_attr_size.attr,
	&dev_attr_page_size.attr,
	&dev_attr_nr_pages.attr,
	&dev_attr_numa_node.attr,
	&dev_attr_state.attr,
	&dev_attr_source.attr,
	&dev_attr_nr_extents.attr,
	&dev_attr_pid.attr,
	NULL,
};

static HUGEDMA_BIN_ATTR_CONST struct bin_attribute *hugedma_buffer_bin_attrs[] = {
	&bin_attr_phys_addrs,
	&bin_attr_extent_addrs,
	&bin_attr_extent_lengths,
	NULL,
};

static const struct attribute_group hugedma_buffer_group = {
	.attrs = hugedma_buffer_attrs,
	.bin_attrs = hugedma_buffer_bin_attrs,
};

static const struct attribute_group *hugedma_buffer_groups[] = {
	&hugedma_buffer_group,
	NULL,
};

static void hugedma_free_extents_text(struct hugedma_buffer *buf)
{
	kvfree(buf->ext_addrs);
	kvfree(buf->ext_lens);
	buf->ext_addrs = NULL;
	buf->ext_lens = NULL;
	buf->ext_addrs_len = 0;
	buf->ext_lens_len = 0;
}

/* "0x%016llx\n" per extent for extent_addrs, "%llu\n" for extent_lengths */
static int hugedma_render_extents(struct hugedma_buffer *buf)
{
	const struct hugedma_pages *pages = buf->pages;
	size_t a = 0, l = 0;
	unsigned long i;

	/* overflow-checked: a size past SIZE_MAX fails the allocation */
	buf->ext_addrs = kvmalloc(size_add(array_size(pages->nr_extents, 19), 1), GFP_KERNEL);
	buf->ext_lens = kvmalloc(size_add(array_size(pages->nr_extents, 21), 1), GFP_KERNEL);
	if (!buf->ext_addrs || !buf->ext_lens) {
		hugedma_free_extents_text(buf);
		return -ENOMEM;
	}
	for (i = 0; i < pages->nr_extents; i++) {
		a += scnprintf(buf->ext_addrs + a, 20, "0x%016llx\n", pages->extents[i].addr);
		l += scnprintf(buf->ext_lens + l, 22, "%llu\n", pages->extents[i].len);
	}
	buf->ext_addrs_len = a;
	buf->ext_lens_len = l;
	return 0;
}

int hugedma_sysfs_publish(struct hugedma_buffer *buf)
{
	struct device *dev;
	int ret;

	ret = hugedma_render_extents(buf);
	if (ret)
		return ret;
	dev = device_create_with_groups(hugedma_class, NULL, buf->devt, buf,
					hugedma_buffer_groups, "%s", buf->name);
	if (IS_ERR(dev)) {
		hugedma_free_extents_text(buf);
		return PTR_ERR(dev);
	}
	/* like uio's maps/: a directory of per-attachment kobjects */
	buf->att_dir = kobject_create_and_add("attachments", &dev->kobj);
	if (!buf->att_dir) {
		device_unregister(dev);
		hugedma_free_extents_text(buf);
		return -ENOMEM;
	}
	mutex_lock(&buf->lock);
	buf->dev = dev;
	mutex_unlock(&buf->lock);
	return 0;
}

struct kobject *hugedma_sysfs_attachments_dir(struct hugedma_buffer *buf)
{
	return buf->att_dir;
}

void hugedma_sysfs_unpublish(struct hugedma_buffer *buf)
{
	struct device *dev;

	mutex_lock(&buf->lock);
	dev = buf->dev;
	buf->dev = NULL;
	mutex_unlock(&buf->lock);
	kobject_put(buf->att_dir);
	buf->att_dir = NULL;
	device_unregister(dev);	/* waits for readers */
	hugedma_free_extents_text(buf);
}

/* /dev/hugedma/NAME, root only; udev rules may change the group */
static char *hugedma_devnode(HUGEDMA_DEVNODE_CONST struct device *dev, umode_t *mode)
{
	if (mode)
		*mode = 0600;
	return kasprintf(GFP_KERNEL, "hugedma/%s", dev_name(dev));
}

int hugedma_class_init(void)
{
	hugedma_class = hugedma_class_create("hugedma");
	if (IS_ERR(hugedma_class))
		return PTR_ERR(hugedma_class);
	hugedma_class->devnode = hugedma_devnode;
	return 0;
}

void hugedma_class_exit(void)
{
	class_destroy(hugedma_class);
}
