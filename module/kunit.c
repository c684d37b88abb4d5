// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma_kunit.ko: KUnit tests of hugedma's pure logic, for kernels with
 * CONFIG_KUNIT (the debug kernel).  The pure files are compiled into this
 * module itself, so it needs neither hugedma.ko nor exported internals, and
 * no object belongs to two modules.  tests/guest/test_kunit.py loads it and
 * reports every case from /sys/kernel/debug/kunit/SUITE/results.
 *
 * Tables are walked inside a case rather than as parameterised cases: 6.1
 * keeps only 512 bytes of log per case, too few for one line per parameter.
 * Each failed expectation names its input.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/test.h>
#include <linux/module.h>

#include "parse.c"
#include "state.c"
#include "extent.c"

/* ---------------------------------------------------------------- names */

static void hugedma_test_name_valid(struct kunit *test)
{
	static const char *const ok[] = {
		"a", "7", "0abc", "9lives", "a_b-c", "x-", "z_", "9-_9", "a--__--b",
		"abcdefghijklmnopqrstuvwxyz012345",	/* 32 */
		"controls", "contro", "control0",
	};
	static const char *const bad[] = {
		"", "control", "-a", "_a", "A", "aB", "a.b", "a/b", "a b", "a\tb", "a\n",
		" a", "a:b", "a@b", "a+b", "\xe9", "a\xe9", "a\xdf", "\xff",
		"abcdefghijklmnopqrstuvwxyz0123456",	/* 33 */
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ok); i++)
		KUNIT_EXPECT_TRUE_MSG(test, hugedma_name_valid(ok[i]), "'%s'", ok[i]);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		KUNIT_EXPECT_FALSE_MSG(test, hugedma_name_valid(bad[i]), "'%s'", bad[i]);
}

/* ---------------------------------------------------------------- sizes */

struct hugedma_size_case {
	const char *in;
	int ret;
	u64 val;
};

static const struct hugedma_size_case hugedma_size_cases[] = {
	{ "1", 0, 1 },
	{ "4096", 0, 4096 },
	{ "007", 0, 7 },
	{ "1k", 0, 1ULL << 10 },
	{ "1K", 0, 1ULL << 10 },
	{ "2m", 0, 2ULL << 20 },
	{ "2M", 0, 2ULL << 20 },
	{ "1g", 0, 1ULL << 30 },
	{ "64G", 0, 64ULL << 30 },
	{ "1T", 0, 1ULL << 40 },
	{ "1t", 0, 1ULL << 40 },
	{ " 2M\n", 0, 2ULL << 20 },
	{ "\t\v\f\r 1G\t\n", 0, 1ULL << 30 },
	{ "18446744073709551615", 0, U64_MAX },
	{ "16777215T", 0, 16777215ULL << 40 },
	{ "17179869183G", 0, 17179869183ULL << 30 },
	{ "18014398509481983K", 0, 18014398509481983ULL << 10 },
	/* not a size */
	{ "", -EINVAL }, { " ", -EINVAL }, { "\n", -EINVAL }, { "K", -EINVAL },
	{ "G", -EINVAL }, { " T ", -EINVAL }, { "0", -EINVAL }, { "000", -EINVAL },
	{ "0K", -EINVAL }, { "0G", -EINVAL }, { "-1", -EINVAL }, { "+1", -EINVAL },
	{ "-2M", -EINVAL }, { "1.5G", -EINVAL }, { "1 G", -EINVAL }, { "1GB", -EINVAL },
	{ "1Gi", -EINVAL }, { "1KK", -EINVAL }, { "k1", -EINVAL }, { "1P", -EINVAL },
	{ "1E", -EINVAL }, { "0x10", -EINVAL }, { "1e3", -EINVAL }, { "1,024", -EINVAL },
	{ "1\n2", -EINVAL }, { "1 2", -EINVAL }, { "\2401", -EINVAL },
	{ "1\xa0", -EINVAL }, { "\xef\xbc\x91", -EINVAL }, { "1\x85", -EINVAL },
	/* too big for 64 bits */
	{ "18446744073709551616", -ERANGE }, { "99999999999999999999", -ERANGE },
	{ "100000000000000000000000000000", -ERANGE }, { "16777216T", -ERANGE },
	{ "17179869184G", -ERANGE }, { "18014398509481984K", -ERANGE },
	{ "18446744073709551615K", -ERANGE },
};

