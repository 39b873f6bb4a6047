/*
 * bundle.c - opening a bundle and checking it against its manifest.
 *
 * The check has two parts: the listing (every listed file is there with
 * its size, nothing else is) is made at once; the digests, which read
 * every byte, run on a thread of their own from maas_bundle_open_start
 * to maas_bundle_open_finish, so that a caller may do its own work
 * meanwhile.  The thread gets a plain list (no jansson object is shared
 * between threads) and its own error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle/internal.h"
#include "core/mem.h"

/* Reads fd to its end into out, failing past limit bytes. */
static int read_fd(int fd, struct maas_buf *out, size_t limit, const char *bname,
		   const char *name, struct maas_err *e)
{
	maas_buf_init(out);
	for (;;) {
		if (out->cap - out->len < 4096)
			xgrow(&out->data, &out->cap, out->cap < 4096 ? 8192 : out->cap * 2, 1);
		ssize_t r = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			maas_err_sys(e, MAAS_EIO, "bundle '%s': cannot read '%s'", bname, name);
			maas_buf_release(out);
			return -1;
		}
		if (r == 0)
			break;
		out->len += (size_t)r;
		if (limit && out->len > limit) {
			maas_err_set(e, MAAS_EDATA, "bundle '%s': '%s' is larger than the limit of %zu bytes",
				     bname, name, limit);
			maas_buf_release(out);
			return -1;
		}
	}
	out->data[out->len] = '\0';
	return 0;
}

static int is_hex64(const char *s)
{
	size_t i = 0;
	for (; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == 64;
}

/* Checks one "files" member's shape; fills *sha and *size. */
static int file_entry(const char *bname, const char *name, json_t *v, const char **sha,
		      uint64_t *size, struct maas_err *e)
{
	char q[BUNDLE_QUOTE_MAX];
	const char *why;
	json_t *js, *jn;

	if (maas_bundle_name_check(name, &why) < 0)
		return maas_err_set(e, MAAS_EDATA, "bundle '%s': MODEL.json lists '%s', an unsafe name: %s",
				    bname, bundle_quote(q, sizeof q, name), why);
	if (!strcmp(name, MAAS_BUNDLE_MANIFEST))
		return maas_err_set(e, MAAS_EDATA, "bundle '%s': MODEL.json lists itself in \"files\"",
				    bname);
	if (!json_is_object(v) || !json_is_string(js = json_object_get(v, "sha256")) ||
	    !is_hex64(json_string_value(js)))
		return maas_err_set(e, MAAS_EDATA,
				    "bundle '%s': MODEL.json entry for '%s' has no \"sha256\" of 64 "
				    "lowercase hex digits", bname, name);
	if (!json_is_integer(jn = json_object_get(v, "size")) || json_integer_value(jn) < 0)
		return maas_err_set(e, MAAS_EDATA,
				    "bundle '%s': MODEL.json entry for '%s' has no \"size\" of zero or more",
				    bname, name);
	*sha = json_string_value(js);
	*size = (uint64_t)json_integer_value(jn);
	return 0;
}

static int load_manifest(struct maas_bundle *b, const struct bundle_tree *t,
			 const struct maas_bundle_limits *l, struct maas_err *e)
{
	char q[BUNDLE_QUOTE_MAX];
	const struct bundle_node *m = bundle_tree_find(t, MAAS_BUNDLE_MANIFEST);
	struct maas_buf buf;
	json_error_t jerr;
	json_t *fmt;
	int fd;

	if (!m)
		return maas_err_set(e, MAAS_EDATA, "bundle '%s': 'MODEL.json' is missing%s", b->name,
				    b->extract.tmp ? " at the top of the archive (make one with "
						     "tar -C DIR -cf FILE .)" : "");
	if (m->is_dir)
		return maas_err_set(e, MAAS_EDATA, "bundle '%s': 'MODEL.json' is not a regular file",
				    b->name);
	if ((fd = bundle_open_file(b->root, MAAS_BUNDLE_MANIFEST, b->name, e)) < 0)
		return -1;
	int r = read_fd(fd, &buf, l->max_manifest, b->name, MAAS_BUNDLE_MANIFEST, e);
	close(fd);
	if (r < 0)
		return -1;
	b->manifest = json_loadb(buf.data, buf.len, JSON_REJECT_DUPLICATES, &jerr);
	maas_buf_release(&buf);
	if (!b->manifest)
		return maas_err_set(e, MAAS_EDATA,
				    "bundle '%s': 'MODEL.json' is not valid JSON: %s (line %d, column %d)",
				    b->name, jerr.text, jerr.line, jerr.column);
	if (!json_is_object(b->manifest))
		return maas_err_set(e, MAAS_EDATA, "bundle '%s': 'MODEL.json' is not a JSON object",
				    b->name);
	fmt = json_object_get(b->manifest, "format");
	if (!json_is_string(fmt))
		return maas_err_set(e, MAAS_EDATA, "bundle '%s': 'MODEL.json' has no \"format\" string",
				    b->name);
	if (strcmp(json_string_value(fmt), MAAS_BUNDLE_FORMAT))
		return maas_err_set(e, MAAS_EDATA,
				    "bundle '%s': 'MODEL.json' has format '%s', not '" MAAS_BUNDLE_FORMAT "'",
				    b->name, bundle_quote(q, sizeof q, json_string_value(fmt)));
	if (!json_is_object(json_object_get(b->manifest, "files")))
		return maas_err_set(e, MAAS_EDATA, "bundle '%s': 'MODEL.json' has no \"files\" object",
				    b->name);
	return 0;
}

/* A file to digest: its name, and what the manifest says of it. */
struct digest_job {
	char *name;
	char sha[MAAS_SHA256_HEX];
	uint64_t size;
};

/* The digests, computed on a thread (or at once). */
struct bundle_digests {
	char *root, *bname;
	struct digest_job *v;
	size_t n;
	pthread_t thread;
	int threaded;
	int map;                /* digest large files from a map (bundle_digest_map) */
	int rc;
	struct maas_err err;
	double seconds;
	uint64_t bytes;
};

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void digests_free(struct bundle_digests *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].name);
	free(d->v);
	free(d->root);
	free(d->bname);
	free(d);
}

