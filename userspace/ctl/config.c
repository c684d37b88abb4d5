// SPDX-License-Identifier: GPL-2.0
/*
 * hugedmactl: save and restore, the configuration as a file.
 *
 *   {"format": "hugedma-config/1", "buffers": [BUFFER, ...]}
 *
 * save writes each configfs buffer as saved_buffer_json() makes it.  restore
 * takes that, and also a buffer as show --json prints it (its read-only keys
 * ignored, "enabled" for "enable", kernel users' attachments skipped), in a
 * file or alone: "show --json NAME | hugedmactl restore -" puts it back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"

/* ------------------------------------------------------------ save */

static struct json_object *saved_config(int *err)
{
	struct json_object *root = json_object_new_object(), *bufs = json_object_new_array();
	char **names = NULL;
	size_t n = 0;
	int ret;

	*err = 0;
	json_object_object_add(root, "format", json_object_new_string(CONFIG_FORMAT));
	json_object_object_add(root, "buffers", bufs);
	ret = hugedma_list_buffers(&names, &n);
	if (ret) {
		*err = fail(hugedma_error_path(), ret);
		return root;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *bo, *atts;
		struct hugedma_buffer_desc b;
		char **bdfs = NULL;
		size_t na = 0;

		ret = hugedma_buffer_describe(names[i], &b);
		if (ret == -ENOENT || (!ret && !b.configfs))
			continue;	/* gone, or imported: not configuration */
		if (ret) {
			*err = fail(hugedma_error_path(), ret);
			break;
		}
		bo = saved_buffer_json(&b);
		atts = json_object_new_array();
		hugedma_list_attachments(b.name, &bdfs, &na);
		for (size_t k = 0; k < na; k++) {
			struct hugedma_attachment_desc a;

			if (!hugedma_attachment_describe(b.name, bdfs[k], &a) && a.configfs)
				json_object_array_add(atts, saved_attachment_json(&a));
		}
		hugedma_names_free(bdfs, na);
		json_object_object_add(bo, "attachments", atts);
		json_object_array_add(bufs, bo);
	}
	hugedma_names_free(names, n);
	return root;
}

/* Whether @file holds exactly @text and a newline (then save leaves it alone). */
static bool same_content(const char *file, const char *text)
{
	char *old;
	bool same;

	if (read_text(file, &old))
		return false;
	same = strlen(old) == strlen(text) + 1 && !strncmp(old, text, strlen(text)) &&
	       old[strlen(text)] == '\n';
	free(old);
	return same;
}

/*
 * FILE.1 ... FILE.@keep: the newest @keep versions FILE had.  FILE stays in
 * place (FILE.1 is a hard link to it) until the new one is renamed over it.
 */
static int rotate_backups(const char *file, int keep)
{
	char from[PATH_MAX], to[PATH_MAX];

	if (!keep || access(file, F_OK))
		return 0;
	for (int k = keep - 1; k >= 1; k--) {
		snprintf(from, sizeof(from), "%s.%d", file, k);
		snprintf(to, sizeof(to), "%s.%d", file, k + 1);
		if (rename(from, to) && errno != ENOENT)
			return fail(to, -errno);
	}
	snprintf(to, sizeof(to), "%s.1", file);
	if ((unlink(to) && errno != ENOENT) || link(file, to))
		return fail(to, -errno);
	return 0;
}

int cmd_save(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "backups", required_argument, NULL, 'b' },
		{ 0 }
	};
	const char *file = NULL, *text;
	struct json_object *cfg;
	char tmp[PATH_MAX], *end;
	int err, fd, c, keep = 3;
	FILE *f;

	while ((c = getopt_long(argc, argv, "b:", opts, NULL)) != -1) {
		if (c != 'b')
			return usage("bad option");
		errno = 0;
		keep = (int)strtol(optarg, &end, 10);
		if (errno || *end || !*optarg || keep < 0 || keep > 99 || *optarg == '+' ||
		    *optarg == ' ')
			return usage("save: --backups takes 0 to 99, not '%s'", optarg);
	}
	if (argc - optind > 1)
		return usage("save: at most one FILE");
	if (argc - optind == 1 && strcmp(argv[optind], "-"))
		file = argv[optind];
	if (take_lock(false))
		return 1;
	cfg = saved_config(&err);
	if (err) {
		json_object_put(cfg);
		return 1;
	}
	if (!file) {
		print_json(cfg);
		json_object_put(cfg);
		return 0;
	}
	text = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PRETTY |
					      JSON_C_TO_STRING_SPACED |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	if (same_content(file, text)) {
		json_object_put(cfg);	/* unchanged: the backups keep older versions */
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
	if (rotate_backups(file, keep)) {
		unlink(tmp);
		return 1;
	}
	if (rename(tmp, file)) {
		err = -errno;
		unlink(tmp);
		return fail(file, err);
	}
	return 0;
}

