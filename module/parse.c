// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma: parsing of administrator input.  Pure functions with no state, so
 * that every rejected write is rejected before anything changes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-direction.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/string.h>

#include "hugedma.h"

/*
 * 1-32 characters of [a-z0-9_-], starting with a letter or digit; not
 * "control", which is /dev/hugedma/control beside the buffers' device nodes.
 */
/*
 * The kernel's ctype is Latin-1: islower() and isspace() accept bytes above
 * 0x7f.  The ABI is ASCII, so these helpers say exactly what they accept.
 */
static bool hugedma_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool hugedma_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool hugedma_name_valid(const char *name)
{
	size_t i, len = strlen(name);

	if (len < 1 || len > HUGEDMA_NAME_MAX || !strcmp(name, "control"))
		return false;
	if (!hugedma_is_alnum(name[0]))
		return false;
	for (i = 1; i < len; i++) {
		char c = name[i];

		if (!hugedma_is_alnum(c) && c != '_' && c != '-')
			return false;
	}
	return true;
}

/*
 * configfs hands a store the first 4095 bytes of a write (SIMPLE_ATTR_SIZE - 1
 * in fs/configfs/file.c) and the parsers stop at a NUL: either way they would
 * judge only part of what was written.  -EINVAL for a value of 4095 bytes or
 * more, or with a NUL inside; no valid value comes near that length.
 */
int hugedma_check_value(const char *page, size_t count)
{
	if (count >= HUGEDMA_VALUE_MAX || strnlen(page, count) != count)
		return -EINVAL;
	return 0;
}

/* Strip surrounding white space: [*start, *end) is what is left. */
static void hugedma_trim(const char *buf, const char **start, const char **end)
{
	const char *s = buf, *e = buf + strlen(buf);

	while (s < e && hugedma_is_space(*s))
		s++;
	while (e > s && hugedma_is_space(e[-1]))
		e--;
	*start = s;
	*end = e;
}

/*
 * A decimal byte count with an optional binary suffix K, M, G or T (either
 * case), surrounded by optional white space.  -EINVAL for anything else and
 * for zero, -ERANGE when the value does not fit in 64 bits.
 */
int hugedma_parse_size(const char *buf, u64 *out)
{
	const char *s, *e;
	unsigned int shift = 0;
	u64 val = 0;

	hugedma_trim(buf, &s, &e);
	if (s == e)
		return -EINVAL;
	switch (e[-1]) {
	case 'K': case 'k':
		shift = 10;
		break;
	case 'M': case 'm':
		shift = 20;
		break;
	case 'G': case 'g':
		shift = 30;
		break;
	case 'T': case 't':
		shift = 40;
		break;
	}
	if (shift)
		e--;
	if (s == e)
		return -EINVAL;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (check_mul_overflow(val, 10ULL, &val) ||
		    check_add_overflow(val, (u64)(*s - '0'), &val))
			return -ERANGE;
	}
	if (val > (U64_MAX >> shift))
		return -ERANGE;
	val <<= shift;
	if (!val)
		return -EINVAL;
	*out = val;
	return 0;
}

/* "1G" or "2M", or the same sizes in any form hugedma_parse_size() takes */
int hugedma_parse_page_size(const char *buf, unsigned int *shift)
{
	u64 size;
	int ret;

	ret = hugedma_parse_size(buf, &size);
	if (ret)
		return -EINVAL;
	if (size == 1ULL << HUGEDMA_SHIFT_1G)
		*shift = HUGEDMA_SHIFT_1G;
	else if (size == 1ULL << HUGEDMA_SHIFT_2M)
		*shift = HUGEDMA_SHIFT_2M;
	else
		return -EINVAL;
	return 0;
}

/* "-1" (any node) or a decimal node id; whether the node exists is not checked here */
int hugedma_parse_node(const char *buf, int *nid)
{
	const char *s, *e;
	int val = 0;

	hugedma_trim(buf, &s, &e);
	if (e - s == 2 && s[0] == '-' && s[1] == '1') {
		*nid = -1;
		return 0;
	}
	if (s == e)
		return -EINVAL;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (check_mul_overflow(val, 10, &val) ||
		    check_add_overflow(val, *s - '0', &val))
			return -ERANGE;
	}
	*nid = val;
	return 0;
}

/* exactly "0" or "1", with optional surrounding white space */
int hugedma_parse_bool(const char *buf, bool *out)
{
	const char *s, *e;

	hugedma_trim(buf, &s, &e);
	if (e - s != 1 || (*s != '0' && *s != '1'))
		return -EINVAL;
	*out = *s == '1';
	return 0;
}

/* "bidirectional", "to_device" or "from_device" */
int hugedma_parse_direction(const char *buf, enum dma_data_direction *dir)
{
	static const struct {
		const char *name;
		enum dma_data_direction dir;
	} names[] = {
		{ "bidirectional", DMA_BIDIRECTIONAL },
		{ "to_device", DMA_TO_DEVICE },
		{ "from_device", DMA_FROM_DEVICE },
	};
	const char *s, *e;
	unsigned int i;

	hugedma_trim(buf, &s, &e);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (strlen(names[i].name) == e - s && !strncmp(s, names[i].name, e - s)) {
			*dir = names[i].dir;
			return 0;
		}
	}
	return -EINVAL;
}
