/*
 * maas-serve - answer predictions from bundles: an HTTP server (Open
 * Inference Protocol v2, a records API, Prometheus metrics), or batch mode
 * from stdin to stdout with --stdin.
 *
 * The options live in the table below; lib/serve/predict.c loads the
 * bundles and predicts, lib/serve/http.c serves them, lib/serve/batch.c
 * runs batch mode.  See maas-serve(1).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/opt.h"
#include "nn/blas.h"
#include "serve/auth.h"
#include "serve/batch.h"
#include "serve/batcher.h"
#include "serve/http.h"
#include "serve/monitor.h"
#include "serve/predict.h"
#include "serve/registry.h"

#define DRAIN_SECONDS 30.0

enum {
	OPT_PORT = 1, OPT_LISTEN, OPT_THREADS, OPT_MAX_BODY, OPT_MAX_ROWS, OPT_MAX_IN_FLIGHT, OPT_ACCESS_LOG,
	OPT_STDIN, OPT_FORMAT, OPT_BATCH_SIZE, OPT_QUIET, OPT_VERBOSE,
};
enum { OPT_KEYS = 100, OPT_INSECURE, OPT_DEADLINE, OPT_HASH_KEY };

enum { OPT_DRAIN_SECONDS = 200, OPT_IDLE_TIMEOUT };
enum { OPT_MAX_BATCH_ROWS = 300, OPT_BATCH_DELAY, OPT_BATCH_MIN_GAIN };
/* the prediction log (serve/monitor.h) */
enum { OPT_LOG_PREDICTIONS = 400, OPT_LOG_SAMPLE };
static double started;   /* CLOCK_MONOTONIC seconds when main began */
static const char *log_predictions;
static double log_sample = 1;
static double drain_seconds = DRAIN_SECONDS;

static const struct maas_option options[] = {
	{"port", 'p', "PORT", "listen on 127.0.0.1:PORT; 0 picks a free port (default: 8080)", NULL, OPT_PORT},
	{"listen", 'l', "ADDR:PORT|unix:PATH", "listen on this address and port, e.g. 0.0.0.0:8080 or [::1]:8080, or on a Unix socket", NULL, OPT_LISTEN},
	{"threads", 0, "N", "worker threads (default: the number of cores); with --stdin, BLAS threads (default 1)", NULL, OPT_THREADS},
	{"max-body", 0, "BYTES", "refuse request bodies larger than BYTES with 413 (default: 16777216)", NULL, OPT_MAX_BODY},
	{"max-rows", 0, "N", "refuse requests of more than N rows with 413 (default: no limit)", NULL, OPT_MAX_ROWS},
	{"max-in-flight", 0, "N", "answer 503 with Retry-After beyond N requests at once (default: no limit)", NULL, OPT_MAX_IN_FLIGHT},
	{"access-log", 0, "FILE", "append one JSON line per request to FILE", "file", OPT_ACCESS_LOG},
	{"keys", 0, "FILE", "require API keys: ID SCOPE RATE BURST SHA256 lines, see maas-serve(1)", "file", OPT_KEYS},
	{"insecure", 0, NULL, "allow --listen on a non-loopback address without --keys", NULL, OPT_INSECURE},
	{"deadline", 0, "MS", "answer 504, without computing, to requests that waited more than MS milliseconds", NULL, OPT_DEADLINE},
	{"hash-key", 0, NULL, "read an API key on stdin and print its SHA-256 for a --keys file", NULL, OPT_HASH_KEY},
	{"idle-timeout", 0, "SECONDS", "close connections that send nothing for SECONDS, mid-request or between requests (default: 30)", NULL, OPT_IDLE_TIMEOUT},
	{"drain-seconds", 0, "N", "on SIGTERM, turn not ready and let requests in flight finish for up to N seconds (default: 30)", NULL, OPT_DRAIN_SECONDS},
	{"stdin", 0, "BUNDLE", "batch mode: predict the records on stdin with BUNDLE, write them to stdout", "file", OPT_STDIN},
	{"format", 'f', "FORMAT", "batch mode input: jsonl, csv or tsv (default: jsonl)", "jsonl|csv|tsv", OPT_FORMAT},
	{"batch-size", 'b', "N", "rows per forward pass (default: 64; 256 with --stdin)", NULL, OPT_BATCH_SIZE},
	{"max-batch-rows", 0, "N", "dynamic batching: coalesce concurrent requests into passes of up to N rows (default: 64)", NULL, OPT_MAX_BATCH_ROWS},
	{"batch-delay", 0, "MICROSECONDS", "dynamic batching: wait up to this long for more requests; 0 turns batching off (default: 500)", NULL, OPT_BATCH_DELAY},
	{"batch-min-gain", 0, "MICROSECONDS", "dynamic batching: batch across workers only models whose rows save this much compute in a batch, as measured at load; 0 batches every model so (default: 20; from 3, within each worker's pass)", NULL, OPT_BATCH_MIN_GAIN},
	{"log-predictions", 0, "FILE", "append the inputs and predictions, and feedback, as JSON lines to FILE", "file", OPT_LOG_PREDICTIONS},
	{"log-sample", 0, "FRACTION", "log this fraction of the predictions, from 0 to 1 (default: 1)", NULL, OPT_LOG_SAMPLE},
	{"quiet", 'q', NULL, "print nothing but errors", NULL, OPT_QUIET},
	{"verbose", 'v', NULL, "say more: each model's load time, the BLAS kernels, and an access log on stderr", NULL, OPT_VERBOSE},
	{NULL, 0, NULL, NULL, NULL, 0},
};

