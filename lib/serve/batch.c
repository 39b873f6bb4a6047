/*
 * batch.c - batch scoring of a stream of records (contract in batch.h).
 *
 * A small buffered reader takes lines (JSON lines) or RFC 4180 records
 * (CSV, TSV) from the descriptor; each becomes a pending entry: its line
 * number and either an instance (a JSON value) or an error.  When
 * max_batch entries are pending they are answered together: the good
 * instances go through maas_predict_features and one maas_predict_tensor,
 * and every entry writes its line, in input order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/io.h"
#include "core/mem.h"
#include "serve/batch.h"

#define MAX_BATCH 65536

/* ---- a buffered reader ---- */

struct reader {
	int fd;
	int eof;
	size_t pos, len;
	unsigned long line;      /* lines started so far */
	char buf[65536];
};

/* The next byte, -1 at the end, -2 on a read error (with *e). */
static int rd_fill(struct reader *r, struct maas_err *e)
{
	if (r->pos < r->len)
		return 0;
	if (r->eof)
		return -1;
	for (;;) {
		ssize_t n = read(r->fd, r->buf, sizeof r->buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			maas_err_sys(e, MAAS_EIO, "cannot read the records");
			return -2;
		}
		r->pos = 0;
		r->len = (size_t)n;
		if (n == 0) {
			r->eof = 1;
			return -1;
		}
		return 0;
	}
}

static inline int rd_getc(struct reader *r, struct maas_err *e)
{
	int f = rd_fill(r, e);
	return f < 0 ? f : (unsigned char)r->buf[r->pos++];
}

static inline int rd_peek(struct reader *r, struct maas_err *e)
{
	int f = rd_fill(r, e);
	return f < 0 ? f : (unsigned char)r->buf[r->pos];
}

/* One line without its "\n" (and "\r") into b.  Returns 1, 0 at the end,
 * -1 on error.  *too_long: the line went past the limit (the rest of it is
 * skipped, b holds nothing useful). */
static int read_line(struct reader *r, struct maas_buf *b, int *too_long, struct maas_err *e)
{
	int f, any = 0;

	b->len = 0;
	*too_long = 0;
	for (;;) {  /* what the buffer holds up to the newline, at once */
		if ((f = rd_fill(r, e)) == -2)
			return -1;
		if (f == -1)
			break;
		any = 1;
		const char *p = r->buf + r->pos, *nl = memchr(p, '\n', r->len - r->pos);
		size_t n = nl ? (size_t)(nl - p) : r->len - r->pos;
		r->pos += n + (nl != NULL);
		if (n > MAAS_BATCH_MAX_LINE - b->len)
			*too_long = 1;
		else if (!*too_long)
			maas_buf_add(b, p, n);
		if (nl)
			break;
	}
	if (!any)
		return 0;
	r->line++;
	if (b->len && b->data[b->len - 1] == '\r')
		b->data[--b->len] = '\0';
	return 1;
}

/* ---- CSV records ---- */

struct record {
	struct maas_buf text;    /* the fields, each NUL-terminated */
	size_t *off;             /* [n] where each starts in text */
	size_t n, cap;
};

/* One byte onto the record's text (the hot loop of a wide CSV). */
static inline void put(struct record *rec, char ch)
{
	if (rec->text.len + 1 >= rec->text.cap)
		xgrow(&rec->text.data, &rec->text.cap, rec->text.len + 2, 1);
	rec->text.data[rec->text.len++] = ch;
}

static void field_end(struct record *rec)
{
	put(rec, '\0');
}

/* One record into rec.  Returns 1, 0 at the end, -1 on error.  *first is
 * set to the line where it starts.  Blank lines are skipped. */
static int read_record(struct reader *r, char delim, struct record *rec, unsigned long *first, struct maas_err *e)
{
	int c;

	for (;;) {
		rec->text.len = 0;
		rec->n = 0;
		c = rd_peek(r, e);
		if (c == -2)
			return -1;
		if (c == -1)
			return 0;
		*first = ++r->line;
		int quoted = 0, at_start = 1, blank = 1;
		xgrow(&rec->off, &rec->cap, 1, sizeof *rec->off);
		rec->off[rec->n++] = 0;
		for (;;) {
			c = rd_getc(r, e);
			if (c == -2)
				return -1;
			if (c == -1) {
				if (quoted)
					return maas_err_set(e, MAAS_EDATA, "line %lu: a quoted field is not closed "
							    "before the end of the input", *first);
				break;
			}
			if (rec->text.len >= MAAS_BATCH_MAX_LINE)
				return maas_err_set(e, MAAS_EDATA, "line %lu: the record is longer than %zu bytes",
						    *first, MAAS_BATCH_MAX_LINE);
			if (quoted) {
				if (c == '"') {
					if (rd_peek(r, e) == '"') {
						rd_getc(r, e);
						put(rec, '"');
					} else {
						quoted = 0;
					}
				} else {
					if (c == '\n')
						r->line++;
					put(rec, (char)c);
				}
				continue;
			}
			if (c == '\r' && rd_peek(r, e) == '\n')
				continue;
			if (c == '\n')
				break;
			blank = 0;
			if (c == delim) {
				field_end(rec);
				xgrow(&rec->off, &rec->cap, rec->n + 1, sizeof *rec->off);
				rec->off[rec->n++] = rec->text.len;
				at_start = 1;
				continue;
			}
			if (c == '"' && at_start) {
				quoted = 1;
				at_start = 0;
				continue;
			}
			at_start = 0;
			put(rec, (char)c);
		}
		field_end(rec);
		if (!(blank && rec->n == 1 && rec->text.len == 1))
			return 1;
	}
}

