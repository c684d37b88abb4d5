// SPDX-License-Identifier: GPL-2.0
/*
 * The sysfs parsers on a fixture tree (needs no module, runs anywhere):
 * phys_addrs and attachments/BDF/{dma_addrs,dma_lengths} as the ABI lays them
 * out, and every way they can be malformed.
 *
 *   test_sysfs
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../internal.h"
#include "harness.h"

#define SZ_1G	(1ULL << 30)

static char root[256];

static void put(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		perror(path);
		exit(2);
	}
}

static void mkdirs(const char *rel)
{
	char path[512], *p;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (p = path + strlen(root) + 1; ; p++) {
		if (*p == '/' || !*p) {
			char c = *p;

			*p = '\0';
			if (mkdir(path, 0755) && errno != EEXIST) {
				perror(path);
				exit(2);
			}
			*p = c;
			if (!c)
				break;
		}
	}
}

/* the text with its line ends shown, for unique test names */
static const char *shown(const char *text)
{
	static char buf[128];
	size_t i, o = 0;

	for (i = 0; text[i] && o < sizeof(buf) - 3; i++) {
		if (text[i] == '\n' || text[i] == '\r') {
			buf[o++] = '\\';
			buf[o++] = text[i] == '\n' ? 'n' : 'r';
		} else {
			buf[o++] = text[i];
		}
	}
	buf[o] = '\0';
	return buf;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

/* a handle as hugedma_open() would make it, without a device */
static struct hugedma *fake_handle(const char *name, uint64_t nr_pages, uint64_t page_size)
{
	struct hugedma *h = calloc(1, sizeof(*h));

	if (!h || pthread_mutex_init(&h->lock, NULL))
		exit(2);
	h->fd = -1;
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->page_size = page_size;
	h->nr_pages = nr_pages;
	h->size = nr_pages * page_size;
	return h;
}

static void free_handle(struct hugedma *h)
{
	pthread_mutex_destroy(&h->lock);
	free(h->phys);
	free(h);
}

static void test_parse_lines(void)
{
	static const struct {
		const char *text;
		int ret;
		size_t n;
		uint64_t first, last;
	} cases[] = {
		{ "0x10\n20\n", 0, 2, 16, 20 },
		{ "0x0000000140000000\n0x0000000180000000\n", 0, 2, 0x140000000, 0x180000000 },
		{ "0xFFFFFFFFFFFFFFFF\n18446744073709551615", 0, 2, UINT64_MAX, UINT64_MAX },
		{ "0\n", 0, 1, 0, 0 },
		{ "7", 0, 1, 7, 7 },			/* no newline at the end */
		{ "", 0, 0, 0, 0 },
		{ "0x1\n\n0x2\n", -EBADMSG, 0, 0, 0 },	/* empty line */
		{ "\n", -EBADMSG, 0, 0, 0 },
		{ "0x\n", -EBADMSG, 0, 0, 0 },
		{ "0xZZ\n", -EBADMSG, 0, 0, 0 },
		{ "-1\n", -EBADMSG, 0, 0, 0 },
		{ "+1\n", -EBADMSG, 0, 0, 0 },
		{ " 0x10\n", -EBADMSG, 0, 0, 0 },
		{ "0x10 \n", -EBADMSG, 0, 0, 0 },
		{ "0x10\r\n", -EBADMSG, 0, 0, 0 },
		{ "012\n", -EBADMSG, 0, 0, 0 },		/* octal to strtoull(,, 0) */
		{ "0x10000000000000000\n", -EBADMSG, 0, 0, 0 },
		{ "18446744073709551616\n", -EBADMSG, 0, 0, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t *v = NULL;
		size_t n = 0;
		int ret;

		ret = hugedma__parse_u64_lines(cases[i].text, strlen(cases[i].text), &v, &n);
		if (!t_ret(ret, cases[i].ret, "parse_u64_lines(\"%s\")", shown(cases[i].text)) ||
		    ret) {
			free(v);
			continue;
		}
		t_ok(n == cases[i].n && (!n || (v[0] == cases[i].first &&
						v[n - 1] == cases[i].last)),
		     "parse_u64_lines(\"%s\") values", shown(cases[i].text));
		free(v);
	}
	/* a NUL inside the text is not the end of it */
	{
		uint64_t *v = NULL;
		size_t n;

		t_ret(hugedma__parse_u64_lines("0x1\n\0x2\n", 8, &v, &n), -EBADMSG,
		      "parse_u64_lines: embedded NUL");
		free(v);
	}
}

static void test_phys_addrs(void)
{
	const uint64_t *addrs, *again;
	struct hugedma *h;
	size_t n = 0;

	mkdirs("buf0");
	put("buf0/phys_addrs", "0x0000000140000000\n0x0000000080000000\n");
	h = fake_handle("buf0", 2, SZ_1G);
	if (t_ret(hugedma_phys_addrs(h, &addrs, &n), 0, "phys_addrs: fixture")) {
		t_ok(n == 2 && addrs[0] == 0x140000000 && addrs[1] == 0x80000000,
		     "phys_addrs: values in file order");
		put("buf0/phys_addrs", "0x0000000200000000\n0x0000000240000000\n");
		t_ret(hugedma_phys_addrs(h, &again, &n), 0, "phys_addrs: second call");
		t_ok(again == addrs && again[0] == 0x140000000,
		     "phys_addrs: cached, file not read again");
	}
	t_ret(hugedma_phys_addrs(h, NULL, &n), -EINVAL, "phys_addrs: NULL addrs");
	t_ret(hugedma_phys_addrs(h, &addrs, NULL), -EINVAL, "phys_addrs: NULL n");
	t_ret(hugedma_phys_addrs(NULL, &addrs, &n), -EINVAL, "phys_addrs: NULL handle");
	free_handle(h);

	h = fake_handle("buf0", 3, SZ_1G);
	t_ret(hugedma_phys_addrs(h, &addrs, &n), -EBADMSG, "phys_addrs: fewer lines than pages");
	free_handle(h);

	mkdirs("bufm");
	put("bufm/phys_addrs", "0x0000000140000000\n0x0000000080200000\n");
	h = fake_handle("bufm", 2, SZ_1G);
	t_ret(hugedma_phys_addrs(h, &addrs, &n), -EBADMSG, "phys_addrs: address not page-aligned");
	put("bufm/phys_addrs", "0x0000000140000000\nnonsense\n");
	t_ret(hugedma_phys_addrs(h, &addrs, &n), -EBADMSG, "phys_addrs: malformed line");
	put("bufm/phys_addrs", "0x0000000140000000\n0x0000000080000000\n");
	t_ret(hugedma_phys_addrs(h, &addrs, &n), 0, "phys_addrs: an error is not cached");
	free_handle(h);

	h = fake_handle("gone", 1, SZ_1G);
	t_ret(hugedma_phys_addrs(h, &addrs, &n), -ENOENT, "phys_addrs: no class device");
	free_handle(h);
}

static void test_bus_addrs(void)
{
	struct hugedma_segment *segs = NULL;
	struct hugedma *h;
	size_t n = 0;

	h = fake_handle("buf0", 2, SZ_1G);
	t_ret(hugedma_bus_addrs(h, "0000:03:00.0", &segs, &n), -ENOENT,
	      "bus_addrs: no attachments directory");

	mkdirs("buf0/attachments/0000:03:00.0");
	put("buf0/attachments/0000:03:00.0/dma_addrs",
	    "0x00000000fff00000\n0x0000000140000000\n0x0000000080000000\n");
	put("buf0/attachments/0000:03:00.0/dma_lengths", "1048576\n0x40000000\n1072693248\n");
	if (t_ret(hugedma_bus_addrs(h, "0000:03:00.0", &segs, &n), 0, "bus_addrs: fixture")) {
		t_ok(n == 3 && segs[0].addr == 0xfff00000 && segs[0].length == 1 << 20 &&
		     segs[1].addr == 0x140000000 && segs[1].length == SZ_1G &&
		     segs[2].addr == 0x80000000 && segs[2].length == SZ_1G - (1 << 20),
		     "bus_addrs: segments pair the two files line by line");
		free(segs);
	}
	t_ret(hugedma_bus_addrs(h, "0000:04:00.0", &segs, &n), -ENOENT,
	      "bus_addrs: device not attached");

	mkdirs("buf0/attachments/empty");
	put("buf0/attachments/empty/dma_addrs", "");
	put("buf0/attachments/empty/dma_lengths", "");
	segs = NULL;
	if (t_ret(hugedma_bus_addrs(h, "empty", &segs, &n), 0, "bus_addrs: no segments"))
		t_ok(n == 0, "bus_addrs: no segments, n == 0");
	free(segs);

	static const struct {
		const char *bdf, *addrs, *lens;
	} bad[] = {
		{ "short", "0x1000\n0x2000\n", "4096\n" },
		{ "long", "0x1000\n", "4096\n4096\n" },
		{ "zero", "0x1000\n", "0\n" },
		{ "wrap", "0xfffffffffffff000\n", "0x2000\n" },
		{ "junk", "0x1000\n", "4k\n" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char rel[128];

		snprintf(rel, sizeof(rel), "buf0/attachments/%s", bad[i].bdf);
		mkdirs(rel);
		snprintf(rel, sizeof(rel), "buf0/attachments/%s/dma_addrs", bad[i].bdf);
		put(rel, bad[i].addrs);
		snprintf(rel, sizeof(rel), "buf0/attachments/%s/dma_lengths", bad[i].bdf);
		put(rel, bad[i].lens);
		t_ret(hugedma_bus_addrs(h, bad[i].bdf, &segs, &n), -EBADMSG,
		      "bus_addrs: malformed attachment \"%s\"", bad[i].bdf);
	}
	/* the end of the range may be the last byte of the address space */
	mkdirs("buf0/attachments/top");
	put("buf0/attachments/top/dma_addrs", "0xfffffffffffff000\n");
	put("buf0/attachments/top/dma_lengths", "4096\n");
	segs = NULL;
	t_ret(hugedma_bus_addrs(h, "top", &segs, &n), 0, "bus_addrs: segment ending at 2^64");
	free(segs);

	mkdirs("buf0/attachments/half");
	put("buf0/attachments/half/dma_addrs", "0x1000\n");
	t_ret(hugedma_bus_addrs(h, "half", &segs, &n), -ENOENT, "bus_addrs: dma_lengths missing");
	put("buf0/attachments/file", "");
	t_ret(hugedma_bus_addrs(h, "file", &segs, &n), -ENOTDIR, "bus_addrs: not a directory");

	static const char *const bad_bdf[] = { "", ".", "..", "a/b", "../buf0", "/" };

	for (i = 0; i < sizeof(bad_bdf) / sizeof(bad_bdf[0]); i++)
		t_ret(hugedma_bus_addrs(h, bad_bdf[i], &segs, &n), -EINVAL,
		      "bus_addrs: bdf \"%s\"", bad_bdf[i]);
	t_ret(hugedma_bus_addrs(h, NULL, &segs, &n), -EINVAL, "bus_addrs: NULL bdf");
	t_ret(hugedma_bus_addrs(h, "0000:03:00.0", NULL, &n), -EINVAL, "bus_addrs: NULL segs");
	t_ret(hugedma_bus_addrs(h, "0000:03:00.0", &segs, NULL), -EINVAL, "bus_addrs: NULL n");
	t_ret(hugedma_bus_addrs(NULL, "0000:03:00.0", &segs, &n), -EINVAL,
	      "bus_addrs: NULL handle");
	free_handle(h);
}

static void test_names(void)
{
	static const struct {
		const char *name;
		bool ok;
	} cases[] = {
		{ "dma0", true }, { "0", true }, { "a_b-c", true },
		{ "abcdefghijklmnopqrstuvwxyz012345", true },		/* 32 */
		{ "abcdefghijklmnopqrstuvwxyz0123456", false },	/* 33 */
		{ "", false }, { "control", false }, { "Dma0", false }, { "_a", false },
		{ "-a", false }, { "a/b", false }, { "..", false }, { "a b", false },
		{ "\xc3\xa9", false }, { NULL, false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		t_ok(!hugedma_name_check(cases[i].name) == cases[i].ok, "name \"%s\" is %s",
		     cases[i].name ? cases[i].name : "(null)", cases[i].ok ? "valid" : "invalid");
}

static void test_device_path(void)
{
	char buf[64];

	t_ok(!hugedma_device_path(buf, sizeof(buf), "dma0") && !strcmp(buf, "/dev/hugedma/dma0"),
	     "device_path: a buffer's node");
	t_ok(!hugedma_device_path(buf, sizeof(buf), NULL) && !strcmp(buf, "/dev/hugedma/control"),
	     "device_path: NULL is the control node");
	t_ok(hugedma_device_path(buf, sizeof(buf), "control") == -EINVAL,
	     "device_path: \"control\" is no buffer's name");
	t_ok(hugedma_device_path(buf, sizeof(buf), "../x") == -EINVAL, "device_path: bad name");
	t_ok(hugedma_device_path(NULL, 8, "dma0") == -EINVAL, "device_path: NULL buf");
	t_ok(hugedma_device_path(buf, 17, "dma0") == -ENAMETOOLONG,
	     "device_path: a buffer too small is -ENAMETOOLONG");
	t_ok(!hugedma_device_path(buf, 18, "dma0"), "device_path: one that just fits");
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");

	t_init(argc, argv, 0, "");
	snprintf(root, sizeof(root), "%s/hugedma-sysfs-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root)) {
		perror(root);
		return 2;
	}
	t_ok(!strcmp(hugedma__sysfs_root(), "/sys/class/hugedma"), "default sysfs root");
	hugedma__set_sysfs_root(root);
	t_ok(!strcmp(hugedma__sysfs_root(), root), "sysfs root set for the fixture");

	test_parse_lines();
	test_names();
	test_device_path();
	test_phys_addrs();
	test_bus_addrs();

	hugedma__set_sysfs_root(NULL);
	t_ok(!strcmp(hugedma__sysfs_root(), "/sys/class/hugedma"), "sysfs root reset");
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return t_done();
}
