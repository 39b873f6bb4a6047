/*
 * log.h - people's messages and progress bars on stderr.
 *
 * Messages are for cmd/: "maas-prep: cannot open 'x.csv': ..." with the
 * program name set once by maas_log_init.  The library itself never calls
 * the message functions; it may be handed a struct maas_progress by its
 * caller and advance it.  A progress bar draws only when stderr is a
 * terminal and the program is not quiet, so pipes and cron logs stay clean.
 * Colour follows NO_COLOR (https://no-color.org) and TERM=dumb.
 */
#ifndef MAAS_CORE_LOG_H
#define MAAS_CORE_LOG_H

#include <stdint.h>

#include "core/error.h"

enum { MAAS_LOG_QUIET = -1, MAAS_LOG_NORMAL = 0, MAAS_LOG_VERBOSE = 1, MAAS_LOG_DEBUG = 2 };

void maas_log_init(const char *prog, int verbosity);
const char *maas_prog(void);
int maas_verbosity(void);
/* stderr is a terminal that takes colour */
int maas_log_color(void);

/* "prog: <message>" for an error; returns maas_exit_code(e). */
int maas_report_error(const struct maas_err *e);
void maas_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* shown unless quiet */
void maas_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* shown with -v */
void maas_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Monotonic seconds. */
double maas_now(void);

struct maas_progress {
	char label[48];
	uint64_t total, done;
	double t0, last;
	int enabled, drawn;
};

/* total 0 means unknown (a counter instead of a bar).  p may be NULL. */
void maas_progress_start(struct maas_progress *p, const char *label, uint64_t total);
/* Sets the count; redraws at most ten times a second.  p may be NULL. */
void maas_progress_update(struct maas_progress *p, uint64_t done);
/* Clears the bar line. p may be NULL. */
void maas_progress_finish(struct maas_progress *p);

#endif
