/* test_table.c - the raw column store: numbers, strings, switching, missing. */
#include <math.h>
#include <stdlib.h>

#include "data/table.h"
#include "tap.h"

static void test_numbers(void)
{
	double v;
	ok(maas_parse_number("1.5", 3, &v) && v == 1.5, "1.5");
	ok(maas_parse_number(" -12 ", 5, &v) && v == -12, "padded -12");
	ok(maas_parse_number("1e3", 3, &v) && v == 1000, "1e3");
	ok(maas_parse_number("0.1", 3, &v) && v == 0.1, "0.1 exact as strtod");
	ok(maas_parse_number(".5", 2, &v) && v == 0.5, ".5");
	ok(maas_parse_number("5.", 2, &v) && v == 5, "5.");
	ok(maas_parse_number("123456789012345678901234", 24, &v) && v == 123456789012345678901234.0, "long mantissa");
	ok(maas_parse_number("1.7976931348623157e308", 22, &v) && v == 1.7976931348623157e308, "max double");
	ok(maas_parse_number("4.9e-324", 8, &v) && v == 4.9e-324, "denormal");
	ok(!maas_parse_number("1e", 2, &v), "1e is not a number");
	ok(!maas_parse_number("-", 1, &v), "- is not a number");
	ok(!maas_parse_number(".", 1, &v), ". is not a number");
	ok(!maas_parse_number("inf", 3, &v), "inf is not a number");
	ok(!maas_parse_number("nan", 3, &v), "nan is not a number");
	ok(!maas_parse_number("0x10", 4, &v), "hex is not a number");
	ok(!maas_parse_number("1,5", 3, &v), "1,5 is not a number");
	ok(!maas_parse_number("1e999", 5, &v), "overflow is not a number");
	ok(!maas_parse_number("", 0, &v), "empty is not a number");
	/* agrees with strtod on many random decimals */
	int agree = 1;
	char buf[64];
	srand(1);
	for (int i = 0; i < 20000; i++) {
		double x = (rand() - RAND_MAX / 2) * pow(10, rand() % 40 - 20) / 7.0;
		int n = snprintf(buf, sizeof buf, "%.*g", 1 + rand() % 17, x);
		double a, b = strtod(buf, NULL);
		if (!maas_parse_number(buf, (size_t)n, &a) || a != b) {
			agree = 0;
			printf("# mismatch on %s\n", buf);
			break;
		}
	}
	ok(agree, "agrees with strtod on 20000 random decimals");
}

static void test_table(void)
{
	struct maas_table t;
	maas_table_init(&t);
	size_t src = maas_table_add_source(&t, "x.csv");
	size_t a = maas_table_column(&t, "a", 1), b = maas_table_column(&t, "b", 1);
	maas_table_want_str(&t, "zip");
	size_t z = maas_table_column(&t, "zip", 3);

	maas_table_begin_row(&t, src, 2);
	maas_table_set_text(&t, a, "1", 1);
	maas_table_set_text(&t, b, "2.5", 3);
	maas_table_set_text(&t, z, "02134", 5);
	maas_table_end_row(&t);
	maas_table_begin_row(&t, src, 3);
	maas_table_set_text(&t, a, "NA", 2);
	maas_table_set_text(&t, b, "x", 1);
	maas_table_end_row(&t);
	maas_table_begin_row(&t, src, 4);
	maas_table_set_text(&t, a, "3", 1);
	maas_table_set_text(&t, b, "0.1", 3);
	size_t late = maas_table_column(&t, "late", 4);
	maas_table_set_text(&t, late, "q", 1);
	maas_table_end_row(&t);

	is_int(t.nrows, 3, "three rows");
	is_int(t.cols[a].kind, MAAS_COL_NUM, "a stays numeric");
	ok(maas_table_missing(&t, a, 1), "NA is missing");
	is_int(t.cols[a].n_missing, 1, "a has one missing");
	is_int(t.cols[b].kind, MAAS_COL_STR, "b switched to strings");
	is_str(maas_table_str(&t, b, 0, NULL), "2.5", "earlier number kept as text");
	is_str(maas_table_str(&t, b, 2, NULL), "0.1", "shortest float text");
	is_str(maas_table_str(&t, z, 0, NULL), "02134", "forced string keeps leading zero");
	ok(maas_table_missing(&t, z, 1), "unset cell is missing");
	is_int(t.cols[late].n_missing, 2, "late column missing in earlier rows");
	is_str(maas_table_str(&t, late, 2, NULL), "q", "late column value");
	is_int(maas_table_find(&t, "late", 4), (long)late, "find by name");
	is_int(maas_table_find(&t, "nope", 4), -1, "absent name");
	char where[64];
	maas_table_where(&t, 1, where, sizeof where);
	is_str(where, "'x.csv' line 3", "where names file and line");
	maas_table_release(&t);
}

static void test_many(void)
{
	struct maas_table t;
	char name[16];
	maas_table_init(&t);
	size_t src = maas_table_add_source(&t, "-");
	for (int c = 0; c < 1000; c++) {
		int n = snprintf(name, sizeof name, "c%d", c);
		maas_table_column(&t, name, (size_t)n);
	}
	for (int r = 0; r < 3000; r++) {
		maas_table_begin_row(&t, src, (uint32_t)r + 1);
		for (int c = 0; c < 1000; c += 7) {
			int n = snprintf(name, sizeof name, "v%d", r % 50);
			maas_table_set_text(&t, (size_t)c, name, (size_t)n);
		}
		maas_table_end_row(&t);
	}
	is_int(t.cols[7].dict.n, 50, "50 distinct strings interned");
	is_int(t.cols[7].dict.count[1], 60, "counts per string");
	is_int(maas_table_find(&t, "c999", 4), 999, "find among 1000 columns");
	maas_table_release(&t);
}

int main(void)
{
	test_numbers();
	test_table();
	test_many();
	return done_testing();
}
