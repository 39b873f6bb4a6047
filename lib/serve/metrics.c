/*
 * metrics.c - Prometheus counters and histograms for maas-serve, and the
 * standard process_* metrics read from /proc/self.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/mem.h"
#include "serve/metrics.h"

const double maas_serve_metrics_buckets[MAAS_SERVE_METRICS_NBUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
};

const double maas_serve_metrics_row_buckets[MAAS_SERVE_METRICS_NBUCKETS] = {
	1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192,
};

const int maas_serve_metrics_reject_codes[MAAS_SERVE_METRICS_NREJECT] = {401, 403, 413, 429, 503, 504};

struct maas_serve_series {
	char *model, *version, *route;
	int code;                                   /* 0 for load series */
	unsigned long long count;
	double sum;
	unsigned long long bucket[MAAS_SERVE_METRICS_NBUCKETS]; /* not cumulative */
};

void maas_serve_metrics_init(struct maas_serve_metrics *m)
{
	memset(m, 0, sizeof *m);
	pthread_mutex_init(&m->lock, NULL);
	atomic_init(&m->in_flight, 0);
	atomic_init(&m->queued, 0);
}

static void series_free(struct maas_serve_series *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].model);
		free(s[i].version);
		free(s[i].route);
	}
	free(s);
}

void maas_serve_metrics_release(struct maas_serve_metrics *m)
{
	series_free(m->series, m->nseries);
	series_free(m->loads, m->nloads);
	series_free(m->batches, m->nbatches);
	pthread_mutex_destroy(&m->lock);
	memset(m, 0, sizeof *m);
}

/* The series with these labels, added when new.  Called under the lock. */
static struct maas_serve_series *find(struct maas_serve_series **list, size_t *n, size_t *cap,
				       const char *model, const char *version, const char *route, int code)
{
	struct maas_serve_series *s;
	for (size_t i = 0; i < *n; i++) {
		s = &(*list)[i];
		if (s->code == code && !strcmp(s->model, model) && !strcmp(s->version, version) &&
		    !strcmp(s->route, route))
			return s;
	}
	xgrow(list, cap, *n + 1, sizeof **list);
	s = &(*list)[(*n)++];
	memset(s, 0, sizeof *s);
	s->model = xstrdup(model);
	s->version = xstrdup(version);
	s->route = xstrdup(route);
	s->code = code;
	return s;
}

static void observe(struct maas_serve_series *s, double seconds)
{
	int b = 0;
	while (b < MAAS_SERVE_METRICS_NBUCKETS && seconds > maas_serve_metrics_buckets[b])
		b++;
	if (b < MAAS_SERVE_METRICS_NBUCKETS)
		s->bucket[b]++;
	s->count++;
	s->sum += seconds;
}

static void observe_in(struct maas_serve_series *s, double v, const double *bounds);

void maas_serve_metrics_request(struct maas_serve_metrics *m, const char *model, const char *version, const char *route,
			  int code, double seconds, double compute_seconds)
{
	pthread_mutex_lock(&m->lock);
	if (compute_seconds >= 0)
		observe_in(find(&m->batches, &m->nbatches, &m->batchcap, model ? model : "", version ? version : "",
				"compute", 0),
			   compute_seconds, maas_serve_metrics_buckets);
	observe(find(&m->series, &m->nseries, &m->cap, model ? model : "", version ? version : "", route, code),
		seconds);
	for (int i = 0; i < MAAS_SERVE_METRICS_NREJECT; i++)
		if (code == maas_serve_metrics_reject_codes[i])
			m->rejected[i]++;
	pthread_mutex_unlock(&m->lock);
}

void maas_serve_metrics_model_load(struct maas_serve_metrics *m, const char *model, const char *version, double seconds)
{
	maas_serve_metrics_model_load_result(m, model, version, 1, seconds);
}

void maas_serve_metrics_model_load_result(struct maas_serve_metrics *m, const char *model, const char *version, int ok,
					  double seconds)
{
	pthread_mutex_lock(&m->lock);
	/* load series keep their result in the route field */
	struct maas_serve_series *s = find(&m->loads, &m->nloads, &m->loadcap, model, version, ok ? "ok" : "failed", 0);
	s->count++;
	s->sum = seconds; /* the last load's time */
	pthread_mutex_unlock(&m->lock);
}

static void observe_in(struct maas_serve_series *s, double v, const double *bounds)
{
	int b = 0;
	while (b < MAAS_SERVE_METRICS_NBUCKETS && v > bounds[b])
		b++;
	if (b < MAAS_SERVE_METRICS_NBUCKETS)
		s->bucket[b]++;
	s->count++;
	s->sum += v;
}

