// SPDX-License-Identifier: GPL-2.0
/*
 * hugedmactl: administer hugedma buffers.
 *
 * It drives only the documented ABI (configfs-schema/): the configfs tree under
 * /sys/kernel/config/hugedma, the class devices under /sys/class/hugedma, and
 * the kernel's hugetlb pool counters.  Values the user gives (sizes, nodes,
 * page sizes, directions, names) are passed to the kernel as they are, so that
 * a bad value is refused by the kernel and reported with the attribute that
 * refused it.
 *
 *   hugedmactl [--json] COMMAND ...      see usage() and hugedmactl(8)
 *
 * Exit status: 0 success, 1 error (with the errno in words), 2 usage.
 *
 * Every run takes a lock (flock) on /run/hugedma/hugedmactl.lock: exclusive for
 * commands that change something, shared for the others, so that concurrent
 * runs do not interleave their steps.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#define CONFIGFS "/sys/kernel/config/hugedma/buffers"
#define CLASSDIR "/sys/class/hugedma"
#define NODEDIR "/sys/devices/system/node"
#define MMDIR "/sys/kernel/mm/hugepages"
#define LOCKDIR "/run/hugedma"
#define LOCKFILE LOCKDIR "/hugedmactl.lock"
#define CONFIG_FORMAT "hugedma-config/1"

#define SZ_2M (2ULL << 20)
#define SZ_1G (1ULL << 30)

static const char *prog = "hugedmactl";
static bool json_out;

/* ------------------------------------------------------------ messages */

static int usage(const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fprintf(stderr, "%s: ", prog);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(fmt ? stderr : stdout,
		"usage: %s [--json] COMMAND [ARGS]\n"
		"  create NAME --size SIZE [--node N] [--page-size 1G|2M]\n"
		"  destroy NAME\n"
		"  enable NAME | disable NAME\n"
		"  list\n"
		"  show NAME\n"
		"  attach NAME BDF [--direction bidirectional|to_device|from_device]\n"
		"  detach NAME BDF\n"
		"  pool\n"
		"  save [FILE]\n"
		"  restore [--dry-run] FILE\n",
		prog);
	return fmt ? 2 : 0;
}

/* "hugedmactl: PATH: Invalid argument"; err is a negative errno. Returns 1. */
static int fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(-err));
	if (err == -ENOENT && !strncmp(what, CONFIGFS, strlen(CONFIGFS)) && access(CONFIGFS, F_OK))
		fprintf(stderr, "%s: is the hugedma module loaded?\n", prog);
	if ((err == -EACCES || err == -EPERM) && geteuid() != 0)
		fprintf(stderr, "%s: this needs root\n", prog);
	return 1;
}

static int failf(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static void print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_SPACED |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* ------------------------------------------------------------ files */

static char *pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return buf;
}

/* Read a one-line attribute into buf (newline stripped). Returns 0 or -errno. */
static int read_attr(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	err = -errno;
	close(fd);
	if (n < 0)
		return err;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int read_u64(const char *path, uint64_t *val)
{
	char buf[64];
	int ret = read_attr(path, buf, sizeof(buf));

	if (!ret)
		*val = strtoull(buf, NULL, 10);
	return ret;
}

static int read_int(const char *path, int *val)
{
	char buf[64];
	int ret = read_attr(path, buf, sizeof(buf));

	if (!ret)
		*val = (int)strtol(buf, NULL, 10);
	return ret;
}

/* A whole file (binary attributes report size 0): malloc'd, NUL-terminated. */
static int read_file(const char *path, char **text)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;
	int fd;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	for (;;) {
		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap *= 2);

			if (!nb) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			int err = -errno;

			free(buf);
			close(fd);
			return err;
		}
		if (!n)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	*text = buf;
	return 0;
}

/* One write(2) of the whole value. Returns 0 or -errno. */
static int write_attr(const char *path, const char *val)
{
	size_t len = strlen(val);
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	close(fd);
	return err;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct names {
	char **v;
	int n;
};

static void names_free(struct names *ns)
{
	while (ns->n > 0)
		free(ns->v[--ns->n]);
	free(ns->v);
	ns->v = NULL;
}

static bool names_has(const struct names *ns, const char *s)
{
	for (int i = 0; i < ns->n; i++)
		if (!strcmp(ns->v[i], s))
			return true;
	return false;
}

/* Add the directory entries of dir (not . and ..), unless present. -ENOENT is not an error. */
static int names_add_dir(struct names *ns, const char *dir)
{
	struct dirent *de;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char **nv;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    names_has(ns, de->d_name))
			continue;
		nv = realloc(ns->v, (ns->n + 1) * sizeof(*nv));
		if (!nv) {
			closedir(d);
			return -ENOMEM;
		}
		ns->v = nv;
		nv[ns->n] = strdup(de->d_name);
		if (!nv[ns->n]) {
			closedir(d);
			return -ENOMEM;
		}
		ns->n++;
	}
	closedir(d);
	qsort(ns->v, ns->n, sizeof(*ns->v), names_cmp);
	return 0;
}

static void human_size(char *out, size_t len, uint64_t bytes)
{
	static const char *const units[] = { "", "K", "M", "G", "T", "P" };
	int u = 0;

	while (u < 5 && bytes && !(bytes & 1023)) {
		bytes >>= 10;
		u++;
	}
	snprintf(out, len, "%" PRIu64 "%s", bytes, units[u]);
}

/* A name that can safely be a path component; anything else is left to the kernel. */
static bool name_ok(const char *s)
{
	return s[0] && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..") &&
	       strlen(s) < 256;
}

/* ------------------------------------------------------------ locking */

static int lock_fd = -1;

static int take_lock(bool exclusive)
{
	mkdir(LOCKDIR, 0755);
	lock_fd = open(LOCKFILE, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock_fd < 0 && !exclusive)
		lock_fd = open(LOCKFILE, O_RDONLY | O_CLOEXEC);
	if (lock_fd < 0) {
		if (!exclusive)
			return 0;	/* a reader without /run access: no lock needed to look */
		return fail(LOCKFILE, -errno);
	}
	while (flock(lock_fd, exclusive ? LOCK_EX : LOCK_SH)) {
		if (errno != EINTR)
			return fail(LOCKFILE, -errno);
	}
	return 0;
}

static int need_root(void)
{
	if (geteuid() != 0)
		return failf("changing hugedma buffers needs root (configfs is root-only)");
	return 0;
}

/* ------------------------------------------------------------ buffer facts */

struct attachment {
	char bdf[256];
	bool configfs;		/* has a configfs directory (else: a kernel user's) */
	char direction[64];
	int enable;		/* configfs enable, -1 if not configfs */
	char state[64];
	char iommu[64];
	int64_t nr_segments;	/* -1 when not published */
	uint64_t *addrs, *lengths;
	size_t nseg;
};

