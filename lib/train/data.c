/*
 * data.c - a maas dataset (maas-dataset(5)) opened for training: mapped
 * once, checked once, then read in place.
 *
 * Every check happens at open, so that the loop never meets a surprise:
 * the format tag, the spec, the splits and their shapes and dtypes, values
 * that are not finite (named by tensor and index) and class indexes
 * outside the spec's classes.  Batches are gathered into caller-owned
 * buffers: nothing is allocated per batch.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "train/train.h"

static const char *const split_name[3] = {"train", "val", "test"};

/* The index of the first float of p[0..n) that is NaN or infinite, or n.
 * Integer test of the exponent bits, so that the loop vectorises. */
static size_t first_nonfinite(const float *p, size_t n)
{
	const size_t chunk = 4096;
	for (size_t i = 0; i < n; i += chunk) {
		size_t m = n - i < chunk ? n - i : chunk;
		const uint32_t *u = (const uint32_t *)(const void *)(p + i);
		uint32_t bad = 0;
		for (size_t k = 0; k < m; k++)
			bad |= (uint32_t)((u[k] & 0x7f800000u) == 0x7f800000u);
		if (bad)
			for (size_t k = 0; k < m; k++)
				if (!isfinite(p[i + k]))
					return i + k;
	}
	return n;
}

/* "[12, 3]" or "[12, 3, 5]" for the flat index i of a tensor */
static void index_text(const struct maas_tensor *t, size_t i, char *buf, size_t len)
{
	size_t idx[MAAS_ST_MAXDIM];
	for (int d = t->ndim - 1; d >= 0; d--) {
		idx[d] = i % (size_t)t->shape[d];
		i /= (size_t)t->shape[d];
	}
	size_t off = (size_t)snprintf(buf, len, "[");
	for (int d = 0; d < t->ndim && off < len; d++)
		off += (size_t)snprintf(buf + off, len - off, "%s%zu", d ? ", " : "", idx[d]);
	if (off < len)
		snprintf(buf + off, len - off, "]");
}

