/* images: see storage.h. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/proc.h"
#include "lib/util.h"
#include "storage.h"

#define IMAGE_COLS                                                                              \
	"id, COALESCE(project_id, ''), name, description, visibility, state, error,"          \
	" disk_format, size_bytes, virtual_size, sha256, created_at, updated_at"
/* qemu-img on a large image: generous, but not forever */
#define QEMU_IMG_TIMEOUT_S 3600

struct image_upload {
	const struct storage_settings *s;
	char id[UUID_SIZE];
	char *tmp_path;   /* <id>.upload */
	int fd;           /* open on tmp_path */
	EVP_MD_CTX *sha;  /* digest of the bytes as uploaded */
	uint64_t size;    /* bytes written */
};

static void image_from_row(struct store_stmt *s, void *out)
{
	struct image *im = out;
	str_copy(im->id, sizeof(im->id), store_col_text(s, 0));
	str_copy(im->project_id, sizeof(im->project_id), store_col_text(s, 1));
	str_copy(im->name, sizeof(im->name), store_col_text(s, 2));
	str_copy(im->description, sizeof(im->description), store_col_text(s, 3));
	str_copy(im->visibility, sizeof(im->visibility), store_col_text(s, 4));
	str_copy(im->state, sizeof(im->state), store_col_text(s, 5));
	str_copy(im->error, sizeof(im->error), store_col_text(s, 6));
	str_copy(im->disk_format, sizeof(im->disk_format), store_col_text(s, 7));
	im->size_bytes = store_col_int(s, 8);
	im->virtual_size = store_col_int(s, 9);
	str_copy(im->sha256, sizeof(im->sha256), store_col_text(s, 10));
	str_copy(im->created_at, sizeof(im->created_at), store_col_text(s, 11));
	str_copy(im->updated_at, sizeof(im->updated_at), store_col_text(s, 12));
}

static int check_spec(const struct image_spec *spec, struct err *err)
{
	if (spec->name) {
		size_t n = str_utf8_len(spec->name);
		if (n == 0 || n > IMAGE_NAME_MAX)
			return err_set(err, ERR_INVALID, "name", "name must be 1 to %d characters",
				       IMAGE_NAME_MAX);
		if (uuid_valid(spec->name))
			return err_set(err, ERR_INVALID, "name", "name must not have the form of a UUID");
	}
	if (spec->description && str_utf8_len(spec->description) > IMAGE_DESCRIPTION_MAX)
		return err_set(err, ERR_INVALID, "description",
			       "description is longer than %d characters", IMAGE_DESCRIPTION_MAX);
	if (spec->visibility && strcmp(spec->visibility, "private") != 0 &&
	    strcmp(spec->visibility, "public") != 0)
		return err_set(err, ERR_INVALID, "visibility",
			       "visibility must be private or public");
	return 0;
}

int image_create(struct store_conn *c, const char *project_id, const struct image_spec *spec,
		 struct image *ret, struct err *err)
{
	if (!spec->name)
		return err_set(err, ERR_INVALID, "name", "field 'name' is required");
	int r = check_spec(spec, err);
	if (r < 0)
		return r;
	struct image im = { 0 };
	uuid_generate(im.id);
	str_copy(im.project_id, sizeof(im.project_id), project_id);
	str_copy(im.name, sizeof(im.name), spec->name);
	str_copy(im.description, sizeof(im.description), spec->description ? spec->description : "");
	str_copy(im.visibility, sizeof(im.visibility), spec->visibility ? spec->visibility : "private");
	str_copy(im.state, sizeof(im.state), "queued");
	time_rfc3339_now(im.created_at, sizeof(im.created_at));
	memcpy(im.updated_at, im.created_at, sizeof(im.created_at));
	r = store_run(c,
		      "INSERT INTO images (id, project_id, owner_key, name, description, visibility,"
		      " state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		      "sssssssss", im.id, project_id[0] ? project_id : NULL, project_id, im.name,
		      im.description, im.visibility, im.state, im.created_at, im.updated_at);
	if (r == -EEXIST)
		return err_set(err, ERR_CONFLICT, "name", "an image named '%s' already exists here",
			       im.name);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = im;
	return 0;
}

