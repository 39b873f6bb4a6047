/*
 * write.c - building a bundle in a temporary tree and publishing it.
 *
 * The tree is built beside the target (a directory "NAME.tmp-XXXXXX"), or
 * under $TMPDIR when the target is stdout.  commit digests every file,
 * writes MODEL.json, then renames the tree into place (maas_outdir) or
 * streams it as a tar through struct maas_out and removes it.
 *
 * The tar is reproducible: POSIX ustar, with a pax extended header only
 * where ustar cannot hold a name (libarchive's "pax restricted" format);
 * MODEL.json first, then every directory and file sorted bytewise by name;
 * mtime 0, uid and gid 0, empty user and group names, mode 0644 for files
 * and 0755 for directories.  The same files give the same bytes.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/internal.h"
#include "core/mem.h"

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

static int compressed_name(const char *path)
{
	static const char *const sfx[] = {
		".tar.gz", ".tgz", ".tar.zst", ".tzst", ".tar.xz", ".txz", ".tar.bz2", ".tbz2",
		".tar.lz4", ".tar.lz", ".tar.lzma",
	};
	for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++)
		if (has_suffix(path, sfx[i]))
			return 1;
	return 0;
}

int maas_bundle_check_target(const char *path, struct maas_err *e)
{
	struct stat st;

	if (!*path)
		return maas_err_set(e, MAAS_EUSAGE, "cannot write a bundle to an empty path");
	if (compressed_name(path))
		return maas_err_set(e, MAAS_EUSAGE,
				    "cannot write bundle '%s': compressed bundles are made with maas-pack; "
				    "name a directory or a .tar file", path);
	if (maas_is_stdio(path) || has_suffix(path, ".tar") || lstat(path, &st) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return maas_err_set(e, MAAS_ECANTCREAT,
				    "cannot write bundle '%s': a file that is not a bundle directory is there "
				    "(name a .tar file for a tar bundle)", path);
	char *m = xasprintf("%s/%s", path, MAAS_BUNDLE_MANIFEST);
	int is_bundle = access(m, F_OK) == 0;
	free(m);
	if (is_bundle)
		return 0;
	DIR *d = opendir(path);
	struct dirent *de;
	int empty = 1;
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = 0;
	if (d)
		closedir(d);
	if (d && empty)
		return 0;
	return maas_err_set(e, MAAS_ECANTCREAT, "cannot write bundle '%s': a directory that is not a bundle "
			    "is there (not replacing it)", path);
}

int maas_bundle_begin(struct maas_bundle_writer *w, const char *path, struct maas_err *e)
{
	memset(w, 0, sizeof *w);
	if (maas_bundle_check_target(path, e) < 0)
		return -1;
	w->tar = maas_is_stdio(path) || has_suffix(path, ".tar");
	if (maas_is_stdio(path) ? bundle_private_dir(&w->dir, e) < 0
				: maas_outdir_begin(&w->dir, path, e) < 0)
		return -1;
	w->path = xstrdup(path);
	return 0;
}

const char *maas_bundle_writer_dir(const struct maas_bundle_writer *w)
{
	return w->dir.tmp;
}

char *maas_bundle_writer_file(struct maas_bundle_writer *w, const char *name, struct maas_err *e)
{
	char q[BUNDLE_QUOTE_MAX];
	const char *why;

	if (!w->dir.tmp) {
		maas_err_set(e, MAAS_ESOFTWARE, "bundle writer used after commit or abort");
		return NULL;
	}
	if (maas_bundle_name_check(name, &why) < 0) {
		maas_err_set(e, MAAS_EUSAGE, "cannot add '%s' to a bundle: %s",
			     bundle_quote(q, sizeof q, name), why);
		return NULL;
	}
	if (!strcmp(name, MAAS_BUNDLE_MANIFEST)) {
		maas_err_set(e, MAAS_EUSAGE,
			     "cannot add 'MODEL.json' to a bundle: it is written by the commit");
		return NULL;
	}
	char *path = xasprintf("%s/%s", w->dir.tmp, name);
	/* make the parents, one component at a time */
	for (char *s = path + strlen(w->dir.tmp) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		int r = mkdir(path, 0777);
		struct stat st;
		if (r < 0 && (errno != EEXIST || lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))) {
			if (errno == EEXIST)
				errno = ENOTDIR;
			maas_err_sys(e, MAAS_ECANTCREAT, "cannot create '%s' in bundle '%s'", name,
				     maas_display_name(w->path, 1));
			free(path);
			return NULL;
		}
		*s = '/';
	}
	return path;
}

