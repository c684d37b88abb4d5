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
 * mapped (and waiting) attachments, which keeps the buffer enabled.  The
 * global list exists only for the PCI bus notifier (hot-unplug, driver bind
 * and unbind).
 *
 * An attachment an administrator enabled (configfs) follows the device's
 * driver: with none bound it is "waiting", mapped when one binds
 * (BUS_NOTIFY_BOUND_DRIVER, after its probe set the DMA mask and segment
 * limits), and back to waiting when it unbinds (BUS_NOTIFY_UNBIND_DRIVER,
 * before its remove()).  Whether a driver is bound is read under the device
 * lock, which the driver core holds across probe, remove and those
 * notifications: lock order device lock, then op_lock.  A driver's own
 * attachments (kernel API, dma-buf) never wait and never take the device
 * lock: their driver may map from its probe, under that lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/overflow.h>
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
	[HUGEDMA_ATT_WAITING] = "waiting",
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

/* empty while waiting: known only once mapped */
static ssize_t iommu_show(struct kobject *kobj, struct kobj_attribute *attr, char *page)
{
	struct hugedma_attachment *att = kobj_to_att(kobj);
	bool waiting, translated;

	mutex_lock(&att->lock);
	waiting = att->state == HUGEDMA_ATT_WAITING;
	translated = att->translated;
	mutex_unlock(&att->lock);
	if (waiting)
		return 0;
	return sysfs_emit(page, "%s\n", translated ? "translated" : "direct");
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
 * Under op_lock: why the attachment's last map was refused, said by whoever
 * asked: the configfs write's one rejection line (hugedma_att_enable()), else
 * one line of this file's.
 */
static __printf(2, 3) void hugedma_att_refuse(struct hugedma_attachment *att,
					      const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(att->why, sizeof(att->why), fmt, args);
	va_end(args);
}

static void hugedma_att_say_refusal(struct hugedma_attachment *att, int err)
{
	if (att->why[0])
		pr_warn_ratelimited("%s: %s: cannot map: %s: %pe\n", att->buf->name, att->name,
				    att->why, ERR_PTR(err));
}

/* The device's reach: its DMA mask within any bus limit (dma_capable()'s). */
static u64 hugedma_att_dma_limit(struct device *dev)
{
	return min_not_zero(dma_get_mask(dev), dev->bus_dma_limit);
}

/*
 * The device's segment limits, checked before anything is allocated for
 * them: -EINVAL when its max segment size or segment boundary is below a page
 * (no segment could start and end on one), -E2BIG when they cut the
 * attachment's pages into more than HUGEDMA_MAX_SEGMENTS segments.  @phys
 * holds the buffer's page addresses; *@nr_segs is set on success.
 */
static int hugedma_att_check_segments(struct hugedma_attachment *att, const phys_addr_t *phys,
				      unsigned long *nr_segs)
{
	struct hugedma_pages *pages = att->buf->pages;
	unsigned int max_seg = dma_get_max_seg_size(att->dev);
	u64 boundary = dma_get_seg_boundary(att->dev);
	unsigned long n, first, nr;

	if (max_seg < PAGE_SIZE) {
		hugedma_att_refuse(att,
				   "the device's max segment size %u is below the page size %lu",
				   max_seg, PAGE_SIZE);
		return -EINVAL;
	}
	if (boundary < PAGE_SIZE - 1) {
		hugedma_att_refuse(att,
				   "the device's segment boundary mask %#llx is below the page size %lu",
				   boundary, PAGE_SIZE);
		return -EINVAL;
	}
	nr = hugedma_att_pages(att, &first);
	n = hugedma_merge_extents(phys + first, nr, pages->shift,
				  rounddown((u64)max_seg, PAGE_SIZE), boundary, NULL, 0);
	if (n > HUGEDMA_MAX_SEGMENTS) {
		hugedma_att_refuse(att,
				   "the device's max segment size %u and segment boundary mask %#llx cut %llu bytes into %lu segments, more than %u",
				   max_seg, boundary, (u64)nr << pages->shift, n,
				   HUGEDMA_MAX_SEGMENTS);
		return -E2BIG;
	}
	*nr_segs = n;
	return 0;
}

/*
 * The sg_table of the attachment's pages (the whole buffer, or a dma-buf's
 * range) for @dev: physically adjacent pages merged into one segment, within
 * the device's max segment size and segment boundary
 * (hugedma_merge_extents()), at most HUGEDMA_MAX_SEGMENTS of them.
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

	nr = hugedma_att_pages(att, &first);
	phys = hugedma_pages_phys_array(pages);
	if (!phys)
		return -ENOMEM;
	ret = hugedma_att_check_segments(att, phys, &n);
	if (ret)
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
 * The device's DMA mask, before anything is mapped.  Without an IOMMU the DMA
 * API would bounce what the device cannot reach through swiotlb; a DMA buffer
 * is only useful at its own addresses, so a page above the mask is refused
 * (-ERANGE).  Behind an IOMMU the pages may sit anywhere, but their bytes
 * must fit in the IOVA space below the mask (-ERANGE too).
 */
static int hugedma_att_check_reach(struct hugedma_attachment *att)
{
	struct hugedma_pages *pages = att->buf->pages;
	u64 limit = hugedma_att_dma_limit(att->dev);
	unsigned long i, first, nr;
	u64 bytes;

	nr = hugedma_att_pages(att, &first);
	bytes = (u64)nr << pages->shift;
	if (att->translated) {
		if (limit == U64_MAX || bytes - 1 <= limit)
			return 0;
		hugedma_att_refuse(att, "%llu bytes do not fit below the device's DMA mask %#llx",
				   bytes, limit);
		return -ERANGE;
	}
	for (i = first; i < first + nr; i++) {
		phys_addr_t phys = hugedma_pages_phys(pages, i);

		if (!dma_capable(att->dev, phys_to_dma(att->dev, phys), 1UL << pages->shift,
				 true)) {
			hugedma_att_refuse(att,
					   "page %lu lies above the device's DMA mask %#llx and no IOMMU translates for it",
					   i, limit);
			return -ERANGE;
		}
	}
	return 0;
}

/*
 * What dma_map_sgtable()'s failure means.  Behind an IOMMU, -ENOMEM (any
 * failure before 5.16: compat.h) is mostly the IOVA allocator finding no
 * range that large below the device's DMA mask (it takes one range for the
 * whole table): when the mask is narrower than the domain's aperture, that
 * is the mask's refusal, -ERANGE.  The limits checked before the map leave
 * the DMA API few other reasons.
 */
static int hugedma_att_map_failed(struct hugedma_attachment *att, int ret)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(att->dev);
	u64 limit = hugedma_att_dma_limit(att->dev);
	unsigned long first, nr = hugedma_att_pages(att, &first);
	u64 bytes = (u64)nr << att->buf->pages->shift;

	if (att->translated && hugedma_dma_map_no_space(ret) && domain &&
	    limit < domain->geometry.aperture_end) {
		hugedma_att_refuse(att,
				   "the IOMMU has no free IOVA range of %llu bytes below the device's DMA mask %#llx",
				   bytes, limit);
		return -ERANGE;
	}
	hugedma_att_refuse(att, "the DMA API refused %llu bytes in %u segments",
			   bytes, att->sgt.orig_nents);
	return ret;
}

