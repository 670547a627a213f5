/*
 * cmd.h - the subcommands of the xapistat program.
 *
 * Each subcommand is one file cmd_<name>.c exporting one const struct xs_cmd;
 * main.c lists them. run() gets argv with argv[0] = the subcommand's name and
 * returns the process exit status (0 ok, 1 failure, 2 usage error).
 */
#ifndef XS_CMD_H
#define XS_CMD_H

struct xs_cmd {
	const char *name;
	const char *summary; /* one line for `xapistat --help` */
	int (*run)(int argc, char **argv);
};

extern const struct xs_cmd xs_cmd_rrd2csv;
extern const struct xs_cmd xs_cmd_inventory;
extern const struct xs_cmd xs_cmd_serve;

#endif
