// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libhugedma: the configuration of buffers, as hugedmactl needs it.
 *
 *   /sys/kernel/config/hugedma/buffers/NAME[/attachments/BDF]/ATTR   configfs
 *   /sys/class/hugedma/NAME[/attachments/BDF]/ATTR                   published
 *   /sys/kernel/mm/hugepages, /sys/devices/system/node               the pool
 *
 * Values are written as the caller gives them, so that a bad value is the
 * kernel's to refuse; the functions here only refuse names that cannot be one
 * path component.  The name rule and the size syntax are the module's
 * (module/parse.c), checked against the schema's examples by
 * tests/test_schema.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define HUGEDMA_CONFIGFS_ROOT	"/sys/kernel/config/hugedma/buffers"
#define HUGEDMA_MM_DIR		"/sys/kernel/mm/hugepages"
#define HUGEDMA_NODE_DIR	"/sys/devices/system/node"

static char hugedma_cfs_root[PATH_MAX];
static __thread char hugedma_errpath[PATH_MAX];

void hugedma__set_configfs_root(const char *root)
{
	snprintf(hugedma_cfs_root, sizeof(hugedma_cfs_root), "%s", root ? root : "");
}

static const char *hugedma_configfs_root(void)
{
	return hugedma_cfs_root[0] ? hugedma_cfs_root : HUGEDMA_CONFIGFS_ROOT;
}

/* Remember @path as the one that failed with @err; returns @err. */
static int hugedma_failed(const char *path, int err)
{
	snprintf(hugedma_errpath, sizeof(hugedma_errpath), "%s", path);
	return err;
}

HUGEDMA_EXPORT const char *hugedma_error_path(void)
{
	return hugedma_errpath;
}

/* ------------------------------------------------------------ the rules */

static bool hugedma_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool hugedma_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

HUGEDMA_EXPORT int hugedma_name_check(const char *name)
{
	size_t i;

	if (!name || !name[0] || !strcmp(name, "control") || !hugedma_is_alnum(name[0]))
		return -EINVAL;
	for (i = 1; name[i]; i++)
		if (i >= HUGEDMA_NAME_LEN - 1 ||
		    (!hugedma_is_alnum(name[i]) && name[i] != '_' && name[i] != '-'))
			return -EINVAL;
	return 0;
}

HUGEDMA_EXPORT int hugedma_parse_size(const char *text, uint64_t *bytes)
{
	const char *s, *e;
	unsigned int shift = 0;
	uint64_t val = 0;

	if (!text || !bytes)
		return -EINVAL;
	s = text;
	e = text + strlen(text);
	while (s < e && hugedma_is_space(*s))
		s++;
	while (e > s && hugedma_is_space(e[-1]))
		e--;
	if (s == e)
		return -EINVAL;
	switch (e[-1]) {
	case 'K': case 'k': shift = 10; break;
	case 'M': case 'm': shift = 20; break;
	case 'G': case 'g': shift = 30; break;
	case 'T': case 't': shift = 40; break;
	}
	if (shift)
		e--;
	if (s == e)
		return -EINVAL;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (val > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		val = val * 10 + (uint64_t)(*s - '0');
	}
	if (val > UINT64_MAX >> shift)
		return -ERANGE;
	val <<= shift;
	if (!val)
		return -EINVAL;
	*bytes = val;
	return 0;
}

/* ------------------------------------------------------------ paths, files */

/* under @root: NAME, NAME/attachments/BDF, with /ATTR; each part one component */
static int hugedma_tree_path(char *buf, size_t len, const char *root, const char *name,
			     const char *bdf, const char *attr)
{
	if ((name && !hugedma__component_valid(name)) ||
	    (bdf && (!name || !hugedma__component_valid(bdf))) ||
	    (attr && !hugedma__component_valid(attr)))
		return -EINVAL;
	return hugedma__path(buf, len, "%s%s%s%s%s%s%s", root, name ? "/" : "", name ? name : "",
			     bdf ? "/attachments/" : "", bdf ? bdf : "", attr ? "/" : "",
			     attr ? attr : "");
}

HUGEDMA_EXPORT int hugedma_config_path(char *buf, size_t len, const char *name,
				       const char *bdf, const char *attr)
{
	if (!buf)
		return -EINVAL;
	return hugedma_tree_path(buf, len, hugedma_configfs_root(), name, bdf, attr);
}

