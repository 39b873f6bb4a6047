/* test_rules.c - --fail-on rules: parsing, every operator and metric, errors. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/mem.h"
#include "prep/prep.h"
#include "tap.h"

static const char *report_text =
	"{\"format\": \"maas-prep-report/1\", \"rows\": 1000, \"columns\": 5,"
	" \"column_stats\": [{\"name\": \"price\", \"missing_fraction\": 0.42},"
	"                  {\"name\": \"zip\", \"missing_fraction\": 0.05}],"
	" \"missing\": {\"cells\": 94, \"fraction\": 0.094, \"max_column_fraction\": 0.42, \"rows_with_missing\": 450},"
	" \"duplicates\": {\"rows\": 30, \"fraction\": 0.03},"
	" \"constant_columns\": [\"c\"], \"high_cardinality_columns\": [\"id\", \"zip\"],"
	" \"target\": {\"name\": \"y\", \"task\": \"classification\", \"missing\": 4,"
	"            \"classes\": {\"a\": 900, \"b\": 60, \"c\": 40}, \"imbalance\": 22.5},"
	" \"actions\": [],"
	" \"split\": {\"method\": \"stratified\", \"train\": 800, \"val\": 100, \"test\": 100,"
	"           \"cross_split_duplicates\": 7}}";

static json_t *report(void)
{
	json_error_t je;
	json_t *r = json_loads(report_text, 0, &je);
	if (!r)
		printf("# bad test report: %s\n", je.text);
	return r;
}

/* parses and checks one rule; returns 1 failed, 0 passed, -1 error */
static int check(const char *text, json_t *r, double *value, struct maas_err *e)
{
	struct maas_rule rule;
	if (maas_rule_parse(text, &rule, e) < 0)
		return -2;
	int n = maas_rules_check(&rule, 1, r, e);
	if (n >= 0 && value)
		*value = json_number_value(json_object_get(json_array_get(json_object_get(r, "checks"), 0), "value"));
	maas_rule_release(&rule);
	return n;
}

static void test_parse(void)
{
	struct maas_rule r;
	struct maas_err e;

	ok(maas_rule_parse("missing>0.3", &r, &e) == 0, "missing>0.3 parses");
	is_str(r.metric, "missing", "metric");
	ok(r.column == NULL, "no column");
	is_int(r.op, '>', "op >");
	ok(r.value == 0.3, "value 0.3");
	is_str(r.text, "missing>0.3", "text as written");
	maas_rule_release(&r);

	static const struct {
		const char *text;
		int op;
	} ops[] = {{"rows<100", '<'}, {"rows > 100", '>'}, {"rows <= 100", 'l'}, {" rows>=100 ", 'g'},
		   {"rows==100", '='}, {"rows\t!=\t100", '!'}};
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		int rc = maas_rule_parse(ops[i].text, &r, &e);
		ok(rc == 0 && r.op == ops[i].op && r.value == 100 && !strcmp(r.metric, "rows"), "'%s'", ops[i].text);
		if (rc == 0)
			maas_rule_release(&r);
	}
	ok(maas_rule_parse("missing[unit price] >= 1e-2", &r, &e) == 0, "missing[col] parses");
	is_str(r.column, "unit price", "column with a space");
	ok(r.op == 'g' && r.value == 0.01, ">= 1e-2");
	maas_rule_release(&r);
	ok(maas_rule_parse("missing[a[1]]<.5", &r, &e) == 0 && !strcmp(r.column, "a[1]"), "column with brackets");
	maas_rule_release(&r);
	ok(maas_rule_parse("imbalance > -3", &r, &e) == 0 && r.value == -3, "negative number");
	maas_rule_release(&r);

	static const struct {
		const char *text, *msg;
	} bad[] = {
		{"missng>0.3", "--fail-on 'missng>0.3': unknown metric 'missng' (did you mean 'missing'?)"},
		{"duplicate>0", "--fail-on 'duplicate>0': unknown metric 'duplicate' (did you mean 'duplicates'?)"},
		{"Rows<10", "--fail-on 'Rows<10': unknown metric 'Rows' (did you mean 'rows'?)"},
		{"entropy>1", "--fail-on 'entropy>1': unknown metric 'entropy'"},
		{"rows", "--fail-on 'rows': expected an operator (<, >, <=, >=, ==, !=) after 'rows'"},
		{"rows=5", "--fail-on 'rows=5': '=' is not an operator (did you mean '=='?)"},
		{"rows=>5", "--fail-on 'rows=>5': '=' is not an operator (did you mean '=='?)"},
		{"rows>", "--fail-on 'rows>': expected a number after the operator"},
		{"rows> ", "--fail-on 'rows> ': expected a number after the operator"},
		{"rows>ten", "--fail-on 'rows>ten': 'ten' is not a number"},
		{"rows>1 2", "--fail-on 'rows>1 2': '1 2' is not a number"},
		{"rows>inf", "--fail-on 'rows>inf': 'inf' is not a number"},
		{">5", "--fail-on '>5': expected a metric such as 'missing' or 'rows'"},
		{"", "--fail-on '': expected a metric such as 'missing' or 'rows'"},
		{"rows[x]>1", "--fail-on 'rows[x]>1': metric 'rows' takes no column"},
		{"missing[x>1", "--fail-on 'missing[x>1': missing ']' after the column name"},
		{"missing[]>1", "--fail-on 'missing[]>1': empty column name in 'missing[]'"},
		{"missing[x]", "--fail-on 'missing[x]': expected an operator (<, >, <=, >=, ==, !=) after 'missing[...]'"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&e, 0, sizeof e);
		int rc = maas_rule_parse(bad[i].text, &r, &e);
		ok(rc == -1 && e.kind == MAAS_EUSAGE, "'%s' is refused", bad[i].text);
		is_str(e.msg, bad[i].msg, "'%s': message", bad[i].text);
	}
	char *longrule = xmalloc(2000);
	memset(longrule, 'a', 1999);
	longrule[1999] = '\0';
	ok(maas_rule_parse(longrule, &r, &e) == -1 && e.kind == MAAS_EUSAGE && strstr(e.msg, "rule longer than"),
	   "a 2000-byte rule is refused");
	free(longrule);
}

