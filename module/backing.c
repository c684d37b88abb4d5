// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma: buffer pages from the hugetlb pool.
 *
 * There is no exported "give me a hugetlb page" call, so hugedma goes the way
 * user space does: a private hugetlbfs mount per page size, one unlinked file
 * per buffer, and a fault of each huge page of it through a mapping.  That is
 * hugetlbfs' own allocation path: the pool's free count drops, the page is
 * zeroed, the hugetlb cgroup of the allocating task is charged.  Each page is
 * pinned long-term (FOLL_LONGTERM) for the buffer's whole life: the pool
 * hands out a page outside ZONE_MOVABLE and CMA for it (memory offline and
 * CMA allocations never wait on it), folio_maybe_dma_pinned() is true, and
 * its physical address is stable while published.
 *
 * Zeroing is the cost, so the pages of one buffer are zeroed in parallel:
 * the file is mapped into the writer's mm for the while, and kthreads fault
 * distinct pages of it (fallocate() would serialise them on the inode lock).
 * That mapping is of the read-only file and not inherited by a fork: other
 * threads of the writer can neither punch a page out of it nor import it.
 * Only a fatal signal stops a fill.
 *
 * Placement: a fault allocates by the faulting task's memory policy, which
 * for a task without one is "the node of the CPU it runs on, then any".  For
 * a buffer bound to a node that has CPUs, the workers are bound to that
 * node's CPUs; for any node, to every online CPU.  They join the writer's
 * cgroups, so that hugetlb cgroup limits still apply.  Nodes without CPUs
 * (memory-only), and any node when the writer has a memory policy of its own
 * (numactl --membind=N), allocate in the writer's context, under that policy.
 * Either way every page's node is checked afterwards and a buffer bound to a
 * node fails with -ENOSPC, returning all it took, rather than keep a page
 * from elsewhere.
 *
 * User mappings (the char device's mmap) go through hugetlbfs' own mmap, so
 * user space gets 1 GB page-table entries.  Two guards keep user space from
 * replacing a published page: the VMA holds a second, read-only struct file
 * (madvise(MADV_REMOVE) punches through the VMA's file: -EBADF), and the inode
 * is immutable while published (no writable open of it through
 * /proc/PID/map_files, no truncate, no fallocate: -EPERM).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bsearch.h>
#include <linux/cgroup.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/hugetlb.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/topology.h>
#include <linux/vmalloc.h>
#include <linux/xarray.h>

#include "compat.h"
#include "hugedma.h"

/*
 * Every page hugedma holds, pool or pinned, by pfn: a page is never in two
 * buffers (an import of a mapping of a buffer, or of a range already imported
 * by a parent before fork, is refused with -EBUSY).
 */
static DEFINE_XARRAY(hugedma_held);

/* private hugetlbfs mounts, made at load and kept until unload */
static struct vfsmount *hugedma_mnt_1g;
static struct vfsmount *hugedma_mnt_2m;

static struct vfsmount *hugedma_mount(const char *pagesize)
{
	struct file_system_type *type;
	struct fs_context *fc;
	struct vfsmount *mnt;
	int ret;

	type = get_fs_type("hugetlbfs");
	if (!type)
		return ERR_PTR(-ENODEV);
	fc = fs_context_for_mount(type, SB_KERNMOUNT);
	/* the context holds its own reference on the type; hugetlbfs is built in */
	module_put(type->owner);
	if (IS_ERR(fc))
		return ERR_CAST(fc);

	ret = hugedma_fs_param(fc, "pagesize", pagesize);
	mnt = ret ? ERR_PTR(ret) : fc_mount(fc);
	put_fs_context(fc);
	return mnt;
}

static struct vfsmount *hugedma_mnt(unsigned int shift)
{
	return shift == HUGEDMA_SHIFT_1G ? hugedma_mnt_1g : hugedma_mnt_2m;
}

bool hugedma_page_shift_supported(unsigned int shift)
{
	return !IS_ERR_OR_NULL(hugedma_mnt(shift));
}

int hugedma_backing_init(void)
{
	int ret;

	/*
	 * A page size this machine lacks (hugetlbfs refuses it with -EINVAL)
	 * leaves its buffers unavailable; any other failure fails the load,
	 * rather than load without a page size for want of a few bytes.
	 */
	hugedma_mnt_1g = hugedma_mount("1G");
	if (IS_ERR(hugedma_mnt_1g)) {
		if (PTR_ERR(hugedma_mnt_1g) != -EINVAL)
			return PTR_ERR(hugedma_mnt_1g);
		pr_warn("no 1 GB hugetlb page size: 1G buffers are unavailable\n");
	}
	hugedma_mnt_2m = hugedma_mount("2M");
	if (IS_ERR(hugedma_mnt_2m)) {
		ret = PTR_ERR(hugedma_mnt_2m);
		if (ret != -EINVAL || IS_ERR(hugedma_mnt_1g))
			goto out_unmount_1g;
		pr_warn("no 2 MB hugetlb page size: 2M buffers are unavailable\n");
	}
	return 0;

out_unmount_1g:
	if (!IS_ERR(hugedma_mnt_1g))
		kern_unmount(hugedma_mnt_1g);
	return ret;
}

void hugedma_backing_exit(void)
{
	if (!IS_ERR_OR_NULL(hugedma_mnt_2m))
		kern_unmount(hugedma_mnt_2m);
	if (!IS_ERR_OR_NULL(hugedma_mnt_1g))
		kern_unmount(hugedma_mnt_1g);
}

phys_addr_t hugedma_pages_phys(const struct hugedma_pages *pages, unsigned long i)
{
	return PFN_PHYS(folio_pfn(pages->folios[i]));
}

/* Every page's physical address, in buffer order, or NULL; kvfree() it. */
phys_addr_t *hugedma_pages_phys_array(const struct hugedma_pages *pages)
{
	phys_addr_t *phys;
	unsigned long i;

	phys = kvmalloc_array(pages->nr, sizeof(*phys), GFP_KERNEL);
	if (!phys)
		return NULL;
	for (i = 0; i < pages->nr; i++)
		phys[i] = hugedma_pages_phys(pages, i);
	return phys;
}

/* Find the physically contiguous runs of the pages, for publishing. */
static int hugedma_pages_merge(struct hugedma_pages *pages)
{
	phys_addr_t *phys;
	unsigned long n;

	phys = hugedma_pages_phys_array(pages);
	if (!phys)
		return -ENOMEM;
	n = hugedma_merge_extents(phys, pages->nr, pages->shift, U64_MAX, U64_MAX,
				  NULL, 0);
	pages->extents = kvmalloc_array(n, sizeof(*pages->extents), GFP_KERNEL);
	if (pages->extents)
		pages->nr_extents = hugedma_merge_extents(phys, pages->nr, pages->shift,
							  U64_MAX, U64_MAX,
							  pages->extents, n);
	kvfree(phys);
	return pages->extents ? 0 : -ENOMEM;
}

/* Enter the pages in hugedma_held; -EBUSY if one is held already. */
static int hugedma_pages_hold(struct hugedma_pages *pages)
{
	unsigned long i;
	int ret;

	for (i = 0; i < pages->nr; i++) {
		ret = xa_insert(&hugedma_held, folio_pfn(pages->folios[i]), pages,
				GFP_KERNEL);
		if (ret)
			goto out_unhold;
	}
	return 0;

out_unhold:
	while (i--)
		xa_erase(&hugedma_held, folio_pfn(pages->folios[i]));
	return ret;
}

static void hugedma_pages_unhold(struct hugedma_pages *pages)
{
	unsigned long i;

	for (i = 0; i < pages->nr; i++)
		xa_cmpxchg(&hugedma_held, folio_pfn(pages->folios[i]), pages, NULL, 0);
}

/* Base pages of @pages' whole span, in the units locked_vm counts. */
static unsigned long hugedma_pages_span(const struct hugedma_pages *pages, unsigned long nr)
{
	return nr << (pages->shift - PAGE_SHIFT);
}

/* The locked-memory charge the pages carry, if any, back to its mm. */
static void hugedma_pages_uncharge(struct hugedma_pages *pages, unsigned long nr_charged)
{
	if (!pages->locked_mm)
		return;
	/* a charged process that has exited has no locked_vm left to return to */
	if (mmget_not_zero(pages->locked_mm)) {
		account_locked_vm(pages->locked_mm, nr_charged, false);
		mmput(pages->locked_mm);
	}
	mmdrop(pages->locked_mm);
}

static void hugedma_pages_unpin(struct hugedma_pages *pages, unsigned long nr_charged)
{
	unsigned long i;

	for (i = 0; i < pages->nr; i++)
		unpin_user_page(folio_page(pages->folios[i], 0));
	hugedma_pages_uncharge(pages, nr_charged);
	kvfree(pages->extents);
	kvfree(pages);
}

/*
 * The order in which the pool hands out a node's pages.  hugetlb keeps each
 * node's free pages on a list, takes a fault's page from its head and puts a
 * freed page back at its head: last in, first out.  A fresh pool's order is
 * the kernel's (6.1 hands out the highest address first, 6.12 the lowest);
 * afterwards, it is whatever the last frees made it: freeing a buffer puts
 * its highest page on top (pages are punched out in file order), and a user
 * that faults pages in address order and unmaps them reverses the order.
 * hugedma cannot read the free lists, so it remembers, per page size and
 * node, what it last learnt: the order its last fill found, or, once it has
 * freed a buffer of one ascending run, what the first fill after such a
 * free found (at first "highest first", exact while nobody else uses the
 * pool).  A site where another user (hugetlbfs, a job's MAP_HUGETLB) takes
 * and frees the pages between hugedma's buffers reverses the order every
 * time; that too is learnt, at the cost of one wrong guess.  A guess is all
 * it is: the fill checks it.
 */
enum hugedma_pool_order {
	HUGEDMA_ORDER_UNKNOWN,
	HUGEDMA_ORDER_ASCENDING,	/* the lowest address first */
	HUGEDMA_ORDER_DESCENDING,	/* the highest address first */
	HUGEDMA_ORDER_FREED,		/* hugedma freed a run last: see after_free */
};

/* Read and written without a lock: a wrong guess costs time, never order. */
struct hugedma_pool_order_hint {
	u8 last;		/* an enum hugedma_pool_order */
	u8 after_free;		/* the order the first fill after a FREED found */
};

/* [2 MB, 1 GB][node + 1] (NUMA_NO_NODE is 0) */
static struct hugedma_pool_order_hint hugedma_pool_order[2][MAX_NUMNODES + 1];

static struct hugedma_pool_order_hint *hugedma_pool_order_hint(unsigned int shift, int nid)
{
	return &hugedma_pool_order[shift == HUGEDMA_SHIFT_1G][nid + 1];
}

/* A buffer of one ascending run, punched out in file order, leaves its highest page on top. */
static void hugedma_pool_order_freed(const struct hugedma_pages *pages)
{
	if (pages->nr_extents != 1)
		return;
	WRITE_ONCE(hugedma_pool_order_hint(pages->shift, NUMA_NO_NODE)->last, HUGEDMA_ORDER_FREED);
	if (pages->nid != NUMA_NO_NODE)
		WRITE_ONCE(hugedma_pool_order_hint(pages->shift, pages->nid)->last,
			   HUGEDMA_ORDER_FREED);
}

/* The order a fill should plan for, from what the hint learnt. */
static enum hugedma_pool_order hugedma_pool_order_guess(const struct hugedma_pool_order_hint *hint,
							enum hugedma_pool_order last)
{
	enum hugedma_pool_order guess = last;

	if (guess == HUGEDMA_ORDER_FREED)
		guess = READ_ONCE(hint->after_free);
	return guess == HUGEDMA_ORDER_ASCENDING ? guess : HUGEDMA_ORDER_DESCENDING;
}

/* A fill found the pool handing out pages in @seen, after the hint was @last. */
static void hugedma_pool_order_seen(struct hugedma_pool_order_hint *hint,
				    enum hugedma_pool_order last, enum hugedma_pool_order seen)
{
	if (seen == HUGEDMA_ORDER_UNKNOWN)
		return;
	if (last == HUGEDMA_ORDER_FREED)
		WRITE_ONCE(hint->after_free, seen);
	WRITE_ONCE(hint->last, seen);
}

/* Return every page taken so far to the pool, synchronously, then drop the file. */
static void hugedma_pages_release(struct hugedma_pages *pages)
{
	unsigned long i;
	int ret;

	if (pages->mapfile)
		fput(pages->mapfile);
	inode_set_flags(file_inode(pages->file), 0, S_IMMUTABLE);
	for (i = 0; i < pages->nr; i++)
		unpin_user_page(folio_page(pages->folios[i], 0));
	if (pages->nr) {
		/*
		 * Punching the hole frees the pages into the pool now; the final
		 * fput() may be deferred to task work or a workqueue.
		 */
		ret = vfs_fallocate(pages->file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				    0, (loff_t)pages->nr << pages->shift);
		WARN_ONCE(ret, "punching out %lu pages failed: %d\n", pages->nr, ret);
		if (!ret)
			hugedma_pool_order_freed(pages);
	}
	fput(pages->file);
	/* a heap allocation's charge (heap.c): the pages are back in the pool */
	hugedma_pages_uncharge(pages, hugedma_pages_span(pages, pages->nr));
	kvfree(pages->extents);
	kvfree(pages);
}

/* A contiguous buffer whose placement went wrong this many times is refused. */
#define HUGEDMA_REPAIR_ROUNDS	4

struct hugedma_fill {
	const char *name;		/* the buffer's, for the log */
	struct hugedma_pages *pages;
	unsigned long want;		/* the buffer: file indices [0, want) */
	unsigned long cap;		/* indices mapped: [0, cap); more while searching */
	struct folio **slots;		/* the page at each index of [0, cap), or NULL */
	int nid;
	const struct cpumask *mask;	/* the workers' CPUs, or NULL: the writer faults */
	u64 stagger;			/* ns from a fault's start or end to the next start */
	bool abort;			/* a failed page, or a fatal signal to the writer */
	/* the file mapped (read-only, not inherited) into the writer's mm at @addr */
	struct mm_struct *mm;
	unsigned long addr;
	size_t len;
	/* this pass: fault the indices plan[0..nr_plan), handed out in that order */
	const unsigned long *plan;
	unsigned long nr_plan;
	atomic_long_t next;		/* next plan entry */
	atomic64_t last_start;		/* when a fault last started or ended (ktime, ns) */
	atomic_t ret;			/* first error of a worker */
};

struct hugedma_fill_worker {
	struct hugedma_fill *fill;
	struct task_struct *task;
	struct completion done;
};

/*
 * Fault page @i of the writer's mapping of the file, which allocates and
 * zeroes it through hugetlb's own fault path (the pool's free count drops,
 * the faulting task's hugetlb cgroup is charged), and pin it for the buffer's
 * life.  FOLL_LONGTERM makes the pool hand out a page outside ZONE_MOVABLE
 * and CMA (or migrate one there), so that memory offline and CMA never wait
 * on a page a device may be writing, and folio_maybe_dma_pinned() says so.
 * A read fault of a shared hugetlb mapping allocates as a write fault does.
 * A page taken but refused (another node's, ZONE_MOVABLE's) stays in its
 * slot, to be given back with the others.
 */
static int hugedma_fault_page(struct hugedma_fill *fill, unsigned long i)
{
	struct hugedma_pages *pages = fill->pages;
	unsigned long addr = fill->addr + (i << pages->shift);
	struct vm_area_struct *vma;
	struct folio *folio;
	struct page *page;
	long got = -EFAULT;
	bool ours;

	mmap_read_lock(fill->mm);
	/* other threads of the writer could have unmapped or moved the mapping */
	vma = vma_lookup(fill->mm, addr);
	ours = vma && vma->vm_file == pages->mapfile;
	if (ours)
		got = hugedma_pin_remote(fill->mm, addr, &page);
	mmap_read_unlock(fill->mm);
	if (got != 1) {
		/* SIGBUS in our own mapping: the hugetlb cgroup's limit, or the pool ran out */
		if (ours && (got == -EFAULT || got == -ENOMEM))
			return -ENOSPC;
		return got < 0 ? (int)got : -EFAULT;
	}

	folio = page_folio(page);
	fill->slots[i] = folio;
	if (WARN_ON_ONCE(folio_page(folio, 0) != page || folio_shift(folio) != pages->shift))
		return -EIO;
	if (fill->nid != NUMA_NO_NODE && folio_nid(folio) != fill->nid)
		return -ENOSPC;	/* the node's pool is short: no fallback */
	if (folio_zonenum(folio) == ZONE_MOVABLE) {
		/* before 5.13 a long-term pin does not migrate a page out of it */
		pr_warn_ratelimited("%s: the pool handed out a page of ZONE_MOVABLE, which this kernel pins where it is: not taken (kernels from 5.13 take another)\n",
				    fill->name);
		return -ENOSPC;
	}
	return 0;
}

/*
 * Start faults at least fill->stagger apart, and as long after the last one
 * ended (hugedma_fill_ended()).  A fault takes its page off the free list
 * when it starts and zeroes it afterwards, so faults started apart take the
 * pool's pages in the order of the plan, and still zero in parallel.
 * (Should two start closer than that anyway, the check after the fill finds
 * the pages out of order and puts them right.)
 */
static void hugedma_fill_stagger(struct hugedma_fill *fill)
{
	s64 prev, now;

	if (!fill->stagger)
		return;
	for (;;) {
		prev = atomic64_read(&fill->last_start);
		now = ktime_get_ns();
		if (now - prev >= (s64)fill->stagger) {
			if (atomic64_cmpxchg(&fill->last_start, prev, now) == prev)
				return;
			continue;
		}
		usleep_range((fill->stagger - (now - prev)) / NSEC_PER_USEC + 1,
			     (fill->stagger - (now - prev)) / NSEC_PER_USEC + 20);
	}
}

/*
 * A fault's end counts as a start.  Two indices can share a hugetlb fault
 * mutex: a fault that waited on the one that just ended takes its page off
 * the free list right after, and the worker that finished would otherwise
 * start its next fault at once and take the page before it (two pages out
 * of order, zeroed again).
 */
static void hugedma_fill_ended(struct hugedma_fill *fill)
{
	s64 prev, now;

	if (!fill->stagger)
		return;
	now = ktime_get_ns();
	do {
		prev = atomic64_read(&fill->last_start);
		if (prev >= now)
			return;
	} while (atomic64_cmpxchg(&fill->last_start, prev, now) != prev);
}

/* Fault the plan's next index; false when none is left. */
static bool hugedma_fill_one(struct hugedma_fill *fill)
{
	unsigned long k;
	int ret;

	hugedma_fill_stagger(fill);
	/* handed out one by one: two indices can share a fault mutex */
	k = atomic_long_fetch_inc(&fill->next);
	if (k >= fill->nr_plan)
		return false;
	ret = hugedma_fault_page(fill, fill->plan[k]);
	hugedma_fill_ended(fill);
	if (ret) {
		atomic_cmpxchg(&fill->ret, 0, ret);
		WRITE_ONCE(fill->abort, true);
	}
	return true;
}

static int hugedma_fill_worker_fn(void *data)
{
	struct hugedma_fill_worker *w = data;
	struct hugedma_fill *fill = w->fill;

	while (!READ_ONCE(fill->abort) && hugedma_fill_one(fill))
		cond_resched();
	/* @w and @fill are the writer's: no access after this */
	hugedma_complete_and_exit(&w->done, 0);
}

/* Unpin every page taken so far, then drop the pages and their reservations. */
static void hugedma_fill_unwind(struct hugedma_fill *fill)
{
	struct hugedma_pages *pages = fill->pages;
	unsigned long i;
	int ret;

	for (i = 0; i < fill->cap; i++) {
		if (fill->slots[i])
			unpin_user_page(folio_page(fill->slots[i], 0));
		fill->slots[i] = NULL;
	}
	/* punching a hole would leave the unfaulted pages' reservations behind */
	ret = vfs_truncate(&pages->file->f_path, 0);
	if (ret)	/* the final fput() drops them then */
		pr_debug("truncating after a failed fill: %d\n", ret);
}

/*
 * Give the page at index @i back to the pool now: it goes on top of its
 * node's free list, so the next fault on that node takes it again (zeroing
 * it a second time).  Its index is left without a reservation: a fault there
 * takes a free page that nobody reserved, as the one given back is.
 */
static int hugedma_fill_give_back(struct hugedma_fill *fill, unsigned long i)
{
	struct hugedma_pages *pages = fill->pages;
	int ret;

	if (!fill->slots[i])
		return 0;
	unpin_user_page(folio_page(fill->slots[i], 0));
	fill->slots[i] = NULL;
	ret = vfs_fallocate(pages->file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			    (loff_t)i << pages->shift, 1LL << pages->shift);
	WARN_ONCE(ret, "%s: giving page %lu back failed: %d\n", fill->name, i, ret);
	return ret;
}

/*
 * vm_mmap() fails with -ENOMEM both when hugetlbfs cannot reserve the pages
 * and when the writer has no room for the mapping (RLIMIT_AS, the map count).
 * An anonymous PROT_NONE mapping of the same span reserves nothing and tells
 * them apart: the pool is short (-ENOSPC) only if it fits.
 */
static int hugedma_fill_map_error(size_t len, unsigned int shift)
{
	size_t span = len + (1UL << shift);	/* hugetlbfs aligns its mappings */
	unsigned long addr;

	addr = vm_mmap(NULL, 0, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, 0);
	if (IS_ERR_VALUE(addr))
		return -ENOMEM;
	vm_munmap(addr, span);
	return -ENOSPC;
}

/*
 * The temporary mapping the pages are faulted through, of indices [0, cap):
 * the read-only file (as user mappings have it), so that no other thread of
 * the writer can punch a page out of it (MADV_REMOVE), write through it or
 * import it, and not inherited by a child the writer forks.  It reserves
 * every page up front, so a short pool fails here with nothing taken; a
 * search maps without reserving (@noreserve) and takes what there is.  (A
 * fork in the instant between vm_mmap() and the flag taking effect would
 * still inherit it: the child's copy keeps the buffer busy until it unmaps
 * or exits.)
 */
static int hugedma_fill_map(struct hugedma_fill *fill, bool noreserve)
{
	struct hugedma_pages *pages = fill->pages;
	size_t len = (size_t)fill->cap << pages->shift;
	struct vm_area_struct *vma;
	long ret;

	/* hugetlbfs sizes the file only for writable mappings: a fault past EOF is SIGBUS */
	ret = vfs_truncate(&pages->file->f_path, len);
	if (ret)
		return ret;
	fill->addr = vm_mmap(pages->mapfile, 0, len, PROT_READ,
			     MAP_SHARED | (noreserve ? MAP_NORESERVE : 0), 0);
	if (IS_ERR_VALUE(fill->addr)) {
		ret = (long)fill->addr;
		return ret == -ENOMEM && !noreserve ? hugedma_fill_map_error(len, pages->shift) :
						      ret;
	}
	fill->len = len;
	fill->mm = current->mm;
	mmget(fill->mm);
	mmap_write_lock(fill->mm);
	vma = vma_lookup(fill->mm, fill->addr);
	if (vma && vma->vm_file == pages->mapfile)
		hugedma_vma_set_flags(vma, VM_DONTCOPY);
	mmap_write_unlock(fill->mm);
	return 0;
}

/*
 * Unmapping allocates (the maple tree preallocates its nodes) and can fail
 * with -ENOMEM.  The temporary mapping must not outlive the fill: left in the
 * writer's mm it would keep the buffer busy until the writer exits.  A writer
 * being killed gives up: its exit unmaps everything.  A mapping that another
 * thread moved away (mremap) is left to that thread: whatever now sits at the
 * address is not the fill's to unmap.
 */
static void hugedma_fill_unmap(struct hugedma_fill *fill)
{
	struct vm_area_struct *vma;
	bool ours;

	if (!fill->mm)	/* not mapped (a search's new mapping failed) */
		return;
	mmap_read_lock(fill->mm);
	vma = vma_lookup(fill->mm, fill->addr);
	ours = vma && vma->vm_file == fill->pages->mapfile && vma->vm_start == fill->addr &&
	       vma->vm_end == fill->addr + fill->len;
	mmap_read_unlock(fill->mm);
	while (ours && vm_munmap(fill->addr, fill->len) == -ENOMEM &&
	       !fatal_signal_pending(current))
		hugedma_retry_wait();
	mmput(fill->mm);
	fill->mm = NULL;
}

/* In the writer's context, under its own memory policy: one page at a time. */
static int hugedma_fill_serial(struct hugedma_fill *fill)
{
	while (!READ_ONCE(fill->abort)) {
		if (fatal_signal_pending(current))
			return -EINTR;
		if (!hugedma_fill_one(fill))
			break;
		cond_resched();
	}
	return atomic_read(&fill->ret);
}

/*
 * Fault the pass's pages in parallel, from at most @max_workers kthreads
 * bound to fill->mask: hugetlbfs' fallocate holds the inode lock while it
 * zeroes, its fault path does not.  The workers join the writer's cgroups:
 * the hugetlb cgroup limits that apply to the writer apply to their faults,
 * and they run on CPUs of its cpuset (the mask is within the writer's CPUs).
 */
static int hugedma_fill_parallel(struct hugedma_fill *fill, unsigned int max_workers)
{
	struct hugedma_fill_worker *workers;
	unsigned int nr_workers, n, k;
	bool killed = false;
	int ret = 0;

	nr_workers = min3((unsigned long)cpumask_weight(fill->mask), fill->nr_plan,
			  (unsigned long)max_workers);
	if (!nr_workers)
		return -ENODEV;
	workers = kcalloc(nr_workers, sizeof(*workers), GFP_KERNEL);
	if (!workers)
		return -ENOMEM;

	/* set every worker up before any runs, so that a failure takes nothing */
	for (n = 0; n < nr_workers; n++) {
		struct hugedma_fill_worker *w = &workers[n];

		w->fill = fill;
		init_completion(&w->done);
		w->task = kthread_create_on_node(hugedma_fill_worker_fn, w, fill->nid,
						 "hugedma/%s:%u", fill->name, n);
		if (IS_ERR(w->task)) {
			/*
			 * Fewer workers only fill more slowly.  None at all is
			 * kernel_thread()'s -EAGAIN, which for a kthread means
			 * memory (or pids): -ENOMEM, as for the other memory.
			 */
			if (n)
				break;
			ret = PTR_ERR(w->task) == -EINTR ? -EINTR : -ENOMEM;
			break;
		}
		/*
		 * Join the writer's cgroups first: its hugetlb cgroup limits
		 * apply to the workers' faults, and joining a cpuset resets a
		 * task's CPUs to the cpuset's.  Then bind, within those.
		 */
		ret = cgroup_attach_task_all(current, w->task);
		if (!ret)
			ret = set_cpus_allowed_ptr(w->task, fill->mask);
		if (ret) {
			n++;	/* created: it must run to exit */
			break;
		}
	}
	if (ret)
		WRITE_ONCE(fill->abort, true);	/* they exit without faulting */
	for (k = 0; k < n; k++)
		wake_up_process(workers[k].task);

	/*
	 * Only a fatal signal stops the fill: a handled one (a terminal
	 * resize, a shell's SIGCHLD) must not throw away minutes of zeroing.
	 */
	for (k = 0; k < n; k++) {
		if (!killed && wait_for_completion_killable(&workers[k].done)) {
			killed = true;
			WRITE_ONCE(fill->abort, true);
		}
		if (killed)
			wait_for_completion(&workers[k].done);
	}
	kfree(workers);
	if (!ret)
		ret = killed ? -EINTR : atomic_read(&fill->ret);
	return ret;
}

/*
 * One pass: fault @plan[0..@nr) in that order, with at most @max_workers
 * workers (or the writer itself).  Stops at the first failure.
 */
static int hugedma_fill_pass(struct hugedma_fill *fill, const unsigned long *plan,
			     unsigned long nr, unsigned int max_workers)
{
	fill->plan = plan;
	fill->nr_plan = nr;
	atomic_long_set(&fill->next, 0);
	atomic64_set(&fill->last_start, 0);
	atomic_set(&fill->ret, 0);
	WRITE_ONCE(fill->abort, false);
	if (!nr)
		return 0;
	return fill->mask ? hugedma_fill_parallel(fill, max_workers) : hugedma_fill_serial(fill);
}

static unsigned long hugedma_fill_pfn(const struct hugedma_fill *fill, unsigned long i)
{
	return folio_pfn(fill->slots[i]);
}

static unsigned long hugedma_fill_npp(const struct hugedma_fill *fill)
{
	return 1UL << (fill->pages->shift - PAGE_SHIFT);
}

/* The buffer's pages lie in ascending physical order, one run. */
static bool hugedma_fill_in_order(const struct hugedma_fill *fill)
{
	unsigned long npp = hugedma_fill_npp(fill), i;

	for (i = 1; i < fill->want; i++)
		if (hugedma_fill_pfn(fill, i) != hugedma_fill_pfn(fill, i - 1) + npp)
			return false;
	return true;
}

static int hugedma_cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/*
 * The lowest pfn of the buffer's pages if, taken together, they are one
 * physically contiguous run (in whatever order), else ULONG_MAX.  @tmp has
 * room for fill->want entries.
 */
static unsigned long hugedma_fill_run_base(const struct hugedma_fill *fill, unsigned long *tmp)
{
	unsigned long i;

	for (i = 0; i < fill->want; i++)
		tmp[i] = hugedma_fill_pfn(fill, i);
	sort(tmp, fill->want, sizeof(*tmp), hugedma_cmp_ulong, NULL);
	for (i = 1; i < fill->want; i++)
		if (tmp[i] != tmp[i - 1] + hugedma_fill_npp(fill))
			return ULONG_MAX;
	return tmp[0];
}

/* The plan for a pool that hands out pages in @order: the first page taken goes first. */
static void hugedma_fill_plan(unsigned long *plan, unsigned long n, enum hugedma_pool_order order)
{
	unsigned long k;

	for (k = 0; k < n; k++)
		plan[k] = order == HUGEDMA_ORDER_ASCENDING ? k : n - 1 - k;
}

/*
 * Fill the buffer in the order the pool is expected to hand out its pages,
 * so that they land in ascending physical order.  The first pass (one page
 * per worker, at most 8) checks the guess: if the pool hands them out the other way,
 * those pages go back (last taken first, so that the pool's order is as
 * before) and the fill starts again the other way round.  A wrong guess
 * costs one page per worker zeroed twice.
 */
static int hugedma_fill_ordered(struct hugedma_fill *fill, unsigned long *plan,
				unsigned int nr_workers)
{
	struct hugedma_pool_order_hint *hint = hugedma_pool_order_hint(fill->pages->shift,
								       fill->nid);
	enum hugedma_pool_order learnt = READ_ONCE(hint->last), seen = HUGEDMA_ORDER_UNKNOWN;
	enum hugedma_pool_order guess = hugedma_pool_order_guess(hint, learnt);
	unsigned long n = fill->want, probe, k, first, last;
	int ret;

	hugedma_fill_plan(plan, n, guess);
	/* one page per worker, at most 8: on many CPUs the starts below add up */
	probe = min3((unsigned long)max(nr_workers, 2U), n, 8UL);
	/*
	 * The probe's faults start ten times further apart: each is its
	 * worker's first, and a worker that races another here would turn
	 * the whole fill round the wrong way.
	 */
	fill->stagger *= 10;
	ret = hugedma_fill_pass(fill, plan, probe, nr_workers);
	fill->stagger /= 10;
	if (ret || probe < 2)
		return ret;

	/* the probe's pages in the order they were taken: one run, going up or down? */
	first = hugedma_fill_pfn(fill, plan[0]);
	last = hugedma_fill_pfn(fill, plan[probe - 1]);
	if (last == first + (probe - 1) * hugedma_fill_npp(fill))
		seen = HUGEDMA_ORDER_ASCENDING;
	else if (first == last + (probe - 1) * hugedma_fill_npp(fill))
		seen = HUGEDMA_ORDER_DESCENDING;
	pr_debug("%s: guessed the pool hands out pages %s, its first %lu pages go %s\n",
		 fill->name, guess == HUGEDMA_ORDER_ASCENDING ? "up" : "down", probe,
		 seen == HUGEDMA_ORDER_ASCENDING ? "up" :
		 seen == HUGEDMA_ORDER_DESCENDING ? "down" : "neither way");
	hugedma_pool_order_seen(hint, learnt, seen);
	if (seen == HUGEDMA_ORDER_UNKNOWN || seen == guess)
		return hugedma_fill_pass(fill, plan + probe, n - probe, nr_workers);

	for (k = probe; k--; ) {
		ret = hugedma_fill_give_back(fill, plan[k]);
		if (ret)
			return ret;
	}
	hugedma_fill_plan(plan, n, seen);
	return hugedma_fill_pass(fill, plan, n, nr_workers);
}

/*
 * The buffer's pages are one physically contiguous run from @base, out of
 * order: put each where it belongs.  The misplaced ones go back to the pool
 * in the reverse of the order they are faulted again, so that each fault
 * takes the page meant for its index off the top of the free list; each
 * costs a second zeroing.  The first round runs in parallel; should its
 * workers have taken pages out of order again, the next rounds fault one at
 * a time.  Returns 0 when the pages are in order, 1 when they are not (a
 * page taken by someone else in between, or a pool that does not hand freed
 * pages back first), or an error.  @plan and @where have room for want
 * entries.
 */
static int hugedma_fill_repair(struct hugedma_fill *fill, unsigned long base,
			       unsigned long *plan, unsigned long *where)
{
	unsigned long npp = hugedma_fill_npp(fill), n = fill->want, nr, i, t;
	unsigned int round;
	int ret;

	for (round = 0; round < HUGEDMA_REPAIR_ROUNDS; round++) {
		/* where[t]: the index of the page that belongs at index t */
		for (i = 0; i < n; i++)
			where[(hugedma_fill_pfn(fill, i) - base) / npp] = i;
		for (t = n, nr = 0; t--; ) {
			if (where[t] == t)
				continue;
			ret = hugedma_fill_give_back(fill, where[t]);
			if (ret)
				return ret;
			nr++;
		}
		for (t = 0, i = 0; t < n; t++)
			if (!fill->slots[t])
				plan[i++] = t;
		pr_debug("%s: %lu pages out of order: faulting them again\n", fill->name, nr);
		ret = hugedma_fill_pass(fill, plan, i, round ? 1 : UINT_MAX);
		if (ret)
			return ret;
		if (hugedma_fill_in_order(fill))
			return 0;
		if (hugedma_fill_run_base(fill, where) != base)
			return 1;
	}
	return 1;
}

/*
 * The start of the @n-page window of physically contiguous pages among the
 * @nr sorted pfns @pfns that keeps the most buffer pages where they are, or
 * ULONG_MAX if there is none; *@longest is the longest run.  @votes has room
 * for fill->want entries.
 */
static unsigned long hugedma_fill_window(const struct hugedma_fill *fill, const unsigned long *pfns,
					 unsigned long nr, unsigned long *votes,
					 unsigned long *longest)
{
	unsigned long npp = hugedma_fill_npp(fill), n = fill->want, run = 0, best = ULONG_MAX;
	unsigned long i, j, best_votes = 0, nv = 0;

	*longest = 0;
	for (i = 0; i < nr; i++) {
		run = i && pfns[i] == pfns[i - 1] + npp ? run + 1 : 1;
		*longest = max(*longest, run);
		if (run >= n && best == ULONG_MAX)
			best = pfns[i] - (n - 1) * npp;	/* the first window, if none is better */
	}
	if (best == ULONG_MAX)
		return best;
	/* each page of the buffer votes for the window that keeps it in place */
	for (i = 0; i < n; i++) {
		unsigned long pfn = hugedma_fill_pfn(fill, i);

		if (pfn >= i * npp)
			votes[nv++] = pfn - i * npp;
	}
	sort(votes, nv, sizeof(*votes), hugedma_cmp_ulong, NULL);
	for (i = 0; i < nv; i = j) {
		unsigned long *at;

		for (j = i + 1; j < nv && votes[j] == votes[i]; j++)
			;
		if (j - i <= best_votes)
			continue;
		at = bsearch(&votes[i], pfns, nr, sizeof(*pfns), hugedma_cmp_ulong);
		if (at && at + n - 1 < pfns + nr && at[n - 1] == votes[i] + (n - 1) * npp) {
			best = votes[i];
			best_votes = j - i;
		}
	}
	return best;
}

/*
 * contiguous 1, and the pages the pool handed out are not one run: look for
 * one among all of the node's free pages.  hugedma cannot read the pool's
 * free lists, so it takes every free page (zeroing them all, in parallel),
 * finds the longest run, keeps a window of it where the buffer's pages lie,
 * gives every other page back, and faults the window's pages into place
 * (given back in the reverse order, so that each fault takes its own).  While
 * it searches, it holds the node's whole free pool.  -ENOSPC, with nothing
 * kept and the longest run in the log, when there is no run long enough.
 */
static int hugedma_fill_search(struct hugedma_fill *fill, unsigned int nr_workers)
{
	unsigned long npp = hugedma_fill_npp(fill), n = fill->want, cap, nr, base, longest, i, t;
	unsigned long *plan, *pfns;
	struct folio **slots;
	int ret;

	cap = max(n + 1, totalram_pages() / npp);
	slots = kvcalloc(cap, sizeof(*slots), GFP_KERNEL);
	plan = kvmalloc_array(cap, sizeof(*plan), GFP_KERNEL);
	pfns = kvmalloc_array(cap, sizeof(*pfns), GFP_KERNEL);
	if (!slots || !plan || !pfns) {
		kvfree(slots);
		ret = -ENOMEM;
		goto out_free;
	}
	memcpy(slots, fill->slots, n * sizeof(*slots));
	fill->slots = slots;
	fill->cap = cap;

	/* map it all again, without reserving: the faults take what is free */
	hugedma_fill_unmap(fill);
	ret = hugedma_fill_map(fill, true);
	if (ret)
		goto out_free;
	for (i = n; i < cap; i++)
		plan[i - n] = i;
	ret = hugedma_fill_pass(fill, plan, cap - n, nr_workers);
	if (ret && ret != -ENOSPC)	/* -ENOSPC: the pool (the node's) ran out, as it should */
		goto out_free;

	for (i = 0, nr = 0; i < cap; i++)
		if (fill->slots[i] && (fill->nid == NUMA_NO_NODE ||
				       folio_nid(fill->slots[i]) == fill->nid))
			pfns[nr++] = hugedma_fill_pfn(fill, i);
	sort(pfns, nr, sizeof(*pfns), hugedma_cmp_ulong, NULL);
	base = hugedma_fill_window(fill, pfns, nr, plan, &longest);
	if (base == ULONG_MAX) {
		if (fill->nid == NUMA_NO_NODE)
			pr_warn_ratelimited("%s: contiguous: no run of %lu physically contiguous pages in the pool: the longest run of its %lu free pages is %lu\n",
					    fill->name, n, nr, longest);
		else
			pr_warn_ratelimited("%s: contiguous: no run of %lu physically contiguous pages on node %d: the longest run of its %lu free pages is %lu\n",
					    fill->name, n, fill->nid, nr, longest);
		ret = -ENOSPC;
		goto out_free;
	}

	/*
	 * Everything outside the window goes back first, then the window's
	 * pages that are not where they belong, the one for the highest index
	 * first: the pool's free list then holds them on top, lowest index
	 * first, and faulting the empty indices in ascending order takes each.
	 */
	for (i = 0; i < cap; i++) {
		if (!fill->slots[i])
			continue;
		t = (hugedma_fill_pfn(fill, i) - base) / npp;
		if (hugedma_fill_pfn(fill, i) < base || t >= n ||
		    (fill->nid != NUMA_NO_NODE && folio_nid(fill->slots[i]) != fill->nid)) {
			ret = hugedma_fill_give_back(fill, i);
			if (ret)
				goto out_free;
		}
	}
	for (i = 0; i < cap; i++)
		if (fill->slots[i])
			pfns[(hugedma_fill_pfn(fill, i) - base) / npp] = i;
	for (t = n; t--; ) {
		if (pfns[t] == t)
			continue;
		ret = hugedma_fill_give_back(fill, pfns[t]);
		if (ret)
			goto out_free;
	}
	for (t = 0, nr = 0; t < n; t++)
		if (!fill->slots[t])
			plan[nr++] = t;
	ret = hugedma_fill_pass(fill, plan, nr, nr_workers);
	if (ret)
		goto out_free;
	ret = 0;
	if (!hugedma_fill_in_order(fill)) {
		base = hugedma_fill_run_base(fill, pfns);
		ret = base == ULONG_MAX ? 1 : hugedma_fill_repair(fill, base, plan, pfns);
	}
	if (ret == 1) {
		pr_warn_ratelimited("%s: contiguous: a run of %lu pages was found but could not be put in order (the pool changed meanwhile)\n",
				    fill->name, n);
		ret = -ENOSPC;
	}
out_free:
	kvfree(pfns);
	kvfree(plan);
	return ret;
}

/*
 * Map the file, fault every page through the mapping (kthreads bound to
 * fill->mask, or the writer itself), in ascending physical order whenever
 * the pages the pool hands out are one run (and, for @contiguous, finding
 * one), unmap it.  On failure nothing is kept.
 */
static int hugedma_fill(struct hugedma_fill *fill, bool contiguous)
{
	unsigned int nr_workers = fill->mask ? cpumask_weight(fill->mask) : 1;
	struct hugedma_pages *pages = fill->pages;
	unsigned long *plan, *tmp, base;
	int ret;

	fill->cap = fill->want;
	fill->slots = pages->folios;
	fill->stagger = fill->mask ? (pages->shift == HUGEDMA_SHIFT_1G ? NSEC_PER_MSEC :
						20 * NSEC_PER_USEC) : 0;
	plan = kvmalloc_array(fill->want, sizeof(*plan), GFP_KERNEL);
	tmp = kvmalloc_array(fill->want, sizeof(*tmp), GFP_KERNEL);
	if (!plan || !tmp) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = hugedma_fill_map(fill, false);
	if (ret)
		goto out_free;
	ret = hugedma_fill_ordered(fill, plan, nr_workers);
	if (!ret && !hugedma_fill_in_order(fill)) {
		base = hugedma_fill_run_base(fill, tmp);
		ret = base == ULONG_MAX ? 1 : hugedma_fill_repair(fill, base, plan, tmp);
		if (ret == 1)
			ret = contiguous ? hugedma_fill_search(fill, nr_workers) : 0;
	}
	hugedma_fill_unmap(fill);
	if (!ret && fill->cap > fill->want)	/* after a search: back to the buffer's size */
		ret = vfs_truncate(&pages->file->f_path, (loff_t)fill->want << pages->shift);
	if (ret) {
		hugedma_fill_unwind(fill);
	} else {
		if (fill->slots != pages->folios)
			memcpy(pages->folios, fill->slots, fill->want * sizeof(*fill->slots));
		pages->nr = fill->want;
	}
out_free:
	if (fill->slots != pages->folios)
		kvfree(fill->slots);
	kvfree(tmp);
	kvfree(plan);
	return ret;
}

/* The node of every page, or NUMA_NO_NODE if they are on more than one. */
static int hugedma_pages_node(const struct hugedma_pages *pages)
{
	int nid = pages->nr ? folio_nid(pages->folios[0]) : NUMA_NO_NODE;
	unsigned long i;

	for (i = 1; i < pages->nr; i++)
		if (folio_nid(pages->folios[i]) != nid)
			return NUMA_NO_NODE;
	return nid;
}

/* numactl --membind and the like: the writer wants its own placement */
static bool hugedma_writer_has_mempolicy(void)
{
#ifdef CONFIG_NUMA
	return current->mempolicy;
#else
	return false;
#endif
}

static bool hugedma_node_has_cpus(int nid)
{
	return cpumask_intersects(cpumask_of_node(nid), cpu_online_mask);
}

/*
 * Take @nr zeroed pages of 1 << @shift bytes from the hugetlb pool, all on
 * @nid unless it is NUMA_NO_NODE, each pinned long-term, in ascending
 * physical order whenever the pages the pool hands out make one run.  With
 * @contiguous they must be one run: when they are not, the node's whole free
 * pool is searched for one.  Sleeps for as long as zeroing takes; call with
 * no lock held, from a task with an address space (the pages are faulted
 * through a temporary mapping in it).  On failure nothing is kept: -ENOSPC
 * when the pool (or the node's share of it) is short or, for @contiguous,
 * has no run long enough, -ENOMEM when the writer has no room for the
 * mapping, -EINTR on a fatal signal.
 *
 * Who allocates: kthreads bound to the node's CPUs for a node that has CPUs,
 * or to every online CPU for any node, many pages at once, in either case
 * only CPUs the writer may use; the writer itself, under its own memory
 * policy, for a memory-only node or one none of whose CPUs the writer may
 * use, for any node when the writer has a memory policy (numactl --membind),
 * and for a single page on any node (nothing to do in parallel).
 */
struct hugedma_pages *hugedma_pages_alloc_contiguous(const char *name, unsigned int shift,
						     unsigned long nr, int nid, bool contiguous)
{
	struct vfsmount *mnt = hugedma_mnt(shift);
	struct path root;
	struct hugedma_fill fill = { .want = nr, .nid = nid };
	struct hugedma_pages *pages;
	cpumask_var_t cpus;
	int ret;

	if (IS_ERR_OR_NULL(mnt))
		return ERR_PTR(-EOPNOTSUPP);
	if (!current->mm)
		return ERR_PTR(-EOPNOTSUPP);	/* nothing to map the pages into */
	pages = kvzalloc(struct_size(pages, folios, nr), GFP_KERNEL);
	if (!pages)
		return ERR_PTR(-ENOMEM);
	pages->shift = shift;
	pages->nid = NUMA_NO_NODE;

	root.mnt = mnt;
	root.dentry = mnt->mnt_root;
	pages->file = hugedma_tmpfile_open(&root);
	if (IS_ERR(pages->file)) {
		ret = PTR_ERR(pages->file);
		goto out_free_pages;
	}
	pages->mapfile = dentry_open(&pages->file->f_path, O_RDONLY | O_LARGEFILE,
				     current_cred());
	if (IS_ERR(pages->mapfile)) {
		ret = PTR_ERR(pages->mapfile);
		pages->mapfile = NULL;
		goto out_release;
	}
	if (!alloc_cpumask_var(&cpus, GFP_KERNEL)) {
		ret = -ENOMEM;
		goto out_release;
	}

	/*
	 * The workers' CPUs: the node's (every online one for any node),
	 * within the writer's own, which its cpuset (systemd AllowedCPUs=, a
	 * Slurm job) and affinity bound.  A node none of whose CPUs the
	 * writer may use is filled in the writer's context instead, under its
	 * memory policy: still strict, so without one placing the pages there
	 * the enable fails with -ENOSPC.
	 */
	cpumask_and(cpus, nid == NUMA_NO_NODE ? cpu_online_mask : cpumask_of_node(nid),
		    current->cpus_ptr);
	fill.name = name;
	fill.pages = pages;
	if (nid != NUMA_NO_NODE && hugedma_node_has_cpus(nid)) {
		if (cpumask_empty(cpus))
			pr_info_ratelimited("%s: the writer may use no CPU of node %d (cpuset or affinity): filling in its own context, under its memory policy\n",
					    name, nid);
		fill.mask = cpumask_empty(cpus) ? NULL : cpus;
	} else if (nid == NUMA_NO_NODE && nr > 1 && !hugedma_writer_has_mempolicy()) {
		fill.mask = cpus;
	}
	ret = hugedma_fill(&fill, contiguous);
	free_cpumask_var(cpus);
	if (ret)
		goto out_release;
	pages->nid = hugedma_pages_node(pages);
	ret = hugedma_pages_merge(pages);
	if (ret)
		goto out_release;

	ret = hugedma_pages_hold(pages);
	if (WARN_ON_ONCE(ret))	/* fresh pool pages cannot be held already */
		goto out_release;
	inode_set_flags(file_inode(pages->file), S_IMMUTABLE, S_IMMUTABLE);
	return pages;

out_release:
	hugedma_pages_release(pages);
	return ERR_PTR(ret);
out_free_pages:
	kvfree(pages);
	return ERR_PTR(ret);
}

/* hugedma_pages_alloc_contiguous() without requiring one run */
struct hugedma_pages *hugedma_pages_alloc(const char *name, unsigned int shift,
					  unsigned long nr, int nid)
{
	return hugedma_pages_alloc_contiguous(name, shift, nr, nid, false);
}

void hugedma_pages_free(struct hugedma_pages *pages)
{
	hugedma_pages_unhold(pages);
	if (pages->file)
		hugedma_pages_release(pages);
	else
		hugedma_pages_unpin(pages, hugedma_pages_span(pages, pages->nr));
}

/*
 * The page size of [start, start + len) in current's mm if every byte of it
 * is in hugetlb mappings of one page size; -EINVAL if not, -EACCES if a part
 * is not writable (devices write into DMA buffers).
 */
static long hugedma_user_range_page_size(unsigned long start, unsigned long len)
{
	struct mm_struct *mm = current->mm;
	unsigned long addr = start, end = start + len;
	struct vm_area_struct *vma;
	long size = 0;

	mmap_read_lock(mm);
	while (addr < end) {
		vma = vma_lookup(mm, addr);
		if (!vma || !is_vm_hugetlb_page(vma) ||
		    (size && vma_kernel_pagesize(vma) != size)) {
			size = -EINVAL;
			break;
		}
		if (!(vma->vm_flags & VM_WRITE)) {
			size = -EACCES;
			break;
		}
		size = vma_kernel_pagesize(vma);
		addr = vma->vm_end;
	}
	mmap_read_unlock(mm);
	return size;
}

/*
 * Pin the huge pages of a user hugetlb range for as long as a buffer lives.
 * Pinning one base page pins its whole hugetlb folio, so one pin per huge
 * page.  -EINVAL unless the range is whole 2 MB or 1 GB pages of hugetlb
 * mappings of one page size; -EACCES if it is not writable; -EBUSY when
 * hugedma holds one of the pages.
 */
struct hugedma_pages *hugedma_pages_pin(unsigned long start, unsigned long len)
{
	struct hugedma_pages *pages;
	unsigned long nr, i;
	struct page *page;
	long got, size;
	int ret;

	if (!len || start + len < start)
		return ERR_PTR(-EINVAL);
	size = hugedma_user_range_page_size(start, len);
	if (size < 0)
		return ERR_PTR(size);
	if ((size != 1L << HUGEDMA_SHIFT_1G && size != 1L << HUGEDMA_SHIFT_2M) ||
	    !IS_ALIGNED(start, size) || !IS_ALIGNED(len, size))
		return ERR_PTR(-EINVAL);

	nr = len / size;
	pages = kvzalloc(struct_size(pages, folios, nr), GFP_KERNEL);
	if (!pages)
		return ERR_PTR(-ENOMEM);
	pages->shift = ilog2(size);
	pages->nid = NUMA_NO_NODE;

	/*
	 * The pins outlive the mapping and the process, so they are charged
	 * to the importer's locked memory, as RDMA and VFIO charge theirs:
	 * -ENOMEM past RLIMIT_MEMLOCK without CAP_IPC_LOCK.  Released with
	 * the pins, against the same mm, whoever drops the last user.
	 */
	ret = account_locked_vm(current->mm, hugedma_pages_span(pages, nr), true);
	if (ret) {
		kvfree(pages);
		return ERR_PTR(ret);
	}
	mmgrab(current->mm);
	pages->locked_mm = current->mm;

	for (i = 0; i < nr; i++) {
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto out_unpin;
		}
		got = pin_user_pages_fast(start + i * size, 1, FOLL_WRITE | FOLL_LONGTERM,
					  &page);
		if (got != 1) {
			ret = got < 0 ? got : -EFAULT;
			goto out_unpin;
		}
		pages->folios[pages->nr++] = page_folio(page);
		/* the mapping may have changed since it was checked */
		if (!folio_test_hugetlb(page_folio(page)) ||
		    folio_size(page_folio(page)) != size ||
		    folio_page(page_folio(page), 0) != page) {
			ret = -EINVAL;
			goto out_unpin;
		}
		if (folio_zonenum(page_folio(page)) == ZONE_MOVABLE) {
			/* before 5.13 a long-term pin does not migrate a page out of it */
			pr_warn_ratelimited("import: a page of ZONE_MOVABLE at %#lx, which this kernel pins where it is: refused (kernels from 5.13 migrate it)\n",
					    start + i * size);
			ret = -EOPNOTSUPP;
			goto out_unpin;
		}
		if (i == 0)
			pages->nid = folio_nid(page_folio(page));
		else if (pages->nid != folio_nid(page_folio(page)))
			pages->nid = NUMA_NO_NODE;
	}
	ret = hugedma_pages_merge(pages);
	if (ret)
		goto out_unpin;
	ret = hugedma_pages_hold(pages);
	if (ret)
		goto out_unpin;
	return pages;

out_unpin:
	hugedma_pages_unpin(pages, hugedma_pages_span(pages, nr));
	return ERR_PTR(ret);
}

/* Any VMA still mapping the pages (the file's, whichever struct file it uses)? */
bool hugedma_pages_mapped(const struct hugedma_pages *pages)
{
	return pages->file && mapping_mapped(pages->file->f_mapping);
}

/* A huge-page-aligned address for a mapping of the pages. */
unsigned long hugedma_pages_get_unmapped_area(const struct hugedma_pages *pages,
					      unsigned long addr, unsigned long len,
					      unsigned long pgoff, unsigned long flags)
{
	struct file *file = pages->mapfile;

	if (!file)	/* pinned user pages: their owner maps them */
		return -ENODEV;
	return file->f_op->get_unmapped_area(file, addr, len, pgoff, flags);
}

/*
 * Map [vm_pgoff, vm_pgoff + len) of the pages into @vma through hugetlbfs, so
 * that the mapping uses huge page-table entries and faults in the published
 * pages themselves.  The caller has checked bounds, alignment and VM_SHARED.
 */
int hugedma_pages_mmap(const struct hugedma_pages *pages, struct vm_area_struct *vma)
{
	struct file *file = pages->mapfile;

	if (!file)
		return -ENODEV;
	hugedma_vma_set_file(vma, file);
	return file->f_op->mmap(file, vma);
}

/*
 * A kernel mapping of pages [@first, @first + @nr), or NULL.  vmap() maps base
 * pages only: each huge page costs its base pages' struct page pointers (2 MiB
 * per GiB, freed before this returns) and their page-table entries (2 MiB per
 * GiB, until vunmap()), which is why dma-bufs limit it (HUGEDMA_VMAP_MAX).
 */
void *hugedma_pages_vmap(const struct hugedma_pages *pages, unsigned long first,
			 unsigned long nr)
{
	unsigned long per = 1UL << (pages->shift - PAGE_SHIFT), i, j, k = 0;
	struct page **base;
	void *vaddr;

	base = kvmalloc_array(nr * per, sizeof(*base), GFP_KERNEL);
	if (!base)
		return NULL;
	for (i = first; i < first + nr; i++) {
		for (j = 0; j < per; j++)
			base[k++] = folio_page(pages->folios[i], j);
		cond_resched();
	}
	vaddr = vmap(base, nr * per, VM_MAP, PAGE_KERNEL);
	kvfree(base);
	return vaddr;
}
