/* api_web: the web console's files. GET / answers index.html and GET
 * /ui/{path} the console's other files, from the directory given with
 * --web-dir (lib/webroot maps paths safely and names the types). They are
 * public: the console logs in through the same REST API as every client.
 *
 * Every answer of these routes, errors included, carries a
 * Content-Security-Policy that allows scripts, styles, images and
 * connections from this origin only (no inline script or style, no eval),
 * refuses framing, and pins <base> and form targets. The files have no
 * version in their names, so they are revalidated on every use
 * (Cache-Control: no-cache) against their ETag and Last-Modified, which
 * costs a 304 without a body when nothing changed. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "api-priv.h"
#include "lib/webroot.h"

static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
			  "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
			  "base-uri 'none'; form-action 'self'";

static void security_headers(struct http_req *req)
{
	http_resp_header(req, "Content-Security-Policy", csp);
	http_resp_header(req, "X-Content-Type-Options", "nosniff");
	http_resp_header(req, "Referrer-Policy", "no-referrer");
	http_resp_header(req, "X-Frame-Options", "DENY");
}

static void web_send(struct api_ctx *ctx, const char *path)
{
	struct http_req *req = ctx->req;
	const char *root = ctx->api->opts.web_dir;
	struct webroot_file f;
	int r = root && root[0] ? webroot_open(root, path, &f) : -ENOENT;
	security_headers(req);
	if (r == -EINVAL) {
		api_fail(ctx, ERR_INVALID, "", "'%.200s' is not a path the web console serves", path);
		return;
	}
	if (r == -ENOENT && strcmp(path, "index.html") == 0) {
		api_fail(ctx, ERR_NOT_FOUND, "",
			 "the web console is not installed: no index.html in '%.200s' (--web-dir)",
			 root ? root : "");
		return;
	}
	if (r == -ENOENT) {
		api_fail(ctx, ERR_NOT_FOUND, "", "the web console has no file '%.200s'", path);
		return;
	}
	if (r < 0) {
		api_fail(ctx, ERR_INTERNAL, "", "cannot read the web console's file '%.200s': %s",
			 path, strerror(-r));
		return;
	}
	http_resp_header(req, "ETag", f.etag);
	http_resp_header(req, "Last-Modified", f.last_modified);
	http_resp_header(req, "Cache-Control", "no-cache");
	if (webroot_not_modified(&f, http_req_header(req, "If-None-Match"),
				 http_req_header(req, "If-Modified-Since"))) {
		close(f.fd);
		http_resp_set(req, 304, NULL, "", 0);
		return;
	}
	http_resp_file(req, 200, f.type, f.fd, f.size);
}

static void web_index(struct api_ctx *ctx)
{
	web_send(ctx, "index.html");
}

static void web_file(struct api_ctx *ctx)
{
	web_send(ctx, api_param(ctx, "path"));
}

const struct api_route api_web_routes[] = {
	{ "GET", "/", web_index, API_PUBLIC, NULL, 0, NULL },
	{ "GET", "/ui/{path+}", web_file, API_PUBLIC, NULL, 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
