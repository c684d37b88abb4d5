// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma: the dma-heaps hugedma-1g and hugedma-2m (/dev/dma_heap/), behind
 * the module parameter dma_heaps.
 *
 * DMA_HEAP_IOCTL_ALLOC on one of them makes a buffer of its own: pool pages
 * taken as an enable takes them (backing.c: zeroed, pinned long-term, placed
 * by the allocating task's memory policy when it has one), published in
 * sysfs as /sys/class/hugedma/HEAP-N (source "heap", with the allocating
 * pid) and exported as a dma-buf of the whole buffer (dmabuf.c), which is
 * its one user.  Like an imported buffer it ends with its last user: when the
 * dma-buf is released its pages go back to the pool.  A mapping of the
 * dma-buf maps the pages' hugetlbfs file, not the dma-buf (dmabuf.c), so it
 * outlives the dma-buf's release; a buffer whose dma-buf is gone while it is
 * still mapped waits on a list here, looked at twice a second, and ends once
 * the last mapping is gone.
 *
 * The pages are charged to the allocating process's locked memory, as an
 * import's pins are (RLIMIT_MEMLOCK without CAP_IPC_LOCK, VmLck), until they
 * are back in the pool.  A length is rounded up to whole pages of the heap.
 *
 * The kernel has no way to remove a dma-heap (no dma_heap_remove()): its
 * device node and ops stay for the kernel's life.  Once it registered one,
 * hugedma therefore holds a reference on itself and can no longer be
 * unloaded; hence the parameter, off by default.  Heaps exist where the
 * kernel exports dma_heap_add() as mainline does, in namespace DMA_BUF_HEAP
 * (Debian's 7.2; not 6.1, 6.12 or 5.10), which Kbuild finds in the kernel's
 * Module.symvers (HUGEDMA_HAVE_DMA_HEAP).  Elsewhere the module loads without
 * them and says so, once.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>

#include "compat.h"
#include "hugedma.h"

static bool dma_heaps;
module_param(dma_heaps, bool, 0444);
MODULE_PARM_DESC(dma_heaps,
		 "Register the dma-heaps hugedma-1g and hugedma-2m (/dev/dma_heap/) where the kernel exports dma_heap_add(); a dma-heap cannot be removed, so the module then stays loaded until reboot (default: off)");

#ifdef HUGEDMA_HAVE_DMA_HEAP

#include <linux/atomic.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/numa.h>
#include <linux/sched/mm.h>
#include <linux/workqueue.h>

HUGEDMA_IMPORT_NS(DMA_BUF_HEAP);

/* dma_heap_get_drvdata(): one per page size */
struct hugedma_heap {
	const char *name;		/* the heap's, and its buffers' names' prefix */
	unsigned int shift;
};

static struct hugedma_heap hugedma_heaps[] = {
	{ .name = "hugedma-1g", .shift = HUGEDMA_SHIFT_1G },
	{ .name = "hugedma-2m", .shift = HUGEDMA_SHIFT_2M },
};

/* names heap allocations HEAP-N, N from 1 across both heaps */
static atomic_long_t hugedma_heap_seq = ATOMIC_LONG_INIT(0);

/*
 * Released buffers still mapped: each with a reference, on its heap_orphan
 * node.  The lock covers the list only; the buffers are disabled without it.
 */
static DEFINE_MUTEX(hugedma_heap_orphans_lock);
static LIST_HEAD(hugedma_heap_orphans);
static void hugedma_heap_reap(struct work_struct *work);
static DECLARE_DELAYED_WORK(hugedma_heap_reaper, hugedma_heap_reap);
#define HUGEDMA_HEAP_REAP_DELAY	msecs_to_jiffies(500)

static void hugedma_heap_orphan(struct hugedma_buffer *buf)
{
	mutex_lock(&hugedma_heap_orphans_lock);
	if (list_empty(&buf->heap_orphan)) {
		hugedma_buffer_get(buf);
		list_add_tail(&buf->heap_orphan, &hugedma_heap_orphans);
	}
	mutex_unlock(&hugedma_heap_orphans_lock);
	schedule_delayed_work(&hugedma_heap_reaper, HUGEDMA_HEAP_REAP_DELAY);
}

/*
 * The buffer's retire callback (its last user let go) and the reaper's
 * retry: disable it, returning its pages, and give its name back.  -EBUSY
 * while enabled is a mapping of it (or a new open of its node, whose close
 * retires it again): try again later.
 */
static void hugedma_heap_retire(struct hugedma_buffer *buf)
{
	int ret = hugedma_disable(buf);

	if (!ret)
		hugedma_buffer_unlist(buf);
	else if (ret == -EBUSY && hugedma_buffer_state(buf) == HUGEDMA_ENABLED)
		hugedma_heap_orphan(buf);
}

static void hugedma_heap_reap(struct work_struct *work)
{
	struct hugedma_buffer *buf;
	LIST_HEAD(list);

	mutex_lock(&hugedma_heap_orphans_lock);
	list_splice_init(&hugedma_heap_orphans, &list);
	mutex_unlock(&hugedma_heap_orphans_lock);
	for (;;) {
		mutex_lock(&hugedma_heap_orphans_lock);
		buf = list_first_entry_or_null(&list, struct hugedma_buffer, heap_orphan);
		if (buf)
			list_del_init(&buf->heap_orphan);
		mutex_unlock(&hugedma_heap_orphans_lock);
		if (!buf)
			break;
		hugedma_heap_retire(buf);	/* back on the list if still mapped */
		hugedma_buffer_put(buf);	/* the list's reference */
	}
}

/*
 * One rate-limited line for a refused allocation, in the rejection format:
 * more than all memory or than the pool holds (-ENOSPC), past RLIMIT_MEMLOCK
 * (-ENOMEM).
 */
static void hugedma_heap_reject(const struct hugedma_heap *hh, unsigned long len, int ret)
{
	pr_warn_ratelimited("%s: rejected len '%lu': %pe\n", hh->name, len, ERR_PTR(ret));
}

/*
 * The buffer of one allocation's pages, named HEAP-N with the next N whose
 * name is free (a configfs buffer may have taken a name of that form).
 */
static struct hugedma_buffer *hugedma_heap_publish(const struct hugedma_heap *hh,
						   struct hugedma_pages *pages)
{
	struct hugedma_buffer *buf;
	char name[HUGEDMA_NAME_MAX + 1];
	int tries;

	for (tries = 0; tries < 64; tries++) {
		snprintf(name, sizeof(name), "%s-%ld", hh->name,
			 atomic_long_inc_return(&hugedma_heap_seq));
		buf = hugedma_enable_heap(name, pages, hugedma_heap_retire);
		if (PTR_ERR_OR_ZERO(buf) != -EEXIST)
			return buf;
	}
	return ERR_PTR(-EEXIST);
}

static struct dma_buf *hugedma_heap_allocate(struct dma_heap *heap, unsigned long len,
					     u32 fd_flags, u64 heap_flags)
{
	const struct hugedma_heap *hh = dma_heap_get_drvdata(heap);
	struct mm_struct *mm = current->mm;
	struct hugedma_pages *pages;
	struct hugedma_buffer *buf;
	struct dma_buf *dmabuf;
	unsigned long nr, span;
	int ret;

	/* the core refuses other flags (EINVAL) and an empty length before this */
	if (heap_flags || fd_flags & ~(O_CLOEXEC | O_ACCMODE))
		return ERR_PTR(-EINVAL);
	if (!mm)
		return ERR_PTR(-EOPNOTSUPP);
	/* more than all memory is never in the pool, and bounds the page array */
	if (len > ((u64)totalram_pages() << PAGE_SHIFT)) {
		hugedma_heap_reject(hh, len, -ENOSPC);
		return ERR_PTR(-ENOSPC);
	}
	nr = DIV_ROUND_UP(len, 1UL << hh->shift);
	span = nr << (hh->shift - PAGE_SHIFT);

	/* charged first, so that a process past its limit costs no zeroing */
	ret = account_locked_vm(mm, span, true);
	if (ret) {
		hugedma_heap_reject(hh, len, ret);
		return ERR_PTR(ret);
	}
	mmgrab(mm);
	/* no lock held: this zeroes nr huge pages, placed by current's policy */
	pages = hugedma_pages_alloc(hh->name, hh->shift, nr, NUMA_NO_NODE);
	if (IS_ERR(pages)) {
		ret = PTR_ERR(pages);
		if (ret == -ENOSPC)
			hugedma_heap_reject(hh, len, ret);
		account_locked_vm(mm, span, false);
		mmdrop(mm);
		return ERR_CAST(pages);
	}
	/* the pages carry the charge from here: it returns with them */
	pages->locked_mm = mm;

	buf = hugedma_heap_publish(hh, pages);
	if (IS_ERR(buf)) {
		hugedma_pages_free(pages);
		return ERR_CAST(buf);
	}
	/* the buffer owns the pages; this call holds it (importer) and a reference */
	dmabuf = hugedma_dmabuf_export(buf, fd_flags & O_ACCMODE, 0, 0);
	/* the dma-buf is its user from here; without one it retires now */
	hugedma_buffer_importer_gone(buf);
	hugedma_buffer_put(buf);
	return dmabuf;
}

static const struct dma_heap_ops hugedma_heap_ops = {
	.allocate = hugedma_heap_allocate,
};

void hugedma_heap_init(void)
{
	struct dma_heap_export_info exp_info = { .ops = &hugedma_heap_ops };
	struct dma_heap *heap;
	bool added = false;
	unsigned int i;

	if (!dma_heaps)
		return;
	for (i = 0; i < ARRAY_SIZE(hugedma_heaps); i++) {
		if (!hugedma_page_shift_supported(hugedma_heaps[i].shift))
			continue;	/* said at load (backing.c) */
		exp_info.name = hugedma_heaps[i].name;
		exp_info.priv = &hugedma_heaps[i];
		heap = dma_heap_add(&exp_info);
		if (IS_ERR(heap)) {
			pr_warn("dma-heap %s not registered: %pe\n", exp_info.name, heap);
			continue;
		}
		added = true;
	}
	/* a dma-heap cannot be removed: its ops must stay for the kernel's life */
	if (added) {
		__module_get(THIS_MODULE);
		pr_info("dma-heaps registered: the module stays loaded until reboot\n");
	}
}

#else /* !HUGEDMA_HAVE_DMA_HEAP */

void hugedma_heap_init(void)
{
	if (dma_heaps)
		pr_info("dma_heaps=1: this kernel does not export dma_heap_add() (namespace DMA_BUF_HEAP): no dma-heaps\n");
}

#endif /* HUGEDMA_HAVE_DMA_HEAP */
