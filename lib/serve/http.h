/*
 * http.h - maas-serve's HTTP server: the Open Inference Protocol v2 (the
 * KServe/Triton REST protocol), the records API, and Prometheus metrics,
 * on libmicrohttpd (one internal polling thread with epoll and a pool of
 * worker threads, keep-alive).
 *
 * Endpoints (maas-serve(1) documents them with their bodies):
 *   GET  /v2/health/live, /v2/health/ready, /v2
 *   GET  /v2/models/{m}[/versions/{v}], .../ready
 *   POST /v2/models/{m}[/versions/{v}]/infer      FP32 tensors
 *   POST /v1/models/{m}[/versions/{v}]:predict    {"instances": [...]}
 *   GET  /metrics                                 Prometheus text 0.0.4
 * Errors are {"error": "..."} with 400 (bad JSON, shape, datatype,
 * non-finite number, bad field), 404 (unknown route, model or version),
 * 405 (wrong method), 413 (body beyond max_body, rows beyond max_rows) and
 * 503 with Retry-After (more than max_in_flight requests at once).
 * A model named without a version is its highest version (numeric order
 * when both are numbers).
 *
 * Ownership: the server borrows the loaded models (they must outlive it)
 * and the access-log stream; maas_http_start allocates the server, which
 * maas_http_stop frees.
 */
#ifndef MAAS_SERVE_HTTP_H
#define MAAS_SERVE_HTTP_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"
#include "serve/metrics.h"
#include "serve/predict.h"

struct maas_http_opts {
	const char *addr;      /* IPv4 or IPv6 address to bind (default "127.0.0.1") */
	int port;              /* 0: a free port */
	int threads;           /* worker threads (0: the number of cores) */
	size_t max_body;       /* bytes per request body (0: 16 MiB) */
	size_t max_rows;       /* rows per request (0: no limit) */
	size_t max_in_flight;  /* requests at once (0: no limit) */
	int max_batch;         /* rows per forward pass (0: 64) */
	FILE *access_log;      /* one JSON line per request, or NULL */
};

void maas_http_opts_init(struct maas_http_opts *o);

/* Parses "ADDR:PORT", "[ADDR]:PORT" or ":PORT" into o (addr points into a
 * copy owned by the caller through *copy, freed with free()). */
int maas_http_parse_listen(struct maas_http_opts *o, const char *s, char **copy, struct maas_err *e);

struct maas_http;

/* Starts serving models[0..n-1] (borrowed) and returns once the socket
 * listens.  Load times are recorded in the metrics.  Fails with
 * MAAS_EOS when the address cannot be bound. */
int maas_http_start(struct maas_http **out, struct maas_served *const *models, size_t n,
		    const struct maas_http_opts *o, struct maas_err *e);
/* The bound port (useful with port 0) and the URL "http://ADDR:PORT". */
int maas_http_port(const struct maas_http *h);
const char *maas_http_url(const struct maas_http *h);
/* Stops accepting connections, waits up to drain_seconds for requests in
 * flight to finish, then closes everything and frees h.  Returns the
 * number of requests still in flight when the drain time ran out. */
long maas_http_stop(struct maas_http *h, double drain_seconds);

#endif
