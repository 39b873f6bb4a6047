/*
 * http.c - maas-serve's HTTP front: libmicrohttpd callbacks, routing, the
 * Open Inference Protocol v2 and records endpoints, limits and the access
 * log.  The predictions themselves are lib/serve/predict.c's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <strings.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/fmt.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/version.h"
#include "serve/auth.h"
#include "serve/batcher.h"
#include "serve/fastjson.h"
#include "serve/http.h"
#include "serve/page.h"
#include "serve/monitor.h"
#include "serve/registry.h"

#define DEFAULT_MAX_BODY (16u << 20)
#define DEFAULT_MAX_BATCH 64
#define DEFAULT_IDLE_TIMEOUT 30u

/* A request's model: a reference taken from the registry (registry.h). */
#define slot maas_reg_entry

struct worker;

struct maas_http {
	struct MHD_Daemon *d;     /* the first worker's: the port, the listening socket */
	struct worker *workers;   /* each drives its own daemon (worker_main) */
	int nworkers;
	atomic_int stop_workers;  /* set by maas_http_stop once the drain is over */
	atomic_int quiesce;       /* set by maas_http_stop: each worker stops listening */
	struct maas_registry reg; /* the models, swapped by reloads */
	atomic_int draining;      /* set by maas_http_stop: not ready */
	struct maas_http_opts o;
	struct maas_serve_metrics metrics;
	atomic_ulong next_id;
	struct maas_batcher batcher; /* when o.batch_delay_us > 0 */
	atomic_long suspended;       /* connections suspended by the batcher, not yet resumed,
					and requests about to queue (compute reserves first) */
	atomic_int no_park;          /* set by maas_http_stop: nothing more is queued */
	pthread_mutex_t log_lock;
	int port;
	char url[128];
	char *unix_path;          /* the Unix socket made, removed by maas_http_stop, or NULL */
	dev_t unix_dev;           /* ... and its file, not to remove another's */
	ino_t unix_ino;
};

/* One request's state, kept in libmicrohttpd's con_cls. */
struct req {
	unsigned long id;
	double t0;
	struct maas_buf body;
	int too_big, answered;
	int status;
	size_t bytes;
	const char *model, *version, *route, *method;
	const char *key_id;      /* the API key's id (auth.h), or NULL */
	char path[128];
	struct slot *ref;        /* the model used, dropped when the request completes */
	struct pending *pend;    /* rows queued in the batcher: the connection is suspended */
	double queue_s, compute_s; /* for the access log */
	int computed;
};

/* What a handler answers. */
struct reply {
	int status;
	const char *type;
	int retry_after;
	const char *model, *version, *route;
	struct maas_buf body;
	struct slot *ref;        /* the model used (a reference, passed on to the request) */
	double t0;               /* the request's arrival, for the deadline */
	unsigned long id;        /* the request's id (X-Request-Id) */
	struct MHD_Connection *conn;
	struct pending *pending; /* set when the rows were queued: no answer yet */
	double queue_s, compute_s; /* the batching queue and the forward pass, for the access log */
	int computed;              /* a forward pass answered it (maas_compute_seconds) */
};

/*
 * A prediction between its parsing and its answer: an infer request's
 * tensor or a records request's features, with room for the outputs.
 * When its rows are queued in the batcher (batcher.h), the connection is
 * suspended and this waits in the request's state until the batch's
 * leader resumes it; then the answer is written as if it had been
 * computed at once.
 */
struct pending {
	struct maas_batcher_job job;
	struct maas_http *h;
	struct MHD_Connection *conn;
	struct slot *s;          /* borrowed from the request's reference */
	struct worker *worker;   /* the one whose connection it is */
	struct maas_predict_ctx *c;
	int records;             /* the records API, else an infer request */
	size_t n;
	const float *x;          /* the rows: xown, or the context's features */
	float *xown;
	json_t *inst;            /* records: the instances, for the prediction log */
	int want;                /* infer: OUT_* */
	char *id;                /* infer: the request's id, or NULL */
	struct maas_prediction *p;
	float *probs;
	int rc, late;
	struct maas_err e;
	double queue_s, compute_s;
};

/*
 * A worker thread drives a libmicrohttpd daemon of its own (all share the
 * listening socket): it waits for its connections, lets libmicrohttpd read
 * and route every request that is ready (MHD_run), then computes the rows
 * of the infer and records requests of each model that it suspended during
 * that pass in one forward pass, resumes them, and the next MHD_run sends
 * their answers.  Requests that arrive together are so computed together,
 * without waiting and without another thread (see "Dynamic batching" in
 * maas-serve(1)).
 */
struct worker {
	struct maas_http *h;
	struct MHD_Daemon *d;
	pthread_t thread;
	int started;
	atomic_int quiesced;     /* it has stopped listening (MHD_quiesce_daemon) */
	int wake_fd;             /* an eventfd it polls: a connection of its was resumed by
				    another thread (libmicrohttpd does not wake a daemon
				    without a thread of its own), or the stop began or ends */
	struct pending **pass;   /* suspended during this pass, in arrival order */
	size_t npass, cap;
	struct maas_batch_scratch scratch; /* for maas_batch_run */
	double *waits;           /* the queue seconds of one model's requests */
	size_t capw;
};

/* The worker of the calling thread, NULL outside the workers. */
static __thread struct worker *this_worker;

void maas_http_opts_init(struct maas_http_opts *o)
{
	memset(o, 0, sizeof *o);
	o->addr = "127.0.0.1";
	o->port = 8080;
	o->batch_delay_us = MAAS_BATCHER_DELAY_US;
	o->batch_min_gain_us = MAAS_BATCHER_MIN_GAIN_US;
}

/* the longest path a Unix socket address holds, without its NUL */
#define UNIX_PATH_MAX (sizeof ((struct sockaddr_un *)0)->sun_path - 1)

int maas_http_parse_listen(struct maas_http_opts *o, const char *s, char **copy, struct maas_err *e)
{
	const char *colon = strrchr(s, ':');
	char *end, *a;
	long port;

	if (!strncmp(s, "unix:", 5)) {
		size_t n = strlen(s + 5);
		if (!n)
			return maas_err_set(e, MAAS_EUSAGE, "bad listen address '%s': write unix:PATH", s);
		if (n > UNIX_PATH_MAX)
			return maas_err_set(e, MAAS_EUSAGE,
					    "bad listen address '%s': the socket path is %zu bytes, a Unix socket's is at most %zu",
					    s, n, UNIX_PATH_MAX);
		*copy = xstrdup(s + 5);
		o->unix_path = *copy;
		o->addr = NULL;
		o->port = 0;
		return 0;
	}
	if (!colon)
		return maas_err_set(e, MAAS_EUSAGE, "bad listen address '%s': write ADDR:PORT or unix:PATH", s);
	port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || port < 0 || port > 65535)
		return maas_err_set(e, MAAS_EUSAGE, "bad listen address '%s': the port is a number from 0 to 65535", s);
	a = xstrndup(s, (size_t)(colon - s));
	if (a[0] == '[') { /* [::1]:8080 */
		size_t n = strlen(a);
		if (n < 2 || a[n - 1] != ']') {
			free(a);
			return maas_err_set(e, MAAS_EUSAGE, "bad listen address '%s': unbalanced '['", s);
		}
		memmove(a, a + 1, n - 2);
		a[n - 2] = 0;
	}
	*copy = a;
	o->addr = *a ? a : "127.0.0.1";
	o->port = (int)port;
	o->unix_path = NULL;
	return 0;
}

/* ---- replies ---- */

static void reply_json(struct reply *r, int status, json_t *j)
{
	char *t = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9));
	r->status = status;
	r->type = "application/json";
	maas_buf_addstr(&r->body, t ? t : "{}");
	free(t);
	json_decref(j);
}

