// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma: attachments, a buffer mapped for one device through its DMA API.
 *
 * Every consumer goes through here: a configfs attachment (mkdir
 * attachments/BDF), a kernel driver (hugedma_map()), a dma-buf importer.  The
 * device's own DMA API decides the bus addresses: IOVAs behind an IOMMU,
 * physical addresses (plus any bus offset) without one; they are published
 * per attachment under /sys/class/hugedma/NAME/attachments/NAME/.
 *
 * Locking: att->op_lock serialises one attachment's map, unmap and sysfs
 * directory, which may be slow (IOMMU page tables) and wait for readers;
 * att->lock covers only what sysfs readers look at (never held while waiting
 * for them).  buf->lock covers the buffer's attachment list and its count of
 * mapped attachments, which keeps the buffer enabled.  The global list exists
 * only for the PCI bus notifier (hot-unplug, driver unbind).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "compat.h"
#include "hugedma.h"

static DEFINE_MUTEX(hugedma_atts_lock);
static LIST_HEAD(hugedma_atts);		/* every attachment, for the notifier */
/* one PCI notifier at a time walks its victims through att->unplug */
static DEFINE_MUTEX(hugedma_unplug_lock);

static const char *const hugedma_att_state_names[] = {
	[HUGEDMA_ATT_DISABLED] = "disabled",
	[HUGEDMA_ATT_MAPPED] = "mapped",
	[HUGEDMA_ATT_REMOVED] = "removed",
};

enum hugedma_att_state hugedma_att_state(struct hugedma_attachment *att)
{
	enum hugedma_att_state state;

	mutex_lock(&att->lock);
	state = att->state;
	mutex_unlock(&att->lock);
	return state;
}

const char *hugedma_att_state_name(enum hugedma_att_state state)
{
	return hugedma_att_state_names[state];
}

/* ---------------------------------------------------------------- sysfs */

struct hugedma_att_kobj {
	struct kobject kobj;
	struct hugedma_attachment *att;
};

static struct hugedma_attachment *kobj_to_att(struct kobject *kobj)
{
	return container_of(kobj, struct hugedma_att_kobj, kobj)->att;
}

static ssize_t state_show(struct kobject *kobj, struct kobj_attribute *attr, char *page)
{
	struct hugedma_attachment *att = kobj_to_att(kobj);

	return sysfs_emit(page, "%s\n", hugedma_att_state_name(hugedma_att_state(att)));
}

static ssize_t direction_show(struct kobject *kobj, struct kobj_attribute *attr, char *page)
{
	return sysfs_emit(page, "%s\n", hugedma_direction_name(kobj_to_att(kobj)->dir));
}

static ssize_t iommu_show(struct kobject *kobj, struct kobj_attribute *attr, char *page)
{
	return sysfs_emit(page, "%s\n",
			  kobj_to_att(kobj)->translated ? "translated" : "direct");
}

static ssize_t nr_segments_show(struct kobject *kobj, struct kobj_attribute *attr,
				char *page)
{
	struct hugedma_attachment *att = kobj_to_att(kobj);
	unsigned int n;

	mutex_lock(&att->lock);
	n = att->state == HUGEDMA_ATT_MAPPED ? att->sgt.nents : 0;
	mutex_unlock(&att->lock);
	return sysfs_emit(page, "%u\n", n);
}

static struct kobj_attribute hugedma_att_attr_state = __ATTR_RO(state);
static struct kobj_attribute hugedma_att_attr_direction = __ATTR_RO(direction);
static struct kobj_attribute hugedma_att_attr_iommu = __ATTR_RO(iommu);
static struct kobj_attribute hugedma_att_attr_nr_segments = __ATTR_RO(nr_segments);

/* Serve [off, off + count) of a text rendered at map time; empty once unmapped. */
static ssize_t hugedma_att_read_text(struct hugedma_attachment *att, bool addrs,
				     char *out, loff_t off, size_t count)
{
	const char *text;
	size_t len;

	mutex_lock(&att->lock);
	text = addrs ? att->addrs_text : att->lens_text;
	len = addrs ? att->addrs_len : att->lens_len;
	if (att->state != HUGEDMA_ATT_MAPPED || off >= len) {
		count = 0;
	} else {
		count = min_t(size_t, count, len - off);
		memcpy(out, text + off, count);
	}
	mutex_unlock(&att->lock);
	return count;
}

