// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma: the buffer object and its state machine.
 *
 *   enable 1: disabled -> enabling -> enabled  (pages taken, device published)
 *   enable 0: enabled -> disabling -> disabled (device removed, pages returned)
 *
 * Which transition a request makes is hugedma_state_next()'s table (state.c);
 * this file applies it under buf->lock and does the work in between.
 * buf->lock guards the fields and the transitions but is never held while
 * pages are taken or zeroed: the transient states keep every other mutator
 * out (-EBUSY) instead, so one slow enable blocks nothing else, and two
 * buffers enable in parallel.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/numa.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/stringhash.h>

#include <uapi/hugedma.h>

#include "hugedma.h"

/*
 * Every buffer's name, from configfs or imported: one namespace, as in
 * /sys/class/hugedma/NAME and /dev/hugedma/NAME.  The lock covers the table
 * only; it is never held across allocation.
 */
static DEFINE_MUTEX(hugedma_names_lock);
static DEFINE_HASHTABLE(hugedma_names, 10);

static int hugedma_buffer_list(struct hugedma_buffer *buf)
{
	u32 key = full_name_hash(NULL, buf->name, strlen(buf->name));
	struct hugedma_buffer *other;
	int ret = 0;

	mutex_lock(&hugedma_names_lock);
	hash_for_each_possible(hugedma_names, other, hnode, key) {
		if (!strcmp(other->name, buf->name)) {
			ret = -EEXIST;
			goto out_unlock;
		}
	}
	hash_add(hugedma_names, &buf->hnode, key);
out_unlock:
	mutex_unlock(&hugedma_names_lock);
	return ret;
}

/* Give the name back (rmdir, or an imported buffer's end); idempotent. */
void hugedma_buffer_unlist(struct hugedma_buffer *buf)
{
	mutex_lock(&hugedma_names_lock);
	hash_del(&buf->hnode);
	mutex_unlock(&hugedma_names_lock);
}

static struct hugedma_buffer *hugedma_buffer_alloc(const char *name)
{
	struct hugedma_buffer *buf;
	int ret;

	if (!hugedma_name_valid(name))
		return ERR_PTR(-EINVAL);
	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	kref_init(&buf->kref);
	INIT_HLIST_NODE(&buf->hnode);
	INIT_LIST_HEAD(&buf->attachments);
	mutex_init(&buf->lock);
	strscpy(buf->name, name, sizeof(buf->name));
	buf->numa_node = NUMA_NO_NODE;
	buf->state = HUGEDMA_DISABLED;
	ret = hugedma_buffer_list(buf);
	if (ret) {
		kfree(buf);
		return ERR_PTR(ret);
	}
	return buf;
}

/* A configfs buffer: disabled, no size, the largest supported page size. */
struct hugedma_buffer *hugedma_buffer_create(const char *name)
{
	struct hugedma_buffer *buf;

	buf = hugedma_buffer_alloc(name);
	if (IS_ERR(buf))
		return buf;
	buf->page_shift = hugedma_page_shift_supported(HUGEDMA_SHIFT_1G) ?
			  HUGEDMA_SHIFT_1G : HUGEDMA_SHIFT_2M;
	return buf;
}

/*
 * The transition under way ended (@event: done or failed): move on as the
 * table (state.c) says.  Only the caller that started it gets here, so the
 * table cannot refuse.
 */
static void hugedma_buffer_finish(struct hugedma_buffer *buf, enum hugedma_event event)
{
	enum hugedma_state next;

	mutex_lock(&buf->lock);
	if (!WARN_ON(hugedma_state_next(buf->state, event, buf->size, false, &next)))
		buf->state = next;
	mutex_unlock(&buf->lock);
}

static int hugedma_buffer_publish(struct hugedma_buffer *buf)
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

/*
 * An imported buffer: enabled from the start on pages pinned in a user
 * mapping, which it owns from here on success.  It lasts until its importer
 * is gone and nothing uses it (hugedma_buffer_importer_gone()).
 */
struct hugedma_buffer *hugedma_buffer_create_user(const char *name,
						  struct hugedma_pages *pages)
{
	struct hugedma_buffer *buf;
	int ret;

