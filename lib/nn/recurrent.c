/*
 * recurrent.c - Elman RNN, GRU and LSTM layers: forward and backward over
 * a whole batch of sequences (contract in recurrent.h).
 *
 * Where the time goes, and so the shape of this file: for the maas-train
 * GRU benchmark (B=64, T=32, C=1, H=64) about four fifths of the time are
 * matrix products, and those go to OpenBLAS through maas_sgemm:
 *
 *   forward   one product for the input projection of all B*T steps,
 *             then per step one (B, H) x (H, G*H) product;
 *   backward  per step one (B, G*H) x (G*H, H) product for dh_{t-1}, one
 *             (G*H, B) x (B, H) for dw_hh, and small ones for dw_ih and
 *             dx (the input width C is often 1).
 *
 * The weight gradients are taken step by step, not in one product over all
 * B*T rows at the end, because measured here OpenBLAS's small-matrix
 * kernels do the 31 products of K = B = 64 faster (0.44 ms) than one of
 * K = 1984 (0.50 ms), and the step's gradients then never leave the L2
 * cache.  For the same reason the forward products read w_hh transposed
 * (a copy in work): (B, H) x (H, G*H) runs 13.6 us, (B, H) x (G*H, H)^T
 * 17.7 us.  Each of these products runs at about the peak of one core.
 *
 * Between the products, each step's gate arithmetic is one fused pass over
 * (B, H) in the loops below, written with GCC's generic vectors of 16
 * floats and compiled three times (AVX-512, AVX2 and the x86-64 baseline,
 * chosen when the program starts: target_clones).  The exponential is our
 * own (Cephes' polynomial, within 2 ulp), because libm's expf does not
 * vectorise; sigmoid and tanh are built on it (tanh near 0 uses its own
 * polynomial, so small values keep their relative precision).  The
 * activated gates are kept in the cache for backward, never recomputed.
 * Single precision throughout; where the CPU has FMA, the gate loops
 * fuse multiply-adds.
 *
 * Layouts.  Everything the kernels keep is time-major: row (t, b) of a
 * (T, B, n) array is at ((t * B) + b) * n, so each step's rows are one
 * contiguous (B, n) block, as a per-step product wants, and all steps
 * together one (T*B, n) matrix, as the input projection wants.  Gate
 * blocks follow PyTorch's order within a row.  Only out and dout are
 * batch-major, (B, T, H), and their rows T*H floats apart are fetched
 * ahead by hand (prefetch_row).
 *
 *   cache (floats, in this order)
 *     xt  (T, B, C)   the input, time-major (a transposed copy of x)
 *     hs  (T, B, H)   h_t; h_{t-1} of step t is row block t-1, h_{-1} = 0
 *     RNN  -
 *     GRU  g (T, B, 4H)   r, z, n, hn = W_hn h_{t-1} + b_hn
 *     LSTM g (T, B, 4H)   i, f, g, o (activated)
 *          c (T, B, H)    c_t
 *          k (T, B, H)    tanh(c_t)
 *
 *   work, forward:
 *     wt_ih (C, G*H)  w_ih transposed and
 *     wt_hh (H, G*H)  w_hh transposed: OpenBLAS multiplies (B, H) x (H, G*H)
 *                     faster from this layout than from w_hh's own
 *     gh  (B, 3H)     GRU only: the recurrent product of one step (RNN and
 *                     LSTM accumulate theirs straight into the cached
 *                     pre-activations, hs resp. g)
 *   work, backward (one step at a time: it stays in the L2 cache):
 *     dg  (B, gw)     the step's pre-activation gradients; gw = H (RNN),
 *                     4H (GRU: r, z, hn, xn: the first 3H are the gradient
 *                     of the recurrent product, r, z and xn that of the
 *                     input projection), 4H (LSTM: i, f, g, o)
 *     dh  (B, H)      gradient flowing into h_{t-1}
 *     dc  (B, H)      LSTM only: gradient flowing into c_{t-1}
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nn/blas.h"
#include "nn/recurrent.h"

/* ---- 16-float vectors and the activations ---------------------------- */

