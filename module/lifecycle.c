// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma: a buffer's life, one floor above the buffer object and its views.
 *
 *   enable 1: disabled -> enabling -> enabled  (pages taken, device published)
 *   enable 0: enabled -> disabling -> disabled (device removed, pages returned)
 *   import:   enabling -> enabled on pinned user pages; retired (disabled, its
 *             name given back) when its importer and last user are gone
 *
 * The buffer (buffer.c) keeps the state and says which transition a request
 * makes; this file does the work in between: it takes the pages (backing.c),
 * publishes them as the char device (chardev.c) and the class device
 * (sysfs.c), and takes all that down again, attachments' directories first
 * (attach.c).  configfs and the control device only dispatch to it, as
 * nvmet's configfs does to its core's nvmet_ns_enable()/nvmet_ns_disable().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/printk.h>

#include "hugedma.h"

static int hugedma_publish(struct hugedma_buffer *buf)
{
	int ret;

	ret = hugedma_chardev_add(buf, &buf->devt);
	if (ret)
		return ret;
	ret = hugedma_sysfs_publish(buf);
	if (ret)
		hugedma_chardev_del(buf->devt);
	return ret;
}

/* Waits for sysfs readers, so it runs without buf->lock. */
static void hugedma_unpublish(struct hugedma_buffer *buf)
{
	hugedma_att_unpublish_all(buf);
	hugedma_sysfs_unpublish(buf);
	hugedma_chardev_del(buf->devt);
}

/*
 * Take the pages and publish them.  Returns 0 when this call enabled the
 * buffer, 1 when it was enabled already, or a negative errno with nothing
 * taken: -EINVAL without a size, -EBUSY during another transition, -ENOSPC
 * when the pool is short (or, for a contiguous buffer, holds no run of
 * physically contiguous pages long enough), -EINTR on a fatal signal.
 */
int hugedma_enable(struct hugedma_buffer *buf)
{
	struct hugedma_pages *pages;
	unsigned int shift;
	unsigned long nr;
	int ret;

	ret = hugedma_buffer_begin(buf, HUGEDMA_EV_ENABLE);
	if (ret)
		return ret;
	/* enabling: the configuration is frozen until the transition ends */
	shift = hugedma_buffer_page_shift(buf);
	nr = hugedma_buffer_size(buf) >> shift;

	/* no lock held: this zeroes nr huge pages */
	pages = hugedma_pages_alloc_contiguous(buf->name, shift, nr, hugedma_buffer_node(buf),
					       hugedma_buffer_contiguous(buf));
	if (IS_ERR(pages)) {
		ret = PTR_ERR(pages);
		goto out_failed;
	}
	hugedma_buffer_set_pages(buf, pages);
	ret = hugedma_publish(buf);
	if (ret)
		goto out_free_pages;

	hugedma_buffer_finish(buf, HUGEDMA_EV_DONE);
	pr_info("%s: enabled, %lu x %lu MiB pages on node %d\n", buf->name, nr,
		1UL << (shift - 20), pages->nid);
	return 0;

out_free_pages:
	hugedma_pages_free(hugedma_buffer_take_pages(buf));
out_failed:
	hugedma_buffer_finish(buf, HUGEDMA_EV_FAILED);
	return ret;
}

/*
 * Unpublish and return every page to the pool.  Returns 0 when this call
 * disabled the buffer, 1 when it was disabled already, -EBUSY during another
 * transition or while anything uses the buffer: an open char device file, a
 * user mapping of its pages, a mapped attachment, a kernel user, a dma-buf.
 */
int hugedma_disable(struct hugedma_buffer *buf)
{
	int ret;

	ret = hugedma_buffer_begin(buf, HUGEDMA_EV_DISABLE);
	if (ret)
		return ret;
	hugedma_unpublish(buf);
	hugedma_pages_free(hugedma_buffer_take_pages(buf));
	hugedma_buffer_finish(buf, HUGEDMA_EV_DONE);
	if (!buf->heap)		/* heap allocations come and go unlogged */
		pr_info("%s: disabled\n", buf->name);
	return 0;
}

/*
 * An imported buffer whose importer and users are all gone (the buffer's
 * retire callback): unpin, free the name.
 */
static void hugedma_retire(struct hugedma_buffer *buf)
{
	if (hugedma_disable(buf) == 0)
		hugedma_buffer_unlist(buf);
}

/* A buffer created enabling on its pages: publish it, or undo its creation. */
static int hugedma_publish_created(struct hugedma_buffer *buf)
{
	int ret;

	ret = hugedma_publish(buf);
	if (ret) {
		hugedma_buffer_take_pages(buf);
		hugedma_buffer_finish(buf, HUGEDMA_EV_FAILED);
		hugedma_buffer_unlist(buf);
		hugedma_buffer_put(buf);
		return ret;
	}
	hugedma_buffer_finish(buf, HUGEDMA_EV_DONE);
	return 0;
}

/*
 * An imported buffer: enabled from the start on pages pinned in a user
 * mapping, which it owns from here on success (on failure they stay the
 * caller's).  It lasts until its importer is gone and nothing uses it
 * (hugedma_buffer_importer_gone()).
 */
struct hugedma_buffer *hugedma_enable_imported(const char *name, struct hugedma_pages *pages)
{
	struct hugedma_buffer *buf;
	int ret;

	buf = hugedma_buffer_create_user(name, pages, hugedma_retire);
	if (IS_ERR(buf))
		return buf;
	ret = hugedma_publish_created(buf);
	if (ret)
		return ERR_PTR(ret);
	pr_info("%s: imported, %lu x %lu MiB pages on node %d\n", buf->name, pages->nr,
		1UL << (pages->shift - 20), pages->nid);
	return buf;
}

/*
 * A dma-heap allocation (heap.c): as an imported buffer, on pool pages the
 * caller took, ending through @retire.  Not logged: any process allowed to
 * open the heap makes them.
 */
struct hugedma_buffer *hugedma_enable_heap(const char *name, struct hugedma_pages *pages,
					   void (*retire)(struct hugedma_buffer *buf))
{
	struct hugedma_buffer *buf;
	int ret;

	buf = hugedma_buffer_create_heap(name, pages, retire);
	if (IS_ERR(buf))
		return buf;
	ret = hugedma_publish_created(buf);
	return ret ? ERR_PTR(ret) : buf;
}