bool image_visible(const struct image *img, const char *project_id)
{
	return strcmp(img->visibility, "public") == 0 ||
	       (project_id[0] && strcmp(img->project_id, project_id) == 0);
}

int image_get(struct store_conn *c, const char *id_or_name, const char *project_id,
	      struct image *ret, struct err *err)
{
	struct store_stmt *s = NULL;
	int r;
	if (uuid_valid(id_or_name))
		r = store_query(c, &s, "SELECT " IMAGE_COLS " FROM images WHERE id = lower(?)", "s",
				id_or_name);
	else /* by name: the project's own first, then a public one */
		r = store_query(c, &s,
				"SELECT " IMAGE_COLS " FROM images WHERE name = ?"
				" AND (owner_key = ? OR visibility = 'public')"
				" ORDER BY owner_key = ? DESC, created_at LIMIT 1",
				"sss", id_or_name, project_id, project_id);
	if (r < 0)
		return store_fail(c, r, err);
	r = store_fetch_one(s, image_from_row, ret);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "", "no image '%.80s'", id_or_name);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int image_list(struct store_conn *c, const char *project_id, bool all, const char *after,
	       size_t limit, struct image **ret, size_t *ret_n, bool *ret_more, struct err *err)
{
	assert(limit > 0);
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT " IMAGE_COLS " FROM images"
			    " WHERE (? OR owner_key = ? OR visibility = 'public')"
			    " AND (? IS NULL OR name || ' ' || id > ?)"
			    " ORDER BY name, id LIMIT ?",
			    "bsssi", all, project_id, after, after, (int64_t)limit + 1);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = store_fetch(s, sizeof(struct image), limit, image_from_row, &items, ret_n, ret_more);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = items;
	return 0;
}

int image_update(struct store_conn *c, const char *id, const struct image_spec *spec,
		 struct image *ret, struct err *err)
{
	int r = check_spec(spec, err);
	if (r < 0)
		return r;
	struct image im;
	if ((r = store_txn_begin(c)) < 0)
		return store_fail(c, r, err);
	if ((r = image_get(c, id, "", &im, err)) < 0)
		goto out;
	if (spec->name)
		str_copy(im.name, sizeof(im.name), spec->name);
	if (spec->description)
		str_copy(im.description, sizeof(im.description), spec->description);
	if (spec->visibility)
		str_copy(im.visibility, sizeof(im.visibility), spec->visibility);
	time_rfc3339_now(im.updated_at, sizeof(im.updated_at));
	r = store_run(c,
		      "UPDATE images SET name = ?, description = ?, visibility = ?, updated_at = ?"
		      " WHERE id = ?",
		      "sssss", im.name, im.description, im.visibility, im.updated_at, im.id);
	if (r == -EEXIST) {
		r = err_set(err, ERR_CONFLICT, "name", "an image named '%s' already exists here",
			    im.name);
		goto out;
	}
	if (r < 0) {
		r = store_fail(c, r, err);
		goto out;
	}
	if ((r = store_txn_commit(c)) < 0)
		return store_fail(c, r, err);
	*ret = im;
	return 0;
out:
	store_txn_rollback(c);
	return r;
}

char *image_path(const struct storage_settings *s, const char *id)
{
	return xasprintf("%s/%s.qcow2", s->image_dir, id);
}

int image_delete(struct store_conn *c, const struct storage_settings *s, const char *id,
		 struct err *err)
{
	struct image im;
	int r = image_get(c, id, "", &im, err);
	if (r < 0)
		return r;
	if (strcmp(im.state, "saving") == 0)
		return err_set(err, ERR_CONFLICT, "", "the image is being uploaded; try again after");
	r = store_run(c, "DELETE FROM images WHERE id = ?", "s", im.id);
	if (r == -EINVAL)
		return err_set(err, ERR_CONFLICT, "", "the image is in use");
	if (r < 0)
		return store_fail(c, r, err);
	char *path = image_path(s, im.id);
	unlink(path); /* the row is gone: a leftover file is only disk space */
	free(path);
	return 0;
}

