// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hugedma.h"
#include "harness.h"

static int t_n, t_passed, t_failed, t_skipped;

void t_init(int argc, char **argv, int nargs, const char *usage)
{
	setvbuf(stdout, NULL, _IOLBF, 0);	/* in order with stderr, and none lost in a fork */
	if (argc != nargs + 1) {
		fprintf(stderr, "usage: %s %s\n", argv[0], usage);
		exit(2);
	}
}

static void t_vreport(bool cond, const char *fmt, va_list ap)
{
	printf("%s %d - ", cond ? "ok" : "not ok", ++t_n);
	vprintf(fmt, ap);
	putchar('\n');
	if (cond)
		t_passed++;
	else
		t_failed++;
}

bool t_ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	t_vreport(cond, fmt, ap);
	va_end(ap);
	return cond;
}

const char *t_errname(int ret)
{
	static char buf[32];
	const char *name;

	if (ret >= 0) {
		snprintf(buf, sizeof(buf), "%d", ret);
		return buf;
	}
	name = strerrorname_np(-ret);
	snprintf(buf, sizeof(buf), "-%s", name ? name : "?");
	return buf;
}

bool t_ret(int got, int want, const char *fmt, ...)
{
	char g[32];
	va_list ap;

	va_start(ap, fmt);
	t_vreport(got == want, fmt, ap);
	va_end(ap);
	if (got != want) {
		snprintf(g, sizeof(g), "%s", t_errname(got));
		printf("# got %s, want %s\n", g, t_errname(want));
	}
	return got == want;
}

bool t_u64(uint64_t got, uint64_t want, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	t_vreport(got == want, fmt, ap);
	va_end(ap);
	if (got != want)
		printf("# got %#" PRIx64 " (%" PRIu64 "), want %#" PRIx64 " (%" PRIu64 ")\n",
		       got, got, want, want);
	return got == want;
}

void t_skip(const char *reason, const char *fmt, ...)
{
	va_list ap;

	printf("ok %d - ", ++t_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" # SKIP %s\n", reason);
	t_skipped++;
}

void t_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

int t_done(void)
{
	if (t_skipped)
		printf("%d passed, %d failed, %d skipped\n", t_passed, t_failed, t_skipped);
	else
		printf("%d passed, %d failed\n", t_passed, t_failed);
	return t_failed || !t_passed;
}

/* the library's size syntax, the module's: 0 for what it refuses */
uint64_t t_parse_size(const char *s)
{
	uint64_t v;

	return hugedma_parse_size(s, &v) ? 0 : v;
}

uint64_t t_pagemap_phys(const void *addr)
{
	long ps = sysconf(_SC_PAGESIZE);
	uint64_t e = 0;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), (uintptr_t)addr / ps * sizeof(e)) != sizeof(e))
		e = 0;
	close(fd);
	if (!(e >> 63))
		return 0;
	return (e & ((1ULL << 55) - 1)) * ps + (uintptr_t)addr % ps;
}

uint64_t t_smaps_page_size(const void *addr)
{
	char line[512];
	bool in = false;
	uint64_t kb = 0;
	FILE *f;

	f = fopen("/proc/self/smaps", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;

		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') <
		    strchr(line, ' ')) {
			if (in)
				break;
			in = start == (uintptr_t)addr;
		} else if (in && sscanf(line, "KernelPageSize: %" SCNu64 " kB", &kb) == 1) {
			break;
		}
	}
	fclose(f);
	return kb << 10;
}

int t_read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	if (!fgets(buf, len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

long t_pool(uint64_t page_size, const char *counter)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/%s",
		 page_size >> 10, counter);
	if (t_read_line(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

bool t_exists(const char *path)
{
	return !access(path, F_OK);
}
