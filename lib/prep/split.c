/*
 * split.c - train / val / test row lists.
 *
 * Sizes.  Of m rows to split with fractions (f_train, f_val, f_test):
 *   n_test = round(m * f_test), n_val = round(m * f_val), train the rest,
 * where round() is half away from zero, n_test is clipped to m and n_val to
 * m - n_test.  With o->first_test_row >= 0 the rows whose table index is at
 * least first_test_row are the test split (they came from --test-input),
 * and the other m rows are split into train and val with
 *   n_val = round(m * f_val / (f_train + f_val)).
 * An empty val or test split is allowed; an empty train split is an error
 * (MAAS_EDATA "no training rows: ...").
 *
 * Methods (all draw from maas_rng stream MAAS_RNG_STREAM_SPLIT seeded with
 * o->seed, so a seed always gives the same split):
 *   random      one shuffle of the rows; the first n_test go to test, the
 *               next n_val to val, the rest to train.
 *   stratified  classes are the distinct values of the target (missing is a
 *               class of its own).  A class of c rows gets floor(c * f_test)
 *               test rows and floor(c * f_val) val rows, then classes take
 *               one more test row each, largest remainder first (ties in a
 *               seeded random order), until n_test is reached, and the same
 *               for val; a class never gives away its last training row,
 *               and a class with a single row goes to train.  So every
 *               class's share of each split is within one row of c * f, and
 *               the split sizes are at most n_test and n_val.  Which rows of
 *               a class go where comes from a shuffle of that class.
 *   time        rows sorted by the time column (dates through
 *               maas_parse_date, parsed once per distinct string; number
 *               columns or numeric strings by value), ties in input order;
 *               the oldest rows are train, then val, then test.  A missing
 *               or unreadable time is an error naming file and line.
 *   group       rows with equal group values (missing is one group) form a
 *               group that goes whole to one split.  The groups are
 *               shuffled and laid end to end; a group goes to test if its
 *               middle row falls within the first n_test rows, to val if
 *               within the next n_val, else to train.  Each split is within
 *               half the largest group of its target size.
 *   auto        time if there is a time column, else group if there is a
 *               group column, else stratified for a classification target,
 *               else random.
 * Rows keep input order within each split, except for time splits, which
 * keep time order.
 */
#include "prep/quality.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/rng.h"

const char *const maas_split_names[3] = {"train", "val", "test"};

static const char *const method_names[] = {"auto", "random", "stratified", "time", "group"};

const char *maas_split_method_name(enum maas_split_method m)
{
	return (unsigned)m < sizeof method_names / sizeof method_names[0] ? method_names[m] : "?";
}

int maas_split_method_parse(const char *s)
{
	for (size_t i = 0; i < sizeof method_names / sizeof method_names[0]; i++)
		if (!strcmp(s, method_names[i]))
			return (int)i;
	return -1;
}

#define UNSET 0xff              /* label of a position not yet split */

/* One split job: pool[0..m) are the positions (indices into rows) still to
 * be split; label[pos] receives the split of each position. */
struct splitter {
	const struct maas_table *t;
	const struct maas_schema *s;
	const size_t *rows;
	size_t n;
	size_t *pool, m;
	unsigned char *label;
	size_t nv, nt;          /* target val and test sizes of the pool */
	double fv, ft;          /* val and test fractions of the pool */
	struct maas_rng rng;
	size_t *order;          /* time: positions in time order */
};

static size_t round_count(size_t m, double f)
{
	double x = floor((double)m * f + 0.5);
	return x <= 0 ? 0 : x >= (double)m ? m : (size_t)x;
}

static void split_random(struct splitter *sp)
{
	size_t *p = xmallocarray(sp->m ? sp->m : 1, sizeof *p);
	memcpy(p, sp->pool, sp->m * sizeof *p);
	maas_rng_shuffle(&sp->rng, p, sp->m);
	for (size_t i = 0; i < sp->m; i++)
		sp->label[p[i]] = i < sp->nt ? MAAS_TEST : i < sp->nt + sp->nv ? MAAS_VAL : MAAS_TRAIN;
	free(p);
}

/* Numbers the distinct values of column col over the pool: key[i] for
 * pool[i], returns the number of keys (or SIZE_MAX past MAAS_ROWSET_MAX). */
static size_t number_keys(const struct splitter *sp, size_t col, size_t *key)
{
	struct maas_rowset rs;
	int added;
	maas_rowset_init(&rs, sp->t, &col, 1);
	for (size_t i = 0; i < sp->m; i++) {
		key[i] = maas_rowset_add(&rs, sp->rows[sp->pool[i]], &added);
		if (key[i] == SIZE_MAX) {
			maas_rowset_release(&rs);
			return SIZE_MAX;
		}
	}
	size_t nkeys = rs.n;
	maas_rowset_release(&rs);
	return nkeys;
}