#define VL 16
typedef float vf __attribute__((vector_size(VL * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(VL * sizeof(int32_t))));

/* The gate loops are built for x86-64-v4 (AVX-512), v3 (AVX2 and FMA)
 * and the baseline; multiply-adds may fuse (fp-contract=fast, which
 * -std=c11 turns off elsewhere): the polynomials' chains are what bounds
 * these loops.  The builds round differently in the last bits; one
 * machine always runs the same one. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(MAAS_NO_CLONES)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"), \
				      optimize("fp-contract=fast")))
#else
#define CLONES
#endif
#define INLINE static inline __attribute__((always_inline))

/* Helpers take vectors by pointer and return them by value: GCC notes an
 * ABI change for 64-byte vector parameters (not results, whose -Wpsabi
 * warning is silenced here) even when, as here, every helper is inlined. */
#pragma GCC diagnostic ignored "-Wpsabi"

/* m ? a : b lane by lane, m from a comparison (all ones or zero) */
#define SEL(m, a, b) ((vf)(((vi)(a) & (m)) | ((vi)(b) & ~(m))))

INLINE vf vsplat(float a)
{
	return (vf){ 0 } + a;
}

/* load/store n <= VL floats; a short tail is padded with zeros */
INLINE vf ld(const float *p, int n)
{
	vf v = { 0 };
	if (n == VL)
		memcpy(&v, p, sizeof v);
	else
		memcpy(&v, p, (size_t)n * sizeof(float));
	return v;
}

INLINE void st(float *p, const vf *v, int n)
{
	if (n == VL)
		memcpy(p, v, sizeof *v);
	else
		memcpy(p, v, (size_t)n * sizeof(float));
}

/* p += v */
INLINE void acc(float *p, const vf *v, int n)
{
	vf s = ld(p, n) + *v;
	st(p, &s, n);
}

/* Rows of out and dout lie T*H floats apart, too far for the hardware
 * prefetcher: fetch the row PF sequences ahead. */
#define PF 4
INLINE void prefetch_row(const float *p, int b, int B, size_t ld, int H)
{
	if (b + PF < B)
		for (int j = 0; j < H; j += 16)
			__builtin_prefetch(p + (size_t)(b + PF) * ld + j);
}

/* e^x, Cephes expf: x = n ln2 + r, |r| <= ln2/2, e^r by a degree-7
 * polynomial, 2^n by building the exponent bits.  x is clamped to
 * [-87, 87] so that 2^n stays a normal number; NaN stays NaN. */
INLINE vf vexp(const vf *px)
{
	const float magic = 12582912.0f;       /* 1.5 * 2^23: adding it rounds to an integer */
	vf x = *px;
	x = SEL(x > 87.0f, vsplat(87.0f), x);
	x = SEL(x < -87.0f, vsplat(-87.0f), x);
	vf n = (x * 1.44269504088896341f + magic) - magic;
	vf r = x - n * 0.693359375f;
	r = r - n * -2.12194440e-4f;
	vf p = vsplat(1.9875691500e-4f);
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * (r * r) + r + 1.0f;
	vi e = (__builtin_convertvector(n, vi) + 127) << 23;
	return p * (vf)e;
}

INLINE vf vsigmoid(const vf *x)
{
	vf m = -*x;
	return 1.0f / (1.0f + vexp(&m));
}

/* tanh: Cephes tanhf's odd polynomial below 0.625, else
 * 1 - 2 / (e^{2|x|} + 1); the sign is put back last */
INLINE vf vtanh(const vf *px)
{
	vf x = *px;
	vi sign = (vi)x & INT32_MIN;
	vf a = (vf)((vi)x & INT32_MAX);
	vf z = x * x;
	vf p = vsplat(-5.70498872745e-3f);
	p = p * z + 2.06390887954e-2f;
	p = p * z - 5.37397155531e-2f;
	p = p * z + 1.33314422036e-1f;
	p = p * z - 3.33332819422e-1f;
	vf small = p * z * a + a;
	vf a2 = a + a;
	vf big = 1.0f - 2.0f / (vexp(&a2) + 1.0f);
	vf y = SEL(a < 0.625f, small, big);
	return (vf)((vi)y | sign);
}

/* ---- shapes -------------------------------------------------------- */

int maas_cell_gates(enum maas_cell cell)
{
	return cell == MAAS_CELL_RNN ? 1 : cell == MAAS_CELL_GRU ? 3 : 4;
}

/* floats per (t, b) row of the cache, beyond xt and hs */
static size_t extra_per_row(enum maas_cell cell, size_t H)
{
	return cell == MAAS_CELL_RNN ? 0 : cell == MAAS_CELL_GRU ? 4 * H : 6 * H;
}

/* row width of dg */
static size_t dg_width(enum maas_cell cell, size_t H)
{
	return cell == MAAS_CELL_RNN ? H : 4 * H;
}

size_t maas_cell_cache_floats(enum maas_cell cell, int B, int T, int C, int H)
{
	return (size_t)B * (size_t)T * ((size_t)C + (size_t)H + extra_per_row(cell, (size_t)H));
}

size_t maas_cell_work_floats(enum maas_cell cell, int B, int T, int C, int H)
{
	(void)T;                /* work is per step, not per sequence */
	size_t GH = (size_t)maas_cell_gates(cell) * (size_t)H;
	size_t fwd = GH * ((size_t)C + (size_t)H) + (cell == MAAS_CELL_GRU ? (size_t)B * GH : 0);
	size_t bwd = (size_t)B * (dg_width(cell, (size_t)H) + 2 * (size_t)H);
	return fwd > bwd ? fwd : bwd;
}

struct cache_view {
	float *xt, *hs, *g, *c, *k;
};

static struct cache_view cache_split(enum maas_cell cell, float *cache, int B, int T, int C, int H)
{
	size_t rows = (size_t)B * (size_t)T;
	struct cache_view v = { 0 };
	v.xt = cache;
	v.hs = v.xt + rows * (size_t)C;
	if (cell != MAAS_CELL_RNN)
		v.g = v.hs + rows * (size_t)H;
	if (cell == MAAS_CELL_LSTM) {
		v.c = v.g + rows * 4 * (size_t)H;
		v.k = v.c + rows * (size_t)H;
	}
	return v;
}

/* ---- per-step gate arithmetic ---------------------------------------- */

/* for (j = 0; j < H; j += VL) with n = the lanes in use: the body twice,
 * once for whole vectors (n a constant, everything in registers), once
 * for a last partial one */
#define LANES(j, n, H, ...) do { \
	int j = 0; \
	for (; j + VL <= (H); j += VL) { \
		const int n = VL; \
		__VA_ARGS__ \
	} \
	if (j < (H)) { \
		const int n = (H) - j; \
		__VA_ARGS__ \
	} \
} while (0)