/* "0x%016llx\n" per segment for dma_addrs, "%u\n" for dma_lengths */
static int hugedma_att_render(struct hugedma_attachment *att)
{
	unsigned int n = att->sgt.nents, i;
	struct scatterlist *sg;
	size_t a = 0, l = 0;

	/* at most HUGEDMA_MAX_SEGMENTS lines: 1.2 MiB and 0.7 MiB */
	att->addrs_text = kvmalloc(size_add(array_size(n, 19), 1), GFP_KERNEL);
	att->lens_text = kvmalloc(size_add(array_size(n, 11), 1), GFP_KERNEL);
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
 * Under op_lock: map the attachment's pages for its device now, or say in
 * one log line which of the device's limits refused them (-ERANGE: the DMA
 * mask; -EINVAL: a segment limit below a page; -E2BIG: more segments than
 * HUGEDMA_MAX_SEGMENTS; -EBUSY: user space owns its DMA).  The sysfs
 * directory is made if there is none; the state is the caller's to set.
 */
static int hugedma_att_dma_map(struct hugedma_attachment *att)
{
	struct hugedma_buffer *buf = att->buf;
	bool translated;
	int ret;

	if (hugedma_dev_dma_owned_elsewhere(att->dev)) {
		hugedma_att_refuse(att, "DMA is owned by user space (vfio)");
		return -EBUSY;
	}
	translated = hugedma_dev_translated(att->dev);
	mutex_lock(&att->lock);
	att->translated = translated;
	mutex_unlock(&att->lock);
	if (att->translated && !HUGEDMA_CAN_FLUSH_LAZY_IOTLB)
		pr_warn_ratelimited("%s: %s: this kernel's IOMMU driver may invalidate its IOTLB lazily, which hugedma cannot flush: after an unmap the device may reach the pages for up to 10 ms (boot with intel_iommu=strict)\n",
				    buf->name, att->name);
	ret = hugedma_att_check_reach(att);
	if (ret)
		return ret;
	ret = hugedma_att_build_sgt(att);
	if (ret)
		return ret;
	ret = dma_map_sgtable(att->dev, &att->sgt, att->dir, 0);
	if (ret) {
		ret = hugedma_att_map_failed(att, ret);
		goto out_free_sgt;
	}
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
	return 0;

out_free_text:
	hugedma_att_free_text(att);
out_unmap:
	hugedma_att_dma_unmap(att);
out_free_sgt:
	sg_free_table(&att->sgt);
	return ret;
}

