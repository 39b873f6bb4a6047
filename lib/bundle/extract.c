/*
 * extract.c - unpacking a tar bundle into a private directory, refusing
 * anything a bundle cannot hold.
 *
 * Every entry is judged before anything is written: its name must pass
 * maas_bundle_name_check (so no absolute name, no "..", no empty component;
 * a leading "./" is dropped, as tar -C DIR -cf FILE . writes), it must be a
 * regular file or a directory (links, devices, fifos and sockets are
 * refused), and the entry count, each file's size and the total size must
 * stay within the limits.  Files are then created relative to a descriptor
 * of the destination, one component at a time with O_NOFOLLOW, and with
 * O_EXCL, so a name given twice is refused rather than overwritten.
 *
 * This does the work of archive_write_disk with ARCHIVE_EXTRACT_SECURE_
 * NODOTDOT, _SECURE_SYMLINKS and _SECURE_NOABSOLUTEPATHS, and more:
 * archive_write_disk resolves names against the current directory, and a
 * library may not chdir, so it would have to be given destination-prefixed
 * (absolute) names, which defeats the last flag.  Owners, permissions,
 * times, ACLs and extended attributes from the archive are ignored: files
 * are made 0644 and directories 0755 (less the umask).
 *
 * Filters: those libarchive runs in-process (gzip, bzip2, xz, lzma, lzip,
 * zstd, lz4), detected from the data.  archive_read_support_filter_all
 * would also register filters that run external programs on hostile input.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/internal.h"
#include "core/mem.h"

struct ex {
	struct archive *a;
	const struct maas_bundle_limits *l;
	const char *bname;
	struct maas_err *e;
	int rootfd;
	size_t entries;
	uint64_t total;
};

/* Opens the directory that will hold the last component of name, creating
 * the ones before it; *base points at the last component.  Returns an fd
 * (to close) or -1 with *e. */
static int open_parent(struct ex *x, const char *name, const char **base)
{
	int fd = dup(x->rootfd);
	const char *p = name, *slash;
	char comp[MAAS_BUNDLE_NAME_MAX + 1];

	if (fd < 0)
		return maas_err_sys(x->e, MAAS_EOS, "bundle '%s': cannot extract '%s'", x->bname, name);
	while ((slash = strchr(p, '/'))) {
		size_t len = (size_t)(slash - p);
		memcpy(comp, p, len);
		comp[len] = '\0';
		if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
			maas_err_sys(x->e, MAAS_EIO, "bundle '%s': cannot extract '%s'", x->bname, name);
			close(fd);
			return -1;
		}
		int sub = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (sub < 0) {
			if (errno == ENOTDIR || errno == ELOOP)
				return maas_err_set(x->e, MAAS_EDATA,
						    "bundle '%s': archive entry '%s' lies under a file",
						    x->bname, name);
			return maas_err_sys(x->e, MAAS_EIO, "bundle '%s': cannot extract '%s'",
					    x->bname, name);
		}
		fd = sub;
		p = slash + 1;
	}
	*base = p;
	return fd;
}

static int extract_dir(struct ex *x, const char *name)
{
	const char *base;
	struct stat st;
	int pfd = open_parent(x, name, &base);

	if (pfd < 0)
		return -1;
	if (mkdirat(pfd, base, 0755) < 0) {
		int err = errno;
		if (err == EEXIST && fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode)) {
			close(pfd); /* made earlier for an entry below it */
			return 0;
		}
		close(pfd);
		if (err == EEXIST)
			return maas_err_set(x->e, MAAS_EDATA,
					    "bundle '%s': archive entry '%s' appears twice", x->bname, name);
		errno = err;
		return maas_err_sys(x->e, MAAS_EIO, "bundle '%s': cannot extract '%s'", x->bname, name);
	}
	close(pfd);
	return 0;
}

