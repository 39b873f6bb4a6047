/*
 * recurrent.h - kernels of one recurrent layer: Elman RNN (tanh), GRU, LSTM.
 *
 * llm.c style: plain functions over float arrays with the shapes in the
 * names and comments; B batch, T time steps, C input features, H hidden
 * units.  Inputs and outputs are batch-major, (B, T, C) and (B, T, H).
 * The initial state is zero.  Parameters follow PyTorch's layouts and gate
 * orders exactly, so weights move between maas and torch.nn.RNN/GRU/LSTM
 * unchanged:
 *
 *   RNN   w_ih (H, C)    w_hh (H, H)    b_ih (H)    b_hh (H)
 *         h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
 *   GRU   w_ih (3H, C)   w_hh (3H, H)   b_ih (3H)   b_hh (3H), gates r, z, n
 *         r = s(W_ir x + b_ir + W_hr h + b_hr); z = s(W_iz x + b_iz + W_hz h + b_hz)
 *         n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); h' = (1 - z) * n + z * h
 *   LSTM  w_ih (4H, C)   w_hh (4H, H)   b_ih (4H)   b_hh (4H), gates i, f, g, o
 *         c' = f * c + i * g; h' = o * tanh(c')
 *
 * forward writes out (B, T, H) and keeps in `cache` what backward needs
 * (maas_cell_cache_floats(cell, B, T, C, H) floats, caller-allocated,
 * written whole by forward, read only by backward: one cache per layer
 * and batch in flight).  backward ADDS into dw_ih, dw_hh, db_ih, db_hh
 * and, unless dx is NULL (a first layer), into dx (B, T, C); dout
 * (B, T, H) is the gradient of every output step (zero for steps the loss
 * does not see).  x, w_ih and w_hh are those forward saw.  `work` is
 * scratch of maas_cell_work_floats(cell, B, T, C, H) floats for either
 * call (its contents need not survive between them; layers may share
 * one).  No function allocates, fails or prints; buffers must not
 * overlap; B, T, C, H >= 1, and the caller checks that the sizes, as
 * size_t, do not overflow.
 *
 * All matrix products go through maas_sgemm (nn/blas.h): one for the
 * input projection of all B*T steps, then per step one for the recurrent
 * product (forward) and two for dh_{t-1} and dw_hh (backward).  They are
 * small, so OpenBLAS should run them on one thread (maas_blas_set_threads).
 * The gate arithmetic between them is vectorised (AVX-512, AVX2 or SSE2,
 * chosen at run time) with our own exp, sigmoid and tanh, each within a
 * few ulp; a NaN in the input or weights makes the affected outputs NaN.
 * Results are deterministic on one machine; the layouts and the order of
 * the work are documented in recurrent.c.
 */
#ifndef MAAS_NN_RECURRENT_H
#define MAAS_NN_RECURRENT_H

#include <stddef.h>

enum maas_cell { MAAS_CELL_RNN, MAAS_CELL_GRU, MAAS_CELL_LSTM };

/* gates per hidden unit: 1, 3, 4 */
int maas_cell_gates(enum maas_cell cell);

/* B*T*(C + H) for the RNN, B*T*(C + 5H) for the GRU, B*T*(C + 7H) for the LSTM */
size_t maas_cell_cache_floats(enum maas_cell cell, int B, int T, int C, int H);
/* the larger of G*H*(C + H) (+ 3BH for the GRU) and B*(H or 4H) + 2BH */
size_t maas_cell_work_floats(enum maas_cell cell, int B, int T, int C, int H);

void maas_cell_forward(enum maas_cell cell, float *out, float *cache, float *work,
		       const float *x, const float *w_ih, const float *w_hh,
		       const float *b_ih, const float *b_hh, int B, int T, int C, int H);

void maas_cell_backward(enum maas_cell cell, float *dx, float *dw_ih, float *dw_hh,
			float *db_ih, float *db_hh, float *work, const float *dout,
			const float *cache, const float *x, const float *w_ih, const float *w_hh,
			int B, int T, int C, int H);

#endif
