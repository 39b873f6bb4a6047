/*
 * fuzz_safetensors.c - libFuzzer target for the safetensors reader.
 *
 * Parses the input with maas_st_open_mem().  When it is accepted, checks
 * what the reader promises (every tensor found by name, aligned, inside
 * the input or the realigned copy, sizes consistent), then writes it again
 * with the streaming writer and parses the result: the writer must accept
 * whatever the reader accepted, and the second reading must give the same
 * tensors and metadata.  A broken promise aborts, which libFuzzer reports.
 *
 * Build and run: tools/fuzz fuzz/fuzz_safetensors.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/io.h"
#include "core/mem.h"
#include "data/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static int memfd = -1;

static int by_dtype_name(const void *a, const void *b)
{
	const struct maas_tensor *x = *(const struct maas_tensor *const *)a;
	const struct maas_tensor *y = *(const struct maas_tensor *const *)b;

	if (x->dtype != y->dtype)
		return x->dtype > y->dtype ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void check_promises(const struct maas_st *st, const uint8_t *data, size_t size)
{
	volatile unsigned sum = 0;

	for (size_t i = 0; i < st->n; i++) {
		const struct maas_tensor *t = &st->tensors[i];
		size_t nelem, nbytes;
		CHECK(maas_st_get(st, t->name) == t);
		CHECK(maas_dtype_size(t->dtype) != 0);
		CHECK(t->ndim >= 0 && t->ndim <= MAAS_ST_MAXDIM);
		CHECK(maas_st_sizes(t->dtype, t->ndim, t->shape, &nelem, &nbytes) == 0);
		CHECK(nelem == t->nelem && nbytes == t->nbytes);
		CHECK((uintptr_t)t->data % maas_dtype_size(t->dtype) == 0 || !t->nbytes);
		if (!st->abuf)
			CHECK((const uint8_t *)t->data >= data &&
			      (const uint8_t *)t->data + t->nbytes <= data + size);
		if (i)
			CHECK((const uint8_t *)t->data ==
			      (const uint8_t *)st->tensors[i - 1].data + st->tensors[i - 1].nbytes);
		for (size_t k = 0; k < t->nbytes; k++) /* ASan checks every byte */
			sum += ((const uint8_t *)t->data)[k];
	}
	for (size_t i = 0; i < st->nmeta; i++)
		CHECK(maas_st_meta(st, st->meta_keys[i]) != NULL);
	(void)sum;
}

/* Writes st with the streaming writer into memfd; returns the file size. */
static size_t rewrite(const struct maas_st *st)
{
	struct maas_out out;
	struct maas_st_writer *w = xmalloc(sizeof *w);
	struct maas_err e;
	const struct maas_tensor **order = xcalloc(st->n + 1, sizeof *order);
	struct maas_st_desc *d = xcalloc(st->n + 1, sizeof *d);

	CHECK(ftruncate(memfd, 0) == 0 && lseek(memfd, 0, SEEK_SET) == 0);
	memset(&out, 0, sizeof out);
	out.fd = memfd;
	out.is_stdout = 1;
	for (size_t i = 0; i < st->n; i++)
		order[i] = &st->tensors[i];
	qsort(order, st->n, sizeof *order, by_dtype_name);
	for (size_t i = 0; i < st->n; i++) {
		d[i].name = order[i]->name;
		d[i].dtype = order[i]->dtype;
		d[i].ndim = order[i]->ndim;
		memcpy(d[i].shape, order[i]->shape, sizeof d[i].shape);
	}
	CHECK(maas_st_writer_begin(w, &out, d, st->n, (const char *const *)st->meta_keys,
				   (const char *const *)st->meta_vals, st->nmeta, &e) == 0);
	for (size_t i = 0; i < st->n; i++)
		CHECK(maas_st_writer_write(w, order[i]->data, order[i]->nbytes, &e) == 0);
	CHECK(maas_st_writer_end(w, &e) == 0);
	free(d);
	free(order);
	free(w);
	off_t end = lseek(memfd, 0, SEEK_CUR);
	CHECK(end >= 16);
	return (size_t)end;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct maas_st st, again;
	struct maas_err e;

	if (maas_st_open_mem(&st, data, size, &e) < 0) {
		CHECK(e.kind == MAAS_EDATA && e.msg[0]);
		return 0;
	}
	check_promises(&st, data, size);

	if (memfd < 0)
		memfd = memfd_create("fuzz_safetensors", MFD_CLOEXEC);
	CHECK(memfd >= 0);
	size_t n = rewrite(&st);
	uint8_t *copy = xmalloc(n);
	CHECK(pread(memfd, copy, n, 0) == (ssize_t)n);
	CHECK(maas_st_open_mem(&again, copy, n, &e) == 0);
	CHECK(again.n == st.n);
	for (size_t i = 0; i < st.n; i++) {
		const struct maas_tensor *a = &st.tensors[i], *b = maas_st_get(&again, a->name);
		CHECK(b && b->dtype == a->dtype && b->ndim == a->ndim && b->nbytes == a->nbytes);
		CHECK(!memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim));
		CHECK(!a->nbytes || !memcmp(a->data, b->data, a->nbytes));
		CHECK(!again.abuf); /* maas's own layout is always aligned */
	}
	CHECK(again.nmeta == st.nmeta);
	for (size_t i = 0; i < st.nmeta; i++)
		CHECK(!strcmp(maas_st_meta(&again, st.meta_keys[i]), st.meta_vals[i]));
	maas_st_close(&again);
	free(copy);
	maas_st_close(&st);
	return 0;
}
