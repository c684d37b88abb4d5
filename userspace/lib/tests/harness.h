/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny TAP-style harness for libhugedma's test programs, and the facts they
 * check the library against: /proc/self/pagemap, /proc/self/smaps, the hugetlb
 * pool counters.
 *
 * Each check prints "ok N - what" or "not ok N - what" (with "# " diagnostic
 * lines after a failure); t_done() prints "N passed, N failed" (", N skipped"
 * when something was skipped) and returns the exit status: 0 only when
 * nothing failed and something passed.
 */
#ifndef HUGEDMA_TEST_HARNESS_H
#define HUGEDMA_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define T_PRINTF(a, b)	__attribute__((format(printf, a, b)))

void t_init(int argc, char **argv, int nargs, const char *usage);
bool t_ok(bool cond, const char *fmt, ...) T_PRINTF(2, 3);
/* an int result (0 or -errno) against the expected one, both shown by name */
bool t_ret(int got, int want, const char *fmt, ...) T_PRINTF(3, 4);
bool t_u64(uint64_t got, uint64_t want, const char *fmt, ...) T_PRINTF(3, 4);
void t_skip(const char *reason, const char *fmt, ...) T_PRINTF(2, 3);
void t_diag(const char *fmt, ...) T_PRINTF(1, 2);
int t_done(void);

/* "-ENOENT", "0", or the number */
const char *t_errname(int ret);
uint64_t t_parse_size(const char *s);

/* physical address behind addr from /proc/self/pagemap; 0 if not present */
uint64_t t_pagemap_phys(const void *addr);
/* KernelPageSize in bytes of the smaps entry that starts at addr; 0 if none */
uint64_t t_smaps_page_size(const void *addr);
/* a counter of /sys/kernel/mm/hugepages/hugepages-NkB/; -1 on error */
long t_pool(uint64_t page_size, const char *counter);
bool t_exists(const char *path);
/* the first line of a file, newline stripped; -errno */
int t_read_line(const char *path, char *buf, size_t len);

#endif
