// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma: the configfs tree /sys/kernel/config/hugedma/buffers/NAME/.
 *
 * This file parses and dispatches.  A buffer directory holds one reference on
 * its struct hugedma_buffer; all state lives in buffer.c, and enable and
 * disable are lifecycle.c's.  While a buffer is enabled its directory depends
 * on itself (configfs_depend_item), which is what makes rmdir fail with -EBUSY.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/configfs.h>
#include <linux/ctype.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/numa.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "hugedma.h"

/* a buffer's directory */
struct hugedma_cfs_buffer {
	struct config_group group;
	struct config_group attachments;	/* default group attachments/ */
	struct hugedma_buffer *buf;
};

/* an attachment's directory, attachments/BDF: holds one attachment reference */
struct hugedma_cfs_att {
	struct config_item item;
	struct hugedma_attachment *att;
};

static struct hugedma_attachment *to_att(struct config_item *item)
{
	return container_of(item, struct hugedma_cfs_att, item)->att;
}

static struct hugedma_cfs_buffer *to_cfs_buffer(struct config_item *item)
{
	return container_of(to_config_group(item), struct hugedma_cfs_buffer, group);
}

static struct hugedma_buffer *to_buffer(struct config_item *item)
{
	return to_cfs_buffer(item)->buf;
}

static struct configfs_subsystem hugedma_subsys;

/*
 * One rate-limited line for every rejected write: buffer, attribute, value
 * (escaped, trimmed, at most 64 characters) and the errno returned.
 */
static void hugedma_reject(const char *name, const char *attr, const char *page,
			   int err)
{
	size_t len = strlen(page);

	while (len && isspace(page[len - 1]))
		len--;
	pr_warn_ratelimited("%s: rejected %s '%*pE'%s: %pe\n", name, attr,
			    (int)min_t(size_t, len, 64), page, len > 64 ? "..." : "",
			    ERR_PTR(err));
}

static ssize_t hugedma_result(struct config_item *item, const char *attr,
			      const char *page, size_t count, int ret)
{
	if (ret < 0) {
		hugedma_reject(config_item_name(item), attr, page, ret);
		return ret;
	}
	return count;
}

/* An attachment's rejected write names the buffer too: "dma0/0000:03:00.0". */
static ssize_t hugedma_att_result(struct config_item *item, const char *attr,
				  const char *page, size_t count, int ret)
{
	char name[HUGEDMA_NAME_MAX + 1 + 64];

	if (ret < 0) {
		snprintf(name, sizeof(name), "%s/%s", to_att(item)->buf->name,
			 config_item_name(item));
		hugedma_reject(name, attr, page, ret);
		return ret;
	}
	return count;
}

static ssize_t buffer_size_show(struct config_item *item, char *page)
{
	return sysfs_emit(page, "%llu\n", hugedma_buffer_size(to_buffer(item)));
}

static ssize_t buffer_size_store(struct config_item *item, const char *page,
				 size_t count)
{
	u64 size;
	int ret;

	ret = hugedma_check_value(page, count);
	if (!ret)
		ret = hugedma_parse_size(page, &size);
	if (!ret)
		ret = hugedma_buffer_set_size(to_buffer(item), size);
	return hugedma_result(item, "size", page, count, ret);
}

static ssize_t buffer_page_size_show(struct config_item *item, char *page)
{
	return sysfs_emit(page, "%llu\n",
			  1ULL << hugedma_buffer_page_shift(to_buffer(item)));
}

static ssize_t buffer_page_size_store(struct config_item *item, const char *page,
				      size_t count)
{
	unsigned int shift;
	int ret;

	ret = hugedma_check_value(page, count);
	if (!ret)
		ret = hugedma_parse_page_size(page, &shift);
	if (!ret)
		ret = hugedma_buffer_set_page_shift(to_buffer(item), shift);
	return hugedma_result(item, "page_size", page, count, ret);
}

static ssize_t buffer_numa_node_show(struct config_item *item, char *page)
{
	return sysfs_emit(page, "%d\n", hugedma_buffer_node(to_buffer(item)));
}

