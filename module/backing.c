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

#include <linux/cgroup.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/hugetlb.h>
#include <linux/kthread.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
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
	}
	fput(pages->file);
	/* a heap allocation's charge (heap.c): the pages are back in the pool */
	hugedma_pages_uncharge(pages, hugedma_pages_span(pages, pages->nr));
	kvfree(pages->extents);
	kvfree(pages);
}

struct hugedma_fill {
	const char *name;		/* the buffer's, for the log */
	struct hugedma_pages *pages;
	unsigned long want;
	int nid;
	bool abort;			/* a failed page, or a fatal signal to the writer */
	/* the file mapped (read-only, not inherited) into the writer's mm at @addr */
	struct mm_struct *mm;
	unsigned long addr;
	atomic_long_t next;		/* next page index to fault */
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
 */
static int hugedma_fault_page(struct hugedma_fill *fill, unsigned long i)
{
	struct hugedma_pages *pages = fill->pages;
	unsigned long addr = fill->addr + (i << pages->shift);
	struct vm_area_struct *vma;
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
		/* SIGBUS in our own mapping: the hugetlb cgroup's limit (the pool is reserved) */
		if (ours && (got == -EFAULT || got == -ENOMEM))
			return -ENOSPC;
		return got < 0 ? (int)got : -EFAULT;
	}

	pages->folios[i] = page_folio(page);
	if (WARN_ON_ONCE(folio_page(pages->folios[i], 0) != page ||
			 folio_shift(pages->folios[i]) != pages->shift))
		return -EIO;
	if (fill->nid != NUMA_NO_NODE && folio_nid(pages->folios[i]) != fill->nid)
		return -ENOSPC;	/* the node's pool is short: no fallback */
	if (folio_zonenum(pages->folios[i]) == ZONE_MOVABLE) {
		/* before 5.13 a long-term pin does not migrate a page out of it */
		pr_warn_ratelimited("%s: the pool handed out a page of ZONE_MOVABLE, which this kernel pins where it is: not taken (kernels from 5.13 take another)\n",
				    fill->name);
		return -ENOSPC;
	}
	return 0;
}

