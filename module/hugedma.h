/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hugedma: private declarations shared by the module's files.
 *
 * Object model: a struct hugedma_buffer is the buffer (state, pages, published
 * device); configfs only holds a reference to it from the directory that
 * created it.  Pages come from hugetlbfs files on private mounts (backing.c),
 * so the hugetlb pool's own allocation path and accounting are used.
 *
 * Files call only down the floors, never up (no circle of calls among them):
 *
 *   main                   init and exit, in order
 *   configfs, import, heap  dispatch: parse a write or an ioctl, call below
 *   lifecycle              enable, disable, import, retire: publish and unpublish
 *   chardev                /dev/hugedma/NAME
 *   dmabuf, api            dma-buf export, the in-kernel API
 *   attach                 a buffer mapped for one device, hot-unplug
 *   sysfs                  /sys/class/hugedma/NAME
 *   buffer                 the object: name, configuration, holds, attachment list
 *   backing                hugetlb pool pages and pins
 *   parse, state, extent   pure: input values, the state table, extent merging
 *
 * What must go up goes through a callback the object was created with: an
 * imported buffer's last release calls its @retire (lifecycle.c's), a heap
 * allocation's heap.c's.
 */
#ifndef HUGEDMA_H
#define HUGEDMA_H

#include <linux/capability.h>
#include <linux/dma-direction.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/types.h>
#include <linux/user_namespace.h>

#define HUGEDMA_NAME_MAX	32
#define HUGEDMA_SHIFT_1G	30
#define HUGEDMA_SHIFT_2M	21

struct device;
struct file;
struct folio;
struct kobject;
struct vm_area_struct;

enum hugedma_state {
	HUGEDMA_DISABLED,
	HUGEDMA_ENABLING,
	HUGEDMA_ENABLED,
	HUGEDMA_DISABLING,
};

/* One physically contiguous piece of a buffer (extent.c) */
struct hugedma_extent {
	u64 addr;			/* physical address */
	u64 len;			/* bytes */
};

/*
 * The hugetlb pages behind one enabled buffer (backing.c): either taken from
 * the pool into a hugetlbfs file of hugedma's, or pinned in a user mapping.
 */
struct hugedma_pages {
	struct file *file;		/* unlinked hugetlbfs file of the pages, or NULL: pinned */
	struct file *mapfile;		/* read-only open of it, for user mappings */
	struct mm_struct *locked_mm;	/* charged locked_vm: an importer's, a heap allocator's */
	unsigned int shift;		/* huge page shift */
	int nid;			/* node of every page, or NUMA_NO_NODE if mixed */
	unsigned long nr;		/* pages held in @folios */
	unsigned long nr_extents;	/* physically contiguous runs of the pages */
	struct hugedma_extent *extents;	/* those runs, in buffer order */
	struct folio *folios[];		/* one extra reference each: no migration */
};

struct hugedma_buffer {
	struct kref kref;
	struct hlist_node hnode;	/* in the name table while the name is taken */
	struct mutex lock;		/* everything below */
	char name[HUGEDMA_NAME_MAX + 1];
	bool user;			/* ends with its last user: imported, or heap */
	bool heap;			/* user: a dma-heap allocation of pool pages (heap.c) */
	bool importer;			/* user: its importing file (or allocating call) is there */
	struct pid *pid;		/* who enabled, imported or allocated it last */
	struct list_head heap_orphan;	/* heap: on heap.c's list while its unmapping is awaited */
	/* user: ends it once the importer and every user are gone (lifecycle.c) */
	void (*retire)(struct hugedma_buffer *buf);
	u64 size;			/* bytes, 0 = not set */
	unsigned int page_shift;
	int numa_node;			/* NUMA_NO_NODE = any node */
	bool contiguous;		/* one physical extent required */
	enum hugedma_state state;
	struct hugedma_pages *pages;	/* set from enabling to disabling */
	struct device *dev;		/* /sys/class/hugedma/NAME while enabled */
	dev_t devt;			/* /dev/hugedma/NAME while enabled */
	struct kobject *att_dir;	/* .../NAME/attachments while enabled */
	char *ext_addrs, *ext_lens;	/* extent_addrs, extent_lengths while enabled */
	size_t ext_addrs_len, ext_lens_len;
	struct list_head attachments;	/* struct hugedma_attachment.node */
	unsigned int nr_open;		/* open char device files */
	unsigned int nr_mapped;		/* mapped and waiting attachments */
	unsigned int nr_kernel;		/* hugedma_get() references */
	unsigned int nr_dmabufs;	/* exported dma-bufs not yet released */
	unsigned int dmabuf_seq;	/* names dma-buf attachments */
};

