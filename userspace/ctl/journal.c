// SPDX-License-Identifier: GPL-2.0
/*
 * hugedmactl: changes with undo.  Each step goes through libhugedma; the
 * journal keeps what was done (for the report) and how to undo it, so that a
 * change that fails half-way is rolled back, newest step first.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

struct undo {
	enum undo_kind kind;
	char name[256], bdf[256], attr[32];	/* bdf, attr: "" for none */
	char value[64];				/* UNDO_WRITE: the value to write back */
};

/* The failing step of a run: path and errno, for the report. */
char err_path[PATH_MAX];
int err_code;

int step_fail(const char *path, int err)
{
	snprintf(err_path, sizeof(err_path), "%s", path);
	err_code = err;
	return err;
}

/* a library call's failure, with the file it names */
int lib_fail(int err)
{
	return step_fail(hugedma_error_path(), err);
}

void journal_init(struct journal *j)
{
	memset(j, 0, sizeof(*j));
	j->actions = json_object_new_array();
}

void journal_action(struct journal *j, const char *action, const char *buffer,
		    const char *bdf, const char *detail)
{
	json_object_array_add(j->actions, action_json(action, buffer, bdf, detail));
}

/*
 * How to undo a step: rmdir what it made, write back a value, or mkdir what it
 * removed (a removal journals the writes that configure it again first, so
 * that newest-first they follow the mkdir).
 */
void journal_undo(struct journal *j, enum undo_kind kind, const char *name,
		  const char *bdf, const char *attr, const char *value)
{
	struct undo *nu = realloc(j->u, (j->n + 1) * sizeof(*nu)), *u;

	if (!nu)
		return;	/* cannot happen in practice; the undo is then best effort */
	j->u = nu;
	u = &nu[j->n++];
	u->kind = kind;
	snprintf(u->name, sizeof(u->name), "%s", name);
	snprintf(u->bdf, sizeof(u->bdf), "%s", bdf ? bdf : "");
	snprintf(u->attr, sizeof(u->attr), "%s", attr ? attr : "");
	snprintf(u->value, sizeof(u->value), "%s", value ? value : "");
}

/* Undo everything, newest first. Returns the number of steps that failed. */
int journal_rollback(struct journal *j, struct json_object *undone)
{
	int failed = 0;

	while (j->n > 0) {
		struct undo *u = &j->u[--j->n];
		const char *bdf = u->bdf[0] ? u->bdf : NULL;
		const char *attr = u->attr[0] ? u->attr : NULL;
		char path[PATH_MAX] = "";
		int ret;

		hugedma_config_path(path, sizeof(path), u->name, bdf, attr);
		switch (u->kind) {
		case UNDO_RMDIR:
			ret = bdf ? hugedma_detach(u->name, bdf) : hugedma_buffer_destroy(u->name);
			break;
		case UNDO_MKDIR:
			ret = bdf ? hugedma_attach(u->name, bdf) : hugedma_buffer_create(u->name);
			break;
		default:
			ret = hugedma_config_write(u->name, bdf, attr, u->value);
			break;
		}
		json_object_array_add(undone, undone_json(u->kind == UNDO_RMDIR ? "rmdir" :
							  u->kind == UNDO_MKDIR ? "mkdir" : "write",
							  path, u->value, !ret));
		if (ret) {
			failed++;
			fail(path, ret);
		}
	}
	return failed;
}

void journal_free(struct journal *j)
{
	free(j->u);
	json_object_put(j->actions);
}

/* mkdir the buffer (@bdf NULL) or its attachment; journal the rmdir. */
int do_mkdir(struct journal *j, const char *name, const char *bdf)
{
	int ret = bdf ? hugedma_attach(name, bdf) : hugedma_buffer_create(name);

	if (ret)
		return lib_fail(ret);
	journal_undo(j, UNDO_RMDIR, name, bdf, NULL, NULL);
	return 0;
}

/* Write an attribute and journal how to put back the value it had (@old). */
int do_write(struct journal *j, const char *name, const char *bdf, const char *attr,
	     const char *value, const char *old)
{
	int ret = hugedma_config_write(name, bdf, attr, value);

	if (ret)
		return lib_fail(ret);
	if (old)
		journal_undo(j, UNDO_WRITE, name, bdf, attr, old);
	return 0;
}

/* Report a change (rolled back on failure); returns the exit status. */
int finish_change(struct journal *j, int ret, const char *verb)
{
	struct json_object *undone = json_object_new_array();

	if (ret) {
		int bad = journal_rollback(j, undone);

		fail(err_path, ret);
		if (bad)
			failf("%s: %d undo step(s) failed; check with '%s list'", verb, bad, prog);
	}
	if (json_out)
		print_result(-1, j->actions, undone, err_path, ret);
	json_object_put(undone);
	journal_free(j);
	return ret ? 1 : 0;
}