/* RNN: y = tanh(y + b_ih + b_hh) in place on the step's (B, H) block of
 * hs, also written to out (row stride ldo) */
CLONES static void rnn_fwd_step(float *y, float *out, size_t ldo, const float *b_ih,
				const float *b_hh, int B, int H)
{
	for (int b = 0; b < B; b++) {
		float *yb = y + (size_t)b * H, *ob = out + (size_t)b * ldo;
		prefetch_row(out, b, B, ldo, H);
		LANES(j, n, H, {
			vf a = ld(yb + j, n) + ld(b_ih + j, n) + ld(b_hh + j, n);
			vf h = vtanh(&a);
			st(yb + j, &h, n);
			st(ob + j, &h, n);
		});
	}
}

/* RNN backward of one step: da = (dh + dout) (1 - y^2) into dg and the
 * bias gradients.  dh is read here and rewritten by the caller's product. */
CLONES static void rnn_bwd_step(float *dg, float *db_ih, float *db_hh, const float *dh,
				const float *dout, size_t ldo, const float *y, int B, int H)
{
	for (int b = 0; b < B; b++) {
		const float *yb = y + (size_t)b * H, *ob = dout + (size_t)b * ldo;
		prefetch_row(dout, b, B, ldo, H);
		const float *dhb = dh + (size_t)b * H;
		float *dgb = dg + (size_t)b * H;
		LANES(j, n, H, {
			vf h = ld(yb + j, n);
			vf da = (ld(dhb + j, n) + ld(ob + j, n)) * (1.0f - h * h);
			st(dgb + j, &da, n);
			acc(db_ih + j, &da, n);
			acc(db_hh + j, &da, n);
		});
	}
}

