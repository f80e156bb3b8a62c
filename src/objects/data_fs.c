/* data_fs: the filesystem data backend (see objects.h).
 *
 * Layout under the root: tmp/<uuid> while a version is written, then
 * data/XX/<uuid> (XX: the first two hex digits of the uuid, 256 folders
 * made at open so that no single folder grows too large). The reference
 * of stored bytes is "XX/<uuid>". A commit fsyncs the file, renames it
 * into data/XX and fsyncs that folder, so that once write_commit returns
 * the bytes survive a crash under their final name. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "objects.h"

struct fs_backend {
	char *root; /* owned */
	int data_fd; /* open on root/data */
	int tmp_fd;  /* open on root/tmp */
};

struct objects_writer {
	struct fs_backend *fs;
	char name[UUID_SIZE]; /* its file in tmp/ and its final name */
	int fd;               /* open on tmp/<name> */
};

static int fs_write_begin(void *data, struct objects_writer **ret, struct err *err)
{
	struct fs_backend *fs = data;
	struct objects_writer *w = xcalloc(1, sizeof(*w));
	w->fs = fs;
	uuid_generate(w->name);
	w->fd = openat(fs->tmp_fd, w->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (w->fd < 0) {
		int e = errno;
		free(w);
		return err_set(err, ERR_INTERNAL, "", "cannot create a file in %s/tmp: %s",
			       fs->root, strerror(e));
	}
	*ret = w;
	return 0;
}

static int fs_write(struct objects_writer *w, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t k = write(w->fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static void fs_write_abort(struct objects_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	unlinkat(w->fs->tmp_fd, w->name, 0);
	free(w);
}

static int fs_write_commit(struct objects_writer *w, char ret_ref[OBJECTS_REF_SIZE],
			   struct err *err)
{
	struct fs_backend *fs = w->fs;
	char dir[3] = { w->name[0], w->name[1], '\0' };
	char ref[OBJECTS_REF_SIZE];
	str_printf(ref, sizeof(ref), "%s/%s", dir, w->name);
	int r = fsync(w->fd) < 0 ? -errno : 0;
	close(w->fd);
	w->fd = -1;
	if (r == 0 && renameat(fs->tmp_fd, w->name, fs->data_fd, ref) < 0)
		r = -errno;
	if (r == 0) {
		int dfd = openat(fs->data_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || fsync(dfd) < 0)
			r = -errno;
		if (dfd >= 0)
			close(dfd);
		if (r < 0)
			unlinkat(fs->data_fd, ref, 0);
	}
	if (r < 0) {
		fs_write_abort(w);
		return err_set(err, ERR_INTERNAL, "", "cannot store the object's bytes: %s",
			       strerror(-r));
	}
	free(w);
	str_copy(ret_ref, OBJECTS_REF_SIZE, ref);
	return 0;
}

/* A reference this backend made: "XX/<uuid>" with XX its first two digits. */
static bool ref_ok(const char *ref)
{
	return strlen(ref) == 3 + UUID_SIZE - 1 && ref[2] == '/' && uuid_valid(ref + 3) &&
	       ref[0] == ref[3] && ref[1] == ref[4];
}

static int fs_open(void *data, const char *ref, int *ret_fd, struct err *err)
{
	struct fs_backend *fs = data;
	if (!ref_ok(ref))
		return err_set(err, ERR_INTERNAL, "", "bad data reference '%.80s'", ref);
	int fd = openat(fs->data_fd, ref, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, ERR_INTERNAL, "", "cannot open the object's bytes %s: %s", ref,
			       strerror(errno));
	*ret_fd = fd;
	return 0;
}

static int fs_remove(void *data, const char *ref)
{
	struct fs_backend *fs = data;
	if (!ref_ok(ref))
		return -EINVAL;
	if (unlinkat(fs->data_fd, ref, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Remove every entry of the folder open on fd (files only). */
static int clear_dir(int fd)
{
	int dup_fd = dup(fd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return -errno;
	}
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && unlinkat(fd, e->d_name, 0) == 0)
			n++;
	closedir(d);
	return n;
}

static int fs_sweep(void *data, bool (*fn)(const char *ref, void *arg), void *arg)
{
	struct fs_backend *fs = data;
	int removed = clear_dir(fs->tmp_fd);
	if (removed < 0)
		return removed;
	for (unsigned i = 0; i < 256; i++) {
		char dir[3];
		str_printf(dir, sizeof(dir), "%02x", i);
		int dfd = openat(fs->data_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
		if (!d) {
			if (dfd >= 0)
				close(dfd);
			continue;
		}
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char ref[OBJECTS_REF_SIZE];
			str_printf(ref, sizeof(ref), "%s/%s", dir, e->d_name);
			if (!ref_ok(ref) || !fn(ref, arg)) {
				if (unlinkat(dirfd(d), e->d_name, 0) == 0)
					removed++;
			}
		}
		closedir(d);
	}
	return removed;
}

static void fs_free(void *data)
{
	struct fs_backend *fs = data;
	if (!fs)
		return;
	if (fs->data_fd >= 0)
		close(fs->data_fd);
	if (fs->tmp_fd >= 0)
		close(fs->tmp_fd);
	free(fs->root);
	free(fs);
}

const struct objects_data_ops objects_fs_ops = {
	.name = "fs",
	.write_begin = fs_write_begin,
	.write = fs_write,
	.write_commit = fs_write_commit,
	.write_abort = fs_write_abort,
	.open = fs_open,
	.remove = fs_remove,
	.sweep = fs_sweep,
	.free = fs_free,
};

/* Make path/sub when missing and open it. Returns the fd or -errno. */
static int open_sub(const char *path, const char *sub)
{
	char *p = xasprintf("%s/%s", path, sub);
	int r = 0;
	if (mkdir(p, 0750) < 0 && errno != EEXIST)
		r = -errno;
	if (r == 0) {
		r = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r < 0)
			r = -errno;
	}
	free(p);
	return r;
}

int objects_open_fs(const char *dir, struct objects **ret, struct err *err)
{
	struct fs_backend *fs = xcalloc(1, sizeof(*fs));
	fs->root = xstrdup(dir);
	fs->data_fd = fs->tmp_fd = -1;
	int r = 0;
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		r = -errno;
	if (r == 0)
		r = fs->data_fd = open_sub(dir, "data");
	if (r >= 0)
		r = fs->tmp_fd = open_sub(dir, "tmp");
	for (unsigned i = 0; r >= 0 && i < 256; i++) {
		char sub[3];
		str_printf(sub, sizeof(sub), "%02x", i);
		if (mkdirat(fs->data_fd, sub, 0750) < 0 && errno != EEXIST)
			r = -errno;
	}
	if (r < 0) {
		fs_free(fs);
		return err_set(err, ERR_INTERNAL, "", "cannot set up the object store in %s: %s",
			       dir, strerror(-r));
	}
	struct objects *o = xcalloc(1, sizeof(*o));
	o->ops = &objects_fs_ops;
	o->data = fs;
	*ret = o;
	return 0;
}

void objects_free(struct objects *o)
{
	if (!o)
		return;
	o->ops->free(o->data);
	free(o);
}
