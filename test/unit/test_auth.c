/*
 * test_auth.c - maas-serve's key file, key checks, token buckets (on a fake
 * clock), the deadline and the loopback test.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/sha256.h"
#include "serve/auth.h"
#include "tap.h"

static double fake_time = 1000;
static double fake_now(void)
{
	return fake_time;
}

/* "abc" and "admin-secret" */
#define H_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static int parse(struct maas_auth *a, const char *text, struct maas_err *e)
{
	return maas_auth_parse(a, text, strlen(text), "keys.txt", e);
}

/* parse fails with EDATA and a message holding frag */
static void bad(const char *text, const char *frag, const char *name)
{
	struct maas_auth a;
	struct maas_err e;
	maas_auth_init(&a);
	int rc = parse(&a, text, &e);
	is_int(rc, -1, "%s: refused", name);
	is_int(e.kind, MAAS_EDATA, "%s: a data error", name);
	if (!ok(rc && strstr(e.msg, frag) != NULL, "%s: says '%s'", name, frag))
		printf("#   got '%s'\n", e.msg);
	is_int(a.n, 0, "%s: no key kept", name);
	maas_auth_release(&a);
}

static void test_hash(void)
{
	char hex[MAAS_SHA256_HEX], other[MAAS_SHA256_HEX];
	struct maas_err e;
	FILE *f = tmpfile();

	fputs("abc\n", f);
	rewind(f);
	is_int(maas_auth_hash_stream(f, "<stdin>", hex, &e), 0, "hash a key with a newline");
	is_str(hex, H_ABC, "the key's sha256 (newline dropped)");
	fclose(f);

	f = tmpfile();
	fputs("abc\r\n", f);
	rewind(f);
	maas_auth_hash_stream(f, "<stdin>", other, &e);
	is_str(other, H_ABC, "CRLF dropped too");
	fclose(f);

	f = tmpfile();
	rewind(f);
	is_int(maas_auth_hash_stream(f, "<stdin>", hex, &e), -1, "an empty key is refused");
	ok(strstr(e.msg, "'<stdin>': it is empty") != NULL, "message: %s", e.msg);
	fclose(f);

	f = tmpfile();
	fputs("two words\n", f);
	rewind(f);
	is_int(maas_auth_hash_stream(f, "<stdin>", hex, &e), -1, "a key with a blank is refused");
	is_int(e.kind, MAAS_EDATA, "a data error");
	ok(strstr(e.msg, "byte 4 is a blank") != NULL, "message names the byte: %s", e.msg);
	fclose(f);

	f = tmpfile();
	for (int i = 0; i < MAAS_AUTH_KEY_MAX + 1; i++)
		fputc('k', f);
	rewind(f);
	is_int(maas_auth_hash_stream(f, "<stdin>", hex, &e), -1, "a key of 4097 bytes is refused");
	ok(strstr(e.msg, "longer than 4096 bytes") != NULL, "message: %s", e.msg);
	fclose(f);
}

