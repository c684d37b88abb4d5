/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hugedma: private declarations shared by the module's files.
 *
 * Object model: a struct hugedma_buffer is the buffer (state machine, pages,
 * published device); configfs only holds a reference to it from the directory
 * that created it.  Pages come from hugetlbfs files on private mounts
 * (backing.c), so the hugetlb pool's own allocation path and accounting are used.
 */
#ifndef HUGEDMA_H
#define HUGEDMA_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>

#define HUGEDMA_NAME_MAX	32
#define HUGEDMA_SHIFT_1G	30
#define HUGEDMA_SHIFT_2M	21

struct device;
struct file;
struct folio;

enum hugedma_state {
	HUGEDMA_DISABLED,
	HUGEDMA_ENABLING,
	HUGEDMA_ENABLED,
	HUGEDMA_DISABLING,
};

/*
 * The hugetlb pages behind one enabled buffer (backing.c): either taken from
 * the pool into a hugetlbfs file of hugedma's, or pinned in a user mapping.
 */
struct hugedma_pages {
	struct file *file;		/* unlinked hugetlbfs file owning the pages; NULL if pinned */
	struct file *mapfile;		/* read-only open of it, for user mappings */
	unsigned int shift;		/* huge page shift */
	int nid;			/* node of every page, or NUMA_NO_NODE if mixed */
	unsigned long nr;		/* pages held in @folios */
	struct folio *folios[];		/* one extra reference each: no migration */
};

struct hugedma_buffer {
	struct kref kref;
	struct hlist_node hnode;	/* in the name table while the name is taken */
	struct mutex lock;		/* everything below */
	char name[HUGEDMA_NAME_MAX + 1];
	bool user;			/* imported (pinned user pages), not from the pool */
	bool importer;			/* user: the importing file is still open */
	u64 size;			/* bytes, 0 = not set */
	unsigned int page_shift;
	int numa_node;			/* NUMA_NO_NODE = any node */
	enum hugedma_state state;
	struct hugedma_pages *pages;	/* set from enabling to disabling */
	struct device *dev;		/* /sys/class/hugedma/NAME while enabled */
	dev_t devt;			/* /dev/hugedma/NAME while enabled */
	unsigned int nr_open;		/* open char device files */
};

/* parse.c: pure input parsing, no state */
bool hugedma_name_valid(const char *name);
int hugedma_parse_size(const char *buf, u64 *out);
int hugedma_parse_page_size(const char *buf, unsigned int *shift);
int hugedma_parse_node(const char *buf, int *nid);
int hugedma_parse_bool(const char *buf, bool *out);
const char *hugedma_state_name(enum hugedma_state state);

/* backing.c: hugetlb pool pages through private hugetlbfs mounts */
int hugedma_backing_init(void);
void hugedma_backing_exit(void);
bool hugedma_page_shift_supported(unsigned int shift);
struct hugedma_pages *hugedma_pages_alloc(const char *name, unsigned int shift,
					  unsigned long nr, int nid);
void hugedma_pages_free(struct hugedma_pages *pages);
struct hugedma_pages *hugedma_pages_pin(unsigned long start, unsigned long len);
phys_addr_t hugedma_pages_phys(const struct hugedma_pages *pages, unsigned long i);
bool hugedma_pages_mapped(const struct hugedma_pages *pages);
unsigned long hugedma_pages_get_unmapped_area(const struct hugedma_pages *pages,
					      unsigned long addr, unsigned long len,
					      unsigned long pgoff, unsigned long flags);
int hugedma_pages_mmap(const struct hugedma_pages *pages, struct vm_area_struct *vma);

/* buffer.c: the buffer object and its state machine */
struct hugedma_buffer *hugedma_buffer_create(const char *name);
struct hugedma_buffer *hugedma_buffer_create_user(const char *name,
						  struct hugedma_pages *pages);
void hugedma_buffer_unlist(struct hugedma_buffer *buf);
void hugedma_buffer_importer_gone(struct hugedma_buffer *buf);
void hugedma_buffer_get(struct hugedma_buffer *buf);
void hugedma_buffer_put(struct hugedma_buffer *buf);
int hugedma_buffer_set_size(struct hugedma_buffer *buf, u64 size);
int hugedma_buffer_set_page_shift(struct hugedma_buffer *buf, unsigned int shift);
int hugedma_buffer_set_node(struct hugedma_buffer *buf, int nid);
int hugedma_buffer_enable(struct hugedma_buffer *buf);
int hugedma_buffer_disable(struct hugedma_buffer *buf);
u64 hugedma_buffer_size(struct hugedma_buffer *buf);
unsigned int hugedma_buffer_page_shift(struct hugedma_buffer *buf);
int hugedma_buffer_node(struct hugedma_buffer *buf);
enum hugedma_state hugedma_buffer_state(struct hugedma_buffer *buf);
int hugedma_buffer_open(struct hugedma_buffer *buf);
void hugedma_buffer_close(struct hugedma_buffer *buf);
struct hugedma_info;
void hugedma_buffer_info(struct hugedma_buffer *buf, struct hugedma_info *info);

/* import.c: /dev/hugedma/control */
int hugedma_import_init(void);
void hugedma_import_exit(void);

/* chardev.c: /dev/hugedma/NAME */
int hugedma_chardev_init(void);
void hugedma_chardev_exit(void);
int hugedma_chardev_add(struct hugedma_buffer *buf, dev_t *devt);
void hugedma_chardev_del(dev_t devt);

/* sysfs.c: the hugedma class and each enabled buffer's device */
int hugedma_class_init(void);
void hugedma_class_exit(void);
int hugedma_sysfs_publish(struct hugedma_buffer *buf);
void hugedma_sysfs_unpublish(struct hugedma_buffer *buf);

/* configfs.c */
int hugedma_configfs_init(void);
void hugedma_configfs_exit(void);

#endif /* HUGEDMA_H */