static void hugedma_test_parse_size(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hugedma_size_cases); i++) {
		const struct hugedma_size_case *c = &hugedma_size_cases[i];
		u64 val = 0x5a5a;

		KUNIT_EXPECT_EQ_MSG(test, hugedma_parse_size(c->in, &val), c->ret,
				    "'%s'", c->in);
		/* a rejected value leaves the output alone */
		KUNIT_EXPECT_EQ_MSG(test, val, c->ret ? 0x5a5a : c->val, "'%s'", c->in);
	}
}

static void hugedma_test_parse_page_size(struct kunit *test)
{
	static const struct {
		const char *in;
		int ret;
		unsigned int shift;
	} tbl[] = {
		{ "1G", 0, 30 }, { "1g", 0, 30 }, { "1024M", 0, 30 }, { "1048576K", 0, 30 },
		{ "1073741824", 0, 30 }, { " 1G\n", 0, 30 }, { "2M", 0, 21 }, { "2m", 0, 21 },
		{ "2048K", 0, 21 }, { "2097152", 0, 21 }, { "\t2M ", 0, 21 },
		{ "4K", -EINVAL }, { "4096", -EINVAL }, { "1M", -EINVAL }, { "3M", -EINVAL },
		{ "4M", -EINVAL }, { "512M", -EINVAL }, { "2G", -EINVAL }, { "1T", -EINVAL },
		{ "0", -EINVAL }, { "", -EINVAL }, { "abc", -EINVAL }, { "2 M", -EINVAL },
		{ "1048575K", -EINVAL }, { "2097153", -EINVAL },
		/* the parser's -ERANGE is not a page size either */
		{ "18446744073709551616", -EINVAL },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(tbl); i++) {
		unsigned int shift = 99;

		KUNIT_EXPECT_EQ_MSG(test, hugedma_parse_page_size(tbl[i].in, &shift),
				    tbl[i].ret, "'%s'", tbl[i].in);
		KUNIT_EXPECT_EQ_MSG(test, shift, tbl[i].ret ? 99 : tbl[i].shift,
				    "'%s'", tbl[i].in);
	}
}

static void hugedma_test_parse_node(struct kunit *test)
{
	static const struct {
		const char *in;
		int ret;
		int nid;
	} tbl[] = {
		{ "-1", 0, -1 }, { " -1\n", 0, -1 }, { "0", 0, 0 }, { "00", 0, 0 },
		{ "7", 0, 7 }, { "\t1 ", 0, 1 }, { "1023", 0, 1023 },
		{ "2147483647", 0, 2147483647 },
		{ "", -EINVAL }, { " ", -EINVAL }, { "-", -EINVAL }, { "-2", -EINVAL },
		{ "-0", -EINVAL }, { "--1", -EINVAL }, { "- 1", -EINVAL }, { "+1", -EINVAL },
		{ "1.0", -EINVAL }, { "0x1", -EINVAL }, { "1 1", -EINVAL }, { "-1-1", -EINVAL },
		{ "a", -EINVAL }, { "1k", -EINVAL }, { "-1\n-1", -EINVAL },
		{ "2147483648", -ERANGE }, { "99999999999", -ERANGE },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(tbl); i++) {
		int nid = 99;

		KUNIT_EXPECT_EQ_MSG(test, hugedma_parse_node(tbl[i].in, &nid), tbl[i].ret,
				    "'%s'", tbl[i].in);
		KUNIT_EXPECT_EQ_MSG(test, nid, tbl[i].ret ? 99 : tbl[i].nid,
				    "'%s'", tbl[i].in);
	}
}

static void hugedma_test_parse_bool(struct kunit *test)
{
	static const struct {
		const char *in;
		int ret;
		bool val;
	} tbl[] = {
		{ "0", 0, false }, { "1", 0, true }, { " 1\n", 0, true }, { "\t0 ", 0, false },
		{ "", -EINVAL }, { "\n", -EINVAL }, { "2", -EINVAL }, { "01", -EINVAL },
		{ "10", -EINVAL }, { "00", -EINVAL }, { "-1", -EINVAL }, { "1 1", -EINVAL },
		{ "yes", -EINVAL }, { "y", -EINVAL }, { "true", -EINVAL }, { "on", -EINVAL },
		{ "0x1", -EINVAL }, { "1.0", -EINVAL },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(tbl); i++) {
		bool val = tbl[i].ret ? !tbl[i].val : false;
		bool before = val;

		KUNIT_EXPECT_EQ_MSG(test, hugedma_parse_bool(tbl[i].in, &val), tbl[i].ret,
				    "'%s'", tbl[i].in);
		KUNIT_EXPECT_EQ_MSG(test, val, tbl[i].ret ? before : tbl[i].val,
				    "'%s'", tbl[i].in);
	}
}

