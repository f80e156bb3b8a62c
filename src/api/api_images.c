/* api_images: /v1/images. An image belongs to the project of the token
 * that created it (a system administrator without a project makes system
 * images). Its owner's members change it; anyone in the owning project,
 * and everyone for a public image, reads it; anyone else gets 404. Only
 * system administrators make images public.
 *
 * PUT /v1/images/{id}/file streams the bytes straight to disk (never held
 * in memory); GET .../file sends the stored qcow2 with sendfile. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api-priv.h"
#include "lib/jsonreq.h"
#include "lib/util.h"

json_t *api_image_json(const struct image *im)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "id", im->id,
			      "name", im->name, "description", im->description, "visibility",
			      im->visibility, "state", im->state, "size_bytes",
			      (json_int_t)im->size_bytes, "virtual_size",
			      (json_int_t)im->virtual_size, "created_at", im->created_at,
			      "updated_at", im->updated_at);
	json_object_set_new(o, "project_id", im->project_id[0] ? json_string(im->project_id)
							       : json_null());
	json_object_set_new(o, "disk_format", im->disk_format[0] ? json_string(im->disk_format)
								 : json_null());
	json_object_set_new(o, "sha256", im->sha256[0] ? json_string(im->sha256) : json_null());
	if (strcmp(im->state, "error") == 0)
		json_object_set_new(o, "error", json_string(im->error));
	return o;
}

/* Resolve {id} to an image the caller may see; with write, one they may
 * change. Answers 404 / 403 and returns -1 otherwise. */
static int image_access(struct api_ctx *ctx, bool write, struct image *ret)
{
	const char *scope = ctx->principal.project_id;
	if (image_get(api_conn(ctx), api_param(ctx, "id"), scope, ret, &ctx->err) < 0) {
		api_reply_error(ctx);
		return -1;
	}
	str_copy(ctx->audit_id, sizeof(ctx->audit_id), ret->id);
	str_copy(ctx->audit_project, sizeof(ctx->audit_project), ret->project_id);
	if (api_is_sysadmin(ctx))
		return 0;
	if (!image_visible(ret, scope)) {
		api_fail(ctx, ERR_NOT_FOUND, "", "no image '%.80s'", api_param(ctx, "id"));
		return -1;
	}
	if (write) {
		enum role role = ROLE_NONE;
		if (ret->project_id[0] && strcmp(ret->project_id, scope) == 0)
			role = ctx->principal.role;
		if (role < ROLE_MEMBER) {
			api_fail(ctx, ERR_FORBIDDEN, "", "changing this image needs the member role in "
				 "the project that owns it");
			return -1;
		}
	}
	return 0;
}

static int read_spec(struct api_ctx *ctx, bool create, struct image_spec *spec)
{
	static const char *const fields[] = { "name", "description", "visibility", NULL };
	json_t *b = api_body(ctx, fields);
	if (!b)
		return -1;
	if (json_req_string(b, "name", create, IMAGE_NAME_MAX, false, &spec->name, &ctx->err) < 0 ||
	    json_req_string(b, "description", false, IMAGE_DESCRIPTION_MAX, true,
			    &spec->description, &ctx->err) < 0 ||
	    json_req_string(b, "visibility", false, 16, false, &spec->visibility, &ctx->err) < 0) {
		api_reply_error(ctx);
		return -1;
	}
	if (spec->visibility && strcmp(spec->visibility, "public") == 0 && !api_is_sysadmin(ctx)) {
		api_fail(ctx, ERR_FORBIDDEN, "visibility",
			 "only a system administrator makes images public");
		return -1;
	}
	return 0;
}

