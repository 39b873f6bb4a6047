/* test_recurrent.c - the RNN, GRU and LSTM kernels (nn/recurrent.h).
 *
 * Every gradient (x, w_ih, w_hh, b_ih, b_hh) of every cell is checked
 * against central finite differences of an independent double-precision
 * forward pass written here, for a loss that sees every step and for one
 * that sees only the last (many-to-one); the forward pass against the
 * same reference.  Then PyTorch's own answers (test/tools/torch_rnn.py,
 * skipped when /usr/bin/python3 has no torch), the accumulate-into
 * contract, a NULL dx, independence from the previous contents of cache
 * and work, tanh's precision, saturation and NaN.  Run from the
 * repository root. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/rng.h"
#include "nn/recurrent.h"
#include "tap.h"

static const char *cell_name(enum maas_cell c)
{
	return c == MAAS_CELL_RNN ? "rnn" : c == MAAS_CELL_GRU ? "gru" : "lstm";
}

static double sigm(double a)
{
	return 1.0 / (1.0 + exp(-a));
}

/* ---- a layer's tensors, in double (the reference) and float ------------ */

enum { X, W_IH, W_HH, B_IH, B_HH, NT };
static const char *tname[NT] = { "x", "w_ih", "w_hh", "b_ih", "b_hh" };

struct layer {
	enum maas_cell cell;
	int B, T, C, H, G;
	size_t n[NT];
	double *p[NT];          /* values (all exactly floats) */
	double *R;              /* (B, T, H) the loss is sum(out * R) */
};

static void layer_init(struct layer *L, enum maas_cell cell, int B, int T, int C, int H,
		       uint64_t seed, int last_only, double scale)
{
	struct maas_rng r;
	maas_rng_init(&r, seed, 7);
	L->cell = cell;
	L->B = B, L->T = T, L->C = C, L->H = H;
	L->G = maas_cell_gates(cell);
	size_t GH = (size_t)L->G * H;
	L->n[X] = (size_t)B * T * C;
	L->n[W_IH] = GH * C;
	L->n[W_HH] = GH * H;
	L->n[B_IH] = L->n[B_HH] = GH;
	double k = scale / sqrt(H);
	for (int t = 0; t < NT; t++) {
		L->p[t] = xmallocarray(L->n[t], sizeof(double));
		for (size_t i = 0; i < L->n[t]; i++) {
			double v = t == X ? maas_rng_normal(&r) : (2 * maas_rng_uniform(&r) - 1) * k;
			L->p[t][i] = (float)v;
		}
	}
	size_t no = (size_t)B * T * H;
	L->R = xmallocarray(no, sizeof(double));
	for (size_t i = 0; i < no; i++) {
		int t = (int)(i / H % T);
		L->R[i] = last_only && t != T - 1 ? 0 : (float)maas_rng_normal(&r);
	}
}

static void layer_release(struct layer *L)
{
	for (int t = 0; t < NT; t++)
		free(L->p[t]);
	free(L->R);
}

/* ---- the reference: a plain double-precision forward pass ------------- */

static void ref_forward(const struct layer *L, double *out)
{
	int B = L->B, T = L->T, C = L->C, H = L->H, G = L->G;
	const double *x = L->p[X], *wi = L->p[W_IH], *wh = L->p[W_HH];
	const double *bi = L->p[B_IH], *bh = L->p[B_HH];
	double *h = xcalloc(H, sizeof *h), *c = xcalloc(H, sizeof *c), *hn = xmallocarray(H, sizeof *hn);
	double *ax = xmallocarray((size_t)G * H, sizeof *ax), *ah = xmallocarray((size_t)G * H, sizeof *ah);

	for (int b = 0; b < B; b++) {
		for (int j = 0; j < H; j++)
			h[j] = c[j] = 0;
		for (int t = 0; t < T; t++) {
			const double *xt = x + ((size_t)b * T + t) * C;
			for (int q = 0; q < G * H; q++) {
				double s = bi[q], u = bh[q];
				for (int i = 0; i < C; i++)
					s += wi[(size_t)q * C + i] * xt[i];
				for (int i = 0; i < H; i++)
					u += wh[(size_t)q * H + i] * h[i];
				ax[q] = s, ah[q] = u;
			}
			for (int j = 0; j < H; j++) {
				if (L->cell == MAAS_CELL_RNN) {
					hn[j] = tanh(ax[j] + ah[j]);
				} else if (L->cell == MAAS_CELL_GRU) {
					double r = sigm(ax[j] + ah[j]), z = sigm(ax[H + j] + ah[H + j]);
					double n = tanh(ax[2 * H + j] + r * ah[2 * H + j]);
					hn[j] = (1 - z) * n + z * h[j];
				} else {
					double i = sigm(ax[j] + ah[j]), f = sigm(ax[H + j] + ah[H + j]);
					double g = tanh(ax[2 * H + j] + ah[2 * H + j]);
					double o = sigm(ax[3 * H + j] + ah[3 * H + j]);
					c[j] = f * c[j] + i * g;
					hn[j] = o * tanh(c[j]);
				}
			}
			for (int j = 0; j < H; j++)
				h[j] = out[((size_t)b * T + t) * H + j] = hn[j];
		}
	}
	free(h), free(c), free(hn), free(ax), free(ah);
}