static const char *field(const struct record *rec, size_t i)
{
	return rec->text.data + rec->off[i];
}

/* ---- pending entries ---- */

struct entry {
	unsigned long line;
	json_t *inst;            /* NULL when err is set */
	char *err;
};

struct batch {
	const struct maas_served *m;
	struct maas_predict_ctx c;
	struct entry *ent;
	size_t n, max;
	const json_t **inst;
	int *slot;               /* entry -> row of the forward pass, -1 */
	struct maas_prediction *pred;
	float *probs;
	FILE *out;
};

static void put_line(struct batch *b, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
	if (s) {
		fputs(s, b->out);
		fputc('\n', b->out);
	}
	free(s);
	json_decref(o);
}

static int flush_batch(struct batch *b, struct maas_err *e)
{
	const struct maas_served *m = b->m;
	size_t K = (size_t)(m->nlabels ? m->nlabels : 1);
	int k = 0;

	for (size_t i = 0; i < b->n; i++) {
		b->slot[i] = -1;
		if (b->ent[i].inst) {
			b->slot[i] = k;
			b->inst[k++] = b->ent[i].inst;
		}
	}
	if (k > 0) {
		maas_predict_features(m, &b->c, b->inst, k);
		if (maas_predict_tensor(m, &b->c, b->c.x, k, b->pred, b->probs, e) < 0)
			return -1;   /* features of good rows are finite: not reached */
	}
	for (size_t i = 0; i < b->n; i++) {
		struct entry *en = &b->ent[i];
		int s = b->slot[i];
		json_t *o = json_pack("{s:I}", "line", (json_int_t)en->line);
		if (s < 0)
			json_object_set_new(o, "error", json_string(en->err));
		else if (b->c.bad[s])
			json_object_set_new(o, "error", json_string(b->c.errs[s].msg));
		else
			json_object_set_new(o, "prediction", maas_prediction_json(m, &b->pred[s],
							m->classification ? b->probs + (size_t)s * K : NULL));
		put_line(b, o);
		json_decref(en->inst);
		free(en->err);
		en->inst = NULL;
		en->err = NULL;
	}
	b->n = 0;
	if (ferror(b->out))
		return maas_err_sys(e, MAAS_EIO, "cannot write the predictions");
	return 0;
}

static int add_entry(struct batch *b, unsigned long line, json_t *inst, char *err, struct maas_err *e)
{
	b->ent[b->n].line = line;
	b->ent[b->n].inst = inst;
	b->ent[b->n].err = err;
	b->n++;
	return b->n == b->max ? flush_batch(b, e) : 0;
}

/* ---- the formats ---- */

static int score_jsonl(struct batch *b, int fd, struct maas_err *e)
{
	struct reader *r = xcalloc(1, sizeof *r);
	struct maas_buf line;
	int too_long, got, rc = 0;

	r->fd = fd;
	maas_buf_init(&line);
	while (rc == 0 && (got = read_line(r, &line, &too_long, e)) > 0) {
		json_error_t je;
		if (too_long) {
			rc = add_entry(b, r->line, NULL, xasprintf("the line is longer than %zu bytes",
								   MAAS_BATCH_MAX_LINE), e);
			continue;
		}
		size_t i = 0;
		while (i < line.len && strchr(" \t\r", line.data[i]))
			i++;
		if (i == line.len)
			continue;
		json_t *v = json_loadb(line.data, line.len, JSON_REJECT_DUPLICATES, &je);
		if (!v)
			rc = add_entry(b, r->line, NULL, xasprintf("invalid JSON at column %d: %s", je.column, je.text), e);
		else
			rc = add_entry(b, r->line, v, NULL, e);
	}
	if (got < 0)
		rc = -1;
	if (rc == 0)
		rc = flush_batch(b, e);
	maas_buf_release(&line);
	free(r);
	return rc;
}

