// SPDX-License-Identifier: GPL-2.0
/*
 * The library's name rule and size parser against the schema's own examples
 * (needs no module, runs anywhere): every accepted and refused value that
 * configfs-schema/hugedma.json gives for a buffer's name, size and page_size
 * gets the verdict the module gives it, so that user space and the module
 * cannot drift apart.
 *
 *   test_schema configfs-schema/hugedma.json
 *
 * A refusal that is not the syntax's (a size larger than the RAM, not a
 * multiple of the page size) is for the kernel alone: the parser must accept
 * the value, and the example must say why the kernel does not.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hugedma.h"
#include "harness.h"

#define SZ_2M	(2ULL << 20)
#define SZ_1G	(1ULL << 30)
#define BUFFERS	"/sys/kernel/config/hugedma/buffers"

/* sizes from 1 PB up are no machine's RAM that these tests run on */
#define NO_RAM	(1ULL << 50)

/* @s with its control characters escaped, for one-line test names (4 at a time) */
static const char *esc(const char *s)
{
	static char bufs[4][256];
	static unsigned int k;
	char *b = bufs[k++ % 4], *p = b;

	for (; s && *s && p < b + sizeof(bufs[0]) - 5; s++) {
		if ((unsigned char)*s < 0x20)
			p += sprintf(p, "\\x%02x", (unsigned char)*s);
		else
			*p++ = *s;
	}
	*p = '\0';
	return s ? b : "(null)";
}

static struct json_object *entry(struct json_object *schema, const char *path)
{
	struct json_object *entries = json_object_object_get(schema, "entries");

	for (size_t i = 0; i < json_object_array_length(entries); i++) {
		struct json_object *e = json_object_array_get_idx(entries, i);

		if (!strcmp(json_object_get_string(json_object_object_get(e, "path")), path))
			return e;
	}
	return NULL;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v = json_object_object_get(o, key);

	return v ? json_object_get_string(v) : NULL;
}

static int err_of(const char *name)
{
	return !strcmp(name, "EINVAL") ? -EINVAL : !strcmp(name, "ERANGE") ? -ERANGE : 1;
}

/* the value of @attr that an example's "given" sets first, else 0 */
static uint64_t given(struct json_object *ex, const char *attr)
{
	struct json_object *g = json_object_object_get(ex, "given");
	uint64_t v = 0;

	for (size_t i = 0; g && i < json_object_array_length(g); i++) {
		struct json_object *kv = json_object_array_get_idx(g, i);

		if (!strcmp(json_object_get_string(json_object_array_get_idx(kv, 0)), attr))
			hugedma_parse_size(json_object_get_string(json_object_array_get_idx(kv, 1)),
					   &v);
	}
	return v;
}

static void test_names(struct json_object *e)
{
	struct json_object *acc = json_object_object_get(e, "accepted");
	struct json_object *exs = json_object_object_get(e, "examples");

	t_ok(acc && exs, "the schema has name examples");
	for (size_t i = 0; acc && i < json_object_array_length(acc); i++) {
		const char *v = str(json_object_array_get_idx(acc, i), "value");

		t_ret(hugedma_name_check(v), 0, "name \"%s\" is valid", esc(v));
	}
	for (size_t i = 0; exs && i < json_object_array_length(exs); i++) {
		struct json_object *ex = json_object_array_get_idx(exs, i);
		const char *v = str(ex, "value");

		t_ret(hugedma_name_check(v), err_of(str(ex, "errno")), "name \"%s\" is refused: %s",
		      esc(v), str(ex, "why"));
	}
}

/*
 * @page_size: the entry is page_size's, which takes the two sizes only and
 * calls an overflow EINVAL
 */
static void test_sizes(struct json_object *e, const char *attr, bool page_size)
{
	struct json_object *acc = json_object_object_get(e, "accepted");
	struct json_object *exs = json_object_object_get(e, "examples");
	uint64_t v;
	int ret;

	t_ok(acc && exs, "the schema has %s examples", attr);
	for (size_t i = 0; acc && i < json_object_array_length(acc); i++) {
		struct json_object *ex = json_object_array_get_idx(acc, i);
		uint64_t reads = strtoull(str(ex, "reads"), NULL, 10);

		v = 0;
		ret = hugedma_parse_size(str(ex, "value"), &v);
		t_ok(!ret && v == reads && (!page_size || v == SZ_2M || v == SZ_1G),
		     "%s \"%s\" is %" PRIu64, attr, esc(str(ex, "value")), reads);
	}
	for (size_t i = 0; exs && i < json_object_array_length(exs); i++) {
		struct json_object *ex = json_object_array_get_idx(exs, i);
		const char *val = str(ex, "value"), *why = str(ex, "why");
		int want = err_of(str(ex, "errno"));
		uint64_t ps = given(ex, "page_size"), size = given(ex, "size");

		if (want > 0)
			continue;	/* EACCES and the like: not the value's syntax */
		v = 0;
		ret = hugedma_parse_size(val, &v);
		if (page_size && ret) {
			t_ret(want, -EINVAL, "page_size \"%s\" is refused: %s", esc(val), why);
			continue;
		}
		if (ret) {
			t_ret(ret, want, "size \"%s\" is refused: %s", esc(val), why);
			continue;
		}
		/* syntax the parser takes: the example must be the kernel's own refusal */
		if (page_size)
			t_ok(want == -EINVAL && ((v != SZ_2M && v != SZ_1G) || (size && size % v)),
			     "page_size \"%s\" parses to %" PRIu64 ", refused by the kernel: %s",
			     esc(val), v, why);
		else
			t_ok((want == -ERANGE && v >= NO_RAM) || (want == -EINVAL && ps && v % ps),
			     "size \"%s\" parses to %" PRIu64 ", refused by the kernel: %s", esc(val), v,
			     why);
	}
}

int main(int argc, char **argv)
{
	struct json_object *schema, *e;

	t_init(argc, argv, 1, "SCHEMA.json");
	schema = json_object_from_file(argv[1]);
	if (!t_ok(schema != NULL, "%s is read", argv[1]))
		return t_done();
	e = entry(schema, BUFFERS);
	if (t_ok(e != NULL, "the schema has %s", BUFFERS))
		test_names(e);
	e = entry(schema, BUFFERS "/<name>/size");
	if (t_ok(e != NULL, "the schema has <name>/size"))
		test_sizes(e, "size", false);
	e = entry(schema, BUFFERS "/<name>/page_size");
	if (t_ok(e != NULL, "the schema has <name>/page_size"))
		test_sizes(e, "page_size", true);
	t_ret(hugedma_parse_size(NULL, &(uint64_t){ 0 }), -EINVAL, "size NULL is refused");
	t_ret(hugedma_name_check(NULL), -EINVAL, "name NULL is refused");
	json_object_put(schema);
	return t_done();
}