enum hugedma_att_state {
	HUGEDMA_ATT_DISABLED,
	HUGEDMA_ATT_MAPPED,
	HUGEDMA_ATT_REMOVED,		/* the device went away (a driver's own: lost its driver) */
	HUGEDMA_ATT_WAITING,		/* enabled, mapped when a driver binds to the device */
};

/*
 * The most DMA segments one attachment maps (and publishes in dma_addrs):
 * more is refused with -E2BIG before anything is allocated for them.  With
 * 4 GiB segments that is 256 TiB; a device left at PCI's 64 KiB max segment
 * size reaches it at 4 GiB.
 */
#define HUGEDMA_MAX_SEGMENTS	65536

/* A buffer mapped (or to be mapped) for one device (attach.c). */
struct hugedma_attachment {
	struct kref kref;
	struct list_head node;		/* buf->attachments, under buf->lock */
	struct list_head all;		/* every attachment, for hot-unplug */
	struct list_head unplug;	/* on the PCI notifier's list while it walks them */
	struct list_head gone;		/* on a disabling buffer's list while it unpublishes */
	struct hugedma_buffer *buf;	/* reference */
	struct device *dev;		/* reference */
	char name[64];			/* sysfs directory name */
	enum dma_data_direction dir;
	struct mutex op_lock;		/* map, unmap, the sysfs directory */
	struct mutex lock;		/* what sysfs readers see: below */
	enum hugedma_att_state state;
	bool requested;			/* enabled on request, not yet disabled on request */
	bool translated;		/* behind an IOMMU: bus addresses are IOVAs */
	bool driver_owned;		/* its driver's (kernel API, dma-buf) */
	unsigned long first, nr;	/* the pages it maps: nr 0 is the whole buffer */
	struct sg_table sgt;		/* while mapped */
	char *addrs_text, *lens_text;	/* dma_addrs, dma_lengths, while mapped */
	size_t addrs_len, lens_len;
	struct kobject *kobj;		/* its sysfs directory */
	char why[160];			/* why the last map was refused, under op_lock */
};

/*
 * Physical and bus addresses are for CAP_SYS_ADMIN (in the initial user
 * namespace) only, whatever the file's mode says: the rule of
 * /proc/PID/pagemap's frame numbers, checked against the credentials the file
 * was opened with.  A root without it (a container's, or one that dropped it
 * from its bounding set) reads -EPERM.
 */
static inline int hugedma_addrs_readable(const struct file *file)
{
	return file_ns_capable(file, &init_user_ns, CAP_SYS_ADMIN) ? 0 : -EPERM;
}

/* extent.c: pure, no state (KUnit-testable) */
unsigned long hugedma_merge_extents(const phys_addr_t *phys, unsigned long nr,
				    unsigned int shift, u64 max_len, u64 boundary_mask,
				    struct hugedma_extent *ext, unsigned long max_ext);

/* parse.c: pure input parsing, no state */
#define HUGEDMA_VALUE_MAX	4095	/* what configfs keeps of one write */

bool hugedma_name_valid(const char *name);
int hugedma_check_value(const char *page, size_t count);
int hugedma_parse_size(const char *buf, u64 *out);
int hugedma_parse_page_size(const char *buf, unsigned int *shift);
int hugedma_parse_node(const char *buf, int *nid);
int hugedma_parse_bool(const char *buf, bool *out);

/* state.c: the buffer state machine's table, no state */
enum hugedma_event {
	HUGEDMA_EV_ENABLE,		/* enable 1 */
	HUGEDMA_EV_DISABLE,		/* enable 0 */
	HUGEDMA_EV_DONE,		/* the transition under way completed */
	HUGEDMA_EV_FAILED,		/* the transition under way failed */
};

