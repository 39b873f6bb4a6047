/*
 * page.c - the debug page's HTML template and the input signatures behind
 * its forms (see page.h).  The page's script treats every string from the
 * server as text (textContent, option values), never as markup.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "core/version.h"
#include "serve/page.h"

/* @VERSION@ is replaced by the maas version. */
static const char page_template[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\">\n"
	"<head>\n"
	"<meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<title>maas-serve</title>\n"
	"<style>\n"
	"body{font:15px/1.4 system-ui,sans-serif;margin:2em auto;max-width:46em;padding:0 1em;color:#222}\n"
	"h1{font-size:1.4em;margin-bottom:.2em}h1 small{font-weight:normal;color:#777;font-size:.6em}\n"
	"label{display:block;margin:.5em 0}label span{display:inline-block;min-width:12em}\n"
	"input,select,button{font:inherit;padding:.2em .4em}\n"
	"fieldset{border:1px solid #ccc;border-radius:4px;margin:1em 0}\n"
	"#result{margin-top:1em;padding:.6em 1em;border-radius:4px;background:#f3f6f9;min-height:1.5em}\n"
	"#result.error{background:#fbeaea;color:#900}\n"
	"table{border-collapse:collapse}td{padding:.1em .8em .1em 0}\n"
	".bar{display:inline-block;height:.8em;background:#4a7fb5}\n"
	".note{color:#777;font-size:.9em}\n"
	"</style>\n"
	"</head>\n"
	"<body>\n"
	"<h1>maas-serve <small>@VERSION@</small></h1>\n"
	"<p class=\"note\">Send one record to a model and see its answer.</p>\n"
	"<label><span>Model</span><select id=\"model\"></select></label>\n"
	"<form id=\"form\">\n"
	"<fieldset id=\"fields\"><legend>Input</legend></fieldset>\n"
	"<p id=\"window\" class=\"note\" hidden></p>\n"
	"<button type=\"submit\" id=\"predict\">Predict</button>\n"
	"<button type=\"button\" id=\"example\">Fill with the example</button>\n"
	"</form>\n"
	"<div id=\"result\" data-state=\"empty\"></div>\n"
	"<script>\n"
	"'use strict';\n"
	"const q = new URLSearchParams(location.search);\n"
	"const $ = (id) => document.getElementById(id);\n"
	"let sig = null;\n"
	"function headers(json) {\n"
	"  const h = {};\n"
	"  if (json) h['Content-Type'] = 'application/json';\n"
	"  if (q.get('key')) h['Authorization'] = 'Bearer ' + q.get('key');\n"
	"  return h;\n"
	"}\n"
	"async function getJSON(url, opts) {\n"
	"  const r = await fetch(url, opts || {headers: headers(false)});\n"
	"  const body = await r.json().catch(() => ({error: 'HTTP ' + r.status}));\n"
	"  if (!r.ok) throw new Error(body.error || ('HTTP ' + r.status));\n"
	"  return body;\n"
	"}\n"
	"function el(tag, attrs, text) {\n"
	"  const e = document.createElement(tag);\n"
	"  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);\n"
	"  if (text !== undefined) e.textContent = String(text);\n"
	"  return e;\n"
	"}\n"
	"function show(state, node) {\n"
	"  const r = $('result');\n"
	"  r.replaceChildren(node);\n"
	"  r.dataset.state = state;\n"
	"  r.className = state === 'error' ? 'error' : '';\n"
	"}\n"
	"function fail(e) { show('error', el('span', {}, 'error: ' + e.message)); }\n"
	"function input(f) {\n"
	"  const id = 'f-' + f.name;\n"
	"  let e;\n"
	"  if (f.type === 'categorical' || f.type === 'boolean') {\n"
	"    e = el('select', {id: id});\n"
	"    e.append(el('option', {value: ''}, '(missing)'));\n"
	"    for (const c of (f.type === 'boolean' ? ['true', 'false'] : f.categories))\n"
	"      e.append(el('option', {value: c}, c));\n"
	"  } else if (f.type === 'date') {\n"
	"    e = el('input', {id: id, type: f.has_time ? 'datetime-local' : 'date'});\n"
	"  } else {\n"
	"    e = el('input', {id: id, type: 'number', step: f.type === 'integer' ? '1' : 'any'});\n"
	"  }\n"
	"  e.dataset.field = f.name;\n"
	"  e.dataset.type = f.type;\n"
	"  const l = el('label');\n"
	"  l.append(el('span', {}, f.name + ' (' + f.type + ')'), e);\n"
	"  return l;\n"
	"}\n"
	"function fill(example) {\n"
	"  for (const e of $('fields').querySelectorAll('[data-field]')) {\n"
	"    const v = example[e.dataset.field];\n"
	"    e.value = v === null || v === undefined ? '' : String(v);\n"
	"  }\n"
	"}\n"
	"function record() {\n"
	"  const rec = {};\n"
	"  for (const e of $('fields').querySelectorAll('[data-field]')) {\n"
	"    const t = e.dataset.type, v = e.value;\n"
	"    if (v === '') rec[e.dataset.field] = null;\n"
	"    else if (t === 'number' || t === 'integer') rec[e.dataset.field] = Number(v);\n"
	"    else if (t === 'boolean') rec[e.dataset.field] = v === 'true';\n"
	"    else rec[e.dataset.field] = v;\n"
	"  }\n"
	"  return rec;\n"
	"}\n"
	"function answer(p) {\n"
	"  const d = el('div');\n"
	"  const head = el('p', {}, 'value' in p ? 'value: ' : 'label: ');\n"
	"  head.append(el('strong', {id: 'value' in p ? 'value' : 'label'}, 'value' in p ? p.value : p.label));\n"
	"  d.append(head);\n"
	"  if ('value' in p) return d;\n"
	"  const t = el('table', {id: 'probabilities'});\n"
	"  for (const [k, v] of Object.entries(p.probabilities || {})) {\n"
	"    const tr = el('tr');\n"
	"    const bar = el('td');\n"
	"    bar.append(el('span', {class: 'bar', style: 'width:' + Math.round(v * 200) + 'px'}));\n"
	"    tr.append(el('td', {}, k), el('td', {}, v.toFixed(4)), bar);\n"
	"    t.append(tr);\n"
	"  }\n"
	"  d.append(t);\n"
	"  return d;\n"
	"}\n"
	"async function predict(ev) {\n"
	"  if (ev) ev.preventDefault();\n"
	"  if (!sig) return;\n"
	"  const rec = record();\n"
	"  const inst = sig.window > 0 ? Array(sig.window).fill(rec) : rec;\n"
	"  show('pending', el('span', {}, 'predicting...'));\n"
	"  try {\n"
	"    const url = '/v1/models/' + encodeURIComponent(sig.name) + '/versions/' +\n"
	"      encodeURIComponent(sig.version) + ':predict';\n"
	"    const body = await getJSON(url, {method: 'POST', headers: headers(true),\n"
	"      body: JSON.stringify({instances: [inst]})});\n"
	"    show('ok', answer(body.predictions[0]));\n"
	"  } catch (e) { fail(e); }\n"
	"}\n"
	"async function pick(name) {\n"
	"  sig = null;\n"
	"  const fs = $('fields');\n"
	"  fs.replaceChildren(el('legend', {}, 'Input'));\n"
	"  try {\n"
	"    sig = await getJSON('/v1/models/' + encodeURIComponent(name) + '/signature');\n"
	"  } catch (e) { fail(e); return; }\n"
	"  for (const f of sig.fields) fs.append(input(f));\n"
	"  const w = $('window');\n"
	"  w.hidden = !(sig.window > 0);\n"
	"  w.textContent = 'A windowed model: the record is sent ' + sig.window + ' times, as a constant history.';\n"
	"  show('empty', el('span'));\n"
	"  if (q.get('autofill') === '1') { fill(sig.example); await predict(); }\n"
	"}\n"
	"async function main() {\n"
	"  $('form').addEventListener('submit', predict);\n"
	"  $('example').addEventListener('click', () => sig && fill(sig.example));\n"
	"  let list;\n"
	"  try { list = await getJSON('/v1/models'); } catch (e) { fail(e); return; }\n"
	"  const sel = $('model');\n"
	"  for (const m of list.models) sel.append(el('option', {value: m.name}, m.name + ' (version ' + m.version + ')'));\n"
	"  const want = q.get('model');\n"
	"  if (want) sel.value = want;\n"
	"  sel.addEventListener('change', () => pick(sel.value));\n"
	"  if (want || sel.value) await pick(want || sel.value);\n"
	"}\n"
	"main();\n"
	"</script>\n"
	"</body>\n"
	"</html>\n";

void maas_page_render(struct maas_buf *b)
{
	const char *s = page_template, *at;

	while ((at = strstr(s, "@VERSION@"))) {
		maas_buf_add(b, s, (size_t)(at - s));
		maas_buf_addstr(b, MAAS_VERSION);
		s = at + strlen("@VERSION@");
	}
	maas_buf_addstr(b, s);
}

/* The most frequent kept category, or the fill category. */
static const char *typical_category(const struct maas_spec_col *c)
{
	size_t best = 0;
	if (c->fill_str)
		return c->fill_str;
	for (size_t k = 1; k < c->ncats && c->cat_count; k++)
		if (c->cat_count[k] > c->cat_count[best])
			best = k;
	return c->ncats ? c->cats[best] : NULL;
}

static json_t *typical_value(const struct maas_spec_col *c)
{
	double mean = c->stats.count && isfinite(c->stats.mean) ? c->stats.mean : c->fill;
	const char *cat;
	char day[32];
	struct tm tm;
	time_t t;

	switch (c->type) {
	case MAAS_FT_NUMBER: return json_real(isfinite(mean) ? mean : 0);
	case MAAS_FT_INTEGER: return json_integer(isfinite(mean) ? (json_int_t)llround(mean) : 0);
	case MAAS_FT_BOOLEAN: return json_boolean(mean >= 0.5);
	case MAAS_FT_CATEGORICAL: return (cat = typical_category(c)) ? json_string(cat) : json_null();
	case MAAS_FT_DATE:
		if (!isfinite(mean) || fabs(mean) > 1e11)
			return json_null();
		t = (time_t)mean;
		gmtime_r(&t, &tm);
		strftime(day, sizeof day, c->date_has_time ? "%Y-%m-%dT%H:%M" : "%Y-%m-%d", &tm);
		return json_string(day);
	default: return json_null();
	}
}

json_t *maas_page_signature(const struct maas_served *m)
{
	const struct maas_spec *s = &m->spec;
	json_t *fields = json_array(), *example = json_object(), *sig;

	for (size_t i = 0; i < s->ncols; i++) {
		const struct maas_spec_col *c = &s->cols[i];
		json_t *f = json_pack("{s:s,s:s}", "name", c->name, "type", maas_ftype_name(c->type));
		if (c->type == MAAS_FT_CATEGORICAL) {
			json_t *cats = json_array();
			for (size_t k = 0; k < c->ncats; k++)
				json_array_append_new(cats, json_string(c->cats[k]));
			json_object_set_new(f, "categories", cats);
		}
		if (c->type == MAAS_FT_DATE && c->date_has_time)
			json_object_set_new(f, "has_time", json_true());
		json_array_append_new(fields, f);
		json_object_set_new(example, c->name, typical_value(c));
	}
	sig = json_pack("{s:s,s:s,s:s,s:i,s:o,s:o}", "name", m->name, "version", m->version, "task",
			m->classification ? "classification" : "regression", "window", m->T, "fields", fields,
			"example", example);
	if (m->classification) {
		json_t *labels = json_array();
		for (int k = 0; k < m->nlabels; k++)
			json_array_append_new(labels, json_string(m->labels[k]));
		json_object_set_new(sig, "labels", labels);
	}
	return sig;
}
