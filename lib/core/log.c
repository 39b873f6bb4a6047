/* log.c - messages and a terminal-only progress bar on stderr. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *prog = "maas";
static int verbosity;

void maas_log_init(const char *name, int v)
{
	const char *slash = strrchr(name, '/');
	prog = slash ? slash + 1 : name;
	verbosity = v;
}

const char *maas_prog(void) { return prog; }
int maas_verbosity(void) { return verbosity; }

int maas_log_color(void)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	if (nc && *nc)
		return 0;
	if (term && !strcmp(term, "dumb"))
		return 0;
	return isatty(2);
}

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	char line[4096];
	int n = snprintf(line, sizeof line, "%s: %s", prog, prefix);
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

int maas_report_error(const struct maas_err *e)
{
	fprintf(stderr, "%s: %s\n", prog, e->msg[0] ? e->msg : "unknown error");
	return maas_exit_code(e);
}

void maas_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(maas_log_color() ? "\033[33mwarning:\033[0m " : "warning: ", fmt, ap);
	va_end(ap);
}

void maas_info(const char *fmt, ...)
{
	va_list ap;
	if (verbosity < MAAS_LOG_NORMAL)
		return;
	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void maas_verbose(const char *fmt, ...)
{
	va_list ap;
	if (verbosity < MAAS_LOG_VERBOSE)
		return;
	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

double maas_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void maas_progress_start(struct maas_progress *p, const char *label, uint64_t total)
{
	if (!p)
		return;
	memset(p, 0, sizeof *p);
	snprintf(p->label, sizeof p->label, "%s", label);
	p->total = total;
	p->t0 = maas_now();
	p->enabled = verbosity >= MAAS_LOG_NORMAL && isatty(2);
}

static void draw(struct maas_progress *p, double now)
{
	char bar[41];
	double secs = now - p->t0;

	if (p->total) {
		double f = (double)p->done / (double)p->total;
		int fill = (int)(f * 40);
		if (fill > 40)
			fill = 40;
		memset(bar, '#', (size_t)fill);
		memset(bar + fill, '.', (size_t)(40 - fill));
		bar[40] = '\0';
		fprintf(stderr, "\r%s [%s] %3d%% %.1fs\033[K", p->label, bar, (int)(f * 100), secs);
	} else {
		fprintf(stderr, "\r%s %llu %.1fs\033[K", p->label, (unsigned long long)p->done, secs);
	}
	p->drawn = 1;
}

void maas_progress_update(struct maas_progress *p, uint64_t done)
{
	double now;
	if (!p)
		return;
	p->done = done;
	if (!p->enabled)
		return;
	now = maas_now();
	if (now - p->last < 0.1)
		return;
	p->last = now;
	draw(p, now);
}

void maas_progress_finish(struct maas_progress *p)
{
	if (!p || !p->enabled || !p->drawn)
		return;
	fprintf(stderr, "\r\033[K");
	p->drawn = 0;
}