void maas_serve_metrics_batch(struct maas_serve_metrics *m, const char *model, const char *version, int rows,
			      const double *waits, size_t njobs)
{
	pthread_mutex_lock(&m->lock);
	observe_in(find(&m->batches, &m->nbatches, &m->batchcap, model, version, "rows", 0), rows,
		   maas_serve_metrics_row_buckets);
	struct maas_serve_series *q = find(&m->batches, &m->nbatches, &m->batchcap, model, version, "queue", 0);
	for (size_t i = 0; i < njobs; i++)
		observe_in(q, waits[i], maas_serve_metrics_buckets);
	pthread_mutex_unlock(&m->lock);
}

long maas_serve_metrics_in_flight(struct maas_serve_metrics *m, long delta)
{
	return atomic_fetch_add(&m->in_flight, delta) + delta;
}

void maas_prom_label(struct maas_buf *b, const char *name, const char *v, int first)
{
	maas_buf_addf(b, "%s%s=\"", first ? "" : ",", name);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			maas_buf_addf(b, "\\%c", *v);
		else if (*v == '\n')
			maas_buf_addstr(b, "\\n");
		else
			maas_buf_add(b, v, 1);
	}
	maas_buf_addstr(b, "\"");
}

static void labels(struct maas_buf *b, const struct maas_serve_series *s, int with_route)
{
	maas_prom_label(b, "model", s->model, 1);
	maas_prom_label(b, "version", s->version, 0);
	if (with_route)
		maas_prom_label(b, "route", s->route, 0);
}