/* The tree must hold exactly the listed files, each of its listed size;
 * fills d's list of the files to digest. */
static int check_listing(struct maas_bundle *b, const struct bundle_tree *t, struct bundle_digests *d,
			 struct maas_err *e)
{
	json_t *files = json_object_get(b->manifest, "files"), *v;
	const char *name, *sha;
	uint64_t size;

	json_object_foreach(files, name, v) {
		if (file_entry(b->name, name, v, &sha, &size, e) < 0)
			return -1;
		const struct bundle_node *n = bundle_tree_find(t, name);
		if (!n)
			return maas_err_set(e, MAAS_EDATA,
					    "bundle '%s': '%s' is listed in MODEL.json but missing",
					    b->name, name);
		if (n->is_dir)
			return maas_err_set(e, MAAS_EDATA, "bundle '%s': '%s' is not a regular file",
					    b->name, name);
		if (n->size != size)
			return maas_err_set(e, MAAS_EDATA,
					    "bundle '%s': '%s' has %" PRIu64 " bytes, MODEL.json says %" PRIu64,
					    b->name, name, n->size, size);
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct bundle_node *n = &t->v[i];
		if (!n->is_dir && strcmp(n->name, MAAS_BUNDLE_MANIFEST) &&
		    !json_object_get(files, n->name))
			return maas_err_set(e, MAAS_EDATA, "bundle '%s': '%s' is not listed in MODEL.json",
					    b->name, n->name);
	}
	d->v = xcalloc(json_object_size(files) + 1, sizeof *d->v);
	json_object_foreach(files, name, v) {
		struct digest_job *j = &d->v[d->n++];
		(void)file_entry(b->name, name, v, &sha, &size, e);
		j->name = xstrdup(name);
		memcpy(j->sha, sha, MAAS_SHA256_HEX);
		j->size = size;
	}
	return 0;
}

/* Every listed file must match its digest (and still have its size). */
static int digest_files(struct bundle_digests *d, struct maas_err *e)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct digest_job *j = &d->v[i];
		char hex[MAAS_SHA256_HEX];
		uint64_t got;
		int fd;

		if ((fd = bundle_open_file(d->root, j->name, d->bname, e)) < 0)
			return -1;
		int r = d->map && bundle_digest_map(fd, hex, &got) ? 0 :
			bundle_digest_fd(fd, 0, hex, &got, d->bname, j->name, e);
		close(fd);
		if (r < 0)
			return -1;
		d->bytes += got;
		if (got != j->size)
			return maas_err_set(e, MAAS_EDATA,
					    "bundle '%s': '%s' has %" PRIu64 " bytes, MODEL.json says %" PRIu64,
					    d->bname, j->name, got, j->size);
		if (strcmp(hex, j->sha))
			return maas_err_set(e, MAAS_EDATA,
					    "bundle '%s': '%s' does not match its digest (expected %s, found %s)",
					    d->bname, j->name, j->sha, hex);
	}
	return 0;
}