	buf = hugedma_buffer_alloc(name);
	if (IS_ERR(buf))
		return buf;
	buf->user = true;
	buf->importer = true;
	buf->page_shift = pages->shift;
	buf->size = (u64)pages->nr << pages->shift;
	buf->numa_node = pages->nid;
	buf->pages = pages;
	buf->state = HUGEDMA_ENABLING;
	ret = hugedma_buffer_publish(buf);
	if (ret) {
		buf->pages = NULL;
		hugedma_buffer_finish(buf, HUGEDMA_EV_FAILED);
		hugedma_buffer_unlist(buf);
		hugedma_buffer_put(buf);
		return ERR_PTR(ret);
	}
	hugedma_buffer_finish(buf, HUGEDMA_EV_DONE);
	pr_info("%s: imported, %lu x %lu MiB pages on node %d\n", buf->name, pages->nr,
		1UL << (pages->shift - 20), pages->nid);
	return buf;
}

void hugedma_buffer_get(struct hugedma_buffer *buf)
{
	kref_get(&buf->kref);
}

static void hugedma_buffer_release(struct kref *kref)
{
	struct hugedma_buffer *buf = container_of(kref, struct hugedma_buffer, kref);

	/* every path to the last reference disables first */
	WARN_ON(buf->state != HUGEDMA_DISABLED || buf->pages || buf->dev ||
		!list_empty(&buf->attachments));
	hugedma_buffer_unlist(buf);
	mutex_destroy(&buf->lock);
	kfree(buf);
}

void hugedma_buffer_put(struct hugedma_buffer *buf)
{
	kref_put(&buf->kref, hugedma_buffer_release);
}

/*
 * Setters: -EBUSY unless disabled.  Each validates against the others so that
 * a disabled buffer is always consistent (size a multiple of the page size).
 */
int hugedma_buffer_set_size(struct hugedma_buffer *buf, u64 size)
{
	int ret = 0;

	/* more than all memory can never be enabled, and bounds the page array */
	if (size > ((u64)totalram_pages() << PAGE_SHIFT))
		return -ERANGE;
	mutex_lock(&buf->lock);
	if (buf->state != HUGEDMA_DISABLED)
		ret = -EBUSY;
	else if (size & ((1ULL << buf->page_shift) - 1))
		ret = -EINVAL;
	else
		buf->size = size;
	mutex_unlock(&buf->lock);
	return ret;
}

int hugedma_buffer_set_page_shift(struct hugedma_buffer *buf, unsigned int shift)
{
	int ret = 0;

	if (!hugedma_page_shift_supported(shift))
		return -EOPNOTSUPP;
	mutex_lock(&buf->lock);
	if (buf->state != HUGEDMA_DISABLED)
		ret = -EBUSY;
	else if (buf->size & ((1ULL << shift) - 1))
		ret = -EINVAL;	/* the size set before is not a multiple of it */
	else
		buf->page_shift = shift;
	mutex_unlock(&buf->lock);
	return ret;
}

int hugedma_buffer_set_node(struct hugedma_buffer *buf, int nid)
{
	int ret = 0;

	if (nid != NUMA_NO_NODE &&
	    (nid < 0 || nid >= MAX_NUMNODES || !node_state(nid, N_MEMORY)))
		return -ENODEV;
	mutex_lock(&buf->lock);
	if (buf->state != HUGEDMA_DISABLED)
		ret = -EBUSY;
	else
		buf->numa_node = nid;
	mutex_unlock(&buf->lock);
	return ret;
}

/*
 * Take the pages and publish them.  Returns 0 when this call enabled the
 * buffer, 1 when it was enabled already, or a negative errno with nothing
 * taken: -EINVAL without a size, -EBUSY during another transition, -ENOSPC
 * when the pool is short, -EINTR on a signal.
 */
int hugedma_buffer_enable(struct hugedma_buffer *buf)
{
	enum hugedma_state next;
	struct hugedma_pages *pages;
	unsigned int shift;
	unsigned long nr;
	int nid, ret;

	mutex_lock(&buf->lock);
	ret = hugedma_state_next(buf->state, HUGEDMA_EV_ENABLE, buf->size, false, &next);
	if (ret) {
		mutex_unlock(&buf->lock);
		return ret;
	}
	shift = buf->page_shift;
	nr = buf->size >> shift;
	nid = buf->numa_node;
	buf->state = next;
	mutex_unlock(&buf->lock);

	/* no lock held: this zeroes nr huge pages */
	pages = hugedma_pages_alloc(buf->name, shift, nr, nid);
	if (IS_ERR(pages)) {
		ret = PTR_ERR(pages);
		goto out_disabled;
	}

	mutex_lock(&buf->lock);
	buf->pages = pages;
	mutex_unlock(&buf->lock);

	ret = hugedma_buffer_publish(buf);
	if (ret)
		goto out_free_pages;

	hugedma_buffer_finish(buf, HUGEDMA_EV_DONE);
	pr_info("%s: enabled, %lu x %lu MiB pages on node %d\n", buf->name, nr,
		1UL << (shift - 20), pages->nid);
	return 0;

out_free_pages:
	mutex_lock(&buf->lock);
	buf->pages = NULL;
	mutex_unlock(&buf->lock);
	hugedma_pages_free(pages);
out_disabled:
	hugedma_buffer_finish(buf, HUGEDMA_EV_FAILED);
	return ret;
}

