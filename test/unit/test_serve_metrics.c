/* test_serve_metrics.c - the Prometheus text of lib/serve/metrics.c and
 * the --listen parser of lib/serve/http.c. */
#include <stdlib.h>
#include <string.h>

#include "serve/http.h"
#include "serve/metrics.h"
#include "tap.h"

static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
			return 1;
	return 0;
}

static void test_render(void)
{
	struct maas_serve_metrics m;
	struct maas_buf b;

	maas_serve_metrics_init(&m);
	maas_buf_init(&b);
	maas_serve_metrics_request(&m, "iris", "1", "infer", 200, 0.0003, 0.0001);
	maas_serve_metrics_request(&m, "iris", "1", "infer", 200, 0.002, 0.001);
	maas_serve_metrics_request(&m, "iris", "1", "infer", 400, 7.0, -1);
	maas_serve_metrics_request(&m, "we\"ird\\", "1\n", "predict", 200, 0.5, -1);
	maas_serve_metrics_model_load(&m, "iris", "1", 0.25);
	maas_serve_metrics_model_load(&m, "iris", "1", 0.125);
	is_int(maas_serve_metrics_in_flight(&m, 2), 2, "in flight goes up");
	is_int(maas_serve_metrics_in_flight(&m, -1), 1, "and down");
	maas_serve_metrics_render(&m, &b);

	ok(has_line(b.data, "# TYPE maas_requests_total counter"), "requests are a counter");
	ok(has_line(b.data, "maas_requests_total{model=\"iris\",version=\"1\",route=\"infer\",code=\"200\"} 2"), "200s counted");
	ok(has_line(b.data, "maas_requests_total{model=\"iris\",version=\"1\",route=\"infer\",code=\"400\"} 1"), "400s counted");
	ok(has_line(b.data, "maas_requests_total{model=\"we\\\"ird\\\\\",version=\"1\\n\",route=\"predict\",code=\"200\"} 1"),
	   "label values escaped");
	ok(has_line(b.data, "# TYPE maas_request_duration_seconds histogram"), "a histogram");
	/* compute: the two answered requests only (0.0001 -> le 0.00025, 0.001 -> le 0.001) */
	ok(has_line(b.data, "maas_compute_seconds_count{model=\"iris\",version=\"1\"} 2"), "compute: requests with a pass");
	ok(has_line(b.data, "maas_compute_seconds_bucket{model=\"iris\",version=\"1\",le=\"0.00025\"} 1"), "compute bucket");
	/* the histogram merges codes: 0.0003 -> le 0.0005, 0.002 -> le 0.0025, 7 -> +Inf only */
	ok(has_line(b.data, "maas_request_duration_seconds_bucket{model=\"iris\",version=\"1\",route=\"infer\",le=\"0.00025\"} 0"), "bucket below");
	ok(has_line(b.data, "maas_request_duration_seconds_bucket{model=\"iris\",version=\"1\",route=\"infer\",le=\"0.0005\"} 1"), "bucket 0.0005");
	ok(has_line(b.data, "maas_request_duration_seconds_bucket{model=\"iris\",version=\"1\",route=\"infer\",le=\"0.0025\"} 2"), "cumulative");
	ok(has_line(b.data, "maas_request_duration_seconds_bucket{model=\"iris\",version=\"1\",route=\"infer\",le=\"2.5\"} 2"), "7 s beyond 2.5");
	ok(has_line(b.data, "maas_request_duration_seconds_bucket{model=\"iris\",version=\"1\",route=\"infer\",le=\"+Inf\"} 3"), "+Inf is the count");
	ok(has_line(b.data, "maas_request_duration_seconds_count{model=\"iris\",version=\"1\",route=\"infer\"} 3"), "count");
	ok(has_line(b.data, "maas_request_duration_seconds_sum{model=\"iris\",version=\"1\",route=\"infer\"} 7.0023"), "sum");
	ok(has_line(b.data, "maas_model_loads_total{model=\"iris\",version=\"1\",result=\"ok\"} 2"), "loads counted");
	ok(has_line(b.data, "maas_model_load_seconds{model=\"iris\",version=\"1\"} 0.125"), "the last load's time");
	ok(has_line(b.data, "maas_in_flight_requests 1"), "in-flight gauge");
	ok(strstr(b.data, "\nprocess_resident_memory_bytes ") && strstr(b.data, "\nprocess_open_fds ") &&
	   strstr(b.data, "\nprocess_cpu_seconds_total ") && strstr(b.data, "\nprocess_start_time_seconds "),
	   "process metrics");
	ok(b.len && b.data[b.len - 1] == '\n', "ends with a newline");
	maas_buf_release(&b);
	maas_serve_metrics_release(&m);
}

static void test_listen(void)
{
	struct maas_http_opts o;
	struct maas_err e;
	char *copy = NULL;

	maas_http_opts_init(&o);
	is_str(o.addr, "127.0.0.1", "default address");
	is_int(o.port, 8080, "default port");
	is_int(maas_http_parse_listen(&o, "0.0.0.0:9000", &copy, &e), 0, "ADDR:PORT");
	is_str(o.addr, "0.0.0.0", "address");
	is_int(o.port, 9000, "port");
	free(copy);
	is_int(maas_http_parse_listen(&o, "[::1]:0", &copy, &e), 0, "[IPv6]:PORT");
	is_str(o.addr, "::1", "brackets dropped");
	is_int(o.port, 0, "port 0");
	free(copy);
	is_int(maas_http_parse_listen(&o, ":81", &copy, &e), 0, ":PORT");
	is_str(o.addr, "127.0.0.1", "loopback by default");
	free(copy);
	copy = NULL;
	is_int(maas_http_parse_listen(&o, "localhost", &copy, &e), -1, "no port");
	is_int(e.kind, MAAS_EUSAGE, "a usage error");
	ok(strstr(e.msg, "bad listen address 'localhost'") != NULL, "names it: %s", e.msg);
	is_int(maas_http_parse_listen(&o, "1.2.3.4:65536", &copy, &e), -1, "port too large");
	is_int(maas_http_parse_listen(&o, "[::1:80", &copy, &e), -1, "unbalanced bracket");
	ok(copy == NULL, "nothing to free after an error");

	/* Unix sockets: sun_path holds 108 bytes with the NUL */
	char path[200];
	is_int(maas_http_parse_listen(&o, "unix:/run/maas.sock", &copy, &e), 0, "unix:PATH");
	is_str(o.unix_path, "/run/maas.sock", "the path");
	ok(o.addr == NULL, "no address");
	free(copy);
	is_int(maas_http_parse_listen(&o, "127.0.0.1:80", &copy, &e), 0, "ADDR:PORT after unix:PATH");
	ok(o.unix_path == NULL, "the path is reset");
	free(copy);
	copy = NULL;
	memset(path, 0, sizeof path);
	memcpy(path, "unix:", 5);
	memset(path + 5, 'a', 107);
	is_int(maas_http_parse_listen(&o, path, &copy, &e), 0, "a 107-byte path");
	free(copy);
	copy = NULL;
	path[5 + 107] = 'a';
	is_int(maas_http_parse_listen(&o, path, &copy, &e), -1, "a 108-byte path");
	is_int(e.kind, MAAS_EUSAGE, "a usage error");
	ok(strstr(e.msg, "is 108 bytes, a Unix socket's is at most 107") != NULL, "says why: %s", e.msg);
	is_int(maas_http_parse_listen(&o, "unix:", &copy, &e), -1, "no path");
	ok(copy == NULL, "nothing to free after an error");
}

int main(void)
{
	test_render();
	test_listen();
	return done_testing();
}