static void hugedma_test_parse_direction(struct kunit *test)
{
	static const struct {
		const char *in;
		int ret;
		enum dma_data_direction dir;
	} tbl[] = {
		{ "bidirectional", 0, DMA_BIDIRECTIONAL }, { "to_device", 0, DMA_TO_DEVICE },
		{ "from_device", 0, DMA_FROM_DEVICE }, { " to_device\n", 0, DMA_TO_DEVICE },
		{ "", -EINVAL }, { "to-device", -EINVAL }, { "TO_DEVICE", -EINVAL },
		{ "to_device2", -EINVAL }, { "to", -EINVAL }, { "none", -EINVAL },
		{ "to_devic", -EINVAL }, { "bidirectional bidirectional", -EINVAL },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(tbl); i++) {
		enum dma_data_direction dir = DMA_NONE;

		KUNIT_EXPECT_EQ_MSG(test, hugedma_parse_direction(tbl[i].in, &dir),
				    tbl[i].ret, "'%s'", tbl[i].in);
		KUNIT_EXPECT_EQ_MSG(test, dir, tbl[i].ret ? DMA_NONE : tbl[i].dir,
				    "'%s'", tbl[i].in);
	}
}

/* what configfs hands a store: the bytes written and a NUL after them */
static void hugedma_test_check_value(struct kunit *test)
{
	static const char embedded[] = "1\0junk";
	char *page;

	KUNIT_EXPECT_EQ(test, hugedma_check_value("1", 1), 0);
	KUNIT_EXPECT_EQ(test, hugedma_check_value("2M\n", 3), 0);
	/* a NUL inside or at the end of the bytes written */
	KUNIT_EXPECT_EQ(test, hugedma_check_value(embedded, sizeof(embedded) - 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, hugedma_check_value(embedded, 2), -EINVAL);
	KUNIT_EXPECT_EQ(test, hugedma_check_value("", 1), -EINVAL);

	page = kunit_kzalloc(test, HUGEDMA_VALUE_MAX + 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, page);
	memset(page, ' ', HUGEDMA_VALUE_MAX);
	page[0] = '1';
	/* 4094 bytes are whole; 4095 may be the first part of a longer write */
	KUNIT_EXPECT_EQ(test, hugedma_check_value(page, HUGEDMA_VALUE_MAX - 1), 0);
	KUNIT_EXPECT_EQ(test, hugedma_check_value(page, HUGEDMA_VALUE_MAX), -EINVAL);
}

static struct kunit_case hugedma_parse_cases[] = {
	KUNIT_CASE(hugedma_test_name_valid),
	KUNIT_CASE(hugedma_test_parse_size),
	KUNIT_CASE(hugedma_test_parse_page_size),
	KUNIT_CASE(hugedma_test_parse_node),
	KUNIT_CASE(hugedma_test_parse_bool),
	KUNIT_CASE(hugedma_test_parse_direction),
	KUNIT_CASE(hugedma_test_check_value),
	{}
};

static struct kunit_suite hugedma_parse_suite = {
	.name = "hugedma_parse",
	.test_cases = hugedma_parse_cases,
};

/* ---------------------------------------------------------------- states */

#define D HUGEDMA_DISABLED
#define ING HUGEDMA_ENABLING
#define E HUGEDMA_ENABLED
#define DIS HUGEDMA_DISABLING

struct hugedma_state_case {
	enum hugedma_state from;
	enum hugedma_event event;
	bool sized, in_use;
	int ret;
	enum hugedma_state to;	/* when ret is 0 */
};

/* every (state, event, sized, in_use): 4 x 4 x 2 x 2 = 64 cells */
static const struct hugedma_state_case hugedma_state_table[] = {
	/* enable 1 */
	{ D, HUGEDMA_EV_ENABLE, true, false, 0, ING },
	{ D, HUGEDMA_EV_ENABLE, true, true, 0, ING },
	{ D, HUGEDMA_EV_ENABLE, false, false, -EINVAL },
	{ D, HUGEDMA_EV_ENABLE, false, true, -EINVAL },
	{ ING, HUGEDMA_EV_ENABLE, true, false, -EBUSY },
	{ ING, HUGEDMA_EV_ENABLE, true, true, -EBUSY },
	{ ING, HUGEDMA_EV_ENABLE, false, false, -EBUSY },
	{ ING, HUGEDMA_EV_ENABLE, false, true, -EBUSY },
	{ E, HUGEDMA_EV_ENABLE, true, false, 1 },
	{ E, HUGEDMA_EV_ENABLE, true, true, 1 },
	{ E, HUGEDMA_EV_ENABLE, false, false, 1 },
	{ E, HUGEDMA_EV_ENABLE, false, true, 1 },
	{ DIS, HUGEDMA_EV_ENABLE, true, false, -EBUSY },
	{ DIS, HUGEDMA_EV_ENABLE, true, true, -EBUSY },
	{ DIS, HUGEDMA_EV_ENABLE, false, false, -EBUSY },
	{ DIS, HUGEDMA_EV_ENABLE, false, true, -EBUSY },
	/* enable 0 */
	{ D, HUGEDMA_EV_DISABLE, true, false, 1 },
	{ D, HUGEDMA_EV_DISABLE, true, true, 1 },
	{ D, HUGEDMA_EV_DISABLE, false, false, 1 },
	{ D, HUGEDMA_EV_DISABLE, false, true, 1 },
	{ ING, HUGEDMA_EV_DISABLE, true, false, -EBUSY },
	{ ING, HUGEDMA_EV_DISABLE, true, true, -EBUSY },
	{ ING, HUGEDMA_EV_DISABLE, false, false, -EBUSY },
	{ ING, HUGEDMA_EV_DISABLE, false, true, -EBUSY },
	{ E, HUGEDMA_EV_DISABLE, true, false, 0, DIS },
	{ E, HUGEDMA_EV_DISABLE, true, true, -EBUSY },
	{ E, HUGEDMA_EV_DISABLE, false, false, 0, DIS },
	{ E, HUGEDMA_EV_DISABLE, false, true, -EBUSY },
	{ DIS, HUGEDMA_EV_DISABLE, true, false, -EBUSY },
	{ DIS, HUGEDMA_EV_DISABLE, true, true, -EBUSY },
	{ DIS, HUGEDMA_EV_DISABLE, false, false, -EBUSY },
	{ DIS, HUGEDMA_EV_DISABLE, false, true, -EBUSY },
	/* the transition under way completed */
	{ D, HUGEDMA_EV_DONE, true, false, -EINVAL },
	{ D, HUGEDMA_EV_DONE, true, true, -EINVAL },
	{ D, HUGEDMA_EV_DONE, false, false, -EINVAL },
	{ D, HUGEDMA_EV_DONE, false, true, -EINVAL },
	{ ING, HUGEDMA_EV_DONE, true, false, 0, E },
	{ ING, HUGEDMA_EV_DONE, true, true, 0, E },
	{ ING, HUGEDMA_EV_DONE, false, false, 0, E },
	{ ING, HUGEDMA_EV_DONE, false, true, 0, E },
	{ E, HUGEDMA_EV_DONE, true, false, -EINVAL },
	{ E, HUGEDMA_EV_DONE, true, true, -EINVAL },
	{ E, HUGEDMA_EV_DONE, false, false, -EINVAL },
	{ E, HUGEDMA_EV_DONE, false, true, -EINVAL },
	{ DIS, HUGEDMA_EV_DONE, true, false, 0, D },
	{ DIS, HUGEDMA_EV_DONE, true, true, 0, D },
	{ DIS, HUGEDMA_EV_DONE, false, false, 0, D },
	{ DIS, HUGEDMA_EV_DONE, false, true, 0, D },
	/* the transition under way failed: only an enable can */
	{ D, HUGEDMA_EV_FAILED, true, false, -EINVAL },
	{ D, HUGEDMA_EV_FAILED, true, true, -EINVAL },
	{ D, HUGEDMA_EV_FAILED, false, false, -EINVAL },
	{ D, HUGEDMA_EV_FAILED, false, true, -EINVAL },
	{ ING, HUGEDMA_EV_FAILED, true, false, 0, D },
	{ ING, HUGEDMA_EV_FAILED, true, true, 0, D },
	{ ING, HUGEDMA_EV_FAILED, false, false, 0, D },
	{ ING, HUGEDMA_EV_FAILED, false, true, 0, D },
	{ E, HUGEDMA_EV_FAILED, true, false, -EINVAL },
	{ E, HUGEDMA_EV_FAILED, true, true, -EINVAL },
	{ E, HUGEDMA_EV_FAILED, false, false, -EINVAL },
	{ E, HUGEDMA_EV_FAILED, false, true, -EINVAL },
	{ DIS, HUGEDMA_EV_FAILED, true, false, -EINVAL },
	{ DIS, HUGEDMA_EV_FAILED, true, true, -EINVAL },
	{ DIS, HUGEDMA_EV_FAILED, false, false, -EINVAL },
	{ DIS, HUGEDMA_EV_FAILED, false, true, -EINVAL },
};

#undef D
#undef ING
#undef E
#undef DIS

static void hugedma_test_state_table(struct kunit *test)
{
	bool seen[4][4][2][2] = {};
	unsigned int i;

	KUNIT_ASSERT_EQ(test, ARRAY_SIZE(hugedma_state_table), 64);
	for (i = 0; i < ARRAY_SIZE(hugedma_state_table); i++) {
		const struct hugedma_state_case *c = &hugedma_state_table[i];
		enum hugedma_state next = 42;	/* never written unless ret is 0 */
		int ret;

		KUNIT_EXPECT_FALSE_MSG(test, seen[c->from][c->event][c->sized][c->in_use],
				       "row %u twice", i);
		seen[c->from][c->event][c->sized][c->in_use] = true;
		ret = hugedma_state_next(c->from, c->event, c->sized, c->in_use, &next);
		KUNIT_EXPECT_EQ_MSG(test, ret, c->ret, "row %u: %s on %d", i,
				    hugedma_state_name(c->from), c->event);
		KUNIT_EXPECT_EQ_MSG(test, next, ret ? 42 : c->to, "row %u: %s on %d", i,
				    hugedma_state_name(c->from), c->event);
	}
}

/* Walks of the table as buffer.c makes them: every path ends where it should. */
static void hugedma_test_state_lifecycle(struct kunit *test)
{
	enum hugedma_state s = HUGEDMA_DISABLED;

	/* enable, used, unused, disable */
	KUNIT_ASSERT_EQ(test, hugedma_state_next(s, HUGEDMA_EV_ENABLE, true, false, &s), 0);
	KUNIT_EXPECT_EQ(test, hugedma_state_next(s, HUGEDMA_EV_ENABLE, true, false, &s), -EBUSY);
	KUNIT_EXPECT_EQ(test, hugedma_state_next(s, HUGEDMA_EV_DISABLE, true, false, &s), -EBUSY);
	KUNIT_ASSERT_EQ(test, hugedma_state_next(s, HUGEDMA_EV_DONE, true, false, &s), 0);
	KUNIT_EXPECT_EQ(test, s, HUGEDMA_ENABLED);
	KUNIT_EXPECT_EQ(test, hugedma_state_next(s, HUGEDMA_EV_ENABLE, true, true, &s), 1);
	KUNIT_EXPECT_EQ(test, hugedma_state_next(s, HUGEDMA_EV_DISABLE, true, true, &s), -EBUSY);
	KUNIT_EXPECT_EQ(test, s, HUGEDMA_ENABLED);
	KUNIT_ASSERT_EQ(test, hugedma_state_next(s, HUGEDMA_EV_DISABLE, true, false, &s), 0);
	KUNIT_EXPECT_EQ(test, s, HUGEDMA_DISABLING);
	KUNIT_EXPECT_EQ(test, hugedma_state_next(s, HUGEDMA_EV_FAILED, true, false, &s), -EINVAL);
	KUNIT_ASSERT_EQ(test, hugedma_state_next(s, HUGEDMA_EV_DONE, true, false, &s), 0);
	KUNIT_EXPECT_EQ(test, s, HUGEDMA_DISABLED);
	KUNIT_EXPECT_EQ(test, hugedma_state_next(s, HUGEDMA_EV_DISABLE, true, false, &s), 1);

	/* a failed enable (short pool, signal) is disabled again, and can retry */
	KUNIT_ASSERT_EQ(test, hugedma_state_next(s, HUGEDMA_EV_ENABLE, true, false, &s), 0);
	KUNIT_ASSERT_EQ(test, hugedma_state_next(s, HUGEDMA_EV_FAILED, true, false, &s), 0);
	KUNIT_EXPECT_EQ(test, s, HUGEDMA_DISABLED);
	KUNIT_EXPECT_EQ(test, hugedma_state_next(s, HUGEDMA_EV_ENABLE, true, false, &s), 0);
	KUNIT_EXPECT_EQ(test, s, HUGEDMA_ENABLING);
}

static void hugedma_test_state_names(struct kunit *test)
{
	KUNIT_EXPECT_STREQ(test, hugedma_state_name(HUGEDMA_DISABLED), "disabled");
	KUNIT_EXPECT_STREQ(test, hugedma_state_name(HUGEDMA_ENABLING), "enabling");
	KUNIT_EXPECT_STREQ(test, hugedma_state_name(HUGEDMA_ENABLED), "enabled");
	KUNIT_EXPECT_STREQ(test, hugedma_state_name(HUGEDMA_DISABLING), "disabling");
	KUNIT_EXPECT_STREQ(test, hugedma_state_name(42), "unknown");
}

static struct kunit_case hugedma_state_cases[] = {
	KUNIT_CASE(hugedma_test_state_table),
	KUNIT_CASE(hugedma_test_state_lifecycle),
	KUNIT_CASE(hugedma_test_state_names),
	{}
};

static struct kunit_suite hugedma_state_suite = {
	.name = "hugedma_state",
	.test_cases = hugedma_state_cases,
};

/* ---------------------------------------------------------------- extents */

#define T_2M (2ULL << 20)
#define T_1G BIT_ULL(30)
#define HUGEDMA_TEST_MAX_EXT 8

/*
 * hugedma_merge_extents() as attach.c calls it for a device: the max segment
 * size rounded down to base pages (none below one), no segment boundary.
 */
static unsigned long hugedma_extents(const phys_addr_t *phys, unsigned long nr,
				     unsigned int shift, u64 max_seg,
				     struct hugedma_extent *out)
{
	u64 max_len = rounddown(max_seg, PAGE_SIZE);

	if (!max_len)
		return 0;
	return hugedma_merge_extents(phys, nr, shift, max_len, U64_MAX, out,
				     out ? ULONG_MAX : 0);
}

/*
 * Pages in, extents out: @merged is what hugedma_merge_extents() must give,
 * @split what cutting each page on its own gives (the upper bound; the
 * invariants below hold for both).  A run of adjacent pages longer than
 * max_seg is cut into whole huge pages when max_seg is at least one, else
 * every max_seg bytes.  Cases with more extents than fit here give only the
 * count (and the invariants check every extent).
 */
struct hugedma_extent_case {
	const char *what;
	phys_addr_t phys[HUGEDMA_TEST_MAX_EXT];
	unsigned long nr;
	unsigned int shift;
	u64 max_seg;
	unsigned long nsplit, nmerged;
	struct hugedma_extent split[HUGEDMA_TEST_MAX_EXT];
	struct hugedma_extent merged[HUGEDMA_TEST_MAX_EXT];
};

static const struct hugedma_extent_case hugedma_extent_cases[] = {
	{ "no pages", {}, 0, 21, U32_MAX, 0, 0 },
	{ "one 2M page", { 0x40000000 }, 1, 21, U32_MAX, 1, 1,
	  { { 0x40000000, T_2M } }, { { 0x40000000, T_2M } } },
	{ "two adjacent 2M pages", { 0x40000000, 0x40200000 }, 2, 21, T_1G, 2, 1,
	  { { 0x40000000, T_2M }, { 0x40200000, T_2M } },
	  { { 0x40000000, 2 * T_2M } } },
	{ "two distant 2M pages", { 0x40000000, 0x80000000 }, 2, 21, T_1G, 2, 2,
	  { { 0x40000000, T_2M }, { 0x80000000, T_2M } },
	  { { 0x40000000, T_2M }, { 0x80000000, T_2M } } },
	{ "adjacent in reverse order", { 0x40200000, 0x40000000 }, 2, 21, T_1G, 2, 2,
	  { { 0x40200000, T_2M }, { 0x40000000, T_2M } },
	  { { 0x40200000, T_2M }, { 0x40000000, T_2M } } },
	{ "two runs", { 0x40000000, 0x40200000, 0x90000000, 0x90200000, 0x90400000 }, 5,
	  21, T_1G, 5, 2,
	  { { 0x40000000, T_2M }, { 0x40200000, T_2M }, { 0x90000000, T_2M },
	    { 0x90200000, T_2M }, { 0x90400000, T_2M } },
	  { { 0x40000000, 2 * T_2M }, { 0x90000000, 3 * T_2M } } },
	{ "run cut at whole pages below max_seg", { 0x40000000, 0x40200000, 0x40400000 },
	  3, 21, 5ULL << 20, 3, 2,
	  { { 0x40000000, T_2M }, { 0x40200000, T_2M }, { 0x40400000, T_2M } },
	  { { 0x40000000, 2 * T_2M }, { 0x40400000, T_2M } } },
	{ "page split in two", { 0x40000000 }, 1, 21, 1ULL << 20, 2, 2,
	  { { 0x40000000, 1ULL << 20 }, { 0x40100000, 1ULL << 20 } },
	  { { 0x40000000, 1ULL << 20 }, { 0x40100000, 1ULL << 20 } } },
	{ "max_seg rounded down to pages", { 0x40000000 }, 1, 21, (1ULL << 20) + 4095, 2, 2,
	  { { 0x40000000, 1ULL << 20 }, { 0x40100000, 1ULL << 20 } },
	  { { 0x40000000, 1ULL << 20 }, { 0x40100000, 1ULL << 20 } } },
	{ "three adjacent 1G pages, 2G segments",
	  { 0x100000000, 0x140000000, 0x180000000 }, 3, 30, 2 * T_1G, 3, 2,
	  { { 0x100000000, T_1G }, { 0x140000000, T_1G }, { 0x180000000, T_1G } },
	  { { 0x100000000, 2 * T_1G }, { 0x180000000, T_1G } } },
	{ "four adjacent 1G pages, the largest segment",
	  { 0x100000000, 0x140000000, 0x180000000, 0x1c0000000 }, 4, 30, U32_MAX, 4, 2,
	  { { 0x100000000, T_1G }, { 0x140000000, T_1G }, { 0x180000000, T_1G },
	    { 0x1c0000000, T_1G } },
	  { { 0x100000000, 3 * T_1G }, { 0x1c0000000, T_1G } } },
	{ "1G page, 64K segments", { 0x100000000 }, 1, 30, 64 << 10, 16384, 16384 },
	{ "2M pages, 12K segments", { 0x40000000, 0x40200000 }, 2, 21, 12 << 10,
	  2 * 171, 342 },	/* split: 170 x 12K + 8K per page; merged: 341 x 12K + 4K */
	{ "max_seg below a page", { 0x40000000 }, 1, 21, 4095, 0, 0 },
	{ "max_seg 0", { 0x40000000 }, 1, 21, 0, 0, 0 },
};

/*
 * What holds for any correct answer, merged or not: extents in order cover
 * the pages' bytes exactly once, none empty, none longer than max_seg rounded
 * down to whole base pages, all in whole base pages, and never across a gap.
 */
static void hugedma_check_extents(struct kunit *test, const struct hugedma_extent_case *c,
				  const struct hugedma_extent *ext, unsigned long n)
{
	u64 psize = 1ULL << c->shift, seg = ALIGN_DOWN(c->max_seg, PAGE_SIZE);
	unsigned long page = 0, e;
	u64 off = 0;

	for (e = 0; e < n; e++) {
		u64 done = 0;

		KUNIT_EXPECT_GT_MSG(test, ext[e].len, 0ULL, "%s: extent %lu", c->what, e);
		KUNIT_EXPECT_LE_MSG(test, ext[e].len, seg, "%s: extent %lu", c->what, e);
		KUNIT_EXPECT_EQ_MSG(test, ext[e].len % PAGE_SIZE, 0ULL, "%s: extent %lu",
				    c->what, e);
		/* walk the pages this extent covers: each must follow on */
		while (done < ext[e].len) {
			u64 take;

			if (page >= c->nr) {
				KUNIT_FAIL(test, "%s: extent %lu runs past the pages", c->what, e);
				return;
			}
			if (c->phys[page] + off != ext[e].addr + done) {
				KUNIT_FAIL(test, "%s: extent %lu: %pa+%llu is not page %lu+%llu",
					   c->what, e, &ext[e].addr, done, page, off);
				return;
			}
			take = min(psize - off, ext[e].len - done);
			done += take;
			off += take;
			if (off == psize) {
				page++;
				off = 0;
			}
		}
	}
	KUNIT_EXPECT_EQ_MSG(test, page, c->nr, "%s: pages left uncovered", c->what);
}

static void hugedma_test_extents(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hugedma_extent_cases); i++) {
		const struct hugedma_extent_case *c = &hugedma_extent_cases[i];
		unsigned long want = c->nmerged;
		const struct hugedma_extent *exp = c->merged;
		struct hugedma_extent *ext;
		unsigned long n, j;

		n = hugedma_extents(c->phys, c->nr, c->shift, c->max_seg, NULL);
		KUNIT_EXPECT_EQ_MSG(test, n, want, "%s: count", c->what);
		if (n != want || !n)
			continue;
		/* one more than needed, to see that nothing is written beyond */
		ext = kunit_kcalloc(test, n + 1, sizeof(*ext), GFP_KERNEL);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ext);
		ext[n].addr = 0x5a5a;
		KUNIT_EXPECT_EQ_MSG(test, hugedma_extents(c->phys, c->nr, c->shift, c->max_seg,
							  ext), n, "%s: second call", c->what);
		KUNIT_EXPECT_EQ_MSG(test, ext[n].addr, (phys_addr_t)0x5a5a,
				    "%s: written beyond", c->what);
		hugedma_check_extents(test, c, ext, n);
		if (n > HUGEDMA_TEST_MAX_EXT)
			continue;
		for (j = 0; j < n; j++) {
			KUNIT_EXPECT_EQ_MSG(test, ext[j].addr, exp[j].addr, "%s: extent %lu",
					    c->what, j);
			KUNIT_EXPECT_EQ_MSG(test, ext[j].len, exp[j].len, "%s: extent %lu",
					    c->what, j);
		}
	}
}