static ssize_t dma_addrs_read(struct file *file, struct kobject *kobj,
			      HUGEDMA_BIN_ATTR_CONST struct bin_attribute *attr, char *out,
			      loff_t off, size_t count)
{
	int ret;

	ret = hugedma_addrs_readable(file);
	if (ret)
		return ret;
	return hugedma_att_read_text(kobj_to_att(kobj), true, out, off, count);
}

static ssize_t dma_lengths_read(struct file *file, struct kobject *kobj,
				HUGEDMA_BIN_ATTR_CONST struct bin_attribute *attr, char *out,
				loff_t off, size_t count)
{
	return hugedma_att_read_text(kobj_to_att(kobj), false, out, off, count);
}

static BIN_ATTR_ADMIN_RO(dma_addrs, 0);
static BIN_ATTR_ADMIN_RO(dma_lengths, 0);

static struct attribute *hugedma_att_attrs[] = {
	&hugedma_att_attr_state.attr,
	&hugedma_att_attr_direction.attr,
	&hugedma_att_attr_iommu.attr,
	&hugedma_att_attr_nr_segments.attr,
	NULL,
};

static HUGEDMA_BIN_ATTR_CONST struct bin_attribute *hugedma_att_bin_attrs[] = {
	&bin_attr_dma_addrs,
	&bin_attr_dma_lengths,
	NULL,
};

static const struct attribute_group hugedma_att_group = {
	.attrs = hugedma_att_attrs,
	.bin_attrs = hugedma_att_bin_attrs,
};

static const struct attribute_group *hugedma_att_groups[] = {
	&hugedma_att_group,
	NULL,
};

static void hugedma_att_kobj_release(struct kobject *kobj)
{
	struct hugedma_att_kobj *ak = container_of(kobj, struct hugedma_att_kobj, kobj);

	hugedma_att_put(ak->att);
	kfree(ak);
}

static HUGEDMA_KTYPE_CONST struct kobj_type hugedma_att_ktype = {
	.release = hugedma_att_kobj_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = hugedma_att_groups,
};

/* The attachment's sysfs directory, under the buffer's attachments/. */
static int hugedma_att_publish(struct hugedma_attachment *att)
{
	struct hugedma_att_kobj *ak;
	int ret;

	ak = kzalloc(sizeof(*ak), GFP_KERNEL);
	if (!ak)
		return -ENOMEM;
	hugedma_att_get(att);
	ak->att = att;
	ret = kobject_init_and_add(&ak->kobj, &hugedma_att_ktype,
				   hugedma_sysfs_attachments_dir(att->buf), "%s", att->name);
	if (ret) {
		kobject_put(&ak->kobj);
		return ret;
	}
	att->kobj = &ak->kobj;
	return 0;
}

/* Remove the directory (under op_lock); waits for readers. */
static void hugedma_att_unpublish(struct hugedma_attachment *att)
{
	struct kobject *kobj = att->kobj;

	att->kobj = NULL;
	if (kobj) {
		kobject_del(kobj);
		kobject_put(kobj);
	}
}

/* ---------------------------------------------------------------- mapping */

/* The attachment's pages: [*first, *first + return value) of the buffer's. */
static unsigned long hugedma_att_pages(struct hugedma_attachment *att, unsigned long *first)
{
	*first = att->nr ? att->first : 0;
	return att->nr ? att->nr : att->buf->pages->nr;
}

/*
 * The sg_table of the attachment's pages (the whole buffer, or a dma-buf's
 * range) for @dev: physically adjacent pages merged into one segment, within
 * the device's max segment size and segment boundary
 * (hugedma_merge_extents()).
 */