/* ------------------------------------------------------------ restore: the file */

struct rbuf {
	char name[64];
	char size[32], page_size[32], node[16];
	uint64_t size_bytes, page_bytes;
	int numa_node;
	bool enable;
	bool contiguous;
	int natt;
	struct ratt {
		char bdf[64];
		char direction[32];
		bool enable;
	} *att;
};

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

/* "hugedmactl: FILE: buffers[2].size: must be ..." Returns 1. */
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

/* A JSON number of bytes, or a string in the module's size syntax. */
static bool get_bytes(struct json_object *v, uint64_t *out)
{
	if (json_object_is_type(v, json_type_int)) {
		if (json_object_get_int64(v) <= 0 && json_object_get_uint64(v) == 0)
			return false;
		*out = json_object_get_uint64(v);
		return *out > 0;
	}
	return json_object_is_type(v, json_type_string) &&
	       !hugedma_parse_size(json_object_get_string(v), out);
}

static bool node_exists(int node)
{
	bool found = false;
	int *ids;
	size_t n;

	if (hugedma_nodes(&ids, &n))
		return false;
	for (size_t i = 0; i < n && !found; i++)
		found = ids[i] == node;
	free(ids);
	return found;
}

static bool have_page_size(uint64_t bytes)
{
	struct hugedma_pool p;

	return hugedma_pool_get(bytes, -1, &p) != -ENOENT;
}

/*
 * A boolean key that may also be spelt @alias (show's "enabled"); default @def.
 * -EINVAL for a value that is not a boolean, -EDOM when the two disagree.
 */
static int get_bool(struct json_object *o, const char *key, const char *alias, bool def,
		    bool *out)
{
	struct json_object *v, *w;
	bool has_v = json_object_object_get_ex(o, key, &v);
	bool has_w = alias && json_object_object_get_ex(o, alias, &w);

	*out = def;
	if ((has_v && !json_object_is_type(v, json_type_boolean)) ||
	    (has_w && !json_object_is_type(w, json_type_boolean)))
		return -EINVAL;
	if (has_v && has_w && json_object_get_boolean(v) != json_object_get_boolean(w))
		return -EDOM;
	if (has_v || has_w)
		*out = json_object_get_boolean(has_v ? v : w);
	return 0;
}

#define BAD(...) do { cfg_error(file, where, __VA_ARGS__); return 1; } while (0)

/* One element of "attachments"; 1 (message printed) when bad, -1 to skip it. */
static int load_attachment(const char *file, const char *where, struct json_object *ao,
			   const struct rbuf *r, int k, struct ratt *a)
{
	/* bdf, direction, enable; the rest is what show prints beside them */
	static const char *const att_keys[] = { "bdf", "direction", "enable", "configfs",
						"state", "iommu", "nr_segments", "segments" };
	struct json_object *v;
	const char *key;

	if (!json_object_is_type(ao, json_type_object))
		BAD("must be an object");
	if ((key = unknown_key(ao, att_keys, ARRAY_LEN(att_keys))))
		BAD("unknown key '%s'", key);
	if (json_object_object_get_ex(ao, "configfs", &v) &&
	    json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v))
		return -1;	/* a kernel user's (show): not configuration */
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
	if (get_bool(ao, "enable", NULL, true, &a->enable))
		BAD("\"enable\" must be true or false");
	if (a->enable && !r->enable)
		BAD("an enabled attachment needs an enabled buffer");
	return 0;
}