static const char *const synopsis[] = {
	"[options] [NAME[:VERSION]=]BUNDLE ...",
	"--stdin BUNDLE [--format jsonl|csv|tsv] [options] < records > predictions",
	"--hash-key < key",
	NULL,
};

struct cli {
	struct maas_http_opts http;
	char *listen_copy;
	const char *access_log, *stdin_bundle;
	enum maas_batch_format format;
	int port_set, listen_set, batch_size, threads, verbosity;
	const char *keys;
	int insecure, hash_key;
};

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int usage_error(const char *fmt, const char *arg)
{
	struct maas_err e;
	maas_err_set(&e, MAAS_EUSAGE, fmt, arg);
	return maas_report_error(&e);
}

/* A whole number from lo to hi. */
static int parse_num(const char *s, unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
	char *end;
	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return *end || errno || *out < lo || *out > hi ? -1 : 0;
}

static int apply_option(void *ctx, int id, const char *arg)
{
	struct cli *c = ctx;
	unsigned long long v;
	struct maas_err e;

	switch (id) {
	case OPT_PORT:
		if (parse_num(arg, 0, 65535, &v))
			return usage_error("bad --port '%s': a number from 0 to 65535", arg);
		c->http.port = (int)v;
		c->port_set = 1;
		break;
	case OPT_LISTEN:
		free(c->listen_copy);
		c->listen_copy = NULL;
		if (maas_http_parse_listen(&c->http, arg, &c->listen_copy, &e))
			return maas_report_error(&e);
		c->listen_set = 1;
		break;
	case OPT_THREADS:
		if (parse_num(arg, 1, 1024, &v))
			return usage_error("bad --threads '%s': a whole number from 1 to 1024", arg);
		c->threads = (int)v;
		break;
	case OPT_MAX_BODY:
		if (parse_num(arg, 1, (unsigned long long)1 << 40, &v))
			return usage_error("bad --max-body '%s': a number of bytes from 1", arg);
		c->http.max_body = (size_t)v;
		break;
	case OPT_MAX_ROWS:
		if (parse_num(arg, 1, (unsigned long long)1 << 40, &v))
			return usage_error("bad --max-rows '%s': a whole number from 1", arg);
		c->http.max_rows = (size_t)v;
		break;
	case OPT_MAX_IN_FLIGHT:
		if (parse_num(arg, 1, 1000000, &v))
			return usage_error("bad --max-in-flight '%s': a whole number from 1", arg);
		c->http.max_in_flight = (size_t)v;
		break;
	case OPT_ACCESS_LOG: c->access_log = arg; break;
	case OPT_STDIN: c->stdin_bundle = arg; break;
	case OPT_FORMAT:
		if (!strcmp(arg, "jsonl"))
			c->format = MAAS_BATCH_JSONL;
		else if (!strcmp(arg, "csv"))
			c->format = MAAS_BATCH_CSV;
		else if (!strcmp(arg, "tsv"))
			c->format = MAAS_BATCH_TSV;
		else
			return usage_error("bad --format '%s': jsonl, csv or tsv", arg);
		break;
	case OPT_BATCH_SIZE:
		if (parse_num(arg, 1, 65536, &v))
			return usage_error("bad --batch-size '%s': a whole number from 1 to 65536", arg);
		c->batch_size = (int)v;
		break;
	case OPT_KEYS: c->keys = arg; break;
	case OPT_INSECURE: c->insecure = 1; break;
	case OPT_HASH_KEY: c->hash_key = 1; break;
	case OPT_DEADLINE:
		if (parse_num(arg, 1, 3600000, &v))
			return usage_error("bad --deadline '%s': milliseconds from 1 to 3600000", arg);
		c->http.deadline_ms = (double)v;
		break;
	case OPT_IDLE_TIMEOUT:
		if (parse_num(arg, 1, 86400, &v))
			return usage_error("bad --idle-timeout '%s': seconds from 1 to 86400", arg);
		c->http.idle_timeout = (unsigned)v;
		break;
	case OPT_DRAIN_SECONDS:
		if (parse_num(arg, 0, 86400, &v))
			return usage_error("bad --drain-seconds '%s': a whole number from 0 to 86400", arg);
		drain_seconds = (double)v;
		break;
	case OPT_MAX_BATCH_ROWS:
		if (parse_num(arg, 1, 65536, &v))
			return usage_error("bad --max-batch-rows '%s': a whole number from 1 to 65536", arg);
		c->http.batch_rows = (int)v;
		break;
	case OPT_BATCH_DELAY:
		if (parse_num(arg, 0, 1000000, &v))
			return usage_error("bad --batch-delay '%s': microseconds from 0 to 1000000", arg);
		c->http.batch_delay_us = (long)v;
		break;
	case OPT_BATCH_MIN_GAIN:
		if (parse_num(arg, 0, 1000000, &v))
			return usage_error("bad --batch-min-gain '%s': microseconds from 0 to 1000000", arg);
		c->http.batch_min_gain_us = (double)v;
		break;
	case OPT_LOG_PREDICTIONS: log_predictions = arg; break;
	case OPT_LOG_SAMPLE: {
		char *end;
		errno = 0;
		log_sample = strtod(arg, &end);
		if (!*arg || *end || errno || !(log_sample >= 0 && log_sample <= 1))
			return usage_error("bad --log-sample '%s': a fraction from 0 to 1", arg);
		break;
	}
	case OPT_QUIET: c->verbosity = MAAS_LOG_QUIET; break;
	case OPT_VERBOSE: c->verbosity++; break;
	}
	return 0;
}