static int hugedma_att_build_sgt(struct hugedma_attachment *att)
{
	struct hugedma_pages *pages = att->buf->pages;
	u64 max_len = rounddown((u64)dma_get_max_seg_size(att->dev), PAGE_SIZE);
	u64 boundary = dma_get_seg_boundary(att->dev);
	struct hugedma_extent *ext = NULL;
	unsigned long n, first, nr;
	struct scatterlist *sg;
	phys_addr_t *phys;
	unsigned int i;
	int ret;

	if (!max_len)
		return -EINVAL;
	nr = hugedma_att_pages(att, &first);
	phys = hugedma_pages_phys_array(pages);
	if (!phys)
		return -ENOMEM;
	n = hugedma_merge_extents(phys + first, nr, pages->shift, max_len, boundary, NULL, 0);
	ret = -E2BIG;
	if (!n || n > UINT_MAX)
		goto out_free;
	ret = -ENOMEM;
	ext = kvmalloc_array(n, sizeof(*ext), GFP_KERNEL);
	if (!ext)
		goto out_free;
	hugedma_merge_extents(phys + first, nr, pages->shift, max_len, boundary, ext, n);
	ret = sg_alloc_table(&att->sgt, n, GFP_KERNEL);
	if (ret)
		goto out_free;
	/* an extent's pages are contiguous, so are their struct pages */
	for_each_sgtable_sg(&att->sgt, sg, i)
		sg_set_page(sg, pfn_to_page(PHYS_PFN(ext[i].addr)), ext[i].len, 0);
out_free:
	kvfree(ext);
	kvfree(phys);
	return ret;
}

/*
 * Without an IOMMU the DMA API would bounce what the device cannot reach
 * through swiotlb; a DMA buffer is only useful at its own addresses, so
 * refuse instead.
 */
static int hugedma_att_check_reach(struct hugedma_attachment *att)
{
	struct hugedma_pages *pages = att->buf->pages;
	unsigned long i, first, nr;

	if (att->translated)
		return 0;
	nr = hugedma_att_pages(att, &first);
	for (i = first; i < first + nr; i++) {
		phys_addr_t phys = hugedma_pages_phys(pages, i);

		if (!dma_capable(att->dev, phys_to_dma(att->dev, phys), 1UL << pages->shift,
				 true))
			return -ERANGE;
	}
	return 0;
}

/* "0x%016llx\n" per segment for dma_addrs, "%u\n" for dma_lengths */
static int hugedma_att_render(struct hugedma_attachment *att)
{
	unsigned int n = att->sgt.nents, i;
	struct scatterlist *sg;
	size_t a = 0, l = 0;

	att->addrs_text = kvmalloc(n * 19 + 1, GFP_KERNEL);
	att->lens_text = kvmalloc(n * 11 + 1, GFP_KERNEL);
	if (!att->addrs_text || !att->lens_text) {
		kvfree(att->addrs_text);
		kvfree(att->lens_text);
		att->addrs_text = NULL;
		att->lens_text = NULL;
		return -ENOMEM;
	}
	for_each_sgtable_dma_sg(&att->sgt, sg, i) {
		a += scnprintf(att->addrs_text + a, 20, "0x%016llx\n",
			       (u64)sg_dma_address(sg));
		l += scnprintf(att->lens_text + l, 12, "%u\n", sg_dma_len(sg));
	}
	att->addrs_len = a;
	att->lens_len = l;
	return 0;
}

static void hugedma_att_free_text(struct hugedma_attachment *att)
{
	kvfree(att->addrs_text);
	kvfree(att->lens_text);
	att->addrs_text = NULL;
	att->lens_text = NULL;
	att->addrs_len = 0;
	att->lens_len = 0;
}

static bool hugedma_dev_translated(struct device *dev)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(dev);

	return domain && domain->type != IOMMU_DOMAIN_IDENTITY;
}

/*
 * Someone else manages the device's DMA (vfio for user space): its group sits
 * in an unmanaged IOMMU domain, or (without an IOMMU) its PCI driver says it
 * does not use the kernel DMA API.  Mapping through the DMA API would then
 * program a domain the device no longer uses.
 */
static bool hugedma_dev_dma_owned_elsewhere(struct device *dev)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(dev);
	struct device_driver *drv = READ_ONCE(dev->driver);

	if (domain && domain->type == IOMMU_DOMAIN_UNMANAGED)
		return true;
	return dev_is_pci(dev) && drv && hugedma_driver_manages_dma(drv);
}

/*
 * Unmap the attachment's table.  Debian's kernels invalidate the IOTLB
 * lazily by default (a flush queue, iommu.strict=0): after dma_unmap_sgtable()
 * the device could still reach the pages through a cached translation until
 * the queue drains, and they may go back to the pool next.  So a lazy domain's
 * IOTLB is flushed before this returns, and DMA to an unmapped IOVA faults in
 * either mode (on kernels older than 5.15 only in strict mode: see
 * hugedma_att_map()).
 */
