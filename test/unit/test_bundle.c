/* test_bundle.c - bundles as directories and tars: round trips,
 * reproducible tars, verification, hostile archives, atomic writing. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "core/io.h"
#include "core/mem.h"
#include "core/sha256.h"
#include "tap.h"

static char base[] = "/tmp/test_bundle-XXXXXX";
static char *tmpdir; /* $TMPDIR for the library: must end up empty */

#define WEIGHTS_N 100000

static char *P(const char *name)
{
	return xasprintf("%s/%s", base, name);
}

static unsigned char *weights_bytes(void)
{
	unsigned char *w = xmalloc(WEIGHTS_N);
	for (size_t i = 0; i < WEIGHTS_N; i++)
		w[i] = (unsigned char)(i * 2654435761u >> 13);
	return w;
}

static const char *LONG_NAME =
	"members/0/a-rather-long-directory-name-to-need-the-ustar-prefix-field/"
	"and-a-file-name-that-is-long-enough-too.safetensors";

/* Writes the sample bundle to path; returns the commit's result. */
static int write_sample(const char *path, int replace, struct maas_err *e)
{
	struct maas_bundle_writer w;
	unsigned char *wb = weights_bytes();
	int r = -1;

	if (maas_bundle_begin(&w, path, e) < 0)
		goto out;
	if (maas_bundle_add(&w, "weights.safetensors", wb, WEIGHTS_N, e) < 0 ||
	    maas_bundle_add(&w, "prep.json", "{\"steps\": []}\n", 14, e) < 0) {
		maas_bundle_abort(&w);
		goto out;
	}
	/* a file written directly into the tree, as the safetensors writer does */
	char *fp = maas_bundle_writer_file(&w, LONG_NAME, e);
	if (!fp) {
		maas_bundle_abort(&w);
		goto out;
	}
	FILE *f = fopen(fp, "w");
	fputs("member weights\n", f);
	fclose(f);
	free(fp);
	json_t *m = json_pack("{s:s, s:s, s:s, s:{s:i}}", "name", "iris", "task", "classification",
			      "format", "junk", "files", "bogus", 1);
	r = maas_bundle_commit(&w, m, replace, e);
	if (r == 0) {
		json_t *files = json_object_get(m, "files");
		if (json_object_size(files) != 3 || json_object_get(files, "bogus") ||
		    strcmp(json_string_value(json_object_get(m, "format")), MAAS_BUNDLE_FORMAT))
			r = -2;
	}
	json_decref(m);
out:
	free(wb);
	return r;
}

static int read_file(const char *path, struct maas_buf *b)
{
	struct maas_err e;
	return maas_read_all(path, b, 0, &e);
}