static void reply_error(struct reply *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void reply_error(struct reply *r, int status, const char *fmt, ...)
{
	char msg[MAAS_ERRMSG_MAX + 256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	r->body.len = 0;
	reply_json(r, status, json_pack("{s:s}", "error", msg));
}

/* ---- models ---- */

/* A reference to the model name/version (version NULL: the highest), or
 * NULL with a 404.  The caller drops it with maas_reg_entry_put. */
static struct slot *find_model(struct maas_http *h, const char *name, const char *version, struct reply *r)
{
	struct slot *s;
	switch (maas_registry_get(&h->reg, name, version, &s)) {
	case MAAS_REG_OK:
		r->ref = s;
		r->model = s->m.name;
		r->version = s->m.version;
		break;
	case MAAS_REG_NO_MODEL: reply_error(r, 404, "model '%s' is not served", name); break;
	case MAAS_REG_NO_VERSION: reply_error(r, 404, "model '%s' has no version '%s'", name, version); break;
	default:
		if (version)
			reply_error(r, 404, "model '%s' version %s is unloaded", name, version);
		else
			reply_error(r, 404, "model '%s' is unloaded", name);
	}
	return s;
}

/* ---- GET endpoints ---- */

static void server_metadata(struct reply *r)
{
	reply_json(r, 200, json_pack("{s:s,s:s,s:[]}", "name", "maas-serve", "version", MAAS_VERSION, "extensions"));
}

static json_t *tensor_meta(const char *name, const char *datatype, json_t *shape)
{
	return json_pack("{s:s,s:s,s:o}", "name", name, "datatype", datatype, "shape", shape);
}

static void model_metadata(struct maas_http *h, struct slot *s, struct reply *r)
{
	const struct maas_served *m = &s->m;
	json_t *versions = maas_registry_versions(&h->reg, m->name), *outputs = json_array(), *shape;

	shape = m->T ? json_pack("[i,i,i]", -1, m->T, m->features) : json_pack("[i,i]", -1, m->features);
	if (m->classification) {
		json_array_append_new(outputs, tensor_meta("probabilities", "FP32", json_pack("[i,i]", -1, s->K)));
		json_array_append_new(outputs, tensor_meta("class", "INT64", json_pack("[i,i]", -1, 1)));
		json_array_append_new(outputs, tensor_meta("label", "BYTES", json_pack("[i,i]", -1, 1)));
	} else
		json_array_append_new(outputs, tensor_meta("value", "FP32", json_pack("[i,i]", -1, 1)));
	/* which build this is, so that a reload shows: an OIP "parameters" object */
	const json_t *created = json_object_get(json_object_get(m->manifest, "lineage"), "created"),
		     *weights = json_object_get(json_object_get(json_object_get(m->manifest, "files"),
							       "weights.safetensors"), "sha256");
	json_t *params = json_pack("{s:s}", "bundle", m->path ? m->path : "");
	if (json_is_string(created))
		json_object_set(params, "created", (json_t *)created);
	if (json_is_string(weights))
		json_object_set(params, "weights_sha256", (json_t *)weights);
	reply_json(r, 200, json_pack("{s:s,s:o,s:s,s:[o],s:o,s:o}", "name", m->name, "versions", versions, "platform",
				     "maas", "inputs", tensor_meta(s->input_name, "FP32", shape), "outputs", outputs,
				     "parameters", params));
}

/* ---- POST /v2/models/{m}/infer ---- */

/* Flattens nested arrays of numbers into x[*k..]; returns -1 with a reply. */
static int flatten(const json_t *d, float *x, size_t cap, size_t *k, const char *input, struct reply *r)
{
	size_t i;
	const json_t *v;
	if (json_is_array(d)) {
		json_array_foreach(d, i, v)
			if (flatten(v, x, cap, k, input, r))
				return -1;
		return 0;
	}
	if (!json_is_number(d)) {
		reply_error(r, 400, "input '%s': data element %zu is not a number", input, *k);
		return -1;
	}
	if (*k >= cap) {
		reply_error(r, 400, "input '%s': data has more elements than the shape's %zu", input, cap);
		return -1;
	}
	double dv = json_number_value(d);
	float f = (float)dv;
	if (!isfinite(f)) {
		reply_error(r, 400, "input '%s': data element %zu (%g) is not a finite FP32 number", input, *k, dv);
		return -1;
	}
	x[(*k)++] = f;
	return 0;
}

enum { OUT_PROBS = 1, OUT_CLASS = 2, OUT_LABEL = 4, OUT_VALUE = 8 };

static int requested_outputs(const struct maas_served *m, const json_t *req, struct reply *r)
{
	const json_t *outs = json_object_get(req, "outputs"), *o;
	int all = m->classification ? OUT_PROBS | OUT_CLASS | OUT_LABEL : OUT_VALUE, want = 0;
	size_t i;

	if (!outs)
		return all;
	if (!json_is_array(outs)) {
		reply_error(r, 400, "'outputs' must be an array of {\"name\": ...}");
		return -1;
	}
	json_array_foreach(outs, i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		int bit = !name ? 0 : !strcmp(name, "probabilities") ? OUT_PROBS : !strcmp(name, "class") ? OUT_CLASS
			: !strcmp(name, "label") ? OUT_LABEL : !strcmp(name, "value") ? OUT_VALUE : 0;
		if (!name) {
			reply_error(r, 400, "output %zu has no name", i);
			return -1;
		}
		if (!(bit & all)) {
			reply_error(r, 400, "model '%s' has no output '%s' (%s)", m->name, name,
				    m->classification ? "probabilities, class, label" : "value");
			return -1;
		}
		want |= bit;
	}
	return want ? want : all;
}

static void add_output_head(struct maas_buf *b, int *first, const char *name, const char *type, size_t n,
			    size_t cols)
{
	/* in pieces, without printf (see core/fmt.h) */
	maas_buf_addstr(b, *first ? "{\"name\":\"" : ",{\"name\":\"");
	maas_buf_addstr(b, name);
	maas_buf_addstr(b, "\",\"datatype\":\"");
	maas_buf_addstr(b, type);
	maas_buf_addstr(b, "\",\"shape\":[");
	maas_buf_add_int(b, (long long)n);
	maas_buf_addstr(b, ",");
	maas_buf_add_int(b, (long long)cols);
	maas_buf_addstr(b, "],\"data\":[");
	*first = 0;
}

/* The answer to an infer request whose rows were computed. */
static void infer_answer(struct pending *pd, struct reply *r)
{
	const struct maas_served *m = &pd->s->m;
	const struct maas_prediction *p = pd->p;
	const float *probs = pd->probs;
	size_t n = pd->n, K = (size_t)pd->s->K;
	struct maas_buf *b = &r->body;
	int first = 1, want = pd->want;

	r->status = 200;
	r->type = "application/json";
	maas_buf_addstr(b, "{\"model_name\":");
	maas_buf_add_json_string(b, m->name);
	maas_buf_addstr(b, ",\"model_version\":");
	maas_buf_add_json_string(b, m->version);
	if (pd->id) {
		maas_buf_addstr(b, ",\"id\":");
		maas_buf_add_json_string(b, pd->id);
	}
	maas_buf_addstr(b, ",\"outputs\":[");
	if (want & OUT_PROBS) {
		add_output_head(b, &first, "probabilities", "FP32", n, K);
		for (size_t i = 0; i < n * K; i++) {
			if (i)
				maas_buf_addstr(b, ",");
			maas_buf_add_g9(b, probs[i]);
		}
		maas_buf_addstr(b, "]}");
	}
	if (want & OUT_CLASS) {
		add_output_head(b, &first, "class", "INT64", n, 1);
		for (size_t i = 0; i < n; i++) {
			if (i)
				maas_buf_addstr(b, ",");
			maas_buf_add_int(b, p[i].label);
		}
		maas_buf_addstr(b, "]}");
	}
	if (want & OUT_LABEL) {
		add_output_head(b, &first, "label", "BYTES", n, 1);
		for (size_t i = 0; i < n; i++) {
			const char *l = p[i].label >= 0 && p[i].label < m->nlabels ? m->labels[p[i].label] : NULL;
			char num[24];
			if (!l) {
				maas_fmt_int(num, p[i].label);
				l = num;
			}
			if (i)
				maas_buf_addstr(b, ",");
			maas_buf_add_json_string(b, l);
		}
		maas_buf_addstr(b, "]}");
	}
	if (want & OUT_VALUE) {
		add_output_head(b, &first, "value", "FP32", n, 1);
		for (size_t i = 0; i < n; i++) {
			if (i)
				maas_buf_addstr(b, ",");
			maas_buf_add_g9(b, p[i].value);
		}
		maas_buf_addstr(b, "]}");
	}
	maas_buf_addstr(b, "]}");
}

/* The answer to a records request whose rows were computed. */
static void records_answer(struct maas_http *h, struct pending *pd, struct reply *r)
{
	const struct maas_served *m = &pd->s->m;
	size_t K = (size_t)pd->s->K;
	json_t *preds = json_array();

	for (size_t i = 0; i < pd->n; i++)
		json_array_append_new(preds, maas_prediction_json(m, &pd->p[i], pd->probs ? pd->probs + i * K : NULL));
	reply_json(r, 200, json_pack("{s:o}", "predictions", preds));
	if (h->o.monitor)
		maas_monitor_records(h->o.monitor, m, r->id, pd->inst, pd->p, pd->probs);
}

/* ---- computing: at once, or batched (batcher.h) ---- */

static void pending_free(struct pending *pd)
{
	if (!pd)
		return;
	if (pd->c)
		maas_reg_ctx_give(pd->s, pd->c);
	free(pd->xown);
	json_decref(pd->inst);
	free(pd->id);
	free(pd->p);
	free(pd->probs);
	free(pd);
}

/* The batcher's callbacks: a queued job suspends its connection (we are
 * in its access handler), a done one resumes it (on_request answers). */
static void park(struct maas_batcher_job *j)
{
	struct pending *pd = j->arg; /* compute() has counted it in suspended */
	MHD_suspend_connection(pd->conn);
}

static void poke(struct worker *w);

static void wake(struct maas_batcher_job *j)
{
	struct pending *pd = j->arg;
	struct maas_http *h = pd->h;
	struct worker *w = pd->worker;
	/* once resumed, its worker may answer and free pd at any moment */
	MHD_resume_connection(pd->conn);
	poke(w);
	atomic_fetch_sub(&h->suspended, 1);
}

/* A request of a worker's pass is done: that worker answers it in its
 * next MHD_run. */
static void resume(struct maas_batcher_job *j)
{
	struct pending *pd = j->arg;
	MHD_resume_connection(pd->conn);
}

enum maas_batching maas_http_batching(const struct maas_http_opts *o, double gain_s)
{
	if (o->batch_delay_us <= 0)
		return MAAS_BATCHING_NONE;
	if (o->batch_min_gain_us <= 0 || (gain_s >= 0 && gain_s * 1e6 >= o->batch_min_gain_us))
		return MAAS_BATCHING_ACROSS;
	return gain_s * 1e6 >= MAAS_PASS_MIN_GAIN_US ? MAAS_BATCHING_PASS : MAAS_BATCHING_NONE;
}

static enum maas_batching batching(const struct maas_http *h, const struct slot *s)
{
	return maas_http_batching(&h->o, atomic_load(&s->batch_gain_s));
}

/* A prediction of n rows for model s (a reference the reply holds). */
static struct pending *pending_new(struct maas_http *h, struct slot *s, struct reply *r, size_t n)
{
	struct pending *pd = xcalloc(1, sizeof *pd);
	pd->h = h;
	pd->conn = r->conn;
	pd->worker = this_worker;
	pd->s = s;
	pd->n = n;
	pd->p = xcalloc(n ? n : 1, sizeof *pd->p);
	pd->probs = s->m.classification ? xcalloc((n ? n : 1) * (size_t)s->K, sizeof *pd->probs) : NULL;
	pd->c = maas_reg_ctx_take(s);
	return pd;
}

/* Computes pd's rows, max_batch at a time, or queues them in the batcher:
 * then returns 1 with r->pending set and the connection suspended. */
static int compute(struct maas_http *h, struct pending *pd, struct reply *r)
{
	const struct maas_served *m = &pd->s->m;
	size_t row = (size_t)(m->T ? m->T : 1) * (size_t)m->features, K = (size_t)pd->s->K;
	struct maas_batcher_job *j = &pd->job;

	if (maas_deadline_passed(r->t0, h->o.deadline_ms)) {
		pd->late = 1;
		return 0;
	}
	/* reserve a suspension, then look whether the server stops: either
	 * maas_http_stop sees the reservation or this sees no_park, so no
	 * connection is suspended once it has waited for none to be */
	enum maas_batching how = batching(h, pd->s);
	int queue = how == MAAS_BATCHING_ACROSS && pd->n >= 1 && pd->n <= (size_t)h->o.batch_rows;
	if (queue) {
		atomic_fetch_add(&h->suspended, 1);
		if (atomic_load(&h->no_park)) {
			atomic_fetch_sub(&h->suspended, 1);
			queue = 0;
		}
	}
	struct maas_batcher_job job = {
		.m = m, .c = pd->c, .x = pd->x, .n = (int)pd->n, .out = pd->p, .probs = pd->probs,
		.t0 = r->t0, .deadline_ms = h->o.deadline_ms, .park = park, .wake = wake, .arg = pd,
	};
	if (queue) {
		*j = job;
		if (maas_batcher_submit(&h->batcher, j)) {
			r->pending = pd; /* wake() gives the reservation back */
			return 1;
		}
		atomic_fetch_sub(&h->suspended, 1); /* computed at once after all */
		return 0;
	}
	if (h->o.batch_delay_us > 0)
		maas_batcher_withdraw(&h->batcher);
	struct worker *w = this_worker;
	if (w && how == MAAS_BATCHING_PASS && pd->n >= 1 && !atomic_load(&h->no_park)) {
		/* computed by flush() at the end of the pass */
		*j = job;
		j->wake = resume;
		j->queued_at = maas_now();
		if (w->npass == w->cap)
			xgrow(&w->pass, &w->cap, w->npass + 1, sizeof *w->pass);
		w->pass[w->npass++] = pd;
		MHD_suspend_connection(pd->conn);
		r->pending = pd;
		return 1;
	}
	double t0 = maas_now();
	for (size_t i = 0; i < pd->n && !pd->rc; i += (size_t)h->o.max_batch) {
		size_t k = pd->n - i < (size_t)h->o.max_batch ? pd->n - i : (size_t)h->o.max_batch;
		pd->rc = maas_predict_tensor(m, pd->c, pd->x + i * row, (int)k, pd->p + i,
					     pd->probs ? pd->probs + i * K : NULL, &pd->e);
	}
	pd->compute_s = maas_now() - t0;
	return 0;
}

/* Answers pd, computed (at once or in a batch), and frees it. */
static void finish(struct maas_http *h, struct pending *pd, struct reply *r)
{
	if (pd->job.wake) { /* it was queued: in the batcher, or in its worker's pass */
		pd->rc = pd->job.rc;
		pd->late = pd->job.late;
		pd->e = pd->job.e;
		pd->queue_s = pd->job.queue_s;
		pd->compute_s = pd->job.compute_s;
	}
	r->queue_s = pd->queue_s;
	r->compute_s = pd->compute_s;
	r->computed = !pd->late && !pd->rc && pd->n;
	if (pd->late)
		reply_error(r, 504, "the request waited more than its deadline of %g ms before compute", h->o.deadline_ms);
	else if (pd->rc)
		reply_error(r, pd->e.kind == MAAS_EDATA ? 400 : 500, "%s", pd->e.msg);
	else if (pd->records)
		records_answer(h, pd, r);
	else {
		infer_answer(pd, r);
		if (h->o.monitor)
			maas_monitor_tensor(h->o.monitor, &pd->s->m, r->id, pd->x, pd->n, pd->p, pd->probs);
	}
	pending_free(pd);
}

/* The fast path (fastjson.h) for the common body: 1 with *fj, or 0. */
static int fast_infer(struct maas_http *h, struct slot *s, const char *body, size_t len, struct maas_fastjson_infer *fj)
{
	const struct maas_served *m = &s->m;
	struct maas_fastjson_expect w = {
		.input = s->input_name, .ndim = m->T ? 3 : 2, .dims = {-1, m->T ? m->T : m->features, m->features},
		.max_rows = h->o.max_rows, .outputs = {"probabilities", "class", "label"}, .noutputs = 3,
	};
	if (!m->classification) {
		w.outputs[0] = "value";
		w.noutputs = 1;
	}
	return maas_fastjson_infer(body, len, &w, fj);
}

static void infer(struct maas_http *h, struct slot *s, const char *body, size_t len, struct reply *r)
{
	const struct maas_served *m = &s->m;
	json_error_t je;
	struct maas_fastjson_infer fj;
	int fast;
	json_t *req;
	const json_t *inputs, *in, *shape, *id;
	const char *name, *dtype, *idstr = NULL;
	size_t n, row = (size_t)(m->T ? m->T : 1) * (size_t)m->features, total, k = 0;
	int want;
	float *x = NULL;

	if (batching(h, s) == MAAS_BATCHING_ACROSS) /* a leader may wait for this one */
		maas_batcher_announce(&h->batcher, m);
	fast = fast_infer(h, s, body, len, &fj);
	req = fast ? NULL : json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &je);
	if (fast) {
		n = fj.n;
		x = fj.x;
		fj.x = NULL;
		idstr = fj.id;
		want = !fj.outputs ? (m->classification ? OUT_PROBS | OUT_CLASS | OUT_LABEL : OUT_VALUE)
		     : m->classification ? (int)fj.outputs : OUT_VALUE;
		goto compute;
	}
	if (!req) {
		reply_error(r, 400, "cannot parse the request: %s (line %d, column %d)", je.text, je.line, je.column);
		goto out;
	}
	if (!json_is_object(req)) {
		reply_error(r, 400, "the request must be a JSON object");
		goto out;
	}
	inputs = json_object_get(req, "inputs");
	if (!json_is_array(inputs) || json_array_size(inputs) != 1) {
		reply_error(r, 400, "'inputs' must be an array of one tensor, '%s'", s->input_name);
		goto out;
	}
	in = json_array_get(inputs, 0);
	name = json_string_value(json_object_get(in, "name"));
	dtype = json_string_value(json_object_get(in, "datatype"));
	shape = json_object_get(in, "shape");
	if (!name || strcmp(name, s->input_name)) {
		reply_error(r, 400, "unknown input '%s': model '%s' takes '%s'", name ? name : "", m->name, s->input_name);
		goto out;
	}
	if (!dtype || strcmp(dtype, "FP32")) {
		reply_error(r, 400, "input '%s': datatype '%s' is not supported; the model takes FP32", name,
			    dtype ? dtype : "");
		goto out;
	}
	size_t ndim = m->T ? 3 : 2;
	int ok = json_is_array(shape) && json_array_size(shape) == ndim;
	for (size_t i = 0; ok && i < ndim; i++) {
		const json_t *d = json_array_get(shape, i);
		ok = json_is_integer(d) && json_integer_value(d) >= 0;
	}
	if (ok && m->T)
		ok = json_integer_value(json_array_get(shape, 1)) == m->T;
	if (ok)
		ok = json_integer_value(json_array_get(shape, ndim - 1)) == m->features;
	if (!ok) {
		if (m->T)
			reply_error(r, 400, "input '%s': shape must be [n, %d, %d]", name, m->T, m->features);
		else
			reply_error(r, 400, "input '%s': shape must be [n, %d]", name, m->features);
		goto out;
	}
	n = (size_t)json_integer_value(json_array_get(shape, 0));
	if (h->o.max_rows && n > h->o.max_rows) {
		reply_error(r, 413, "input '%s': %zu rows exceed the limit of %zu per request", name, n, h->o.max_rows);
		goto out;
	}
	/* every number takes at least two bytes of the body: no allocation beyond that */
	if (maas_mul_overflow(n, row, &total) || total > len / 2 + 1) {
		reply_error(r, 400, "input '%s': shape [%zu, ...] does not match the data", name, n);
		goto out;
	}
	if ((want = requested_outputs(m, req, r)) < 0)
		goto out;

	x = xmallocarray(total ? total : 1, sizeof *x);
	if (flatten(json_object_get(in, "data"), x, total, &k, name, r)) {
		free(x);
		goto out;
	}
	if (k != total) {
		reply_error(r, 400, "input '%s': data has %zu elements, the shape says %zu", name, k, total);
		free(x);
		goto out;
	}
	if ((id = json_object_get(req, "id")) && json_is_string(id))
		idstr = json_string_value(id);
compute:;
	struct pending *pd = pending_new(h, s, r, n);
	pd->xown = x;
	pd->x = x;
	pd->want = want;
	pd->id = idstr ? xstrdup(idstr) : NULL;
	if (!compute(h, pd, r))
		finish(h, pd, r);
out:
	if (h->o.batch_delay_us > 0)
		maas_batcher_withdraw(&h->batcher);
	maas_fastjson_infer_release(&fj);
	json_decref(req);
}

/* ---- POST /v1/models/{m}:predict ---- */

/* One CSV cell as JSON: empty -> null, a whole number -> number, else string. */
static json_t *csv_cell(const char *s, size_t n, int quoted)
{
	char *t = xstrndup(s, n), *end;
	json_t *v;
	double d;
	if (!n && !quoted)
		v = json_null();
	else if (!quoted && (d = strtod(t, &end), end != t && !*end) && isfinite(d))
		v = json_real(d);
	else
		v = json_stringn(s, n);
	free(t);
	return v;
}

/* A CSV body (RFC 4180, a header row) as an array of objects; rows are
 * grouped T at a time for windowed models.  NULL with a reply on error. */
static json_t *csv_instances(const struct maas_served *m, const char *s, size_t len, struct reply *r)
{
	json_t *names = json_array(), *rows = json_array(), *row = NULL, *out = NULL;
	struct maas_buf cell;
	size_t i = 0, col = 0, line = 1;
	int quoted = 0;

	maas_buf_init(&cell);
	while (i <= len) {
		int end_of_cell = 0, end_of_row = 0;
		if (i == len) {
			end_of_cell = end_of_row = cell.len || col || quoted;
			i++;
		} else if (s[i] == '"' && !cell.len && !quoted) {
			/* a quoted cell */
			quoted = 1;
			for (i++;; i++) {
				if (i >= len) {
					reply_error(r, 400, "CSV line %zu: unterminated quoted field", line);
					goto fail;
				}
				if (s[i] == '"' && i + 1 < len && s[i + 1] == '"')
					maas_buf_add(&cell, s + i++, 1);
				else if (s[i] == '"')
					break;
				else
					maas_buf_add(&cell, s + i, 1);
			}
			i++;
			continue;
		} else if (s[i] == ',') {
			end_of_cell = 1;
			i++;
		} else if (s[i] == '\n' || s[i] == '\r') {
			end_of_cell = end_of_row = 1;
			i += (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') ? 2 : 1;
		} else
			maas_buf_add(&cell, s + i++, 1);
		if (!end_of_cell)
			continue;
		if (line == 1) {
			json_array_append_new(names, json_stringn(cell.data ? cell.data : "", cell.len));
		} else {
			if (col >= json_array_size(names)) {
				reply_error(r, 400, "CSV line %zu: more fields than the header's %zu", line,
					    json_array_size(names));
				goto fail;
			}
			if (!row)
				row = json_object();
			json_object_set_new(row, json_string_value(json_array_get(names, col)),
					    csv_cell(cell.data ? cell.data : "", cell.len, quoted));
		}
		col++;
		cell.len = 0;
		quoted = 0;
		if (end_of_row) {
			if (line > 1 && col != json_array_size(names)) {
				reply_error(r, 400, "CSV line %zu: %zu fields, the header has %zu", line, col,
					    json_array_size(names));
				goto fail;
			}
			if (row)
				json_array_append_new(rows, row);
			row = NULL;
			col = 0;
			line++;
		}
	}
	if (!m->T) {
		out = json_incref(rows);
	} else {
		size_t nr = json_array_size(rows);
		if (nr % (size_t)m->T) {
			reply_error(r, 400, "CSV body: %zu rows are not whole windows of %d", nr, m->T);
			goto fail;
		}
		out = json_array();
		for (size_t w = 0; w < nr; w += (size_t)m->T) {
			json_t *win = json_array();
			for (size_t t = 0; t < (size_t)m->T; t++)
				json_array_append(win, json_array_get(rows, w + t));
			json_array_append_new(out, win);
		}
	}
fail:
	json_decref(row);
	json_decref(rows);
	json_decref(names);
	maas_buf_release(&cell);
	return out;
}

static void predict_records(struct maas_http *h, struct slot *s, const char *ctype, const char *body, size_t len,
			    struct reply *r)
{
	const struct maas_served *m = &s->m;
	json_t *req = NULL, *inst = NULL;
	json_error_t je;
	size_t n;

	if (batching(h, s) == MAAS_BATCHING_ACROSS) /* a leader may wait for this one */
		maas_batcher_announce(&h->batcher, m);
	if (ctype && !strncasecmp(ctype, "text/csv", 8)) {
		if (!(inst = csv_instances(m, body ? body : "", len, r)))
			goto out;
	} else {
		if (!(req = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &je))) {
			reply_error(r, 400, "cannot parse the request: %s (line %d, column %d)", je.text, je.line,
				    je.column);
			goto out;
		}
		inst = json_incref(json_object_get(req, "instances"));
		if (!json_is_array(inst)) {
			reply_error(r, 400, "the request must be {\"instances\": [...]}");
			goto out;
		}
	}
	n = json_array_size(inst);
	if (h->o.max_rows && n > h->o.max_rows) {
		reply_error(r, 413, "%zu instances exceed the limit of %zu per request", n, h->o.max_rows);
		goto out;
	}
	struct pending *pd = pending_new(h, s, r, n);
	pd->records = 1;
	pd->inst = json_incref(inst);
	if (maas_deadline_passed(r->t0, h->o.deadline_ms)) {
		pd->late = 1;
	} else if (n && batching(h, s) != MAAS_BATCHING_NONE && n <= (size_t)h->o.batch_rows && n <= (size_t)pd->c->max_batch) {
		/* features into the context, then batched like a tensor */
		const json_t **rows = xmallocarray(n, sizeof *rows);
		for (size_t i = 0; i < n; i++)
			rows[i] = json_array_get(inst, i);
		if (maas_predict_features(m, pd->c, rows, (int)n) > 0) {
			for (size_t i = 0; i < n; i++)
				if (pd->c->bad[i]) {
					pd->e = pd->c->errs[i];
					pd->rc = maas_err_prefix(&pd->e, "instance %zu", i + 1);
					break;
				}
		} else {
			pd->x = pd->c->x;
			if (compute(h, pd, r))
				pd = NULL; /* queued: answered on resume */
		}
		free(rows);
	} else if (n) {
		double t0 = maas_now();
		pd->rc = maas_predict_records(m, pd->c, inst, pd->p, pd->probs, &pd->e);
		pd->compute_s = maas_now() - t0;
	}
	if (pd)
		finish(h, pd, r);
out:
	if (h->o.batch_delay_us > 0)
		maas_batcher_withdraw(&h->batcher);
	json_decref(inst);
	json_decref(req);
}

/* ---- POST /v1/models/{m}:feedback (serve/monitor.h) ---- */

static void feedback(struct maas_http *h, struct slot *s, const char *body, size_t len, struct reply *r)
{
	json_error_t je;
	json_t *req = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &je), *ans = NULL;
	struct maas_err e;

	if (!req)
		reply_error(r, 400, "cannot parse the request: %s (line %d, column %d)", je.text, je.line, je.column);
	else if (maas_monitor_feedback(h->o.monitor, &s->m, req, &ans, &e))
		reply_error(r, e.kind == MAAS_ENOINPUT ? 404 : e.kind == MAAS_EDATA ? 400 : 500, "%s", e.msg);
	else
		reply_json(r, 200, ans);
	json_decref(req);
}

