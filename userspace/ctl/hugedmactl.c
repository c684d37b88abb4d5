// SPDX-License-Identifier: GPL-2.0
/*
 * hugedmactl: administer hugedma buffers.
 *
 * A thin layer over libhugedma, which drives only the documented ABI
 * (configfs-schema/): the configfs tree under /sys/kernel/config/hugedma, the
 * class devices under /sys/class/hugedma, and the kernel's hugetlb pool
 * counters.  Values the user gives (sizes, nodes, page sizes, directions,
 * names) are passed to the kernel as they are, so that a bad value is refused
 * by the kernel and reported with the attribute that refused it.
 *
 *   hugedmactl [--json] COMMAND ...      see usage() and hugedmactl(8)
 *
 * One file per command group: buffers.c (list, show, create, destroy, enable,
 * disable), attachments.c (attach, detach), pool.c, config.c (save, restore);
 * json.c builds all the JSON, journal.c undoes failed changes, util.c has the
 * messages and the run lock.
 *
 * Exit status: 0 success, 1 error (with the errno in words), 2 usage.
 */
#include <getopt.h>
#include <stdarg.h>
#include <string.h>

#include "ctl.h"

const char *prog = "hugedmactl";
bool json_out;

static const struct command commands[] = {
	{ "create", cmd_create },
	{ "destroy", cmd_destroy },
	{ "enable", cmd_enable },
	{ "disable", cmd_disable },
	{ "list", cmd_list },
	{ "show", cmd_show },
	{ "attach", cmd_attach },
	{ "detach", cmd_detach },
	{ "pool", cmd_pool },
	{ "save", cmd_save },
	{ "restore", cmd_restore },
};

int usage(const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fprintf(stderr, "%s: ", prog);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(fmt ? stderr : stdout,
		"usage: %s [--json] COMMAND [ARGS]\n"
		"  create NAME --size SIZE [--node N] [--page-size 1G|2M]\n"
		"  destroy NAME\n"
		"  enable NAME | disable NAME\n"
		"  list\n"
		"  show NAME\n"
		"  attach NAME BDF [--direction bidirectional|to_device|from_device]\n"
		"  detach NAME BDF\n"
		"  pool\n"
		"  save [FILE]\n"
		"  restore [--dry-run] FILE\n",
		prog);
	return fmt ? 2 : 0;
}

int main(int argc, char **argv)
{
	const char *cmd;
	int i, k;

	/* --json may come anywhere */
	for (i = 1, k = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json_out = true;
		else
			argv[k++] = argv[i];
	}
	argc = k;
	argv[argc] = NULL;
	if (argc < 2)
		return usage("no command given");
	cmd = argv[1];
	argc--;
	argv++;
	opterr = 1;
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help"))
		return usage(NULL);
	for (size_t c = 0; c < ARRAY_LEN(commands); c++)
		if (!strcmp(cmd, commands[c].name))
			return commands[c].fn(argc, argv);
	return usage("unknown command '%s'", cmd);
}
