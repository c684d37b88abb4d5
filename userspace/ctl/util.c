// SPDX-License-Identifier: GPL-2.0
/*
 * hugedmactl: messages, the run lock, argument checks and plain files.
 *
 * Every run takes a lock (flock) on /run/hugedma/hugedmactl.lock: exclusive for
 * commands that change something, shared for the others, so that concurrent
 * runs do not interleave their steps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"

#define LOCKDIR "/run/hugedma"
#define LOCKFILE LOCKDIR "/hugedmactl.lock"

/* "hugedmactl: PATH: Invalid argument"; err is a negative errno. Returns 1. */
int fail(const char *what, int err)
{
	char root[PATH_MAX];

	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(-err));
	if (err == -ENOENT && !hugedma_config_path(root, sizeof(root), NULL, NULL, NULL) &&
	    !strncmp(what, root, strlen(root)) && access(root, F_OK))
		fprintf(stderr, "%s: is the hugedma module loaded?\n", prog);
	if ((err == -EACCES || err == -EPERM) && geteuid() != 0)
		fprintf(stderr, "%s: this needs root\n", prog);
	return 1;
}

int failf(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int lock_fd = -1;

int take_lock(bool exclusive)
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

int need_root(void)
{
	if (geteuid() != 0)
		return failf("changing hugedma buffers needs root (configfs is root-only)");
	return 0;
}

/*
 * A name that can safely be a path component (libhugedma makes the paths);
 * anything else is left to the kernel, so that it is refused with the
 * attribute that refused it.
 */
bool name_ok(const char *s)
{
	char path[PATH_MAX];

	return !hugedma_config_path(path, sizeof(path), s, NULL, NULL);
}

/* Whether the buffer (@bdf NULL) or its attachment has a configfs directory. */
bool cfg_exists(const char *name, const char *bdf)
{
	char path[PATH_MAX];

	return !hugedma_config_path(path, sizeof(path), name, bdf, NULL) && !access(path, F_OK);
}

/*
 * A configfs buffer's contiguous attribute: 1 or 0; -1 for an imported buffer, or a
 * module without the attribute (it is a configfs file, read apart from the description).
 */
int buffer_contiguous(const struct hugedma_buffer_desc *b)
{
	char val[8];

	if (!b->configfs || hugedma_config_read(b->name, NULL, "contiguous", val, sizeof(val)))
		return -1;
	return !strcmp(val, "1");
}

int one_name(int argc, char **argv, const char *cmd, int nargs)
{
	if (argc != nargs + 1)
		return usage("%s: wrong number of arguments", cmd);
	for (int i = 1; i <= nargs; i++)
		if (argv[i][0] == '-')
			return usage("%s: unknown option '%s'", cmd, argv[i]);
	if (!name_ok(argv[1]))
		return usage("bad buffer name '%s'", argv[1]);
	return 0;
}

/* A whole file ("-": standard input): malloc'd, NUL-terminated. 0 or -errno. */
int read_text(const char *path, char **text)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	size_t cap = 0;
	char *buf = NULL;
	int err = 0;

	if (!f)
		return -errno;
	/* up to a NUL or the end: a NUL would end the text anyway */
	if (getdelim(&buf, &cap, '\0', f) < 0) {
		err = ferror(f) ? -errno : 0;
		if (!err) {
			free(buf);
			buf = strdup("");
			err = buf ? 0 : -ENOMEM;
		}
	}
	if (f != stdin)
		fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	*text = buf;
	return 0;
}

/* The machine's nodes, ascending, and the highest id (0 without nodes). 0 or 1. */
int get_nodes(int **nodes, size_t *nn, int *maxnode)
{
	int ret = hugedma_nodes(nodes, nn);

	if (ret)
		return fail(hugedma_error_path(), ret);
	*maxnode = *nn ? (*nodes)[*nn - 1] : 0;
	if (*maxnode < 0)
		*maxnode = 0;
	return 0;
}

void human_size(char *out, size_t len, uint64_t bytes)
{
	static const char *const units[] = { "", "K", "M", "G", "T", "P" };
	int u = 0;

	while (u < 5 && bytes && !(bytes & 1023)) {
		bytes >>= 10;
		u++;
	}
	snprintf(out, len, "%" PRIu64 "%s", bytes, units[u]);
}