/* ---- routing ---- */

/* "{m}[/versions/{v}]" at *p up to one of `stops`; advances *p. */
static void model_path(const char **p, const char *stops, char *name, size_t nn, char *ver, size_t vn, int *has_ver)
{
	size_t k = strcspn(*p, stops);
	maas_copy_str(name, nn, *p, k);
	*p += k;
	*has_ver = 0;
	if (!strncmp(*p, "/versions/", 10)) {
		*p += 10;
		k = strcspn(*p, stops);
		maas_copy_str(ver, vn, *p, k);
		*p += k;
		*has_ver = 1;
	}
}

static int method_is(const char *method, const char *want, struct reply *r)
{
	if (!strcmp(method, want))
		return 1;
	reply_error(r, 405, "method %s is not allowed here; use %s", method, want);
	return 0;
}

/* ---- the repository extension: reloads (registry.h) ---- */

/* GET /v1/models: the loaded models, for the debug page. */
static void list_models(struct maas_http *h, struct reply *r)
{
	json_t *idx = maas_registry_index(&h->reg), *models = json_array(), *row;
	size_t i;

	json_array_foreach(idx, i, row)
		if (!strcmp(json_string_value(json_object_get(row, "state")), "READY"))
			json_array_append_new(models, json_pack("{s:O,s:O}", "name", json_object_get(row, "name"),
								"version", json_object_get(row, "version")));
	json_decref(idx);
	reply_json(r, 200, json_pack("{s:o}", "models", models));
}