/* The expectations themselves obey the invariants, merged and split alike. */
static void hugedma_test_extent_expectations(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hugedma_extent_cases); i++) {
		const struct hugedma_extent_case *c = &hugedma_extent_cases[i];

		/* none at all: no pages, or a max_seg below one base page */
		if (c->nsplit && c->nsplit <= HUGEDMA_TEST_MAX_EXT)
			hugedma_check_extents(test, c, c->split, c->nsplit);
		if (c->nmerged && c->nmerged <= HUGEDMA_TEST_MAX_EXT)
			hugedma_check_extents(test, c, c->merged, c->nmerged);
		KUNIT_EXPECT_LE_MSG(test, c->nmerged, c->nsplit, "%s", c->what);
	}
}

/*
 * A device's segment boundary cuts a run (PCI's 4 GB by default); extents
 * past the room given are counted, not stored.
 */
static void hugedma_test_extent_boundary(struct kunit *test)
{
	static const phys_addr_t phys[] = { 0x80000000, 0xc0000000, 0x100000000, 0x140000000 };
	struct hugedma_extent ext[3] = {};

	KUNIT_EXPECT_EQ(test, hugedma_merge_extents(phys, 4, 30, U64_MAX, U32_MAX, ext, 3), 2UL);
	KUNIT_EXPECT_EQ(test, ext[0].addr, 0x80000000ULL);
	KUNIT_EXPECT_EQ(test, ext[0].len, 2 * T_1G);
	KUNIT_EXPECT_EQ(test, ext[1].addr, 0x100000000ULL);
	KUNIT_EXPECT_EQ(test, ext[1].len, 2 * T_1G);
	KUNIT_EXPECT_EQ(test, hugedma_merge_extents(phys, 4, 30, U64_MAX, U64_MAX, ext, 3), 1UL);
	KUNIT_EXPECT_EQ(test, ext[0].len, 4 * T_1G);
	memset(ext, 0, sizeof(ext));
	KUNIT_EXPECT_EQ(test, hugedma_merge_extents(phys, 4, 30, T_1G, U64_MAX, ext, 1), 4UL);
	KUNIT_EXPECT_EQ(test, ext[0].addr, 0x80000000ULL);
	KUNIT_EXPECT_EQ(test, ext[1].len, 0ULL);
}

static struct kunit_case hugedma_extent_test_cases[] = {
	KUNIT_CASE(hugedma_test_extents),
	KUNIT_CASE(hugedma_test_extent_boundary),
	KUNIT_CASE(hugedma_test_extent_expectations),
	{}
};

static struct kunit_suite hugedma_extent_suite = {
	.name = "hugedma_extents",
	.test_cases = hugedma_extent_test_cases,
};

kunit_test_suites(&hugedma_parse_suite, &hugedma_state_suite, &hugedma_extent_suite);

MODULE_DESCRIPTION("KUnit tests of hugedma's parsing, state table and DMA extents");
MODULE_AUTHOR("The hugedma authors");
MODULE_LICENSE("GPL");