static bool hugedma_exists(const char *path)
{
	return !access(path, F_OK);
}

/* One line of a text attribute, without its newline. */
static int hugedma_read_line(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hugedma_failed(path, -errno);
	n = read(fd, buf, len - 1);
	err = -errno;
	close(fd);
	if (n < 0)
		return hugedma_failed(path, err);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* @dir/@attr, one line */
static int hugedma_read_attr(const char *dir, const char *attr, char *buf, size_t len)
{
	char path[PATH_MAX + NAME_MAX + 2];

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	return hugedma_read_line(path, buf, len);
}

static int hugedma_read_num(const char *dir, const char *attr, long long *val)
{
	char buf[64];
	int ret = hugedma_read_attr(dir, attr, buf, sizeof(buf));

	if (!ret)
		*val = strtoll(buf, NULL, 10);
	return ret;
}

static int hugedma_read_u64(const char *dir, const char *attr, uint64_t *val)
{
	char buf[64];
	int ret = hugedma_read_attr(dir, attr, buf, sizeof(buf));

	if (!ret)
		*val = strtoull(buf, NULL, 10);
	return ret;
}

HUGEDMA_EXPORT int hugedma_config_read(const char *name, const char *bdf, const char *attr,
				       char *buf, size_t len)
{
	char path[PATH_MAX];
	int ret;

	if (!name || !attr || !buf || !len)
		return -EINVAL;
	ret = hugedma_config_path(path, sizeof(path), name, bdf, attr);
	return ret ? ret : hugedma_read_line(path, buf, len);
}

HUGEDMA_EXPORT int hugedma_config_write(const char *name, const char *bdf, const char *attr,
					const char *value)
{
	char path[PATH_MAX];
	size_t len;
	ssize_t n;
	int fd, ret;

	if (!name || !attr || !value)
		return -EINVAL;
	ret = hugedma_config_path(path, sizeof(path), name, bdf, attr);
	if (ret)
		return ret;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return hugedma_failed(path, -errno);
	len = strlen(value);
	n = write(fd, value, len);	/* one write: configfs takes a value whole */
	ret = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	close(fd);
	return ret ? hugedma_failed(path, ret) : 0;
}

/* mkdir (@make) or rmdir the buffer's directory, or its attachment's */
static int hugedma_config_dir(const char *name, const char *bdf, bool make)
{
	char path[PATH_MAX];
	int ret;

	if (!name)
		return -EINVAL;
	ret = hugedma_config_path(path, sizeof(path), name, bdf, NULL);
	if (!ret && (make ? mkdir(path, 0755) : rmdir(path)))
		ret = hugedma_failed(path, -errno);
	return ret;
}

HUGEDMA_EXPORT int hugedma_buffer_create(const char *name)
{
	return hugedma_config_dir(name, NULL, true);
}

HUGEDMA_EXPORT int hugedma_buffer_destroy(const char *name)
{
	return hugedma_config_dir(name, NULL, false);
}

HUGEDMA_EXPORT int hugedma_buffer_enable(const char *name, int enable)
{
	return hugedma_config_write(name, NULL, "enable", enable ? "1" : "0");
}

HUGEDMA_EXPORT int hugedma_attach(const char *name, const char *bdf)
{
	return bdf ? hugedma_config_dir(name, bdf, true) : -EINVAL;
}

HUGEDMA_EXPORT int hugedma_detach(const char *name, const char *bdf)
{
	return bdf ? hugedma_config_dir(name, bdf, false) : -EINVAL;
}

/* ------------------------------------------------------------ lists */

static int hugedma_names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add the entries of @dir that are not there yet; a missing @dir adds nothing. */
static int hugedma_names_add(char ***names, size_t *n, const char *dir)
{
	struct dirent *de;
	size_t i;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : hugedma_failed(dir, -errno);
	while ((de = readdir(d))) {
		char **nv;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		for (i = 0; i < *n && strcmp((*names)[i], de->d_name); i++)
			;
		if (i < *n)
			continue;
		nv = realloc(*names, (*n + 2) * sizeof(*nv));
		if (!nv)
			goto nomem;
		*names = nv;
		nv[*n] = strdup(de->d_name);
		if (!nv[*n])
			goto nomem;
		nv[++*n] = NULL;
	}
	closedir(d);
	if (*n)
		qsort(*names, *n, sizeof(**names), hugedma_names_cmp);
	return 0;
nomem:
	closedir(d);
	return -ENOMEM;
}

HUGEDMA_EXPORT void hugedma_names_free(char **names, size_t n)
{
	if (!names)
		return;
	while (n)
		free(names[--n]);
	free(names);
}

/* the union of what is under @name (or the roots) in configfs and sysfs */
static int hugedma_list(const char *name, char ***names, size_t *n)
{
	char path[PATH_MAX];
	char **v = NULL;
	size_t nr = 0;
	int ret;

	if (!names || !n)
		return -EINVAL;
	ret = hugedma_config_path(path, sizeof(path), name, NULL, name ? "attachments" : NULL);
	if (!ret && !name && !hugedma_exists(path))
		ret = hugedma_failed(path, -ENOENT);
	if (!ret)
		ret = hugedma_names_add(&v, &nr, path);
	if (!ret)
		ret = hugedma_tree_path(path, sizeof(path), hugedma__sysfs_root(), name, NULL,
					name ? "attachments" : NULL);
	if (!ret)
		ret = hugedma_names_add(&v, &nr, path);
	if (ret) {
		hugedma_names_free(v, nr);
		return ret;
	}
	if (!v)
		v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*names = v;
	*n = nr;
	return 0;
}

HUGEDMA_EXPORT int hugedma_list_buffers(char ***names, size_t *n)
{
	return hugedma_list(NULL, names, n);
}

HUGEDMA_EXPORT int hugedma_list_attachments(const char *name, char ***bdfs, size_t *n)
{
	return name ? hugedma_list(name, bdfs, n) : -EINVAL;
}

/* ------------------------------------------------------------ descriptions */

/*
 * The configfs and sysfs directories of a buffer (@bdf NULL) or attachment,
 * and which exist: -ENOENT when neither does.
 */
static int hugedma_locate(const char *name, const char *bdf, char *cpath, char *spath,
			  int *configfs, int *published)
{
	int ret = hugedma_config_path(cpath, PATH_MAX, name, bdf, NULL);

	if (!ret)
		ret = hugedma_tree_path(spath, PATH_MAX, hugedma__sysfs_root(), name, bdf, NULL);
	if (ret)
		return ret;
	*configfs = hugedma_exists(cpath);
	*published = hugedma_exists(spath);
	if (!*configfs && !*published)
		return hugedma_failed(cpath, -ENOENT);
	return 0;
}

HUGEDMA_EXPORT int hugedma_buffer_describe(const char *name, struct hugedma_buffer_desc *out)
{
	static const char *const attrs[] = { "state", "size", "page_size", "numa_node",
					     "enable" };
	char cpath[PATH_MAX], spath[PATH_MAX], val[64];
	struct hugedma_buffer_desc d;
	long long num = -1;
	int ret;

	if (!out || !name)
		return -EINVAL;
	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "%s", name);
	d.numa_node = -1;
	d.pages_node = -1;
	ret = hugedma_locate(name, NULL, cpath, spath, &d.configfs, &d.published);
	if (ret)
		return ret;
	if (d.configfs) {
		for (unsigned int i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
			ret = hugedma_read_attr(cpath, attrs[i], val, sizeof(val));
			if (ret)
				return ret;
			switch (i) {
			case 0: snprintf(d.state, sizeof(d.state), "%s", val); break;
			case 1: d.size = strtoull(val, NULL, 10); break;
			case 2: d.page_size = strtoull(val, NULL, 10); break;
			case 3: d.numa_node = atoi(val); break;
			case 4: d.enabled = atoi(val) == 1; break;
			}
		}
		strcpy(d.source, "pool");
	}
	if (d.published) {
		/* what a class device lacks leaves the field as it was */
		if (hugedma_read_attr(spath, "source", d.source, sizeof(d.source)))
			strcpy(d.source, d.configfs ? "pool" : "user");
		hugedma_read_u64(spath, "nr_pages", &d.nr_pages);
		if (!hugedma_read_num(spath, "numa_node", &num))
			d.pages_node = (int)num;
		if (!d.configfs) {
			hugedma_read_attr(spath, "state", d.state, sizeof(d.state));
			hugedma_read_u64(spath, "size", &d.size);
			hugedma_read_u64(spath, "page_size", &d.page_size);
			d.enabled = 1;
		}
	}
	*out = d;
	return 0;
}