static int score_csv(struct batch *b, int fd, char delim, struct maas_err *e)
{
	struct reader *r = xcalloc(1, sizeof *r);
	struct record rec, head;
	unsigned long first = 0;
	int got, rc = -1;

	memset(&rec, 0, sizeof rec);
	memset(&head, 0, sizeof head);
	r->fd = fd;
	if (b->m->T) {
		maas_err_set(e, MAAS_EUSAGE, "CSV input needs a tabular model: model '%s' reads windows of %d "
			     "records (give JSON lines, one array of records a line)", b->m->name, b->m->T);
		goto out;
	}
	if (rd_peek(r, e) == 0xEF) {   /* a UTF-8 byte order mark */
		unsigned char bom[3];
		for (int i = 0; i < 3; i++)
			bom[i] = (unsigned char)rd_getc(r, e);
		if (bom[1] != 0xBB || bom[2] != 0xBF) {
			maas_err_set(e, MAAS_EDATA, "the CSV header is not UTF-8");
			goto out;
		}
	}
	got = read_record(r, delim, &head, &first, e);
	if (got <= 0) {
		if (got == 0)
			maas_err_set(e, MAAS_EDATA, "the CSV input has no header line");
		goto out;
	}
	for (size_t i = 0; i < head.n; i++) {
		json_t *v = json_string(field(&head, i));  /* NULL: not UTF-8 */
		if (!v) {
			maas_err_set(e, MAAS_EDATA, "the CSV header is not UTF-8 (column %zu)", i + 1);
			goto out;
		}
		json_decref(v);
	}
	char **names = xcalloc(head.n, sizeof *names);
	for (size_t i = 0; i < head.n; i++) {
		names[i] = *field(&head, i) ? xstrdup(field(&head, i)) : xasprintf("c%zu", i + 1);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(names[i], names[j])) {
				maas_err_set(e, MAAS_EDATA, "the CSV header names '%s' twice", names[i]);
				for (size_t k = 0; k <= i; k++)
					free(names[k]);
				free(names);
				goto out;
			}
	}
	/* one object for each place in a batch, kept across batches: a record
	 * only replaces the values of the keys it already has (a new object a
	 * record made jansson grow its table of keys step by step, and the
	 * frees and large allocations of that took most of the time of wide
	 * records) */
	json_t **objs = xcalloc(b->max, sizeof *objs);
	rc = 0;
	while (rc == 0 && (got = read_record(r, delim, &rec, &first, e)) > 0) {
		if (rec.n != head.n) {
			rc = add_entry(b, first, NULL, xasprintf("the record has %zu fields, the header %zu", rec.n,
								 head.n), e);
			continue;
		}
		json_t *o = objs[b->n] ? objs[b->n] : (objs[b->n] = json_object());
		int utf8 = 1;
		for (size_t i = 0; i < rec.n && utf8; i++) {
			const char *s = field(&rec, i);
			json_t *v = *s ? json_string(s) : json_null();
			utf8 = v != NULL;   /* json_string refuses text that is not UTF-8 */
			json_object_set_new(o, names[i], v);
		}
		if (!utf8) {
			rc = add_entry(b, first, NULL, xstrdup("the record is not UTF-8 text"), e);
			continue;
		}
		rc = add_entry(b, first, json_incref(o), NULL, e);
	}
	if (got < 0)
		rc = -1;
	if (rc == 0)
		rc = flush_batch(b, e);
	for (size_t i = 0; i < head.n; i++)
		free(names[i]);
	free(names);
	for (size_t i = 0; i < b->max; i++)
		json_decref(objs[i]);
	free(objs);
out:
	maas_buf_release(&rec.text);
	maas_buf_release(&head.text);
	free(rec.off);
	free(head.off);
	free(r);
	return rc;
}

int maas_serve_batch(const struct maas_served *m, int in_fd, FILE *out, enum maas_batch_format fmt,
		     size_t max_batch, struct maas_err *e)
{
	struct batch b;
	size_t K = (size_t)(m->nlabels ? m->nlabels : 1);
	int rc;

	memset(&b, 0, sizeof b);
	b.m = m;
	b.out = out;
	b.max = max_batch ? (max_batch < MAX_BATCH ? max_batch : MAX_BATCH) : MAAS_BATCH_DEFAULT;
	maas_predict_ctx_init(&b.c, m, (int)b.max);
	b.ent = xcalloc(b.max, sizeof *b.ent);
	b.inst = xcalloc(b.max, sizeof *b.inst);
	b.slot = xcalloc(b.max, sizeof *b.slot);
	b.pred = xcalloc(b.max, sizeof *b.pred);
	b.probs = xcalloc(b.max, K * sizeof *b.probs);

	if (fmt == MAAS_BATCH_JSONL)
		rc = score_jsonl(&b, in_fd, e);
	else
		rc = score_csv(&b, in_fd, fmt == MAAS_BATCH_TSV ? '\t' : ',', e);
	if (rc < 0) {
		/* what was read before the failure is still answered */
		struct maas_err e2;
		if (b.n)
			flush_batch(&b, &e2);
	}
	if (fflush(out) != 0 && rc == 0)
		rc = maas_err_sys(e, MAAS_EIO, "cannot write the predictions");
	for (size_t i = 0; i < b.n; i++) {
		json_decref(b.ent[i].inst);
		free(b.ent[i].err);
	}
	free(b.ent);
	free(b.inst);
	free(b.slot);
	free(b.pred);
	free(b.probs);
	maas_predict_ctx_release(&b.c);
	return rc;
}
