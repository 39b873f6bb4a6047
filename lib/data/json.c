/*
 * json.c - JSON arrays of objects and JSON lines, through jansson (see read.h).
 *
 * A JSON array is read whole (at most MAAS_JSON_MAX_BYTES) but parsed one
 * element at a time (json_loadb with JSON_DISABLE_EOF_CHECK), so only one
 * record is ever a jansson tree.  JSON lines are streamed: blocks of 1 MiB,
 * split at newlines, each line parsed on its own.  Integers are decoded as
 * doubles (JSON_DECODE_INT_AS_REAL): ids beyond 64 bits are numbers too.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "data/read_int.h"

#define BLOCK ((size_t)1 << 20)
#define KEY_MAX_SHOWN 100 /* bytes of a key shown in messages */

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "a value";
}

/* One object as one row.  unit is "line" or "record". */
static int add_object(struct maas_table *t, json_t *obj, size_t src, uint64_t n, const char *name,
		      const char *unit, const struct maas_read_opts *o, struct maas_err *e)
{
	const char *key;
	json_t *v;
	size_t fresh = 0;

	json_object_foreach(obj, key, v) {
		if (json_is_array(v) || json_is_object(v))
			return maas_err_set(e, MAAS_EDATA, "'%s' %s %llu: key '%.*s' holds %s; only scalars are supported",
					    name, unit, (unsigned long long)n, KEY_MAX_SHOWN, key, type_name(v));
		if (maas_table_find(t, key, strlen(key)) < 0)
			fresh++;
	}
	if (fresh && t->ncols + fresh > o->max_columns)
		return maas_err_set(e, MAAS_EDATA, "'%s' %s %llu: more than %zu columns",
				    name, unit, (unsigned long long)n, o->max_columns);
	maas_table_begin_row(t, src, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n);
	json_object_foreach(obj, key, v) {
		size_t col = maas_table_column(t, key, strlen(key));
		switch (json_typeof(v)) {
		case JSON_INTEGER:
		case JSON_REAL:
			maas_table_set_num(t, col, json_number_value(v));
			break;
		case JSON_STRING:
			maas_table_set_json_str(t, col, json_string_value(v), json_string_length(v));
			break;
		case JSON_TRUE:
		case JSON_FALSE:
			maas_table_set_json_bool(t, col, json_is_true(v));
			break;
		default:
			break; /* null: missing */
		}
	}
	maas_table_end_row(t);
	return 0;
}

/* ---- JSON array ---- */

struct cursor {
	const char *buf;
	size_t len, pos;
	uint64_t line;    /* of pos, 1-based */
	size_t line_pos;  /* where that line starts */
};

static void advance(struct cursor *c, size_t to)
{
	const char *p = c->buf + c->pos, *end = c->buf + to;
	while ((p = memchr(p, '\n', (size_t)(end - p)))) {
		c->line++;
		p++;
		c->line_pos = (size_t)(p - c->buf);
	}
	c->pos = to;
}

static void skip_space(struct cursor *c)
{
	size_t i = c->pos;
	while (i < c->len && (c->buf[i] == ' ' || c->buf[i] == '\t' || c->buf[i] == '\r' || c->buf[i] == '\n'))
		i++;
	advance(c, i);
}

static unsigned long long column(const struct cursor *c)
{
	return (unsigned long long)(c->pos - c->line_pos + 1);
}

