// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma: the buffer object: its name, its configuration and setters, the
 * holds of its users, its attachment list, and the state machine's bookkeeping.
 *
 * Which transition a request makes is hugedma_state_next()'s table (state.c);
 * hugedma_buffer_begin() applies it under buf->lock and hugedma_buffer_finish()
 * ends it.  The work in between (taking pages, publishing, unpublishing) is
 * lifecycle.c's, one floor up: nothing here calls upward.  buf->lock guards the
 * fields and the transitions but is never held while pages are taken or
 * zeroed: the transient states keep every other mutator out (-EBUSY) instead,
 * so one slow enable blocks nothing else, and two buffers enable in parallel.
 *
 * An imported buffer ends when its importer and its last user are gone: the
 * release that sees that calls the retire callback it was created with, as a
 * dma-buf's release or a uio device's release are called, not a function of a
 * floor above.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/numa.h>
#include <linux/pid.h>
#include <linux/sched.h>
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
	INIT_LIST_HEAD(&buf->heap_orphan);
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
void hugedma_buffer_finish(struct hugedma_buffer *buf, enum hugedma_event event)
{
	enum hugedma_state next;

	mutex_lock(&buf->lock);
	if (!WARN_ON(hugedma_state_next(buf->state, event, buf->size, false, &next)))
		buf->state = next;
	mutex_unlock(&buf->lock);
}

/*
 * An imported buffer, enabling from the start on pages pinned in a user
 * mapping (which the caller keeps until it publishes them), that ends through
 * @retire once its importer is gone and nothing uses it.
 */
struct hugedma_buffer *hugedma_buffer_create_user(const char *name,
						  struct hugedma_pages *pages,
						  void (*retire)(struct hugedma_buffer *buf))
{
	struct hugedma_buffer *buf;

	buf = hugedma_buffer_alloc(name);
	if (IS_ERR(buf))
		return buf;
	buf->user = true;
	buf->importer = true;
	buf->retire = retire;
	buf->page_shift = pages->shift;
	buf->size = (u64)pages->nr << pages->shift;
	buf->numa_node = pages->nid;
	buf->pages = pages;
	buf->state = HUGEDMA_ENABLING;
	buf->pid = get_task_pid(current, PIDTYPE_TGID);
	return buf;
}

/*
 * A dma-heap allocation: as an imported buffer (it ends through @retire with
 * its last user), but of pool pages.
 */
struct hugedma_buffer *hugedma_buffer_create_heap(const char *name,
						  struct hugedma_pages *pages,
						  void (*retire)(struct hugedma_buffer *buf))
{
	struct hugedma_buffer *buf;

	buf = hugedma_buffer_create_user(name, pages, retire);
	if (IS_ERR(buf))
		return buf;
	buf->heap = true;
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
		!list_empty(&buf->attachments) || !list_empty(&buf->heap_orphan));
	hugedma_buffer_unlist(buf);
	put_pid(buf->pid);
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

/* contiguous: 1 requires one physical extent at enable (ENOSPC when none is found) */
int hugedma_buffer_set_contiguous(struct hugedma_buffer *buf, bool contiguous)
{
	int ret = 0;

	mutex_lock(&buf->lock);
	if (buf->state != HUGEDMA_DISABLED)
		ret = -EBUSY;
	else
		buf->contiguous = contiguous;
	mutex_unlock(&buf->lock);
	return ret;
}