static int parse_lines(const char *text, int base, uint64_t **out, size_t *n)
{
	size_t cnt = 0, i = 0;
	const char *p;
	uint64_t *v;

	for (p = text; *p; p++)
		cnt += *p == '\n';
	v = calloc(cnt + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (p = text; *p && i <= cnt;) {
		char *end;

		v[i++] = strtoull(p, &end, base);
		p = *end ? end + 1 : end;
	}
	*out = v;
	*n = i;
	return 0;
}

static void get_attachment(const char *name, const char *bdf, struct attachment *a)
{
	char path[PATH_MAX], val[64], *text;
	size_t n;

	memset(a, 0, sizeof(*a));
	snprintf(a->bdf, sizeof(a->bdf), "%s", bdf);
	a->enable = -1;
	a->nr_segments = -1;
	if (exists(pathf(path, sizeof(path), CONFIGFS "/%s/attachments/%s", name, bdf))) {
		a->configfs = true;
		read_attr(pathf(path, sizeof(path), CONFIGFS "/%s/attachments/%s/direction",
				name, bdf), a->direction, sizeof(a->direction));
		read_attr(pathf(path, sizeof(path), CONFIGFS "/%s/attachments/%s/state",
				name, bdf), a->state, sizeof(a->state));
		if (!read_attr(pathf(path, sizeof(path), CONFIGFS "/%s/attachments/%s/enable",
				     name, bdf), val, sizeof(val)))
			a->enable = atoi(val);
	}
	pathf(path, sizeof(path), CLASSDIR "/%s/attachments/%s", name, bdf);
	if (!exists(path))
		return;
	read_attr(pathf(path, sizeof(path), CLASSDIR "/%s/attachments/%s/state", name, bdf),
		  a->state, sizeof(a->state));
	read_attr(pathf(path, sizeof(path), CLASSDIR "/%s/attachments/%s/direction", name, bdf),
		  a->direction, sizeof(a->direction));
	read_attr(pathf(path, sizeof(path), CLASSDIR "/%s/attachments/%s/iommu", name, bdf),
		  a->iommu, sizeof(a->iommu));
	if (!read_attr(pathf(path, sizeof(path), CLASSDIR "/%s/attachments/%s/nr_segments",
			     name, bdf), val, sizeof(val)))
		a->nr_segments = strtoll(val, NULL, 10);
	if (!read_file(pathf(path, sizeof(path), CLASSDIR "/%s/attachments/%s/dma_addrs",
			     name, bdf), &text)) {
		parse_lines(text, 16, &a->addrs, &a->nseg);
		free(text);
		if (!read_file(pathf(path, sizeof(path), CLASSDIR "/%s/attachments/%s/dma_lengths",
				     name, bdf), &text)) {
			parse_lines(text, 10, &a->lengths, &n);
			free(text);
			if (n != a->nseg) {
				free(a->lengths);
				a->lengths = NULL;
			}
		}
	}
}

static void put_attachment(struct attachment *a)
{
	free(a->addrs);
	free(a->lengths);
}

struct buffer {
	char name[256];
	bool configfs;		/* has a configfs directory (else imported) */
	char state[64];
	uint64_t size, page_size;
	int numa_node;		/* configured */
	int enable;
	bool published;		/* class device present */
	char source[64];
	uint64_t nr_pages;
	int pages_node;
};

/* The facts of one buffer. Returns 0, or -ENOENT when it does not exist. */
static int get_buffer(const char *name, struct buffer *b, char *errpath, size_t errlen)
{
	char path[PATH_MAX], val[64];
	int ret;

	memset(b, 0, sizeof(*b));
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->numa_node = -1;
	b->pages_node = -1;
	b->configfs = exists(pathf(path, sizeof(path), CONFIGFS "/%s", name));
	b->published = exists(pathf(path, sizeof(path), CLASSDIR "/%s", name));
	if (!b->configfs && !b->published) {
		snprintf(errpath, errlen, CONFIGFS "/%s", name);
		return -ENOENT;
	}
	if (b->configfs) {
		static const char *const attrs[] = { "state", "size", "page_size", "numa_node",
						     "enable" };

		for (unsigned int i = 0; i < 5; i++) {
			pathf(path, sizeof(path), CONFIGFS "/%s/%s", name, attrs[i]);
			ret = read_attr(path, val, sizeof(val));
			if (ret) {
				snprintf(errpath, errlen, "%s", path);
				return ret;
			}
			switch (i) {
			case 0: snprintf(b->state, sizeof(b->state), "%s", val); break;
			case 1: b->size = strtoull(val, NULL, 10); break;
			case 2: b->page_size = strtoull(val, NULL, 10); break;
			case 3: b->numa_node = atoi(val); break;
			case 4: b->enable = atoi(val); break;
			}
		}
		strcpy(b->source, "pool");
	}
	if (b->published) {
		if (read_attr(pathf(path, sizeof(path), CLASSDIR "/%s/source", name),
			      b->source, sizeof(b->source)))
			strcpy(b->source, b->configfs ? "pool" : "user");
		read_u64(pathf(path, sizeof(path), CLASSDIR "/%s/nr_pages", name), &b->nr_pages);
		read_int(pathf(path, sizeof(path), CLASSDIR "/%s/numa_node", name), &b->pages_node);
		if (!b->configfs) {
			read_attr(pathf(path, sizeof(path), CLASSDIR "/%s/state", name),
				  b->state, sizeof(b->state));
			read_u64(pathf(path, sizeof(path), CLASSDIR "/%s/size", name), &b->size);
			read_u64(pathf(path, sizeof(path), CLASSDIR "/%s/page_size", name),
				 &b->page_size);
			b->enable = 1;
		}
	}
	return 0;
}

/* Every buffer name: configfs ones and imported ones. */
static int all_names(struct names *ns)
{
	int ret;

	memset(ns, 0, sizeof(*ns));
	if (!exists(CONFIGFS))
		return -ENOENT;
	ret = names_add_dir(ns, CONFIGFS);
	if (!ret)
		ret = names_add_dir(ns, CLASSDIR);
	return ret;
}

static int attachment_names(const char *name, struct names *ns)
{
	char path[PATH_MAX];
	int ret;

	memset(ns, 0, sizeof(*ns));
	ret = names_add_dir(ns, pathf(path, sizeof(path), CONFIGFS "/%s/attachments", name));
	if (!ret)
		ret = names_add_dir(ns, pathf(path, sizeof(path), CLASSDIR "/%s/attachments",
					      name));
	return ret;
}

static struct json_object *buffer_json(const struct buffer *b)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(b->name));
	json_object_object_add(o, "source", json_object_new_string(b->source));
	json_object_object_add(o, "configfs", json_object_new_boolean(b->configfs));
	json_object_object_add(o, "state", json_object_new_string(b->state));
	json_object_object_add(o, "enabled", json_object_new_boolean(b->enable == 1));
	json_object_object_add(o, "size", json_object_new_uint64(b->size));
	json_object_object_add(o, "page_size", json_object_new_uint64(b->page_size));
	json_object_object_add(o, "numa_node", json_object_new_int(b->numa_node));
	if (b->published) {
		json_object_object_add(o, "nr_pages", json_object_new_uint64(b->nr_pages));
		json_object_object_add(o, "pages_node", json_object_new_int(b->pages_node));
	} else {
		json_object_object_add(o, "nr_pages", NULL);
		json_object_object_add(o, "pages_node", NULL);
	}
	return o;
}

/* ------------------------------------------------------------ list, show */

static int cmd_list(void)
{
	struct json_object *arr = NULL;
	char errpath[PATH_MAX], size[32], psize[32], node[16];
	struct names ns;
	struct buffer b;
	int ret;

	ret = all_names(&ns);
	if (ret)
		return fail(CONFIGFS, ret);
	if (json_out)
		arr = json_object_new_array();
	else
		printf("%-32s %-10s %8s %5s %5s %s\n", "NAME", "STATE", "SIZE", "PAGE", "NODE",
		       "SOURCE");
	for (int i = 0; i < ns.n; i++) {
		ret = get_buffer(ns.v[i], &b, errpath, sizeof(errpath));
		if (ret == -ENOENT)
			continue;	/* removed while we looked */
		if (ret) {
			names_free(&ns);
			json_object_put(arr);
			return fail(errpath, ret);
		}
		if (json_out) {
			json_object_array_add(arr, buffer_json(&b));
			continue;
		}
		human_size(size, sizeof(size), b.size);
		human_size(psize, sizeof(psize), b.page_size);
		snprintf(node, sizeof(node), "%d", b.numa_node);
		printf("%-32s %-10s %8s %5s %5s %s\n", b.name, b.state, size, psize,
		       b.numa_node < 0 ? "any" : node, b.source);
	}
	names_free(&ns);
	if (json_out) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "buffers", arr);
		print_json(o);
		json_object_put(o);
	}
	return 0;
}

/* Processes with /dev/hugedma/NAME open or mapped: only those /proc lets us see. */
static struct json_object *find_users(const char *name)
{
	struct json_object *arr = json_object_new_array();
	char devpath[PATH_MAX], path[PATH_MAX], link[PATH_MAX], comm[64];
	struct dirent *de, *fe;
	DIR *proc, *fds;

	snprintf(devpath, sizeof(devpath), "/dev/hugedma/%s", name);
	proc = opendir("/proc");
	if (!proc)
		return arr;
	while ((de = readdir(proc))) {
		bool found = false;
		char *maps;
		ssize_t n;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fds = opendir(pathf(path, sizeof(path), "/proc/%s/fd", de->d_name));
		while (fds && !found && (fe = readdir(fds))) {
			n = readlink(pathf(path, sizeof(path), "/proc/%s/fd/%s", de->d_name,
					   fe->d_name), link, sizeof(link) - 1);
			if (n > 0) {
				link[n] = '\0';
				found = !strcmp(link, devpath);
			}
		}
		if (fds)
			closedir(fds);
		if (!found && !read_file(pathf(path, sizeof(path), "/proc/%s/maps", de->d_name),
					 &maps)) {
			char *p = strstr(maps, devpath);

			found = p && (p[strlen(devpath)] == '\n' || p[strlen(devpath)] == ' ' ||
				      !p[strlen(devpath)]);
			free(maps);
		}
		if (found) {
			struct json_object *u = json_object_new_object();

			comm[0] = '\0';
			read_attr(pathf(path, sizeof(path), "/proc/%s/comm", de->d_name), comm,
				  sizeof(comm));
			json_object_object_add(u, "pid", json_object_new_int(atoi(de->d_name)));
			json_object_object_add(u, "comm", json_object_new_string(comm));
			json_object_array_add(arr, u);
		}
	}
	closedir(proc);
	return arr;
}

static char *hex(char *buf, size_t len, uint64_t v)
{
	snprintf(buf, len, "0x%016" PRIx64, v);
	return buf;
}