static int read_whole(struct maas_in *in, char **out, size_t *outlen, struct maas_err *e)
{
	size_t cap = BLOCK, len = 0;
	char *buf = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (cap >= MAAS_JSON_MAX_BYTES) {
				free(buf);
				return maas_err_set(e, MAAS_EDATA, "'%s': JSON array larger than %zu bytes (use JSON lines)",
						    maas_in_name(in), MAAS_JSON_MAX_BYTES);
			}
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t r = maas_in_read(in, buf + len, cap - len, e);
		if (r < 0) {
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

static int parse_array(struct maas_table *t, struct cursor *c, size_t src, const char *name,
		       const struct maas_read_opts *o, struct maas_err *e)
{
	const size_t flags = JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL;
	uint64_t rec = 0;
	json_error_t jerr;

	if (c->len >= 3 && !memcmp(c->buf, "\xef\xbb\xbf", 3))
		c->pos = c->line_pos = 3;
	skip_space(c);
	if (c->pos == c->len)
		return maas_err_set(e, MAAS_EDATA, "'%s': no data rows", name);
	if (c->buf[c->pos] != '[')
		return maas_err_set(e, MAAS_EDATA, "'%s' line %llu, column %llu: expected a JSON array of objects",
				    name, (unsigned long long)c->line, column(c));
	advance(c, c->pos + 1);
	skip_space(c);
	if (c->pos < c->len && c->buf[c->pos] == ']') {
		advance(c, c->pos + 1);
	} else {
		for (;;) {
			rec++;
			if (c->pos < c->len && c->buf[c->pos] != '{') {
				/* say what it is, if it parses */
				json_t *v = json_loadb(c->buf + c->pos, c->len - c->pos, flags | JSON_DECODE_ANY, &jerr);
				if (v) {
					const char *what = type_name(v);
					json_decref(v);
					return maas_err_set(e, MAAS_EDATA, "'%s' record %llu: %s, not an object",
							    name, (unsigned long long)rec, what);
				}
			}
			json_t *v = json_loadb(c->buf + c->pos, c->len - c->pos, flags, &jerr);
			if (!v) {
				unsigned long long l = c->line + (unsigned long long)(jerr.line > 0 ? jerr.line - 1 : 0);
				unsigned long long col = jerr.line <= 1 ? column(c) + (unsigned long long)(jerr.column > 0 ? jerr.column - 1 : 0)
									: (unsigned long long)(jerr.column > 0 ? jerr.column : 0);
				return maas_err_set(e, MAAS_EDATA, "'%s' line %llu, column %llu: %s", name, l, col, jerr.text);
			}
			int rc = add_object(t, v, src, rec, name, "record", o, e);
			json_decref(v);
			if (rc < 0)
				return -1;
			advance(c, c->pos + jerr.position);
			skip_space(c);
			if (c->pos < c->len && c->buf[c->pos] == ',') {
				advance(c, c->pos + 1);
				skip_space(c);
				continue;
			}
			if (c->pos < c->len && c->buf[c->pos] == ']') {
				advance(c, c->pos + 1);
				break;
			}
			if (c->pos == c->len)
				return maas_err_set(e, MAAS_EDATA, "'%s' line %llu, column %llu: unexpected end of file in the array",
						    name, (unsigned long long)c->line, column(c));
			return maas_err_set(e, MAAS_EDATA, "'%s' line %llu, column %llu: expected ',' or ']' after record %llu",
					    name, (unsigned long long)c->line, column(c), (unsigned long long)rec);
		}
	}
	skip_space(c);
	if (c->pos < c->len)
		return maas_err_set(e, MAAS_EDATA, "'%s' line %llu, column %llu: trailing data after the array",
				    name, (unsigned long long)c->line, column(c));
	if (!rec)
		return maas_err_set(e, MAAS_EDATA, "'%s': no data rows", name);
	return 0;
}

int maas_read_json(struct maas_table *t, struct maas_in *in, size_t source,
		   const struct maas_read_opts *o, struct maas_err *e)
{
	struct cursor c = {0};
	char *buf = NULL;

	if (read_whole(in, &buf, &c.len, e) < 0)
		return -1;
	c.buf = buf;
	c.line = 1;
	maas_table_source_records(t, source);
	int rc = parse_array(t, &c, source, maas_in_name(in), o, e);
	free(buf);
	return rc;
}

/* ---- JSON lines ---- */

static int is_blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return 0;
	return 1;
}

static int one_line(struct maas_table *t, char *p, size_t n, uint64_t line, size_t src, const char *name,
		    const struct maas_read_opts *o, struct maas_err *e)
{
	json_error_t jerr;
	if (is_blank(p, n))
		return 0;
	json_t *v = json_loadb(p, n, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL | JSON_DECODE_ANY, &jerr);
	if (!v)
		return maas_err_set(e, MAAS_EDATA, "'%s' line %llu, column %d: %s", name,
				    (unsigned long long)line, jerr.column, jerr.text);
	if (!json_is_object(v)) {
		const char *what = type_name(v);
		json_decref(v);
		return maas_err_set(e, MAAS_EDATA, "'%s' line %llu: %s, not an object", name,
				    (unsigned long long)line, what);
	}
	int rc = add_object(t, v, src, line, name, "line", o, e);
	json_decref(v);
	return rc < 0 ? -1 : 1;
}

int maas_read_jsonl(struct maas_table *t, struct maas_in *in, size_t source,
		    const struct maas_read_opts *o, struct maas_err *e)
{
	const char *name = maas_in_name(in);
	size_t cap = BLOCK, len = 0, pos = 0, rows = 0;
	char *buf = xmalloc(cap + 1);
	uint64_t line = 1;
	int eof = 0, rc = 0, first = 1;

	while (!rc) {
		char *nl = memchr(buf + pos, '\n', len - pos);
		if (!nl && !eof) {
			/* move the partial line to the front, grow if it fills the buffer, read */
			memmove(buf, buf + pos, len - pos);
			len -= pos;
			pos = 0;
			if (len == cap) {
				if (cap >= MAAS_JSONL_MAX_LINE) {
					rc = maas_err_set(e, MAAS_EDATA, "'%s' line %llu: line longer than %zu bytes",
							  name, (unsigned long long)line, MAAS_JSONL_MAX_LINE);
					break;
				}
				cap *= 2;
				buf = xrealloc(buf, cap + 1);
			}
			ssize_t r = maas_in_read(in, buf + len, cap - len, e);
			if (r < 0) {
				rc = -1;
				break;
			}
			if (r == 0)
				eof = 1;
			len += (size_t)r;
			if (first && len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
				pos = 3;
			if (len >= 3 || eof)
				first = 0;
			continue;
		}
		if (!nl && pos == len)
			break;
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		int r = one_line(t, buf + pos, n, line, source, name, o, e);
		if (r < 0)
			rc = -1;
		rows += r > 0;
		pos += n + (nl != NULL);
		line++;
	}
	free(buf);
	if (!rc && !rows)
		return maas_err_set(e, MAAS_EDATA, "'%s': no data rows", name);
	return rc;
}
