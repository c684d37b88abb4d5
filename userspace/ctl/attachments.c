// SPDX-License-Identifier: GPL-2.0
/*
 * hugedmactl: the attachment commands: attach and detach a device.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <string.h>

#include "ctl.h"

/* mkdir (if absent), direction (if given and different), enable (if asked). */
int attach_one(struct journal *j, const char *name, const char *bdf, const char *dir,
	       bool enable)
{
	char path[PATH_MAX], val[32];
	int ret;

	if (!cfg_exists(name, bdf)) {
		if (!cfg_exists(name, NULL)) {
			hugedma_config_path(path, sizeof(path), name, NULL, NULL);
			return step_fail(path, -ENOENT);
		}
		ret = do_mkdir(j, name, bdf);
		if (ret)
			return ret;
		journal_action(j, "attach", name, bdf, NULL);
	}
	if (dir) {
		ret = hugedma_config_read(name, bdf, "direction", val, sizeof(val));
		if (ret)
			return lib_fail(ret);
		if (strcmp(val, dir)) {
			ret = do_write(j, name, bdf, "direction", dir, val);
			if (ret)
				return ret;
			journal_action(j, "direction", name, bdf, dir);
		}
	}
	if (enable) {
		ret = hugedma_config_read(name, bdf, "enable", val, sizeof(val));
		if (ret)
			return lib_fail(ret);
		if (strcmp(val, "1")) {
			ret = do_write(j, name, bdf, "enable", "1", "0");
			if (ret)
				return ret;
			journal_action(j, "map", name, bdf, NULL);
		}
	}
	return 0;
}

int cmd_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "direction", required_argument, NULL, 'd' },
		{ 0 }
	};
	const char *dir = NULL;
	struct journal j;
	int c;

	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		if (c != 'd')
			return usage("bad option");
		dir = optarg;
	}
	if (optind != argc - 2 || !name_ok(argv[optind]) || !name_ok(argv[optind + 1]))
		return usage("attach: give NAME and BDF");
	if (need_root() || take_lock(true))
		return 1;
	journal_init(&j);
	return finish_change(&j, attach_one(&j, argv[optind], argv[optind + 1], dir, true),
			     "attach");
}

int cmd_detach(int argc, char **argv)
{
	char path[PATH_MAX], val[16];
	struct journal j;
	int ret;

	ret = one_name(argc, argv, "detach", 2);
	if (!ret && !name_ok(argv[2]))
		ret = usage("bad device name '%s'", argv[2]);
	if (!ret && (need_root() || take_lock(true)))
		ret = 1;
	if (ret)
		return ret;
	journal_init(&j);
	ret = hugedma_config_read(argv[1], argv[2], "enable", val, sizeof(val));
	if (ret == -ENOENT) {
		hugedma_config_path(path, sizeof(path), argv[1], argv[2], NULL);
		ret = step_fail(path, ret);
	} else if (ret) {
		ret = lib_fail(ret);
	}
	if (!ret && !strcmp(val, "1")) {
		ret = do_write(&j, argv[1], argv[2], "enable", "0", "1");
		if (!ret)
			journal_action(&j, "unmap", argv[1], argv[2], NULL);
	}
	if (!ret) {
		ret = hugedma_detach(argv[1], argv[2]);
		if (ret)
			lib_fail(ret);
		else
			journal_action(&j, "detach", argv[1], argv[2], NULL);
	}
	return finish_change(&j, ret, "detach");
}