static void hugedma_att_set_state(struct hugedma_attachment *att, enum hugedma_att_state state)
{
	mutex_lock(&att->lock);
	att->state = state;
	mutex_unlock(&att->lock);
}

/*
 * Map on request (hugedma_att_map(), hugedma_att_enable()); the refusal's
 * reason goes to @why, or to the log when @why is NULL.
 */
static int hugedma_att_request(struct hugedma_attachment *att, char *why, size_t len)
{
	struct hugedma_buffer *buf = att->buf;
	bool bound = true;
	int ret;

	if (!att->driver_owned) {
		ret = device_lock_interruptible(att->dev);
		if (ret)
			return ret;
		bound = !!READ_ONCE(att->dev->driver);
	}
	mutex_lock(&att->op_lock);
	att->why[0] = '\0';
	if (att->state == HUGEDMA_ATT_MAPPED || att->state == HUGEDMA_ATT_WAITING) {
		ret = 1;
		goto out_unlock;
	}
	if (att->state == HUGEDMA_ATT_REMOVED) {
		hugedma_att_refuse(att, "the device was removed");
		ret = -ENODEV;
		goto out_unlock;
	}
	ret = hugedma_buffer_use_mapping(buf);	/* keeps the buffer enabled */
	if (ret) {
		hugedma_att_refuse(att, "the buffer is not enabled");
		goto out_unlock;
	}
	if (bound)
		ret = hugedma_att_dma_map(att);
	else if (!att->kobj)
		ret = hugedma_att_publish(att);
	if (ret)
		goto out_unuse;
	if (!bound)
		pr_info("%s: %s: no driver bound: mapping when one binds\n", buf->name, att->name);
	hugedma_att_set_state(att, bound ? HUGEDMA_ATT_MAPPED : HUGEDMA_ATT_WAITING);
	att->requested = true;
	goto out_unlock;

out_unuse:
	hugedma_buffer_unuse_mapping(buf);
out_unlock:
	if (ret < 0 && why)
		strscpy(why, att->why, len);
	else if (ret < 0)
		hugedma_att_say_refusal(att, ret);
	mutex_unlock(&att->op_lock);
	if (!att->driver_owned)
		device_unlock(att->dev);
	return ret;
}

/*
 * Map the attachment's pages (the whole buffer, or a dma-buf's range) for its
 * device, on request.  0 when mapped by this call, or (an administrator's
 * attachment of a device without a driver) waiting for one to bind; 1 when
 * mapped or waiting already; -EINVAL unless the buffer is enabled, -ENODEV
 * after the device went away, -EINTR on a signal while the device's driver
 * (un)binds, or hugedma_att_dma_map()'s refusal, said in one log line.
 */
int hugedma_att_map(struct hugedma_attachment *att)
{
	return hugedma_att_request(att, NULL, 0);
}

/*
 * hugedma_att_map() for a configfs write, whose rejection line says why: the
 * reason (or "") in @why.
 */
int hugedma_att_enable(struct hugedma_attachment *att, char *why, size_t len)
{
	return hugedma_att_request(att, why, len);
}

/*
 * Under op_lock: undo the DMA mapping if there is one and move to @state
 * (WAITING keeps the buffer in use, DISABLED and REMOVED let it go; a removed
 * attachment stays removed).  Returns whether it was mapped.
 */
static bool hugedma_att_unmap_to(struct hugedma_attachment *att, enum hugedma_att_state state)
{
	enum hugedma_att_state old;

	mutex_lock(&att->lock);
	old = att->state;
	if (old != HUGEDMA_ATT_REMOVED)
		att->state = state;
	mutex_unlock(&att->lock);
	/* readers see the state first, then never the text */
	if (old == HUGEDMA_ATT_MAPPED) {
		hugedma_att_dma_unmap(att);
		sg_free_table(&att->sgt);
		hugedma_att_free_text(att);
	}
	if ((old == HUGEDMA_ATT_MAPPED || old == HUGEDMA_ATT_WAITING) &&
	    state != HUGEDMA_ATT_WAITING)
		hugedma_buffer_unuse_mapping(att->buf);
	return old == HUGEDMA_ATT_MAPPED;
}