/* POST /v2/repository/index, /v2/repository/models/{m}/load and .../unload.
 * A load or unload body is optional: {} or {"parameters": {}}. */
static void repository(struct maas_http *h, const char *method, const char *path, const char *body, size_t len,
		       struct reply *r)
{
	char name[256];
	size_t k;
	int load;
	json_t *req = NULL, *params;
	json_error_t je;
	struct maas_err e;

	if (!strcmp(path, "index")) {
		r->route = "repository_index";
		if (method_is(method, "POST", r))
			reply_json(r, 200, maas_registry_index(&h->reg));
		return;
	}
	if (strncmp(path, "models/", 7) || !(k = strcspn(path + 7, "/")) || k >= sizeof name ||
	    (strcmp(path + 7 + k, "/load") && strcmp(path + 7 + k, "/unload"))) {
		r->route = "other";
		reply_error(r, 404, "no such endpoint '/v2/repository/%s'", path);
		return;
	}
	snprintf(name, sizeof name, "%.*s", (int)k, path + 7);
	load = !strcmp(path + 7 + k, "/load");
	r->route = load ? "repository_load" : "repository_unload";
	if (!method_is(method, "POST", r))
		return;
	if (len) {
		req = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
		if (!json_is_object(req)) {
			reply_error(r, 400, "the request must be a JSON object, {} or {\"parameters\": {}}");
			goto out;
		}
		params = json_object_get(req, "parameters");
		if (params && (!json_is_object(params) || json_object_size(params))) {
			reply_error(r, 400, "parameters are not supported: the model is %s from its bundle's path",
				    load ? "reloaded" : "unloaded");
			goto out;
		}
	}
	if (load ? maas_registry_load(&h->reg, name, &e) : maas_registry_unload(&h->reg, name, &e)) {
		int code = e.kind == MAAS_EUSAGE ? 404 : e.kind == MAAS_EIO || e.kind == MAAS_EOS ? 500 : 400;
		reply_error(r, code, "%s", e.msg);
	} else
		reply_json(r, 200, json_object());
out:
	json_decref(req);
}

