/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hugedmactl: what the command files share.  The commands are thin: every
 * read and change of the configuration goes through libhugedma (hugedma.h);
 * what is here is the tool's own: messages, the run lock, the journal that
 * undoes a failed change, and JSON (json.c, the one place it is built).
 */
#ifndef HUGEDMACTL_H
#define HUGEDMACTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include <hugedma.h>

#define CONFIG_FORMAT "hugedma-config/1"

#define SZ_2M (2ULL << 20)
#define SZ_1G (1ULL << 30)

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

extern const char *prog;
extern bool json_out;

/* a command: argv[0] is its name; returns the exit status */
struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;	/* its synopsis after the name */
	const char *summary;	/* what help COMMAND says of it */
};

int cmd_help(int argc, char **argv);

/* util.c: messages (exit status 2 for usage, 1 for errors), lock, files */
int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fail(const char *what, int err);
int failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int take_lock(bool exclusive);
int need_root(void);
bool name_ok(const char *s);
bool cfg_exists(const char *name, const char *bdf);
int buffer_contiguous(const struct hugedma_buffer_desc *b);
int one_name(int argc, char **argv, const char *cmd, int nargs);
int read_text(const char *path, char **text);
int get_nodes(int **nodes, size_t *nn, int *maxnode);
void human_size(char *out, size_t len, uint64_t bytes);

/* json.c */
void print_json(struct json_object *o);
struct json_object *json_error(const char *path, int ret);
struct json_object *buffer_json(const struct hugedma_buffer_desc *b);
struct json_object *attachment_json(const struct hugedma_attachment_desc *a,
				    const struct hugedma_segment *segs, size_t nseg, bool have_segs);
struct json_object *saved_buffer_json(const struct hugedma_buffer_desc *b);
struct json_object *saved_attachment_json(const struct hugedma_attachment_desc *a);
void print_actions(FILE *f, struct json_object *actions, const char *prefix);
struct json_object *action_json(const char *action, const char *buffer, const char *bdf,
				const char *detail);
struct json_object *undone_json(const char *action, const char *path, const char *value, bool ok);
void print_result(int dry_run, struct json_object *actions, struct json_object *undone,
		  const char *path, int ret);
char *hex(char *buf, size_t len, uint64_t v);

/* cdi.c and json.c: one device of the CDI spec */
#define CDI_KIND "hugedma.io/buffer"
struct cdi_device {
	char name[256];
	char path[300];
	char env[300];		/* the variable's name; "" for none */
};

struct json_object *cdi_spec_json(const struct cdi_device *devs, size_t n);
struct json_object *cdi_left_out_json(const char *name, const char *why);
struct json_object *cdi_result_json(const char *path, const struct cdi_device *devs, size_t n,
				    struct json_object *left_out);

/* journal.c: a log of what a run did, and how to undo it */
enum undo_kind { UNDO_RMDIR, UNDO_WRITE, UNDO_MKDIR };
struct undo;
struct journal {
	struct undo *u;
	int n;
	struct json_object *actions;	/* what was done, in order */
	bool dry_run;
};

extern char err_path[];
extern int err_code;

void journal_init(struct journal *j);
void journal_action(struct journal *j, const char *action, const char *buffer,
		    const char *bdf, const char *detail);
void journal_undo(struct journal *j, enum undo_kind kind, const char *name,
		  const char *bdf, const char *attr, const char *value);
int journal_rollback(struct journal *j, struct json_object *undone);
void journal_free(struct journal *j);
int step_fail(const char *path, int err);
int lib_fail(int err);
int do_mkdir(struct journal *j, const char *name, const char *bdf);
int do_write(struct journal *j, const char *name, const char *bdf, const char *attr,
	     const char *value, const char *old);
int finish_change(struct journal *j, int ret, const char *verb);

/* buffers.c */
struct bufspec {
	const char *name;
	const char *size;
	const char *page_size;
	const char *node;
	bool enable;
	bool contiguous;
};

int make_buffer(struct journal *j, const struct bufspec *s);
int cmd_list(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_destroy(int argc, char **argv);
int cmd_enable(int argc, char **argv);
int cmd_disable(int argc, char **argv);
int cmd_clear(int argc, char **argv);
int buffer_in_use(const char *name, char *why, size_t len);
int remove_buffer(struct journal *j, const char *name);
int remove_attachment(struct journal *j, const char *name, const char *bdf);

/* attachments.c */
int attach_one(struct journal *j, const char *name, const char *bdf, const char *dir,
	       bool enable);
int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);

/* pool.c */
extern const uint64_t page_sizes[2];
int cmd_pool(int argc, char **argv);

/* cdi.c */
int cmd_cdi(int argc, char **argv);

/* check.c */
int cmd_check(int argc, char **argv);

/* slurm.c: gres.conf lines */
int cmd_slurm(int argc, char **argv);

/* config.c: save and restore */
int cmd_save(int argc, char **argv);
int cmd_restore(int argc, char **argv);

#endif /* HUGEDMACTL_H */
