/* tree.c - names, walking a bundle tree, digesting its files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/internal.h"
#include "core/mem.h"

void maas_bundle_limits_default(struct maas_bundle_limits *l)
{
	l->max_entries = MAAS_BUNDLE_MAX_ENTRIES;
	l->max_file = MAAS_BUNDLE_MAX_FILE;
	l->max_total = MAAS_BUNDLE_MAX_TOTAL;
	l->max_manifest = MAAS_BUNDLE_MAX_MANIFEST;
}

int maas_bundle_name_check(const char *name, const char **why)
{
	size_t n = strlen(name), start = 0;

	if (n == 0)
		return *why = "the name is empty", -1;
	if (n > MAAS_BUNDLE_NAME_MAX)
		return *why = "the name is longer than 255 bytes", -1;
	if (name[0] == '/')
		return *why = "the name is absolute", -1;
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '/' || c == '\0') {
			size_t len = i - start;
			if (len == 0)
				return *why = "the name has an empty component", -1;
			if (len == 1 && name[start] == '.')
				return *why = "the name has a '.' component", -1;
			if (len == 2 && name[start] == '.' && name[start + 1] == '.')
				return *why = "the name has a '..' component", -1;
			start = i + 1;
		} else if (c <= 0x20 || c >= 0x7f || c == '\\') {
			return *why = "the name has a character other than printable ASCII "
				      "(space and '\\' excluded)", -1;
		}
	}
	return 0;
}

const char *bundle_quote(char *buf, size_t n, const char *s)
{
	size_t i = 0, len = strlen(s);

	if (n < 8)
		return "?";
	for (; s[i] && i < n - 1; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[i] = (c < 0x20 || c >= 0x7f || c == '\'') ? '?' : (char)c;
	}
	buf[i] = '\0';
	if (i < len)
		memcpy(buf + n - 4, "...", 4);
	return buf;
}

void bundle_tree_release(struct bundle_tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
	memset(t, 0, sizeof *t);
}

static int node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bundle_node *)a)->name, ((const struct bundle_node *)b)->name);
}

const struct bundle_node *bundle_tree_find(const struct bundle_tree *t, const char *name)
{
	struct bundle_node key = { .name = (char *)name };

	if (!t->n)
		return NULL;
	return bsearch(&key, t->v, t->n, sizeof *t->v, node_cmp);
}

struct walk {
	const struct maas_bundle_limits *l;
	const char *bname;
	struct bundle_tree *t;
	struct maas_err *e;
};

static int walk_dir(struct walk *w, int dfd, const char *prefix)
{
	char q[BUNDLE_QUOTE_MAX];
	DIR *dir = fdopendir(dfd);
	struct dirent *de;
	int r = 0;

	if (!dir) {
		close(dfd);
		return maas_err_sys(w->e, MAAS_EIO, "bundle '%s': cannot read directory '%s'",
				    w->bname, prefix ? prefix : ".");
	}
	for (;;) {
		errno = 0;
		if (!(de = readdir(dir))) {
			if (errno)
				r = maas_err_sys(w->e, MAAS_EIO, "bundle '%s': cannot read directory '%s'",
						 w->bname, prefix ? prefix : ".");
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (prefix && strlen(prefix) + strlen(de->d_name) + 1 > MAAS_BUNDLE_NAME_MAX) {
			r = maas_err_set(w->e, MAAS_EDATA, "bundle '%s': '%s/%s' has an unsafe name: %s",
					 w->bname, prefix, bundle_quote(q, sizeof q, de->d_name),
					 "the name is longer than 255 bytes");
			break;
		}
		char *name = prefix ? xasprintf("%s/%s", prefix, de->d_name) : xstrdup(de->d_name);
		const char *why;
		struct stat st;
		if (maas_bundle_name_check(name, &why) < 0) {
			r = maas_err_set(w->e, MAAS_EDATA, "bundle '%s': '%s' has an unsafe name: %s",
					 w->bname, bundle_quote(q, sizeof q, name), why);
			free(name);
			break;
		}
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = maas_err_sys(w->e, MAAS_EIO, "bundle '%s': cannot stat '%s'", w->bname, name);
			free(name);
			break;
		}
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
			r = maas_err_set(w->e, MAAS_EDATA, "bundle '%s': '%s' is %s", w->bname, name,
					 S_ISLNK(st.st_mode) ? "a symbolic link, not a regular file"
							     : "a special file, not a regular file");
			free(name);
			break;
		}
		if (w->t->n >= w->l->max_entries) {
			r = maas_err_set(w->e, MAAS_EDATA, "bundle '%s': more than %zu entries",
					 w->bname, w->l->max_entries);
			free(name);
			break;
		}
		uint64_t size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
		if (size > w->l->max_file) {
			r = maas_err_set(w->e, MAAS_EDATA,
					 "bundle '%s': '%s' has %" PRIu64 " bytes, over the limit of %" PRIu64,
					 w->bname, name, size, w->l->max_file);
			free(name);
			break;
		}
		if (w->t->total + size > w->l->max_total) {
			r = maas_err_set(w->e, MAAS_EDATA,
					 "bundle '%s': its files total more than the limit of %" PRIu64 " bytes",
					 w->bname, w->l->max_total);
			free(name);
			break;
		}
		xgrow(&w->t->v, &w->t->cap, w->t->n + 1, sizeof *w->t->v);
		w->t->v[w->t->n++] = (struct bundle_node){ name, S_ISDIR(st.st_mode), size };
		w->t->total += size;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(dir), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				r = maas_err_sys(w->e, MAAS_EIO, "bundle '%s': cannot open directory '%s'",
						 w->bname, name);
				break;
			}
			if ((r = walk_dir(w, sub, name)) < 0)
				break;
		}
	}
	closedir(dir);
	return r;
}

int bundle_walk(const char *root, const struct maas_bundle_limits *l, const char *bname,
		struct bundle_tree *t, struct maas_err *e)
{
	struct walk w = { l, bname, t, e };
	int fd;

	memset(t, 0, sizeof *t);
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return maas_err_sys(e, MAAS_ENOINPUT, "cannot open bundle '%s'", bname);
	if (walk_dir(&w, fd, NULL) < 0) {
		bundle_tree_release(t);
		return -1;
	}
	if (t->n)
		qsort(t->v, t->n, sizeof *t->v, node_cmp);
	return 0;
}

int bundle_open_file(const char *root, const char *name, const char *bname, struct maas_err *e)
{
	char *path = xasprintf("%s/%s", root, name);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;

	free(path);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return maas_err_set(e, MAAS_EDATA, "bundle '%s': '%s' is missing", bname, name);
		if (errno == ELOOP)
			return maas_err_set(e, MAAS_EDATA,
					    "bundle '%s': '%s' is a symbolic link, not a regular file",
					    bname, name);
		return maas_err_sys(e, MAAS_ENOINPUT, "bundle '%s': cannot open '%s'", bname, name);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return maas_err_set(e, MAAS_EDATA, "bundle '%s': '%s' is not a regular file",
				    bname, name);
	}
	/* back to blocking reads */
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