/* "[NAME[:VERSION]=]PATH": a name has no '/', so paths with '=' still work */
static void split_operand(const char *arg, char **name, char **version, const char **path)
{
	const char *eq = strchr(arg, '=');
	*name = *version = NULL;
	*path = arg;
	if (!eq || eq == arg || memchr(arg, '/', (size_t)(eq - arg)))
		return;
	const char *colon = memchr(arg, ':', (size_t)(eq - arg));
	*name = xstrndup(arg, (size_t)((colon ? colon : eq) - arg));
	if (colon)
		*version = xstrndup(colon + 1, (size_t)(eq - colon - 1));
	*path = eq + 1;
}

/* -v: where a model's load time went (maas-serve(1), Loading) */
static void say_loaded(const struct maas_served *m)
{
	char tar[64] = "", how[128] = "mapped";

	if (m->extract_seconds > 0)
		snprintf(tar, sizeof tar, "tar unpacked in %.1f ms, ", m->extract_seconds * 1e3);
	if (m->weights_copied)
		snprintf(how, sizeof how, "copied (%s)", m->weights_copied);
	maas_verbose("loaded '%s' version %s from '%s' in %.1f ms: %s%.1f MB of weights %s in %.2f ms, %zu example%s "
		     "replayed in %.1f ms, %.1f MB digested in %.1f ms meanwhile", m->name, m->version, m->path,
		     m->load_seconds * 1e3, tar, (double)m->weights_bytes / 1e6, how, m->map_seconds * 1e3,
		     m->nexamples, m->nexamples == 1 ? "" : "s", m->selftest_seconds * 1e3,
		     (double)m->digest_bytes / 1e6, m->digest_seconds * 1e3);
}