static void images_create(struct api_ctx *ctx)
{
	struct image_spec spec = { 0 };
	struct image im;
	ctx->audit_type = "image";
	if (read_spec(ctx, true, &spec) < 0)
		return;
	const struct principal *p = &ctx->principal;
	if (!p->project_id[0] && !p->system_admin) {
		api_fail(ctx, ERR_INVALID, "", "log in with a project to create images in it");
		return;
	}
	if (p->project_id[0] && !p->system_admin && p->role < ROLE_MEMBER) {
		api_fail(ctx, ERR_FORBIDDEN, "", "creating images needs the member role");
		return;
	}
	if (image_create(api_conn(ctx), p->project_id, &spec, &im, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	str_copy(ctx->audit_project, sizeof(ctx->audit_project), im.project_id);
	api_reply_created(ctx, "/v1/images", im.id, api_image_json(&im));
}

static void images_list(struct api_ctx *ctx)
{
	size_t limit, n;
	const char *after;
	struct image *items;
	bool more;
	if (api_page_params(ctx, &limit, &after) < 0)
		return;
	if (image_list(api_conn(ctx), ctx->principal.project_id, api_is_sysadmin(ctx), after,
		       limit, &items, &n, &more, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, api_image_json(&items[i]));
	char *last = more ? xasprintf("%s %s", items[n - 1].name, items[n - 1].id) : NULL;
	api_reply_json(ctx, 200, api_list(arr, last));
	free(last);
	free(items);
}

static void images_get(struct api_ctx *ctx)
{
	struct image im;
	if (image_access(ctx, false, &im) == 0)
		api_reply_json(ctx, 200, api_image_json(&im));
}

static void images_update(struct api_ctx *ctx)
{
	struct image_spec spec = { 0 };
	struct image im;
	ctx->audit_type = "image";
	if (image_access(ctx, true, &im) < 0 || read_spec(ctx, false, &spec) < 0)
		return;
	if (image_update(api_conn(ctx), im.id, &spec, &im, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_json(ctx, 200, api_image_json(&im));
}

static void images_delete(struct api_ctx *ctx)
{
	struct image im;
	ctx->audit_type = "image";
	if (image_access(ctx, true, &im) < 0)
		return;
	if (image_delete(api_conn(ctx), ctx->api->opts.storage, im.id, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_empty(ctx, 204);
}

/* ---- upload ---- */

static int upload_sink(struct http_req *req, const char *data, size_t n)
{
	struct api_ctx *ctx = req->user;
	return image_upload_write(ctx->stream, data, n);
}

/* The request ended without its handler (the client went away). */
static void upload_abort(struct api_ctx *ctx)
{
	image_upload_abort(api_conn(ctx), ctx->stream);
	ctx->stream = NULL;
}

int api_image_upload_begin(struct api_ctx *ctx, const char *image_id)
{
	struct image_upload *u;
	if (image_upload_begin(api_conn(ctx), ctx->api->opts.storage, image_id, &u, &ctx->err) < 0) {
		api_reply_error(ctx);
		return -1;
	}
	ctx->stream = u;
	ctx->req->sink = upload_sink;
	ctx->req->sink_limit = ctx->api->opts.storage->image_max_bytes;
	ctx->stream_abort = upload_abort;
	return 0;
}

static void upload_prepare(struct api_ctx *ctx)
{
	struct image im;
	ctx->audit_type = "image";
	if (image_access(ctx, true, &im) == 0)
		api_image_upload_begin(ctx, im.id);
}

int api_image_upload_end(struct api_ctx *ctx, struct image *ret)
{
	struct image_upload *u = ctx->stream;
	ctx->stream = NULL;
	if (ctx->req->status) { /* the upload failed on the way */
		image_upload_abort(api_conn(ctx), u);
		return -1;
	}
	/* the checksum the client vouches for: our header, or the SigV4 one */
	const char *want = http_req_header(ctx->req, "X-Image-Sha256");
	const char *amz = http_req_header(ctx->req, "X-Amz-Content-SHA256");
	if (!want && amz && sha256_hex_valid(amz))
		want = amz;
	if (want && !sha256_hex_valid(want)) {
		image_upload_abort(api_conn(ctx), u);
		api_fail(ctx, ERR_INVALID, "X-Image-Sha256",
			 "X-Image-Sha256 must be 64 lower-case hex digits");
		return -1;
	}
	if (image_upload_finish(api_conn(ctx), u, want, ret, &ctx->err) < 0) {
		api_reply_error(ctx);
		return -1;
	}
	return 0;
}

static void upload_finish(struct api_ctx *ctx)
{
	struct image im;
	if (api_image_upload_end(ctx, &im) == 0)
		api_reply_json(ctx, 200, api_image_json(&im));
}

void api_send_image(struct api_ctx *ctx, const struct image *im)
{
	if (strcmp(im->state, "active") != 0) {
		api_fail(ctx, ERR_CONFLICT, "", "image '%s' has no bytes yet (state %s)", im->name,
			 im->state);
		return;
	}
	char *path = image_path(ctx->api->opts.storage, im->id);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		api_fail(ctx, ERR_INTERNAL, "", "the image file is missing: %s", strerror(errno));
		return;
	}
	http_resp_header(ctx->req, "X-Image-Sha256", im->sha256);
	http_resp_file(ctx->req, 200, "application/octet-stream", fd, (uint64_t)st.st_size);
}

static void download(struct api_ctx *ctx)
{
	struct image im;
	if (image_access(ctx, false, &im) == 0)
		api_send_image(ctx, &im);
}

const struct api_route api_image_routes[] = {
	{ "POST", "/v1/images", images_create, API_USER, "image.create", 0, NULL },
	{ "GET", "/v1/images", images_list, API_USER, NULL, 0, NULL },
	{ "GET", "/v1/images/{id}", images_get, API_USER, NULL, 0, NULL },
	{ "PATCH", "/v1/images/{id}", images_update, API_USER, "image.update", 0, NULL },
	{ "DELETE", "/v1/images/{id}", images_delete, API_USER, "image.delete", 0, NULL },
	{ "PUT", "/v1/images/{id}/file", upload_finish, API_USER, "image.upload", API_F_STREAM,
	  upload_prepare },
	{ "GET", "/v1/images/{id}/file", download, API_USER, NULL, 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