int bundle_digest_map(int fd, char hex[MAAS_SHA256_HEX], uint64_t *size)
{
	enum { MIN_MAP = 1 << 20, STEP = 1 << 20 };
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < MIN_MAP ||
	    (uint64_t)st.st_size > SIZE_MAX)
		return 0;
	size_t n = (size_t)st.st_size;
	unsigned char *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return 0;
	(void)posix_madvise(p, n, POSIX_MADV_SEQUENTIAL);
	struct maas_sha256 s;
	maas_sha256_init(&s);
	for (size_t off = 0; off < n; off += STEP)
		maas_sha256_update(&s, p + off, n - off < STEP ? n - off : STEP);
	maas_sha256_final(&s, hex);
	munmap(p, n);
	*size = n;
	return 1;
}

int bundle_digest_fd(int fd, int sync, char hex[MAAS_SHA256_HEX], uint64_t *size,
		     const char *bname, const char *name, struct maas_err *e)
{
	enum { CHUNK = 1 << 16 };
	char *buf = xmalloc(CHUNK);
	struct maas_sha256 s;

	*size = 0;
	maas_sha256_init(&s);
	for (;;) {
		ssize_t r = read(fd, buf, CHUNK);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			maas_err_sys(e, MAAS_EIO, "bundle '%s': cannot read '%s'", bname, name);
			maas_sha256_final(&s, hex);
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		maas_sha256_update(&s, buf, (size_t)r);
		*size += (uint64_t)r;
	}
	maas_sha256_final(&s, hex);
	free(buf);
	if (sync && fsync(fd) < 0)
		return maas_err_sys(e, MAAS_EIO, "bundle '%s': cannot write '%s'", bname, name);
	return 0;
}

int bundle_private_dir(struct maas_outdir *d, struct maas_err *e)
{
	const char *tmp = getenv("TMPDIR");
	char *base;
	int r;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	base = xasprintf("%s/maas-bundle", tmp);
	r = maas_outdir_begin(d, base, e);
	free(base);
	if (r < 0)
		return maas_err_prefix(e, "cannot make a temporary directory");
	(void)chmod(d->tmp, 0700);
	return 0;
}
