// SPDX-License-Identifier: GPL-2.0
/*
 * hugedmactl: the JSON it prints, built here and nowhere else.
 *
 * show --json prints buffer_json() with the buffer's addresses, attachments
 * and users; save prints saved_buffer_json().  restore takes either shape for
 * a buffer (config.c), so what hugedmactl lists, it can take back.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

void print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_SPACED |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* {"path", "errno", "message"} of a failure, for --json output */
struct json_object *json_error(const char *path, int ret)
{
	struct json_object *e = json_object_new_object();
	const char *name = strerrorname_np(-ret);

	json_object_object_add(e, "path", json_object_new_string(path));
	json_object_object_add(e, "errno", json_object_new_string(name ? name : "?"));
	json_object_object_add(e, "message", json_object_new_string(strerror(-ret)));
	return e;
}

char *hex(char *buf, size_t len, uint64_t v)
{
	snprintf(buf, len, "0x%016" PRIx64, v);
	return buf;
}

/* What list --json prints of a buffer, and what show --json starts from. */
struct json_object *buffer_json(const struct hugedma_buffer_desc *b)
{
	struct json_object *o = json_object_new_object();
	int contiguous;

	json_object_object_add(o, "name", json_object_new_string(b->name));
	json_object_object_add(o, "source", json_object_new_string(b->source));
	json_object_object_add(o, "configfs", json_object_new_boolean(b->configfs));
	json_object_object_add(o, "state", json_object_new_string(b->state));
	json_object_object_add(o, "enabled", json_object_new_boolean(b->enabled));
	json_object_object_add(o, "size", json_object_new_uint64(b->size));
	json_object_object_add(o, "page_size", json_object_new_uint64(b->page_size));
	json_object_object_add(o, "numa_node", json_object_new_int(b->numa_node));
	contiguous = buffer_contiguous(b);
	json_object_object_add(o, "contiguous", contiguous < 0 ? NULL :
			       json_object_new_boolean(contiguous));
	if (b->published) {
		json_object_object_add(o, "nr_pages", json_object_new_uint64(b->nr_pages));
		json_object_object_add(o, "pages_node", json_object_new_int(b->pages_node));
	} else {
		json_object_object_add(o, "nr_pages", NULL);
		json_object_object_add(o, "pages_node", NULL);
	}
	return o;
}

/* One attachment as show --json prints it; "segments" null unless @have_segs. */
struct json_object *attachment_json(const struct hugedma_attachment_desc *a,
				    const struct hugedma_segment *segs, size_t nseg, bool have_segs)
{
	struct json_object *ao = json_object_new_object(), *sa = NULL;
	char h[32];

	json_object_object_add(ao, "bdf", json_object_new_string(a->bdf));
	json_object_object_add(ao, "configfs", json_object_new_boolean(a->configfs));
	json_object_object_add(ao, "state", json_object_new_string(a->state));
	json_object_object_add(ao, "direction", json_object_new_string(a->direction));
	json_object_object_add(ao, "enable", a->enable < 0 ? NULL :
			       json_object_new_boolean(a->enable == 1));
	json_object_object_add(ao, "iommu", a->iommu[0] ? json_object_new_string(a->iommu) : NULL);
	json_object_object_add(ao, "nr_segments", a->nr_segments < 0 ? NULL :
			       json_object_new_int64(a->nr_segments));
	if (have_segs) {
		sa = json_object_new_array();
		for (size_t k = 0; k < nseg; k++) {
			struct json_object *s = json_object_new_object();

			json_object_object_add(s, "addr", json_object_new_string(
				hex(h, sizeof(h), segs[k].addr)));
			json_object_object_add(s, "length", json_object_new_uint64(segs[k].length));
			json_object_array_add(sa, s);
		}
	}
	json_object_object_add(ao, "segments", sa);
	return ao;
}

/* A buffer as save writes it (its "attachments" are the caller's to add). */
struct json_object *saved_buffer_json(const struct hugedma_buffer_desc *b)
{
	struct json_object *bo = json_object_new_object();

	json_object_object_add(bo, "name", json_object_new_string(b->name));
	json_object_object_add(bo, "size", json_object_new_uint64(b->size));
	json_object_object_add(bo, "page_size", json_object_new_uint64(b->page_size));
	json_object_object_add(bo, "numa_node", json_object_new_int(b->numa_node));
	/* only when set: files saved without it restore as they did */
	if (buffer_contiguous(b) == 1)
		json_object_object_add(bo, "contiguous", json_object_new_boolean(1));
	json_object_object_add(bo, "enable", json_object_new_boolean(b->enabled));
	return bo;
}

struct json_object *saved_attachment_json(const struct hugedma_attachment_desc *a)
{
	struct json_object *ao = json_object_new_object();

	json_object_object_add(ao, "bdf", json_object_new_string(a->bdf));
	json_object_object_add(ao, "direction", json_object_new_string(a->direction));
	json_object_object_add(ao, "enable", json_object_new_boolean(a->enable == 1));
	return ao;
}