static int cmd_show(const char *name)
{
	struct json_object *o, *phys = NULL, *atts, *users;
	char errpath[PATH_MAX], path[PATH_MAX], h[32], *text = NULL;
	struct names an;
	struct buffer b;
	bool phys_denied = false;
	int ret;

	if (!name_ok(name))
		return usage("bad buffer name '%s'", name);
	ret = get_buffer(name, &b, errpath, sizeof(errpath));
	if (ret)
		return fail(errpath, ret);
	o = buffer_json(&b);
	if (b.published) {
		ret = read_file(pathf(path, sizeof(path), CLASSDIR "/%s/phys_addrs", name), &text);
		if (ret == -EACCES || ret == -EPERM) {
			phys_denied = true;
		} else if (ret && ret != -ENOENT) {
			json_object_put(o);
			return fail(path, ret);
		} else if (!ret) {
			uint64_t *v;
			size_t n;

			phys = json_object_new_array();
			if (!parse_lines(text, 16, &v, &n)) {
				for (size_t i = 0; i < n; i++)
					json_object_array_add(phys, json_object_new_string(
						hex(h, sizeof(h), v[i])));
				free(v);
			}
			free(text);
		}
	}
	json_object_object_add(o, "phys_addrs", phys);
	atts = json_object_new_array();
	if (!attachment_names(name, &an)) {
		for (int i = 0; i < an.n; i++) {
			struct json_object *ao = json_object_new_object(), *segs = NULL;
			struct attachment a;

			get_attachment(name, an.v[i], &a);
			json_object_object_add(ao, "bdf", json_object_new_string(a.bdf));
			json_object_object_add(ao, "configfs", json_object_new_boolean(a.configfs));
			json_object_object_add(ao, "state", json_object_new_string(a.state));
			json_object_object_add(ao, "direction",
					       json_object_new_string(a.direction));
			json_object_object_add(ao, "enable", a.enable < 0 ? NULL :
					       json_object_new_boolean(a.enable == 1));
			json_object_object_add(ao, "iommu", a.iommu[0] ?
					       json_object_new_string(a.iommu) : NULL);
			json_object_object_add(ao, "nr_segments", a.nr_segments < 0 ? NULL :
					       json_object_new_int64(a.nr_segments));
			if (a.addrs) {
				segs = json_object_new_array();
				for (size_t k = 0; k < a.nseg; k++) {
					struct json_object *s = json_object_new_object();

					json_object_object_add(s, "addr", json_object_new_string(
						hex(h, sizeof(h), a.addrs[k])));
					json_object_object_add(s, "length", a.lengths ?
						json_object_new_uint64(a.lengths[k]) : NULL);
					json_object_array_add(segs, s);
				}
			}
			json_object_object_add(ao, "segments", segs);
			json_object_array_add(atts, ao);
			put_attachment(&a);
		}
		names_free(&an);
	}
	json_object_object_add(o, "attachments", atts);
	users = find_users(name);
	json_object_object_add(o, "users", users);

	if (json_out) {
		print_json(o);
		json_object_put(o);
		return 0;
	}
	human_size(h, sizeof(h), b.size);
	printf("%-12s %s\n", "name", b.name);
	printf("%-12s %s\n", "source", b.source);
	printf("%-12s %s\n", "state", b.state);
	printf("%-12s %s (%" PRIu64 ")\n", "size", h, b.size);
	human_size(h, sizeof(h), b.page_size);
	printf("%-12s %s\n", "page_size", h);
	if (b.numa_node < 0)
		printf("%-12s any\n", "numa_node");
	else
		printf("%-12s %d\n", "numa_node", b.numa_node);
	if (b.published) {
		printf("%-12s %" PRIu64 "\n", "nr_pages", b.nr_pages);
		printf("%-12s %d\n", "pages_node", b.pages_node);
		if (phys_denied) {
			printf("%-12s (root only)\n", "phys_addrs");
		} else if (phys) {
			printf("phys_addrs\n");
			for (size_t i = 0; i < json_object_array_length(phys); i++)
				printf("  %s\n", json_object_get_string(
					json_object_array_get_idx(phys, i)));
		}
	}
	for (size_t i = 0; i < json_object_array_length(atts); i++) {
		struct json_object *ao = json_object_array_get_idx(atts, i), *v, *segs;

		printf("attachment %s: state %s, direction %s",
		       json_object_get_string(json_object_object_get(ao, "bdf")),
		       json_object_get_string(json_object_object_get(ao, "state")),
		       json_object_get_string(json_object_object_get(ao, "direction")));
		if ((v = json_object_object_get(ao, "iommu")))
			printf(", iommu %s", json_object_get_string(v));
		if ((v = json_object_object_get(ao, "nr_segments")))
			printf(", %s segments", json_object_get_string(v));
		if (!json_object_get_boolean(json_object_object_get(ao, "configfs")))
			printf(" (kernel user)");
		printf("\n");
		segs = json_object_object_get(ao, "segments");
		for (size_t k = 0; segs && k < json_object_array_length(segs); k++) {
			struct json_object *s = json_object_array_get_idx(segs, k);

			printf("  %s +%s\n", json_object_get_string(json_object_object_get(s, "addr")),
			       json_object_get_string(json_object_object_get(s, "length")));
		}
	}
	for (size_t i = 0; i < json_object_array_length(users); i++) {
		struct json_object *u = json_object_array_get_idx(users, i);

		printf("user         pid %d (%s)\n",
		       json_object_get_int(json_object_object_get(u, "pid")),
		       json_object_get_string(json_object_object_get(u, "comm")));
	}
	json_object_put(o);
	return 0;
}

/* ------------------------------------------------------------ pool */

static const struct {
	const char *dir;
	uint64_t bytes;
} page_sizes[] = {
	{ "hugepages-1048576kB", SZ_1G },
	{ "hugepages-2048kB", SZ_2M },
};

static int node_ids(int **ids)
{
	struct names ns = { 0 };
	int *v, n = 0, ret;

	ret = names_add_dir(&ns, NODEDIR);
	if (ret)
		return ret;
	v = calloc(ns.n + 1, sizeof(*v));
	if (!v) {
		names_free(&ns);
		return -ENOMEM;
	}
	for (int i = 0; i < ns.n; i++)
		if (!strncmp(ns.v[i], "node", 4) && ns.v[i][4] >= '0' && ns.v[i][4] <= '9')
			v[n++] = atoi(ns.v[i] + 4);
	names_free(&ns);
	for (int i = 1; i < n; i++)	/* insertion sort: few nodes */
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			int t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*ids = v;
	return n;
}

/* What enabled hugedma buffers hold of a page size, per node (index nr for "any"). */
static void held_pages(uint64_t page_bytes, uint64_t *total, uint64_t *per_node, int maxnode)
{
	char errpath[PATH_MAX];
	struct names ns;
	struct buffer b;

	*total = 0;
	if (all_names(&ns))
		return;
	for (int i = 0; i < ns.n; i++) {
		if (get_buffer(ns.v[i], &b, errpath, sizeof(errpath)) || !b.published ||
		    b.page_size != page_bytes)
			continue;
		*total += b.nr_pages;
		if (b.pages_node >= 0 && b.pages_node <= maxnode)
			per_node[b.pages_node] += b.nr_pages;
	}
	names_free(&ns);
}