int hugedma_state_next(enum hugedma_state state, enum hugedma_event event,
		       bool sized, bool in_use, enum hugedma_state *next);
const char *hugedma_state_name(enum hugedma_state state);

/* backing.c: hugetlb pool pages through private hugetlbfs mounts */
int hugedma_backing_init(void);
void hugedma_backing_exit(void);
bool hugedma_page_shift_supported(unsigned int shift);
struct hugedma_pages *hugedma_pages_alloc(const char *name, unsigned int shift,
					  unsigned long nr, int nid);
struct hugedma_pages *hugedma_pages_alloc_contiguous(const char *name, unsigned int shift,
						     unsigned long nr, int nid, bool contiguous);
void hugedma_pages_free(struct hugedma_pages *pages);
struct hugedma_pages *hugedma_pages_pin(unsigned long start, unsigned long len);
phys_addr_t hugedma_pages_phys(const struct hugedma_pages *pages, unsigned long i);
phys_addr_t *hugedma_pages_phys_array(const struct hugedma_pages *pages);
bool hugedma_pages_mapped(const struct hugedma_pages *pages);
unsigned long hugedma_pages_get_unmapped_area(const struct hugedma_pages *pages,
					      unsigned long addr, unsigned long len,
					      unsigned long pgoff, unsigned long flags);
int hugedma_pages_mmap(const struct hugedma_pages *pages, struct vm_area_struct *vma);
void *hugedma_pages_vmap(const struct hugedma_pages *pages, unsigned long first,
			 unsigned long nr);

/* buffer.c: the buffer object */
struct hugedma_buffer *hugedma_buffer_create(const char *name);
struct hugedma_buffer *hugedma_buffer_create_user(const char *name,
						  struct hugedma_pages *pages,
						  void (*retire)(struct hugedma_buffer *buf));
struct hugedma_buffer *hugedma_buffer_create_heap(const char *name,
						  struct hugedma_pages *pages,
						  void (*retire)(struct hugedma_buffer *buf));
void hugedma_buffer_unlist(struct hugedma_buffer *buf);
void hugedma_buffer_importer_gone(struct hugedma_buffer *buf);
void hugedma_buffer_get(struct hugedma_buffer *buf);
void hugedma_buffer_put(struct hugedma_buffer *buf);
int hugedma_buffer_set_size(struct hugedma_buffer *buf, u64 size);
int hugedma_buffer_set_page_shift(struct hugedma_buffer *buf, unsigned int shift);
int hugedma_buffer_set_node(struct hugedma_buffer *buf, int nid);
int hugedma_buffer_set_contiguous(struct hugedma_buffer *buf, bool contiguous);
bool hugedma_buffer_contiguous(struct hugedma_buffer *buf);
int hugedma_buffer_begin(struct hugedma_buffer *buf, enum hugedma_event event);
void hugedma_buffer_finish(struct hugedma_buffer *buf, enum hugedma_event event);
void hugedma_buffer_set_pages(struct hugedma_buffer *buf, struct hugedma_pages *pages);
struct hugedma_pages *hugedma_buffer_take_pages(struct hugedma_buffer *buf);
u64 hugedma_buffer_size(struct hugedma_buffer *buf);
unsigned int hugedma_buffer_page_shift(struct hugedma_buffer *buf);
int hugedma_buffer_node(struct hugedma_buffer *buf);
enum hugedma_state hugedma_buffer_state(struct hugedma_buffer *buf);
/* What keeps an enabled buffer enabled, besides mapped attachments */
enum hugedma_user {
	HUGEDMA_USER_OPEN,		/* an open /dev/hugedma/NAME */
	HUGEDMA_USER_KERNEL,		/* hugedma_get() */
	HUGEDMA_USER_DMABUF,		/* an exported dma-buf */
};

