// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libhugedma: the addresses a buffer's class device publishes.
 *
 *   /sys/class/hugedma/NAME/phys_addrs                      one address per page
 *   /sys/class/hugedma/NAME/attachments/BDF/dma_addrs       one bus address per segment
 *   /sys/class/hugedma/NAME/attachments/BDF/dma_lengths     its length, same line
 *
 * The parsers are strict: a file that does not say exactly what the ABI says
 * is -EBADMSG, never a partial answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static char hugedma_root[PATH_MAX];

void hugedma__set_sysfs_root(const char *root)
{
	snprintf(hugedma_root, sizeof(hugedma_root), "%s", root ? root : "");
}

const char *hugedma__sysfs_root(void)
{
	return hugedma_root[0] ? hugedma_root : HUGEDMA_SYSFS_ROOT;
}

int hugedma__path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int hugedma__read_file(const char *path, char **text, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf, *nbuf;
	ssize_t got;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (cap - n < 2) {
			nbuf = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
			if (!nbuf) {
				ret = -ENOMEM;
				goto out_free;
			}
			buf = nbuf;
			cap *= 2;
		}
		got = read(fd, buf + n, cap - n - 1);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out_free;
		}
		if (!got)
			break;
		n += got;
	}
	close(fd);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;

out_free:
	close(fd);
	free(buf);
	return ret;
}

static int hugedma_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* [s, e): "0x" and 1-16 significant hex digits, or decimal without a leading 0 */
static int hugedma_parse_u64(const char *s, const char *e, uint64_t *val)
{
	uint64_t v = 0;
	int d;

	if (s == e)
		return -EBADMSG;
	if (e - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (s += 2; s < e; s++) {
			d = hugedma_hexval(*s);
			if (d < 0 || v >> 60)
				return -EBADMSG;
			v = v << 4 | d;
		}
	} else {
		if (s[0] == '0' && e - s > 1)	/* would be octal to strtoull(, 0) */
			return -EBADMSG;
		for (; s < e; s++) {
			if (*s < '0' || *s > '9')
				return -EBADMSG;
			d = *s - '0';
			if (v > (UINT64_MAX - d) / 10)
				return -EBADMSG;
			v = v * 10 + d;
		}
	}
	*val = v;
	return 0;
}

int hugedma__parse_u64_lines(const char *text, size_t len, uint64_t **vals, size_t *n)
{
	const char *p = text, *end = text + len;
	uint64_t *v = NULL, *nv;
	size_t nr = 0, cap = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', end - p);
		const char *le = eol ? eol : end;
		uint64_t val;

		if (hugedma_parse_u64(p, le, &val))
			goto bad;
		if (nr == cap) {
			cap = cap ? cap * 2 : 64;
			nv = cap < SIZE_MAX / sizeof(*v) ? realloc(v, cap * sizeof(*v)) : NULL;
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[nr++] = val;
		p = eol ? eol + 1 : end;
	}
	*vals = v;
	*n = nr;
	return 0;

bad:
	free(v);
	return -EBADMSG;
}

int hugedma__read_u64_lines(const char *path, uint64_t **vals, size_t *n)
{
	size_t len;
	char *text;
	int ret;

	ret = hugedma__read_file(path, &text, &len);
	if (ret)
		return ret;
	ret = hugedma__parse_u64_lines(text, len, vals, n);
	free(text);
	return ret;
}

HUGEDMA_EXPORT int hugedma_phys_addrs(struct hugedma *h, const uint64_t **addrs, size_t *n)
{
	uint64_t *vals = NULL;
	char path[PATH_MAX];
	size_t nr = 0, i;
	int ret = 0;

	if (!h || !addrs || !n)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	if (!h->phys) {
		ret = hugedma__path(path, sizeof(path), "%s/%s/phys_addrs", hugedma__sysfs_root(),
				   h->name);
		if (!ret)
			ret = hugedma__read_u64_lines(path, &vals, &nr);
		if (!ret && nr != h->nr_pages)
			ret = -EBADMSG;
		for (i = 0; !ret && i < nr; i++)
			if (vals[i] % h->page_size)
				ret = -EBADMSG;
		if (!ret) {
			h->phys = vals;
			h->nr_phys = nr;
		} else {
			free(vals);	/* NULL unless the file was read */
		}
	}
	if (!ret) {
		*addrs = h->phys;
		*n = h->nr_phys;
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}

/*
 * The module renders both files when the device's mapping is made and serves
 * them empty once it is gone; the two reads are not atomic, so dma_addrs is
 * read again after dma_lengths and the three reads must agree, else they are
 * retried: files that never agree are -EBADMSG.
 */
#define HUGEDMA_SEGMENT_TRIES	5

int hugedma__parse_segments(const char *dir, struct hugedma_segment **segs, size_t *n)
{
	uint64_t *addrs = NULL, *lens = NULL, *again = NULL;
	char apath[PATH_MAX], lpath[PATH_MAX];
	struct hugedma_segment *s;
	size_t na, nl, n2, i;
	struct stat st;
	int ret, tries;

	if (stat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	ret = hugedma__path(apath, sizeof(apath), "%s/dma_addrs", dir);
	if (!ret)
		ret = hugedma__path(lpath, sizeof(lpath), "%s/dma_lengths", dir);
	if (ret)
		return ret;
	for (tries = 0; ; tries++) {
		ret = hugedma__read_u64_lines(apath, &addrs, &na);
		if (!ret)
			ret = hugedma__read_u64_lines(lpath, &lens, &nl);
		if (!ret)
			ret = hugedma__read_u64_lines(apath, &again, &n2);
		if (!ret && (na != n2 || na != nl ||
			     (na && memcmp(addrs, again, na * sizeof(*addrs)))))
			ret = -EAGAIN;	/* remapped while reading, or malformed */
		if (ret != -EAGAIN)
			break;
		if (tries + 1 == HUGEDMA_SEGMENT_TRIES) {
			ret = -EBADMSG;
			break;
		}
		free(addrs);
		free(lens);
		free(again);
		addrs = NULL;
		lens = NULL;
		again = NULL;
	}
	if (ret)
		goto out;
	ret = -EBADMSG;
	s = calloc(na ? na : 1, sizeof(*s));
	if (!s) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < na; i++) {
		if (!lens[i] || addrs[i] + (lens[i] - 1) < addrs[i]) {
			free(s);
			goto out;
		}
		s[i].addr = addrs[i];
		s[i].length = lens[i];
	}
	*segs = s;
	*n = na;
	ret = 0;
out:
	free(addrs);
	free(lens);
	free(again);
	return ret;
}

bool hugedma__component_valid(const char *s)
{
	return s && s[0] && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..") &&
	       strlen(s) <= NAME_MAX;
}

HUGEDMA_EXPORT int hugedma_bus_addrs(struct hugedma *h, const char *bdf,
				     struct hugedma_segment **segs, size_t *n)
{
	char dir[PATH_MAX];
	int ret;

	if (!h || !segs || !n || !hugedma__component_valid(bdf))
		return -EINVAL;
	ret = hugedma__path(dir, sizeof(dir), "%s/%s/attachments/%s", hugedma__sysfs_root(),
			   h->name, bdf);
	if (ret)
		return ret;
	return hugedma__parse_segments(dir, segs, n);
}