/* One element of "buffers" (@i), checked against those before it. 0 or 1. */
static int load_buffer(const char *file, struct json_object *bo, struct rbuf *rb, int i)
{
	/* save's keys; then the read-only ones that show prints beside them */
	static const char *const buf_keys[] = { "name", "size", "page_size", "numa_node",
						"contiguous", "enable", "attachments", "enabled", "source",
						"configfs", "state", "nr_pages", "pages_node",
						"phys_addrs", "users" };
	struct json_object *v, *atts;
	struct rbuf *r = &rb[i];
	const char *key;
	char where[128];
	int ret;

	snprintf(where, sizeof(where), "buffers[%d]", i);
	if (!json_object_is_type(bo, json_type_object))
		BAD("must be an object");
	if ((key = unknown_key(bo, buf_keys, ARRAY_LEN(buf_keys))))
		BAD("unknown key '%s'", key);
	snprintf(where, sizeof(where), "buffers[%d].name", i);
	if (!json_object_object_get_ex(bo, "name", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    hugedma_name_check(json_object_get_string(v)))
		BAD("must be 1 to 32 of [a-z0-9_-], starting with a letter or digit, not \"control\"");
	snprintf(r->name, sizeof(r->name), "%s", json_object_get_string(v));
	for (int k = 0; k < i; k++)
		if (!strcmp(rb[k].name, r->name))
			BAD("duplicate buffer name '%s' (also buffers[%d])", r->name, k);
	snprintf(where, sizeof(where), "buffers[%d] (%s)", i, r->name);
	if ((json_object_object_get_ex(bo, "configfs", &v) &&
	     json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v)) ||
	    (json_object_object_get_ex(bo, "source", &v) &&
	     json_object_is_type(v, json_type_string) &&
	     strcmp(json_object_get_string(v), "pool")))
		BAD("an imported buffer cannot be restored");
	snprintf(where, sizeof(where), "buffers[%d] (%s).page_size", i, r->name);
	r->page_bytes = SZ_1G;
	if (json_object_object_get_ex(bo, "page_size", &v)) {
		if (!get_bytes(v, &r->page_bytes) ||
		    (r->page_bytes != SZ_1G && r->page_bytes != SZ_2M))
			BAD("must be 1073741824 (1G) or 2097152 (2M)");
	} else if (!have_page_size(SZ_1G)) {
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
	snprintf(where, sizeof(where), "buffers[%d] (%s).contiguous", i, r->name);
	r->contiguous = false;
	if (json_object_object_get_ex(bo, "contiguous", &v) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_boolean))
			BAD("must be true or false");
		r->contiguous = json_object_get_boolean(v);
	}
	snprintf(where, sizeof(where), "buffers[%d] (%s).enable", i, r->name);
	ret = get_bool(bo, "enable", "enabled", true, &r->enable);
	if (ret == -EDOM)
		BAD("\"enable\" and \"enabled\" disagree");
	if (ret)
		BAD("must be true or false");
	snprintf(where, sizeof(where), "buffers[%d] (%s).attachments", i, r->name);
	if (!json_object_object_get_ex(bo, "attachments", &atts))
		return 0;
	if (!json_object_is_type(atts, json_type_array))
		BAD("must be an array");
	r->att = calloc(json_object_array_length(atts) + 1, sizeof(*r->att));
	if (!r->att)
		BAD("out of memory");
	for (size_t k = 0; k < json_object_array_length(atts); k++) {
		snprintf(where, sizeof(where), "buffers[%d] (%s).attachments[%zu]", i, r->name, k);
		ret = load_attachment(file, where, json_object_array_get_idx(atts, k), r, r->natt,
				      &r->att[r->natt]);
		if (ret > 0)
			return ret;
		if (!ret)
			r->natt++;
	}
	return 0;
}

static void free_config(struct rbuf *rb, int n)
{
	for (int i = 0; rb && i < n; i++)
		free(rb[i].att);
	free(rb);
}

/* FILE as JSON, or NULL (message printed) with the line and column of the first error. */
static struct json_object *parse_file(const char *file)
{
	enum json_tokener_error jerr;
	struct json_tokener *tok;
	struct json_object *root;
	char *text;
	int ret;

