/* storage: the disks of volumes and snapshots, behind a driver per pool;
 * see agent.h. The "dir" driver keeps qcow2 files in a directory: the
 * host's own disk directory (local storage), or a directory that several
 * hosts mount (NFS), which is what makes a pool shared. Every file is made
 * aside and renamed into place, so a pass cut short never leaves a half
 * file that a later pass would take for whole. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/util.h"

int storage_qemu_img(char *const argv[], const char *what, char *why, size_t why_size)
{
	struct buf err;
	buf_init(&err, 2048);
	int r = proc_run(argv, NULL, &err, 600) == 0 ? 0 : -1;
	if (r < 0)
		str_printf(why, why_size, "%s failed: %s", what, err.data ? err.data : "qemu-img failed");
	buf_release(&err);
	return r;
}

int storage_copy(const char *from, const char *part, const char *size, const char *what,
		 char *why, size_t why_size)
{
	char *conv[] = { "qemu-img", "convert", "-q", "-O", "qcow2", (char *)from, (char *)part, NULL };
	char *grow[] = { "qemu-img", "resize", "-q", "-f", "qcow2", (char *)part, (char *)size, NULL };
	return storage_qemu_img(conv, what, why, why_size) == 0 &&
			       storage_qemu_img(grow, "sizing the disk", why, why_size) == 0
		       ? 0
		       : -1;
}

int storage_put_in_place(const char *part, const char *path, int r, char *why, size_t why_size)
{
	if (r == 0 && rename(part, path) < 0) {
		str_printf(why, why_size, "storing %s failed: %s", path, strerror(errno));
		r = -1;
	}
	if (r < 0)
		unlink(part);
	return r;
}

/* ---- the "dir" driver ---- */

static char *dir_volume_path(const struct storage_pool *p, const char *id)
{
	return xasprintf("%s/vol-%s.qcow2", p->dir, id);
}

static char *dir_snapshot_path(const struct storage_pool *p, const char *id)
{
	return xasprintf("%s/snap-%s.qcow2", p->dir, id);
}

static bool dir_volume_exists(const struct storage_pool *p, const char *id)
{
	char *path = dir_volume_path(p, id);
	bool r = access(path, F_OK) == 0;
	free(path);
	return r;
}

static int dir_volume_make(const struct storage_pool *p, const char *id, int64_t size_gb,
			   const char *image_file, const char *snapshot_id, char *why,
			   size_t why_size)
{
	char size[32];
	str_printf(size, sizeof(size), "%lldG", (long long)size_gb);
	char *path = dir_volume_path(p, id), *part = xasprintf("%s.part", path);
	int r;
	if (snapshot_id) {
		char *from = dir_snapshot_path(p, snapshot_id);
		r = storage_copy(from, part, size, "copying the snapshot", why, why_size);
		free(from);
	} else if (image_file) {
		r = storage_copy(image_file, part, size, "copying the image", why, why_size);
	} else {
		char *make[] = { "qemu-img", "create", "-q", "-f", "qcow2", part, size, NULL };
		r = storage_qemu_img(make, "creating the volume", why, why_size);
	}
	r = storage_put_in_place(part, path, r, why, why_size);
	free(path);
	free(part);
	return r;
}

static int dir_volume_grow(const struct storage_pool *p, const char *id, int64_t size_gb,
			   char *why, size_t why_size)
{
	char size[32];
	str_printf(size, sizeof(size), "%lldG", (long long)size_gb);
	char *path = dir_volume_path(p, id);
	char *grow[] = { "qemu-img", "resize", "-q", "-f", "qcow2", path, size, NULL };
	int r = storage_qemu_img(grow, "growing the volume", why, why_size);
	free(path);
	return r;
}

/* Remove path (owned: freed here); a file already gone is removed too. */
static int remove_file(char *path, const char *what, char *why, size_t why_size)
{
	int r = 0;
	if (unlink(path) < 0 && errno != ENOENT) {
		str_printf(why, why_size, "removing the %s failed: %s", what, strerror(errno));
		r = -1;
	}
	free(path);
	return r;
}