/* "PREFIXaction buffer [bdf] [value]" per action, one a line */
void print_actions(FILE *f, struct json_object *actions, const char *prefix)
{
	for (size_t i = 0; i < json_object_array_length(actions); i++) {
		struct json_object *a = json_object_array_get_idx(actions, i), *v;

		fprintf(f, "%s%s %s", prefix,
			json_object_get_string(json_object_object_get(a, "action")),
			json_object_get_string(json_object_object_get(a, "buffer")));
		if ((v = json_object_object_get(a, "bdf")))
			fprintf(f, " %s", json_object_get_string(v));
		if ((v = json_object_object_get(a, "value")))
			fprintf(f, " %s", json_object_get_string(v));
		fputc('\n', f);
	}
}

/* One step a change made: {"action", "buffer"[, "bdf"][, "value"]} */
struct json_object *action_json(const char *action, const char *buffer, const char *bdf,
				const char *detail)
{
	struct json_object *a = json_object_new_object();

	json_object_object_add(a, "action", json_object_new_string(action));
	json_object_object_add(a, "buffer", json_object_new_string(buffer));
	if (bdf)
		json_object_object_add(a, "bdf", json_object_new_string(bdf));
	if (detail)
		json_object_object_add(a, "value", json_object_new_string(detail));
	return a;
}

/* One step of a rollback: {"action": "rmdir"|"mkdir"|"write", "path"[, "value"], "ok"} */
struct json_object *undone_json(const char *action, const char *path, const char *value, bool ok)
{
	struct json_object *a = json_object_new_object();

	json_object_object_add(a, "action", json_object_new_string(action));
	json_object_object_add(a, "path", json_object_new_string(path));
	if (!strcmp(action, "write"))
		json_object_object_add(a, "value", json_object_new_string(value));
	json_object_object_add(a, "ok", json_object_new_boolean(ok));
	return a;
}

/*
 * What a change prints with --json: {"ok", ["dry_run",] "actions",
 * "rolled_back"[, "error"]}; @dry_run < 0 leaves "dry_run" out.
 */
void print_result(int dry_run, struct json_object *actions, struct json_object *undone,
		  const char *path, int ret)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(!ret));
	if (dry_run >= 0)
		json_object_object_add(o, "dry_run", json_object_new_boolean(dry_run));
	json_object_object_add(o, "actions", json_object_get(actions));
	json_object_object_add(o, "rolled_back", json_object_get(undone));
	if (ret)
		json_object_object_add(o, "error", json_error(path, ret));
	print_json(o);
	json_object_put(o);
}

/*
 * The CDI spec of hugedmactl cdi: cdiVersion 0.5.0 (the newest that Debian
 * 12's CDI library 0.5.2 and podman 4.3 take), kind hugedma.io/buffer, one
 * device per entry, each with its node (no device numbers: the runtime reads
 * them from the node) and its variable, "NAME=value" with the device's name
 * as the value; the control device's variable holds its path.
 */
struct json_object *cdi_spec_json(const struct cdi_device *devs, size_t n)
{
	struct json_object *spec = json_object_new_object(), *da = json_object_new_array();

	json_object_object_add(spec, "cdiVersion", json_object_new_string("0.5.0"));
	json_object_object_add(spec, "kind", json_object_new_string(CDI_KIND));
	for (size_t i = 0; i < n; i++) {
		struct json_object *d = json_object_new_object(), *edits = json_object_new_object();
		struct json_object *nodes = json_object_new_array(), *node = json_object_new_object();
		bool control = !strcmp(devs[i].name, "control");

		json_object_object_add(node, "path", json_object_new_string(devs[i].path));
		json_object_object_add(node, "type", json_object_new_string("c"));
		json_object_object_add(node, "permissions", json_object_new_string("rw"));
		json_object_array_add(nodes, node);
		if (devs[i].env[0]) {
			struct json_object *env = json_object_new_array();
			char *kv;

			if (asprintf(&kv, "%s=%s", devs[i].env,
				     control ? devs[i].path : devs[i].name) >= 0) {
				json_object_array_add(env, json_object_new_string(kv));
				free(kv);
			}
			json_object_object_add(edits, "env", env);
		}
		json_object_object_add(edits, "deviceNodes", nodes);
		json_object_object_add(d, "name", json_object_new_string(devs[i].name));
		json_object_object_add(d, "containerEdits", edits);
		json_object_array_add(da, d);
	}
	json_object_object_add(spec, "devices", da);
	return spec;
}

/* {"name", "reason"}: a buffer the spec could not carry */
struct json_object *cdi_left_out_json(const char *name, const char *why)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "reason", json_object_new_string(why));
	return o;
}

/* What cdi --json prints: {"ok", "path", "kind", "devices": [...], "left_out": [...]} */
struct json_object *cdi_result_json(const char *path, const struct cdi_device *devs, size_t n,
				    struct json_object *left_out)
{
	struct json_object *o = json_object_new_object(), *da = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		struct json_object *d = json_object_new_object();

		json_object_object_add(d, "name", json_object_new_string(devs[i].name));
		json_object_object_add(d, "path", json_object_new_string(devs[i].path));
		json_object_object_add(d, "env", devs[i].env[0] ?
				       json_object_new_string(devs[i].env) : NULL);
		json_object_array_add(da, d);
	}
	json_object_object_add(o, "ok", json_object_new_boolean(true));
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "kind", json_object_new_string(CDI_KIND));
	json_object_object_add(o, "devices", da);
	json_object_object_add(o, "left_out", json_object_get(left_out));
	return o;
}