static void *digest_thread(void *arg)
{
	struct bundle_digests *d = arg;
	double t0 = now_seconds();

	d->rc = digest_files(d, &d->err);
	d->seconds = now_seconds() - t0;
	return NULL;
}

/* Waits for the digests; returns their result (and error).  b->pending is
 * NULL after. */
static int digests_wait(struct maas_bundle *b, struct maas_err *e)
{
	struct bundle_digests *d = b->pending;
	int rc;

	if (!d)
		return 0;
	if (d->threaded)
		pthread_join(d->thread, NULL);
	rc = d->rc;
	if (rc < 0 && e)
		*e = d->err;
	b->digest_seconds = d->seconds;
	b->digest_bytes = d->bytes;
	b->pending = NULL;
	digests_free(d);
	return rc;
}

static int open_bundle(struct maas_bundle *b, const char *path, const struct maas_bundle_limits *l, int async,
		       struct maas_err *e)
{
	struct maas_bundle_limits dl;
	struct bundle_tree t;
	struct stat st;
	int fd = -1;

	if (!l) {
		maas_bundle_limits_default(&dl);
		l = &dl;
	}
	memset(b, 0, sizeof *b);
	b->name = xstrdup(maas_display_name(path, 0));
	if (maas_is_stdio(path)) {
		fd = 0;
	} else {
		if (stat(path, &st) < 0) {
			maas_err_sys(e, MAAS_ENOINPUT, "cannot open bundle '%s'", path);
			goto fail;
		}
		if (S_ISDIR(st.st_mode)) {
			b->root = xstrdup(path);
		} else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			maas_err_sys(e, MAAS_ENOINPUT, "cannot open bundle '%s'", path);
			goto fail;
		}
	}
	if (!b->root) {
		double t0 = now_seconds();
		int r = bundle_private_dir(&b->extract, e);
		if (r == 0)
			r = bundle_extract(fd, b->extract.tmp, l, b->name, e);
		if (!maas_is_stdio(path))
			close(fd);
		if (r < 0)
			goto fail;
		b->root = xstrdup(b->extract.tmp);
		b->extract_seconds = now_seconds() - t0;
	}
	if (bundle_walk(b->root, l, b->name, &t, e) < 0)
		goto fail;
	struct bundle_digests *d = xcalloc(1, sizeof *d);
	d->root = xstrdup(b->root);
	d->bname = xstrdup(b->name);
	if (load_manifest(b, &t, l, e) < 0 || check_listing(b, &t, d, e) < 0) {
		digests_free(d);
		bundle_tree_release(&t);
		goto fail;
	}
	bundle_tree_release(&t);
	b->pending = d;
	d->map = async;
	if (async && pthread_create(&d->thread, NULL, digest_thread, d) == 0)
		d->threaded = 1;
	else
		digest_thread(d);
	return 0;
fail:
	maas_bundle_close(b);
	return -1;
}

int maas_bundle_open_limits(struct maas_bundle *b, const char *path,
			    const struct maas_bundle_limits *l, struct maas_err *e)
{
	if (open_bundle(b, path, l, 0, e) < 0)
		return -1;
	return maas_bundle_open_finish(b, e);
}

int maas_bundle_open(struct maas_bundle *b, const char *path, struct maas_err *e)
{
	return maas_bundle_open_limits(b, path, NULL, e);
}

int maas_bundle_open_start(struct maas_bundle *b, const char *path, struct maas_err *e)
{
	return open_bundle(b, path, NULL, 1, e);
}

int maas_bundle_open_finish(struct maas_bundle *b, struct maas_err *e)
{
	if (digests_wait(b, e) < 0) {
		maas_bundle_close(b);
		return -1;
	}
	return 0;
}

const json_t *maas_bundle_manifest(const struct maas_bundle *b)
{
	return b->manifest;
}