static ssize_t buffer_numa_node_store(struct config_item *item, const char *page,
				      size_t count)
{
	int nid, ret;

	ret = hugedma_check_value(page, count);
	if (!ret)
		ret = hugedma_parse_node(page, &nid);
	if (!ret)
		ret = hugedma_buffer_set_node(to_buffer(item), nid);
	return hugedma_result(item, "numa_node", page, count, ret);
}

static ssize_t buffer_contiguous_show(struct config_item *item, char *page)
{
	return sysfs_emit(page, "%d\n", hugedma_buffer_contiguous(to_buffer(item)));
}

static ssize_t buffer_contiguous_store(struct config_item *item, const char *page,
				       size_t count)
{
	bool contiguous;
	int ret;

	ret = hugedma_check_value(page, count);
	if (!ret)
		ret = hugedma_parse_bool(page, &contiguous);
	if (!ret)
		ret = hugedma_buffer_set_contiguous(to_buffer(item), contiguous);
	return hugedma_result(item, "contiguous", page, count, ret);
}

static ssize_t buffer_enable_show(struct config_item *item, char *page)
{
	return sysfs_emit(page, "%d\n",
			  hugedma_buffer_state(to_buffer(item)) == HUGEDMA_ENABLED);
}

static int buffer_enable(struct config_item *item)
{
	int ret;

	/* pin the directory first, so that an rmdir cannot race the enable */
	ret = configfs_depend_item_unlocked(&hugedma_subsys, item);
	if (ret)
		return ret;
	ret = hugedma_enable(to_buffer(item));
	if (ret)	/* failed, or enabled already (and pinned by that enable) */
		configfs_undepend_item(item);
	return ret;
}

static int buffer_disable(struct config_item *item)
{
	int ret;

	ret = hugedma_disable(to_buffer(item));
	if (!ret)	/* this call disabled it: drop the enable's pin */
		configfs_undepend_item(item);
	return ret;
}

static ssize_t buffer_enable_store(struct config_item *item, const char *page,
				   size_t count)
{
	bool enable;
	int ret;

	ret = hugedma_check_value(page, count);
	if (!ret)
		ret = hugedma_parse_bool(page, &enable);
	if (!ret)
		ret = enable ? buffer_enable(item) : buffer_disable(item);
	return hugedma_result(item, "enable", page, count, ret);
}

static ssize_t buffer_state_show(struct config_item *item, char *page)
{
	return sysfs_emit(page, "%s\n",
			  hugedma_state_name(hugedma_buffer_state(to_buffer(item))));
}

CONFIGFS_ATTR(buffer_, size);
CONFIGFS_ATTR(buffer_, page_size);
CONFIGFS_ATTR(buffer_, numa_node);
CONFIGFS_ATTR(buffer_, contiguous);
CONFIGFS_ATTR(buffer_, enable);
CONFIGFS_ATTR_RO(buffer_, state);

static struct configfs_attribute *hugedma_buffer_attrs[] = {
	&buffer_attr_size,
	&buffer_attr_page_size,
	&buffer_attr_numa_node,
	&buffer_attr_contiguous,
	&buffer_attr_enable,
	&buffer_attr_state,
	NULL,
};

/* ---- attachments/BDF */

static ssize_t att_direction_show(struct config_item *item, char *page)
{
	return sysfs_emit(page, "%s\n", hugedma_direction_name(to_att(item)->dir));
}

static ssize_t att_direction_store(struct config_item *item, const char *page, size_t count)
{
	enum dma_data_direction dir;
	int ret;

	ret = hugedma_check_value(page, count);
	if (!ret)
		ret = hugedma_parse_direction(page, &dir);
	if (!ret)
		ret = hugedma_att_set_dir(to_att(item), dir);
	return hugedma_att_result(item, "direction", page, count, ret);
}

/* hugedma_att_result()'s line for a refused map, with the reason after the errno */
static ssize_t hugedma_att_reject_why(struct config_item *item, const char *page, int err,
				      const char *why)
{
	size_t len = strlen(page);

	while (len && isspace(page[len - 1]))
		len--;
	pr_warn_ratelimited("%s/%s: rejected enable '%*pE'%s: %pe: %s\n", to_att(item)->buf->name,
			    config_item_name(item), (int)min_t(size_t, len, 64), page,
			    len > 64 ? "..." : "", ERR_PTR(err), why);
	return err;
}