HUGEDMA_EXPORT int hugedma_attachment_describe(const char *name, const char *bdf,
					       struct hugedma_attachment_desc *out)
{
	char cpath[PATH_MAX], spath[PATH_MAX], val[64];
	struct hugedma_attachment_desc a;
	long long num;
	int ret;

	if (!out || !name || !bdf)
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	snprintf(a.bdf, sizeof(a.bdf), "%s", bdf);
	a.enable = -1;
	a.nr_segments = -1;
	ret = hugedma_locate(name, bdf, cpath, spath, &a.configfs, &a.published);
	if (ret)
		return ret;
	if (a.configfs) {
		hugedma_read_attr(cpath, "direction", a.direction, sizeof(a.direction));
		hugedma_read_attr(cpath, "state", a.state, sizeof(a.state));
		if (!hugedma_read_attr(cpath, "enable", val, sizeof(val)))
			a.enable = atoi(val);
	}
	if (a.published) {
		hugedma_read_attr(spath, "state", a.state, sizeof(a.state));
		hugedma_read_attr(spath, "direction", a.direction, sizeof(a.direction));
		hugedma_read_attr(spath, "iommu", a.iommu, sizeof(a.iommu));
		if (!hugedma_read_num(spath, "nr_segments", &num))
			a.nr_segments = num;
	}
	*out = a;
	return 0;
}