/* GRU: g holds the input projection in its first 3H columns and leaves
 * with r, z, n, hn; gh is the recurrent product (B, 3H); hp h_{t-1} or
 * NULL (zero) */
CLONES static void gru_fwd_step(float *g, float *h, float *out, size_t ldo, const float *gh,
				const float *hp, const float *b_ih, const float *b_hh, int B, int H)
{
	for (int b = 0; b < B; b++) {
		float *gb = g + (size_t)b * 4 * H, *hb = h + (size_t)b * H;
		float *ob = out + (size_t)b * ldo;
		prefetch_row(out, b, B, ldo, H);
		const float *ghb = gh + (size_t)b * 3 * H;
		const float *hpb = hp ? hp + (size_t)b * H : NULL;
		/* two passes over the row, r and z first: shorter chains of
		 * dependent operations, more of them in flight */
		LANES(j, n, H, {
			vf ar = ld(gb + j, n) + ld(b_ih + j, n) + ld(ghb + j, n) + ld(b_hh + j, n);
			vf az = ld(gb + H + j, n) + ld(b_ih + H + j, n) + ld(ghb + H + j, n) +
				ld(b_hh + H + j, n);
			vf r = vsigmoid(&ar), z = vsigmoid(&az);
			st(gb + j, &r, n);
			st(gb + H + j, &z, n);
		});
		LANES(j, n, H, {
			vf r = ld(gb + j, n), z = ld(gb + H + j, n);
			vf hn = ld(ghb + 2 * H + j, n) + ld(b_hh + 2 * H + j, n);
			vf an = ld(gb + 2 * H + j, n) + ld(b_ih + 2 * H + j, n) + r * hn;
			vf nn = vtanh(&an);
			vf hprev = hpb ? ld(hpb + j, n) : vsplat(0.0f);
			vf hv = (1.0f - z) * nn + z * hprev;
			st(gb + 2 * H + j, &nn, n);
			st(gb + 3 * H + j, &hn, n);
			st(hb + j, &hv, n);
			st(ob + j, &hv, n);
		});
	}
}

/* GRU backward of one step.  dh holds the gradient from step t+1 and
 * leaves with its direct part dh' z; the caller adds dg_h W_hh. */
CLONES static void gru_bwd_step(float *dg, float *dh, float *db_ih, float *db_hh, const float *dout,
				size_t ldo, const float *g, const float *hp, int B, int H)
{
	for (int b = 0; b < B; b++) {
		const float *gb = g + (size_t)b * 4 * H, *ob = dout + (size_t)b * ldo;
		prefetch_row(dout, b, B, ldo, H);
		const float *hpb = hp ? hp + (size_t)b * H : NULL;
		float *dgb = dg + (size_t)b * 4 * H, *dhb = dh + (size_t)b * H;
		LANES(j, n, H, {
			vf r = ld(gb + j, n), z = ld(gb + H + j, n);
			vf nn = ld(gb + 2 * H + j, n), hn = ld(gb + 3 * H + j, n);
			vf hprev = hpb ? ld(hpb + j, n) : vsplat(0.0f);
			vf d = ld(dhb + j, n) + ld(ob + j, n);
			vf dxn = d * (1.0f - z) * (1.0f - nn * nn);
			vf dhn = dxn * r;
			vf dr = dxn * hn * r * (1.0f - r);
			vf dz = d * (hprev - nn) * z * (1.0f - z);
			vf dd = d * z;
			st(dgb + j, &dr, n);
			st(dgb + H + j, &dz, n);
			st(dgb + 2 * H + j, &dhn, n);
			st(dgb + 3 * H + j, &dxn, n);
			st(dhb + j, &dd, n);
			acc(db_ih + j, &dr, n);
			acc(db_hh + j, &dr, n);
			acc(db_ih + H + j, &dz, n);
			acc(db_hh + H + j, &dz, n);
			acc(db_ih + 2 * H + j, &dxn, n);
			acc(db_hh + 2 * H + j, &dhn, n);
		});
	}
}