static double ref_loss(const struct layer *L, double *out)
{
	ref_forward(L, out);
	double s = 0;
	for (size_t i = 0; i < (size_t)L->B * L->T * L->H; i++)
		s += out[i] * L->R[i];
	return s;
}

/* ---- the kernels under test ------------------------------------------- */

struct run {
	float *p[NT], *d[NT];   /* parameters and gradients (d[X] = dx) */
	float *out, *dout, *cache, *work;
};

static float *to_float(const double *a, size_t n)
{
	float *f = xmallocarray(n ? n : 1, sizeof *f);
	for (size_t i = 0; i < n; i++)
		f[i] = (float)a[i];
	return f;
}

/* fill: the value cache and work hold before the calls (NaN tests that
 * nothing stale is read); dfill: the gradients' initial value */
static void run_kernels(const struct layer *L, struct run *k, float fill, float dfill, int want_dx)
{
	int B = L->B, T = L->T, C = L->C, H = L->H;
	size_t nc = maas_cell_cache_floats(L->cell, B, T, C, H);
	size_t nw = maas_cell_work_floats(L->cell, B, T, C, H);
	size_t no = (size_t)B * T * H;
	for (int t = 0; t < NT; t++) {
		k->p[t] = to_float(L->p[t], L->n[t]);
		k->d[t] = xmallocarray(L->n[t], sizeof(float));
		for (size_t i = 0; i < L->n[t]; i++)
			k->d[t][i] = dfill;
	}
	k->out = xmallocarray(no, sizeof(float));
	k->dout = to_float(L->R, no);
	k->cache = xmallocarray(nc, sizeof(float));
	k->work = xmallocarray(nw ? nw : 1, sizeof(float));
	for (size_t i = 0; i < nc; i++)
		k->cache[i] = fill;
	for (size_t i = 0; i < nw; i++)
		k->work[i] = fill;
	maas_cell_forward(L->cell, k->out, k->cache, k->work, k->p[X], k->p[W_IH], k->p[W_HH],
			  k->p[B_IH], k->p[B_HH], B, T, C, H);
	for (size_t i = 0; i < nw; i++)
		k->work[i] = fill;
	maas_cell_backward(L->cell, want_dx ? k->d[X] : NULL, k->d[W_IH], k->d[W_HH], k->d[B_IH],
			   k->d[B_HH], k->work, k->dout, k->cache, k->p[X], k->p[W_IH], k->p[W_HH],
			   B, T, C, H);
}

static void run_release(struct run *k)
{
	for (int t = 0; t < NT; t++)
		free(k->p[t]), free(k->d[t]);
	free(k->out), free(k->dout), free(k->cache), free(k->work);
}

/* max |a - b| / max(1, max |b|) */
static double err_f_d(const float *a, const double *b, size_t n)
{
	double m = 1, e = 0;
	for (size_t i = 0; i < n; i++)
		m = fmax(m, fabs(b[i]));
	for (size_t i = 0; i < n; i++) {
		double d = fabs(a[i] - b[i]);
		if (!(d <= e))
			e = isnan(d) ? INFINITY : d;
	}
	return e / m;
}

/* ---- finite differences ----------------------------------------------- */

/* Gradient check of one layer: the kernels' gradients against central
 * differences of the double reference (every `stride`-th element). */
