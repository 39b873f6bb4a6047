/*
 * opt.h - command-line options declared once, as data.
 *
 * Each tool declares a table of struct maas_option; the same table drives
 * getopt_long parsing, the usage text (--help), and `--dump-options`, a
 * hidden option every tool has, which prints the table in a line format
 * that tools/gen-completions turns into the bash, zsh and fish completions
 * and that test/cli/options.bats compares with the man page.  So an option
 * cannot exist in one place and be missing from another.
 *
 * The table ends with an entry whose `name` is NULL.  Tables and strings are
 * static; nothing here allocates for the caller.
 */
#ifndef MAAS_CORE_OPT_H
#define MAAS_CORE_OPT_H

#include <stdio.h>

struct maas_option {
	const char *name;     /* long name without "--" */
	int shortopt;         /* 0 for none */
	const char *arg;      /* argument name shown in help ("FILE"), NULL for a flag */
	const char *help;     /* one line */
	const char *complete; /* completion: "file", "dir", "a|b|c" (choices), or NULL (free text) */
	int id;               /* returned by maas_opt_next */
};

struct maas_opt_parser {
	const struct maas_option *opts;
	void *longopts;       /* struct option[] */
	char optstring[256];
	int argc;
	char **argv;
};

enum { MAAS_OPT_END = -1, MAAS_OPT_ERROR = -2, MAAS_OPT_HELP = -3, MAAS_OPT_VERSION = -4, MAAS_OPT_DUMP = -5 };

/* Every tool also accepts -h/--help, -V/--version and --dump-options
 * (handled by maas_opt_next returning MAAS_OPT_HELP, _VERSION, _DUMP). */
void maas_opt_init(struct maas_opt_parser *p, const struct maas_option *opts, int argc, char **argv);
/* Next option: its id with *arg set (NULL for flags), MAAS_OPT_END when done
 * (then optind is the first operand), MAAS_OPT_ERROR after getopt printed
 * its message. */
int maas_opt_next(struct maas_opt_parser *p, const char **arg);
void maas_opt_release(struct maas_opt_parser *p);

/* The whole parse for a tool: calls apply(ctx, id, arg) for each option
 * and answers --help, --version and --dump-options itself.  Returns -1 to
 * go on (optind is then the first operand), or the exit code to stop with:
 * 0 after help/version/dump, 64 after an unknown option, or what apply
 * returned when it returned non-zero. */
int maas_opt_parse(const struct maas_option *opts, const char *const *synopsis, int argc, char **argv,
		   int (*apply)(void *ctx, int id, const char *arg), void *ctx);

/* Usage: "usage: <synopsis lines>", then the option list. */
void maas_opt_usage(FILE *f, const char *prog, const char *const *synopsis, const struct maas_option *opts);
/* One line per option: "--name<TAB>-s<TAB>ARG<TAB>complete<TAB>help" ("-" for empty fields). */
void maas_opt_dump(FILE *f, const struct maas_option *opts);

#endif