static void test_metrics(void)
{
	struct maas_err e;
	json_t *r = report();
	double v;

	static const struct {
		const char *rule;
		double value;
		int failed;
	} cases[] = {
		{"rows<100", 1000, 0},
		{"rows<=1000", 1000, 1},
		{"rows>=1000", 1000, 1},
		{"rows==1000", 1000, 1},
		{"rows!=1000", 1000, 0},
		{"rows>999", 1000, 1},
		{"columns>4", 5, 1},
		{"missing>0.3", 0.42, 1},
		{"missing>0.5", 0.42, 0},
		{"missing_cells>0.1", 0.094, 0},
		{"missing_cells>=0.094", 0.094, 1},
		{"missing[price]>0.4", 0.42, 1},
		{"missing[zip]>0.1", 0.05, 0},
		{"duplicates>0.05", 0.03, 0},
		{"duplicates>0", 0.03, 1},
		{"constant>0", 1, 1},
		{"high_cardinality>2", 2, 0},
		{"high_cardinality==2", 2, 1},
		{"imbalance>10", 22.5, 1},
		{"classes<2", 3, 0},
		{"classes!=3", 3, 0},
		{"target_missing>0", 4, 1},
		{"cross_split_duplicates>0", 7, 1},
		{"train<1000", 800, 1},
		{"val<50", 100, 0},
		{"test==100", 100, 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = check(cases[i].rule, r, &v, &e);
		ok(rc == cases[i].failed, "'%s' %s", cases[i].rule, cases[i].failed ? "fails" : "passes");
		if (rc < 0)
			printf("#   error: %s\n", e.msg);
		is_near(v, cases[i].value, 1e-12, "'%s' value", cases[i].rule);
	}

	/* several rules: "checks" lists each; the count of failures is returned */
	struct maas_rule rules[3];
	ok(maas_rule_parse("missing>0.3", &rules[0], &e) == 0 && maas_rule_parse("rows < 10", &rules[1], &e) == 0 &&
	   maas_rule_parse("imbalance>=22.5", &rules[2], &e) == 0, "three rules");
	is_int(maas_rules_check(rules, 3, r, &e), 2, "two of three fail");
	char *text = json_dumps(json_object_get(r, "checks"), JSON_COMPACT | JSON_REAL_PRECISION(6));
	is_str(text, "[{\"rule\":\"missing>0.3\",\"value\":0.42,\"failed\":true},"
		     "{\"rule\":\"rows < 10\",\"value\":1000,\"failed\":false},"
		     "{\"rule\":\"imbalance>=22.5\",\"value\":22.5,\"failed\":true}]", "checks in the report");
	free(text);
	is_int(maas_rules_check(rules, 0, r, &e), 0, "no rules: nothing fails");
	is_int(json_array_size(json_object_get(r, "checks")), 0, "no rules: checks []");
	for (int i = 0; i < 3; i++)
		maas_rule_release(&rules[i]);

	/* errors at check time */
	ok(check("missing[prise]>0.1", r, NULL, &e) == -1 && e.kind == MAAS_EUSAGE, "unknown column: error");
	is_str(e.msg, "--fail-on 'missing[prise]>0.1': no column 'prise' in the input (did you mean 'price'?)",
	       "unknown column message");
	ok(check("missing[weight]>0.1", r, NULL, &e) == -1 &&
	   !strcmp(e.msg, "--fail-on 'missing[weight]>0.1': no column 'weight' in the input"), "no suggestion: %s", e.msg);
	json_decref(r);

	r = report();
	json_object_del(r, "split");
	ok(check("train<100", r, NULL, &e) == -1 && e.kind == MAAS_EUSAGE &&
	   !strcmp(e.msg, "--fail-on 'train<100': the job has no split"), "no split: %s", e.msg);
	ok(check("cross_split_duplicates>0", r, NULL, &e) == -1 && e.kind == MAAS_EUSAGE, "no split: cross_split_duplicates");
	ok(check("missing>0.3", r, NULL, &e) == 1, "other metrics still work without a split");
	ok(!json_object_get(r, "checks") || json_array_size(json_object_get(r, "checks")) == 1, "checks");
	json_object_set_new(r, "target", json_null());
	ok(check("imbalance>10", r, NULL, &e) == -1 && e.kind == MAAS_EUSAGE &&
	   !strcmp(e.msg, "--fail-on 'imbalance>10': there is no target (--target)"), "no target: %s", e.msg);
	ok(check("target_missing>0", r, NULL, &e) == -1 && e.kind == MAAS_EUSAGE, "no target: target_missing");
	json_object_set_new(r, "target", json_pack("{s:s, s:s, s:i}", "name", "price", "task", "regression", "missing", 0));
	ok(check("imbalance>10", r, NULL, &e) == -1 && e.kind == MAAS_EUSAGE &&
	   !strcmp(e.msg, "--fail-on 'imbalance>10': the target 'price' is not a classification target (task regression)"),
	   "regression target: %s", e.msg);
	ok(check("classes>10", r, NULL, &e) == -1 && e.kind == MAAS_EUSAGE, "regression target: classes");
	ok(check("target_missing>0", r, NULL, &e) == 0, "regression target: target_missing works");
	json_decref(r);
}

/* the rules read what maas_report_table writes */
static void test_end_to_end(void)
{
	struct maas_table t;
	struct maas_schema s;
	struct maas_err e;
	double v;
	maas_table_init(&t);
	maas_table_column(&t, "x", 1);
	maas_table_column(&t, "y", 1);
	const char *xs[] = {"1", "", "3", "4", "", "6", "6", "8"};
	const char *ys[] = {"a", "a", "a", "a", "a", "b", "b", ""};
	for (int i = 0; i < 8; i++) {
		maas_table_begin_row(&t, 0, (uint32_t)i + 1);
		maas_table_set_text(&t, 0, xs[i], strlen(xs[i]));
		maas_table_set_text(&t, 1, ys[i], strlen(ys[i]));
		maas_table_end_row(&t);
	}
	s.ncols = 2;
	s.cols = xcalloc(2, sizeof *s.cols);
	s.cols[0].type = MAAS_FT_NUMBER;
	s.cols[1].type = MAAS_FT_CATEGORICAL;
	s.target = 1;
	s.task = MAAS_TASK_CLASSIFICATION;
	s.time_col = s.group_col = -1;
	json_t *r = maas_report_table(&t, &s);
	size_t tr[] = {0, 1, 2, 3, 4, 5}, va[] = {6}, te[] = {7};
	struct maas_split sp = {{tr, va, te}, {6, 1, 1}, MAAS_SPLIT_RANDOM};
	maas_report_split(r, &t, &s, &sp);

	ok(check("rows!=8", r, &v, &e) == 0 && v == 8, "rows 8");
	ok(check("missing>0.2", r, &v, &e) == 1 && v == 0.25, "missing 0.25 (x)");
	ok(check("missing_cells>0.2", r, &v, &e) == 0 && v == 3.0 / 16, "missing_cells 3/16");
	ok(check("missing[y]==0.125", r, &v, &e) == 1, "missing[y] 1/8");
	ok(check("duplicates>0", r, &v, &e) == 1 && v == 0.25, "duplicates 2/8 (rows 4 and 6)");
	ok(check("imbalance>2", r, &v, &e) == 1 && v == 2.5, "imbalance 5/2");
	ok(check("classes==2", r, &v, &e) == 1, "classes 2");
	ok(check("target_missing>0", r, &v, &e) == 1 && v == 1, "target_missing 1");
	ok(check("cross_split_duplicates>0", r, &v, &e) == 1 && v == 1, "cross_split_duplicates 1 (row 6)");
	ok(check("constant>0", r, &v, &e) == 0 && v == 0, "constant 0");
	ok(check("high_cardinality>0", r, &v, &e) == 0 && v == 0, "high_cardinality 0");
	ok(check("train<6", r, &v, &e) == 0 && v == 6, "train 6");
	json_decref(r);
	maas_schema_release(&s);
	maas_table_release(&t);
}

int main(void)
{
	test_parse();
	test_metrics();
	test_end_to_end();
	return done_testing();
}
