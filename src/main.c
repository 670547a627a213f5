/*
 * main.c - the xapistat program: dispatches to a subcommand (cmd.h).
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

#define XS_VERSION "0.1.0"

static const struct xs_cmd *const main_cmds[] = {
	&xs_cmd_rrd2csv,
	&xs_cmd_inventory,
	&xs_cmd_serve,
};

static void main_usage(FILE *f)
{
	fprintf(f, "usage: xapistat COMMAND [ARGS]\n\n"
		   "xapistat " XS_VERSION " - statistics for XenServer / XCP-ng estates\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(main_cmds) / sizeof(main_cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", main_cmds[i]->name, main_cmds[i]->summary);
	fprintf(f, "\n`xapistat COMMAND --help` describes a command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		main_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		main_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("xapistat %s\n", XS_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(main_cmds) / sizeof(main_cmds[0]); i++)
		if (!strcmp(argv[1], main_cmds[i]->name))
			return main_cmds[i]->run(argc - 1, argv + 1);
	fprintf(stderr, "xapistat: unknown command '%s'\n\n", argv[1]);
	main_usage(stderr);
	return 2;
}