struct extra {
	double rem;
	size_t rank, cls;
};

static int extra_cmp(const void *a, const void *b)
{
	const struct extra *x = a, *y = b;
	if (x->rem != y->rem)
		return x->rem > y->rem ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->cls < y->cls ? -1 : x->cls > y->cls;
}

/* One more row of split `which` for classes, largest remainder first. */
static void give_extra(struct splitter *sp, const size_t *count, size_t *mine, const size_t *other,
		       size_t nclass, double f, size_t want, struct extra *ex)
{
	size_t have = 0;
	for (size_t c = 0; c < nclass; c++)
		have += mine[c];
	for (size_t c = 0; c < nclass; c++) {
		ex[c].rem = (double)count[c] * f - (double)mine[c];
		ex[c].cls = c;
		ex[c].rank = (size_t)maas_rng_u64(&sp->rng);
	}
	qsort(ex, nclass, sizeof *ex, extra_cmp);
	for (size_t i = 0; i < nclass && have < want; i++) {
		size_t c = ex[i].cls;
		if (count[c] >= 2 && count[c] - mine[c] - other[c] >= 2 && ex[i].rem > 0) {
			mine[c]++;
			have++;
		}
	}
}

static int split_stratified(struct splitter *sp, struct maas_err *e)
{
	size_t m = sp->m, *key = xmallocarray(m ? m : 1, sizeof *key);
	size_t nclass = number_keys(sp, (size_t)sp->s->target, key);
	if (nclass == SIZE_MAX) {
		free(key);
		return maas_err_set(e, MAAS_EDATA, "cannot stratify by '%s': more than %u classes",
				    sp->t->cols[sp->s->target].name, MAAS_ROWSET_MAX);
	}
	size_t *count = xcalloc(nclass + 1, sizeof *count);
	size_t *start = xcalloc(nclass + 1, sizeof *start);
	size_t *nt = xcalloc(nclass + 1, sizeof *nt), *nv = xcalloc(nclass + 1, sizeof *nv);
	size_t *byclass = xmallocarray(m ? m : 1, sizeof *byclass);
	struct extra *ex = xmallocarray(nclass + 1, sizeof *ex);

	for (size_t i = 0; i < m; i++)
		count[key[i]]++;
	for (size_t c = 1; c <= nclass; c++)
		start[c] = start[c - 1] + count[c - 1];
	for (size_t i = 0; i < m; i++)
		byclass[start[key[i]]++] = sp->pool[i];
	for (size_t c = 0; c < nclass; c++) {
		start[c] -= count[c];
		maas_rng_shuffle(&sp->rng, byclass + start[c], count[c]);
		if (count[c] >= 2) {
			nt[c] = (size_t)floor((double)count[c] * sp->ft);
			nv[c] = (size_t)floor((double)count[c] * sp->fv);
			/* keep a training row (f_train > 0 leaves one but for rounding) */
			while (nt[c] + nv[c] >= count[c]) {
				if (nv[c])
					nv[c]--;
				else
					nt[c]--;
			}
		}
	}
	give_extra(sp, count, nt, nv, nclass, sp->ft, sp->nt, ex);
	give_extra(sp, count, nv, nt, nclass, sp->fv, sp->nv, ex);
	for (size_t c = 0; c < nclass; c++)
		for (size_t i = 0; i < count[c]; i++)
			sp->label[byclass[start[c] + i]] = i < nt[c] ? MAAS_TEST :
							   i < nt[c] + nv[c] ? MAAS_VAL : MAAS_TRAIN;
	free(key);
	free(count);
	free(start);
	free(nt);
	free(nv);
	free(byclass);
	free(ex);
	return 0;
}

static int split_group(struct splitter *sp, struct maas_err *e)
{
	size_t m = sp->m, *key = xmallocarray(m ? m : 1, sizeof *key);
	size_t ngroup = number_keys(sp, (size_t)sp->s->group_col, key);
	if (ngroup == SIZE_MAX) {
		free(key);
		return maas_err_set(e, MAAS_EDATA, "cannot split by group '%s': more than %u groups",
				    sp->t->cols[sp->s->group_col].name, MAAS_ROWSET_MAX);
	}
	size_t *size = xcalloc(ngroup + 1, sizeof *size), *order = xmallocarray(ngroup + 1, sizeof *order);
	unsigned char *glabel = xmalloc(ngroup + 1);
	for (size_t i = 0; i < m; i++)
		size[key[i]]++;
	for (size_t g = 0; g < ngroup; g++)
		order[g] = g;
	maas_rng_shuffle(&sp->rng, order, ngroup);
	double sum = 0;
	for (size_t i = 0; i < ngroup; i++) {
		size_t g = order[i];
		double mid = sum + (double)size[g] / 2;
		glabel[g] = mid < (double)sp->nt ? MAAS_TEST :
			    mid < (double)(sp->nt + sp->nv) ? MAAS_VAL : MAAS_TRAIN;
		sum += (double)size[g];
	}
	for (size_t i = 0; i < m; i++)
		sp->label[sp->pool[i]] = glabel[key[i]];
	free(key);
	free(size);
	free(order);
	free(glabel);
	return 0;
}