/* LSTM: g holds the pre-activations less the biases (both products) and
 * leaves with i, f, g, o; cp is c_{t-1} or NULL (zero) */
CLONES static void lstm_fwd_step(float *g, float *c, float *k, float *h, float *out, size_t ldo,
				 const float *cp, const float *b_ih, const float *b_hh, int B, int H)
{
	for (int b = 0; b < B; b++) {
		float *gb = g + (size_t)b * 4 * H, *cb = c + (size_t)b * H, *kb = k + (size_t)b * H;
		float *hb = h + (size_t)b * H, *ob = out + (size_t)b * ldo;
		prefetch_row(out, b, B, ldo, H);
		const float *cpb = cp ? cp + (size_t)b * H : NULL;
		LANES(j, n, H, {
			vf ai = ld(gb + j, n) + ld(b_ih + j, n) + ld(b_hh + j, n);
			vf af = ld(gb + H + j, n) + ld(b_ih + H + j, n) + ld(b_hh + H + j, n);
			vf ag = ld(gb + 2 * H + j, n) + ld(b_ih + 2 * H + j, n) + ld(b_hh + 2 * H + j, n);
			vf ao = ld(gb + 3 * H + j, n) + ld(b_ih + 3 * H + j, n) + ld(b_hh + 3 * H + j, n);
			vf i = vsigmoid(&ai), f = vsigmoid(&af), gg = vtanh(&ag), o = vsigmoid(&ao);
			vf cprev = cpb ? ld(cpb + j, n) : vsplat(0.0f);
			vf cv = f * cprev + i * gg;
			vf kv = vtanh(&cv);
			vf hv = o * kv;
			st(gb + j, &i, n);
			st(gb + H + j, &f, n);
			st(gb + 2 * H + j, &gg, n);
			st(gb + 3 * H + j, &o, n);
			st(cb + j, &cv, n);
			st(kb + j, &kv, n);
			st(hb + j, &hv, n);
			st(ob + j, &hv, n);
		});
	}
}

/* LSTM backward of one step.  dh: gradient from step t+1 (read only; the
 * caller overwrites it with dg W_hh); dc: in, from step t+1, out, into
 * c_{t-1}. */