struct hugedma_buffer *hugedma_buffer_find(const char *name);
int hugedma_buffer_hold(struct hugedma_buffer *buf, enum hugedma_user user);
void hugedma_buffer_release_hold(struct hugedma_buffer *buf, enum hugedma_user user);
void hugedma_buffer_maybe_retire(struct hugedma_buffer *buf);
struct hugedma_info;
void hugedma_buffer_info(struct hugedma_buffer *buf, struct hugedma_info *info);
unsigned int hugedma_buffer_next_dmabuf_seq(struct hugedma_buffer *buf);
int hugedma_buffer_mmap(struct hugedma_buffer *buf, struct vm_area_struct *vma);
unsigned long hugedma_buffer_get_unmapped_area(struct hugedma_buffer *buf, unsigned long addr,
					       unsigned long len, unsigned long pgoff,
					       unsigned long flags);

int hugedma_buffer_use_mapping(struct hugedma_buffer *buf);
void hugedma_buffer_unuse_mapping(struct hugedma_buffer *buf);
int hugedma_buffer_add_att(struct hugedma_buffer *buf, struct hugedma_attachment *att);
void hugedma_buffer_del_att(struct hugedma_buffer *buf, struct hugedma_attachment *att);

/* sysfs.c: the hugedma class and each enabled buffer's device */
int hugedma_class_init(void);
void hugedma_class_exit(void);
int hugedma_sysfs_publish(struct hugedma_buffer *buf);
void hugedma_sysfs_unpublish(struct hugedma_buffer *buf);
struct kobject *hugedma_sysfs_attachments_dir(struct hugedma_buffer *buf);

/* attach.c */
int hugedma_attach_init(void);
void hugedma_attach_exit(void);
struct hugedma_attachment *hugedma_att_create(struct hugedma_buffer *buf, struct device *dev,
					      const char *name, enum dma_data_direction dir,
					      bool driver_owned);
void hugedma_att_set_range(struct hugedma_attachment *att, unsigned long first,
			   unsigned long nr);
void hugedma_att_sync(struct hugedma_attachment *att, bool for_cpu);
void hugedma_att_destroy(struct hugedma_attachment *att);
void hugedma_att_get(struct hugedma_attachment *att);
void hugedma_att_put(struct hugedma_attachment *att);
int hugedma_att_map(struct hugedma_attachment *att);
int hugedma_att_enable(struct hugedma_attachment *att, char *why, size_t len);
int hugedma_att_unmap(struct hugedma_attachment *att);
int hugedma_att_set_dir(struct hugedma_attachment *att, enum dma_data_direction dir);
void hugedma_att_unpublish_all(struct hugedma_buffer *buf);
const char *hugedma_att_state_name(enum hugedma_att_state state);
enum hugedma_att_state hugedma_att_state(struct hugedma_attachment *att);
const char *hugedma_direction_name(enum dma_data_direction dir);
int hugedma_parse_direction(const char *buf, enum dma_data_direction *dir);

/* dmabuf.c */
#define HUGEDMA_VMAP_MAX	BIT_ULL(30)	/* the largest dma-buf a kernel vmap()s */

struct dma_buf;
struct dma_buf *hugedma_dmabuf_export(struct hugedma_buffer *buf, unsigned int flags,
				      u64 offset, u64 length);

/* chardev.c: /dev/hugedma/NAME */
int hugedma_chardev_init(void);
void hugedma_chardev_exit(void);
int hugedma_chardev_add(struct hugedma_buffer *buf, dev_t *devt);
void hugedma_chardev_del(dev_t devt);

/* lifecycle.c: enable, disable, import */
int hugedma_enable(struct hugedma_buffer *buf);
int hugedma_disable(struct hugedma_buffer *buf);
struct hugedma_buffer *hugedma_enable_imported(const char *name, struct hugedma_pages *pages);
struct hugedma_buffer *hugedma_enable_heap(const char *name, struct hugedma_pages *pages,
					   void (*retire)(struct hugedma_buffer *buf));

/* import.c: /dev/hugedma/control */
int hugedma_import_init(void);
void hugedma_import_exit(void);

/* heap.c: the dma-heaps hugedma-1g and hugedma-2m (module parameter dma_heaps) */
void hugedma_heap_init(void);

/* configfs.c */
int hugedma_configfs_init(void);
void hugedma_configfs_exit(void);

#endif /* HUGEDMA_H */