/* Fault the next page not yet handed out; false when there is none left. */
static bool hugedma_fill_one(struct hugedma_fill *fill)
{
	unsigned long i;
	int ret;

	/* handed out one by one: two indices can share a fault mutex */
	i = atomic_long_fetch_inc(&fill->next);
	if (i >= fill->want)
		return false;
	/*
	 * Last page first: the pool's free lists hand out the highest address
	 * first (boot-time pages, and the pages of a buffer freed in order), so
	 * that the buffer comes out in ascending physical order and adjacent
	 * pages merge into one extent.
	 */
	ret = hugedma_fault_page(fill, fill->want - 1 - i);
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

	for (i = 0; i < fill->want; i++) {
		if (pages->folios[i])
			unpin_user_page(folio_page(pages->folios[i], 0));
		pages->folios[i] = NULL;
	}
	/* punching a hole would leave the unfaulted pages' reservations behind */
	ret = vfs_truncate(&pages->file->f_path, 0);
	if (ret)	/* the final fput() drops them then */
		pr_debug("truncating after a failed fill: %d\n", ret);
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
 * The temporary mapping the pages are faulted through: the read-only file
 * (as user mappings have it), so that no other thread of the writer can
 * punch a page out of it (MADV_REMOVE), write through it or import it, and
 * not inherited by a child the writer forks.  It reserves every page up
 * front, so a short pool fails here with nothing taken.  (A fork in the
 * instant between vm_mmap() and the flag taking effect would still inherit
 * it: the child's copy keeps the buffer busy until it unmaps or exits.)
 */
static int hugedma_fill_map(struct hugedma_fill *fill)
{
	struct hugedma_pages *pages = fill->pages;
	size_t len = (size_t)fill->want << pages->shift;
	struct vm_area_struct *vma;
	long ret;

	/* hugetlbfs sizes the file only for writable mappings: a fault past EOF is SIGBUS */
	ret = vfs_truncate(&pages->file->f_path, len);
	if (ret)
		return ret;
	fill->addr = vm_mmap(pages->mapfile, 0, len, PROT_READ, MAP_SHARED, 0);
	if (IS_ERR_VALUE(fill->addr)) {
		ret = (long)fill->addr;
		return ret == -ENOMEM ? hugedma_fill_map_error(len, pages->shift) : ret;
	}
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
	size_t len = (size_t)fill->want << fill->pages->shift;
	struct vm_area_struct *vma;
	bool ours;

	mmap_read_lock(fill->mm);
	vma = vma_lookup(fill->mm, fill->addr);
	ours = vma && vma->vm_file == fill->pages->mapfile && vma->vm_start == fill->addr &&
	       vma->vm_end == fill->addr + len;
	mmap_read_unlock(fill->mm);
	while (ours && vm_munmap(fill->addr, len) == -ENOMEM && !fatal_signal_pending(current))
		hugedma_retry_wait();
	mmput(fill->mm);
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
 * Fault the pages in parallel, from kthreads bound to @mask: hugetlbfs'
 * fallocate holds the inode lock while it zeroes, its fault path does not.
 * The workers join the writer's cgroups: the hugetlb cgroup limits that apply
 * to the writer apply to their faults, and they run on CPUs of its cpuset
 * (@mask is within the writer's CPUs).
 */
static int hugedma_fill_parallel(struct hugedma_fill *fill, const char *name,
				 const struct cpumask *mask)
{
	struct hugedma_fill_worker *workers;
	unsigned int nr_workers, n, k;
	bool killed = false;
	int ret = 0;

	nr_workers = min_t(unsigned long, cpumask_weight(mask), fill->want);
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
						 "hugedma/%s:%u", name, n);
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
			ret = set_cpus_allowed_ptr(w->task, mask);
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
 * Map the file, fault every page through the mapping (kthreads bound to
 * @mask, or the writer itself when @mask is NULL), unmap it.  On failure
 * nothing is kept.
 */
static int hugedma_fill(struct hugedma_fill *fill, const char *name, const struct cpumask *mask)
{
	int ret;

	ret = hugedma_fill_map(fill);
	if (ret)
		return ret;
	ret = mask ? hugedma_fill_parallel(fill, name, mask) : hugedma_fill_serial(fill);
	hugedma_fill_unmap(fill);
	if (ret)
		hugedma_fill_unwind(fill);
	else
		fill->pages->nr = fill->want;
	return ret;
}

/*
 * Take @nr zeroed pages of 1 << @shift bytes from the hugetlb pool, all on
 * @nid unless it is NUMA_NO_NODE, each pinned long-term.  Sleeps for as long
 * as zeroing takes; call with no lock held, from a task with an address
 * space (the pages are faulted through a temporary mapping in it).  On
 * failure nothing is kept: -ENOSPC when the pool (or the node's share of it)
 * is short, -ENOMEM when the writer has no room for the mapping, -EINTR on a
 * fatal signal.
 *
 * Who allocates: kthreads bound to the node's CPUs for a node that has CPUs,
 * or to every online CPU for any node, many pages at once, in either case
 * only CPUs the writer may use; the writer itself, under its own memory
 * policy, for a memory-only node or one none of whose CPUs the writer may
 * use, for any node when the writer has a memory policy (numactl --membind),
 * and for a single page on any node (nothing to do in parallel).
 */
struct hugedma_pages *hugedma_pages_alloc(const char *name, unsigned int shift,
					  unsigned long nr, int nid)
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
		ret = hugedma_fill(&fill, name, cpumask_empty(cpus) ? NULL : cpus);
	} else if (nid == NUMA_NO_NODE && nr > 1 && !hugedma_writer_has_mempolicy()) {
		ret = hugedma_fill(&fill, name, cpus);
	} else {
		ret = hugedma_fill(&fill, name, NULL);
	}
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