static void test_parse(void)
{
	struct maas_auth a;
	struct maas_err e;
	char *text;

	maas_auth_init(&a);
	text = xasprintf("# keys\n\n  alice predict 2 3 %s  # the app\n"
			 "ops\tadmin 0 1 %s\r\n", H_ABC,
			 "A665A45920422F9D417E4867EFDC4FB8A04A1F3FFF1FA07E998E86F7F7A27AE3");
	is_int(parse(&a, text, &e), 0, "a key file with comments, blank lines, tabs and CRLF");
	is_int(a.n, 2, "two keys");
	is_str(a.keys[0].id, "alice", "first id");
	is_int(a.keys[0].admin, 0, "alice: predict");
	is_near(a.keys[0].rate, 2, 0, "alice: rate");
	is_near(a.keys[0].burst, 3, 0, "alice: burst");
	is_str(a.keys[1].id, "ops", "second id");
	is_int(a.keys[1].admin, 1, "ops: admin");
	is_str(a.keys[1].sha256, "a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3",
	       "upper-case digest kept in lower case");
	free(text);
	maas_auth_release(&a);

	bad("# nothing\n\n", "cannot read 'keys.txt': no keys", "no keys");
	bad("a predict 1 1\n", "line 1: 4 fields; write ID SCOPE RATE BURST SHA256", "too few fields");
	bad("# c\na predict 1 1 " H_ABC " x\n", "line 2: more than 5 fields", "too many fields");
	bad("\n\nb@d predict 1 1 " H_ABC "\n", "line 3: bad key id 'b@d'", "bad id");
	bad("a root 1 1 " H_ABC "\n", "line 1: unknown scope 'root': predict or admin", "bad scope");
	bad("a predict -1 1 " H_ABC "\n", "line 1: bad rate '-1'", "negative rate");
	bad("a predict fast 1 " H_ABC "\n", "line 1: bad rate 'fast'", "rate not a number");
	bad("a predict nan 1 " H_ABC "\n", "line 1: bad rate 'nan'", "rate NaN");
	bad("a predict 1 0 " H_ABC "\n", "line 1: bad burst '0'", "burst 0");
	bad("a predict 1 1.5 " H_ABC "\n", "line 1: bad burst '1.5'", "burst not whole");
	bad("a predict 1 1 abc\n", "line 1: bad digest 'abc': 64 hex digits", "short digest");
	bad("a predict 1 1 " "zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" "\n",
	    "line 1: bad digest", "digest not hex");
	bad("a predict 1 1 " H_ABC "\na admin 1 1 "
	    "a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3\n",
	    "line 2: key id 'a' is given twice", "duplicate id");
	bad("a predict 1 1 " H_ABC "\nb admin 1 1 " H_ABC "\n", "line 2: key 'b' has the digest of key 'a'",
	    "duplicate digest");
	bad("ok predict 1 1 " H_ABC "\nb predict 1 1 x\n", "line 2:", "a good line then a bad one: nothing kept");

	char longline[MAAS_AUTH_LINE_MAX + 10];
	memset(longline, '#', sizeof longline - 1);
	longline[sizeof longline - 1] = 0;
	bad(longline, "line 1: longer than 1023 bytes", "a line beyond the limit");

	const char nul[] = "a predict 1 1 \0\n";
	maas_auth_init(&a);
	is_int(maas_auth_parse(&a, nul, sizeof nul - 1, "keys.txt", &e), -1, "a NUL byte is refused");
	ok(strstr(e.msg, "line 1: a NUL byte") != NULL, "message: %s", e.msg);
	maas_auth_release(&a);

	maas_auth_init(&a);
	is_int(maas_auth_load(&a, "/nonexistent/keys", &e), -1, "a missing file");
	is_int(e.kind, MAAS_ENOINPUT, "is a no-input error");
	maas_auth_release(&a);
}