CLONES static void lstm_bwd_step(float *dg, float *dc, float *db_ih, float *db_hh, const float *dh,
				 const float *dout, size_t ldo, const float *g, const float *k,
				 const float *cp, int B, int H)
{
	for (int b = 0; b < B; b++) {
		const float *gb = g + (size_t)b * 4 * H, *kb = k + (size_t)b * H;
		const float *ob = dout + (size_t)b * ldo, *dhb = dh + (size_t)b * H;
		prefetch_row(dout, b, B, ldo, H);
		const float *cpb = cp ? cp + (size_t)b * H : NULL;
		float *dgb = dg + (size_t)b * 4 * H, *dcb = dc + (size_t)b * H;
		LANES(j, n, H, {
			vf i = ld(gb + j, n), f = ld(gb + H + j, n);
			vf gg = ld(gb + 2 * H + j, n), o = ld(gb + 3 * H + j, n);
			vf kv = ld(kb + j, n);
			vf cprev = cpb ? ld(cpb + j, n) : vsplat(0.0f);
			vf d = ld(dhb + j, n) + ld(ob + j, n);
			vf dcv = ld(dcb + j, n) + d * o * (1.0f - kv * kv);
			vf di = dcv * gg * i * (1.0f - i);
			vf df = dcv * cprev * f * (1.0f - f);
			vf dgg = dcv * i * (1.0f - gg * gg);
			vf dov = d * kv * o * (1.0f - o);
			vf dcn = dcv * f;
			st(dgb + j, &di, n);
			st(dgb + H + j, &df, n);
			st(dgb + 2 * H + j, &dgg, n);
			st(dgb + 3 * H + j, &dov, n);
			st(dcb + j, &dcn, n);
			acc(db_ih + j, &di, n);
			acc(db_hh + j, &di, n);
			acc(db_ih + H + j, &df, n);
			acc(db_hh + H + j, &df, n);
			acc(db_ih + 2 * H + j, &dgg, n);
			acc(db_hh + 2 * H + j, &dgg, n);
			acc(db_ih + 3 * H + j, &dov, n);
			acc(db_hh + 3 * H + j, &dov, n);
		});
	}
}

/* ---- products ---------------------------------------------------------- */

/* ---- forward ---------------------------------------------------------- */

/* dst (cols, rows) = src (rows, cols) transposed */
static void transpose(float *dst, const float *src, int rows, int cols)
{
	for (int i = 0; i < rows; i++)
		for (int j = 0; j < cols; j++)
			dst[(size_t)j * rows + i] = src[(size_t)i * cols + j];
}

void maas_cell_forward(enum maas_cell cell, float *out, float *cache, float *work,
		       const float *x, const float *w_ih, const float *w_hh,
		       const float *b_ih, const float *b_hh, int B, int T, int C, int H)
{
	struct cache_view v = cache_split(cell, cache, B, T, C, H);
	int G = maas_cell_gates(cell), TB = T * B;
	size_t ldo = (size_t)T * H, bh = (size_t)B * H;

	int GH = G * H;
	float *wt_ih = work;                               /* (C, G*H) */
	float *wt_hh = wt_ih + (size_t)C * GH;             /* (H, G*H) */
	float *gh = wt_hh + (size_t)H * GH;                /* GRU: (B, 3H) */

	/* xt = x time-major; the weights transposed */
	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++)
			memcpy(v.xt + ((size_t)t * B + b) * C, x + ((size_t)b * T + t) * C,
			       (size_t)C * sizeof(float));
	transpose(wt_ih, w_ih, GH, C);
	transpose(wt_hh, w_hh, GH, H);

	if (cell == MAAS_CELL_RNN) {
		/* hs = xt w_ih^T, then per step hs[t] += hs[t-1] w_hh^T and the tanh */
		maas_sgemm(0, 0, TB, H, C, 1.0f, v.xt, C, wt_ih, GH, 0.0f, v.hs, H);
		for (int t = 0; t < T; t++) {
			float *y = v.hs + t * bh;
			if (t > 0)
				maas_sgemm(0, 0, B, H, H, 1.0f, y - bh, H, wt_hh, GH, 1.0f, y, H);
			rnn_fwd_step(y, out + (size_t)t * H, ldo, b_ih, b_hh, B, H);
		}
		return;
	}

	/* g[:, 0:G*H] = xt w_ih^T */
	maas_sgemm(0, 0, TB, GH, C, 1.0f, v.xt, C, wt_ih, GH, 0.0f, v.g, 4 * H);
	for (int t = 0; t < T; t++) {
		float *g = v.g + t * 4 * bh, *h = v.hs + t * bh;
		const float *hp = t > 0 ? h - bh : NULL;
		if (cell == MAAS_CELL_GRU) {
			if (hp)
				maas_sgemm(0, 0, B, GH, H, 1.0f, hp, H, wt_hh, GH, 0.0f, gh, GH);
			else
				memset(gh, 0, bh * 3 * sizeof(float));
			gru_fwd_step(g, h, out + (size_t)t * H, ldo, gh, hp, b_ih, b_hh, B, H);
		} else {
			if (hp)
				maas_sgemm(0, 0, B, GH, H, 1.0f, hp, H, wt_hh, GH, 1.0f, g, 4 * H);
			lstm_fwd_step(g, v.c + t * bh, v.k + t * bh, h, out + (size_t)t * H, ldo,
				      t > 0 ? v.c + (t - 1) * bh : NULL, b_ih, b_hh, B, H);
		}
	}
}

