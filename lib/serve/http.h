/*
 * http.h - maas-serve's HTTP server: the Open Inference Protocol v2 (the
 * KServe/Triton REST protocol), the records API, and Prometheus metrics,
 * on libmicrohttpd (worker threads, each driving a daemon of its own with
 * epoll over its share of the connections, keep-alive; a worker computes
 * together the requests of a model it read in one pass, http.c), over TCP
 * or a Unix socket.
 *
 * Endpoints (maas-serve(1) documents them with their bodies):
 *   GET  /v2/health/live, /v2/health/ready, /v2
 *   GET  /v2/models/{m}[/versions/{v}], .../ready
 *   POST /v2/models/{m}[/versions/{v}]/infer      FP32 tensors
 *   POST /v1/models/{m}[/versions/{v}]:predict    {"instances": [...]}
 *   POST /v1/models/{m}[/versions/{v}]:feedback   {"id": ..., "label": ...} (with a monitor)
 *   GET  /metrics                                 Prometheus text 0.0.4
 *   GET  /, /v1/models, /v1/models/{m}[/versions/{v}]/signature
 *                                                 the debug page (page.h)
 *   POST /v2/repository/index, /v2/repository/models/{m}/load, .../unload
 *                                                 hot reload (registry.h)
 * Errors are {"error": "..."} with 400 (bad JSON, shape, datatype,
 * non-finite number, bad field), 404 (unknown route, model or version),
 * 405 (wrong method), 413 (body beyond max_body, rows beyond max_rows) and
 * 503 with Retry-After (more than max_in_flight requests at once).
 * From maas_http_stop on, the readiness checks answer 503.
 * With API keys (opts.auth, serve/auth.h): 401 with WWW-Authenticate for
 * a missing or unknown key, 403 for a predict key on an admin endpoint, 429
 * with Retry-After beyond the key's rate; health, /metrics and / stay open.
 * 504 when a request waited more than deadline_ms before compute.
 * A model named without a version is its highest version (numeric order
 * when both are numbers).
 *
 * Ownership: maas_http_start takes the loaded models over (each struct's
 * contents move into the server's registry and the struct is left zeroed,
 * so releasing it is harmless) and borrows the access-log stream; it
 * allocates the server, which maas_http_stop frees with the models.
 */
#ifndef MAAS_SERVE_HTTP_H
#define MAAS_SERVE_HTTP_H

/* A request suspended for its worker's pass costs about 2-3 us of system
 * calls here (two epoll_ctl and a recv); a model is batched within passes
 * when a row saves more than that in a pass of four (registry.h) */
#define MAAS_PASS_MIN_GAIN_US 3.0

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"
#include "serve/metrics.h"
#include "serve/predict.h"

struct maas_auth;

struct maas_monitor;

struct maas_http_opts {
	const char *addr;      /* IPv4 or IPv6 address to bind (default "127.0.0.1") */
	int port;              /* 0: a free port */
	const char *unix_path; /* listen on this Unix socket instead of addr and port, or NULL */
	int threads;           /* worker threads (0: the number of cores) */
	size_t max_body;       /* bytes per request body (0: 16 MiB) */
	size_t max_rows;       /* rows per request (0: no limit) */
	size_t max_in_flight;  /* requests at once (0: no limit) */
	int max_batch;         /* rows per forward pass (0: 64) */
	int batch_rows;        /* dynamic batching (serve/batcher.h): rows per coalesced pass (0: 64) */
	long batch_delay_us;   /* the longest a request waits for company (0: no batching; 500 by opts_init) */
	double batch_min_gain_us; /* batch only models whose rows save this much in a batch (batcher.h) */
	/* models whose rows save at least MAAS_PASS_MIN_GAIN_US are batched
	 * within each worker's pass (http.c, struct worker) */
	FILE *access_log;      /* one JSON line per request, or NULL */
	const struct maas_auth *auth; /* API keys (serve/auth.h, borrowed), or NULL: no auth */
	double deadline_ms;    /* 504 for requests that waited longer before compute (0: none) */
	unsigned idle_timeout; /* seconds a connection may send nothing before it is closed (0: 30) */
	struct maas_monitor *monitor; /* prediction log, feedback, drift (serve/monitor.h, borrowed), or NULL: none */
};

void maas_http_opts_init(struct maas_http_opts *o);

/* Parses "ADDR:PORT", "[ADDR]:PORT", ":PORT" or "unix:PATH" into o (addr,
 * or unix_path, points into a copy owned by the caller through *copy,
 * freed with free(); the other is reset).  A PATH too long for a Unix
 * socket address is a usage error. */
int maas_http_parse_listen(struct maas_http_opts *o, const char *s, char **copy, struct maas_err *e);

struct maas_http;

/* Starts serving models[0..n-1] (taken over) and returns once the socket
 * listens.  Load times are recorded in the metrics.  Fails with
 * MAAS_EOS when the address cannot be bound.
 * A Unix socket is created with the process's umask; a socket file left
 * at the path by a server that died (nothing accepts on it) is replaced,
 * while a live socket (MAAS_EOS) or a file that is not a socket
 * (MAAS_ECANTCREAT) is refused and left alone.  maas_http_stop removes
 * the socket file it created. */
int maas_http_start(struct maas_http **out, struct maas_served *const *models, size_t n,
		    const struct maas_http_opts *o, struct maas_err *e);
struct maas_registry;
/* The models being served, for reloads (registry.h). */
struct maas_registry *maas_http_registry(struct maas_http *h);
/* The bound port (useful with port 0; 0 on a Unix socket) and the
 * address to print: the URL "http://ADDR:PORT", or "unix:PATH". */
int maas_http_port(const struct maas_http *h);
const char *maas_http_url(const struct maas_http *h);
/* Turns not ready, stops accepting connections, waits up to drain_seconds for requests in
 * flight to finish, then closes everything and frees h.  Returns the
 * number of requests still in flight when the drain time ran out. */
long maas_http_stop(struct maas_http *h, double drain_seconds);

/* How a model's requests are batched (maas-serve(1), Dynamic batching),
 * given the seconds a row saves in a pass of MAAS_BATCHER_PROBE (registry.h;
 * < 0: not measured yet): across workers in the batcher (a row saves at
 * least batch_min_gain_us, or that is 0), within each worker's pass (at
 * least MAAS_PASS_MIN_GAIN_US), or not at all (batch_delay_us 0 turns both
 * off).  The server decides with it, and -v says what it decided. */
enum maas_batching { MAAS_BATCHING_NONE, MAAS_BATCHING_PASS, MAAS_BATCHING_ACROSS };
enum maas_batching maas_http_batching(const struct maas_http_opts *o, double gain_s);

#endif