static int cmd_pool(void)
{
	struct json_object *root = json_object_new_object(), *sizes = json_object_new_array();
	char path[PATH_MAX], ps[16];
	int *nodes = NULL, nn, maxnode = 0, ret = 0;

	nn = node_ids(&nodes);
	if (nn < 0) {
		json_object_put(root);
		json_object_put(sizes);
		return fail(NODEDIR, nn);
	}
	for (int i = 0; i < nn; i++)
		if (nodes[i] > maxnode)
			maxnode = nodes[i];
	if (!json_out)
		printf("%-5s %-5s %8s %8s %8s %8s %8s\n", "PAGE", "NODE", "TOTAL", "FREE",
		       "RESV", "SURPLUS", "HUGEDMA");
	for (unsigned int s = 0; s < 2; s++) {
		uint64_t total, free_, resv, surplus, held, *held_node;
		struct json_object *so, *no;

		if (!exists(pathf(path, sizeof(path), MMDIR "/%s", page_sizes[s].dir)))
			continue;	/* the kernel has no such page size */
		human_size(ps, sizeof(ps), page_sizes[s].bytes);
		held_node = calloc(maxnode + 1, sizeof(*held_node));
		if (!held_node) {
			ret = fail("pool", -ENOMEM);
			break;
		}
		held_pages(page_sizes[s].bytes, &held, held_node, maxnode);
		ret = read_u64(pathf(path, sizeof(path), MMDIR "/%s/nr_hugepages",
				     page_sizes[s].dir), &total);
		if (!ret)
			ret = read_u64(pathf(path, sizeof(path), MMDIR "/%s/free_hugepages",
					     page_sizes[s].dir), &free_);
		if (!ret)
			ret = read_u64(pathf(path, sizeof(path), MMDIR "/%s/resv_hugepages",
					     page_sizes[s].dir), &resv);
		if (!ret)
			ret = read_u64(pathf(path, sizeof(path), MMDIR "/%s/surplus_hugepages",
					     page_sizes[s].dir), &surplus);
		if (ret) {
			free(held_node);
			ret = fail(path, ret);
			break;
		}
		so = json_object_new_object();
		json_object_object_add(so, "page_size", json_object_new_uint64(page_sizes[s].bytes));
		json_object_object_add(so, "total", json_object_new_uint64(total));
		json_object_object_add(so, "free", json_object_new_uint64(free_));
		json_object_object_add(so, "reserved", json_object_new_uint64(resv));
		json_object_object_add(so, "surplus", json_object_new_uint64(surplus));
		json_object_object_add(so, "hugedma", json_object_new_uint64(held));
		no = json_object_new_array();
		for (int i = 0; i < nn; i++) {
			uint64_t t, f, su;
			struct json_object *n;

			ret = read_u64(pathf(path, sizeof(path),
					     NODEDIR "/node%d/hugepages/%s/nr_hugepages",
					     nodes[i], page_sizes[s].dir), &t);
			if (ret == -ENOENT) {
				ret = 0;
				continue;
			}
			if (!ret)
				ret = read_u64(pathf(path, sizeof(path),
						     NODEDIR "/node%d/hugepages/%s/free_hugepages",
						     nodes[i], page_sizes[s].dir), &f);
			if (!ret)
				ret = read_u64(pathf(path, sizeof(path),
						     NODEDIR "/node%d/hugepages/%s/surplus_hugepages",
						     nodes[i], page_sizes[s].dir), &su);
			if (ret)
				break;
			n = json_object_new_object();
			json_object_object_add(n, "node", json_object_new_int(nodes[i]));
			json_object_object_add(n, "total", json_object_new_uint64(t));
			json_object_object_add(n, "free", json_object_new_uint64(f));
			json_object_object_add(n, "surplus", json_object_new_uint64(su));
			json_object_object_add(n, "hugedma", json_object_new_uint64(held_node[nodes[i]]));
			json_object_array_add(no, n);
			if (!json_out)
				printf("%-5s %-5d %8" PRIu64 " %8" PRIu64 " %8s %8" PRIu64 " %8" PRIu64
				       "\n", ps, nodes[i], t, f, "-", su, held_node[nodes[i]]);
		}
		free(held_node);
		json_object_object_add(so, "nodes", no);
		json_object_array_add(sizes, so);
		if (ret) {
			ret = fail(path, ret);
			break;
		}
		if (!json_out)
			printf("%-5s %-5s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8"
			       PRIu64 "\n", ps, "all", total, free_, resv, surplus, held);
	}
	free(nodes);
	json_object_object_add(root, "pools", sizes);
	if (json_out && !ret)
		print_json(root);
	json_object_put(root);
	return ret;
}

/* ------------------------------------------------------------ changes, with undo */

enum undo_kind { UNDO_RMDIR, UNDO_WRITE };

struct undo {
	enum undo_kind kind;
	char path[PATH_MAX];
	char value[64];		/* UNDO_WRITE: the value to write back */
};

/* A log of what this run did (for the report) and how to undo it. */
struct journal {
	struct undo *u;
	int n;
	struct json_object *actions;	/* what was done, in order */
	bool dry_run;
};

static void journal_action(struct journal *j, const char *action, const char *buffer,
			   const char *bdf, const char *detail)
{
	struct json_object *a = json_object_new_object();

	json_object_object_add(a, "action", json_object_new_string(action));
	json_object_object_add(a, "buffer", json_object_new_string(buffer));
	if (bdf)
		json_object_object_add(a, "bdf", json_object_new_string(bdf));
	if (detail)
		json_object_object_add(a, "value", json_object_new_string(detail));
	json_object_array_add(j->actions, a);
}

static void journal_undo(struct journal *j, enum undo_kind kind, const char *path,
			 const char *value)
{
	struct undo *nu = realloc(j->u, (j->n + 1) * sizeof(*nu));

	if (!nu)
		return;	/* cannot happen in practice; the undo is then best effort */
	j->u = nu;
	nu[j->n].kind = kind;
	snprintf(nu[j->n].path, sizeof(nu[j->n].path), "%s", path);
	snprintf(nu[j->n].value, sizeof(nu[j->n].value), "%s", value ? value : "");
	j->n++;
}

/* Undo everything, newest first. Returns the number of steps that failed. */
static int journal_rollback(struct journal *j, struct json_object *undone)
{
	int failed = 0;

	while (j->n > 0) {
		struct undo *u = &j->u[--j->n];
		int ret = u->kind == UNDO_RMDIR ? (rmdir(u->path) ? -errno : 0) :
			  write_attr(u->path, u->value);
		struct json_object *a = json_object_new_object();

		json_object_object_add(a, "action", json_object_new_string(
			u->kind == UNDO_RMDIR ? "rmdir" : "write"));
		json_object_object_add(a, "path", json_object_new_string(u->path));
		if (u->kind == UNDO_WRITE)
			json_object_object_add(a, "value", json_object_new_string(u->value));
		json_object_object_add(a, "ok", json_object_new_boolean(!ret));
		json_object_array_add(undone, a);
		if (ret) {
			failed++;
			fail(u->path, ret);
		}
	}
	return failed;
}

static void journal_free(struct journal *j)
{
	free(j->u);
	json_object_put(j->actions);
}

/* The failing step of a run: path and errno, for the report. */
static char err_path[PATH_MAX];
static int err_code;

static int step_fail(const char *path, int err)
{
	snprintf(err_path, sizeof(err_path), "%s", path);
	err_code = err;
	return err;
}

static int do_mkdir(struct journal *j, const char *path)
{
	if (mkdir(path, 0755))
		return step_fail(path, -errno);
	journal_undo(j, UNDO_RMDIR, path, NULL);
	return 0;
}

/* Write attr and journal how to put back the value it had. */
static int do_write(struct journal *j, const char *path, const char *value, const char *old)
{
	int ret = write_attr(path, value);

	if (ret)
		return step_fail(path, ret);
	if (old)
		journal_undo(j, UNDO_WRITE, path, old);
	return 0;
}

static void print_actions(struct json_object *actions, const char *prefix)
{
	for (size_t i = 0; i < json_object_array_length(actions); i++) {
		struct json_object *a = json_object_array_get_idx(actions, i), *v;

		printf("%s%s %s", prefix, json_object_get_string(json_object_object_get(a, "action")),
		       json_object_get_string(json_object_object_get(a, "buffer")));
		if ((v = json_object_object_get(a, "bdf")))
			printf(" %s", json_object_get_string(v));
		if ((v = json_object_object_get(a, "value")))
			printf(" %s", json_object_get_string(v));
		printf("\n");
	}
}

/* ------------------------------------------------------------ create ... detach */

struct bufspec {
	const char *name;
	const char *size;
	const char *page_size;
	const char *node;
	bool enable;
};

/* Make a buffer that does not exist, set it up and (if asked) enable it. */
static int make_buffer(struct journal *j, const struct bufspec *s)
{
	char path[PATH_MAX];
	int ret;

	ret = do_mkdir(j, pathf(path, sizeof(path), CONFIGFS "/%s", s->name));
	if (ret)
		return ret;
	journal_action(j, "create", s->name, NULL, NULL);
	/* page_size first: size must be a multiple of it */
	if (s->page_size) {
		ret = do_write(j, pathf(path, sizeof(path), CONFIGFS "/%s/page_size", s->name),
			       s->page_size, NULL);
		if (ret)
			return ret;
	}
	if (s->size) {
		ret = do_write(j, pathf(path, sizeof(path), CONFIGFS "/%s/size", s->name),
			       s->size, NULL);
		if (ret)
			return ret;
	}
	if (s->node) {
		ret = do_write(j, pathf(path, sizeof(path), CONFIGFS "/%s/numa_node", s->name),
			       s->node, NULL);
		if (ret)
			return ret;
	}
	if (s->enable) {
		ret = do_write(j, pathf(path, sizeof(path), CONFIGFS "/%s/enable", s->name),
			       "1", "0");
		if (ret)
			return ret;
		journal_action(j, "enable", s->name, NULL, NULL);
	}
	return 0;
}

/* {"path", "errno", "message"} of a failure, for --json output */
static struct json_object *json_error(const char *path, int ret)
{
	struct json_object *e = json_object_new_object();
	const char *name = strerrorname_np(-ret);

	json_object_object_add(e, "path", json_object_new_string(path));
	json_object_object_add(e, "errno", json_object_new_string(name ? name : "?"));
	json_object_object_add(e, "message", json_object_new_string(strerror(-ret)));
	return e;
}

static int finish_change(struct journal *j, int ret, const char *verb)
{
	struct json_object *undone = json_object_new_array();

	if (ret) {
		int bad = journal_rollback(j, undone);

		fail(err_path, ret);
		if (bad)
			failf("%s: %d undo step(s) failed; check with '%s list'", verb, bad, prog);
	}
	if (json_out) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(!ret));
		json_object_object_add(o, "actions", json_object_get(j->actions));
		json_object_object_add(o, "rolled_back", json_object_get(undone));
		if (ret)
			json_object_object_add(o, "error", json_error(err_path, ret));
		print_json(o);
		json_object_put(o);
	}
	json_object_put(undone);
	journal_free(j);
	return ret ? 1 : 0;
}