void maas_prom_header(struct maas_buf *b, const char *name, const char *type, const char *help)
{
	maas_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The histograms of the batching series of one kind (route). */
static void render_batches(struct maas_serve_metrics *m, struct maas_buf *b, const char *name, const char *route,
			   const double *bounds, const char *help)
{
	maas_prom_header(b, name, "histogram", help);
	for (size_t i = 0; i < m->nbatches; i++) {
		const struct maas_serve_series *s = &m->batches[i];
		unsigned long long cum = 0;
		if (strcmp(s->route, route))
			continue;
		for (int k = 0; k < MAAS_SERVE_METRICS_NBUCKETS; k++) {
			cum += s->bucket[k];
			maas_buf_addf(b, "%s_bucket{", name);
			labels(b, s, 0);
			maas_buf_addf(b, ",le=\"%g\"} %llu\n", bounds[k], cum);
		}
		maas_buf_addf(b, "%s_bucket{", name);
		labels(b, s, 0);
		maas_buf_addf(b, ",le=\"+Inf\"} %llu\n%s_sum{", s->count, name);
		labels(b, s, 0);
		maas_buf_addf(b, "} %.9g\n%s_count{", s->sum, name);
		labels(b, s, 0);
		maas_buf_addf(b, "} %llu\n", s->count);
	}
}

/* process_*: from /proc/self/stat, /proc/stat and /proc/self/fd */
static void render_process(struct maas_buf *b)
{
	char buf[4096], *p;
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	unsigned long long utime = 0, stime = 0, start = 0, btime = 0;
	long long rss = 0;

	if (f)
		fclose(f);
	buf[n] = 0;
	/* fields after the command name, which is in parentheses and may hold spaces */
	if ((p = strrchr(buf, ')'))) {
		int field = 2;
		char *save = NULL;
		for (char *tok = strtok_r(p + 1, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			field++;
			if (field == 14) utime = strtoull(tok, NULL, 10);
			else if (field == 15) stime = strtoull(tok, NULL, 10);
			else if (field == 22) start = strtoull(tok, NULL, 10);
			else if (field == 24) rss = strtoll(tok, NULL, 10);
		}
	}
	if ((f = fopen("/proc/stat", "r"))) {
		char line[512];
		while (fgets(line, sizeof line, f))
			if (!strncmp(line, "btime ", 6))
				btime = strtoull(line + 6, NULL, 10);
		fclose(f);
	}
	if (tick <= 0)
		tick = 100;
	maas_prom_header(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
	maas_buf_addf(b, "process_cpu_seconds_total %.2f\n", (double)(utime + stime) / (double)tick);
	maas_prom_header(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	maas_buf_addf(b, "process_resident_memory_bytes %lld\n", rss * (long long)page);
	maas_prom_header(b, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
	maas_buf_addf(b, "process_start_time_seconds %.2f\n", (double)btime + (double)start / (double)tick);

	long fds = 0;
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				fds++;
		closedir(d);
		fds--; /* the directory stream's own */
	}
	maas_prom_header(b, "process_open_fds", "gauge", "Number of open file descriptors.");
	maas_buf_addf(b, "process_open_fds %ld\n", fds);
	struct rlimit rl;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY) {
		maas_prom_header(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
		maas_buf_addf(b, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
	}
}

void maas_serve_metrics_render(struct maas_serve_metrics *m, struct maas_buf *b)
{
	pthread_mutex_lock(&m->lock);
	maas_prom_header(b, "maas_requests_total", "counter", "Requests answered, by model, version, route and status code.");
	for (size_t i = 0; i < m->nseries; i++) {
		const struct maas_serve_series *s = &m->series[i];
		maas_buf_addstr(b, "maas_requests_total{");
		labels(b, s, 1);
		maas_buf_addf(b, ",code=\"%d\"} %llu\n", s->code, s->count);
	}

	/* the histogram merges the codes of a model/version/route */
	maas_prom_header(b, "maas_request_duration_seconds", "histogram", "Total time from request to response, in seconds.");
	for (size_t i = 0; i < m->nseries; i++) {
		const struct maas_serve_series *s = &m->series[i];
		int seen = 0;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(m->series[j].model, s->model) && !strcmp(m->series[j].version, s->version) &&
			       !strcmp(m->series[j].route, s->route);
		if (seen)
			continue;
		unsigned long long bucket[MAAS_SERVE_METRICS_NBUCKETS] = {0}, count = 0, cum = 0;
		double sum = 0;
		for (size_t j = i; j < m->nseries; j++) {
			const struct maas_serve_series *t = &m->series[j];
			if (strcmp(t->model, s->model) || strcmp(t->version, s->version) || strcmp(t->route, s->route))
				continue;
			for (int k = 0; k < MAAS_SERVE_METRICS_NBUCKETS; k++)
				bucket[k] += t->bucket[k];
			count += t->count;
			sum += t->sum;
		}
		for (int k = 0; k < MAAS_SERVE_METRICS_NBUCKETS; k++) {
			cum += bucket[k];
			maas_buf_addstr(b, "maas_request_duration_seconds_bucket{");
			labels(b, s, 1);
			maas_buf_addf(b, ",le=\"%g\"} %llu\n", maas_serve_metrics_buckets[k], cum);
		}
		maas_buf_addstr(b, "maas_request_duration_seconds_bucket{");
		labels(b, s, 1);
		maas_buf_addf(b, ",le=\"+Inf\"} %llu\n", count);
		maas_buf_addstr(b, "maas_request_duration_seconds_sum{");
		labels(b, s, 1);
		maas_buf_addf(b, "} %.9g\n", sum);
		maas_buf_addstr(b, "maas_request_duration_seconds_count{");
		labels(b, s, 1);
		maas_buf_addf(b, "} %llu\n", count);
	}

	maas_prom_header(b, "maas_model_loads_total", "counter", "Model loads and reloads, by model, version and result (ok or failed).");
	for (size_t i = 0; i < m->nloads; i++) {
		maas_buf_addstr(b, "maas_model_loads_total{");
		labels(b, &m->loads[i], 0);
		maas_prom_label(b, "result", m->loads[i].route, 0);
		maas_buf_addf(b, "} %llu\n", m->loads[i].count);
	}
	maas_prom_header(b, "maas_model_load_seconds", "gauge", "Time the last load of a model took, self-test included, in seconds.");
	for (size_t i = 0; i < m->nloads; i++) {
		if (strcmp(m->loads[i].route, "ok"))
			continue;
		maas_buf_addstr(b, "maas_model_load_seconds{");
		labels(b, &m->loads[i], 0);
		maas_buf_addf(b, "} %.9g\n", m->loads[i].sum);
	}
	maas_prom_header(b, "maas_rejected_total", "counter", "Requests refused before compute, by status code.");
	for (int i = 0; i < MAAS_SERVE_METRICS_NREJECT; i++)
		maas_buf_addf(b, "maas_rejected_total{code=\"%d\"} %llu\n", maas_serve_metrics_reject_codes[i],
			      m->rejected[i]);
	render_batches(m, b, "maas_batch_rows", "rows", maas_serve_metrics_row_buckets,
		       "Rows per forward pass of dynamic batching.");
	render_batches(m, b, "maas_queue_seconds", "queue", maas_serve_metrics_buckets,
		       "Time a request waited in the batching queue, in seconds.");
	render_batches(m, b, "maas_compute_seconds", "compute", maas_serve_metrics_buckets,
		       "Time of the forward pass that computed a request's rows, in seconds.");
	pthread_mutex_unlock(&m->lock);

	maas_prom_header(b, "maas_queue_depth", "gauge", "Requests waiting in the batching queue now.");
	maas_buf_addf(b, "maas_queue_depth %ld\n", (long)atomic_load(&m->queued));
	maas_prom_header(b, "maas_in_flight_requests", "gauge", "Requests being processed now.");
	maas_buf_addf(b, "maas_in_flight_requests %ld\n", (long)atomic_load(&m->in_flight));
	render_process(b);
}
