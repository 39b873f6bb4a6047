/*
 * page.h - maas-serve's debug page (GET /) and the input signatures it
 * builds its forms from (GET /v1/models/{m}/signature).
 *
 * The page is one self-contained HTML document (no outside assets: styles
 * and script inline) held in page.c as a template.  In a browser it lists
 * the models (GET /v1/models), builds a form from the chosen model's
 * signature (a number input per numeric field, a select per categorical
 * with its categories, a date input per date), sends the record to the
 * records API (POST /v1/models/{m}/versions/{v}:predict) with fetch() and
 * shows the answer: the label and the class probabilities, or the value.
 * Query parameters: model=NAME picks the model, autofill=1 fills the form
 * with the model's example and submits it (so a headless browser's DOM
 * dump shows a whole round trip), key=KEY sends "Authorization: Bearer KEY".
 *
 * Ownership: maas_page_render appends to the caller's buffer;
 * maas_page_signature returns a new reference.
 */
#ifndef MAAS_SERVE_PAGE_H
#define MAAS_SERVE_PAGE_H

#include <jansson.h>

#include "core/io.h"
#include "serve/predict.h"

/* The page's HTML, the template filled in (the maas version). */
void maas_page_render(struct maas_buf *b);

/* m's input signature:
 *   {"name", "version", "task": "classification" | "regression",
 *    "window": T (0 for tabular models: one record per instance),
 *    "labels": [...] (classification),
 *    "fields": [{"name", "type": "number" | "integer" | "boolean" |
 *                "categorical" | "date", "categories": [...] (categorical),
 *                "has_time": true (a date with a time of day)}, ...],
 *    "example": {field: value, ...}}
 * The fields are the raw columns of the bundle's prep spec, in its order.
 * The example is a typical record from the training statistics: numbers
 * at their training mean (rounded for integers), the most frequent
 * category, booleans true when most were, dates at their mean day. */
json_t *maas_page_signature(const struct maas_served *m);

#endif