static int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "node", required_argument, NULL, 'n' },
		{ "page-size", required_argument, NULL, 'p' },
		{ 0 }
	};
	struct bufspec s = { .enable = true };
	struct journal j = { .actions = json_object_new_array() };
	int c;

	while ((c = getopt_long(argc, argv, "s:n:p:", opts, NULL)) != -1) {
		switch (c) {
		case 's': s.size = optarg; break;
		case 'n': s.node = optarg; break;
		case 'p': s.page_size = optarg; break;
		default: journal_free(&j); return usage("bad option");
		}
	}
	if (optind != argc - 1 || !s.size) {
		journal_free(&j);
		return usage(optind != argc - 1 ? "create: give one NAME" :
			     "create: --size is required");
	}
	s.name = argv[optind];
	if (!name_ok(s.name)) {
		journal_free(&j);
		return usage("bad buffer name '%s'", s.name);
	}
	if (need_root() || take_lock(true)) {
		journal_free(&j);
		return 1;
	}
	return finish_change(&j, make_buffer(&j, &s), "create");
}

/* Unmap and remove a buffer's configfs attachments, disable it, remove it. */
static int remove_buffer(struct journal *j, const char *name)
{
	char path[PATH_MAX], val[16];
	struct names an = { 0 };
	int ret;

	ret = names_add_dir(&an, pathf(path, sizeof(path), CONFIGFS "/%s/attachments", name));
	if (ret)
		return step_fail(path, ret);
	for (int i = 0; i < an.n && !ret; i++) {
		pathf(path, sizeof(path), CONFIGFS "/%s/attachments/%s/enable", name, an.v[i]);
		if (!read_attr(path, val, sizeof(val)) && !strcmp(val, "1"))
			ret = do_write(j, path, "0", "1");
		if (!ret) {
			pathf(path, sizeof(path), CONFIGFS "/%s/attachments/%s", name, an.v[i]);
			if (rmdir(path))
				ret = step_fail(path, -errno);
			else
				journal_action(j, "detach", name, an.v[i], NULL);
		}
	}
	names_free(&an);
	if (ret)
		return ret;
	pathf(path, sizeof(path), CONFIGFS "/%s/enable", name);
	if (!read_attr(path, val, sizeof(val)) && !strcmp(val, "1")) {
		ret = do_write(j, path, "0", "1");
		if (ret)
			return ret;
		journal_action(j, "disable", name, NULL, NULL);
	}
	if (rmdir(pathf(path, sizeof(path), CONFIGFS "/%s", name)))
		return step_fail(path, -errno);
	journal_action(j, "destroy", name, NULL, NULL);
	return 0;
}

static int one_name(int argc, char **argv, const char *cmd, int nargs)
{
	if (argc != nargs + 1) {
		char msg[64];

		snprintf(msg, sizeof(msg), "%s: wrong number of arguments", cmd);
		return usage(msg);
	}
	for (int i = 1; i <= nargs; i++)
		if (argv[i][0] == '-')
			return usage("%s: unknown option '%s'", cmd, argv[i]);
	if (!name_ok(argv[1]))
		return usage("bad buffer name '%s'", argv[1]);
	return 0;
}

static int cmd_destroy(int argc, char **argv)
{
	struct journal j = { .actions = json_object_new_array() };
	char path[PATH_MAX];
	int ret;

	ret = one_name(argc, argv, "destroy", 1);
	if (!ret && (need_root() || take_lock(true)))
		ret = 1;
	if (ret) {
		journal_free(&j);
		return ret;
	}
	if (!exists(pathf(path, sizeof(path), CONFIGFS "/%s", argv[1])))
		return finish_change(&j, step_fail(path, -ENOENT), "destroy");
	/* no rollback once removal started: a half-destroyed buffer is re-destroyed */
	ret = remove_buffer(&j, argv[1]);
	j.n = 0;
	return finish_change(&j, ret, "destroy");
}

static int cmd_enable(int argc, char **argv, bool on)
{
	struct journal j = { .actions = json_object_new_array() };
	char path[PATH_MAX];
	int ret;

	ret = one_name(argc, argv, on ? "enable" : "disable", 1);
	if (!ret && (need_root() || take_lock(true)))
		ret = 1;
	if (ret) {
		journal_free(&j);
		return ret;
	}
	ret = do_write(&j, pathf(path, sizeof(path), CONFIGFS "/%s/enable", argv[1]),
		       on ? "1" : "0", NULL);
	if (!ret)
		journal_action(&j, on ? "enable" : "disable", argv[1], NULL, NULL);
	return finish_change(&j, ret, on ? "enable" : "disable");
}

/* mkdir (if absent), direction (if given and different), enable (if asked). */
static int attach_one(struct journal *j, const char *name, const char *bdf, const char *dir,
		      bool enable)
{
	char path[PATH_MAX], val[32];
	int ret;

	pathf(path, sizeof(path), CONFIGFS "/%s/attachments/%s", name, bdf);
	if (!exists(path)) {
		if (!exists(pathf(path, sizeof(path), CONFIGFS "/%s", name)))
			return step_fail(path, -ENOENT);
		ret = do_mkdir(j, pathf(path, sizeof(path), CONFIGFS "/%s/attachments/%s",
					name, bdf));
		if (ret)
			return ret;
		journal_action(j, "attach", name, bdf, NULL);
	}
	pathf(path, sizeof(path), CONFIGFS "/%s/attachments/%s/direction", name, bdf);
	if (dir) {
		ret = read_attr(path, val, sizeof(val));
		if (ret)
			return step_fail(path, ret);
		if (strcmp(val, dir)) {
			ret = do_write(j, path, dir, val);
			if (ret)
				return ret;
			journal_action(j, "direction", name, bdf, dir);
		}
	}
	if (enable) {
		pathf(path, sizeof(path), CONFIGFS "/%s/attachments/%s/enable", name, bdf);
		ret = read_attr(path, val, sizeof(val));
		if (ret)
			return step_fail(path, ret);
		if (strcmp(val, "1")) {
			ret = do_write(j, path, "1", "0");
			if (ret)
				return ret;
			journal_action(j, "map", name, bdf, NULL);
		}
	}
	return 0;
}

static int cmd_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "direction", required_argument, NULL, 'd' },
		{ 0 }
	};
	struct journal j = { .actions = json_object_new_array() };
	const char *dir = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		if (c != 'd') {
			journal_free(&j);
			return usage("bad option");
		}
		dir = optarg;
	}
	if (optind != argc - 2 || !name_ok(argv[optind]) || !name_ok(argv[optind + 1])) {
		journal_free(&j);
		return usage("attach: give NAME and BDF");
	}
	if (need_root() || take_lock(true)) {
		journal_free(&j);
		return 1;
	}
	return finish_change(&j, attach_one(&j, argv[optind], argv[optind + 1], dir, true),
			     "attach");
}

static int cmd_detach(int argc, char **argv)
{
	struct journal j = { .actions = json_object_new_array() };
	char path[PATH_MAX], val[16];
	int ret;

	ret = one_name(argc, argv, "detach", 2);
	if (!ret && !name_ok(argv[2]))
		ret = usage("bad device name '%s'", argv[2]);
	if (!ret && (need_root() || take_lock(true)))
		ret = 1;
	if (ret) {
		journal_free(&j);
		return ret;
	}
	pathf(path, sizeof(path), CONFIGFS "/%s/attachments/%s/enable", argv[1], argv[2]);
	ret = read_attr(path, val, sizeof(val));
	if (ret == -ENOENT)
		ret = step_fail(pathf(path, sizeof(path), CONFIGFS "/%s/attachments/%s",
				      argv[1], argv[2]), ret);
	else if (ret)
		ret = step_fail(path, ret);
	if (!ret && !strcmp(val, "1")) {
		ret = do_write(&j, path, "0", "1");
		if (!ret)
			journal_action(&j, "unmap", argv[1], argv[2], NULL);
	}
	if (!ret) {
		if (rmdir(pathf(path, sizeof(path), CONFIGFS "/%s/attachments/%s", argv[1],
				argv[2])))
			ret = step_fail(path, -errno);
		else
			journal_action(&j, "detach", argv[1], argv[2], NULL);
	}
	return finish_change(&j, ret, "detach");
}

/* ------------------------------------------------------------ save */

static struct json_object *saved_config(int *err)
{
	struct json_object *root = json_object_new_object(), *bufs = json_object_new_array();
	char path[PATH_MAX], errpath[PATH_MAX];
	struct names ns = { 0 };
	int ret;

