/* io.c - stdin/stdout as "-", whole-file reads, atomic files and directories. */
#include "core/fmt.h"
#include "core/io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"

/* Registry of temporaries for signal handlers.  Slots hold strdup'd paths;
 * a slot is written before the file exists and cleared after rename. */
#define MAX_TEMPS 64
static char *volatile temps[MAX_TEMPS];
static volatile sig_atomic_t temp_isdir[MAX_TEMPS];

static void temp_register(char *path, int isdir)
{
	for (int i = 0; i < MAX_TEMPS; i++)
		if (!temps[i]) {
			temp_isdir[i] = isdir;
			temps[i] = path;
			return;
		}
}

static void temp_unregister(const char *path)
{
	for (int i = 0; i < MAX_TEMPS; i++)
		if (temps[i] == path)
			temps[i] = NULL;
}

static void remove_tree_quiet(const char *path)
{
	struct maas_err e;
	(void)maas_remove_tree(path, &e);
}

void maas_io_remove_temporaries(void)
{
	for (int i = 0; i < MAX_TEMPS; i++) {
		char *p = temps[i];
		if (!p)
			continue;
		if (temp_isdir[i])
			remove_tree_quiet(p);
		else
			unlink(p);
		temps[i] = NULL;
	}
}

int maas_is_stdio(const char *path)
{
	return path && path[0] == '-' && path[1] == '\0';
}

const char *maas_display_name(const char *path, int output)
{
	if (maas_is_stdio(path))
		return output ? "<stdout>" : "<stdin>";
	return path;
}

int maas_open_in(const char *path, struct maas_err *e)
{
	int fd;

	if (maas_is_stdio(path))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return maas_err_sys(e, MAAS_ENOINPUT, "cannot open '%s'", path);
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return maas_err_set(e, MAAS_ENOINPUT, "cannot read '%s': Is a directory", path);
	}
	return fd;
}

void maas_buf_init(struct maas_buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void maas_buf_release(struct maas_buf *b)
{
	free(b->data);
	maas_buf_init(b);
}

void maas_buf_add(struct maas_buf *b, const void *p, size_t n)
{
	xgrow(&b->data, &b->cap, b->len + n + 1, 1);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] < 0xC2 ? 0 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : s[0] < 0xF5 ? 4 : 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	if ((n == 3 && s[0] == 0xE0 && s[1] < 0xA0) || (n == 3 && s[0] == 0xED && s[1] >= 0xA0) ||
	    (n == 4 && s[0] == 0xF0 && s[1] < 0x90) || (n == 4 && s[0] == 0xF4 && s[1] >= 0x90))
		return 0; /* overlong, a surrogate, beyond U+10FFFF */
	return n;
}