/* ---- uploads ---- */

static int set_state(struct store_conn *c, const char *id, const char *from, const char *to,
		     const char *error)
{
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	return store_run(c,
			 "UPDATE images SET state = ?, error = ?, updated_at = ?"
			 " WHERE id = ? AND state = ?",
			 "sssss", to, error ? error : "", now, id, from);
}

int image_fail(struct store_conn *c, const char *id, const char *reason, struct err *err)
{
	int r = set_state(c, id, "queued", "error", reason);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int image_upload_begin(struct store_conn *c, const struct storage_settings *s, const char *id,
		       struct image_upload **ret, struct err *err)
{
	if (mkdir(s->image_dir, 0755) < 0 && errno != EEXIST)
		return err_set(err, ERR_INTERNAL, "", "cannot create %s: %s", s->image_dir,
			       strerror(errno));
	int r = set_state(c, id, "queued", "saving", NULL);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return err_set(err, ERR_CONFLICT, "",
			       "the image has its bytes already, or an upload is running");
	struct image_upload *u = xcalloc(1, sizeof(*u));
	u->s = s;
	str_copy(u->id, sizeof(u->id), id);
	u->tmp_path = xasprintf("%s/%s.upload", s->image_dir, id);
	u->fd = open(u->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	u->sha = EVP_MD_CTX_new();
	if (u->fd < 0 || !u->sha || EVP_DigestInit_ex(u->sha, EVP_sha256(), NULL) != 1) {
		r = err_set(err, ERR_INTERNAL, "", "cannot open %s: %s", u->tmp_path,
			    strerror(errno));
		image_upload_abort(c, u);
		return r;
	}
	*ret = u;
	return 0;
}

int image_upload_write(struct image_upload *u, const void *data, size_t n)
{
	const char *p = data;
	size_t left = n;
	while (left > 0) {
		ssize_t w = write(u->fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		left -= (size_t)w;
	}
	EVP_DigestUpdate(u->sha, data, n);
	u->size += n;
	return 0;
}

uint64_t image_upload_size(const struct image_upload *u)
{
	return u->size;
}

static void upload_free(struct image_upload *u)
{
	if (u->fd >= 0)
		close(u->fd);
	EVP_MD_CTX_free(u->sha);
	free(u->tmp_path);
	free(u);
}

void image_upload_abort(struct store_conn *c, struct image_upload *u)
{
	if (!u)
		return;
	unlink(u->tmp_path);
	set_state(c, u->id, "saving", "queued", NULL);
	upload_free(u);
}

/* What qemu-img says of a file. */
struct inspect {
	char format[16];
	int64_t virtual_size;
};

static int inspect(const char *path, struct inspect *ret, char *why, size_t why_size)
{
	char *argv[] = { "qemu-img", "info", "--output=json", (char *)path, NULL };
	struct buf out, errb;
	buf_init(&out, 1 << 20);
	buf_init(&errb, 4096);
	int r = proc_run(argv, &out, &errb, 120);
	json_t *j = NULL;
	if (r != 0) {
		str_printf(why, why_size, "qemu-img cannot read the upload: %.160s",
			   errb.data ? errb.data : "no output");
		r = -1;
		goto out;
	}
	j = json_loadb(out.data ? out.data : "", out.len, 0, NULL);
	const char *fmt = json_string_value(json_object_get(j, "format"));
	if (!fmt) {
		str_printf(why, why_size, "qemu-img gave no format for the upload");
		r = -1;
		goto out;
	}
	if (json_object_get(j, "backing-filename") || json_object_get(j, "full-backing-filename")) {
		str_printf(why, why_size, "an image with a backing file is not accepted");
		r = -1;
		goto out;
	}
	json_t *spec = json_object_get(json_object_get(j, "format-specific"), "data");
	if (json_object_get(spec, "data-file")) {
		str_printf(why, why_size, "an image with an external data file is not accepted");
		r = -1;
		goto out;
	}
	static const char *const ok[] = { "qcow2", "raw", "vmdk", "vhdx" };
	bool good = false;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		good |= strcmp(fmt, ok[i]) == 0;
	if (!good) {
		str_printf(why, why_size, "format %.16s is not accepted: upload qcow2, raw, vmdk or vhdx",
			   fmt);
		r = -1;
		goto out;
	}
	str_copy(ret->format, sizeof(ret->format), fmt);
	ret->virtual_size = json_integer_value(json_object_get(j, "virtual-size"));
	r = 0;
out:
	json_decref(j);
	buf_release(&out);
	buf_release(&errb);
	return r;
}

/* Turn the upload into the stored qcow2 file at final. */
static int store_file(struct image_upload *u, const struct inspect *in, const char *final,
		      char *why, size_t why_size)
{
	if (strcmp(in->format, "qcow2") == 0)
		return rename(u->tmp_path, final) == 0 ? 0 : -errno;
	char *tmp = xasprintf("%s.converting", final);
	char *argv[] = { "qemu-img", "convert", "-q", "-f", (char *)in->format, "-O", "qcow2",
			 u->tmp_path, tmp, NULL };
	struct buf errb;
	buf_init(&errb, 4096);
	int r = proc_run(argv, NULL, &errb, QEMU_IMG_TIMEOUT_S);
	if (r != 0) {
		str_printf(why, why_size, "converting to qcow2 failed: %.160s",
			   errb.data ? errb.data : "no output");
		unlink(tmp);
		r = -EINVAL;
	} else if (rename(tmp, final) < 0) {
		r = -errno;
	}
	buf_release(&errb);
	free(tmp);
	unlink(u->tmp_path);
	return r;
}

int image_upload_finish(struct store_conn *c, struct image_upload *u,
			const char *expect_sha256, struct image *ret, struct err *err)
{
	char why[256] = "";
	unsigned char md[32];
	char upload_sha[SHA256_HEX_SIZE];
	EVP_DigestFinal_ex(u->sha, md, NULL);
	hex_encode(md, 32, upload_sha);
	char *final = image_path(u->s, u->id);
	struct inspect in = { 0 };
	struct image im;
	int r;
	if (fsync(u->fd) < 0) {
		r = err_set(err, ERR_INTERNAL, "", "cannot write the image: %s", strerror(errno));
		goto fail_retry;
	}
	if (expect_sha256 && strcmp(expect_sha256, upload_sha) != 0) {
		r = err_set(err, ERR_INVALID, "X-Image-Sha256",
			    "the uploaded bytes have SHA-256 %s, not the one given", upload_sha);
		goto fail_retry;
	}
	if (u->size == 0) {
		r = err_set(err, ERR_INVALID, "", "the upload is empty");
		goto fail_retry;
	}
	if (inspect(u->tmp_path, &in, why, sizeof(why)) < 0 ||
	    (r = store_file(u, &in, final, why, sizeof(why))) == -EINVAL) {
		r = err_set(err, ERR_INVALID, "", "%s", why);
		unlink(u->tmp_path);
		set_state(c, u->id, "saving", "error", why);
		goto out;
	}
	if (r < 0) {
		r = err_set(err, ERR_INTERNAL, "", "cannot store the image: %s", strerror(-r));
		goto fail_retry;
	}
	char sha[SHA256_HEX_SIZE];
	int64_t size = 0;
	if ((r = sha256_file_hex(final, sha, &size)) < 0) {
		r = err_set(err, ERR_INTERNAL, "", "cannot read the stored image: %s", strerror(-r));
		goto fail_retry;
	}
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	r = store_run(c,
		      "UPDATE images SET state = 'active', error = '', disk_format = ?,"
		      " size_bytes = ?, virtual_size = ?, sha256 = ?, updated_at = ?"
		      " WHERE id = ? AND state = 'saving'",
		      "siisss", in.format, size, in.virtual_size, sha, now, u->id);
	if (r < 0) {
		r = store_fail(c, r, err);
		goto out;
	}
	r = image_get(c, u->id, "", &im, err);
	if (r == 0)
		*ret = im;
	goto out;
fail_retry:
	unlink(u->tmp_path);
	set_state(c, u->id, "saving", "queued", NULL);
out:
	free(final);
	upload_free(u);
	return r;
}