	*err = 0;
	json_object_object_add(root, "format", json_object_new_string(CONFIG_FORMAT));
	json_object_object_add(root, "buffers", bufs);
	if (!exists(CONFIGFS)) {
		*err = fail(CONFIGFS, -ENOENT);
		return root;
	}
	ret = names_add_dir(&ns, CONFIGFS);
	if (ret) {
		*err = fail(CONFIGFS, ret);
		return root;
	}
	for (int i = 0; i < ns.n; i++) {
		struct json_object *bo, *atts = json_object_new_array();
		struct names an = { 0 };
		struct buffer b;

		ret = get_buffer(ns.v[i], &b, errpath, sizeof(errpath));
		if (ret == -ENOENT) {
			json_object_put(atts);
			continue;
		}
		if (ret) {
			json_object_put(atts);
			*err = fail(errpath, ret);
			break;
		}
		bo = json_object_new_object();
		json_object_object_add(bo, "name", json_object_new_string(b.name));
		json_object_object_add(bo, "size", json_object_new_uint64(b.size));
		json_object_object_add(bo, "page_size", json_object_new_uint64(b.page_size));
		json_object_object_add(bo, "numa_node", json_object_new_int(b.numa_node));
		json_object_object_add(bo, "enable", json_object_new_boolean(b.enable == 1));
		names_add_dir(&an, pathf(path, sizeof(path), CONFIGFS "/%s/attachments", b.name));
		for (int k = 0; k < an.n; k++) {
			struct json_object *ao = json_object_new_object();
			struct attachment a;

			get_attachment(b.name, an.v[k], &a);
			json_object_object_add(ao, "bdf", json_object_new_string(a.bdf));
			json_object_object_add(ao, "direction", json_object_new_string(a.direction));
			json_object_object_add(ao, "enable", json_object_new_boolean(a.enable == 1));
			json_object_array_add(atts, ao);
			put_attachment(&a);
		}
		names_free(&an);
		json_object_object_add(bo, "attachments", atts);
		json_object_array_add(bufs, bo);
	}
	names_free(&ns);
	return root;
}

static int cmd_save(int argc, char **argv)
{
	const char *file = NULL, *text;
	struct json_object *cfg;
	char tmp[PATH_MAX];
	int err, fd;
	FILE *f;

	if (argc > 2)
		return usage("save: at most one FILE");
	if (argc == 2) {
		if (argv[1][0] == '-' && argv[1][1])
			return usage("save: unknown option '%s'", argv[1]);
		if (strcmp(argv[1], "-"))
			file = argv[1];
	}
	if (take_lock(false))
		return 1;
	cfg = saved_config(&err);
	if (err) {
		json_object_put(cfg);
		return 1;
	}
	text = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PRETTY |
					      JSON_C_TO_STRING_SPACED |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!file) {
		puts(text);
		json_object_put(cfg);
		return 0;
	}
	/* whole or not at all: a temporary file in the same directory, renamed */
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", file);
	fd = mkstemp(tmp);
	if (fd < 0) {
		json_object_put(cfg);
		return fail(tmp, -errno);
	}
	fchmod(fd, 0644);
	f = fdopen(fd, "w");
	if (!f || fprintf(f, "%s\n", text) < 0 || fflush(f) || fsync(fd)) {
		err = -errno;
		if (f)
			fclose(f);
		unlink(tmp);
		json_object_put(cfg);
		return fail(file, err);
	}
	fclose(f);
	json_object_put(cfg);
	if (rename(tmp, file)) {
		err = -errno;
		unlink(tmp);
		return fail(file, err);
	}
	return 0;
}

/* ------------------------------------------------------------ restore */

struct rbuf {
	char name[64];
	char size[32], page_size[32], node[16];
	uint64_t size_bytes, page_bytes;
	int numa_node;
	bool enable;
	int natt;
	struct ratt {
		char bdf[64];
		char direction[32];
		bool enable;
	} *att;
};

/* "FILE: buffers[2].size: must be ..." Returns 1. */
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The first key of JSON object @o that is not one of @keys, or NULL. */
static const char *unknown_key(struct json_object *o, const char *const *keys, unsigned int n)
{
	json_object_object_foreach(o, key, val) {
		unsigned int i;

		(void)val;
		for (i = 0; i < n && strcmp(key, keys[i]); i++)
			;
		if (i == n)
			return key;
	}
	return NULL;
}

static int cfg_error(const char *file, const char *where, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: %s%s", prog, file, where ? where : "", where ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static bool bdf_syntax_ok(const char *s)
{
	unsigned int dom, bus, slot, fn;
	char tail;

	return strlen(s) == 12 &&
	       sscanf(s, "%4x:%2x:%2x.%1x%c", &dom, &bus, &slot, &fn, &tail) == 4 &&
	       s[4] == ':' && s[7] == ':' && s[10] == '.' && slot <= 0x1f && fn <= 7 &&
	       strspn(s, "0123456789abcdef:.") == 12;
}

static bool rname_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 32 || !strcmp(s, "control"))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '_' && c != '-')))
			return false;
	}
	return true;
}

/* A JSON number of bytes, or a string the kernel parses: we need bytes to plan, so parse. */
static bool get_bytes(struct json_object *v, uint64_t *out)
{
	const char *s;
	char *end;
	uint64_t n, mul = 1;

	if (json_object_is_type(v, json_type_int)) {
		if (json_object_get_int64(v) <= 0 && json_object_get_uint64(v) == 0)
			return false;
		*out = json_object_get_uint64(v);
		return *out > 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return false;
	s = json_object_get_string(v);
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno)
		return false;
	switch (*end) {
	case 'k': case 'K': mul = 1ULL << 10; end++; break;
	case 'm': case 'M': mul = 1ULL << 20; end++; break;
	case 'g': case 'G': mul = 1ULL << 30; end++; break;
	case 't': case 'T': mul = 1ULL << 40; end++; break;
	}
	if (*end || !n || n > UINT64_MAX / mul)
		return false;
	*out = n * mul;
	return true;
}

static bool node_exists(int node)
{
	char path[PATH_MAX];

	return exists(pathf(path, sizeof(path), NODEDIR "/node%d", node));
}