struct timed {
	double t;
	size_t pos;
};

static int timed_cmp(const void *a, const void *b)
{
	const struct timed *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Sorts every position (the pool and the test rows) by time into sp->order;
 * labels the pool: oldest train, then val, then test. */
static int split_time(struct splitter *sp, struct maas_err *e)
{
	size_t col = (size_t)sp->s->time_col, n = sp->n;
	const struct maas_col *c = &sp->t->cols[col];
	struct timed *tm = xmallocarray(n ? n : 1, sizeof *tm);
	double *when = NULL;
	unsigned char *state = NULL;   /* per string id: 0 not yet parsed, 1 parsed, 2 not a time */
	int rc = 0;

	if (c->kind == MAAS_COL_STR) {
		when = xmallocarray((size_t)c->dict.n + 1, sizeof *when);
		state = xcalloc((size_t)c->dict.n + 1, 1);
	}
	for (size_t i = 0; i < n; i++) {
		size_t row = sp->rows[i];
		char where[512];
		tm[i].pos = i;
		if (maas_table_missing(sp->t, col, row)) {
			maas_table_where(sp->t, row, where, sizeof where);
			rc = maas_err_set(e, MAAS_EDATA, "missing time in column '%s' at %s", c->name, where);
			break;
		}
		if (c->kind == MAAS_COL_NUM) {
			tm[i].t = c->num[row];
			continue;
		}
		uint32_t id = c->sid[row];
		if (!state[id]) {
			int has_time;
			const char *s = c->dict.str[id];
			size_t len = c->dict.len[id];
			state[id] = maas_parse_date(s, len, &when[id], &has_time) ||
				    maas_parse_number(s, len, &when[id]) ? 1 : 2;
		}
		if (state[id] == 2) {
			maas_table_where(sp->t, row, where, sizeof where);
			rc = maas_err_set(e, MAAS_EDATA, "cannot read time in column '%s' at %s: '%.*s' is not a date or a number",
					  c->name, where, c->dict.len[id] > 64 ? 64 : (int)c->dict.len[id], c->dict.str[id]);
			break;
		}
		tm[i].t = when[id];
	}
	if (!rc) {
		qsort(tm, n, sizeof *tm, timed_cmp);
		sp->order = xmallocarray(n ? n : 1, sizeof *sp->order);
		size_t k = 0, ntrain = sp->m - sp->nv - sp->nt;
		for (size_t i = 0; i < n; i++)
			sp->order[i] = tm[i].pos;
		/* the pool in time order: positions not already test rows */
		for (size_t i = 0; i < n; i++) {
			size_t pos = sp->order[i];
			if (sp->label[pos] == UNSET) {
				sp->label[pos] = k < ntrain ? MAAS_TRAIN : k < ntrain + sp->nv ? MAAS_VAL : MAAS_TEST;
				k++;
			}
		}
	}
	free(tm);
	free(when);
	free(state);
	return rc;
}

static int check_fracs(const struct maas_prep_opts *o, struct maas_err *e)
{
	for (int i = 0; i < 3; i++)
		if (!(o->frac[i] >= 0 && o->frac[i] <= 1))
			return maas_err_set(e, MAAS_EUSAGE, "invalid split fractions %g/%g/%g: each must be between 0 and 1",
					    o->frac[0], o->frac[1], o->frac[2]);
	if (!(o->frac[0] > 0))
		return maas_err_set(e, MAAS_EUSAGE, "invalid split fractions %g/%g/%g: the training fraction must be above 0",
				    o->frac[0], o->frac[1], o->frac[2]);
	if (o->first_test_row < 0 && fabs(o->frac[0] + o->frac[1] + o->frac[2] - 1) > 1e-6)
		return maas_err_set(e, MAAS_EUSAGE, "invalid split fractions %g/%g/%g: they must sum to 1",
				    o->frac[0], o->frac[1], o->frac[2]);
	return 0;
}

static enum maas_split_method resolve(const struct maas_schema *s, enum maas_split_method m)
{
	if (m != MAAS_SPLIT_AUTO)
		return m;
	if (s->time_col >= 0)
		return MAAS_SPLIT_TIME;
	if (s->group_col >= 0)
		return MAAS_SPLIT_GROUP;
	if (s->target >= 0 && s->task == MAAS_TASK_CLASSIFICATION)
		return MAAS_SPLIT_STRATIFIED;
	return MAAS_SPLIT_RANDOM;
}

int maas_split_rows(const struct maas_table *t, const struct maas_schema *s,
		    const size_t *rows, size_t n, const struct maas_prep_opts *o,
		    struct maas_split *out, struct maas_err *e)
{
	struct splitter sp;
	enum maas_split_method method = resolve(s, o->split);
	int rc = 0;

	memset(out, 0, sizeof *out);
	if (check_fracs(o, e))
		return -1;
	if (method == MAAS_SPLIT_STRATIFIED && s->target < 0)
		return maas_err_set(e, MAAS_EUSAGE, "a stratified split needs a target (--target)");
	if (method == MAAS_SPLIT_TIME && s->time_col < 0)
		return maas_err_set(e, MAAS_EUSAGE, "a time split needs a time column (--time-column)");
	if (method == MAAS_SPLIT_GROUP && s->group_col < 0)
		return maas_err_set(e, MAAS_EUSAGE, "a group split needs a group column (--group-column)");
	if (method < MAAS_SPLIT_RANDOM || method > MAAS_SPLIT_GROUP)
		return maas_err_set(e, MAAS_EUSAGE, "unknown split method %d", (int)method);

	memset(&sp, 0, sizeof sp);
	sp.t = t;
	sp.s = s;
	sp.rows = rows;
	sp.n = n;
	sp.label = xmalloc(n ? n : 1);
	sp.pool = xmallocarray(n ? n : 1, sizeof *sp.pool);
	memset(sp.label, UNSET, n);
	for (size_t i = 0; i < n; i++) {
		if (o->first_test_row >= 0 && rows[i] >= (size_t)o->first_test_row)
			sp.label[i] = MAAS_TEST;
		else
			sp.pool[sp.m++] = i;
	}
	if (o->first_test_row >= 0) {
		double tv = o->frac[0] + o->frac[1];
		sp.fv = tv > 0 ? o->frac[1] / tv : 1;
		sp.ft = 0;
	} else {
		sp.fv = o->frac[1];
		sp.ft = o->frac[2];
	}
	sp.nt = round_count(sp.m, sp.ft);
	sp.nv = round_count(sp.m, sp.fv);
	if (sp.nv > sp.m - sp.nt)
		sp.nv = sp.m - sp.nt;
	maas_rng_init(&sp.rng, o->seed, MAAS_RNG_STREAM_SPLIT);

	switch (method) {
	case MAAS_SPLIT_STRATIFIED: rc = split_stratified(&sp, e); break;
	case MAAS_SPLIT_TIME:       rc = split_time(&sp, e); break;
	case MAAS_SPLIT_GROUP:      rc = split_group(&sp, e); break;
	default:                    split_random(&sp); break;
	}
	if (rc)
		goto done;

	size_t count[3] = {0, 0, 0};
	for (size_t i = 0; i < n; i++)
		count[sp.label[i]]++;
	if (!count[MAAS_TRAIN]) {
		if (!n)
			rc = maas_err_set(e, MAAS_EDATA, "no training rows: the input has no rows");
		else if (!sp.m)
			rc = maas_err_set(e, MAAS_EDATA, "no training rows: all %zu rows are test rows", n);
		else
			rc = maas_err_set(e, MAAS_EDATA, "no training rows: a %s split of %zu rows with fractions %g/%g/%g leaves none for training",
					  method_names[method], sp.m, o->frac[0], o->frac[1],
					  o->first_test_row >= 0 ? 0.0 : o->frac[2]);
		goto done;
	}
	for (int k = 0; k < 3; k++) {
		out->rows[k] = xmallocarray(count[k] ? count[k] : 1, sizeof *out->rows[k]);
		out->n[k] = 0;
	}
	for (size_t i = 0; i < n; i++) {
		size_t pos = sp.order ? sp.order[i] : i;
		int k = sp.label[pos];
		out->rows[k][out->n[k]++] = rows[pos];
	}
	out->method = method;
done:
	free(sp.label);
	free(sp.pool);
	free(sp.order);
	return rc;
}

void maas_split_release(struct maas_split *s)
{
	for (int k = 0; k < 3; k++)
		free(s->rows[k]);
	memset(s, 0, sizeof *s);
}