HUGEDMA_EXPORT int hugedma_buffer_phys_addrs(const char *name, uint64_t **addrs, size_t *n)
{
	char path[PATH_MAX];
	int ret;

	if (!name || !addrs || !n)
		return -EINVAL;
	ret = hugedma_tree_path(path, sizeof(path), hugedma__sysfs_root(), name, NULL,
				"phys_addrs");
	if (!ret)
		ret = hugedma__read_u64_lines(path, addrs, n);
	return ret ? hugedma_failed(path, ret) : 0;
}

HUGEDMA_EXPORT int hugedma_attachment_segments(const char *name, const char *bdf,
					       struct hugedma_segment **segs, size_t *n)
{
	char dir[PATH_MAX];
	int ret;

	if (!name || !bdf || !segs || !n)
		return -EINVAL;
	ret = hugedma_tree_path(dir, sizeof(dir), hugedma__sysfs_root(), name, bdf, NULL);
	if (!ret)
		ret = hugedma__parse_segments(dir, segs, n);
	return ret ? hugedma_failed(dir, ret) : 0;
}

/* ------------------------------------------------------------ the pool */

HUGEDMA_EXPORT int hugedma_nodes(int **ids, size_t *n)
{
	char **names = NULL;
	size_t nr = 0, k = 0;
	int *v, ret;

	if (!ids || !n)
		return -EINVAL;
	ret = hugedma_names_add(&names, &nr, HUGEDMA_NODE_DIR);
	if (ret)
		return ret;
	v = calloc(nr + 1, sizeof(*v));
	if (!v) {
		hugedma_names_free(names, nr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nr; i++)
		if (!strncmp(names[i], "node", 4) && names[i][4] >= '0' && names[i][4] <= '9')
			v[k++] = atoi(names[i] + 4);
	hugedma_names_free(names, nr);
	for (size_t i = 1; i < k; i++)	/* insertion sort: few nodes */
		for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			int t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*ids = v;
	*n = k;
	return 0;
}

HUGEDMA_EXPORT int hugedma_pool_path(char *buf, size_t len, uint64_t page_size, int node,
				     const char *counter)
{
	char dir[64];

	if (!buf || page_size < 1024 || node < -1 || (counter && !hugedma__component_valid(counter)))
		return -EINVAL;
	if (node < 0)
		snprintf(dir, sizeof(dir), "hugepages-%llukB", (unsigned long long)(page_size >> 10));
	else
		snprintf(dir, sizeof(dir), "node%d/hugepages/hugepages-%llukB", node,
			 (unsigned long long)(page_size >> 10));
	return hugedma__path(buf, len, "%s/%s%s%s", node < 0 ? HUGEDMA_MM_DIR : HUGEDMA_NODE_DIR,
			     dir, counter ? "/" : "", counter ? counter : "");
}

HUGEDMA_EXPORT int hugedma_pool_get(uint64_t page_size, int node, struct hugedma_pool *out)
{
	static const char *const counters[] = { "nr_hugepages", "free_hugepages",
						"resv_hugepages", "surplus_hugepages" };
	struct hugedma_pool p = { .page_size = page_size };
	uint64_t *vals[] = { &p.total, &p.free, &p.reserved, &p.surplus };
	char dir[PATH_MAX];
	int ret;

	if (!out)
		return -EINVAL;
	ret = hugedma_pool_path(dir, sizeof(dir), page_size, node, NULL);
	if (ret)
		return ret;
	if (!hugedma_exists(dir))
		return hugedma_failed(dir, -ENOENT);
	for (unsigned int i = 0; i < 4; i++) {
		/* a node has no reservation count: the reservations are the pool's */
		if (node >= 0 && vals[i] == &p.reserved)
			continue;
		ret = hugedma_read_u64(dir, counters[i], vals[i]);
		if (ret)
			return ret;
	}
	*out = p;
	return 0;
}

HUGEDMA_EXPORT int hugedma_pool_set(uint64_t page_size, int node, uint64_t count,
				    uint64_t *obtained)
{
	struct hugedma_pool p;
	char path[PATH_MAX], val[32];
	ssize_t n;
	int fd, ret;

	ret = hugedma_pool_path(path, sizeof(path), page_size, node, "nr_hugepages");
	if (ret)
		return ret;
	if (!hugedma_exists(path))
		return hugedma_failed(path, -ENOENT);
	snprintf(val, sizeof(val), "%llu", (unsigned long long)count);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return hugedma_failed(path, -errno);
	/* the kernel takes what it can get and returns success: read back */
	n = write(fd, val, strlen(val));
	ret = n < 0 ? -errno : 0;
	close(fd);
	if (ret)
		return hugedma_failed(path, ret);
	ret = hugedma_pool_get(page_size, node, &p);
	if (!ret && obtained)
		*obtained = p.total;
	return ret;
}

/* ------------------------------------------------------------ PCI devices */

#define HUGEDMA_PCI_DIR "/sys/bus/pci/devices"

/* the last path component of the symbolic link @dir/@link, or "" when there is none */
static void hugedma_link_name(const char *dir, const char *link, char *out, size_t len)
{
	char path[PATH_MAX + NAME_MAX + 2], target[PATH_MAX];
	const char *slash, *name;
	ssize_t n;
	size_t l;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, link);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = '\0';
	slash = strrchr(target, '/');
	name = slash ? slash + 1 : target;
	l = strlen(name);
	if (l < len)	/* a name that does not fit is no name */
		memcpy(out, name, l + 1);
}

