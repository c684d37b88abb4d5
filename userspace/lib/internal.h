/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhugedma internals: the handles' layout and the sysfs parsers.  Not
 * installed.  Every symbol here is hidden from the shared objects (the
 * library is built with -fvisibility=hidden and a version script); tests link
 * the static library to reach them.
 */
#ifndef HUGEDMA_INTERNAL_H
#define HUGEDMA_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "hugedma.h"

/* what the public functions are defined with; the version script lists them too */
#define HUGEDMA_EXPORT	__attribute__((visibility("default")))

#define HUGEDMA_DEV_DIR		"/dev/hugedma"
#define HUGEDMA_CONTROL		HUGEDMA_DEV_DIR "/control"
#define HUGEDMA_SYSFS_ROOT	"/sys/class/hugedma"

struct hugedma {
	int fd;
	int accmode;			/* O_RDONLY or O_RDWR */
	char name[HUGEDMA_NAME_LEN];
	uint64_t size;			/* from HUGEDMA_IOC_INFO at open: fixed while open */
	uint64_t page_size;
	uint64_t nr_pages;
	pthread_mutex_t lock;		/* guards the phys_addrs cache */
	uint64_t *phys;			/* NULL until hugedma_phys_addrs() */
	size_t nr_phys;
};

struct hugedma_control {
	int fd;
};

/* a single path component: not empty, ".", ".." or with a '/' */
bool hugedma__component_valid(const char *s);

/*
 * Where the class devices are: /sys/class/hugedma unless a test points the
 * library at a fixture tree (NULL restores the default).  Not thread-safe:
 * call before any handle uses sysfs.
 */
void hugedma__set_sysfs_root(const char *root);
const char *hugedma__sysfs_root(void);

/* The same for /sys/kernel/config/hugedma/buffers. */
void hugedma__set_configfs_root(const char *root);

/* snprintf() that is -ENAMETOOLONG rather than cut short */
int hugedma__path(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Read a whole file (sysfs binary attributes have no size): NUL-terminated. */
int hugedma__read_file(const char *path, char **text, size_t *len);

/*
 * Parse text of one unsigned number per line (0x-prefixed hexadecimal or
 * decimal, no sign, no blanks; the last newline may be missing) into a new
 * array.  -EBADMSG for anything else.
 */
int hugedma__parse_u64_lines(const char *text, size_t len, uint64_t **vals, size_t *n);

/* A file of such lines, read and parsed. */
int hugedma__read_u64_lines(const char *path, uint64_t **vals, size_t *n);

/* The two parallel files of an attachment directory, as segments. */
int hugedma__parse_segments(const char *dir, struct hugedma_segment **segs, size_t *n);

#endif /* HUGEDMA_INTERNAL_H */