static void check_grads(enum maas_cell cell, int B, int T, int C, int H, int last_only, int stride)
{
	struct layer L;
	struct run k;
	const char *what = last_only ? "last step" : "all steps";
	layer_init(&L, cell, B, T, C, H, 1000 + (uint64_t)cell * 10 + (uint64_t)last_only, last_only, 1.5);
	size_t no = (size_t)B * T * H;
	double *out = xmallocarray(no, sizeof *out);
	run_kernels(&L, &k, 0.0f, 0.0f, 1);

	ref_forward(&L, out);
	double e = err_f_d(k.out, out, no);
	ok(e < 2e-6, "%s B=%d T=%d C=%d H=%d: forward matches the double reference (error %.2g)",
	   cell_name(cell), B, T, C, H, e);

	for (int t = 0; t < NT; t++) {
		size_t n = L.n[t], m = 0;
		double *fd = xmallocarray(n, sizeof *fd);
		float *an = xmallocarray(n, sizeof *an);
		for (size_t i = 0; i < n; i += (size_t)stride, m++) {
			double v = L.p[t][i], eps = 1e-5;
			L.p[t][i] = v + eps;
			double lp = ref_loss(&L, out);
			L.p[t][i] = v - eps;
			double lm = ref_loss(&L, out);
			L.p[t][i] = v;
			fd[m] = (lp - lm) / (2 * eps);
			an[m] = k.d[t][i];
		}
		e = err_f_d(an, fd, m);
		ok(e < 2e-6, "%s B=%d T=%d C=%d H=%d, loss on %s: d%s matches finite differences "
		   "(%zu values, error %.2g)", cell_name(cell), B, T, C, H, what, tname[t], m, e);
		free(fd), free(an);
	}
	free(out);
	run_release(&k);
	layer_release(&L);
}

/* ---- the contract ----------------------------------------------------- */

static void check_sizes(void)
{
	is_int(maas_cell_gates(MAAS_CELL_RNN), 1, "rnn has 1 gate");
	is_int(maas_cell_gates(MAAS_CELL_GRU), 3, "gru has 3 gates");
	is_int(maas_cell_gates(MAAS_CELL_LSTM), 4, "lstm has 4 gates");
	/* B*T*(C + H + extra): extra 0, 4H, 6H */
	is_int(maas_cell_cache_floats(MAAS_CELL_GRU, 64, 32, 1, 64), 2048 * (1 + 5 * 64), "gru cache size");
	is_int(maas_cell_cache_floats(MAAS_CELL_RNN, 3, 5, 4, 6), 15 * (4 + 6), "rnn cache size");
	is_int(maas_cell_cache_floats(MAAS_CELL_LSTM, 3, 5, 4, 6), 15 * (4 + 7 * 6), "lstm cache size");
	/* the larger of forward, G*H*(C + H) (+ B*3H for the GRU), and
	 * backward, B*(dg width + 2H) */
	is_int(maas_cell_work_floats(MAAS_CELL_GRU, 64, 32, 1, 64), 192 * 65 + 64 * 192, "gru work size");
	is_int(maas_cell_work_floats(MAAS_CELL_RNN, 3, 5, 4, 6), 6 * 10, "rnn work size");
	is_int(maas_cell_work_floats(MAAS_CELL_LSTM, 3, 5, 4, 6), 24 * 10, "lstm work size");
	is_int(maas_cell_work_floats(MAAS_CELL_LSTM, 50, 5, 4, 6), 50 * (24 + 12), "lstm work size, large batch");
}

/* Backward adds into the gradients; dx NULL changes nothing else; what
 * cache and work held before does not matter. */