static ssize_t att_enable_show(struct config_item *item, char *page)
{
	enum hugedma_att_state state = hugedma_att_state(to_att(item));

	return sysfs_emit(page, "%d\n",
			  state == HUGEDMA_ATT_MAPPED || state == HUGEDMA_ATT_WAITING);
}

/* like a buffer's enable: the directory is pinned while the attachment is mapped or waiting */
static ssize_t att_enable_store(struct config_item *item, const char *page, size_t count)
{
	char why[sizeof(((struct hugedma_attachment *)0)->why)];
	bool enable;
	int ret;

	ret = hugedma_check_value(page, count);
	if (!ret)
		ret = hugedma_parse_bool(page, &enable);
	if (!ret && enable) {
		ret = configfs_depend_item_unlocked(&hugedma_subsys, item);
		if (!ret) {
			ret = hugedma_att_enable(to_att(item), why, sizeof(why));
			if (ret)	/* failed, or mapped or waiting (and pinned) already */
				configfs_undepend_item(item);
			/* a refused map: one line that also says which limit refused it */
			if (ret < 0 && why[0])
				return hugedma_att_reject_why(item, page, ret, why);
		}
	} else if (!ret) {
		ret = hugedma_att_unmap(to_att(item));
		if (!ret)
			configfs_undepend_item(item);
	}
	return hugedma_att_result(item, "enable", page, count, ret);
}

static ssize_t att_state_show(struct config_item *item, char *page)
{
	return sysfs_emit(page, "%s\n", hugedma_att_state_name(hugedma_att_state(to_att(item))));
}

CONFIGFS_ATTR(att_, direction);
CONFIGFS_ATTR(att_, enable);
CONFIGFS_ATTR_RO(att_, state);

static struct configfs_attribute *hugedma_att_attrs[] = {
	&att_attr_direction,
	&att_attr_enable,
	&att_attr_state,
	NULL,
};

static void hugedma_att_item_release(struct config_item *item)
{
	struct hugedma_cfs_att *ca = container_of(item, struct hugedma_cfs_att, item);

	hugedma_att_put(ca->att);
	kfree(ca);
}

static struct configfs_item_operations hugedma_att_item_ops = {
	.release = hugedma_att_item_release,
};

static const struct config_item_type hugedma_att_type = {
	.ct_item_ops = &hugedma_att_item_ops,
	.ct_attrs = hugedma_att_attrs,
	.ct_owner = THIS_MODULE,
};

/*
 * "DDDD:BB:DD.F" in the kernel's own spelling (a domain may have more than
 * four digits, as behind Intel VMD), else -EINVAL; -ENODEV if absent.
 */
static int hugedma_pci_lookup(const char *name, struct pci_dev **pdev)
{
	unsigned int domain, bus, slot, fn;
	char canon[24];
	int n = 0;

	if (sscanf(name, "%8x:%2x:%2x.%1x%n", &domain, &bus, &slot, &fn, &n) != 4 ||
	    name[n] || slot > 0x1f || fn > 7)
		return -EINVAL;
	snprintf(canon, sizeof(canon), "%04x:%02x:%02x.%x", domain, bus, slot, fn);
	if (strcmp(canon, name))
		return -EINVAL;
	*pdev = pci_get_domain_bus_and_slot(domain, bus, PCI_DEVFN(slot, fn));
	return *pdev ? 0 : -ENODEV;
}

static struct config_item *hugedma_atts_make_item(struct config_group *group,
						  const char *name)
{
	struct hugedma_cfs_buffer *cb = container_of(group, struct hugedma_cfs_buffer,
						     attachments);
	struct hugedma_attachment *att;
	struct hugedma_cfs_att *ca;
	struct pci_dev *pdev;
	int ret;

	ret = hugedma_pci_lookup(name, &pdev);
	if (ret) {
		pr_warn_ratelimited("%s: rejected attachment '%*pE': %pe\n", cb->buf->name,
				    (int)min_t(size_t, strlen(name), 64), name, ERR_PTR(ret));
		return ERR_PTR(ret);
	}
	ca = kzalloc(sizeof(*ca), GFP_KERNEL);
	if (!ca) {
		pci_dev_put(pdev);
		return ERR_PTR(-ENOMEM);
	}
	att = hugedma_att_create(cb->buf, &pdev->dev, name, DMA_BIDIRECTIONAL, false);
	pci_dev_put(pdev);
	if (IS_ERR(att)) {
		kfree(ca);
		return ERR_CAST(att);
	}
	/* the directory's own reference, beside the creator's that rmdir drops */
	hugedma_att_get(att);
	ca->att = att;
	config_item_init_type_name(&ca->item, name, &hugedma_att_type);
	return &ca->item;
}