static void route(struct maas_http *h, const char *method, const char *url, const char *ctype, const char *body,
		  size_t len, struct reply *r)
{
	char name[256], ver[128];
	int has_ver;
	struct slot *s;
	const char *p;

	if (!strcmp(url, "/metrics")) {
		r->route = "metrics";
		if (method_is(method, "GET", r)) {
			r->status = 200;
			r->type = "text/plain; version=0.0.4; charset=utf-8";
			maas_serve_metrics_render(&h->metrics, &r->body);
			if (h->o.monitor)
				maas_monitor_render(h->o.monitor, &r->body);
		}
	} else if (!strcmp(url, "/v2/health/live") || !strcmp(url, "/v2/health/ready")) {
		int live = url[11] == 'l';
		r->route = live ? "live" : "ready";
		if (method_is(method, "GET", r)) {
			int up = live || !atomic_load(&h->draining);
			reply_json(r, up ? 200 : 503, json_pack("{s:b}", live ? "live" : "ready", up));
		}
	} else if (!strcmp(url, "/v2") || !strcmp(url, "/v2/")) {
		r->route = "server_metadata";
		if (method_is(method, "GET", r))
			server_metadata(r);
	} else if (!strncmp(url, "/v2/models/", 11) && url[11]) {
		p = url + 11;
		model_path(&p, "/", name, sizeof name, ver, sizeof ver, &has_ver);
		r->route = !*p ? "model_metadata" : !strcmp(p, "/ready") ? "model_ready"
			 : !strcmp(p, "/infer") ? "infer" : "other";
		if (!strcmp(r->route, "other")) {
			reply_error(r, 404, "no such endpoint '%s'", url);
			return;
		}
		if (!method_is(method, !strcmp(r->route, "infer") ? "POST" : "GET", r))
			return;
		if (!(s = find_model(h, name, has_ver ? ver : NULL, r)))
			return;
		if (!strcmp(r->route, "model_metadata"))
			model_metadata(h, s, r);
		else if (!strcmp(r->route, "model_ready")) {
			int up = !atomic_load(&h->draining);
			reply_json(r, up ? 200 : 503,
				   json_pack("{s:s,s:s,s:b}", "name", s->m.name, "version", s->m.version, "ready", up));
		}
		else
			infer(h, s, body, len, r);
	} else if (!strncmp(url, "/v1/models/", 11) && url[11]) {
		p = url + 11;
		model_path(&p, "/:", name, sizeof name, ver, sizeof ver, &has_ver);
		r->route = !strcmp(p, ":predict") ? "predict" : !strcmp(p, "/signature") ? "signature"
			 : !strcmp(p, ":feedback") && h->o.monitor ? "feedback" : "other";
		if (!strcmp(r->route, "other"))
			reply_error(r, 404, "no such endpoint '%s'", url);
		else if (!method_is(method, !strcmp(r->route, "signature") ? "GET" : "POST", r))
			return;
		else if (!(s = find_model(h, name, has_ver ? ver : NULL, r)))
			return;
		else if (!strcmp(r->route, "predict"))
			predict_records(h, s, ctype, body, len, r);
		else if (!strcmp(r->route, "feedback"))
			feedback(h, s, body, len, r);
		else
			reply_json(r, 200, maas_page_signature(&s->m));
	} else if (!strcmp(url, "/v1/models")) {
		r->route = "models";
		if (method_is(method, "GET", r))
			list_models(h, r);
	} else if (!strncmp(url, "/v2/repository/", 15)) {
		/* the one call site of the repository extension; on_request has
		 * already asked for an admin key (maas_auth_need says 1 here) */
		repository(h, method, url + 15, body, len, r);
	} else if (!strcmp(url, "/")) {
		r->route = "page";
		if (method_is(method, "GET", r)) {
			r->status = 200;
			r->type = "text/html; charset=utf-8";
			maas_page_render(&r->body);
		}
	} else {
		r->route = "other";
		reply_error(r, 404, "no such endpoint '%s'", url);
	}
}

