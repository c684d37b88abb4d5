// SPDX-License-Identifier: GPL-2.0
/*
 * hugedmactl cdi: a Container Device Interface spec of the enabled buffers,
 * which podman, containerd, CRI-O and Docker read from /etc/cdi and
 * /var/run/cdi: `--device hugedma.io/buffer=NAME` gives a container that
 * buffer's node.
 *
 * One device per enabled buffer (its /dev/hugedma/NAME, and the variable
 * HUGEDMA_BUFFER_<NAME>=NAME naming it) and one, "control", for imports.  No
 * device numbers: the runtime reads them from the node when it applies the
 * spec, so a module reload does not make the spec stale.  Each device sets a
 * variable of its own because CDI applies the devices' edits one after the
 * other and a variable set twice keeps the last value only: a container given
 * two buffers sees both.
 *
 * The file is replaced atomically (a temporary file in the same directory,
 * fsync, rename, fsync of the directory), so a runtime reading the directory
 * sees the old spec or the new one, never part of one; runs serialise on
 * /run/hugedma/cdi.lock, so that the last to write is the last to have looked.
 * The udev rule runs this whenever a buffer's node appears or goes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"

#define CDI_DIR "/var/run/cdi"
#define CDI_DEFAULT CDI_DIR "/hugedma.json"
#define CDI_LOCK "/run/hugedma/cdi.lock"

static bool cdi_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*
 * CDI's device-name rule (ValidateDeviceName of its library): letters,
 * digits, '_', '-', '.' and ':', starting and ending with a letter or digit.
 * hugedma's own rule lets a name end with '_' or '-'.
 */
static const char *cdi_name_problem(const char *name)
{
	size_t n = strlen(name);

	if (!n || !cdi_alnum(name[0]))
		return "CDI device names start with a letter or digit";
	for (size_t i = 1; i + 1 < n; i++)
		if (!cdi_alnum(name[i]) && !strchr("_-.:", name[i]))
			return "CDI device names hold only letters, digits, '_', '-', '.' and ':'";
	if (!cdi_alnum(name[n - 1]))
		return "CDI device names end with a letter or digit";
	return NULL;
}

/* HUGEDMA_BUFFER_<NAME>: upper case, '-' as '_' (a shell can read it) */
static void env_name(char *out, size_t len, const char *name)
{
	size_t k = snprintf(out, len, "HUGEDMA_BUFFER_");

	for (const char *p = name; *p && k + 1 < len; p++)
		out[k++] = *p == '-' ? '_' : (*p >= 'a' && *p <= 'z') ? *p - 'a' + 'A' : *p;
	out[k] = '\0';
}