static void hugedma_atts_drop_item(struct config_group *group, struct config_item *item)
{
	/* mapped attachments are pinned: this one is unmapped or removed */
	hugedma_att_destroy(to_att(item));
	config_item_put(item);
}

static struct configfs_group_operations hugedma_atts_group_ops = {
	.make_item = hugedma_atts_make_item,
	.drop_item = hugedma_atts_drop_item,
};

static const struct config_item_type hugedma_atts_type = {
	.ct_group_ops = &hugedma_atts_group_ops,
	.ct_owner = THIS_MODULE,
};

/* ---- buffers/NAME */

static void hugedma_buffer_item_release(struct config_item *item)
{
	struct hugedma_cfs_buffer *cb = to_cfs_buffer(item);

	hugedma_buffer_put(cb->buf);
	kfree(cb);
}

static struct configfs_item_operations hugedma_buffer_item_ops = {
	.release = hugedma_buffer_item_release,
};

static const struct config_item_type hugedma_buffer_type = {
	.ct_item_ops = &hugedma_buffer_item_ops,
	.ct_attrs = hugedma_buffer_attrs,
	.ct_owner = THIS_MODULE,
};

static struct config_group *hugedma_buffers_make_group(struct config_group *group,
						       const char *name)
{
	struct hugedma_cfs_buffer *cb;
	struct hugedma_buffer *buf;

	if (!hugedma_name_valid(name)) {
		pr_warn_ratelimited("rejected buffer name '%*pE': %pe\n",
				    (int)min_t(size_t, strlen(name), 64), name,
				    ERR_PTR(-EINVAL));
		return ERR_PTR(-EINVAL);
	}
	cb = kzalloc(sizeof(*cb), GFP_KERNEL);
	if (!cb)
		return ERR_PTR(-ENOMEM);
	buf = hugedma_buffer_create(name);
	if (IS_ERR(buf)) {
		kfree(cb);
		return ERR_CAST(buf);
	}
	cb->buf = buf;
	config_group_init_type_name(&cb->group, name, &hugedma_buffer_type);
	config_group_init_type_name(&cb->attachments, "attachments", &hugedma_atts_type);
	configfs_add_default_group(&cb->attachments, &cb->group);
	return &cb->group;
}

static void hugedma_buffers_drop_item(struct config_group *group,
				      struct config_item *item)
{
	/* enabled buffers are pinned, so this one is disabled: free its name now */
	hugedma_buffer_unlist(to_buffer(item));
	config_item_put(item);
}

static struct configfs_group_operations hugedma_buffers_group_ops = {
	.make_group = hugedma_buffers_make_group,
	.drop_item = hugedma_buffers_drop_item,
};

static const struct config_item_type hugedma_buffers_type = {
	.ct_group_ops = &hugedma_buffers_group_ops,
	.ct_owner = THIS_MODULE,
};

static struct config_group hugedma_buffers_group;

static const struct config_item_type hugedma_root_type = {
	.ct_owner = THIS_MODULE,
};

static struct configfs_subsystem hugedma_subsys = {
	.su_group = {
		.cg_item = {
			.ci_namebuf = "hugedma",
			.ci_type = &hugedma_root_type,
		},
	},
};

int hugedma_configfs_init(void)
{
	config_group_init(&hugedma_subsys.su_group);
	mutex_init(&hugedma_subsys.su_mutex);
	config_group_init_type_name(&hugedma_buffers_group, "buffers",
				    &hugedma_buffers_type);
	configfs_add_default_group(&hugedma_buffers_group, &hugedma_subsys.su_group);
	return configfs_register_subsystem(&hugedma_subsys);
}

void hugedma_configfs_exit(void)
{
	configfs_unregister_subsystem(&hugedma_subsys);
}