HUGEDMA_EXPORT int hugedma_device_describe(const char *bdf, struct hugedma_device_desc *desc)
{
	struct hugedma_device_desc d = { .numa_node = -1 };
	char dir[PATH_MAX], grp[PATH_MAX + 16];
	long long v;
	int ret;

	if (!bdf || !desc || !hugedma__component_valid(bdf))
		return -EINVAL;
	ret = hugedma__path(dir, sizeof(dir), "%s/%s", HUGEDMA_PCI_DIR, bdf);
	if (ret)
		return ret;
	if (!hugedma_exists(dir))
		return hugedma_failed(dir, -ENOENT);
	snprintf(d.bdf, sizeof(d.bdf), "%s", bdf);
	hugedma_link_name(dir, "driver", d.driver, sizeof(d.driver));
	if (!hugedma_read_num(dir, "numa_node", &v))
		d.numa_node = v < 0 ? -1 : (int)v;
	if (!hugedma_read_num(dir, "dma_mask_bits", &v))
		d.dma_mask_bits = (int)v;
	if (!hugedma_read_num(dir, "consistent_dma_mask_bits", &v))
		d.coherent_dma_mask_bits = (int)v;
	hugedma_link_name(dir, "iommu_group", d.iommu_group, sizeof(d.iommu_group));
	if (d.iommu_group[0]) {
		snprintf(grp, sizeof(grp), "%s/iommu_group", dir);
		/* "DMA", "DMA-FQ" (lazy invalidation), "identity"; absent before 5.11 */
		if (hugedma_read_attr(grp, "type", d.iommu_type, sizeof(d.iommu_type)))
			d.iommu_type[0] = '\0';
	}
	*desc = d;
	return 0;
}