/*
 * Unmap on request: 0 when this call undid the last successful map request
 * (even if a hot-unplug unmapped it already, or it was waiting), 1 when
 * there was none.
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

/* Direction of the next mapping: -EBUSY while mapped or waiting. */
int hugedma_att_set_dir(struct hugedma_attachment *att, enum dma_data_direction dir)
{
	int ret = 0;

	mutex_lock(&att->op_lock);
	if (att->state == HUGEDMA_ATT_MAPPED || att->state == HUGEDMA_ATT_WAITING)
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

/* ---------------------------------------------------------------- the device's life */

/*
 * One attachment of the device the notifier is about, under its op_lock.
 * A driver bound (@action BUS_NOTIFY_BOUND_DRIVER): a waiting attachment is
 * mapped, with the limits the driver's probe set; refused, it stays waiting
 * (hugedma_att_dma_map() said why).  A driver unbinding: an administrator's
 * mapping goes back to waiting before the driver's remove(), while the
 * device's DMA configuration still stands (DMA-API debug checks at
 * BUS_NOTIFY_UNBOUND_DRIVER that nothing is still mapped for it); what the
 * driver mapped itself (kernel API, dma-buf import) its remove() undoes, and
 * may use until then: what it left behind is unmapped and removed at
 * BUS_NOTIFY_UNBOUND_DRIVER.  The device going (BUS_NOTIFY_DEL_DEVICE, before
 * it unbinds): everything is unmapped and removed.
 */
static void hugedma_att_follow(struct hugedma_attachment *att, unsigned long action,
			       struct device *dev)
{
	const char *name = att->buf->name;
	int ret;

	switch (action) {
	case BUS_NOTIFY_BOUND_DRIVER:
		if (att->driver_owned || att->state != HUGEDMA_ATT_WAITING)
			break;
		att->why[0] = '\0';
		ret = hugedma_att_dma_map(att);
		if (!ret) {
			hugedma_att_set_state(att, HUGEDMA_ATT_MAPPED);
			pr_info("%s: %s: driver %s bound, mapped\n", name, att->name,
				dev->driver ? dev->driver->name : "?");
		} else {
			hugedma_att_say_refusal(att, ret);	/* and it waits on */
		}
		break;
	case BUS_NOTIFY_UNBIND_DRIVER:
	case BUS_NOTIFY_UNBOUND_DRIVER:
		if (!att->driver_owned) {
			if (att->state != HUGEDMA_ATT_MAPPED)
				break;
			hugedma_att_unmap_to(att, HUGEDMA_ATT_WAITING);
			pr_info("%s: %s: driver unbinding, unmapped: waiting for a driver\n", name,
				att->name);
		} else if (action == BUS_NOTIFY_UNBOUND_DRIVER) {
			if (hugedma_att_unmap_to(att, HUGEDMA_ATT_REMOVED))
				pr_info("%s: %s: device unbound, unmapped\n", name, att->name);
		}
		break;
	case BUS_NOTIFY_DEL_DEVICE:
		if (hugedma_att_unmap_to(att, HUGEDMA_ATT_REMOVED))
			pr_info("%s: %s: device removed, unmapped\n", name, att->name);
		break;
	}
}

/*
 * Attachments follow their device's life (hugedma_att_follow()).  The driver
 * core calls this with the device locked for a bind or unbind; an IOMMU
 * faults any DMA the device attempts after an unmap.
 */
static int hugedma_pci_notify(struct notifier_block *nb, unsigned long action, void *data)
{
	struct device *dev = data;
	struct hugedma_attachment *att, *next;
	LIST_HEAD(victims);

	if (action != BUS_NOTIFY_BOUND_DRIVER && action != BUS_NOTIFY_UNBIND_DRIVER &&
	    action != BUS_NOTIFY_UNBOUND_DRIVER && action != BUS_NOTIFY_DEL_DEVICE)
		return NOTIFY_DONE;

	/*
	 * Nothing here may fail for want of memory (a device that goes, goes):
	 * the device's attachments are linked through their own list node (one
	 * notifier at a time uses it), however many there are.
	 */
	mutex_lock(&hugedma_unplug_lock);
	mutex_lock(&hugedma_atts_lock);
	list_for_each_entry(att, &hugedma_atts, all) {
		if (att->dev == dev) {
			hugedma_att_get(att);
			list_add_tail(&att->unplug, &victims);
		}
	}
	mutex_unlock(&hugedma_atts_lock);

	list_for_each_entry_safe(att, next, &victims, unplug) {
		list_del_init(&att->unplug);
		mutex_lock(&att->op_lock);
		hugedma_att_follow(att, action, dev);
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