/* ---- libmicrohttpd callbacks ---- */

static enum MHD_Result send_reply(struct maas_http *h, struct MHD_Connection *conn, struct req *q, struct reply *r)
{
	struct MHD_Response *resp;
	char idbuf[24];
	enum MHD_Result ret;

	q->ref = r->ref; /* r->model and r->version point into it */
	r->ref = NULL;
	q->status = r->status;
	q->bytes = r->body.len;
	q->model = r->model;
	q->version = r->version;
	q->route = r->route ? r->route : "other";
	q->queue_s = r->queue_s;
	q->compute_s = r->compute_s;
	q->computed = r->computed;
	q->answered = 1;
	resp = MHD_create_response_from_buffer(r->body.len, r->body.data ? r->body.data : (void *)"",
					       r->body.data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	maas_buf_init(&r->body); /* the response owns the data now */
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->type ? r->type : "application/json");
	maas_fmt_uint(idbuf, q->id);
	MHD_add_response_header(resp, "X-Request-Id", idbuf);
	if (r->retry_after) {
		snprintf(idbuf, sizeof idbuf, "%d", r->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, idbuf);
	}
	if (r->status == 401 || r->status == 403) /* RFC 6750 */
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					r->status == 401 ? "Bearer realm=\"maas-serve\""
							 : "Bearer realm=\"maas-serve\", error=\"insufficient_scope\"");
	ret = MHD_queue_response(conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct maas_http *h = cls;
	struct req *q = *con_cls;
	struct reply r;

	memset(&r, 0, sizeof r);
	maas_buf_init(&r.body);
	r.conn = conn;
	if (q) {
		r.t0 = q->t0;
		r.id = q->id;
	}
	if (!q) {
		const char *cl;
		q = xcalloc(1, sizeof *q);
		q->t0 = maas_now();
		q->id = atomic_fetch_add(&h->next_id, 1) + 1;
		q->method = !strcmp(method, "GET") ? "GET" : !strcmp(method, "POST") ? "POST" : "other";
		maas_copy_str(q->path, sizeof q->path, url, strnlen(url, sizeof q->path));
		maas_buf_init(&q->body);
		*con_cls = q;
		long now = maas_serve_metrics_in_flight(&h->metrics, 1);
		if (h->o.max_in_flight && now > (long)h->o.max_in_flight) {
			r.retry_after = 1;
			r.route = "other";
			reply_error(&r, 503, "too many requests in flight (limit %zu); retry later", h->o.max_in_flight);
			return send_reply(h, conn, q, &r);
		}
		if (h->o.auth && maas_auth_need(url) >= 0) {
			double wait;
			int st = maas_auth_check(h->o.auth,
						 MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
						 maas_auth_need(url), &q->key_id, &wait);
			if (st) {
				r.route = "other";
				if (st == 401)
					reply_error(&r, 401, "a valid API key is required: send 'Authorization: Bearer KEY'");
				else if (st == 403)
					reply_error(&r, 403, "key '%s' may only predict; this endpoint needs an admin key", q->key_id);
				else {
					r.retry_after = wait < 1 ? 1 : wait > 1e6 ? 1000000 : (int)ceil(wait);
					reply_error(&r, st, "key '%s' is over its rate limit; retry in %d s", q->key_id, r.retry_after);
				}
				return send_reply(h, conn, q, &r);
			}
		}
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > h->o.max_body) {
			r.route = "other";
			reply_error(&r, 413, "request body of %s bytes exceeds the limit of %zu bytes", cl, h->o.max_body);
			return send_reply(h, conn, q, &r);
		}
		return MHD_YES;
	}
	if (q->answered) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size) {
		if (q->too_big || q->body.len + *upload_size > h->o.max_body) {
			q->too_big = 1;
			maas_buf_release(&q->body);
		} else
			maas_buf_add(&q->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (q->pend) { /* resumed: the batch with its rows is done */
		struct pending *pd = q->pend;
		q->pend = NULL;
		r.ref = q->ref;
		r.model = q->model;
		r.version = q->version;
		r.route = q->route;
		q->ref = NULL;
		finish(h, pd, &r);
		return send_reply(h, conn, q, &r);
	}
	if (q->too_big) {
		r.route = "other";
		reply_error(&r, 413, "request body exceeds the limit of %zu bytes", h->o.max_body);
	} else
		route(h, method, url, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
		      q->body.data, q->body.len, &r);
	maas_buf_release(&q->body);
	if (r.pending) { /* queued in the batcher, the connection suspended */
		q->pend = r.pending;
		q->ref = r.ref;
		q->model = r.model;
		q->version = r.version;
		q->route = r.route;
		return MHD_YES;
	}
	return send_reply(h, conn, q, &r);
}

static void access_log(struct maas_http *h, const struct req *q, double seconds)
{
	char when[40];
	struct timespec ts;
	struct tm tm;
	struct maas_buf b;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	maas_buf_init(&b);
	maas_buf_addf(&b, "{\"time\":\"%s.%06ldZ\",\"id\":%lu,\"method\":\"%s\",\"path\":", when, ts.tv_nsec / 1000,
		      q->id, q->method);
	maas_buf_add_json_string(&b, q->path);
	maas_buf_addstr(&b, ",\"model\":");
	maas_buf_add_json_string(&b, q->model ? q->model : "");
	maas_buf_addstr(&b, ",\"version\":");
	maas_buf_add_json_string(&b, q->version ? q->version : "");
	maas_buf_addstr(&b, ",\"key\":");
	maas_buf_add_json_string(&b, q->key_id ? q->key_id : "");
	maas_buf_addf(&b, ",\"route\":\"%s\",\"status\":%d,\"bytes\":%zu,\"queue_us\":%lld,\"compute_us\":%lld,"
		      "\"total_us\":%lld}\n", q->route, q->status, q->bytes, (long long)(q->queue_s * 1e6),
		      (long long)(q->compute_s * 1e6), (long long)(seconds * 1e6));
	pthread_mutex_lock(&h->log_lock);
	fwrite(b.data, 1, b.len, h->o.access_log);
	fflush(h->o.access_log);
	pthread_mutex_unlock(&h->log_lock);
	maas_buf_release(&b);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct maas_http *h = cls;
	struct req *q = *con_cls;
	if (!q)
		return;
	if (q->answered) {
		double seconds = maas_now() - q->t0;
		maas_serve_metrics_request(&h->metrics, q->model, q->version, q->route, q->status, seconds,
					   q->computed ? q->compute_s : -1);
		if (h->o.access_log)
			access_log(h, q, seconds);
	}
	maas_serve_metrics_in_flight(&h->metrics, -1);
	pending_free(q->pend); /* resumed (its job done), then closed before the answer */
	maas_reg_entry_put(q->ref);
	maas_buf_release(&q->body);
	free(q);
	*con_cls = NULL;
}

/* ---- the workers ---- */

/* Computes the rows of the requests suspended in this pass, one forward
 * pass a model for all of them in arrival order (maas_batch_run, as the
 * batcher does), and resumes them; a request past its deadline is resumed
 * uncomputed (504). */
static void flush(struct worker *w)
{
	struct maas_http *h = w->h;

	xgrow(&w->waits, &w->capw, w->npass, sizeof *w->waits);
	for (size_t i = 0; i < w->npass; i++) {
		const struct slot *s = w->pass[i] ? w->pass[i]->s : NULL;
		struct maas_batcher_job *batch = NULL, **tail = &batch, *late = NULL, *j, *next;
		double t0 = maas_now();
		size_t k = 0;
		int rows = 0;

		if (!s)
			continue;
		for (size_t q = i; q < w->npass; q++) {
			if (!w->pass[q] || w->pass[q]->s != s)
				continue;
			j = &w->pass[q]->job;
			w->pass[q] = NULL;
			j->queue_s = t0 - j->queued_at;
			if (maas_deadline_passed(j->t0, j->deadline_ms)) {
				j->late = 1;
				j->next = late;
				late = j;
				continue;
			}
			j->next = NULL;
			*tail = j;
			tail = &j->next;
			rows += j->n;
			w->waits[k++] = j->queue_s;
		}
		if (batch) {
			maas_batch_run(&w->scratch, batch, rows);
			double took = maas_now() - t0;
			for (j = batch; j; j = j->next)
				j->compute_s = took;
			maas_serve_metrics_batch(&h->metrics, s->m.name, s->m.version, rows, w->waits, k);
		}
		for (j = batch; j; j = next) {
			next = j->next;
			j->wake(j);
		}
		for (j = late; j; j = next) {
			next = j->next;
			j->wake(j);
		}
	}
	w->npass = 0;
}

/* Wakes a worker from its poll (NULL: nothing to do). */
static void poke(struct worker *w)
{
	uint64_t one = 1;
	if (w && write(w->wake_fd, &one, sizeof one) < 0)
		return; /* full: it is awake already */
}

/* A worker's loop: wait for its connections (polling the daemon's epoll
 * descriptor: epoll_wait on it would take the events MHD_run needs), let
 * libmicrohttpd handle what is ready, compute the pass.  Right after a
 * flush it does not wait: the resumed connections are to be answered. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct maas_http *h = w->h;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_EPOLL_FD);
	struct pollfd pfd[2] = {{.fd = info ? info->epoll_fd : -1, .events = POLLIN}, {.fd = w->wake_fd, .events = POLLIN}};
	uint64_t pokes;
	int flushed = 0;

	this_worker = w;
	for (;;) {
		/* read before MHD_run, so that this run comes after whatever the
		 * stop waited for (the batcher's last resumptions) */
		int stopping = atomic_load(&h->stop_workers);
		if (atomic_load(&h->quiesce) && !atomic_load(&w->quiesced)) {
			MHD_quiesce_daemon(w->d); /* in its own thread: no MHD_run meanwhile */
			atomic_store(&w->quiesced, 1);
		}
		if (!flushed && !stopping) {
			MHD_UNSIGNED_LONG_LONG ms;
			int wait = -1; /* until a connection times out; the stop pokes */
			if (MHD_get_timeout(w->d, &ms) == MHD_YES)
				wait = ms < 3600000 ? (int)ms : 3600000;
			if (poll(pfd, 2, wait) > 0 && (pfd[1].revents & POLLIN))
				while (read(w->wake_fd, &pokes, sizeof pokes) > 0)
					;
		}
		MHD_run(w->d);
		flushed = w->npass > 0;
		if (flushed)
			flush(w);
		/* it stops only after an MHD_run that suspended nothing: the
		 * connections resumed before have been answered (libmicrohttpd
		 * must not stop with one still suspended; from the drain on,
		 * compute() suspends none) */
		else if (stopping)
			break;
	}
	return NULL;
}