static void shape_text(const struct maas_tensor *t, char *buf, size_t len)
{
	size_t off = (size_t)snprintf(buf, len, "[");
	for (int d = 0; d < t->ndim && off < len; d++)
		off += (size_t)snprintf(buf + off, len - off, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
	if (off < len)
		snprintf(buf + off, len - off, "]");
}

static int check_finite(const struct maas_dataset *ds, const struct maas_tensor *t, struct maas_err *e)
{
	size_t i = first_nonfinite(t->data, t->nelem);
	if (i == t->nelem)
		return 0;
	char at[128];
	float v = ((const float *)t->data)[i];
	index_text(t, i, at, sizeof at);
	return maas_err_set(e, MAAS_EDATA, "dataset '%s': %s%s is %s", ds->name, t->name, at,
			    isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
}

static int load_split(struct maas_dataset *ds, int s, struct maas_err *e)
{
	char xn[16], yn[16], shape[128];
	snprintf(xn, sizeof xn, "%s.x", split_name[s]);
	snprintf(yn, sizeof yn, "%s.y", split_name[s]);
	const struct maas_tensor *x = maas_st_get(&ds->st, xn), *y = maas_st_get(&ds->st, yn);
	struct maas_tsplit *sp = &ds->split[s];

	if (!x) {
		if (s == MAAS_TRAIN)
			return maas_err_set(e, MAAS_EDATA, "dataset '%s' has no training split (no tensor 'train.x')",
					    ds->name);
		if (y)
			return maas_err_set(e, MAAS_EDATA, "dataset '%s' has '%s' but no '%s'", ds->name, yn, xn);
		return 0;
	}
	if (!y)
		return maas_err_set(e, MAAS_EDATA, "dataset '%s' has '%s' but no '%s' (no target)", ds->name, xn, yn);
	int want_ndim = ds->T ? 3 : 2;
	shape_text(x, shape, sizeof shape);
	if (x->dtype != MAAS_DT_F32)
		return maas_err_set(e, MAAS_EDATA, "dataset '%s': '%s' is %s, expected F32", ds->name, xn,
				    maas_dtype_name(x->dtype));
	if (x->ndim != want_ndim || (ds->T && x->shape[1] != ds->T) || x->shape[x->ndim - 1] != ds->d) {
		if (ds->T)
			return maas_err_set(e, MAAS_EDATA, "dataset '%s': '%s' has shape %s, but its spec makes "
					    "windows [n, %d, %d]", ds->name, xn, shape, ds->T, ds->d);
		return maas_err_set(e, MAAS_EDATA, "dataset '%s': '%s' has shape %s, but its spec makes [n, %d]",
				    ds->name, xn, shape, ds->d);
	}
	if (x->shape[0] == 0)
		return s == MAAS_TRAIN ? maas_err_set(e, MAAS_EDATA, "dataset '%s' has no training split "
						      "('train.x' has no rows)", ds->name) : 0;
	enum maas_dtype ydt = ds->classification ? MAAS_DT_I64 : MAAS_DT_F32;
	if (y->dtype != ydt)
		return maas_err_set(e, MAAS_EDATA, "dataset '%s': '%s' is %s, but a %s target is %s", ds->name, yn,
				    maas_dtype_name(y->dtype), ds->classification ? "classification" : "regression",
				    maas_dtype_name(ydt));
	if (y->ndim != 1 || y->shape[0] != x->shape[0]) {
		char ys[128];
		shape_text(y, ys, sizeof ys);
		return maas_err_set(e, MAAS_EDATA, "dataset '%s': '%s' has shape %s, but '%s' has %lld samples",
				    ds->name, yn, ys, xn, (long long)x->shape[0]);
	}
	if (check_finite(ds, x, e) < 0)
		return -1;
	sp->n = (size_t)x->shape[0];
	sp->x = x->data;
	if (ds->classification) {
		sp->cls = y->data;
		for (size_t i = 0; i < sp->n; i++)
			if (sp->cls[i] < 0 || sp->cls[i] >= ds->K)
				return maas_err_set(e, MAAS_EDATA, "dataset '%s': %s[%zu] is %lld, not a class index "
						    "(the spec has %d classes)", ds->name, yn, i,
						    (long long)sp->cls[i], ds->K);
	} else {
		if (check_finite(ds, y, e) < 0)
			return -1;
		sp->value = y->data;
	}
	return 0;
}

static int load_spec(struct maas_dataset *ds, struct maas_err *e)
{
	const char *fmt = maas_st_meta(&ds->st, "format");
	json_error_t je;

	if (!fmt || strcmp(fmt, MAAS_DATASET_FORMAT))
		return maas_err_set(e, MAAS_EDATA, "'%s' is not a maas dataset (its metadata has %s%s%s, "
				    "expected format '%s')", ds->name, fmt ? "format '" : "no format",
				    fmt ? fmt : "", fmt ? "'" : "", MAAS_DATASET_FORMAT);
	ds->spec_text = maas_st_meta(&ds->st, "prep");
	if (!ds->spec_text)
		return maas_err_set(e, MAAS_EDATA, "dataset '%s' has no prep spec in its metadata", ds->name);
	json_t *j = json_loads(ds->spec_text, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return maas_err_set(e, MAAS_EDATA, "dataset '%s': its prep spec is not JSON: %s", ds->name, je.text);
	int r = maas_spec_from_json(j, &ds->spec, e);
	json_decref(j);
	if (r < 0)
		return maas_err_prefix(e, "dataset '%s'", ds->name);
	if (!ds->spec.target || ds->spec.task == MAAS_TASK_AUTO)
		return maas_err_set(e, MAAS_EDATA, "dataset '%s' has no target to learn (made by maas-prep --apply?)",
				    ds->name);
	ds->classification = ds->spec.task == MAAS_TASK_CLASSIFICATION;
	if (ds->classification && ds->spec.nclasses < 1)
		return maas_err_set(e, MAAS_EDATA, "dataset '%s': its spec has no classes", ds->name);
	if (ds->spec.nclasses > 1000000 || ds->spec.nfeatures > 100000000 || ds->spec.window > 1000000)
		return maas_err_set(e, MAAS_EDATA, "dataset '%s': its spec is too large", ds->name);
	ds->K = ds->classification ? (int)ds->spec.nclasses : 1;
	ds->d = (int)ds->spec.nfeatures;
	ds->T = (int)ds->spec.window;
	ds->row = (size_t)ds->d * (size_t)(ds->T ? ds->T : 1);
	if (!ds->d)
		return maas_err_set(e, MAAS_EDATA, "dataset '%s' has no features", ds->name);
	ds->y_mean = isfinite(ds->spec.y_mean) ? ds->spec.y_mean : 0;
	ds->y_std = isfinite(ds->spec.y_std) && ds->spec.y_std > 0 ? ds->spec.y_std : 1;
	ds->source_sha256 = maas_st_meta(&ds->st, "source_sha256");
	const char *ex = maas_st_meta(&ds->st, "examples");
	if (ex) {
		ds->examples = json_loads(ex, JSON_REJECT_DUPLICATES, &je);
		if (!json_is_array(ds->examples))
			return maas_err_set(e, MAAS_EDATA, "dataset '%s': metadata 'examples' is not a JSON array",
					    ds->name);
	}
	return 0;
}

/* After the safetensors reader refused the input: when its first bytes
 * are not the start of a safetensors header at all (the 9th byte opens the
 * JSON header), say what it is instead of quoting a nonsense length. */
static int not_safetensors(struct maas_dataset *ds, const unsigned char *p, size_t n, struct maas_err *e)
{
	if (e->kind != MAAS_EDATA || (n > 8 && p[8] == '{'))
		return -1;
	size_t i = 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	const char *what = n >= 2 && p[0] == 0x1f && p[1] == 0x8b ? " (it is gzip-compressed)"
			 : i < n && (p[i] == '{' || p[i] == '[') ? " (it looks like JSON)"
			 : n >= 10 && !memcmp(p, "MODEL.json", 10) ? " (it is a bundle, a trained model)"
			 : "";
	return maas_err_set(e, MAAS_EDATA, "'%s' is not a dataset: not a safetensors file%s; make one with maas-prep",
			    ds->name, what);
}

static int sniff_file(struct maas_dataset *ds, const char *path, struct maas_err *e)
{
	unsigned char head[16];
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(head, 1, sizeof head, f) : 0;
	if (f)
		fclose(f);
	return not_safetensors(ds, head, n, e);
}

int maas_dataset_open(struct maas_dataset *ds, const char *path, struct maas_err *e)
{
	memset(ds, 0, sizeof *ds);
	maas_buf_init(&ds->buf);
	ds->path = xstrdup(path);
	ds->name = maas_display_name(ds->path, 0);
	if (maas_is_stdio(path)) {
		if (maas_read_all(path, &ds->buf, MAAS_ST_READ_LIMIT, e) < 0)
			goto fail;
		maas_sha256_hex(ds->buf.data ? ds->buf.data : "", ds->buf.len, ds->sha256);
		if (maas_st_open_mem_named(&ds->st, ds->buf.data ? ds->buf.data : "", ds->buf.len, ds->name, e) < 0) {
			not_safetensors(ds, (const unsigned char *)(ds->buf.data ? ds->buf.data : ""),
					ds->buf.len < 16 ? ds->buf.len : 16, e);
			goto fail;
		}
	} else {
		if (maas_st_open(&ds->st, path, e) < 0) {
			sniff_file(ds, path, e);
			goto fail;
		}
		if (maas_sha256_file(path, ds->sha256, e) < 0)
			goto fail;
	}
	if (load_spec(ds, e) < 0)
		goto fail;
	for (int s = 0; s < 3; s++)
		if (load_split(ds, s, e) < 0)
			goto fail;
	ds->class_count = xcalloc((size_t)ds->K, sizeof *ds->class_count);
	if (ds->classification)
		for (size_t i = 0; i < ds->split[MAAS_TRAIN].n; i++)
			ds->class_count[ds->split[MAAS_TRAIN].cls[i]]++;
	return 0;
fail:
	maas_dataset_close(ds);
	return -1;
}

void maas_dataset_close(struct maas_dataset *ds)
{
	maas_st_close(&ds->st);
	maas_buf_release(&ds->buf);
	maas_spec_release(&ds->spec);
	json_decref(ds->examples);
	free(ds->class_count);
	free(ds->path);
	memset(ds, 0, sizeof *ds);
}

static double target(const struct maas_dataset *ds, const struct maas_tsplit *sp, size_t i)
{
	if (ds->classification)
		return (double)sp->cls[i];
	return ((double)sp->value[i] - ds->y_mean) / ds->y_std;
}

void maas_dataset_gather(const struct maas_dataset *ds, int split, const size_t *idx, size_t B,
			 float *x, double *y)
{
	const struct maas_tsplit *sp = &ds->split[split];
	for (size_t b = 0; b < B; b++) {
		memcpy(x + b * ds->row, sp->x + idx[b] * ds->row, ds->row * sizeof *x);
		y[b] = target(ds, sp, idx[b]);
	}
}

void maas_dataset_targets(const struct maas_dataset *ds, int split, size_t first, size_t B, double *y)
{
	const struct maas_tsplit *sp = &ds->split[split];
	for (size_t b = 0; b < B; b++)
		y[b] = target(ds, sp, first + b);
}