/* Entries of a directory whose names start with prefix. */
static int count_prefix(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static int contains(const char *s, const char *sub)
{
	int r = strstr(s, sub) != NULL;
	if (!r)
		printf("#   '%s' does not contain '%s'\n", s, sub);
	return r;
}

static void check_sample(const char *path, const char *what)
{
	struct maas_bundle b;
	struct maas_err e;
	struct maas_buf buf;

	if (!ok(maas_bundle_open(&b, path, &e) == 0, "%s: opens", what)) {
		printf("#   %s\n", e.msg);
		return;
	}
	const json_t *m = maas_bundle_manifest(&b);
	is_str(json_string_value(json_object_get(m, "format")), MAAS_BUNDLE_FORMAT, "%s: format", what);
	is_str(json_string_value(json_object_get(m, "name")), "iris", "%s: name kept", what);
	is_int(json_object_size(json_object_get(m, "files")), 3, "%s: three files listed", what);
	is_int(json_integer_value(json_object_get(json_object_get(json_object_get(m, "files"),
		"weights.safetensors"), "size")), WEIGHTS_N, "%s: weights size listed", what);

	unsigned char *wb = weights_bytes();
	char hex[MAAS_SHA256_HEX];
	maas_sha256_hex(wb, WEIGHTS_N, hex);
	is_str(json_string_value(json_object_get(json_object_get(json_object_get(m, "files"),
		"weights.safetensors"), "sha256")), hex, "%s: weights digest listed", what);

	is_int(maas_bundle_read(&b, "weights.safetensors", &buf, 0, &e), 0, "%s: read weights", what);
	ok(buf.len == WEIGHTS_N && !memcmp(buf.data, wb, WEIGHTS_N), "%s: weights bytes", what);
	maas_buf_release(&buf);
	free(wb);
	is_int(maas_bundle_read(&b, LONG_NAME, &buf, 0, &e), 0, "%s: read long name", what);
	is_str(buf.data, "member weights\n", "%s: long-named file content", what);
	maas_buf_release(&buf);
	is_int(maas_bundle_read(&b, "prep.json", &buf, 5, &e), -1, "%s: read limit", what);
	is_int(e.kind, MAAS_EDATA, "%s: read limit is a data error", what);
	is_int(maas_bundle_read(&b, "card.md", &buf, 0, &e), -1, "%s: unlisted read fails", what);
	is_int(e.kind, MAAS_ENOINPUT, "%s: unlisted read is no-input", what);
	ok(maas_bundle_file(&b, "card.md") == NULL, "%s: unlisted file has no path", what);
	char *p = maas_bundle_file(&b, "prep.json");
	ok(p && exists(p), "%s: listed file path exists", what);
	free(p);
	is_int(maas_bundle_read(&b, "MODEL.json", &buf, 0, &e), 0, "%s: read MODEL.json", what);
	ok(!strncmp(buf.data, "{\n  \"format\": \"maas-bundle/1\",\n  \"name\": \"iris\"", 46),
	   "%s: MODEL.json starts with format, then the caller's fields", what);
	ok(buf.len && buf.data[buf.len - 1] == '\n', "%s: MODEL.json ends in a newline", what);
	maas_buf_release(&buf);
	maas_bundle_close(&b);
	maas_bundle_close(&b); /* harmless twice */
}

static void test_directory(void)
{
	struct maas_err e;
	char *path = P("m.maas");

	is_int(write_sample(path, 0, &e), 0, "write a directory bundle");
	check_sample(path, "directory");
	is_int(count_prefix(base, "m.maas."), 0, "no temporary left beside the directory");

	/* an existing bundle is kept unless replace is given */
	is_int(write_sample(path, 0, &e), -1, "commit onto an existing directory fails");
	is_int(e.kind, MAAS_ECANTCREAT, "... as cannot-create");
	ok(contains(e.msg, "File exists"), "... saying it exists");
	is_int(count_prefix(base, "m.maas."), 0, "failed commit leaves no temporary");
	check_sample(path, "directory after a refused commit");
	is_int(write_sample(path, 1, &e), 0, "commit with replace");
	check_sample(path, "replaced directory");
	is_int(count_prefix(base, "m.maas."), 0, "no temporary or old tree left after replace");
	free(path);
}

static void test_tar_file(void)
{
	struct maas_err e;
	struct maas_buf a, b;
	char *pa = P("a.tar"), *pb = P("b.tar");

	is_int(write_sample(pa, 0, &e), 0, "write a tar bundle");
	check_sample(pa, "tar file");
	sleep(1); /* any clock in the output would now differ */
	is_int(write_sample(pb, 0, &e), 0, "write the same bundle again");
	read_file(pa, &a);
	read_file(pb, &b);
	ok(a.len > WEIGHTS_N && a.len == b.len && !memcmp(a.data, b.data, a.len),
	   "two writes give byte-identical tars (%zu bytes)", a.len);
	maas_buf_release(&b);
	is_int(write_sample(pb, 0, &e), -1, "tar onto an existing file without replace fails");
	is_int(e.kind, MAAS_ECANTCREAT, "... as cannot-create");
	is_int(write_sample(pb, 1, &e), 0, "tar onto an existing file with replace");
	is_int(count_prefix(base, "a.tar."), 0, "no temporary left beside a.tar");
	is_int(count_prefix(base, "b.tar."), 0, "no temporary left beside b.tar");

	/* the tar's layout, read with libarchive */
	struct archive *ar = archive_read_new();
	struct archive_entry *ent;
	archive_read_support_format_tar(ar);
	archive_read_open_memory(ar, a.data, a.len);
	const char *want[] = { "MODEL.json", "members/", "members/0/",
			       "members/0/a-rather-long-directory-name-to-need-the-ustar-prefix-field/",
			       NULL, "prep.json", "weights.safetensors" };
	int i = 0, fields_ok = 1, order_ok = 1;
	while (archive_read_next_header(ar, &ent) == ARCHIVE_OK) {
		const char *n = archive_entry_pathname(ent);
		const char *w = i < 7 ? (i == 4 ? LONG_NAME : want[i]) : "(none)";
		if (strcmp(n, w)) {
			order_ok = 0;
			printf("#   entry %d is '%s', want '%s'\n", i, n, w);
		}
		int dir = archive_entry_filetype(ent) == AE_IFDIR;
		if (archive_entry_mtime(ent) != 0 || archive_entry_uid(ent) != 0 ||
		    archive_entry_gid(ent) != 0 || (archive_entry_uname(ent) && *archive_entry_uname(ent)) ||
		    (archive_entry_gname(ent) && *archive_entry_gname(ent)) ||
		    archive_entry_perm(ent) != (dir ? 0755 : 0644))
			fields_ok = 0;
		i++;
	}
	archive_read_free(ar);
	is_int(i, 7, "tar has seven entries");
	ok(order_ok, "MODEL.json first, then sorted by name");
	ok(fields_ok, "mtime 0, uid/gid 0, no user names, modes 0644/0755");

	/* the same tar, gzip-compressed, opens too */
	char *gz = P("a.tar.gz");
	ar = archive_write_new();
	archive_write_set_format_raw(ar);
	archive_write_add_filter_gzip(ar);
	archive_write_open_filename(ar, gz);
	ent = archive_entry_new();
	archive_entry_set_pathname(ent, "x");
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_write_header(ar, ent);
	archive_write_data(ar, a.data, a.len);
	archive_entry_free(ent);
	archive_write_free(ar);
	check_sample(gz, "gzip tar");
	free(gz);
	maas_buf_release(&a);
	free(pa);
	free(pb);
}

/* A child writes the sample bundle to a pipe; the bytes must equal a.tar.
 * Then a child feeds a.tar to our stdin and we open "-". */
static void test_pipe(void)
{
	struct maas_buf got, want;
	int fds[2], status;
	pid_t pid;
	char *pa = P("a.tar");

	read_file(pa, &want);
	fflush(stdout);
	if (pipe(fds) < 0 || (pid = fork()) < 0) {
		ok(0, "pipe and fork");
		return;
	}
	if (pid == 0) {
		struct maas_err e;
		close(fds[0]);
		dup2(fds[1], 1);
		close(fds[1]);
		_exit(write_sample("-", 0, &e) == 0 ? 0 : 1);
	}
	close(fds[1]);
	maas_buf_init(&got);
	char buf[8192];
	ssize_t r;
	while ((r = read(fds[0], buf, sizeof buf)) > 0)
		maas_buf_add(&got, buf, (size_t)r);
	close(fds[0]);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child wrote a bundle to stdout");
	ok(got.len == want.len && !memcmp(got.data, want.data, got.len),
	   "the tar on the pipe equals the tar file (%zu bytes)", got.len);
	maas_buf_release(&got);

	fflush(stdout);
	if (pipe(fds) < 0 || (pid = fork()) < 0) {
		ok(0, "pipe and fork");
		return;
	}
	if (pid == 0) {
		close(fds[0]);
		size_t off = 0;
		while (off < want.len) {
			ssize_t w = write(fds[1], want.data + off, want.len - off);
			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		_exit(0);
	}
	close(fds[1]);
	int saved = dup(0);
	dup2(fds[0], 0);
	close(fds[0]);
	check_sample("-", "tar on stdin");
	dup2(saved, 0);
	close(saved);
	waitpid(pid, &status, 0);

	maas_buf_release(&want);
	free(pa);
}

/* Copies the sample directory bundle to name, for tampering. */
static char *fresh_copy(const char *name)
{
	struct maas_err e;
	char *path = P(name);
	maas_remove_tree(path, &e);
	if (write_sample(path, 0, &e) < 0)
		printf("#   %s\n", e.msg);
	return path;
}

static void expect_refused(const char *path, enum maas_errkind kind, const char *fragment,
			   const char *what)
{
	struct maas_bundle b;
	struct maas_err e;
	if (!ok(maas_bundle_open(&b, path, &e) == -1, "%s: refused", what)) {
		maas_bundle_close(&b);
		return;
	}
	is_int(e.kind, kind, "%s: error kind", what);
	ok(contains(e.msg, fragment), "%s: message", what);
	ok(b.root == NULL && b.manifest == NULL, "%s: struct left released", what);
}

static void put(const char *dir, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	fputs(text, f);
	fclose(f);
	free(p);
}

static void test_tampering(void)
{
	char *p, *f, *msg;
	unsigned char *wb = weights_bytes();
	char hex[MAAS_SHA256_HEX], bad[MAAS_SHA256_HEX];

	p = fresh_copy("t1.maas");
	f = xasprintf("%s/weights.safetensors", p);
	wb[500] ^= 1;
	maas_write_file(f, wb, WEIGHTS_N, &(struct maas_err){0});
	maas_sha256_hex(wb, WEIGHTS_N, bad);
	wb[500] ^= 1;
	maas_sha256_hex(wb, WEIGHTS_N, hex);
	msg = xasprintf("bundle '%s': 'weights.safetensors' does not match its digest (expected %s, found %s)",
			p, hex, bad);
	expect_refused(p, MAAS_EDATA, msg, "a flipped bit");
	free(msg);
	free(f);
	free(p);

	p = fresh_copy("t2.maas");
	f = xasprintf("%s/prep.json", p);
	FILE *fp = fopen(f, "a");
	fputc('x', fp);
	fclose(fp);
	expect_refused(p, MAAS_EDATA, "'prep.json' has 15 bytes, MODEL.json says 14", "a longer file");
	free(f);
	free(p);

	p = fresh_copy("t3.maas");
	put(p, "extra.txt", "hello");
	expect_refused(p, MAAS_EDATA, "'extra.txt' is not listed in MODEL.json", "an extra file");
	free(p);

	p = fresh_copy("t4.maas");
	f = xasprintf("%s/prep.json", p);
	unlink(f);
	expect_refused(p, MAAS_EDATA, "'prep.json' is listed in MODEL.json but missing", "a missing file");
	free(f);
	free(p);

	p = fresh_copy("t5.maas");
	put(p, "MODEL.json", "{\"format\": \"maas-bundle/1\", ");
	expect_refused(p, MAAS_EDATA, "'MODEL.json' is not valid JSON", "a truncated MODEL.json");
	put(p, "MODEL.json", "{\"format\": \"maas-bundle/2\", \"files\": {}}");
	expect_refused(p, MAAS_EDATA, "'MODEL.json' has format 'maas-bundle/2', not 'maas-bundle/1'",
		       "a wrong format tag");
	put(p, "MODEL.json", "[1, 2]");
	expect_refused(p, MAAS_EDATA, "'MODEL.json' is not a JSON object", "a MODEL.json array");
	put(p, "MODEL.json", "{\"format\": \"maas-bundle/1\", \"format\": \"maas-bundle/1\", \"files\": {}}");
	expect_refused(p, MAAS_EDATA, "duplicate object key", "duplicate keys in MODEL.json");
	put(p, "MODEL.json", "{\"format\": \"maas-bundle/1\", \"files\": {\"prep.json\": "
			     "{\"sha256\": \"ABC\", \"size\": 14}}}");
	expect_refused(p, MAAS_EDATA, "has no \"sha256\" of 64 lowercase hex digits", "a bad digest field");
	put(p, "MODEL.json", "{\"format\": \"maas-bundle/1\", \"files\": {\"../x\": "
			     "{\"sha256\": \"ABC\", \"size\": 14}}}");
	expect_refused(p, MAAS_EDATA, "MODEL.json lists '../x', an unsafe name", "an unsafe listed name");
	f = xasprintf("%s/MODEL.json", p);
	unlink(f);
	expect_refused(p, MAAS_EDATA, "'MODEL.json' is missing", "no MODEL.json");
	free(f);
	free(p);

	p = fresh_copy("t6.maas");
	f = xasprintf("%s/link", p);
	if (symlink("/etc/passwd", f) < 0)
		ok(0, "symlink");
	expect_refused(p, MAAS_EDATA, "'link' is a symbolic link", "a symlink in a directory bundle");
	free(f);
	free(p);

	expect_refused("/nonexistent/x.maas", MAAS_ENOINPUT,
		       "cannot open bundle '/nonexistent/x.maas': No such file or directory", "a missing path");

	/* a file changed after open is caught by maas_bundle_read */
	struct maas_bundle b;
	struct maas_err e;
	struct maas_buf buf;
	p = fresh_copy("t7.maas");
	is_int(maas_bundle_open(&b, p, &e), 0, "open before tampering");
	put(p, "prep.json", "{\"steps\": [1]}");
	is_int(maas_bundle_read(&b, "prep.json", &buf, 0, &e), -1, "read after tampering fails");
	ok(contains(e.msg, "'prep.json' changed since the bundle was opened"), "... saying it changed");
	maas_bundle_close(&b);
	free(p);
	free(wb);
}

/* maas_bundle_open_start/_finish: the digests on their own thread, files of
 * 1 MiB or more digested from a map of them */
static void test_open_async(void)
{
	enum { BIG = 3 << 20 };
	struct maas_bundle_writer w;
	struct maas_bundle b;
	struct maas_err e = {0};
	char *p = P("async.maas"), *f = xasprintf("%s/big.bin", p);
	unsigned char *big = xmalloc(BIG);
	char hex[MAAS_SHA256_HEX], bad[MAAS_SHA256_HEX];

	for (size_t i = 0; i < BIG; i++)
		big[i] = (unsigned char)(i * 2654435761u >> 11);
	maas_sha256_hex(big, BIG, hex);
	json_t *man = json_pack("{s:s}", "name", "async");
	if (maas_bundle_begin(&w, p, &e) < 0 || maas_bundle_add(&w, "big.bin", big, BIG, &e) < 0 ||
	    maas_bundle_add(&w, "prep.json", "{}\n", 3, &e) < 0 || maas_bundle_commit(&w, man, 0, &e) < 0)
		printf("#   %s\n", e.msg);
	json_decref(man);
	is_int(maas_bundle_open_start(&b, p, &e), 0, "async: starts: %s", e.msg);
	ok(b.manifest != NULL, "async: the manifest is there at once");
	is_int(maas_bundle_open_finish(&b, &e), 0, "async: the digests match: %s", e.msg);
	ok(b.digest_bytes == (uint64_t)BIG + 3, "async: every byte digested (%llu)", (unsigned long long)b.digest_bytes);
	ok(b.digest_seconds > 0, "async: digest time measured");
	is_int(maas_bundle_open_finish(&b, &e), 0, "async: finishing twice is harmless");
	maas_bundle_close(&b);

	/* one bit flipped in the mapped file: the start succeeds, the finish says why not */
	big[BIG / 2] ^= 4;
	maas_write_file(f, big, BIG, &e);
	maas_sha256_hex(big, BIG, bad);
	char *msg = xasprintf("bundle '%s': 'big.bin' does not match its digest (expected %s, found %s)", p, hex,
			      bad);
	is_int(maas_bundle_open_start(&b, p, &e), 0, "async tampered: starts");
	is_int(maas_bundle_open_finish(&b, &e), -1, "async tampered: refused at the finish");
	is_int(e.kind, MAAS_EDATA, "async tampered: MAAS_EDATA");
	is_str(e.msg, msg, "async tampered: the same message as maas_bundle_open");
	ok(b.root == NULL && b.manifest == NULL && b.pending == NULL, "async tampered: struct left released");
	is_int(maas_bundle_open(&b, p, &e), -1, "sync tampered: refused");
	is_str(e.msg, msg, "sync tampered: the message");
	/* closing without finishing waits for the thread */
	is_int(maas_bundle_open_start(&b, p, &e), 0, "async: starts again");
	maas_bundle_close(&b);
	ok(b.pending == NULL && b.root == NULL, "async: close without finish releases everything");
	/* a wrong size is refused at the start, before any digest */
	maas_write_file(f, big, BIG - 1, &e);
	is_int(maas_bundle_open_start(&b, p, &e), -1, "async shorter: refused at the start");
	ok(contains(e.msg, "'big.bin' has 3145727 bytes, MODEL.json says 3145728"), "async shorter: says so: %s", e.msg);
	free(msg);
	free(big);
	free(f);
	free(p);
}

/* ---- hostile archives ---- */

struct tent {
	const char *name;
	int type;          /* AE_IF*, or 'h' for a hard link */
	const char *data;  /* file content, or link target */
};

static const char EMPTY_MANIFEST[] = "{\"format\": \"maas-bundle/1\", \"files\": {}}";

static void make_tar(const char *path, const struct tent *v, size_t n)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax(a);
	archive_write_open_filename(a, path);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ent = archive_entry_new();
		archive_entry_set_pathname(ent, v[i].name);
		archive_entry_set_perm(ent, 0644);
		if (v[i].type == 'h') {
			archive_entry_set_filetype(ent, AE_IFREG);
			archive_entry_set_hardlink(ent, v[i].data);
		} else {
			archive_entry_set_filetype(ent, (unsigned)v[i].type);
			if (v[i].type == AE_IFLNK)
				archive_entry_set_symlink(ent, v[i].data);
			else if (v[i].type == AE_IFCHR)
				archive_entry_set_rdev(ent, makedev(1, 3));
			else if (v[i].type == AE_IFREG)
				archive_entry_set_size(ent, (la_int64_t)strlen(v[i].data));
		}
		archive_write_header(a, ent);
		if (v[i].type == AE_IFREG)
			archive_write_data(a, v[i].data, strlen(v[i].data));
		archive_entry_free(ent);
	}
	archive_write_close(a);
	archive_write_free(a);
}