/* Stops the workers' threads (each ends after a flush: nothing stays
 * suspended), then their daemons, quiesced (the listening socket is
 * maas_http_stop's to close). */
static void workers_stop(struct maas_http *h)
{
	atomic_store(&h->stop_workers, 1);
	for (int i = 0; i < h->nworkers; i++)
		poke(&h->workers[i]);
	for (int i = 0; i < h->nworkers; i++)
		if (h->workers[i].started)
			pthread_join(h->workers[i].thread, NULL);
	for (int i = h->nworkers - 1; i >= 0; i--) {
		struct worker *w = &h->workers[i];
		if (w->d) {
			if (!atomic_load(&w->quiesced))
				MHD_quiesce_daemon(w->d);
			MHD_stop_daemon(w->d);
		}
		if (w->wake_fd >= 0)
			close(w->wake_fd);
		free(w->pass);
		maas_batch_scratch_release(&w->scratch);
		free(w->waits);
	}
	free(h->workers);
	h->workers = NULL;
	h->nworkers = 0;
}

/* ---- start and stop ---- */

/* Whether a server accepts on the Unix socket at un: 1 yes, 0 no (a
 * socket file left by a server that died), -1 with errno when it cannot
 * be told.  A full backlog (EAGAIN) is a live server. */
static int unix_socket_live(const struct sockaddr_un *un)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), rc, err;

	if (fd < 0)
		return -1;
	rc = connect(fd, (const struct sockaddr *)un, sizeof *un);
	err = errno;
	close(fd);
	if (!rc || err == EAGAIN || err == EINPROGRESS)
		return 1;
	if (err == ECONNREFUSED || err == ENOENT)
		return 0;
	errno = err;
	return -1;
}

/* Binds h->unix_path and listens on it, non-blocking as libmicrohttpd's
 * epoll threads want; a stale socket file there is replaced, nothing
 * else.  Returns the socket, or -1 with e set. */