int maas_bundle_add(struct maas_bundle_writer *w, const char *name, const void *p, size_t n,
		    struct maas_err *e)
{
	char *path = maas_bundle_writer_file(w, name, e);
	const char *c = p;
	int fd;

	if (!path)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
	free(path);
	if (fd < 0)
		return maas_err_sys(e, MAAS_ECANTCREAT, "cannot create '%s' in bundle '%s'", name,
				    maas_display_name(w->path, 1));
	while (n) {
		ssize_t r = write(fd, c, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			maas_err_sys(e, MAAS_EIO, "cannot write '%s' in bundle '%s'", name,
				     maas_display_name(w->path, 1));
			close(fd);
			return -1;
		}
		c += r;
		n -= (size_t)r;
	}
	if (close(fd) < 0)
		return maas_err_sys(e, MAAS_EIO, "cannot write '%s' in bundle '%s'", name,
				    maas_display_name(w->path, 1));
	return 0;
}

void maas_bundle_abort(struct maas_bundle_writer *w)
{
	maas_outdir_abort(&w->dir);
	free(w->path);
	memset(w, 0, sizeof *w);
}

/* Digests the files of t into a "files" object; fsyncs them when sync. */
static json_t *digest_tree(const struct maas_bundle_writer *w, const struct bundle_tree *t,
			   int sync, const char *bname, struct maas_err *e)
{
	json_t *files = json_object();

	for (size_t i = 0; i < t->n; i++) {
		const struct bundle_node *n = &t->v[i];
		char hex[MAAS_SHA256_HEX];
		uint64_t size;
		int fd, r;

		if (n->is_dir) {
			if (sync) {
				char *d = xasprintf("%s/%s", w->dir.tmp, n->name);
				r = maas_fsync_dir(d, e);
				free(d);
				if (r < 0)
					goto fail;
			}
			continue;
		}
		if (!strcmp(n->name, MAAS_BUNDLE_MANIFEST))
			continue;
		if ((fd = bundle_open_file(w->dir.tmp, n->name, bname, e)) < 0)
			goto fail;
		r = bundle_digest_fd(fd, sync, hex, &size, bname, n->name, e);
		close(fd);
		if (r < 0)
			goto fail;
		if (size != n->size) {
			maas_err_set(e, MAAS_EIO, "bundle '%s': '%s' changed while the bundle was written",
				     bname, n->name);
			goto fail;
		}
		json_object_set_new(files, n->name,
				    json_pack("{s:s, s:I}", "sha256", hex, "size", (json_int_t)size));
	}
	return files;
fail:
	json_decref(files);
	return NULL;
}

/* MODEL.json's text: "format" first, the caller's fields in their order,
 * "files" last; two-space indent and a final newline. */
static char *manifest_text(json_t *manifest, size_t *len)
{
	json_t *out = json_object(), *v;
	const char *k;
	char *s;

	json_object_set(out, "format", json_object_get(manifest, "format"));
	json_object_foreach(manifest, k, v)
		if (strcmp(k, "format") && strcmp(k, "files"))
			json_object_set(out, k, v);
	json_object_set(out, "files", json_object_get(manifest, "files"));
	s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(out);
	if (!s)
		return NULL;
	*len = strlen(s);
	char *t = xmalloc(*len + 2);
	memcpy(t, s, *len);
	t[(*len)++] = '\n';
	t[*len] = '\0';
	free(s);
	return t;
}

