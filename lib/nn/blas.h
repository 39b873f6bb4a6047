/*
 * blas.h - the one door to OpenBLAS.
 *
 * blas.c is the only file that includes <cblas.h>; everything else calls
 * these wrappers.  OpenBLAS is opened at run time (dlopen of
 * libopenblas.so.0) so that maas chooses its kernels before the library
 * initialises: Debian's OpenBLAS 0.3.21 does not recognise some newer CPUs
 * and falls back to generic "Prescott" kernels, several times slower.
 *
 * The choice of kernels (OPENBLAS_CORETYPE), first rule that applies:
 *   1. maas_blas_opts.coretype (the tools' --blas-core), any case; a name
 *      OpenBLAS does not know is an error (MAAS_EUSAGE);
 *   2. the user's OPENBLAS_CORETYPE, passed through untouched;
 *   3. automatic: on a CPU with AVX-512 (F, BW, DQ, VL) maas asks a child
 *      process which kernels OpenBLAS would pick by itself; when that is a
 *      known pre-AVX-512 kernel set (Prescott, Haswell, Zen, ...) a second
 *      child checks the SkylakeX kernels against a plain reference product
 *      (all transpose cases, odd sizes, strides) and, if they pass, maas
 *      loads OpenBLAS with them.  Otherwise OpenBLAS keeps its own choice
 *      (a name maas does not know is taken to be newer, hence kept).
 * maas sets OPENBLAS_CORETYPE only while it loads the library and then
 * restores the environment, so programs that maas starts see the user's.
 * The children fork from a process that has not loaded OpenBLAS, end with
 * _exit, and are killed after 20 s.  Call maas_blas_init early, before the
 * program starts threads (fork, setenv).
 *
 * Threads: maas_blas_init sets OpenBLAS's thread count once (default: the
 * user's OPENBLAS_NUM_THREADS, else the CPUs in the process's affinity
 * mask); callers that run many small products (a recurrent layer's time
 * steps) lower it with maas_blas_set_threads, since oversubscribed small
 * products are many times slower.  Change the count only while no product
 * runs.
 *
 * A product, a thread call or a measurement before maas_blas_init loads
 * OpenBLAS with the defaults; if it cannot be loaded, products fall back
 * to plain loops (correct, slow, one thread) and maas_blas_describe says
 * so.  maas_blas_describe and maas_blas_corename never load anything.
 *
 * Row-major throughout.  Nothing here allocates for the caller; the
 * strings returned are owned by this module.
 */
#ifndef MAAS_NN_BLAS_H
#define MAAS_NN_BLAS_H

#include <stddef.h>

#include "core/error.h"

struct maas_blas_opts {
	const char *coretype;   /* NULL or "": automatic (see above); else an OPENBLAS_CORETYPE name */
	int threads;            /* 0: automatic */
};

/* Loads and configures OpenBLAS; idempotent (later calls only change the
 * thread count, when o->threads > 0; asking then for other kernels than
 * those loaded is MAAS_EUSAGE).  MAAS_EOS when the library cannot be
 * loaded or a child cannot be forked; MAAS_EUSAGE for an unknown
 * o->coretype.  o may be NULL. */
int maas_blas_init(const struct maas_blas_opts *o, struct maas_err *e);

/* "OpenBLAS 0.3.21 SkylakeX kernels (chosen by maas for this AVX-512 CPU,
 * checked in 9 ms; OpenBLAS alone would use Prescott), 2 threads; build:
 * OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ..."  Says who chose the kernels:
 * OpenBLAS, maas, OPENBLAS_CORETYPE or --blas-core.  Valid until the next
 * call of any function here. */
const char *maas_blas_describe(void);
/* The kernel name OpenBLAS reports ("SkylakeX", "Prescott", ...);
 * "reference" when OpenBLAS could not be loaded, "none" before loading. */
const char *maas_blas_corename(void);
int maas_blas_threads(void);
/* n <= 0 restores the default count. */
void maas_blas_set_threads(int n);

/* Checks, in a child process, OpenBLAS's kernels for `coretype` (NULL: the
 * ones OpenBLAS picks by itself) with the products described above, and
 * copies the kernel name OpenBLAS reports into name[namesz] (it differs
 * from coretype when OpenBLAS does not know that name).  Returns 0 when
 * every product matches the reference; -1 with MAAS_ECHECK when one does
 * not or the child crashed or hung, MAAS_EOS when it cannot fork or load
 * the library, MAAS_ESOFTWARE when OpenBLAS is already loaded in this
 * process (a child would inherit its kernels). */
int maas_blas_check(const char *coretype, char *name, size_t namesz, struct maas_err *e);

/* C = alpha * op(A) * op(B) + beta * C, row-major.  op(A) is M x K, op(B)
 * K x N, C M x N; ta/tb: 0 plain, 1 transposed; lda/ldb/ldc are row
 * strides of the stored matrices.  BLAS conventions: beta == 0 overwrites
 * C (NaN in C does not survive), alpha == 0 or K == 0 does not read A or B.
 * Strides are >= 0; strides below the stored width are allowed (rows
 * overlap, e.g. ld 0 to repeat one row) and take the plain loops.
 * M <= 0 or N <= 0 does nothing. */
void maas_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
		const float *B, int ldb, float beta, float *C, int ldc);

/* Peak single-precision GEMM speed measured now (GFLOP/s), for benchmarks
 * and -v: n x n products (1 <= n <= 4096) for about `seconds`, after one
 * untimed product. */
double maas_blas_measure_gflops(int n, double seconds);

#endif