static void test_check(void)
{
	struct maas_auth a;
	struct maas_err e;
	const char *id;
	double ra;

	maas_auth_init(&a);
	is_int(maas_auth_check(&a, NULL, 1, &id, &ra), 0, "no keys: everything is allowed");
	ok(id == NULL, "no keys: no key id");

	a.now = fake_now;
	fake_time = 1000;
	char *text = xasprintf("app predict 2 3 %s\nops admin 0 1 %s\n", H_ABC,
			       "a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3"); /* "123" */
	is_int(parse(&a, text, &e), 0, "keys parsed");
	free(text);

	is_int(maas_auth_check(&a, NULL, 0, &id, &ra), 401, "no header: 401");
	ok(id == NULL, "401: no key id");
	is_int(maas_auth_check(&a, "Bearer wrong", 0, &id, &ra), 401, "unknown key: 401");
	is_int(maas_auth_check(&a, "Basic YWJj", 0, &id, &ra), 401, "another scheme: 401");
	is_int(maas_auth_check(&a, "Bearer ", 0, &id, &ra), 401, "an empty key: 401");
	is_int(maas_auth_check(&a, "Bearerabc", 0, &id, &ra), 401, "no blank after the scheme: 401");
	is_int(maas_auth_check(&a, "Bearer abcd", 0, &id, &ra), 401, "a longer key: 401");

	is_int(maas_auth_check(&a, "bearer  abc ", 0, &id, &ra), 0, "the key (scheme in any case, blanks around)");
	is_str(id, "app", "its id");
	is_int(maas_auth_check(&a, "Bearer abc", 1, &id, &ra), 403, "a predict key on an admin endpoint: 403");
	is_str(id, "app", "403 names the key");
	/* the 403 took no token: two of three left */
	is_int(maas_auth_check(&a, "Bearer abc", 0, &id, &ra), 0, "second of the burst");
	is_int(maas_auth_check(&a, "Bearer abc", 0, &id, &ra), 0, "third of the burst");
	is_int(maas_auth_check(&a, "Bearer abc", 0, &id, &ra), 429, "beyond the burst: 429");
	is_str(id, "app", "429 names the key");
	is_near(ra, 0.5, 1e-9, "a token comes back in 1/rate = 0.5 s");
	fake_time += 0.25;
	is_int(maas_auth_check(&a, "Bearer abc", 0, &id, &ra), 429, "a quarter second later: still 429");
	is_near(ra, 0.25, 1e-9, "then 0.25 s to wait");
	fake_time += 0.25;
	is_int(maas_auth_check(&a, "Bearer abc", 0, &id, &ra), 0, "after 0.5 s one request passes");
	is_int(maas_auth_check(&a, "Bearer abc", 0, &id, &ra), 429, "and only one");
	fake_time += 100;
	for (int i = 0; i < 3; i++)
		is_int(maas_auth_check(&a, "Bearer abc", 0, &id, &ra), 0, "after a long pause, burst request %d", i + 1);
	is_int(maas_auth_check(&a, "Bearer abc", 0, &id, &ra), 429, "the bucket holds no more than the burst");

	for (int i = 0; i < 50; i++)
		if (maas_auth_check(&a, "Bearer 123", 1, &id, &ra) != 0)
			break;
		else if (i == 49)
			ok(1, "rate 0: no limit, admin key allowed on admin endpoints 50 times");
	is_str(id, "ops", "admin key id");
	is_int(maas_auth_check(&a, "Bearer 123", 0, &id, &ra), 0, "an admin key may predict");
	maas_auth_release(&a);
}

static void test_misc(void)
{
	is_int(maas_auth_need("/v2/health/live"), -1, "liveness is open");
	is_int(maas_auth_need("/v2/health/ready"), -1, "readiness is open");
	is_int(maas_auth_need("/metrics"), -1, "metrics are open");
	is_int(maas_auth_need("/"), -1, "the page is open");
	is_int(maas_auth_need("/v2/models/iris/infer"), 0, "infer needs predict");
	is_int(maas_auth_need("/v1/models/iris:predict"), 0, "predict needs predict");
	is_int(maas_auth_need("/v2"), 0, "server metadata needs predict");
	is_int(maas_auth_need("/v2/repository/models/iris/load"), 1, "model load needs admin");
	is_int(maas_auth_need("/metricsx"), 0, "near misses are not open");

	is_int(maas_deadline_passed(maas_now(), 0), 0, "deadline 0: none");
	is_int(maas_deadline_passed(maas_now() - 1.0, 500), 1, "1 s waited, 500 ms deadline: passed");
	is_int(maas_deadline_passed(maas_now(), 10000), 0, "just started, 10 s deadline: not passed");

	is_int(maas_auth_is_loopback("127.0.0.1"), 1, "127.0.0.1 is loopback");
	is_int(maas_auth_is_loopback("127.1.2.3"), 1, "127.1.2.3 is loopback");
	is_int(maas_auth_is_loopback("::1"), 1, "::1 is loopback");
	is_int(maas_auth_is_loopback("::ffff:127.0.0.1"), 1, "v4-mapped 127.0.0.1 is loopback");
	is_int(maas_auth_is_loopback("0.0.0.0"), 0, "0.0.0.0 is not");
	is_int(maas_auth_is_loopback("::"), 0, ":: is not");
	is_int(maas_auth_is_loopback("10.0.0.1"), 0, "10.0.0.1 is not");
	is_int(maas_auth_is_loopback("/run/maas.sock"), -1, "a path is no IP address");
}

int main(void)
{
	test_hash();
	test_parse();
	test_check();
	test_misc();
	return done_testing();
}