static int write_manifest(const struct maas_bundle_writer *w, const char *text, size_t len,
			  int sync, const char *bname, struct maas_err *e)
{
	char *path = xasprintf("%s/%s", w->dir.tmp, MAAS_BUNDLE_MANIFEST);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);

	free(path);
	if (fd < 0)
		return maas_err_sys(e, MAAS_ECANTCREAT, "cannot create 'MODEL.json' in bundle '%s'", bname);
	while (len) {
		ssize_t r = write(fd, text, len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			maas_err_sys(e, MAAS_EIO, "cannot write 'MODEL.json' in bundle '%s'", bname);
			close(fd);
			return -1;
		}
		text += r;
		len -= (size_t)r;
	}
	if ((sync && fsync(fd) < 0) || close(fd) < 0)
		return maas_err_sys(e, MAAS_EIO, "cannot write 'MODEL.json' in bundle '%s'", bname);
	return 0;
}

struct sink {
	struct maas_out *o;
	struct maas_err *e;
	int failed;
};

/* After the first failed write the sink swallows the rest and the caller
 * stops adding entries: a libarchive writer in its fatal state leaks its
 * block buffer on archive_write_free (libarchive 3.6), so it is always
 * closed normally and the failure is reported from s->failed. */
static la_ssize_t sink_write(struct archive *a, void *cd, const void *p, size_t n)
{
	struct sink *s = cd;

	(void)a;
	if (!s->failed && maas_out_write(s->o, p, n, s->e) < 0)
		s->failed = 1;
	return (la_ssize_t)n;
}

static int tar_entry(struct archive *a, struct sink *s, const char *root,
		     const struct bundle_node *n, const char *bname, struct maas_err *e)
{
	struct archive_entry *ent = archive_entry_new();
	int fd = -1, r = -1;
	uint64_t done = 0;
	char *buf = NULL;

	archive_entry_set_pathname(ent, n->name);
	archive_entry_set_filetype(ent, n->is_dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(ent, n->is_dir ? 0755 : 0644);
	archive_entry_set_size(ent, n->is_dir ? 0 : (la_int64_t)n->size);
	archive_entry_set_mtime(ent, 0, 0);
	archive_entry_set_uid(ent, 0);
	archive_entry_set_gid(ent, 0);
	if (!n->is_dir && (fd = bundle_open_file(root, n->name, bname, e)) < 0)
		goto out;
	if (archive_write_header(a, ent) != ARCHIVE_OK)
		goto archive_error;
	if (!n->is_dir) {
		enum { CHUNK = 1 << 16 };
		buf = xmalloc(CHUNK);
		for (;;) {
			ssize_t got = read(fd, buf, CHUNK);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0) {
				maas_err_sys(e, MAAS_EIO, "bundle '%s': cannot read '%s'", bname, n->name);
				goto out;
			}
			if (got == 0)
				break;
			if ((uint64_t)got > n->size - done)
				break;
			if (archive_write_data(a, buf, (size_t)got) != got)
				goto archive_error;
			done += (uint64_t)got;
		}
		if (done != n->size) {
			maas_err_set(e, MAAS_EIO, "bundle '%s': '%s' changed while the bundle was written",
				     bname, n->name);
			goto out;
		}
	}
	r = 0;
	goto out;
archive_error:
	if (!s->failed)
		maas_err_set(e, MAAS_EIO, "cannot write bundle '%s': %s", bname, archive_error_string(a));
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	archive_entry_free(ent);
	return r;
}