/* ---- backward ------------------------------------------------------- */

void maas_cell_backward(enum maas_cell cell, float *dx, float *dw_ih, float *dw_hh,
			float *db_ih, float *db_hh, float *work, const float *dout,
			const float *cache, const float *x, const float *w_ih, const float *w_hh,
			int B, int T, int C, int H)
{
	struct cache_view v = cache_split(cell, (float *)cache, B, T, C, H);
	int GH = maas_cell_gates(cell) * H;
	(void)x;                /* read through its time-major copy in the cache */
	int gw = (int)dg_width(cell, (size_t)H);
	/* the columns of dg that are the input projection's gradient: all
	 * but the GRU's, which are r, z (first 2H) and xn (last H) */
	int gx = cell == MAAS_CELL_GRU ? 2 * H : GH;
	size_t ldo = (size_t)T * H, bh = (size_t)B * H;
	float *dg = work;                                  /* (B, gw) */
	float *dh = dg + (size_t)B * gw;                   /* (B, H) */
	float *dc = dh + bh;                               /* (B, H) */

	memset(dh, 0, bh * sizeof(float));
	if (cell == MAAS_CELL_LSTM)
		memset(dc, 0, bh * sizeof(float));
	for (int t = T - 1; t >= 0; t--) {
		const float *hp = t > 0 ? v.hs + (t - 1) * bh : NULL;
		const float *dot = dout + (size_t)t * H;
		const float *xt = v.xt + (size_t)t * B * C;
		switch (cell) {
		case MAAS_CELL_RNN:
			rnn_bwd_step(dg, db_ih, db_hh, dh, dot, ldo, v.hs + t * bh, B, H);
			break;
		case MAAS_CELL_GRU:
			gru_bwd_step(dg, dh, db_ih, db_hh, dot, ldo, v.g + t * 4 * bh, hp, B, H);
			break;
		case MAAS_CELL_LSTM:
			lstm_bwd_step(dg, dc, db_ih, db_hh, dh, dot, ldo, v.g + t * 4 * bh, v.k + t * bh,
				      t > 0 ? v.c + (t - 1) * bh : NULL, B, H);
			break;
		}
		if (hp) {
			/* dw_hh += dg_h^T h_{t-1}; dh = (GRU: dh z +) dg_h w_hh */
			maas_sgemm(1, 0, GH, H, B, 1.0f, dg, gw, hp, H, 1.0f, dw_hh, H);
			maas_sgemm(0, 0, B, H, GH, 1.0f, dg, gw, w_hh, H, cell == MAAS_CELL_GRU ? 1.0f : 0.0f, dh, H);
		}
		/* dw_ih += dg_x^T x_t; dx_t += dg_x w_ih */
		maas_sgemm(1, 0, gx, C, B, 1.0f, dg, gw, xt, C, 1.0f, dw_ih, C);
		if (dx)
			maas_sgemm(0, 0, B, C, gx, 1.0f, dg, gw, w_ih, C, 1.0f, dx + (size_t)t * C, T * C);
		if (cell == MAAS_CELL_GRU) {
			maas_sgemm(1, 0, H, C, B, 1.0f, dg + 3 * H, gw, xt, C, 1.0f, dw_ih + (size_t)2 * H * C, C);
			if (dx)
				maas_sgemm(0, 0, B, C, H, 1.0f, dg + 3 * H, gw, w_ih + (size_t)2 * H * C, C, 1.0f,
				   dx + (size_t)t * C, T * C);
		}
	}
}