/* Parse and check FILE. Returns 0 or 1 (message printed); the buffers on success. */
static int load_config(const char *file, struct rbuf **out, int *nout)
{
	static const char *const top_keys[] = { "format", "buffers" };
	static const char *const buf_keys[] = { "name", "size", "page_size", "numa_node",
						"enable", "attachments" };
	static const char *const att_keys[] = { "bdf", "direction", "enable" };
	struct json_object *root, *bufs, *v;
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	struct rbuf *rb;
	char *text, where[128];
	const char *key;
	int ret, n;

	ret = read_file(file, &text);
	if (ret)
		return fail(file, ret);
	tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);	/* no trailing commas etc. */
	root = json_tokener_parse_ex(tok, text, strlen(text) + 1);
	jerr = json_tokener_get_error(tok);
	if (!root || jerr != json_tokener_success) {
		size_t off = json_tokener_get_parse_end(tok), line = 1, col = 1;

		for (size_t i = 0; i < off && text[i]; i++) {
			if (text[i] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		cfg_error(file, NULL, "line %zu, column %zu: malformed JSON: %s", line, col,
			  json_tokener_error_desc(jerr));
		json_tokener_free(tok);
		json_object_put(root);
		free(text);
		return 1;
	}
	json_tokener_free(tok);
	free(text);

#define BAD(...) do { cfg_error(file, where, __VA_ARGS__); goto bad; } while (0)
	rb = NULL;
	n = 0;
	snprintf(where, sizeof(where), "top level");
	if (!json_object_is_type(root, json_type_object))
		BAD("must be an object");
	if ((key = unknown_key(root, top_keys, ARRAY_LEN(top_keys))))
		BAD("unknown key '%s'", key);
	if (!json_object_object_get_ex(root, "format", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), CONFIG_FORMAT))
		BAD("\"format\" must be \"%s\"", CONFIG_FORMAT);
	if (!json_object_object_get_ex(root, "buffers", &bufs) ||
	    !json_object_is_type(bufs, json_type_array))
		BAD("\"buffers\" must be an array");
	n = json_object_array_length(bufs);
	rb = calloc(n + 1, sizeof(*rb));
	if (!rb)
		BAD("out of memory");
	for (int i = 0; i < n; i++) {
		struct json_object *bo = json_object_array_get_idx(bufs, i), *atts;
		struct rbuf *r = &rb[i];

		snprintf(where, sizeof(where), "buffers[%d]", i);
		if (!json_object_is_type(bo, json_type_object))
			BAD("must be an object");
		if ((key = unknown_key(bo, buf_keys, ARRAY_LEN(buf_keys))))
			BAD("unknown key '%s'", key);
		snprintf(where, sizeof(where), "buffers[%d].name", i);
		if (!json_object_object_get_ex(bo, "name", &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    !rname_ok(json_object_get_string(v)))
			BAD("must be 1 to 32 of [a-z0-9_-], starting with a letter or digit, not \"control\"");
		snprintf(r->name, sizeof(r->name), "%s", json_object_get_string(v));
		for (int k = 0; k < i; k++)
			if (!strcmp(rb[k].name, r->name))
				BAD("duplicate buffer name '%s' (also buffers[%d])", r->name, k);
		snprintf(where, sizeof(where), "buffers[%d] (%s).page_size", i, r->name);
		r->page_bytes = SZ_1G;
		if (json_object_object_get_ex(bo, "page_size", &v)) {
			if (!get_bytes(v, &r->page_bytes) ||
			    (r->page_bytes != SZ_1G && r->page_bytes != SZ_2M))
				BAD("must be 1073741824 (1G) or 2097152 (2M)");
		} else {
			char path[PATH_MAX];

			if (!exists(pathf(path, sizeof(path), MMDIR "/%s", page_sizes[0].dir)))
				r->page_bytes = SZ_2M;
		}
		snprintf(r->page_size, sizeof(r->page_size), "%" PRIu64, r->page_bytes);
		snprintf(where, sizeof(where), "buffers[%d] (%s).size", i, r->name);
		if (!json_object_object_get_ex(bo, "size", &v) || !get_bytes(v, &r->size_bytes))
			BAD("must be a positive number of bytes (a number, or a string with K/M/G/T)");
		if (r->size_bytes % r->page_bytes)
			BAD("%" PRIu64 " is not a multiple of the page size %" PRIu64,
			    r->size_bytes, r->page_bytes);
		snprintf(r->size, sizeof(r->size), "%" PRIu64, r->size_bytes);
		snprintf(where, sizeof(where), "buffers[%d] (%s).numa_node", i, r->name);
		r->numa_node = -1;
		if (json_object_object_get_ex(bo, "numa_node", &v)) {
			if (!json_object_is_type(v, json_type_int) ||
			    json_object_get_int64(v) < -1 || json_object_get_int64(v) > INT_MAX)
				BAD("must be -1 or a node id");
			r->numa_node = (int)json_object_get_int64(v);
			if (r->numa_node >= 0 && !node_exists(r->numa_node))
				BAD("node %d does not exist on this machine", r->numa_node);
		}
		snprintf(r->node, sizeof(r->node), "%d", r->numa_node);
		snprintf(where, sizeof(where), "buffers[%d] (%s).enable", i, r->name);
		r->enable = true;
		if (json_object_object_get_ex(bo, "enable", &v)) {
			if (!json_object_is_type(v, json_type_boolean))
				BAD("must be true or false");
			r->enable = json_object_get_boolean(v);
		}
		snprintf(where, sizeof(where), "buffers[%d] (%s).attachments", i, r->name);
		if (!json_object_object_get_ex(bo, "attachments", &atts))
			continue;
		if (!json_object_is_type(atts, json_type_array))
			BAD("must be an array");
		r->natt = json_object_array_length(atts);
		r->att = calloc(r->natt + 1, sizeof(*r->att));
		if (!r->att)
			BAD("out of memory");
		for (int k = 0; k < r->natt; k++) {
			struct json_object *ao = json_object_array_get_idx(atts, k);
			struct ratt *a = &r->att[k];

			snprintf(where, sizeof(where), "buffers[%d] (%s).attachments[%d]", i,
				 r->name, k);
			if (!json_object_is_type(ao, json_type_object))
				BAD("must be an object");
			if ((key = unknown_key(ao, att_keys, ARRAY_LEN(att_keys))))
				BAD("unknown key '%s'", key);
			if (!json_object_object_get_ex(ao, "bdf", &v) ||
			    !json_object_is_type(v, json_type_string) ||
			    !bdf_syntax_ok(json_object_get_string(v)))
				BAD("\"bdf\" must be a PCI device name like 0000:03:00.0");
			snprintf(a->bdf, sizeof(a->bdf), "%s", json_object_get_string(v));
			for (int m = 0; m < k; m++)
				if (!strcmp(r->att[m].bdf, a->bdf))
					BAD("duplicate attachment '%s'", a->bdf);
			strcpy(a->direction, "bidirectional");
			if (json_object_object_get_ex(ao, "direction", &v)) {
				const char *d = json_object_get_string(v);

				if (!json_object_is_type(v, json_type_string) ||
				    (strcmp(d, "bidirectional") && strcmp(d, "to_device") &&
				     strcmp(d, "from_device")))
					BAD("\"direction\" must be bidirectional, to_device or from_device");
				snprintf(a->direction, sizeof(a->direction), "%s", d);
			}
			a->enable = true;
			if (json_object_object_get_ex(ao, "enable", &v)) {
				if (!json_object_is_type(v, json_type_boolean))
					BAD("\"enable\" must be true or false");
				a->enable = json_object_get_boolean(v);
			}
			if (a->enable && !r->enable)
				BAD("an enabled attachment needs an enabled buffer");
		}
	}
#undef BAD
	json_object_put(root);
	*out = rb;
	*nout = n;
	return 0;
bad:
	json_object_put(root);
	for (int i = 0; rb && i < n; i++)
		free(rb[i].att);
	free(rb);
	return 1;
}

static void free_config(struct rbuf *rb, int n)
{
	for (int i = 0; i < n; i++)
		free(rb[i].att);
	free(rb);
}

/*
 * Where a pool shortfall comes from: "FILE: needed by buffers[0] (a): 2, ..." for
 * the buffers this run would enable with pages of @page_bytes, on @node (or any
 * node when @node is INT_MIN).
 */
static void print_needers(const char *file, const struct rbuf *rb, int n, const bool *counted,
			  uint64_t page_bytes, int node)
{
	const char *sep = " ";

	fprintf(stderr, "%s: %s: needed by", prog, file);
	for (int i = 0; i < n; i++) {
		if (!counted[i] || rb[i].page_bytes != page_bytes ||
		    (node != INT_MIN && rb[i].numa_node != node))
			continue;
		fprintf(stderr, "%sbuffers[%d] (%s): %" PRIu64, sep, i, rb[i].name,
			rb[i].size_bytes / rb[i].page_bytes);
		sep = ", ";
	}
	fputc('\n', stderr);
}

/*
 * Check the plan against the machine: buffers that exist must match (or be
 * disabled, so they can be changed), devices must exist, and the pool must
 * hold the pages of every buffer this run would enable.
 */
static int plan_check(const char *file, struct rbuf *rb, int n)
{
	char path[PATH_MAX], errpath[PATH_MAX];
	int *nodes = NULL, nn, maxnode = 0, ret = 0;
	uint64_t *need;		/* [size][maxnode + 2]: per node, then "any" */
	bool *counted;		/* the buffers whose pages are in need[] */

	nn = node_ids(&nodes);
	if (nn < 0)
		return fail(NODEDIR, nn);
	for (int i = 0; i < nn; i++)
		if (nodes[i] > maxnode)
			maxnode = nodes[i];
	need = calloc(2 * (maxnode + 2), sizeof(*need));
	counted = calloc(n ? n : 1, sizeof(*counted));
	if (!need || !counted) {
		free(need);
		free(counted);
		free(nodes);
		return fail("restore", -ENOMEM);
	}
	for (int i = 0; i < n && !ret; i++) {
		struct rbuf *r = &rb[i];
		struct buffer b;
		int s = r->page_bytes == SZ_1G ? 0 : 1;

		if (!exists(pathf(path, sizeof(path), MMDIR "/%s", page_sizes[s].dir))) {
			ret = cfg_error(file, r->name, "this kernel has no %s pages",
					s ? "2 MB" : "1 GB");
			break;
		}
		if (!get_buffer(r->name, &b, errpath, sizeof(errpath))) {
			if (!b.configfs) {
				ret = cfg_error(file, r->name, "an imported buffer has this name");
				break;
			}
			if (b.enable == 1 && (b.size != r->size_bytes ||
					      b.page_size != r->page_bytes ||
					      b.numa_node != r->numa_node) && r->enable) {
				ret = cfg_error(file, r->name,
						"exists, enabled, with another size, page size or node; disable it first");
				break;
			}
			if (b.enable == 1 || !r->enable)
				goto devices;
		} else if (!r->enable) {
			goto devices;
		}
		need[s * (maxnode + 2) + (r->numa_node < 0 ? maxnode + 1 : r->numa_node)] +=
			r->size_bytes / r->page_bytes;
		counted[i] = true;
devices:
		for (int k = 0; k < r->natt; k++) {
			if (!exists(pathf(path, sizeof(path), "/sys/bus/pci/devices/%s",
					  r->att[k].bdf))) {
				ret = cfg_error(file, r->name, "attachment %s: no such PCI device",
						r->att[k].bdf);
				break;
			}
		}
	}
	for (int s = 0; s < 2 && !ret; s++) {
		uint64_t free_all = 0, need_all = 0, f, resv = 0;

		if (!exists(pathf(path, sizeof(path), MMDIR "/%s", page_sizes[s].dir)))
			continue;
		for (int i = 0; i < nn; i++) {
			uint64_t want = need[s * (maxnode + 2) + nodes[i]];

			f = 0;
			read_u64(pathf(path, sizeof(path), NODEDIR "/node%d/hugepages/%s/free_hugepages",
				       nodes[i], page_sizes[s].dir), &f);
			free_all += f;
			need_all += want;
			if (want > f) {
				uint64_t nr = 0;

				ret = cfg_error(file, NULL,
						"node %d: %" PRIu64 " free %s pages, the configuration needs %" PRIu64,
						nodes[i], f, s ? "2 MB" : "1 GB", want);
				pathf(path, sizeof(path), NODEDIR "/node%d/hugepages/%s/nr_hugepages",
				      nodes[i], page_sizes[s].dir);
				read_u64(path, &nr);
				nr += want - f;
				print_needers(file, rb, n, counted, s ? SZ_2M : SZ_1G, nodes[i]);
				fprintf(stderr, "%s: to fix: boot with 'hugepagesz=%s hugepages=%d:%" PRIu64
					"' on the kernel command line (one node:count pair per node), or now: echo %"
					PRIu64 " > %s\n", prog, s ? "2M" : "1G", nodes[i], nr, nr, path);
				break;
			}
		}
		need_all += need[s * (maxnode + 2) + maxnode + 1];
		/* free pages reserved for hugetlb mappings are not available */
		read_u64(pathf(path, sizeof(path), MMDIR "/%s/resv_hugepages", page_sizes[s].dir),
			 &resv);
		free_all = free_all > resv ? free_all - resv : 0;
		if (!ret && need_all > free_all) {
			uint64_t nr = 0;

			ret = cfg_error(file, NULL,
					"%" PRIu64 " free unreserved %s pages, the configuration needs %" PRIu64,
					free_all, s ? "2 MB" : "1 GB", need_all);
			pathf(path, sizeof(path), MMDIR "/%s/nr_hugepages", page_sizes[s].dir);
			read_u64(path, &nr);
			nr += need_all - free_all;
			print_needers(file, rb, n, counted, s ? SZ_2M : SZ_1G, INT_MIN);
			fprintf(stderr, "%s: to fix: boot with 'hugepagesz=%s hugepages=%" PRIu64
				"' on the kernel command line, or now: echo %" PRIu64 " > %s\n", prog,
				s ? "2M" : "1G", nr, nr, path);
		}
	}
	free(counted);
	free(need);
	free(nodes);
	return ret;
}

/* Make one buffer as configured; journal everything for the rollback. */
static int restore_one(struct journal *j, const struct rbuf *r)
{
	char path[PATH_MAX], errpath[PATH_MAX], val[64];
	struct buffer b;
	int ret;

	if (get_buffer(r->name, &b, errpath, sizeof(errpath))) {
		struct bufspec s = { r->name, r->size, r->page_size, r->node, r->enable };

		if (j->dry_run) {
			journal_action(j, "create", r->name, NULL, NULL);
			if (r->enable)
				journal_action(j, "enable", r->name, NULL, NULL);
		} else {
			ret = make_buffer(j, &s);
			if (ret)
				return ret;
		}
	} else {
		static const char *const attrs[] = { "page_size", "size", "numa_node" };
		const char *want[] = { r->page_size, r->size, r->node };
		bool changed = false;

		if (b.enable == 1 && !r->enable) {
			/* the saved state is disabled: attachments first (below), then this */
		} else if (b.enable != 1) {
			for (int i = 0; i < 3; i++) {
				pathf(path, sizeof(path), CONFIGFS "/%s/%s", r->name, attrs[i]);
				ret = read_attr(path, val, sizeof(val));
				if (ret)
					return step_fail(path, ret);
				if (!strcmp(val, want[i]))
					continue;
				/* size 0 (unset) cannot be written back: leave it */
				if (!j->dry_run) {
					ret = do_write(j, path, want[i], strcmp(val, "0") ? val : NULL);
					if (ret)
						return ret;
				}
				journal_action(j, "set", r->name, NULL, attrs[i]);
				changed = true;
			}
			if (r->enable) {
				if (!j->dry_run) {
					ret = do_write(j, pathf(path, sizeof(path),
								CONFIGFS "/%s/enable", r->name),
						       "1", "0");
					if (ret)
						return ret;
				}
				journal_action(j, "enable", r->name, NULL, NULL);
				changed = true;
			}
		}
		if (!changed && !(b.enable == 1 && !r->enable))
			journal_action(j, "unchanged", r->name, NULL, NULL);
	}
	for (int k = 0; k < r->natt; k++) {
		const struct ratt *a = &r->att[k];

		if (j->dry_run) {
			if (!exists(pathf(path, sizeof(path), CONFIGFS "/%s/attachments/%s",
					  r->name, a->bdf)))
				journal_action(j, "attach", r->name, a->bdf, NULL);
			continue;
		}
		ret = attach_one(j, r->name, a->bdf, a->direction, a->enable);
		if (ret)
			return ret;
	}
	if (!get_buffer(r->name, &b, errpath, sizeof(errpath)) && b.enable == 1 && !r->enable) {
		if (!j->dry_run) {
			ret = do_write(j, pathf(path, sizeof(path), CONFIGFS "/%s/enable", r->name),
				       "0", "1");
			if (ret)
				return ret;
		}
		journal_action(j, "disable", r->name, NULL, NULL);
	}
	return 0;
}

static int cmd_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ 0 }
	};
	struct journal j = { .actions = json_object_new_array() };
	struct json_object *undone, *o;
	const char *file;
	struct rbuf *rb;
	int c, n, ret = 0, bad = 0;

	while ((c = getopt_long(argc, argv, "n", opts, NULL)) != -1) {
		if (c != 'n') {
			journal_free(&j);
			return usage("bad option");
		}
		j.dry_run = true;
	}
	if (optind != argc - 1) {
		journal_free(&j);
		return usage("restore: give one FILE");
	}
	file = argv[optind];
	if ((!j.dry_run && need_root()) || take_lock(!j.dry_run)) {
		journal_free(&j);
		return 1;
	}
	if (load_config(file, &rb, &n)) {
		journal_free(&j);
		return 1;
	}
	if (!exists(CONFIGFS)) {
		free_config(rb, n);
		journal_free(&j);
		return fail(CONFIGFS, -ENOENT);
	}
	if (plan_check(file, rb, n)) {
		free_config(rb, n);
		journal_free(&j);
		return 1;
	}
	err_code = 0;
	for (int i = 0; i < n && !ret; i++)
		ret = restore_one(&j, &rb[i]);
	undone = json_object_new_array();
	if (ret) {
		fail(err_path, ret);
		if (json_object_array_length(j.actions)) {
			fprintf(stderr, "%s: restore failed after:\n", prog);
			fflush(stdout);
			for (size_t i = 0; i < json_object_array_length(j.actions); i++) {
				struct json_object *a = json_object_array_get_idx(j.actions, i), *v;

				fprintf(stderr, "  %s %s",
					json_object_get_string(json_object_object_get(a, "action")),
					json_object_get_string(json_object_object_get(a, "buffer")));
				if ((v = json_object_object_get(a, "bdf")))
					fprintf(stderr, " %s", json_object_get_string(v));
				if ((v = json_object_object_get(a, "value")))
					fprintf(stderr, " %s", json_object_get_string(v));
				fputc('\n', stderr);
			}
		}
		bad = journal_rollback(&j, undone);
		fprintf(stderr, "%s: rolled back %zu step(s)%s\n", prog,
			json_object_array_length(undone), bad ? ", some failed" : "");
	}
	if (json_out) {
		o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(!ret));
		json_object_object_add(o, "dry_run", json_object_new_boolean(j.dry_run));
		json_object_object_add(o, "actions", json_object_get(j.actions));
		json_object_object_add(o, "rolled_back", json_object_get(undone));
		if (ret)
			json_object_object_add(o, "error", json_error(err_path, ret));
		print_json(o);
		json_object_put(o);
	} else if (!ret) {
		print_actions(j.actions, j.dry_run ? "would " : "");
	}
	json_object_put(undone);
	free_config(rb, n);
	journal_free(&j);
	return ret ? 1 : 0;
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	const char *cmd;
	int i, k;

	/* --json may come anywhere */
	for (i = 1, k = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json_out = true;
		else
			argv[k++] = argv[i];
	}
	argc = k;
	argv[argc] = NULL;
	if (argc < 2)
		return usage("no command given");
	cmd = argv[1];
	argc--;
	argv++;
	opterr = 1;
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help"))
		return usage(NULL);
	if (!strcmp(cmd, "list")) {
		if (argc != 1)
			return usage("list: no arguments");
		return take_lock(false) ? 1 : cmd_list();
	}
	if (!strcmp(cmd, "show")) {
		if ((k = one_name(argc, argv, "show", 1)))
			return k;
		return take_lock(false) ? 1 : cmd_show(argv[1]);
	}
	if (!strcmp(cmd, "pool")) {
		if (argc != 1)
			return usage("pool: no arguments");
		return take_lock(false) ? 1 : cmd_pool();
	}
	if (!strcmp(cmd, "create"))
		return cmd_create(argc, argv);
	if (!strcmp(cmd, "destroy"))
		return cmd_destroy(argc, argv);
	if (!strcmp(cmd, "enable"))
		return cmd_enable(argc, argv, true);
	if (!strcmp(cmd, "disable"))
		return cmd_enable(argc, argv, false);
	if (!strcmp(cmd, "attach"))
		return cmd_attach(argc, argv);
	if (!strcmp(cmd, "detach"))
		return cmd_detach(argc, argv);
	if (!strcmp(cmd, "save"))
		return cmd_save(argc, argv);
	if (!strcmp(cmd, "restore"))
		return cmd_restore(argc, argv);
	return usage("unknown command '%s'", cmd);
}