static int write_tar(const struct maas_bundle_writer *w, const struct bundle_tree *t,
		     int replace, const char *bname, struct maas_err *e)
{
	struct maas_out o;
	struct sink s = { &o, e, 0 };
	struct stat st;
	struct archive *a;
	const struct bundle_node *m = bundle_tree_find(t, MAAS_BUNDLE_MANIFEST);

	if (!replace && !maas_is_stdio(w->path) && lstat(w->path, &st) == 0)
		return maas_err_set(e, MAAS_ECANTCREAT, "cannot create '%s': File exists", w->path);
	if (maas_out_open(&o, w->path, 1, e) < 0)
		return -1;
	a = archive_write_new();
	if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(a) != ARCHIVE_OK ||
	    archive_write_open(a, &s, NULL, sink_write, NULL) != ARCHIVE_OK) {
		if (!s.failed)
			maas_err_set(e, MAAS_EOS, "cannot write bundle '%s': %s", bname,
				     a ? archive_error_string(a) : "cannot start libarchive");
		goto fail;
	}
	int bad = tar_entry(a, &s, w->dir.tmp, m, bname, e) < 0;
	for (size_t i = 0; i < t->n && !bad && !s.failed; i++)
		if (&t->v[i] != m && tar_entry(a, &s, w->dir.tmp, &t->v[i], bname, e) < 0)
			bad = 1;
	if (archive_write_close(a) != ARCHIVE_OK && !bad && !s.failed) {
		maas_err_set(e, MAAS_EIO, "cannot write bundle '%s': %s", bname, archive_error_string(a));
		bad = 1;
	}
	if (bad || s.failed)
		goto fail;
	archive_write_free(a);
	return maas_out_commit(&o, e);
fail:
	if (a)
		archive_write_free(a);
	maas_out_abort(&o);
	return -1;
}

int maas_bundle_commit(struct maas_bundle_writer *w, json_t *manifest, int replace,
		       struct maas_err *e)
{
	struct maas_bundle_limits l;
	struct bundle_tree t;
	const char *bname;
	json_t *files;
	char *text = NULL;
	size_t len = 0;
	int sync, r = -1;

	if (!w->dir.tmp)
		return maas_err_set(e, MAAS_ESOFTWARE, "bundle writer used after commit or abort");
	if (!json_is_object(manifest)) {
		maas_err_set(e, MAAS_ESOFTWARE, "bundle manifest is not a JSON object");
		maas_bundle_abort(w);
		return -1;
	}
	bname = maas_display_name(w->path, 1);
	sync = !w->tar;
	maas_bundle_limits_default(&l);
	/* the writer keeps to the limits the reader enforces */
	if (bundle_walk(w->dir.tmp, &l, bname, &t, e) < 0)
		goto out_abort;
	if (!(files = digest_tree(w, &t, sync, bname, e)))
		goto out;
	json_object_set_new(manifest, "format", json_string(MAAS_BUNDLE_FORMAT));
	json_object_set_new(manifest, "files", files);
	if (!(text = manifest_text(manifest, &len))) {
		maas_err_set(e, MAAS_EDATA, "cannot write bundle '%s': the manifest cannot be "
			     "encoded as JSON", bname);
		goto out;
	}
	if (len > l.max_manifest) {
		maas_err_set(e, MAAS_EDATA, "cannot write bundle '%s': MODEL.json would have %zu bytes, "
			     "over the limit of %zu", bname, len, l.max_manifest);
		goto out;
	}
	if (write_manifest(w, text, len, sync, bname, e) < 0)
		goto out;
	if (!bundle_tree_find(&t, MAAS_BUNDLE_MANIFEST)) {
		/* list it, so that the tar writer puts it first */
		bundle_tree_release(&t);
		if (bundle_walk(w->dir.tmp, &l, bname, &t, e) < 0)
			goto out_abort;
	} else {
		struct bundle_node *m = (struct bundle_node *)bundle_tree_find(&t, MAAS_BUNDLE_MANIFEST);
		m->size = len;
	}
	if (w->tar) {
		r = write_tar(w, &t, replace, bname, e);
	} else {
		r = maas_outdir_commit(&w->dir, replace, e); /* releases w->dir either way */
	}
out:
	bundle_tree_release(&t);
out_abort:
	free(text);
	maas_bundle_abort(w);
	return r;
}