static void hugedma_att_dma_unmap(struct hugedma_attachment *att)
{
	dma_unmap_sgtable(att->dev, &att->sgt, att->dir, 0);
	hugedma_iommu_flush_lazy(iommu_get_domain_for_dev(att->dev));
}

/*
 * Map the attachment's pages (the whole buffer, or a dma-buf's range) for its
 * device.  0 when mapped by this
 * call, 1 when mapped already; -EINVAL unless the buffer is enabled, -ENODEV
 * after the device went away, -EBUSY when user space owns its DMA, -ERANGE
 * when (without an IOMMU) a page is beyond the device's DMA mask.
 */
int hugedma_att_map(struct hugedma_attachment *att)
{
	struct hugedma_buffer *buf = att->buf;
	int ret;

	mutex_lock(&att->op_lock);
	if (att->state == HUGEDMA_ATT_MAPPED) {
		ret = 1;
		goto out_unlock;
	}
	if (att->state == HUGEDMA_ATT_REMOVED) {
		ret = -ENODEV;
		goto out_unlock;
	}
	if (hugedma_dev_dma_owned_elsewhere(att->dev)) {
		pr_warn_ratelimited("%s: %s: DMA is owned by user space (vfio): not mapping\n",
				    buf->name, att->name);
		ret = -EBUSY;
		goto out_unlock;
	}
	ret = hugedma_buffer_use_mapping(buf);	/* keeps the buffer enabled */
	if (ret)
		goto out_unlock;

	att->translated = hugedma_dev_translated(att->dev);
	if (att->translated && !HUGEDMA_CAN_FLUSH_LAZY_IOTLB)
		pr_warn_ratelimited("%s: %s: this kernel's IOMMU driver may invalidate its IOTLB lazily, which hugedma cannot flush: after an unmap the device may reach the pages for up to 10 ms (boot with intel_iommu=strict)\n",
				    buf->name, att->name);
	ret = hugedma_att_check_reach(att);
	if (ret)
		goto out_unuse;
	ret = hugedma_att_build_sgt(att);
	if (ret)
		goto out_unuse;
	ret = dma_map_sgtable(att->dev, &att->sgt, att->dir, 0);
	if (ret)
		goto out_free_sgt;
	ret = hugedma_att_render(att);
	if (ret)
		goto out_unmap;
	/*
	 * A mapping nobody can see is a failed one: the sysfs directory is
	 * made before the state says mapped (readers of a directory made
	 * earlier, kept by a removed attachment, see "disabled" until then).
	 */
	if (!att->kobj) {
		ret = hugedma_att_publish(att);
		if (ret)
			goto out_free_text;
	}
	mutex_lock(&att->lock);
	att->state = HUGEDMA_ATT_MAPPED;
	mutex_unlock(&att->lock);
	att->requested = true;
	mutex_unlock(&att->op_lock);
	return 0;

out_free_text:
	hugedma_att_free_text(att);
out_unmap:
	hugedma_att_dma_unmap(att);
out_free_sgt:
	sg_free_table(&att->sgt);
out_unuse:
	hugedma_buffer_unuse_mapping(buf);
out_unlock:
	mutex_unlock(&att->op_lock);
	return ret;
}

/* Under op_lock: unmap if mapped and move to @state; returns whether it was mapped. */
static bool hugedma_att_unmap_to(struct hugedma_attachment *att, enum hugedma_att_state state)
{
	bool was_mapped;

	mutex_lock(&att->lock);
	was_mapped = att->state == HUGEDMA_ATT_MAPPED;
	if (att->state != HUGEDMA_ATT_REMOVED)
		att->state = state;
	mutex_unlock(&att->lock);
	if (was_mapped) {	/* readers see the state first, then never the text */
		hugedma_att_dma_unmap(att);
		sg_free_table(&att->sgt);
		hugedma_att_free_text(att);
		hugedma_buffer_unuse_mapping(att->buf);
	}
	return was_mapped;
}

/*
 * Unmap on request: 0 when this call undid the last successful map request
 * (even if a hot-unplug unmapped it already), 1 when there was none.
 */