static int write_all_at(int fd, const char *p, size_t n, int64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

static int extract_file(struct ex *x, const char *name, uint64_t size)
{
	const char *base;
	int pfd = open_parent(x, name, &base), fd;

	if (pfd < 0)
		return -1;
	fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	close(pfd);
	if (fd < 0) {
		if (errno == EEXIST)
			return maas_err_set(x->e, MAAS_EDATA,
					    "bundle '%s': archive entry '%s' appears twice", x->bname, name);
		return maas_err_sys(x->e, MAAS_EIO, "bundle '%s': cannot extract '%s'", x->bname, name);
	}
	for (;;) {
		const void *buf;
		size_t n;
		la_int64_t off;
		int r = archive_read_data_block(x->a, &buf, &n, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_OK) {
			maas_err_set(x->e, MAAS_EDATA, "bundle '%s': cannot read '%s' from the archive: %s",
				     x->bname, name, archive_error_string(x->a));
			close(fd);
			return -1;
		}
		if (off < 0 || (uint64_t)off > size || n > size - (uint64_t)off) {
			close(fd);
			return maas_err_set(x->e, MAAS_EDATA,
					    "bundle '%s': archive entry '%s' has more data than its size",
					    x->bname, name);
		}
		if (write_all_at(fd, buf, n, off) < 0) {
			maas_err_sys(x->e, MAAS_EIO, "bundle '%s': cannot extract '%s'", x->bname, name);
			close(fd);
			return -1;
		}
	}
	/* a sparse entry may end in a hole */
	if (ftruncate(fd, (off_t)size) < 0 || close(fd) < 0)
		return maas_err_sys(x->e, MAAS_EIO, "bundle '%s': cannot extract '%s'", x->bname, name);
	return 0;
}

static const char *kind_of(struct archive_entry *ent)
{
	if (archive_entry_hardlink(ent))
		return "a hard link";
	switch (archive_entry_filetype(ent)) {
	case AE_IFREG: return NULL;
	case AE_IFDIR: return NULL;
	case AE_IFLNK: return "a symbolic link";
	case AE_IFCHR: return "a character device";
	case AE_IFBLK: return "a block device";
	case AE_IFIFO: return "a fifo";
	case AE_IFSOCK: return "a socket";
	default: return "an entry of unknown type";
	}
}

static int extract_entry(struct ex *x, struct archive_entry *ent)
{
	char q[BUNDLE_QUOTE_MAX];
	const char *raw = archive_entry_pathname(ent), *kind, *why;
	int is_dir = archive_entry_filetype(ent) == AE_IFDIR;
	char *name;
	int r;

	if (++x->entries > x->l->max_entries)
		return maas_err_set(x->e, MAAS_EDATA, "bundle '%s': the archive has more than %zu entries",
				    x->bname, x->l->max_entries);
	if (!raw)
		return maas_err_set(x->e, MAAS_EDATA,
				    "bundle '%s': an archive entry has a name that cannot be read", x->bname);
	if ((kind = kind_of(ent)))
		return maas_err_set(x->e, MAAS_EDATA,
				    "bundle '%s': archive entry '%s' is %s, not a regular file or directory",
				    x->bname, bundle_quote(q, sizeof q, raw), kind);
	while (raw[0] == '.' && raw[1] == '/') {
		raw += 2;
		while (*raw == '/')
			raw++;
	}
	name = xstrdup(raw);
	if (is_dir) {
		size_t n = strlen(name);
		while (n > 0 && name[n - 1] == '/')
			name[--n] = '\0';
		if (n == 0 || !strcmp(name, ".")) {
			free(name); /* the top directory itself */
			return 0;
		}
	}
	if (maas_bundle_name_check(name, &why) < 0) {
		r = maas_err_set(x->e, MAAS_EDATA, "bundle '%s': archive entry '%s' has an unsafe name: %s",
				 x->bname, bundle_quote(q, sizeof q, archive_entry_pathname(ent)), why);
		free(name);
		return r;
	}
	if (is_dir) {
		r = extract_dir(x, name);
	} else {
		la_int64_t size = archive_entry_size(ent);
		if (size < 0)
			r = maas_err_set(x->e, MAAS_EDATA, "bundle '%s': archive entry '%s' has no size",
					 x->bname, name);
		else if ((uint64_t)size > x->l->max_file)
			r = maas_err_set(x->e, MAAS_EDATA,
					 "bundle '%s': archive entry '%s' has %" PRIu64
					 " bytes, over the limit of %" PRIu64,
					 x->bname, name, (uint64_t)size, x->l->max_file);
		else if ((uint64_t)size > x->l->max_total - x->total)
			r = maas_err_set(x->e, MAAS_EDATA,
					 "bundle '%s': the archive's files total more than the limit of %"
					 PRIu64 " bytes", x->bname, x->l->max_total);
		else {
			x->total += (uint64_t)size;
			r = extract_file(x, name, (uint64_t)size);
		}
	}
	free(name);
	return r;
}

int bundle_extract(int fd, const char *dest, const struct maas_bundle_limits *l,
		   const char *bname, struct maas_err *e)
{
	struct ex x = { .l = l, .bname = bname, .e = e, .rootfd = -1 };
	int r = -1;

	x.rootfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x.rootfd < 0)
		return maas_err_sys(e, MAAS_ECANTCREAT, "cannot open temporary directory '%s'", dest);
	x.a = archive_read_new();
	if (!x.a) {
		close(x.rootfd);
		return maas_err_set(e, MAAS_EOS, "bundle '%s': cannot start libarchive", bname);
	}
	archive_read_support_format_tar(x.a);
	archive_read_support_format_empty(x.a);
	/* warnings say a filter would need an external program: ignored, the
	 * data then fails as an unrecognised format */
	(void)archive_read_support_filter_gzip(x.a);
	(void)archive_read_support_filter_bzip2(x.a);
	(void)archive_read_support_filter_xz(x.a);
	(void)archive_read_support_filter_lzma(x.a);
	(void)archive_read_support_filter_lzip(x.a);
	(void)archive_read_support_filter_zstd(x.a);
	(void)archive_read_support_filter_lz4(x.a);
	if (archive_read_open_fd(x.a, fd, 1 << 16) != ARCHIVE_OK) {
		maas_err_set(e, MAAS_EDATA, "bundle '%s': not a directory or a tar archive: %s",
			     bname, archive_error_string(x.a));
		goto out;
	}
	for (;;) {
		struct archive_entry *ent;
		int ar = archive_read_next_header(x.a, &ent);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN) {
			if (x.entries == 0)
				maas_err_set(e, MAAS_EDATA, "bundle '%s': not a directory or a tar archive: %s",
					     bname, archive_error_string(x.a));
			else
				maas_err_set(e, MAAS_EDATA, "bundle '%s': cannot read the archive: %s",
					     bname, archive_error_string(x.a));
			goto out;
		}
		if (extract_entry(&x, ent) < 0)
			goto out;
	}
	r = 0;
out:
	archive_read_free(x.a);
	close(x.rootfd);
	return r;
}