	ret = read_text(file, &text);
	if (ret) {
		fail(file, ret);
		return NULL;
	}
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
		json_object_put(root);
		root = NULL;
	}
	json_tokener_free(tok);
	free(text);
	return root;
}

/*
 * Parse and check FILE: a configuration, or one buffer alone (an object with
 * a "name" and no "format", as show --json prints it).  Returns 0 or 1
 * (message printed); the buffers on success.
 */
static int load_config(const char *file, struct rbuf **out, int *nout)
{
	static const char *const top_keys[] = { "format", "buffers" };
	struct json_object *root, *bufs = NULL, *v;
	const char *where = "top level", *key;
	struct rbuf *rb = NULL;
	int n = 0, i, ret = 1;

	root = parse_file(file);
	if (!root)
		return 1;
	if (!json_object_is_type(root, json_type_object)) {
		cfg_error(file, where, "must be an object");
		goto out;
	}
	if (!json_object_object_get_ex(root, "format", NULL) &&
	    json_object_object_get_ex(root, "name", NULL)) {
		bufs = json_object_new_array();
		json_object_array_add(bufs, json_object_get(root));
	} else if ((key = unknown_key(root, top_keys, ARRAY_LEN(top_keys)))) {
		cfg_error(file, where, "unknown key '%s'", key);
		goto out;
	} else if (!json_object_object_get_ex(root, "format", &v) ||
		   !json_object_is_type(v, json_type_string) ||
		   strcmp(json_object_get_string(v), CONFIG_FORMAT)) {
		cfg_error(file, where, "\"format\" must be \"%s\"", CONFIG_FORMAT);
		goto out;
	} else if (!json_object_object_get_ex(root, "buffers", &v) ||
		   !json_object_is_type(v, json_type_array)) {
		cfg_error(file, where, "\"buffers\" must be an array");
		goto out;
	} else {
		bufs = json_object_get(v);
	}
	n = json_object_array_length(bufs);
	rb = calloc(n + 1, sizeof(*rb));
	if (!rb) {
		cfg_error(file, where, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		if (load_buffer(file, json_object_array_get_idx(bufs, i), rb, i))
			break;
	ret = i < n;
out:
	json_object_put(bufs);
	json_object_put(root);
	if (ret) {
		free_config(rb, n);
		return 1;
	}
	*out = rb;
	*nout = n;
	return 0;
}

/* ------------------------------------------------------------ restore: the plan */

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

/* What a shortfall of @want - @have pages on @node (-1: the pool) needs to be fixed. */
static void print_fix(const struct rbuf *rb, int n, const bool *counted, const char *file,
		      unsigned int s, int node, uint64_t want, uint64_t have)
{
	char path[PATH_MAX];
	struct hugedma_pool p = { 0 };
	uint64_t nr;

	hugedma_pool_get(page_sizes[s], node, &p);
	hugedma_pool_path(path, sizeof(path), page_sizes[s], node, "nr_hugepages");
	nr = p.total + want - have;
	print_needers(file, rb, n, counted, page_sizes[s], node < 0 ? INT_MIN : node);
	if (node < 0)
		fprintf(stderr, "%s: to fix: boot with 'hugepagesz=%s hugepages=%" PRIu64
			"' on the kernel command line, or now: echo %" PRIu64 " > %s\n", prog,
			s ? "2M" : "1G", nr, nr, path);
	else
		fprintf(stderr, "%s: to fix: boot with 'hugepagesz=%s hugepages=%d:%" PRIu64
			"' on the kernel command line (one node:count pair per node), or now: echo %"
			PRIu64 " > %s\n", prog, s ? "2M" : "1G", node, nr, nr, path);
}

/* Whether the pool of page size @s holds what @need[] asks, per node and in all. */
static int pool_check(const char *file, const struct rbuf *rb, int n, const bool *counted,
		      unsigned int s, const uint64_t *need, const uint64_t *credit,
		      const int *nodes, size_t nn, int maxnode)
{
	uint64_t free_all = credit[maxnode + 1], need_all = 0;
	struct hugedma_pool p;

	for (size_t i = 0; i < nn; i++) {
		uint64_t want = need[nodes[i]];

		p.free = 0;
		hugedma_pool_get(page_sizes[s], nodes[i], &p);
		p.free += credit[nodes[i]];	/* what restore --replace frees first */
		free_all += p.free;
		need_all += want;
		if (want > p.free) {
			cfg_error(file, NULL,
				  "node %d: %" PRIu64 " free %s pages, the configuration needs %" PRIu64,
				  nodes[i], p.free, s ? "2 MB" : "1 GB", want);
			print_fix(rb, n, counted, file, s, nodes[i], want, p.free);
			return 1;
		}
	}
	need_all += need[maxnode + 1];
	/* free pages reserved for hugetlb mappings are not available */
	p.reserved = 0;
	hugedma_pool_get(page_sizes[s], -1, &p);
	free_all = free_all > p.reserved ? free_all - p.reserved : 0;
	if (need_all > free_all) {
		cfg_error(file, NULL,
			  "%" PRIu64 " free unreserved %s pages, the configuration needs %" PRIu64,
			  free_all, s ? "2 MB" : "1 GB", need_all);
		print_fix(rb, n, counted, file, s, -1, need_all, free_all);
		return 1;
	}
	return 0;
}

/*
 * restore --replace: what the file does not have goes, configfs buffers and
 * (of the buffers it has) configfs attachments; none of it may be in use.
 * 0 or 1 (message printed); a buffer's attachments come before it in *@out.
 */
struct removal {
	char name[256];
	char bdf[256];		/* "" for the buffer itself */
};

static int plan_removals(const char *file, const struct rbuf *rb, int n,
			 struct removal **out, int *nout)
{
	char **names = NULL, **bdfs, why[512];
	struct removal *rm = NULL;
	int nrm = 0, ret = 0;
	size_t nb = 0, na;

	*out = NULL;
	*nout = 0;
	ret = hugedma_list_buffers(&names, &nb);
	if (ret)
		return fail(hugedma_error_path(), ret);
	/* at most every buffer and every attachment */
	for (size_t i = 0; i < nb && !ret; i++) {
		const struct rbuf *r = NULL;

		if (!cfg_exists(names[i], NULL))
			continue;	/* imported: not configuration */
		for (int k = 0; k < n && !r; k++)
			if (!strcmp(rb[k].name, names[i]))
				r = &rb[k];
		if (hugedma_list_attachments(names[i], &bdfs, &na))
			na = 0, bdfs = NULL;
		for (size_t a = 0; a <= na && !ret; a++) {
			const char *bdf = a < na ? bdfs[a] : "";
			bool keep = false;
			struct removal *nr;

			if (a < na) {
				if (!cfg_exists(names[i], bdf))
					continue;	/* a kernel user's */
				for (int k = 0; r && k < r->natt && !keep; k++)
					keep = !strcmp(r->att[k].bdf, bdf);
				if (keep || !r)
					continue;	/* kept, or goes with its buffer */
			} else if (r) {
				continue;	/* the buffer stays */
			} else if (buffer_in_use(names[i], why, sizeof(why))) {
				ret = cfg_error(file, names[i], "not in the file, and in use (%s): "
						"--replace cannot remove it", why);
				break;
			}
			nr = realloc(rm, (nrm + 1) * sizeof(*rm));
			if (!nr) {
				ret = fail("restore", -ENOMEM);
				break;
			}
			rm = nr;
			snprintf(rm[nrm].name, sizeof(rm[nrm].name), "%s", names[i]);
			snprintf(rm[nrm].bdf, sizeof(rm[nrm].bdf), "%s", bdf);
			nrm++;
		}
		hugedma_names_free(bdfs, na);
	}
	hugedma_names_free(names, nb);
	if (ret) {
		free(rm);
		return 1;
	}
	*out = rm;
	*nout = nrm;
	return 0;
}

/*
 * Check the plan against the machine: buffers that exist must match (or be
 * disabled, so they can be changed), devices must exist, and the pool must
 * hold the pages of every buffer this run would enable.
 */
static int plan_check(const char *file, struct rbuf *rb, int n, const struct removal *rm,
		      int nrm)
{
	char path[PATH_MAX];
	int *nodes = NULL, maxnode = 0, ret = 0;
	uint64_t *need;		/* [size][maxnode + 2]: per node, then "any" */
	uint64_t *credit;	/* the same shape: pages the removals free */
	bool *counted;		/* the buffers whose pages are in need[] */
	size_t nn;

	if (get_nodes(&nodes, &nn, &maxnode))
		return 1;
	need = calloc(2 * (maxnode + 2), sizeof(*need));
	credit = calloc(2 * (maxnode + 2), sizeof(*credit));
	counted = calloc(n ? n : 1, sizeof(*counted));
	if (!need || !credit || !counted) {
		free(need);
		free(credit);
		free(counted);
		free(nodes);
		return fail("restore", -ENOMEM);
	}
	for (int i = 0; i < nrm; i++) {
		struct hugedma_buffer_desc b;
		int s, at;

		if (rm[i].bdf[0] || hugedma_buffer_describe(rm[i].name, &b) || !b.published)
			continue;
		s = b.page_size == SZ_1G ? 0 : 1;
		at = b.pages_node >= 0 && b.pages_node <= maxnode ? b.pages_node : maxnode + 1;
		credit[s * (maxnode + 2) + at] += b.nr_pages;
	}
	for (int i = 0; i < n && !ret; i++) {
		struct rbuf *r = &rb[i];
		struct hugedma_buffer_desc b;
		int s = r->page_bytes == SZ_1G ? 0 : 1;

		if (!have_page_size(page_sizes[s])) {
			ret = cfg_error(file, r->name, "this kernel has no %s pages",
					s ? "2 MB" : "1 GB");
			break;
		}
		if (!hugedma_buffer_describe(r->name, &b)) {
			if (!b.configfs) {
				ret = cfg_error(file, r->name, "an imported buffer has this name");
				break;
			}
			if (b.enabled && (b.size != r->size_bytes || b.page_size != r->page_bytes ||
					  b.numa_node != r->numa_node ||
					  (buffer_contiguous(&b) == 1) != r->contiguous) && r->enable) {
				ret = cfg_error(file, r->name,
						"exists, enabled, with another size, page size, node or contiguous; disable it first");
				break;
			}
			if (b.enabled || !r->enable)
				goto devices;
		} else if (!r->enable) {
			goto devices;
		}
		need[s * (maxnode + 2) + (r->numa_node < 0 ? maxnode + 1 : r->numa_node)] +=
			r->size_bytes / r->page_bytes;
		counted[i] = true;
devices:
		for (int k = 0; k < r->natt; k++) {
			snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", r->att[k].bdf);
			if (access(path, F_OK)) {
				ret = cfg_error(file, r->name, "attachment %s: no such PCI device",
						r->att[k].bdf);
				break;
			}
		}
	}
	for (unsigned int s = 0; s < 2 && !ret; s++)
		if (have_page_size(page_sizes[s]))
			ret = pool_check(file, rb, n, counted, s, need + s * (maxnode + 2),
					 credit + s * (maxnode + 2), nodes, nn, maxnode);
	free(counted);
	free(credit);
	free(need);
	free(nodes);
	return ret;
}

/* ------------------------------------------------------------ restore: the change */

/* A disabled buffer that exists: set what differs, then enable it if asked. */
static int restore_settings(struct journal *j, const struct rbuf *r, bool *changed)
{
	static const char *const attrs[] = { "page_size", "size", "numa_node", "contiguous" };
	const char *want[] = { r->page_size, r->size, r->node, r->contiguous ? "1" : "0" };
	char val[64];
	int ret;

	for (int i = 0; i < 4; i++) {
		ret = hugedma_config_read(r->name, NULL, attrs[i], val, sizeof(val));
		if (ret)
			return lib_fail(ret);
		if (!strcmp(val, want[i]))
			continue;
		/* size 0 (unset) cannot be written back: leave it */
		if (!j->dry_run) {
			ret = do_write(j, r->name, NULL, attrs[i], want[i],
				       strcmp(attrs[i], "size") || strcmp(val, "0") ? val : NULL);
			if (ret)
				return ret;
		}
		journal_action(j, "set", r->name, NULL, attrs[i]);
		*changed = true;
	}
	if (r->enable) {
		if (!j->dry_run) {
			ret = do_write(j, r->name, NULL, "enable", "1", "0");
			if (ret)
				return ret;
		}
		journal_action(j, "enable", r->name, NULL, NULL);
		*changed = true;
	}
	return 0;
}

/* Make one buffer as configured; journal everything for the rollback. */
static int restore_one(struct journal *j, const struct rbuf *r)
{
	struct hugedma_buffer_desc b;
	int ret;

	if (hugedma_buffer_describe(r->name, &b)) {
		struct bufspec s = { r->name, r->size, r->page_size, r->node, r->enable,
				     r->contiguous };

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
		bool changed = false;

		/* enabled but saved disabled: attachments first (below), then this */
		if (!b.enabled) {
			ret = restore_settings(j, r, &changed);
			if (ret)
				return ret;
		}
		if (!changed && !(b.enabled && !r->enable))
			journal_action(j, "unchanged", r->name, NULL, NULL);
	}
	for (int k = 0; k < r->natt; k++) {
		const struct ratt *a = &r->att[k];

		if (j->dry_run) {
			if (!cfg_exists(r->name, a->bdf))
				journal_action(j, "attach", r->name, a->bdf, NULL);
			continue;
		}
		ret = attach_one(j, r->name, a->bdf, a->direction, a->enable);
		if (ret)
			return ret;
	}
	if (!hugedma_buffer_describe(r->name, &b) && b.enabled && !r->enable) {
		if (!j->dry_run) {
			ret = do_write(j, r->name, NULL, "enable", "0", "1");
			if (ret)
				return ret;
		}
		journal_action(j, "disable", r->name, NULL, NULL);
	}
	return 0;
}

int cmd_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "replace", no_argument, NULL, 'r' },
		{ 0 }
	};
	struct removal *rm = NULL;
	int nrm = 0;
	bool replace = false;
	struct json_object *undone;
	char root[PATH_MAX];
	struct journal j;
	bool dry_run = false;
	const char *file;
	struct rbuf *rb;
	int c, n, ret = 0, bad = 0;

	while ((c = getopt_long(argc, argv, "nr", opts, NULL)) != -1) {
		if (c == 'n')
			dry_run = true;
		else if (c == 'r')
			replace = true;
		else
			return usage("bad option");
	}
	if (optind != argc - 1)
		return usage("restore: give one FILE");
	file = argv[optind];
	if ((!dry_run && need_root()) || take_lock(!dry_run))
		return 1;
	if (load_config(file, &rb, &n))
		return 1;
	hugedma_config_path(root, sizeof(root), NULL, NULL, NULL);
	if (access(root, F_OK)) {
		free_config(rb, n);
		return fail(root, -ENOENT);
	}
	if ((replace && plan_removals(file, rb, n, &rm, &nrm)) ||
	    plan_check(file, rb, n, rm, nrm)) {
		free(rm);
		free_config(rb, n);
		return 1;
	}
	journal_init(&j);
	j.dry_run = dry_run;
	err_code = 0;
	/* removals first: their pages may be what the file's buffers need */
	for (int i = 0; i < nrm && !ret; i++) {
		const char *bdf = rm[i].bdf[0] ? rm[i].bdf : NULL;

		if (dry_run)
			journal_action(&j, bdf ? "detach" : "destroy", rm[i].name, bdf, NULL);
		else
			ret = bdf ? remove_attachment(&j, rm[i].name, bdf) :
			      remove_buffer(&j, rm[i].name);
	}
	free(rm);
	for (int i = 0; i < n && !ret; i++)
		ret = restore_one(&j, &rb[i]);
	undone = json_object_new_array();
	if (ret) {
		fail(err_path, ret);
		if (json_object_array_length(j.actions)) {
			fprintf(stderr, "%s: restore failed after:\n", prog);
			fflush(stdout);
			print_actions(stderr, j.actions, "  ");
		}
		bad = journal_rollback(&j, undone);
		fprintf(stderr, "%s: rolled back %zu step(s)%s\n", prog,
			json_object_array_length(undone), bad ? ", some failed" : "");
	}
	if (json_out)
		print_result(j.dry_run, j.actions, undone, err_path, ret);
	else if (!ret)
		print_actions(stdout, j.actions, j.dry_run ? "would " : "");
	json_object_put(undone);
	free_config(rb, n);
	journal_free(&j);
	return ret ? 1 : 0;
}