static int cdi_lock(void)
{
	int fd;

	mkdir("/run/hugedma", 0755);
	fd = open(CDI_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;	/* a user without /run: nothing to serialise with */
	while (flock(fd, LOCK_EX))
		if (errno != EINTR)
			break;
	return fd;
}

/*
 * Replace @path with @text: a temporary file beside it, never left behind.
 * Returns 0, or 1 after a message naming @path.
 */
static int write_atomic(const char *path, const char *text)
{
	char dirbuf[PATH_MAX], basebuf[PATH_MAX], tmp[PATH_MAX];
	size_t len = strlen(text), done = 0;
	const char *dir, *base;
	int fd, dfd, err = 0;

	if (strlen(path) >= sizeof(dirbuf))
		return fail(path, -ENAMETOOLONG);
	strcpy(dirbuf, path);
	strcpy(basebuf, path);
	dir = dirname(dirbuf);
	base = basename(basebuf);
	/* not *.json: a runtime that reads the directory meanwhile passes it by */
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, base) >= (int)sizeof(tmp))
		return fail(path, -ENAMETOOLONG);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return failf("cdi: cannot write %s: %s", path, strerror(errno));
	while (done < len) {
		ssize_t w = write(fd, text + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = w < 0 ? errno : EIO;
			break;
		}
		done += w;
	}
	if (!err && fchmod(fd, 0644))
		err = errno;
	if (!err && fsync(fd))
		err = errno;
	if (close(fd) && !err)
		err = errno;
	if (!err && rename(tmp, path))
		err = errno;
	if (err) {
		unlink(tmp);
		return failf("cdi: cannot write %s: %s", path, strerror(err));
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int cmd_cdi(int argc, char **argv)
{
	const char *out = CDI_DEFAULT;
	struct json_object *spec, *left_out;
	struct cdi_device *devs = NULL;
	size_t n = 0, nd = 0;
	char **names = NULL;
	char ctl_path[sizeof(devs->path)];
	bool dflt = true;
	int ret, lock = -1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--output") || !strcmp(argv[i], "-o")) {
			if (++i == argc || !argv[i][0])
				return usage("cdi: --output needs a FILE (- for standard output)");
			out = argv[i];
			dflt = false;
		} else if (!strncmp(argv[i], "--output=", 9) && argv[i][9]) {
			out = argv[i] + 9;
			dflt = false;
		} else {
			return usage("cdi: unknown argument '%s'", argv[i]);
		}
	}
	if (hugedma_device_path(ctl_path, sizeof(ctl_path), NULL))
		return fail("cdi", -EINVAL);
	if (access(ctl_path, F_OK))
		return failf("cdi: %s: %s: is the hugedma module loaded? (no spec written)",
			     ctl_path, strerror(errno));
	if (strcmp(out, "-"))
		lock = cdi_lock();
	ret = hugedma_list_buffers(&names, &n);
	if (ret) {
		ret = fail(hugedma_error_path()[0] ? hugedma_error_path() : "cdi", ret);
		goto out;
	}
	devs = calloc(n + 1, sizeof(*devs));
	left_out = json_object_new_array();
	if (!devs) {
		ret = fail("cdi", -ENOMEM);
		goto out_json;
	}
	for (size_t i = 0; i < n; i++) {
		struct hugedma_buffer_desc b;
		struct cdi_device *d = &devs[nd];
		const char *why;

		if (hugedma_buffer_describe(names[i], &b) || !b.published)
			continue;	/* no node: nothing to hand over */
		why = cdi_name_problem(names[i]);
		if (!why && hugedma_device_path(d->path, sizeof(d->path), names[i]))
			why = "not a name libhugedma opens";
		if (why) {
			fprintf(stderr, "%s: cdi: buffer '%s' left out of the spec: %s\n", prog,
				names[i], why);
			json_object_array_add(left_out, cdi_left_out_json(names[i], why));
			continue;
		}
		snprintf(d->name, sizeof(d->name), "%s", names[i]);
		env_name(d->env, sizeof(d->env), names[i]);
		for (size_t k = 0; k < nd; k++) {
			if (strcmp(devs[k].env, d->env))
				continue;
			fprintf(stderr, "%s: cdi: buffer '%s' has no %s: it is buffer '%s''s\n",
				prog, d->name, d->env, devs[k].name);
			d->env[0] = '\0';
			break;
		}
		nd++;
	}
	/* the control node, for imports (root only, as on the host) */
	snprintf(devs[nd].name, sizeof(devs[nd].name), "control");
	snprintf(devs[nd].path, sizeof(devs[nd].path), "%s", ctl_path);
	snprintf(devs[nd].env, sizeof(devs[nd].env), "HUGEDMA_CONTROL");
	nd++;
	spec = cdi_spec_json(devs, nd);
	if (!strcmp(out, "-")) {
		print_json(spec);
	} else {
		const int fmt = JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
				JSON_C_TO_STRING_NOSLASHESCAPE;

		if (dflt)
			mkdir(CDI_DIR, 0755);
		ret = write_atomic(out, json_object_to_json_string_ext(spec, fmt));
		if (!ret && json_out) {
			struct json_object *r = cdi_result_json(out, devs, nd, left_out);

			print_json(r);
			json_object_put(r);
		} else if (!ret) {
			for (size_t k = 0; k < nd; k++)
				printf("%s=%s %s\n", CDI_KIND, devs[k].name, devs[k].path);
		}
	}
	json_object_put(spec);
out_json:
	json_object_put(left_out);
out:
	free(devs);
	hugedma_names_free(names, n);
	if (lock >= 0)
		close(lock);
	return ret;
}