int hugedma_att_unmap(struct hugedma_attachment *att)
{
	bool requested;

	mutex_lock(&att->op_lock);
	hugedma_att_unmap_to(att, HUGEDMA_ATT_DISABLED);
	hugedma_att_unpublish(att);
	requested = att->requested;
	att->requested = false;
	mutex_unlock(&att->op_lock);
	return requested ? 0 : 1;
}

/* Direction of the next mapping: -EBUSY while mapped. */
int hugedma_att_set_dir(struct hugedma_attachment *att, enum dma_data_direction dir)
{
	int ret = 0;

	mutex_lock(&att->op_lock);
	if (att->state == HUGEDMA_ATT_MAPPED)
		ret = -EBUSY;
	else
		att->dir = dir;
	mutex_unlock(&att->op_lock);
	return ret;
}

/*
 * Map only pages [@first, @first + @nr) of the buffer (a dma-buf of a range):
 * set by the attachment's creator before it first maps, never changed after.
 */
void hugedma_att_set_range(struct hugedma_attachment *att, unsigned long first,
			   unsigned long nr)
{
	mutex_lock(&att->op_lock);
	att->first = first;
	att->nr = nr;
	mutex_unlock(&att->op_lock);
}

/*
 * Hand a mapped attachment's pages to the CPU (@for_cpu) or back to the
 * device, with the direction it was mapped in (DMA-API debug checks that the
 * two agree); nothing while it is not mapped.  Under op_lock, so neither an
 * unmap on request nor a hot-unplug can free the table under the sync.
 */
void hugedma_att_sync(struct hugedma_attachment *att, bool for_cpu)
{
	mutex_lock(&att->op_lock);
	if (att->state == HUGEDMA_ATT_MAPPED) {
		if (for_cpu)
			dma_sync_sgtable_for_cpu(att->dev, &att->sgt, att->dir);
		else
			dma_sync_sgtable_for_device(att->dev, &att->sgt, att->dir);
	}
	mutex_unlock(&att->op_lock);
}

/*
 * @buf is disabling: drop the sysfs directories that removed attachments
 * kept, before the buffer's device goes.  Disabling cannot fail (a directory
 * left here would outlive the device it sits in), so the attachments are
 * linked through their own list node rather than copied into an array: only
 * the one disable of the buffer under way uses it.
 */
void hugedma_att_unpublish_all(struct hugedma_buffer *buf)
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
		mutex_lock(&att->op_lock);
		hugedma_att_unpublish(att);
		mutex_unlock(&att->op_lock);
		hugedma_att_put(att);
	}
}

/* ---------------------------------------------------------------- lifetime */

/*
 * A new attachment of @buf for @dev (a device reference is taken), not yet
 * mapped; @driver_owned for the device driver's own (kernel API, dma-buf),
 * set before the PCI notifier can see it.  -EEXIST when @name is attached to
 * the buffer already.
 */
struct hugedma_attachment *hugedma_att_create(struct hugedma_buffer *buf, struct device *dev,
					      const char *name, enum dma_data_direction dir,
					      bool driver_owned)
{
	struct hugedma_attachment *att;
	int ret;

	att = kzalloc(sizeof(*att), GFP_KERNEL);
	if (!att)
		return ERR_PTR(-ENOMEM);
	kref_init(&att->kref);
	mutex_init(&att->op_lock);
	mutex_init(&att->lock);
	INIT_LIST_HEAD(&att->node);
	INIT_LIST_HEAD(&att->all);
	INIT_LIST_HEAD(&att->unplug);
	INIT_LIST_HEAD(&att->gone);
	strscpy(att->name, name, sizeof(att->name));
	att->dir = dir;
	att->driver_owned = driver_owned;
	att->state = HUGEDMA_ATT_DISABLED;

	ret = hugedma_buffer_add_att(buf, att);
	if (ret) {
		kfree(att);
		return ERR_PTR(ret);
	}
	hugedma_buffer_get(buf);
	att->buf = buf;
	att->dev = get_device(dev);

	mutex_lock(&hugedma_atts_lock);
	list_add_tail(&att->all, &hugedma_atts);
	mutex_unlock(&hugedma_atts_lock);
	return att;
}

static void hugedma_att_release(struct kref *kref)
{
	struct hugedma_attachment *att = container_of(kref, struct hugedma_attachment, kref);

	WARN_ON(att->state == HUGEDMA_ATT_MAPPED || att->kobj);
	put_device(att->dev);
	hugedma_buffer_put(att->buf);
	mutex_destroy(&att->lock);
	mutex_destroy(&att->op_lock);
	kfree(att);
}

