/* opt.c - getopt_long, usage text and --dump-options from one table. */
#include "core/opt.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/version.h"

static const struct maas_option common[] = {
	{"help", 'h', NULL, "show this help and exit", NULL, MAAS_OPT_HELP},
	{"version", 'V', NULL, "show the version and exit", NULL, MAAS_OPT_VERSION},
	{NULL, 0, NULL, NULL, NULL, 0},
};

static size_t count(const struct maas_option *o)
{
	size_t n = 0;
	while (o[n].name)
		n++;
	return n;
}

void maas_opt_init(struct maas_opt_parser *p, const struct maas_option *opts, int argc, char **argv)
{
	size_t n = count(opts), nc = count(common), k = 0, s = 0;
	struct option *lo = xcalloc(n + nc + 2, sizeof *lo);

	memset(p, 0, sizeof *p);
	p->opts = opts;
	p->argc = argc;
	p->argv = argv;
	/* '+': stop at the first operand? No: permute, so options may follow files. */
	p->optstring[s++] = ':';
	for (int pass = 0; pass < 2; pass++) {
		const struct maas_option *t = pass ? common : opts;
		for (size_t i = 0; t[i].name; i++) {
			lo[k].name = t[i].name;
			lo[k].has_arg = t[i].arg ? required_argument : no_argument;
			lo[k].flag = NULL;
			lo[k].val = 0x1000 + (int)k;
			k++;
			if (t[i].shortopt && s + 3 < sizeof p->optstring) {
				p->optstring[s++] = (char)t[i].shortopt;
				if (t[i].arg)
					p->optstring[s++] = ':';
			}
		}
	}
	lo[k].name = "dump-options";
	lo[k].has_arg = no_argument;
	lo[k].val = 0x1000 + (int)k;
	p->optstring[s] = '\0';
	p->longopts = lo;
	optind = 1;
	opterr = 0;
}

static const struct maas_option *by_index(const struct maas_opt_parser *p, int k)
{
	size_t n = count(p->opts);
	if ((size_t)k < n)
		return &p->opts[k];
	if ((size_t)k - n < count(common))
		return &common[k - n];
	return NULL;
}

static const struct maas_option *by_short(const struct maas_opt_parser *p, int c)
{
	for (size_t i = 0; p->opts[i].name; i++)
		if (p->opts[i].shortopt == c)
			return &p->opts[i];
	for (size_t i = 0; common[i].name; i++)
		if (common[i].shortopt == c)
			return &common[i];
	return NULL;
}

int maas_opt_next(struct maas_opt_parser *p, const char **arg)
{
	const struct maas_option *o;
	int c = getopt_long(p->argc, p->argv, p->optstring, p->longopts, NULL);

	*arg = optarg;
	if (c == -1)
		return MAAS_OPT_END;
	if (c == '?' || c == ':') {
		const char *bad = p->argv[optind - 1];
		if (c == ':')
			fprintf(stderr, "%s: option '%s' needs an argument\n", p->argv[0], bad);
		else if (optopt && optopt < 0x1000)
			fprintf(stderr, "%s: unknown option '-%c'\n", p->argv[0], optopt);
		else
			fprintf(stderr, "%s: unknown option '%s'\n", p->argv[0], bad);
		fprintf(stderr, "Try '%s --help' for more information.\n", p->argv[0]);
		return MAAS_OPT_ERROR;
	}
	if (c >= 0x1000) {
		int k = c - 0x1000;
		o = by_index(p, k);
		if (!o)
			return MAAS_OPT_DUMP;
	} else {
		o = by_short(p, c);
		if (!o)
			return MAAS_OPT_ERROR;
	}
	return o->id;
}

void maas_opt_release(struct maas_opt_parser *p)
{
	free(p->longopts);
	p->longopts = NULL;
}

static void usage_lines(FILE *f, const struct maas_option *o)
{
	for (size_t i = 0; o[i].name; i++) {
		char left[64];
		int n;
		if (o[i].shortopt)
			n = snprintf(left, sizeof left, "-%c, --%s%s%s", o[i].shortopt, o[i].name,
				     o[i].arg ? " " : "", o[i].arg ? o[i].arg : "");
		else
			n = snprintf(left, sizeof left, "    --%s%s%s", o[i].name,
				     o[i].arg ? " " : "", o[i].arg ? o[i].arg : "");
		if (n < 28)
			fprintf(f, "  %-28s %s\n", left, o[i].help);
		else
			fprintf(f, "  %s\n  %-28s %s\n", left, "", o[i].help);
	}
}

void maas_opt_usage(FILE *f, const char *prog, const char *const *synopsis, const struct maas_option *opts)
{
	for (size_t i = 0; synopsis[i]; i++)
		fprintf(f, "%s %s %s\n", i ? "      " : "usage:", prog, synopsis[i]);
	fprintf(f, "\noptions:\n");
	usage_lines(f, opts);
	usage_lines(f, common);
}

static void dump_lines(FILE *f, const struct maas_option *o)
{
	for (size_t i = 0; o[i].name; i++) {
		char s[3] = "-";
		if (o[i].shortopt) {
			s[0] = '-';
			s[1] = (char)o[i].shortopt;
			s[2] = '\0';
		}
		fprintf(f, "--%s\t%s\t%s\t%s\t%s\n", o[i].name, s, o[i].arg ? o[i].arg : "-",
			o[i].complete ? o[i].complete : "-", o[i].help);
	}
}

void maas_opt_dump(FILE *f, const struct maas_option *opts)
{
	dump_lines(f, opts);
	dump_lines(f, common);
}

int maas_opt_parse(const struct maas_option *opts, const char *const *synopsis, int argc, char **argv,
		   int (*apply)(void *ctx, int id, const char *arg), void *ctx)
{
	struct maas_opt_parser p;
	const char *arg;
	int id, rc = -1;

	maas_opt_init(&p, opts, argc, argv);
	while (rc < 0 && (id = maas_opt_next(&p, &arg)) != MAAS_OPT_END) {
		switch (id) {
		case MAAS_OPT_ERROR:
			rc = 64;
			break;
		case MAAS_OPT_HELP:
			maas_opt_usage(stdout, maas_prog(), synopsis, opts);
			rc = 0;
			break;
		case MAAS_OPT_VERSION:
			printf("%s %s\n", maas_prog(), MAAS_VERSION);
			rc = 0;
			break;
		case MAAS_OPT_DUMP:
			maas_opt_dump(stdout, opts);
			rc = 0;
			break;
		default: {
			int r = apply(ctx, id, arg);
			if (r)
				rc = r;
		}
		}
	}
	maas_opt_release(&p);
	return rc;
}