bool hugedma_buffer_contiguous(struct hugedma_buffer *buf)
{
	bool contiguous;

	mutex_lock(&buf->lock);
	contiguous = buf->contiguous;
	mutex_unlock(&buf->lock);
	return contiguous;
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
 * Start the transition @event (enable or disable) asks for: 0 when this call
 * started it (the buffer is enabling or disabling now, its configuration
 * frozen until hugedma_buffer_finish()), 1 when the buffer is there already,
 * or the table's errno: -EINVAL to enable without a size, -EBUSY during
 * another transition or, to disable, while anything uses the buffer.
 */
int hugedma_buffer_begin(struct hugedma_buffer *buf, enum hugedma_event event)
{
	enum hugedma_state next;
	int ret;

	mutex_lock(&buf->lock);
	ret = hugedma_state_next(buf->state, event, buf->size,
				 event == HUGEDMA_EV_DISABLE && hugedma_buffer_in_use(buf),
				 &next);
	if (!ret)
		buf->state = next;
	if (!ret && event == HUGEDMA_EV_ENABLE) {
		/* sysfs' pid: the enabling process (the class device is not there yet) */
		put_pid(buf->pid);
		buf->pid = get_task_pid(current, PIDTYPE_TGID);
	}
	mutex_unlock(&buf->lock);
	return ret;
}

/* The pages an enabling buffer took; from here sysfs and mmap reach them. */
void hugedma_buffer_set_pages(struct hugedma_buffer *buf, struct hugedma_pages *pages)
{
	mutex_lock(&buf->lock);
	buf->pages = pages;
	mutex_unlock(&buf->lock);
}

/* A disabling (or failed) buffer's pages, handed back to the caller. */
struct hugedma_pages *hugedma_buffer_take_pages(struct hugedma_buffer *buf)
{
	struct hugedma_pages *pages;

	mutex_lock(&buf->lock);
	pages = buf->pages;
	buf->pages = NULL;
	mutex_unlock(&buf->lock);
	return pages;
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

/*
 * After any user lets go: an imported buffer ends with its last user, through
 * the retire callback it was created with (which disables it and gives its
 * name back).
 */
void hugedma_buffer_maybe_retire(struct hugedma_buffer *buf)
{
	bool last;

	mutex_lock(&buf->lock);
	last = buf->user && buf->state == HUGEDMA_ENABLED && hugedma_buffer_idle(buf);
	mutex_unlock(&buf->lock);
	if (last)
		buf->retire(buf);
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
	info->source = buf->heap ? HUGEDMA_SOURCE_HEAP :
		       buf->user ? HUGEDMA_SOURCE_USER : HUGEDMA_SOURCE_POOL;
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

/* Names the next dma-buf attachment of the buffer: DEVICE-dmabufN. */
unsigned int hugedma_buffer_next_dmabuf_seq(struct hugedma_buffer *buf)
{
	unsigned int seq;

	mutex_lock(&buf->lock);
	seq = ++buf->dmabuf_seq;
	mutex_unlock(&buf->lock);
	return seq;
}

/*
 * MAP_SHARED only (a private mapping would be fresh pool pages, not the
 * buffer), offset and length in whole pages of the buffer's page size, inside
 * the buffer.  For the char device and dma-bufs; the caller's open file or
 * dma-buf keeps the buffer enabled, so its pages stay.
 */
int hugedma_buffer_mmap(struct hugedma_buffer *buf, struct vm_area_struct *vma)
{
	struct hugedma_pages *pages = buf->pages;
	u64 page_mask = (1ULL << pages->shift) - 1;
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	u64 len = vma->vm_end - vma->vm_start;
	u64 size = (u64)pages->nr << pages->shift;

	/* VM_MAYSHARE: a read-only MAP_SHARED of an O_RDONLY file lacks VM_SHARED */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if ((off & page_mask) || (len & page_mask) || (vma->vm_start & page_mask))
		return -EINVAL;
	if (off > size || len > size - off)
		return -EINVAL;
	return hugedma_pages_mmap(pages, vma);
}

/* Huge-page aligned addresses for a mapping of the buffer (as hugetlbfs gives). */
unsigned long hugedma_buffer_get_unmapped_area(struct hugedma_buffer *buf, unsigned long addr,
					       unsigned long len, unsigned long pgoff,
					       unsigned long flags)
{
	return hugedma_pages_get_unmapped_area(buf->pages, addr, len, pgoff, flags);
}