static int dir_volume_remove(const struct storage_pool *p, const char *id, char *why,
			     size_t why_size)
{
	return remove_file(dir_volume_path(p, id), "volume", why, why_size);
}

static int dir_snapshot_make(const struct storage_pool *p, const char *id, const char *volume_id,
			     char *why, size_t why_size)
{
	char *path = dir_snapshot_path(p, id), *part = xasprintf("%s.part", path);
	char *vol = dir_volume_path(p, volume_id);
	char *conv[] = { "qemu-img", "convert", "-q", "-O", "qcow2", vol, part, NULL };
	int r = storage_put_in_place(part, path,
				     storage_qemu_img(conv, "copying the volume", why, why_size),
				     why, why_size);
	free(vol);
	free(part);
	free(path);
	return r;
}

static int dir_snapshot_remove(const struct storage_pool *p, const char *id, char *why,
			       size_t why_size)
{
	return remove_file(dir_snapshot_path(p, id), "snapshot", why, why_size);
}

static const struct storage_ops dir_ops = {
	.driver = "dir",
	.volume_path = dir_volume_path,
	.volume_exists = dir_volume_exists,
	.volume_make = dir_volume_make,
	.volume_grow = dir_volume_grow,
	.volume_remove = dir_volume_remove,
	.snapshot_make = dir_snapshot_make,
	.snapshot_remove = dir_snapshot_remove,
};

/* ---- the pools of this host ---- */

void storage_warn_untraversable(const char *dir)
{
	char *p = realpath(dir, NULL);
	for (char *slash = p ? strrchr(p, '/') : NULL; slash && slash != p;
	     slash = strrchr(p, '/')) {
		*slash = '\0';
		struct stat st;
		if (stat(p, &st) == 0 && !(st.st_mode & S_IXOTH))
			log_warn("%s is not traversable by other users: QEMU will not reach the "
				 "disks under %s (chmod o+x it)", p, dir);
	}
	free(p);
}

int storage_pools_parse(const char *spec, const char *local_dir, struct storage_pool **ret,
			size_t *ret_n)
{
	size_t n = 1;
	for (const char *s = spec; *s; s++)
		n += *s == ',';
	struct storage_pool *pools = xcalloc(n + 1, sizeof(*pools));
	pools[0] = (struct storage_pool){ .dir = xstrdup(local_dir), .ops = &dir_ops };
	size_t got = 1;
	char *copy = xstrdup(spec), *save = NULL;
	int r = 0;
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		struct stat st;
		if (!eq || eq == item || eq[1] != '/' || (size_t)(eq - item) >= sizeof(pools->name)) {
			log_error("--storage-pools: '%s' is not NAME=/ABSOLUTE/DIR", item);
			r = -1;
			break;
		}
		*eq = '\0';
		if (!str_only(item, false, "-") || stat(eq + 1, &st) < 0 || !S_ISDIR(st.st_mode)) {
			log_error("--storage-pools: pool '%s' needs a lower-case name and an existing "
				  "directory (%s)", item, eq + 1);
			r = -1;
			break;
		}
		for (size_t k = 1; k < got; k++)
			if (strcmp(pools[k].name, item) == 0) {
				log_error("--storage-pools: pool '%s' is named twice", item);
				r = -1;
			}
		if (r < 0)
			break;
		str_copy(pools[got].name, sizeof(pools[got].name), item);
		pools[got].dir = xstrdup(eq + 1);
		pools[got].ops = &dir_ops;
		storage_warn_untraversable(pools[got].dir);
		got++;
	}
	free(copy);
	if (r < 0) {
		storage_pools_free(pools, got);
		return -1;
	}
	*ret = pools;
	*ret_n = got;
	return 0;
}

void storage_pools_free(struct storage_pool *pools, size_t n)
{
	for (size_t k = 0; pools && k < n; k++)
		free(pools[k].dir);
	free(pools);
}

const struct storage_pool *storage_pool_find(const struct storage_pool *pools, size_t n,
					     const char *name)
{
	for (size_t k = 0; name && k < n; k++)
		if (strcmp(pools[k].name, name) == 0)
			return &pools[k];
	return NULL;
}