static int load(struct maas_served *m, const char *arg, struct maas_err *e)
{
	char *name, *version;
	const char *path;
	int rc;

	split_operand(arg, &name, &version, &path);
	if ((name && !*name) || (version && !*version)) {
		free(name);
		free(version);
		return maas_err_set(e, MAAS_EUSAGE, "bad model '%s': write NAME=BUNDLE or NAME:VERSION=BUNDLE", arg);
	}
	rc = maas_served_load(m, path, version ? version : "1", e);
	if (!rc && name) {
		free(m->name);
		m->name = name;
		name = NULL;
	}
	free(name);
	free(version);
	if (rc)
		return -1;
	say_loaded(m);
	return 0;
}

static int batch_mode(struct cli *c)
{
	struct maas_served m;
	struct maas_err e;
	int rc;

	if (load(&m, c->stdin_bundle, &e))
		return maas_report_error(&e);
	rc = maas_serve_batch(&m, 0, stdout, c->format, (size_t)c->batch_size, &e);
	if (!rc && fflush(stdout) != 0)
		rc = maas_err_sys(&e, MAAS_EIO, "cannot write '%s'", "<stdout>");
	maas_served_release(&m);
	return rc ? maas_report_error(&e) : 0;
}

/* A reload that failed on SIGHUP: the model keeps its old version. */
static void report_reload(const struct maas_err *e, void *arg)
{
	maas_warn("%s; keeping the version being served", e->msg);
}