/* A ustar header with a size field in base-256, followed by nothing. */
static void make_huge_tar(const char *path, uint64_t size)
{
	unsigned char h[512];
	unsigned sum = 0;

	memset(h, 0, sizeof h);
	strcpy((char *)h, "weights.safetensors");
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	h[124] = 0x80;
	for (int i = 0; i < 8; i++)
		h[135 - i] = (unsigned char)(size >> (8 * i));
	memcpy(h + 136, "00000000000", 12);
	memset(h + 148, ' ', 8);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	FILE *f = fopen(path, "wb");
	fwrite(h, 1, sizeof h, f);
	fclose(f);
}

static void test_hostile(void)
{
	char *t = P("h.tar"), *evil1 = P("evil"), *evil2 = xasprintf("%s/evil", tmpdir);
	char *abs = P("abs-evil"), *outside = P("outside"), *outfile = P("outside/x");
	char *abs_link;

	mkdir(outside, 0755);
	struct tent dotdot[] = { { "MODEL.json", AE_IFREG, EMPTY_MANIFEST },
				 { "../../evil", AE_IFREG, "pwned" } };
	make_tar(t, dotdot, 2);
	expect_refused(t, MAAS_EDATA, "archive entry '../../evil' has an unsafe name: the name has a '..' component",
		       "a '..' entry");
	struct tent dotdot2[] = { { "MODEL.json", AE_IFREG, EMPTY_MANIFEST },
				  { "a/../../evil", AE_IFREG, "pwned" } };
	make_tar(t, dotdot2, 2);
	expect_refused(t, MAAS_EDATA, "'..' component", "a '..' in the middle");
	ok(!exists(evil1) && !exists(evil2), "nothing written above the extraction directory");

	struct tent absolute[] = { { "MODEL.json", AE_IFREG, EMPTY_MANIFEST },
				   { abs, AE_IFREG, "pwned" } };
	make_tar(t, absolute, 2);
	expect_refused(t, MAAS_EDATA, "has an unsafe name: the name is absolute", "an absolute entry");
	ok(!exists(abs), "nothing written at the absolute path");

	struct tent sym[] = { { "MODEL.json", AE_IFREG, EMPTY_MANIFEST },
			      { "link", AE_IFLNK, outside },
			      { "link/x", AE_IFREG, "pwned" } };
	make_tar(t, sym, 3);
	expect_refused(t, MAAS_EDATA, "archive entry 'link' is a symbolic link, not a regular file or directory",
		       "a symlink entry");
	ok(!exists(outfile), "nothing written through the symlink");

	abs_link = xasprintf("%s/MODEL.json", outside);
	struct tent hard[] = { { "MODEL.json", AE_IFREG, EMPTY_MANIFEST },
			       { "hl", 'h', "/etc/passwd" } };
	make_tar(t, hard, 2);
	expect_refused(t, MAAS_EDATA, "archive entry 'hl' is a hard link", "a hard link entry");
	struct tent hard2[] = { { "MODEL.json", AE_IFREG, EMPTY_MANIFEST },
				{ "hl", 'h', "MODEL.json" } };
	make_tar(t, hard2, 2);
	expect_refused(t, MAAS_EDATA, "is a hard link", "a hard link to a member");

	struct tent dev[] = { { "MODEL.json", AE_IFREG, EMPTY_MANIFEST }, { "null", AE_IFCHR, NULL } };
	make_tar(t, dev, 2);
	expect_refused(t, MAAS_EDATA, "archive entry 'null' is a character device", "a device entry");
	struct tent fifo[] = { { "MODEL.json", AE_IFREG, EMPTY_MANIFEST }, { "p", AE_IFIFO, NULL } };
	make_tar(t, fifo, 2);
	expect_refused(t, MAAS_EDATA, "archive entry 'p' is a fifo", "a fifo entry");

	struct tent twice[] = { { "MODEL.json", AE_IFREG, EMPTY_MANIFEST },
				{ "MODEL.json", AE_IFREG, "{}" } };
	make_tar(t, twice, 2);
	expect_refused(t, MAAS_EDATA, "archive entry 'MODEL.json' appears twice", "a duplicate entry");
	struct tent under[] = { { "a", AE_IFREG, "x" }, { "a/b", AE_IFREG, "y" } };
	make_tar(t, under, 2);
	expect_refused(t, MAAS_EDATA, "archive entry 'a/b' lies under a file", "a file under a file");

	make_huge_tar(t, (uint64_t)20 << 30);
	expect_refused(t, MAAS_EDATA,
		       "archive entry 'weights.safetensors' has 21474836480 bytes, over the limit of 17179869184",
		       "a 20 GiB entry");

	/* limits given by the caller */
	struct maas_bundle b;
	struct maas_err e;
	struct maas_bundle_limits l;
	struct tent many[] = { { "a", AE_IFREG, "aaaaaa" }, { "b", AE_IFREG, "bbbbbb" },
			       { "c", AE_IFREG, "cccccc" }, { "d", AE_IFREG, "dddddd" } };
	make_tar(t, many, 4);
	maas_bundle_limits_default(&l);
	l.max_entries = 3;
	is_int(maas_bundle_open_limits(&b, t, &l, &e), -1, "more entries than the limit: refused");
	ok(contains(e.msg, "the archive has more than 3 entries"), "... saying so");
	maas_bundle_limits_default(&l);
	l.max_total = 20;
	is_int(maas_bundle_open_limits(&b, t, &l, &e), -1, "total size over the limit: refused");
	ok(contains(e.msg, "the archive's files total more than the limit of 20 bytes"), "... saying so");
	maas_bundle_limits_default(&l);
	l.max_file = 5;
	is_int(maas_bundle_open_limits(&b, t, &l, &e), -1, "a file over the limit: refused");
	ok(contains(e.msg, "archive entry 'a' has 6 bytes, over the limit of 5"), "... saying so");
	maas_bundle_limits_default(&l);
	l.max_manifest = 10;
	struct tent big_manifest[] = { { "MODEL.json", AE_IFREG, EMPTY_MANIFEST } };
	make_tar(t, big_manifest, 1);
	is_int(maas_bundle_open_limits(&b, t, &l, &e), -1, "a MODEL.json over the limit: refused");
	ok(contains(e.msg, "'MODEL.json' is larger than the limit of 10 bytes"), "... saying so");
	is_int(maas_bundle_open(&b, t, &e), 0, "the same tar opens with the default limits");
	maas_bundle_close(&b);

	/* "./" prefixes, as tar -C DIR -cf FILE . writes them, are fine */
	char sha[MAAS_SHA256_HEX];
	maas_sha256_hex("hello\n", 6, sha);
	char *man = xasprintf("{\"format\": \"maas-bundle/1\", \"files\": "
			      "{\"sub/card.md\": {\"sha256\": \"%s\", \"size\": 6}}}", sha);
	struct tent dots[] = { { "./", AE_IFDIR, NULL }, { "./MODEL.json", AE_IFREG, man },
			       { "./sub/", AE_IFDIR, NULL }, { "./sub/card.md", AE_IFREG, "hello\n" } };
	make_tar(t, dots, 4);
	is_int(maas_bundle_open(&b, t, &e), 0, "a tar with './' names opens");
	maas_bundle_close(&b);
	struct tent tampered[] = { { "MODEL.json", AE_IFREG, man }, { "sub/card.md", AE_IFREG, "hellO\n" } };
	make_tar(t, tampered, 2);
	char *want = xasprintf("bundle '%s': 'sub/card.md' does not match its digest (expected %s, found ", t, sha);
	expect_refused(t, MAAS_EDATA, want, "a tampered tar");
	free(want);
	free(man);

	struct tent nested[] = { { "m.maas/MODEL.json", AE_IFREG, EMPTY_MANIFEST } };
	make_tar(t, nested, 1);
	expect_refused(t, MAAS_EDATA, "'MODEL.json' is missing at the top of the archive", "a tar of a directory");

	put(base, "garbage.tar", "this is not a tar archive at all, not even close.............");
	char *g = P("garbage.tar");
	expect_refused(g, MAAS_EDATA, "not a directory or a tar archive", "garbage");
	put(base, "garbage.tar", "");
	expect_refused(g, MAAS_EDATA, "'MODEL.json' is missing", "an empty file");
	free(g);

	is_int(count_prefix(tmpdir, ""), 2, "every extraction directory was removed ($TMPDIR holds only . and ..)");
	free(abs_link);
	free(t);
	free(evil1);
	free(evil2);
	free(abs);
	free(outside);
	free(outfile);
}