void maas_buf_add_json_string(struct maas_buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	static const char hex[] = "0123456789abcdef";

	maas_buf_add(b, "\"", 1);
	while (*s) {
		const unsigned char *run = s;
		size_t n;
		while (*s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\')
			s++;
		maas_buf_add(b, run, (size_t)(s - run));
		if (!*s)
			break;
		if (*s == '"' || *s == '\\') {
			char esc[2] = {'\\', (char)*s++};
			maas_buf_add(b, esc, 2);
		} else if (*s < 0x20) {
			char esc[6] = {'\\', 'u', '0', '0', hex[*s >> 4], hex[*s & 15]};
			const char *named = *s == '\n' ? "\\n" : *s == '\t' ? "\\t" : *s == '\r' ? "\\r" : NULL;
			if (named)
				maas_buf_add(b, named, 2);
			else
				maas_buf_add(b, esc, 6);
			s++;
		} else if ((n = utf8_len(s))) {
			maas_buf_add(b, s, n);
			s += n;
		} else {
			maas_buf_add(b, "\\ufffd", 6);
			s++;
		}
	}
	maas_buf_add(b, "\"", 1);
}

void maas_buf_addstr(struct maas_buf *b, const char *s)
{
	maas_buf_add(b, s, strlen(s));
}

void maas_buf_addf(struct maas_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	/* format once into the room there is; again only when it did not fit */
	xgrow(&b->data, &b->cap, b->len + 64, 1);
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		xgrow(&b->data, &b->cap, b->len + (size_t)n + 1, 1);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void maas_buf_add_g9(struct maas_buf *b, double v)
{
	xgrow(&b->data, &b->cap, b->len + MAAS_FMT_G9_MAX, 1);
	b->len += maas_fmt_g9(b->data + b->len, v);
}

void maas_buf_add_int(struct maas_buf *b, long long v)
{
	xgrow(&b->data, &b->cap, b->len + 24, 1);
	b->len += maas_fmt_int(b->data + b->len, v);
}

int maas_read_all(const char *path, struct maas_buf *b, size_t limit, struct maas_err *e)
{
	int fd = maas_open_in(path, e);
	const char *name = maas_display_name(path, 0);

	if (fd < 0)
		return -1;
	maas_buf_init(b);
	xgrow(&b->data, &b->cap, 1 << 16, 1);
	for (;;) {
		if (b->cap - b->len < 4096)
			xgrow(&b->data, &b->cap, b->cap * 2, 1);
		ssize_t r = read(fd, b->data + b->len, b->cap - b->len - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			maas_err_sys(e, MAAS_EIO, "cannot read '%s'", name);
			goto fail;
		}
		if (r == 0)
			break;
		b->len += (size_t)r;
		if (limit && b->len > limit) {
			maas_err_set(e, MAAS_EDATA, "cannot read '%s': larger than the limit of %zu bytes",
				     name, limit);
			goto fail;
		}
	}
	b->data[b->len] = '\0';
	if (fd != 0)
		close(fd);
	return 0;
fail:
	if (fd != 0)
		close(fd);
	maas_buf_release(b);
	return -1;
}

static char *dir_of(const char *path)
{
	char *copy = xstrdup(path);
	char *d = xstrdup(dirname(copy));
	free(copy);
	return d;
}

int maas_fsync_dir(const char *dir, struct maas_err *e)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return maas_err_sys(e, MAAS_EIO, "cannot open directory '%s'", dir);
	if (fsync(fd) < 0 && errno != EINVAL) {
		close(fd);
		return maas_err_sys(e, MAAS_EIO, "cannot sync directory '%s'", dir);
	}
	close(fd);
	return 0;
}

int maas_out_open(struct maas_out *o, const char *path, int refuse_tty, struct maas_err *e)
{
	memset(o, 0, sizeof *o);
	o->fd = -1;
	if (maas_is_stdio(path)) {
		if (refuse_tty && isatty(1))
			return maas_err_set(e, MAAS_EUSAGE,
					    "refusing to write binary data to a terminal; use -o FILE or a pipe");
		o->fd = 1;
		o->is_stdout = 1;
		o->path = xstrdup("-");
		return 0;
	}
	o->path = xstrdup(path);
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		/* a device or a FIFO (-o /dev/null, a named pipe): write to it as
		 * it is; renaming a temporary over it would replace the device */
		o->fd = open(path, O_WRONLY | O_CLOEXEC);
		if (o->fd < 0) {
			maas_err_sys(e, MAAS_ECANTCREAT, "cannot open '%s'", path);
			free(o->path);
			memset(o, 0, sizeof *o);
			o->fd = -1;
			return -1;
		}
		o->is_stdout = 1;   /* committed as a stream: no fsync, no rename */
		return 0;
	}
	o->tmp = xasprintf("%s.tmp-XXXXXX", path);
	temp_register(o->tmp, 0);
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0) {
		maas_err_sys(e, MAAS_ECANTCREAT, "cannot create '%s'", path);
		temp_unregister(o->tmp);
		free(o->tmp);
		free(o->path);
		memset(o, 0, sizeof *o);
		o->fd = -1;
		return -1;
	}
	/* mkostemp makes 0600; outputs are ordinary files */
	mode_t mask = umask(0);
	umask(mask);
	(void)fchmod(o->fd, 0666 & ~mask);
	return 0;
}