static void check_contract(enum maas_cell cell)
{
	struct layer L;
	struct run a, b, c;
	int B = 5, T = 6, C = 3, H = 19;
	layer_init(&L, cell, B, T, C, H, 77, 0, 1.0);
	run_kernels(&L, &a, 0.0f, 0.0f, 1);
	run_kernels(&L, &b, NAN, 0.5f, 1);
	run_kernels(&L, &c, 1e30f, 0.0f, 0);

	size_t no = (size_t)B * T * H;
	ok(!memcmp(a.out, b.out, no * sizeof(float)), "%s: forward ignores what cache and work held",
	   cell_name(cell));
	for (int t = 0; t < NT; t++) {
		double e = 0;
		int same = 1;
		for (size_t i = 0; i < L.n[t]; i++) {
			e = fmax(e, fabs(b.d[t][i] - (0.5 + a.d[t][i])));
			if (!isfinite(b.d[t][i]))
				e = INFINITY;
			if (t != X && a.d[t][i] != c.d[t][i])
				same = 0;
		}
		ok(e < 1e-5, "%s: backward adds into d%s (error %.2g)", cell_name(cell), tname[t], e);
		if (t != X)
			ok(same, "%s: d%s is the same without dx", cell_name(cell), tname[t]);
	}
	run_release(&a), run_release(&b), run_release(&c);
	layer_release(&L);
}

/* tanh through an RNN of one unit: w_ih = 1, all else 0, so out = tanh(x) */
static void check_tanh(void)
{
	int B = 4001;
	float *x = xmallocarray(B, sizeof *x), *out = xmallocarray(B, sizeof *out);
	float w_ih = 1, w_hh = 0, b = 0;
	for (int i = 0; i < B; i++) {
		double u = (i - 2000) / 100.0;         /* -20 .. 20 */
		x[i] = (float)(i % 3 == 0 ? u : i % 3 == 1 ? u * 1e-3 : u * 1e-6);
	}
	x[0] = INFINITY, x[1] = -INFINITY, x[2] = 0.0f, x[3] = -0.0f;
	size_t nc = maas_cell_cache_floats(MAAS_CELL_RNN, B, 1, 1, 1);
	size_t nw = maas_cell_work_floats(MAAS_CELL_RNN, B, 1, 1, 1);
	float *cache = xmallocarray(nc, sizeof *cache), *work = xmallocarray(nw, sizeof *work);
	maas_cell_forward(MAAS_CELL_RNN, out, cache, work, x, &w_ih, &w_hh, &b, &b, B, 1, 1, 1);
	double worst = 0;
	int at = 0;
	for (int i = 4; i < B; i++) {
		double want = tanh((double)x[i]);
		double e = want == 0 ? fabs(out[i]) : fabs(out[i] - want) / fabs(want);
		if (!(e <= worst))
			worst = e, at = i;
	}
	ok(worst < 4e-7, "tanh within 4e-7 relative from -20 to 20 and near 0 (worst %.2g at %.9g)",
	   worst, x[at]);
	ok(out[0] == 1 && out[1] == -1, "tanh(+-inf) = +-1 (got %g, %g)", out[0], out[1]);
	ok(out[2] == 0 && out[3] == 0, "tanh(0) = 0");
	free(x), free(out), free(cache), free(work);
}

/* Huge inputs saturate cleanly; a NaN poisons its own sequence only. */
static void check_extremes(enum maas_cell cell)
{
	struct layer L;
	struct run k;
	int B = 3, T = 4, C = 2, H = 17;
	layer_init(&L, cell, B, T, C, H, 5, 0, 1.0);
	for (size_t i = 0; i < L.n[X]; i++)
		L.p[X][i] = (i % 2 ? 1e4 : -3e4) * (i % 5 + 1);
	size_t no = (size_t)B * T * H;
	double *out = xmallocarray(no, sizeof *out);
	ref_forward(&L, out);
	run_kernels(&L, &k, 0.0f, 0.0f, 1);
	double e = err_f_d(k.out, out, no);
	int finite = 1;
	for (int t = 0; t < NT; t++)
		for (size_t i = 0; i < L.n[t]; i++)
			finite &= isfinite(k.d[t][i]) != 0;
	ok(e < 1e-6 && finite, "%s: saturated forward matches (error %.2g), gradients finite",
	   cell_name(cell), e);
	run_release(&k);

	L.p[X][(size_t)1 * T * C + 1] = NAN;     /* sequence 1, step 0 */
	run_kernels(&L, &k, 0.0f, 0.0f, 1);
	int nan1 = 1, fin02 = 1;
	for (int t = 0; t < T; t++)
		for (int j = 0; j < H; j++) {
			nan1 &= isnan(k.out[((size_t)1 * T + t) * H + j]) != 0;
			fin02 &= isfinite(k.out[((size_t)0 * T + t) * H + j]) &&
				 isfinite(k.out[((size_t)2 * T + t) * H + j]);
		}
	ok(nan1 && fin02, "%s: a NaN input makes its own sequence NaN and no other", cell_name(cell));
	run_release(&k);
	free(out);
	layer_release(&L);
}

