/*
 * bench/gru-kernel.c - time of one recurrent layer's forward+backward in maas.
 *
 * The shape of the maas-train GRU benchmark by default: batch 64, windows
 * of 32 steps, 1 input feature, 64 hidden units, the loss on the last step
 * only (many-to-one); 782 batches make the 50,000-window epoch.  Prints the
 * OpenBLAS configuration, then the median and best time per batch of
 * forward, backward and both, and the epoch-equivalent:
 *
 *   maas gru B=64 T=32 C=1 H=64 threads=1, cpu time: fwd+bwd 1.800 ms/batch (median of 300, best 1.750), ...
 *
 * bench/gru-kernel.py builds and runs this beside PyTorch and prints the
 * ratio; by hand (from the top of the tree):
 *
 *   make lib/libmaas.a
 *   cc -std=c11 -D_GNU_SOURCE -O2 -Ilib bench/gru-kernel.c lib/libmaas.a \
 *      $(pkg-config --libs jansson libarchive libcrypto zlib) -lm -lpthread -o /tmp/gru-kernel
 *   /tmp/gru-kernel [-c gru|lstm|rnn] [-B 64] [-T 32] [-C 1] [-H 64] [-n reps] [-t threads] [-w]
 *
 * Times are the CPU time of the calling thread (OpenBLAS with one thread
 * computes in it), so that a busy machine disturbs them less; -w measures
 * wall time instead (use it with more than one thread).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/mem.h"
#include "core/rng.h"
#include "nn/blas.h"
#include "nn/recurrent.h"

/* CPU time of this thread (OpenBLAS runs in it with one thread): on a
 * busy machine it leaves out the time others hold the core; -w: wall time */
static clockid_t clock_id = CLOCK_THREAD_CPUTIME_ID;

static double now(void)
{
	struct timespec ts;
	clock_gettime(clock_id, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static float *randoms(struct maas_rng *r, size_t n, double k, int normal)
{
	float *a = xmallocarray(n, sizeof *a);
	for (size_t i = 0; i < n; i++)
		a[i] = (float)(normal ? maas_rng_normal(r) : (2 * maas_rng_uniform(r) - 1) * k);
	return a;
}

int main(int argc, char **argv)
{
	enum maas_cell cell = MAAS_CELL_GRU;
	int B = 64, T = 32, C = 1, H = 64, reps = 300, threads = 1, c;
	const char *cname = "gru";
	while ((c = getopt(argc, argv, "c:B:T:C:H:n:t:w")) != -1) {
		switch (c) {
		case 'c':
			cname = optarg;
			cell = !strcmp(optarg, "rnn") ? MAAS_CELL_RNN :
			       !strcmp(optarg, "lstm") ? MAAS_CELL_LSTM : MAAS_CELL_GRU;
			break;
		case 'B': B = atoi(optarg); break;
		case 'T': T = atoi(optarg); break;
		case 'C': C = atoi(optarg); break;
		case 'H': H = atoi(optarg); break;
		case 'n': reps = atoi(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'w': clock_id = CLOCK_MONOTONIC; break;
		default:
			fprintf(stderr, "usage: gru-kernel [-c gru|lstm|rnn] [-B n] [-T n] [-C n] [-H n] "
				"[-n reps] [-t threads] [-w]\n");
			return 64;
		}
	}
	if (B < 1 || T < 1 || C < 1 || H < 1 || reps < 1 || threads < 1) {
		fprintf(stderr, "gru-kernel: sizes, reps and threads must be positive\n");
		return 64;
	}

	struct maas_err e;
	struct maas_blas_opts o = { .coretype = NULL, .threads = threads };
	if (maas_blas_init(&o, &e)) {
		fprintf(stderr, "gru-kernel: %s\n", e.msg);
		return 71;
	}
	printf("blas: %s\n", maas_blas_describe());

	struct maas_rng r;
	maas_rng_init(&r, 1, 0);
	int G = maas_cell_gates(cell);
	size_t GH = (size_t)G * H, no = (size_t)B * T * H;
	double k = 1 / sqrt(H);
	float *x = randoms(&r, (size_t)B * T * C, 1, 1);
	float *w_ih = randoms(&r, GH * C, k, 0), *w_hh = randoms(&r, GH * H, k, 0);
	float *b_ih = randoms(&r, GH, k, 0), *b_hh = randoms(&r, GH, k, 0);
	float *dw_ih = xcalloc(GH * C, sizeof(float)), *dw_hh = xcalloc(GH * H, sizeof(float));
	float *db_ih = xcalloc(GH, sizeof(float)), *db_hh = xcalloc(GH, sizeof(float));
	float *out = xcalloc(no, sizeof(float)), *dout = xcalloc(no, sizeof(float));
	for (int b = 0; b < B; b++)         /* loss on the last step: d sum(out[:, T-1]) */
		for (int j = 0; j < H; j++)
			dout[((size_t)b * T + T - 1) * H + j] = 1;
	size_t nw = maas_cell_work_floats(cell, B, T, C, H);
	float *cache = xcalloc(maas_cell_cache_floats(cell, B, T, C, H), sizeof(float));
	float *work = xcalloc(nw ? nw : 1, sizeof(float));

	double *tf = xmallocarray(reps, sizeof(double)), *tb = xmallocarray(reps, sizeof(double));
	double *tt = xmallocarray(reps, sizeof(double));
	for (int i = -20; i < reps; i++) {
		double t0 = now();
		maas_cell_forward(cell, out, cache, work, x, w_ih, w_hh, b_ih, b_hh, B, T, C, H);
		double t1 = now();
		maas_cell_backward(cell, NULL, dw_ih, dw_hh, db_ih, db_hh, work, dout, cache, x, w_ih,
				   w_hh, B, T, C, H);
		double t2 = now();
		if (i >= 0)
			tf[i] = t1 - t0, tb[i] = t2 - t1, tt[i] = t2 - t0;
	}
	qsort(tf, reps, sizeof *tf, cmp_double);
	qsort(tb, reps, sizeof *tb, cmp_double);
	qsort(tt, reps, sizeof *tt, cmp_double);
	double flop = 2.0 * B * T * GH * (3.0 * H + 2.0 * C);   /* products only */
	printf("maas %s B=%d T=%d C=%d H=%d threads=%d, %s time: fwd+bwd %.3f ms/batch (median of %d, best %.3f), "
	       "%.2f s/epoch-equivalent (782 batches)\n", cname, B, T, C, H, threads,
	       clock_id == CLOCK_MONOTONIC ? "wall" : "cpu",
	       tt[reps / 2] * 1e3, reps, tt[0] * 1e3, tt[reps / 2] * 782);
	printf("  forward %.3f ms, backward %.3f ms (medians); products %.1f MFLOP a batch, "
	       "%.1f GFLOP/s over fwd+bwd; out[0] = %.6f\n", tf[reps / 2] * 1e3, tb[reps / 2] * 1e3,
	       flop * 1e-6, flop / tt[reps / 2] * 1e-9, out[0]);
	free(x), free(w_ih), free(w_hh), free(b_ih), free(b_hh), free(dw_ih), free(dw_hh);
	free(db_ih), free(db_hh), free(out), free(dout), free(cache), free(work);
	free(tf), free(tb), free(tt);
	return 0;
}
