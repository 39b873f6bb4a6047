/*
 * io.h - paths, whole-file reads, and output that is never left half-written.
 *
 * Every path argument may be "-", meaning stdin for input and stdout for
 * output.  Output files are written under a temporary name in the target's
 * directory ("name.tmp-XXXXXX"), fsynced, then renamed over the target, and
 * the directory is fsynced: a reader sees the old file or the whole new one,
 * never a prefix.  An existing device or FIFO (-o /dev/null, a named pipe)
 * is written as it is, never replaced.  Output directories work the same way (a temporary
 * directory renamed into place).  While an output is open its temporary path
 * is registered, so that a signal handler can remove it
 * (maas_io_remove_temporaries, async-signal-safe).
 *
 * Ownership: struct maas_out and struct maas_buf are owned by the caller;
 * *_release frees what they hold, never the struct itself.
 */
#ifndef MAAS_CORE_IO_H
#define MAAS_CORE_IO_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"

/* True when path names stdin/stdout. */
int maas_is_stdio(const char *path);

/* The name used in messages: "<stdin>" / "<stdout>" for "-", else path. */
const char *maas_display_name(const char *path, int output);

/* Opens an input for reading: "-" gives fd 0.  Returns fd or -1 with *e
 * (kind MAAS_ENOINPUT). */
int maas_open_in(const char *path, struct maas_err *e);

/* A byte buffer.  `data` is NUL-terminated for convenience (not counted). */
struct maas_buf {
	char *data;
	size_t len, cap;
};
void maas_buf_init(struct maas_buf *b);
void maas_buf_release(struct maas_buf *b);
void maas_buf_add(struct maas_buf *b, const void *p, size_t n);
void maas_buf_addstr(struct maas_buf *b, const char *s);
void maas_buf_addf(struct maas_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as a JSON string, quotes included: '"', '\\' and control characters
 * escaped, valid UTF-8 kept, each byte of invalid UTF-8 as U+FFFD. */
void maas_buf_add_json_string(struct maas_buf *b, const char *s);
/* v as "%.9g" would write it (maas_fmt_g9: the same text, faster). */
void maas_buf_add_g9(struct maas_buf *b, double v);
/* v in decimal, as "%lld" would write it. */
void maas_buf_add_int(struct maas_buf *b, long long v);

/* Reads all of path ("-" = stdin) into b.  Fails with MAAS_EDATA when the
 * file is larger than `limit` bytes (0 = no limit). */
int maas_read_all(const char *path, struct maas_buf *b, size_t limit, struct maas_err *e);

/* An output file written atomically. */
struct maas_out {
	int fd;
	int is_stdout;  /* written as a stream: stdout, or an existing device or FIFO */
	char *path;  /* target */
	char *tmp;   /* temporary name, NULL for stdout */
	int failed;
};

/* Opens path for writing ("-" = stdout).  If refuse_tty and the output is a
 * terminal, fails with MAAS_EUSAGE (binary data is not for terminals). */
int maas_out_open(struct maas_out *o, const char *path, int refuse_tty, struct maas_err *e);
/* Writes all n bytes (retrying short writes). */
int maas_out_write(struct maas_out *o, const void *p, size_t n, struct maas_err *e);
/* fsync, rename into place, fsync the directory.  Releases o. */
int maas_out_commit(struct maas_out *o, struct maas_err *e);
/* Removes the temporary file; nothing is left at the target.  Releases o.
 * Safe to call after commit or on a zeroed struct. */
void maas_out_abort(struct maas_out *o);

/* Writes a whole buffer to path atomically. */
int maas_write_file(const char *path, const void *p, size_t n, struct maas_err *e);

/* An output directory built under a temporary name and renamed into place.
 * `tmp` is where the caller writes the files. */
struct maas_outdir {
	char *path;
	char *tmp;
};
int maas_outdir_begin(struct maas_outdir *d, const char *path, struct maas_err *e);
/* Renames tmp to path.  If path exists and replace is set, the old tree is
 * moved aside and removed only after the new one is in place. */
int maas_outdir_commit(struct maas_outdir *d, int replace, struct maas_err *e);
void maas_outdir_abort(struct maas_outdir *d);

/* Removes a directory tree (like rm -rf); returns 0 or -1 with *e. */
int maas_remove_tree(const char *path, struct maas_err *e);

/* fsync of a directory by path (0 or -1 with *e). */
int maas_fsync_dir(const char *dir, struct maas_err *e);

/* Unlinks every registered temporary file and directory.  Async-signal-safe
 * for files; directories are removed best-effort.  For signal handlers. */
void maas_io_remove_temporaries(void);

#endif