/* ---- PyTorch ---------------------------------------------------------- */

static double *read_tensor(FILE *f, const char *want, size_t n, int *bad)
{
	char name[32];
	size_t m;
	double *a = xmallocarray(n ? n : 1, sizeof *a);
	if (fscanf(f, "%31s %zu", name, &m) != 2 || strcmp(name, want) || m != n) {
		*bad = 1;
		return a;
	}
	for (size_t i = 0; i < n; i++)
		if (fscanf(f, "%lf", &a[i]) != 1)
			*bad = 1;
	return a;
}

static void check_torch(void)
{
	if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1")) {
		printf("ok %d # skip /usr/bin/python3 cannot import torch\n", ++tap_n);
		return;
	}
	char path[] = "/tmp/maas-rnn-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		ok(0, "cannot create a temporary file");
		return;
	}
	close(fd);
	char *cmd = xasprintf("/usr/bin/python3 test/tools/torch_rnn.py '%s'", path);
	int rc = system(cmd);
	free(cmd);
	FILE *f = fopen(path, "r");
	if (!ok(rc == 0 && f, "test/tools/torch_rnn.py wrote its answers")) {
		if (f)
			fclose(f);
		unlink(path);
		return;
	}
	char cname[16];
	int B, T, C, H, cases = 0;
	while (fscanf(f, " case %15s %d %d %d %d", cname, &B, &T, &C, &H) == 5) {
		enum maas_cell cell = !strcmp(cname, "rnn") ? MAAS_CELL_RNN :
				      !strcmp(cname, "gru") ? MAAS_CELL_GRU : MAAS_CELL_LSTM;
		struct layer L;
		struct run k;
		int bad = 0;
		layer_init(&L, cell, B, T, C, H, 1, 0, 1.0);
		for (int t = 0; t < NT; t++) {
			free(L.p[t]);
			L.p[t] = read_tensor(f, tname[t], L.n[t], &bad);
		}
		size_t no = (size_t)B * T * H;
		free(L.R);
		L.R = read_tensor(f, "dout", no, &bad);
		double *want[1 + NT];
		want[0] = read_tensor(f, "out", no, &bad);
		const char *gname[NT] = { "dx", "dw_ih", "dw_hh", "db_ih", "db_hh" };
		for (int t = 0; t < NT; t++)
			want[1 + t] = read_tensor(f, gname[t], L.n[t], &bad);
		char end[8];
		if (fscanf(f, "%7s", end) != 1 || strcmp(end, "end"))
			bad = 1;
		if (!ok(!bad, "torch case %s B=%d T=%d C=%d H=%d reads", cname, B, T, C, H))
			break;
		run_kernels(&L, &k, 0.0f, 0.0f, 1);
		double e = err_f_d(k.out, want[0], no);
		for (int t = 0; t < NT; t++)
			e = fmax(e, err_f_d(k.d[t], want[1 + t], L.n[t]));
		ok(e < 1e-5, "%s B=%d T=%d C=%d H=%d: out and every gradient agree with torch "
		   "(error %.2g)", cname, B, T, C, H, e);
		for (int t = 0; t <= NT; t++)
			free(want[t]);
		run_release(&k);
		layer_release(&L);
		cases++;
	}
	is_int(cases, 10, "all torch cases compared");
	fclose(f);
	unlink(path);
}

int main(void)
{
	enum maas_cell cells[3] = { MAAS_CELL_RNN, MAAS_CELL_GRU, MAAS_CELL_LSTM };

	check_sizes();
	for (int i = 0; i < 3; i++) {
		check_grads(cells[i], 3, 5, 4, 6, 0, 1);
		check_grads(cells[i], 3, 5, 4, 6, 1, 1);
		check_grads(cells[i], 2, 4, 3, 37, 0, 7);  /* full vectors and a tail */
		check_grads(cells[i], 1, 1, 2, 16, 1, 1);  /* one step */
	}
	for (int i = 0; i < 3; i++) {
		check_contract(cells[i]);
		check_extremes(cells[i]);
	}
	check_tanh();
	check_torch();
	return done_testing();
}