/*
 * Anything that keeps an enabled buffer enabled: an open char device file, a
 * user mapping of its pages, a mapped attachment, a kernel user, a dma-buf,
 * the importer of a user buffer.
 */
static bool hugedma_buffer_in_use(struct hugedma_buffer *buf)
{
	lockdep_assert_held(&buf->lock);
	return buf->nr_open || buf->importer || buf->nr_mapped || buf->nr_kernel ||
	       buf->nr_dmabufs || (buf->pages && hugedma_pages_mapped(buf->pages));
}

/*
 * Drop the sysfs directories that removed attachments kept, before the device
 * goes.  Disabling cannot fail (a directory left here would outlive the
 * device it sits in), so the attachments are linked through their own list
 * node rather than copied into an array: only the one disable of the buffer
 * under way uses it.
 */
static void hugedma_buffer_unpublish_atts(struct hugedma_buffer *buf)
{
	struct hugedma_attachment *att, *next;
	LIST_HEAD(gone);

	mutex_lock(&buf->lock);
	list_for_each_entry(att, &buf->attachments, node) {
		hugedma_att_get(att);
		list_add_tail(&att->gone, &gone);
	}
	mutex_unlock(&buf->lock);
	list_for_each_entry_safe(att, next, &gone, gone) {
		list_del_init(&att->gone);
		hugedma_att_buffer_gone(att);
		hugedma_att_put(att);
	}
}

/*
 * Unpublish and return every page to the pool.  Returns 0 when this call
 * disabled the buffer, 1 when it was disabled already, -EBUSY during another
 * transition or while anything uses the buffer: an open char device file, a
 * user mapping of its pages, a mapped attachment, a kernel user, a dma-buf.
 */
int hugedma_buffer_disable(struct hugedma_buffer *buf)
{
	enum hugedma_state next;
	struct hugedma_pages *pages;
	int ret;

	mutex_lock(&buf->lock);
	ret = hugedma_state_next(buf->state, HUGEDMA_EV_DISABLE, buf->size,
				 hugedma_buffer_in_use(buf), &next);
	if (ret) {
		mutex_unlock(&buf->lock);
		return ret;
	}
	buf->state = next;
	mutex_unlock(&buf->lock);

	/* waits for sysfs readers, so it runs without buf->lock */
	hugedma_buffer_unpublish_atts(buf);
	hugedma_sysfs_unpublish(buf);
	hugedma_chardev_del(buf->devt);

	mutex_lock(&buf->lock);
	pages = buf->pages;
	buf->pages = NULL;
	mutex_unlock(&buf->lock);
	hugedma_pages_free(pages);

	hugedma_buffer_finish(buf, HUGEDMA_EV_DONE);
	pr_info("%s: disabled\n", buf->name);
	return 0;
}

u64 hugedma_buffer_size(struct hugedma_buffer *buf)
{
	u64 size;

	mutex_lock(&buf->lock);
	size = buf->size;
	mutex_unlock(&buf->lock);
	return size;
}

unsigned int hugedma_buffer_page_shift(struct hugedma_buffer *buf)
{
	unsigned int shift;

	mutex_lock(&buf->lock);
	shift = buf->page_shift;
	mutex_unlock(&buf->lock);
	return shift;
}

int hugedma_buffer_node(struct hugedma_buffer *buf)
{
	int nid;

	mutex_lock(&buf->lock);
	nid = buf->numa_node;
	mutex_unlock(&buf->lock);
	return nid;
}

enum hugedma_state hugedma_buffer_state(struct hugedma_buffer *buf)
{
	enum hugedma_state state;

	mutex_lock(&buf->lock);
	state = buf->state;
	mutex_unlock(&buf->lock);
	return state;
}

/* A new user of an enabled buffer, which stays enabled until it goes. */
int hugedma_buffer_hold(struct hugedma_buffer *buf, enum hugedma_user user)
{
	int ret = 0;

	mutex_lock(&buf->lock);
	if (buf->state != HUGEDMA_ENABLED)
		ret = -ENODEV;
	else if (user == HUGEDMA_USER_OPEN)
		buf->nr_open++;
	else if (user == HUGEDMA_USER_KERNEL)
		buf->nr_kernel++;
	else
		buf->nr_dmabufs++;
	mutex_unlock(&buf->lock);
	return ret;
}