const char *maas_bundle_dir(const struct maas_bundle *b)
{
	return b->root;
}

static json_t *listed(const struct maas_bundle *b, const char *name)
{
	return json_object_get(json_object_get(b->manifest, "files"), name);
}

char *maas_bundle_file(const struct maas_bundle *b, const char *name)
{
	if (!b->root || (strcmp(name, MAAS_BUNDLE_MANIFEST) && !listed(b, name)))
		return NULL;
	return xasprintf("%s/%s", b->root, name);
}

int maas_bundle_read(const struct maas_bundle *b, const char *name, struct maas_buf *out,
		     size_t limit, struct maas_err *e)
{
	int is_manifest = !strcmp(name, MAAS_BUNDLE_MANIFEST);
	json_t *v = listed(b, name);
	const char *sha = NULL;
	uint64_t size = 0;
	int fd, r;

	maas_buf_init(out);
	if (!b->root || (!is_manifest && !v))
		return maas_err_set(e, MAAS_ENOINPUT, "bundle '%s': no file '%s'",
				    b->name ? b->name : "?", name);
	if (!is_manifest) {
		sha = json_string_value(json_object_get(v, "sha256"));
		size = (uint64_t)json_integer_value(json_object_get(v, "size"));
		if (limit && size > limit)
			return maas_err_set(e, MAAS_EDATA,
					    "bundle '%s': '%s' has %" PRIu64 " bytes, over the limit of %zu",
					    b->name, name, size, limit);
	}
	if ((fd = bundle_open_file(b->root, name, b->name, e)) < 0)
		return -1;
	r = read_fd(fd, out, limit, b->name, name, e);
	close(fd);
	if (r < 0 || is_manifest)
		return r;
	char hex[MAAS_SHA256_HEX];
	maas_sha256_hex(out->data, out->len, hex);
	if (out->len != size || strcmp(hex, sha)) {
		maas_buf_release(out);
		return maas_err_set(e, MAAS_EDATA,
				    "bundle '%s': '%s' changed since the bundle was opened", b->name, name);
	}
	return 0;
}

void maas_bundle_close(struct maas_bundle *b)
{
	digests_wait(b, NULL);
	maas_outdir_abort(&b->extract);
	json_decref(b->manifest);
	free(b->root);
	free(b->name);
	memset(b, 0, sizeof *b);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int maas_bundle_verify(const char *path, json_t **report, struct maas_err *e)
{
	struct maas_bundle b;
	json_t *files, *v, *arr;
	const char *name, **names;
	size_t n = 0, i = 0;
	uint64_t total = 0;

	*report = NULL;
	if (maas_bundle_open(&b, path, e) < 0)
		return -1;
	files = json_object_get(b.manifest, "files");
	names = xmallocarray(json_object_size(files) + 1, sizeof *names);
	json_object_foreach(files, name, v)
		names[n++] = name;
	qsort(names, n, sizeof *names, name_cmp);

	char *mpath = maas_bundle_file(&b, MAAS_BUNDLE_MANIFEST);
	char hex[MAAS_SHA256_HEX];
	struct stat st;
	if (maas_sha256_file(mpath, hex, e) < 0 || stat(mpath, &st) < 0) {
		free(mpath);
		free(names);
		maas_bundle_close(&b);
		return -1;
	}
	free(mpath);
	arr = json_array();
	json_array_append_new(arr, json_pack("{s:s, s:I, s:s}", "name", MAAS_BUNDLE_MANIFEST,
					     "size", (json_int_t)st.st_size, "sha256", hex));
	total += (uint64_t)st.st_size;
	for (i = 0; i < n; i++) {
		v = json_object_get(files, names[i]);
		json_t *sz = json_object_get(v, "size");
		json_array_append_new(arr, json_pack("{s:s, s:O, s:O}", "name", names[i], "size", sz,
						     "sha256", json_object_get(v, "sha256")));
		total += (uint64_t)json_integer_value(sz);
	}
	*report = json_pack("{s:s, s:O, s:o, s:I}", "bundle", b.name,
			    "format", json_object_get(b.manifest, "format"), "files", arr,
			    "size", (json_int_t)total);
	if (json_is_string(json_object_get(b.manifest, "name")))
		json_object_set(*report, "name", json_object_get(b.manifest, "name"));
	free(names);
	maas_bundle_close(&b);
	return 0;
}