void hugedma_att_get(struct hugedma_attachment *att)
{
	kref_get(&att->kref);
}

void hugedma_att_put(struct hugedma_attachment *att)
{
	kref_put(&att->kref, hugedma_att_release);
}

/* Unmap, leave the buffer's list and drop the creator's reference. */
void hugedma_att_destroy(struct hugedma_attachment *att)
{
	hugedma_att_unmap(att);
	hugedma_buffer_del_att(att->buf, att);
	mutex_lock(&hugedma_atts_lock);
	list_del_init(&att->all);
	mutex_unlock(&hugedma_atts_lock);
	hugedma_buffer_maybe_retire(att->buf);
	hugedma_att_put(att);
}

/* ---------------------------------------------------------------- hot-unplug */

/*
 * A device leaving (removal) or losing its driver takes its DMA mappings with
 * it: unmap every attachment of it and mark them removed.  The buffers stay
 * intact; an IOMMU faults any DMA the device still attempts.
 */
static int hugedma_pci_notify(struct notifier_block *nb, unsigned long action, void *data)
{
	struct device *dev = data;
	struct hugedma_attachment *att, *next;
	bool admin_only = false;
	LIST_HEAD(victims);

	/*
	 * What an administrator attached goes before the driver's remove, not
	 * after: DMA-API debug checks at BUS_NOTIFY_UNBOUND_DRIVER that nothing is
	 * still mapped for the device.  What the driver mapped itself (kernel
	 * API, dma-buf import) its remove() undoes, and may use until then: only
	 * what it left behind goes at BUS_NOTIFY_UNBOUND_DRIVER, with what an
	 * administrator mapped while remove() ran (this notifier runs ahead of
	 * DMA-API debug's).  Removal notifies BUS_NOTIFY_DEL_DEVICE before it
	 * unbinds.
	 */
	if (action == BUS_NOTIFY_UNBIND_DRIVER)
		admin_only = true;
	else if (action != BUS_NOTIFY_DEL_DEVICE && action != BUS_NOTIFY_UNBOUND_DRIVER)
		return NOTIFY_DONE;

	/*
	 * The device is going whatever happens here, so nothing may fail for
	 * want of memory: the victims are linked through their own list node
	 * (one notifier at a time uses it), however many there are.
	 */
	mutex_lock(&hugedma_unplug_lock);
	mutex_lock(&hugedma_atts_lock);
	list_for_each_entry(att, &hugedma_atts, all) {
		if (att->dev == dev && !(admin_only && att->driver_owned)) {
			hugedma_att_get(att);
			list_add_tail(&att->unplug, &victims);
		}
	}
	mutex_unlock(&hugedma_atts_lock);

	list_for_each_entry_safe(att, next, &victims, unplug) {
		list_del_init(&att->unplug);
		mutex_lock(&att->op_lock);
		if (hugedma_att_unmap_to(att, HUGEDMA_ATT_REMOVED))
			pr_info("%s: %s: device %s, unmapped\n", att->buf->name, att->name,
				action == BUS_NOTIFY_DEL_DEVICE ? "removed" : "unbound");
		mutex_lock(&att->lock);
		att->state = HUGEDMA_ATT_REMOVED;
		mutex_unlock(&att->lock);
		mutex_unlock(&att->op_lock);
		hugedma_att_put(att);
	}
	mutex_unlock(&hugedma_unplug_lock);
	return NOTIFY_OK;
}

static struct notifier_block hugedma_pci_nb = {
	.notifier_call = hugedma_pci_notify,
	.priority = 1,		/* ahead of DMA-API debug's check (priority 0) */
};

int hugedma_attach_init(void)
{
	return bus_register_notifier(&pci_bus_type, &hugedma_pci_nb);
}

void hugedma_attach_exit(void)
{
	bus_unregister_notifier(&pci_bus_type, &hugedma_pci_nb);
}

const char *hugedma_direction_name(enum dma_data_direction dir)
{
	switch (dir) {
	case DMA_TO_DEVICE:
		return "to_device";
	case DMA_FROM_DEVICE:
		return "from_device";
	default:
		return "bidirectional";
	}
}