static bool hugedma_buffer_idle(struct hugedma_buffer *buf)
{
	lockdep_assert_held(&buf->lock);
	return !buf->importer && !buf->nr_open && !buf->nr_mapped && !buf->nr_kernel &&
	       !buf->nr_dmabufs && list_empty(&buf->attachments);
}

/* An imported buffer whose importer and users are all gone: unpin, free the name. */
static void hugedma_buffer_retire(struct hugedma_buffer *buf)
{
	if (hugedma_buffer_disable(buf) == 0)
		hugedma_buffer_unlist(buf);
}

/* After any user lets go: an imported buffer ends with its last user. */
void hugedma_buffer_maybe_retire(struct hugedma_buffer *buf)
{
	bool last;

	mutex_lock(&buf->lock);
	last = buf->user && buf->state == HUGEDMA_ENABLED && hugedma_buffer_idle(buf);
	mutex_unlock(&buf->lock);
	if (last)
		hugedma_buffer_retire(buf);
}

void hugedma_buffer_release_hold(struct hugedma_buffer *buf, enum hugedma_user user)
{
	unsigned int *count = user == HUGEDMA_USER_OPEN ? &buf->nr_open :
			      user == HUGEDMA_USER_KERNEL ? &buf->nr_kernel : &buf->nr_dmabufs;

	mutex_lock(&buf->lock);
	if (!WARN_ON(!*count))
		(*count)--;
	mutex_unlock(&buf->lock);
	hugedma_buffer_maybe_retire(buf);
}

/* A buffer by name, with a reference, or NULL. */
struct hugedma_buffer *hugedma_buffer_find(const char *name)
{
	u32 key = full_name_hash(NULL, name, strlen(name));
	struct hugedma_buffer *buf;

	mutex_lock(&hugedma_names_lock);
	hash_for_each_possible(hugedma_names, buf, hnode, key) {
		if (!strcmp(buf->name, name)) {
			hugedma_buffer_get(buf);
			mutex_unlock(&hugedma_names_lock);
			return buf;
		}
	}
	mutex_unlock(&hugedma_names_lock);
	return NULL;
}

/* The importing file was closed: the buffer ends now, or with its last user. */
void hugedma_buffer_importer_gone(struct hugedma_buffer *buf)
{
	mutex_lock(&buf->lock);
	buf->importer = false;
	mutex_unlock(&buf->lock);
	hugedma_buffer_maybe_retire(buf);
}

void hugedma_buffer_info(struct hugedma_buffer *buf, struct hugedma_info *info)
{
	mutex_lock(&buf->lock);
	info->size = buf->size;
	info->page_size = 1ULL << buf->page_shift;
	info->nr_pages = buf->size >> buf->page_shift;
	info->numa_node = buf->pages ? buf->pages->nid : buf->numa_node;
	info->state = buf->state;
	info->source = buf->user ? HUGEDMA_SOURCE_USER : HUGEDMA_SOURCE_POOL;
	strscpy(info->name, buf->name, sizeof(info->name));
	mutex_unlock(&buf->lock);
}

/* An attachment is about to map: only an enabled buffer, and it stays enabled. */
int hugedma_buffer_use_mapping(struct hugedma_buffer *buf)
{
	int ret = 0;

	mutex_lock(&buf->lock);
	if (buf->state == HUGEDMA_ENABLED)
		buf->nr_mapped++;
	else
		ret = -EINVAL;
	mutex_unlock(&buf->lock);
	return ret;
}

void hugedma_buffer_unuse_mapping(struct hugedma_buffer *buf)
{
	mutex_lock(&buf->lock);
	WARN_ON(!buf->nr_mapped);
	buf->nr_mapped--;
	mutex_unlock(&buf->lock);
}

/* One attachment per name (the device's, for configfs and kernel users). */
int hugedma_buffer_add_att(struct hugedma_buffer *buf, struct hugedma_attachment *att)
{
	struct hugedma_attachment *other;
	int ret = 0;

	mutex_lock(&buf->lock);
	list_for_each_entry(other, &buf->attachments, node) {
		if (!strcmp(other->name, att->name)) {
			ret = -EEXIST;
			goto out_unlock;
		}
	}
	list_add_tail(&att->node, &buf->attachments);
out_unlock:
	mutex_unlock(&buf->lock);
	return ret;
}

void hugedma_buffer_del_att(struct hugedma_buffer *buf, struct hugedma_attachment *att)
{
	mutex_lock(&buf->lock);
	list_del_init(&att->node);
	mutex_unlock(&buf->lock);
}
