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
 * disable, clear), attachments.c (attach, detach), pool.c (pool, pool set),
 * config.c (save, restore), check.c (check), cdi.c (cdi), slurm.c (slurm gres);
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

#ifndef HUGEDMA_VERSION
#define HUGEDMA_VERSION "unknown"
#endif

static const struct command commands[] = {
	{ "create", cmd_create,
	  "NAME --size SIZE [--node N] [--near BDF] [--page-size 1G|2M] [--contiguous]",
	  "Make a buffer in configfs and enable it (pages taken and zeroed); --near takes\n"
	  "  the node from the PCI device's numa_node." },
	{ "destroy", cmd_destroy, "NAME",
	  "Detach, disable and remove a configfs buffer." },
	{ "enable", cmd_enable, "NAME", "Take the buffer's pages from the pool." },
	{ "disable", cmd_disable, "NAME", "Give the buffer's pages back to the pool." },
	{ "clear", cmd_clear, "[--dry-run]",
	  "Remove every configfs buffer with its attachments; refuses, naming them, when\n"
	  "  any buffer is in use, and then changes nothing." },
	{ "list", cmd_list, "", "One line per buffer." },
	{ "show", cmd_show, "NAME", "A buffer: its pages, attachments and users." },
	{ "attach", cmd_attach, "NAME BDF [--direction bidirectional|to_device|from_device]",
	  "Map the buffer for a PCI device." },
	{ "detach", cmd_detach, "NAME BDF", "Unmap the buffer from a PCI device." },
	{ "pool", cmd_pool, "[set 1G|2M COUNT|NODE:COUNT ...]",
	  "The hugetlb pools per node: total, free, held by hugedma, reserved, surplus;\n"
	  "  with set, grow or shrink a pool (never below what buffers hold)." },
	{ "save", cmd_save, "[--backups N] [FILE]",
	  "Write the configuration (to standard output without FILE); the file it\n"
	  "  replaces is kept as FILE.1 (FILE.2, ... up to N, default 3)." },
	{ "restore", cmd_restore, "[--dry-run] [--replace] FILE",
	  "Make the configuration in FILE (- for standard input); with --replace,\n"
	  "  also remove the buffers and attachments FILE does not have." },
	{ "cdi", cmd_cdi, "[--output FILE|-]",
	  "Write the Container Device Interface spec of the enabled buffers (default\n"
	  "  /var/run/cdi/hugedma.json, replaced atomically): podman --device\n"
	  "  hugedma.io/buffer=NAME then gives a container /dev/hugedma/NAME." },
	{ "check", cmd_check, "",
	  "What stands between this machine and a working buffer; exit status 0 only\n"
	  "  when nothing does." },
	{ "slurm", cmd_slurm, "gres [--node-name NAME]",
	  "This node's gres.conf lines: per-job buffers (the free pool by page size)\n"
	  "  and the statically provisioned buffers, with what slurm.conf needs." },
	{ "help", cmd_help, "[COMMAND]", "This list, or one command's." },
};

static void print_usage(FILE *f)
{
	fprintf(f, "usage: %s [--json] COMMAND [ARGS]\n", prog);
	for (size_t c = 0; c < ARRAY_LEN(commands); c++)
		fprintf(f, "  %s%s%s\n", commands[c].name, commands[c].args[0] ? " " : "",
			commands[c].args);
	fprintf(f, "  --version\n");
	fprintf(f, "'%s help COMMAND' tells more; see hugedmactl(8)\n", prog);
}

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
	print_usage(fmt ? stderr : stdout);
	return fmt ? 2 : 0;
}

static const struct command *find_command(const char *name)
{
	for (size_t c = 0; c < ARRAY_LEN(commands); c++)
		if (!strcmp(name, commands[c].name))
			return &commands[c];
	return NULL;
}

int cmd_help(int argc, char **argv)
{
	const struct command *c;

	if (argc == 1)
		return usage(NULL);
	if (argc > 2)
		return usage("help: at most one COMMAND");
	c = find_command(argv[1]);
	if (!c)
		return usage("help: unknown command '%s'", argv[1]);
	printf("usage: %s [--json] %s%s%s\n  %s\nSee hugedmactl(8).\n", prog, c->name,
	       c->args[0] ? " " : "", c->args, c->summary);
	return 0;
}

int main(int argc, char **argv)
{
	const struct command *c;
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
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help"))
		return usage(NULL);
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		if (argc != 1)
			return usage("--version takes no arguments");
		printf("%s %s\n", prog, HUGEDMA_VERSION);
		return 0;
	}
	c = find_command(cmd);
	if (!c)
		return usage("unknown command '%s'", cmd);
	/* COMMAND --help: that command's help, whatever else is given */
	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			char *hv[] = { "help", (char *)c->name, NULL };

			return cmd_help(2, hv);
		}
	return c->fn(argc, argv);
}