static void test_writer(void)
{
	struct maas_bundle_writer w;
	struct maas_err e;
	const char *why;

	const char *good[] = { "a", "weights.safetensors", "members/0/weights.safetensors", "a.b/c-d_e+f" };
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		is_int(maas_bundle_name_check(good[i], &why), 0, "name '%s' is valid", good[i]);
	const char *bad[] = { "", "/etc/passwd", "..", "a/../b", "a//b", "a/", "./a", "a b", "a\\b",
			      "caf\xc3\xa9", "tab\there" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		is_int(maas_bundle_name_check(bad[i], &why), -1, "name #%zu is refused", i);
	char longname[300];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	is_int(maas_bundle_name_check(longname, &why), -1, "a 299-byte name is refused");

	char *p = P("ab.maas");
	is_int(maas_bundle_begin(&w, p, &e), 0, "begin a directory");
	ok(!strncmp(maas_bundle_writer_dir(&w), p, strlen(p)), "the tree is built beside the target");
	is_int(maas_bundle_add(&w, "../x", "x", 1, &e), -1, "adding '../x' fails");
	is_int(e.kind, MAAS_EUSAGE, "... as a usage error");
	is_int(maas_bundle_add(&w, "MODEL.json", "x", 1, &e), -1, "adding MODEL.json fails");
	is_int(maas_bundle_add(&w, "a/b/c.bin", "abc", 3, &e), 0, "adding a nested file");
	is_int(maas_bundle_add(&w, "a/b", "x", 1, &e), -1, "adding a file over a directory fails");
	maas_bundle_abort(&w);
	maas_bundle_abort(&w); /* harmless twice */
	ok(!exists(p), "abort leaves no bundle");
	is_int(count_prefix(base, "ab.maas"), 0, "abort leaves no temporary");
	free(p);

	p = P("ab.tar");
	is_int(maas_bundle_begin(&w, p, &e), 0, "begin a tar");
	is_int(maas_bundle_add(&w, "x", "x", 1, &e), 0, "add to the tar");
	maas_bundle_abort(&w);
	ok(!exists(p), "abort leaves no tar");
	is_int(count_prefix(base, "ab.tar"), 0, "abort leaves no temporary tar tree");
	free(p);

	is_int(maas_bundle_begin(&w, "-", &e), 0, "begin on stdout");
	ok(!strncmp(maas_bundle_writer_dir(&w), tmpdir, strlen(tmpdir)), "stdout's tree is in $TMPDIR");
	maas_bundle_abort(&w);

	p = P("x.tar.gz");
	is_int(maas_bundle_begin(&w, p, &e), -1, "a compressed name is refused");
	is_int(e.kind, MAAS_EUSAGE, "... as a usage error");
	ok(contains(e.msg, "compressed bundles are made with maas-pack"), "... pointing to maas-pack");
	ok(!exists(p), "... and nothing made");
	free(p);

	p = P("nodir/x.maas");
	is_int(maas_bundle_begin(&w, p, &e), -1, "begin in a missing directory fails");
	is_int(e.kind, MAAS_ECANTCREAT, "... as cannot-create");
	free(p);

	/* a symlink put into the tree is refused at commit, nothing published */
	p = P("sl.maas");
	is_int(maas_bundle_begin(&w, p, &e), 0, "begin");
	char *l = xasprintf("%s/evil", maas_bundle_writer_dir(&w));
	if (symlink("/etc/passwd", l) < 0)
		ok(0, "symlink");
	free(l);
	json_t *m = json_object();
	is_int(maas_bundle_commit(&w, m, 0, &e), -1, "commit with a symlink in the tree fails");
	ok(contains(e.msg, "'evil' is a symbolic link"), "... naming it");
	ok(!exists(p) && count_prefix(base, "sl.maas") == 0, "... and leaves nothing");
	is_int(maas_bundle_commit(&w, m, 0, &e), -1, "commit after a failed commit fails");
	is_int(e.kind, MAAS_ESOFTWARE, "... as a bug");
	json_decref(m);
	free(p);

	/* verify's report */
	json_t *rep;
	p = P("m.maas");
	is_int(maas_bundle_verify(p, &rep, &e), 0, "verify a good bundle");
	is_int(json_array_size(json_object_get(rep, "files")), 4, "report lists four files");
	is_str(json_string_value(json_object_get(json_array_get(json_object_get(rep, "files"), 0), "name")),
	       "MODEL.json", "report lists MODEL.json first");
	is_str(json_string_value(json_object_get(rep, "name")), "iris", "report has the name");
	json_decref(rep);
	free(p);
	p = P("t1.maas");
	is_int(maas_bundle_verify(p, &rep, &e), -1, "verify a tampered bundle fails");
	ok(rep == NULL, "... with no report");
	free(p);
}

int main(void)
{
	struct maas_err e;

	if (!mkdtemp(base))
		return 1;
	tmpdir = P("tmp");
	mkdir(tmpdir, 0700);
	setenv("TMPDIR", tmpdir, 1);

	test_directory();
	test_tar_file();
	test_pipe();
	test_tampering();
	test_open_async();
	test_hostile();
	test_writer();

	maas_remove_tree(base, &e);
	free(tmpdir);
	return done_testing();
}
