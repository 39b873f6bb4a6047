/*
 * idx.c - the IDX reader (MNIST, Fashion-MNIST; see read.h).
 *
 * Records are read in blocks of about 1 MiB and written column by column
 * straight into the table's float arrays (maas_table_add_rows makes the
 * rows, all missing; the fill keeps n_missing and n_nonint right), so a
 * 60000-image file costs one pass over its bytes.  Columns are created
 * only once the first record has arrived: a short file fails before it
 * makes 100000 columns.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "data/read_int.h"

#define BLOCK ((size_t)1 << 20)

void maas_idx_group_init(struct maas_idx_group *g)
{
	memset(g, 0, sizeof *g);
}

void maas_idx_group_release(struct maas_idx_group *g)
{
	free(g->first);
	maas_idx_group_init(g);
}

static size_t dtype_size(int dtype)
{
	switch (dtype) {
	case 0x08: return 1;  /* u8 */
	case 0x09: return 1;  /* i8 */
	case 0x0b: return 2;  /* i16 */
	case 0x0c: return 4;  /* i32 */
	case 0x0d: return 4;  /* f32 */
	case 0x0e: return 8;  /* f64 */
	}
	return 0;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static double decode(const unsigned char *p, int dtype)
{
	switch (dtype) {
	case 0x08: return p[0];
	case 0x09: return (signed char)p[0];
	case 0x0b: return (int16_t)(uint16_t)(p[0] << 8 | p[1]);
	case 0x0c: return (int32_t)be32(p);
	case 0x0d: {
		uint32_t u = be32(p);
		float f;
		memcpy(&f, &u, 4);
		return f;
	}
	default: {
		uint64_t u = (uint64_t)be32(p) << 32 | be32(p + 4);
		double d;
		memcpy(&d, &u, 8);
		return d;
	}
	}
}

/* Cells [r0, r0+m) of column col from records at p (stride bytes apart). */
static void fill_column(struct maas_table *t, size_t col, size_t r0, size_t m,
			const unsigned char *p, size_t stride, int dtype)
{
	struct maas_col *c = &t->cols[col];
	if (dtype == 0x08 && c->kind == MAAS_COL_NUM) {
		float *out = c->num + r0;
		for (size_t i = 0; i < m; i++)
			out[i] = p[i * stride];
		c->n_missing -= m;
		return;
	}
	for (size_t i = 0; i < m; i++) {
		double v = decode(p + i * stride, dtype);
		float f = (float)v;
		if (c->kind == MAAS_COL_NUM && !isnan(v) && !isinf(f)) {
			c->num[r0 + i] = f;
			c->n_missing--;
			if (v != floor(v))
				c->n_nonint++;
		} else {
			maas_table_put_num(t, col, r0 + i, v);
		}
	}
}

int maas_read_idx(struct maas_table *t, struct maas_in *in, size_t source, struct maas_idx_group *g,
		  const struct maas_read_opts *o, struct maas_err *e)
{
	const char *name = maas_in_name(in);
	unsigned char h[4 + 8 * 4];
	ssize_t r = maas_in_read_full(in, h, 4, e);

	if (r < 0)
		return -1;
	if (r < 4 || h[0] || h[1] || !dtype_size(h[2]) || h[3] < 1 || h[3] > 8) {
		if (r < 4)
			return maas_err_set(e, MAAS_EDATA, "'%s': not an IDX file (%zd bytes)", name, r);
		return maas_err_set(e, MAAS_EDATA, "'%s': not an IDX file (magic 0x%08x)", name, (unsigned)be32(h));
	}
	int dtype = h[2], ndim = h[3];
	r = maas_in_read_full(in, h + 4, 4 * (size_t)ndim, e);
	if (r < 0)
		return -1;
	if ((size_t)r < 4 * (size_t)ndim)
		return maas_err_set(e, MAAS_EDATA, "'%s': truncated: the header has %d dimensions, found %zd bytes of sizes",
				    name, ndim, r);
	size_t n = be32(h + 4), k = 1, esize = dtype_size(dtype), rec, total;
	for (int d = 1; d < ndim; d++) {
		size_t dim = be32(h + 4 + 4 * d);
		if (maas_mul_overflow(k, dim, &k) || k > o->max_columns)
			return maas_err_set(e, MAAS_EDATA, "'%s': records of more than %zu values", name, o->max_columns);
	}
	if (!k)
		return maas_err_set(e, MAAS_EDATA, "'%s': records of 0 values", name);
	rec = k * esize;
	if (maas_mul_overflow(n, rec, &total))
		return maas_err_set(e, MAAS_EDATA, "'%s': %zu records of %zu bytes are too many", name, n, rec);
	if (!n)
		return maas_err_set(e, MAAS_EDATA, "'%s': no data rows", name);

	int label = ndim == 1;
	int pair = g->open && (label ? !g->has_label : !g->has_pixels);
	if (pair && n != g->n)
		return maas_err_set(e, MAAS_EDATA, "'%s': %zu %s do not match the %zu %s of '%s'", name, n,
				    label ? "labels" : "images", g->n, label ? "images" : "labels", g->first);
	size_t base = pair ? g->base : t->nrows;

	size_t per = BLOCK / rec ? BLOCK / rec : 1, *cols = NULL;
	unsigned char *buf = xmallocarray(per, rec);
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i += per) {
		size_t m = n - i < per ? n - i : per;
		r = maas_in_read_full(in, buf, m * rec, e);
		if (r < 0) {
			rc = -1;
			break;
		}
		if ((size_t)r < m * rec) {
			rc = maas_err_set(e, MAAS_EDATA, "'%s': truncated: expected %zu bytes of data, found %zu",
					  name, total, i * rec + (size_t)r);
			break;
		}
		if (!cols) {
			cols = xmallocarray(k, sizeof *cols);
			if (label) {
				cols[0] = maas_table_column(t, "label", 5);
			} else {
				char cn[32];
				for (size_t j = 0; j < k; j++) {
					int len = snprintf(cn, sizeof cn, "pixel%zu", j);
					cols[j] = maas_table_column(t, cn, (size_t)len);
				}
			}
			/* room for the rows the header announces, up to 1 GiB of cells */
			size_t limit = ((size_t)1 << 28) / (t->ncols ? t->ncols : 1);
			if (!pair)
				maas_table_reserve(t, t->nrows + (n < limit ? n : limit));
		}
		if (!pair)
			maas_table_add_rows(t, m, source, i + 1 > UINT32_MAX ? UINT32_MAX : (uint32_t)(i + 1));
		for (size_t j = 0; j < k; j++)
			fill_column(t, cols[j], base + i, m, buf + j * esize, rec, dtype);
	}
	if (!rc) {
		unsigned char extra[4096];
		r = maas_in_read(in, extra, sizeof extra, e);
		if (r < 0)
			rc = -1;
		else if (r > 0)
			rc = maas_err_set(e, MAAS_EDATA, "'%s': trailing data after the %zu bytes of data the header announces",
					  name, total);
	}
	free(buf);
	free(cols);
	if (rc)
		return rc;
	maas_table_source_records(t, source);
	if (!pair) {
		free(g->first);
		g->first = xstrdup(name);
		g->base = base;
		g->n = n;
		g->has_label = g->has_pixels = 0;
	}
	g->open = 1;
	if (label)
		g->has_label = 1;
	else
		g->has_pixels = 1;
	return 0;
}