static int listen_unix(struct maas_http *h, struct maas_err *e)
{
	const char *path = h->unix_path;
	struct sockaddr_un un;
	struct stat st;
	int fd, err;

	memset(&un, 0, sizeof un);
	un.sun_family = AF_UNIX;
	if (strlen(path) > UNIX_PATH_MAX)
		return maas_err_set(e, MAAS_EUSAGE, "bad listen address 'unix:%s': the socket path is longer than %zu bytes",
				    path, UNIX_PATH_MAX);
	memcpy(un.sun_path, path, strlen(path) + 1);
	if (!lstat(path, &st)) {
		int live;
		if (!S_ISSOCK(st.st_mode))
			return maas_err_set(e, MAAS_ECANTCREAT,
					    "cannot listen on 'unix:%s': the file exists and is not a socket; "
					    "remove it or choose another path", path);
		if ((live = unix_socket_live(&un)) > 0)
			return maas_err_set(e, MAAS_EOS, "cannot listen on 'unix:%s': another server is listening on it",
					    path);
		if (live < 0)
			return maas_err_sys(e, MAAS_EOS, "cannot listen on 'unix:%s': cannot tell whether a server uses it",
					    path);
		if (unlink(path) && errno != ENOENT) /* stale: the server that made it is gone */
			return maas_err_sys(e, MAAS_EOS, "cannot replace the stale socket 'unix:%s'", path);
	} else if (errno != ENOENT) {
		return maas_err_sys(e, MAAS_EOS, "cannot listen on 'unix:%s'", path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return maas_err_sys(e, MAAS_EOS, "cannot listen on 'unix:%s'", path);
	if (bind(fd, (struct sockaddr *)&un, sizeof un)) {
		err = errno;
		close(fd);
		errno = err;
		return maas_err_sys(e, MAAS_EOS, "cannot listen on 'unix:%s'", path);
	}
	if (listen(fd, SOMAXCONN) || fstat(fd, &st) || lstat(path, &st)) {
		err = errno;
		close(fd);
		unlink(path);
		errno = err;
		return maas_err_sys(e, MAAS_EOS, "cannot listen on 'unix:%s'", path);
	}
	h->unix_dev = st.st_dev;
	h->unix_ino = st.st_ino;
	return fd;
}

/* Removes the socket file listen_unix made, unless another took its path. */
static void unlink_unix(struct maas_http *h)
{
	struct stat st;

	if (!h->unix_path)
		return;
	if (!lstat(h->unix_path, &st) && S_ISSOCK(st.st_mode) && st.st_dev == h->unix_dev && st.st_ino == h->unix_ino)
		unlink(h->unix_path);
	free(h->unix_path);
	h->unix_path = NULL;
}

int maas_http_start(struct maas_http **out, struct maas_served *const *models, size_t n,
		    const struct maas_http_opts *o, struct maas_err *e)
{
	struct maas_http *h = xcalloc(1, sizeof *h);
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME; /* driven by our workers */
	/* where to listen: an address for libmicrohttpd to bind, or our Unix socket */
	struct MHD_OptionItem where[] = {{MHD_OPTION_SOCK_ADDR, 0, &ss}, {MHD_OPTION_END, 0, NULL}};
	const union MHD_DaemonInfo *info;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int fd = -1;

	h->o = *o;
	if (!h->o.addr)
		h->o.addr = "127.0.0.1";
	if (!h->o.max_body)
		h->o.max_body = DEFAULT_MAX_BODY;
	if (h->o.max_batch <= 0)
		h->o.max_batch = DEFAULT_MAX_BATCH;
	if (h->o.threads <= 0)
		h->o.threads = cores > 0 ? (int)cores : 1;
	memset(&ss, 0, sizeof ss);
	if (h->o.unix_path) {
		h->unix_path = xstrdup(h->o.unix_path);
		if ((fd = listen_unix(h, e)) < 0) {
			free(h->unix_path);
			free(h);
			return -1;
		}
		where[0].option = MHD_OPTION_LISTEN_SOCKET;
		where[0].value = fd;
		where[0].ptr_value = NULL;
	} else if (inet_pton(AF_INET, h->o.addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)h->o.port);
	} else if (inet_pton(AF_INET6, h->o.addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)h->o.port);
		flags |= MHD_USE_IPv6;
	} else {
		free(h);
		return maas_err_set(e, MAAS_EUSAGE, "bad listen address '%s': not an IPv4 or IPv6 address", o->addr);
	}

	maas_serve_metrics_init(&h->metrics);
	pthread_mutex_init(&h->log_lock, NULL);
	atomic_init(&h->next_id, 0);
	atomic_init(&h->draining, 0);
	atomic_init(&h->suspended, 0);
	atomic_init(&h->no_park, 0);
	if (h->o.batch_rows <= 0)
		h->o.batch_rows = MAAS_BATCHER_ROWS;
	if (h->o.batch_delay_us > 0 &&
	    maas_batcher_init(&h->batcher, h->o.batch_rows, h->o.batch_delay_us, &h->metrics.in_flight, &h->metrics, e)) {
		maas_batcher_release(&h->batcher);
		maas_serve_metrics_release(&h->metrics);
		pthread_mutex_destroy(&h->log_lock);
		if (fd >= 0) {
			close(fd);
			unlink_unix(h);
		}
		free(h);
		return -1;
	}
	maas_registry_init(&h->reg, h->o.max_batch, &h->metrics);
	for (size_t i = 0; i < n; i++)
		maas_registry_add(&h->reg, models[i]);

	errno = 0;
	h->nworkers = h->o.threads;
	h->workers = xcalloc((size_t)h->nworkers, sizeof *h->workers);
	for (int i = 0; i < h->nworkers; i++)
		h->workers[i].wake_fd = -1;
	for (int i = 0; i < h->nworkers; i++) {
		struct worker *w = &h->workers[i];
		w->h = h;
		if ((w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			break;
		if (i) { /* the others listen on the first one's socket */
			const union MHD_DaemonInfo *li = MHD_get_daemon_info(h->workers[0].d, MHD_DAEMON_INFO_LISTEN_FD);
			where[0].option = MHD_OPTION_LISTEN_SOCKET;
			where[0].value = li ? li->listen_fd : MHD_INVALID_SOCKET;
			where[0].ptr_value = NULL;
		}
		w->d = MHD_start_daemon(flags, (uint16_t)h->o.port, NULL, NULL, on_request, h,
					MHD_OPTION_ARRAY, where,
					MHD_OPTION_CONNECTION_TIMEOUT, h->o.idle_timeout ? h->o.idle_timeout : DEFAULT_IDLE_TIMEOUT,
					MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
					MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
					MHD_OPTION_END);
		if (!w->d)
			break;
	}
	h->d = h->workers[0].d;
	{
		const union MHD_DaemonInfo *li = h->d ? MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_LISTEN_FD) : NULL;
		MHD_socket lfd = li ? li->listen_fd : MHD_INVALID_SOCKET;
		int ok = 1;
		for (int i = 0; i < h->nworkers; i++)
			ok = ok && h->workers[i].d;
		int err = errno;
		for (int i = 0; ok && i < h->nworkers; i++) {
			int rc = pthread_create(&h->workers[i].thread, NULL, worker_main, &h->workers[i]);
			ok = h->workers[i].started = !rc;
			if (rc)
				err = rc; /* pthread_create says why in its result, not in errno */
		}
		if (!ok) {
			workers_stop(h); /* quiesced: none closes the listening socket */
			if (fd < 0 && lfd != MHD_INVALID_SOCKET)
				close(lfd);
			h->d = NULL;
			errno = err;
		}
	}
	if (!h->d) {
		int err = errno;
		maas_batcher_release(&h->batcher);
		maas_registry_release(&h->reg);
		maas_serve_metrics_release(&h->metrics);
		pthread_mutex_destroy(&h->log_lock);
		if (fd >= 0) {
			close(fd);
			maas_err_set(e, MAAS_EOS, "cannot listen on 'unix:%s': the HTTP server did not start", h->unix_path);
			unlink_unix(h);
			free(h);
			return -1;
		}
		free(h);
		errno = err ? err : EADDRINUSE;
		return maas_err_sys(e, MAAS_EOS, "cannot listen on '%s:%d'", o->addr ? o->addr : "127.0.0.1", o->port);
	}
	if (h->unix_path) {
		h->port = 0;
		snprintf(h->url, sizeof h->url, "unix:%s", h->unix_path);
	} else {
		info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
		h->port = info ? info->port : h->o.port;
		if (strchr(h->o.addr, ':'))
			snprintf(h->url, sizeof h->url, "http://[%s]:%d", h->o.addr, h->port);
		else
			snprintf(h->url, sizeof h->url, "http://%s:%d", h->o.addr, h->port);
	}
	*out = h;
	return 0;
}

int maas_http_port(const struct maas_http *h)
{
	return h->port;
}

const char *maas_http_url(const struct maas_http *h)
{
	return h->url;
}

struct maas_registry *maas_http_registry(struct maas_http *h)
{
	return &h->reg;
}

long maas_http_stop(struct maas_http *h, double drain_seconds)
{
	double deadline = maas_now() + drain_seconds;
	const union MHD_DaemonInfo *li = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_LISTEN_FD);
	MHD_socket fd = li ? li->listen_fd : MHD_INVALID_SOCKET;
	long left;

	atomic_store(&h->draining, 1); /* not ready from now on */
	atomic_store(&h->no_park, 1);  /* requests of the drain are computed at once */
	/* each worker stops listening in its own thread (no MHD_run at the
	 * same time); then new connections are refused at once (they would
	 * wait in the backlog through the drain); the descriptor itself is
	 * closed only after the daemons stop */
	atomic_store(&h->quiesce, 1);
	for (int i = 0; i < h->nworkers; i++)
		poke(&h->workers[i]);
	for (int i = 0; i < h->nworkers; i++)
		while (!atomic_load(&h->workers[i].quiesced))
			usleep(1000);
	if (fd != MHD_INVALID_SOCKET)
		shutdown(fd, SHUT_RDWR);
	unlink_unix(h); /* the path is free for a new server while this one drains */
	while ((left = maas_serve_metrics_in_flight(&h->metrics, 0)) > 0 && maas_now() < deadline)
		usleep(5000);
	/* libmicrohttpd must not stop with a suspended connection; the
	 * batcher resumes every one within a forward pass, and a worker's pass
	 * ends with a flush */
	while (atomic_load(&h->suspended) > 0)
		usleep(1000);
	workers_stop(h);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	maas_batcher_release(&h->batcher);
	maas_registry_release(&h->reg);
	maas_serve_metrics_release(&h->metrics);
	pthread_mutex_destroy(&h->log_lock);
	free(h);
	return left;
}