static int server_mode(struct cli *c, char **bundles, int n)
{
	struct maas_served *models = xcalloc((size_t)n, sizeof *models), **ptrs = xcalloc((size_t)n, sizeof *ptrs);
	struct maas_http *h = NULL;
	struct maas_err e;
	FILE *log = NULL;
	struct maas_monitor *mon = NULL;
	sigset_t set;
	int loaded = 0, rc = 0, sig;

	for (; loaded < n; loaded++) {
		if (load(&models[loaded], bundles[loaded], &e))
			goto fail;
		ptrs[loaded] = &models[loaded];
		for (int j = 0; j < loaded; j++)
			if (!strcmp(models[j].name, models[loaded].name) && !strcmp(models[j].version, models[loaded].version)) {
				maas_err_set(&e, MAAS_EUSAGE, "model '%s' version %s is given twice; name them NAME:VERSION=BUNDLE",
					     models[j].name, models[j].version);
				loaded++;
				goto fail;
			}
	}
	if (c->access_log && !(log = fopen(c->access_log, "a"))) {
		maas_err_sys(&e, MAAS_ECANTCREAT, "cannot open '%s'", c->access_log);
		goto fail;
	}
	c->http.access_log = log ? log : c->verbosity >= MAAS_LOG_VERBOSE ? stderr : NULL;
	struct maas_monitor_opts mo;
	maas_monitor_opts_init(&mo);
	mo.log_path = log_predictions;
	mo.sample = log_sample;
	if (maas_monitor_new(&mon, &mo, &e))
		goto fail;
	c->http.monitor = mon;

	/* the workers inherit the mask: only this thread takes the signals */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	double t_loaded = now_seconds();
	if (maas_http_start(&h, ptrs, (size_t)n, &c->http, &e))
		goto fail;
	printf("listening on %s\n", maas_http_url(h));
	fflush(stdout);
	double t_ready = now_seconds();
	maas_verbose("ready %.1f ms after start: models loaded by %.1f ms, the server started in %.1f ms",
		     (t_ready - started) * 1e3, (t_loaded - started) * 1e3, (t_ready - t_loaded) * 1e3);
	maas_info("serving %d model%s on %s", n, n == 1 ? "" : "s", maas_http_url(h));
	if (c->http.batch_delay_us > 0) {
		/* which models batching pays for: measured now that requests are
		 * answered (unbatched until then), not before readiness */
		struct maas_registry *reg = maas_http_registry(h);
		maas_registry_probe(reg);
		for (size_t i = 0; i < reg->n; i++) {
			struct maas_reg_entry *en = maas_registry_entry(reg, i); /* unloaded meanwhile: NULL */
			if (!en)
				continue;
			static const char *const how[] = {
				[MAAS_BATCHING_NONE] = "off", [MAAS_BATCHING_PASS] = "within each worker's pass",
				[MAAS_BATCHING_ACROSS] = "on",
			};
			double gain = atomic_load(&en->batch_gain_s), us = gain * 1e6;
			maas_verbose("batching '%s' version %s: %s (a row saves %.1f us of compute in a pass of %d, "
				     "--batch-min-gain %g)", en->m.name, en->m.version,
				     how[maas_http_batching(&c->http, gain)], us, MAAS_BATCHER_PROBE,
				     c->http.batch_min_gain_us);
			maas_reg_entry_put(en);
		}
	}

	/* SIGHUP reloads every model; the others stop */
	while (!sigwait(&set, &sig) && sig == SIGHUP) {
		int failed = maas_registry_reload_all(maas_http_registry(h), report_reload, NULL);
		maas_info("SIGHUP: models reloaded%s", failed ? ", some failed and keep their old version" : "");
		if (maas_monitor_reopen(mon, &e)) /* logrotate */
			maas_warn("%s; still writing the old prediction log", e.msg);
	}
	sigdelset(&set, SIGHUP);
	maas_info("%s: finishing the requests in flight", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	/* a second signal does not wait for the drain */
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	long left = maas_http_stop(h, drain_seconds);
	if (left > 0)
		maas_warn("stopped with %ld request%s unfinished after %.0f s", left, left == 1 ? "" : "s", drain_seconds);
	goto out;
fail:
	rc = maas_report_error(&e);
out:
	maas_monitor_free(mon);
	if (log)
		fclose(log);
	for (int i = 0; i < loaded; i++)
		maas_served_release(&models[i]);
	free(models);
	free(ptrs);
	return rc;
}

static struct cli c;
static struct maas_auth auth;

/* --hash-key: a key on stdin, its digest on stdout */
static int hash_key(int operands)
{
	char hex[MAAS_SHA256_HEX];
	struct maas_err e;
	if (operands)
		return usage_error("%s", "--hash-key reads the key on stdin; drop the operands");
	if (maas_auth_hash_stream(stdin, "<stdin>", hex, &e))
		return maas_report_error(&e);
	printf("%s\n", hex);
	if (fflush(stdout) != 0) {
		maas_err_sys(&e, MAAS_EIO, "cannot write '%s'", "<stdout>");
		return maas_report_error(&e);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct maas_blas_opts blas = {0};
	struct maas_err e;
	int rc;

	started = now_seconds();
	memset(&c, 0, sizeof c);
	maas_auth_init(&auth);
	maas_log_init(argv[0], MAAS_LOG_NORMAL);
	maas_http_opts_init(&c.http);
	c.format = MAAS_BATCH_JSONL;
	if ((rc = maas_opt_parse(options, synopsis, argc, argv, apply_option, &c)) >= 0)
		return rc;
	maas_log_init(argv[0], c.verbosity);
	if (c.hash_key)
		return hash_key(optind < argc);
	if (c.port_set && c.listen_set)
		return usage_error("%s", "give --port or --listen, not both");
	if (c.stdin_bundle && optind < argc)
		return usage_error("%s", "--stdin takes its one BUNDLE as its argument; drop the other operands");
	if (!c.stdin_bundle && optind == argc)
		return usage_error("%s", "no model: give one or more BUNDLE operands, or --stdin BUNDLE");
	/* a Unix socket is as local as loopback: its file's permissions say who connects */
	if (!c.stdin_bundle && !c.keys && !c.insecure && !c.http.unix_path && maas_auth_is_loopback(c.http.addr) == 0)
		return usage_error("refusing to serve on '%s' without --keys: give --keys FILE, or --insecure to allow anyone "
				   "who can reach the address", c.http.addr);
	if (c.keys && maas_auth_load(&auth, c.keys, &e))
		return maas_report_error(&e);
	c.http.auth = c.keys ? &auth : NULL;

	/* requests run in parallel on the worker threads: each forward pass on
	 * one BLAS thread.  Batch mode too unless told otherwise: its time goes
	 * to reading records, and a second OpenBLAS thread only spins (Fashion-
	 * MNIST records: the same wall time, 7 s more CPU in sched_yield) */
	blas.threads = c.stdin_bundle && c.threads > 0 ? c.threads : 1;
	/* OpenBLAS starts its thread pool as it loads: with the stop signals
	 * blocked there, they go to the thread that waits for them
	 * (server_mode), never to a pool thread that would end the process
	 * without the drain */
	sigset_t stop, old;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	rc = maas_blas_init(&blas, &e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return maas_report_error(&e);
	maas_verbose("%s", maas_blas_describe());
	c.http.threads = c.threads;
	c.http.max_batch = c.batch_size;
	rc = c.stdin_bundle ? batch_mode(&c) : server_mode(&c, argv + optind, argc - optind);
	maas_auth_release(&auth);
	free(c.listen_copy);
	return rc;
}