int maas_out_write(struct maas_out *o, const void *p, size_t n, struct maas_err *e)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(o->fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			o->failed = 1;
			return maas_err_sys(e, MAAS_EIO, "cannot write '%s'",
					    maas_display_name(o->path, 1));
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static void out_release(struct maas_out *o)
{
	if (o->tmp)
		temp_unregister(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof *o);
	o->fd = -1;
}

int maas_out_commit(struct maas_out *o, struct maas_err *e)
{
	if (o->is_stdout) {
		int r = 0;
		if (o->fd > 2 && close(o->fd) < 0)   /* a device or FIFO we opened */
			r = maas_err_sys(e, MAAS_EIO, "cannot write '%s'", o->path);
		o->fd = -1;
		out_release(o);
		return r;
	}
	if (fsync(o->fd) < 0) {
		maas_err_sys(e, MAAS_EIO, "cannot write '%s'", o->path);
		maas_out_abort(o);
		return -1;
	}
	if (close(o->fd) < 0) {
		o->fd = -1;
		maas_err_sys(e, MAAS_EIO, "cannot write '%s'", o->path);
		maas_out_abort(o);
		return -1;
	}
	o->fd = -1;
	if (rename(o->tmp, o->path) < 0) {
		maas_err_sys(e, MAAS_ECANTCREAT, "cannot create '%s'", o->path);
		maas_out_abort(o);
		return -1;
	}
	temp_unregister(o->tmp);
	char *dir = dir_of(o->path);
	int r = maas_fsync_dir(dir, e);
	free(dir);
	out_release(o);
	return r;
}

void maas_out_abort(struct maas_out *o)
{
	if (!o->path && !o->tmp)
		return;
	if (!o->is_stdout || o->fd > 2) {
		if (o->fd >= 0)
			close(o->fd);
		if (o->tmp)
			unlink(o->tmp);
	}
	out_release(o);
}

int maas_write_file(const char *path, const void *p, size_t n, struct maas_err *e)
{
	struct maas_out o;

	if (maas_out_open(&o, path, 0, e) < 0)
		return -1;
	if (maas_out_write(&o, p, n, e) < 0) {
		maas_out_abort(&o);
		return -1;
	}
	return maas_out_commit(&o, e);
}

int maas_outdir_begin(struct maas_outdir *d, const char *path, struct maas_err *e)
{
	memset(d, 0, sizeof *d);
	d->path = xstrdup(path);
	/* strip trailing slashes so that "x/" makes "x.tmp-..." beside it */
	size_t n = strlen(d->path);
	while (n > 1 && d->path[n - 1] == '/')
		d->path[--n] = '\0';
	d->tmp = xasprintf("%s.tmp-XXXXXX", d->path);
	temp_register(d->tmp, 1);
	if (!mkdtemp(d->tmp)) {
		maas_err_sys(e, MAAS_ECANTCREAT, "cannot create '%s'", path);
		temp_unregister(d->tmp);
		free(d->tmp);
		free(d->path);
		memset(d, 0, sizeof *d);
		return -1;
	}
	mode_t mask = umask(0);
	umask(mask);
	(void)chmod(d->tmp, 0777 & ~mask);
	return 0;
}

int maas_outdir_commit(struct maas_outdir *d, int replace, struct maas_err *e)
{
	char *old = NULL;
	int r = -1;
	struct stat st;

	if (maas_fsync_dir(d->tmp, e) < 0)
		goto out;
	if (lstat(d->path, &st) == 0) {
		if (!replace) {
			maas_err_set(e, MAAS_ECANTCREAT, "cannot create '%s': File exists", d->path);
			goto out;
		}
		old = xasprintf("%s.old-XXXXXX", d->path);
		if (!mkdtemp(old) || rename(d->path, old) < 0) {
			maas_err_sys(e, MAAS_ECANTCREAT, "cannot replace '%s'", d->path);
			goto out;
		}
	}
	if (rename(d->tmp, d->path) < 0) {
		maas_err_sys(e, MAAS_ECANTCREAT, "cannot create '%s'", d->path);
		if (old)
			(void)rename(old, d->path);
		goto out;
	}
	temp_unregister(d->tmp);
	free(d->tmp);
	d->tmp = NULL;
	if (old)
		(void)maas_remove_tree(old, e);
	{
		char *dir = dir_of(d->path);
		r = maas_fsync_dir(dir, e);
		free(dir);
	}
out:
	free(old);
	if (r < 0)
		maas_outdir_abort(d);
	else {
		free(d->path);
		memset(d, 0, sizeof *d);
	}
	return r;
}

void maas_outdir_abort(struct maas_outdir *d)
{
	if (d->tmp) {
		remove_tree_quiet(d->tmp);
		temp_unregister(d->tmp);
	}
	free(d->tmp);
	free(d->path);
	memset(d, 0, sizeof *d);
}

int maas_remove_tree(const char *path, struct maas_err *e)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : maas_err_sys(e, MAAS_EIO, "cannot remove '%s'", path);
	if (S_ISDIR(st.st_mode)) {
		DIR *dir = opendir(path);
		struct dirent *de;
		if (!dir)
			return maas_err_sys(e, MAAS_EIO, "cannot remove '%s'", path);
		while ((de = readdir(dir))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char *sub = xasprintf("%s/%s", path, de->d_name);
			int r = maas_remove_tree(sub, e);
			free(sub);
			if (r < 0) {
				closedir(dir);
				return -1;
			}
		}
		closedir(dir);
		if (rmdir(path) < 0)
			return maas_err_sys(e, MAAS_EIO, "cannot remove '%s'", path);
		return 0;
	}
	if (unlink(path) < 0)
		return maas_err_sys(e, MAAS_EIO, "cannot remove '%s'", path);
	return 0;
}
