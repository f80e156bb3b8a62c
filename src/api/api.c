/* api: see api.h.
 *
 * A request's life: match the route (404 / 405 / 400 for a bad path),
 * refuse an over-limit body (413), authenticate (bearer token, SigV4
 * header or presigned query), check the route's access rule, then run the
 * handler.
 *
 * Reads run as they come. A mutating request (a route with an audit
 * action) runs inside one store transaction together with its audit event
 * and, when it carries an Idempotency-Key, the lookup and saving of its
 * answer: either the work, its audit event and its stored answer are all
 * committed, or none is. When the handler fails, its work is rolled back
 * and the failure is audited (and, below 500, stored for replay) in a
 * transaction of its own. Two concurrent requests with one key serialise
 * on the store's write lock; the second finds the first one's answer. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api-priv.h"
#include "lib/crypto.h"
#include "lib/jsonreq.h"
#include "lib/log.h"
#include "lib/sigv4.h"
#include "lib/timeutil.h"
#include "lib/util.h"

static const unsigned status_of[ERR__COUNT] = {
	[ERR_NONE] = 200,        [ERR_INVALID] = 400,     [ERR_MALFORMED] = 400,
	[ERR_NOT_FOUND] = 404,   [ERR_CONFLICT] = 409,    [ERR_TOO_LARGE] = 413,
	[ERR_UNAUTHORIZED] = 401,[ERR_FORBIDDEN] = 403,   [ERR_QUOTA] = 403,
	[ERR_IDEMPOTENCY] = 422, [ERR_RATE_LIMITED] = 429,
	[ERR_BUSY] = 503,        [ERR_UNAVAILABLE] = 503, [ERR_INTERNAL] = 500,
};

static const char json_ctype[] = "application/json";

struct api *api_new(const struct api_opts *opts)
{
	static const struct api_route *const tables[] = {
		api_system_routes,  api_zone_routes,       api_auth_routes,  api_user_routes,
		api_project_routes, api_access_key_routes, api_audit_routes, api_flavor_routes,
		api_image_routes,   api_host_routes,       api_instance_routes, api_keypair_routes,
		api_volume_routes,  api_snapshot_routes, api_storage_pool_routes, api_web_routes,
		api_network_routes, api_port_routes, api_security_group_routes,
		api_floating_ip_routes,
	};
	struct api *api = xcalloc(1, sizeof(*api));
	api->opts = *opts;
	api->router = router_new();
	for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
		for (const struct api_route *r = tables[t]; r->method; r++)
			if (router_add(api->router, r->method, r->pattern, r) < 0) {
				fprintf(stderr, "nubo: bad route %s %s\n", r->method, r->pattern);
				abort();
			}
	/* 5 free failures per user, then 1 s doubling up to 5 min; addresses
	 * get more room because many users may share one (NAT). */
	struct ratelimit_opts user = { .free_failures = 5, .base_delay_ms = 1000,
				       .max_delay_ms = 300000, .window_ms = 900000,
				       .max_keys = 100000 };
	struct ratelimit_opts addr = user;
	addr.free_failures = 20;
	api->login_user = ratelimit_new(&user);
	api->login_addr = ratelimit_new(&addr);
	unsigned char raw[8];
	crypto_random(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), api->epoch);
	return api;
}

void api_free(struct api *api)
{
	if (!api)
		return;
	router_free(api->router);
	ratelimit_free(api->login_user);
	ratelimit_free(api->login_addr);
	free(api);
}

void api_host_changed(struct api_ctx *ctx, const char *host_id)
{
	if (!host_id || !host_id[0])
		return;
	struct api_changed_host *h = arena_alloc(ctx->req->arena, sizeof(*h));
	str_copy(h->id, sizeof(h->id), host_id);
	h->next = ctx->changed;
	ctx->changed = h;
}

void api_host_version(struct api *api, const char *host_id, char out[48])
{
	uint64_t v = api->opts.board ? notify_version(api->opts.board, host_id) : 0;
	str_printf(out, 48, "%s.%llu", api->epoch, (unsigned long long)v);
}

/* Wake the long polls of the hosts this request changed, once its work is
 * committed (a failed request changed nothing). */
static void wake_changed_hosts(struct api_ctx *ctx)
{
	struct notify_board *b = ctx->api->opts.board;
	if (b && ctx->req->status && ctx->req->status < 400)
		for (struct api_changed_host *h = ctx->changed; h; h = h->next)
			notify_bump(b, h->id);
	ctx->changed = NULL;
}

struct store_conn *api_conn(struct api_ctx *ctx)
{
	if (!ctx->conn)
		ctx->conn = store_conn_get(ctx->api->opts.store);
	return ctx->conn;
}

const char *api_param(struct api_ctx *ctx, const char *name)
{
	return router_param(&ctx->match, name);
}

bool api_is_sysadmin(const struct api_ctx *ctx)
{
	return ctx->authenticated && ctx->principal.system_admin;
}

void api_reply_json(struct api_ctx *ctx, unsigned status, json_t *v)
{
	size_t len;
	char *s = json_req_dump(v, &len);
	json_decref(v);
	http_resp_take(ctx->req, status, json_ctype, s, len);
	http_resp_header(ctx->req, "Cache-Control", "no-store");
}

void api_reply_located(struct api_ctx *ctx, unsigned status, const char *prefix,
		       const char *id, json_t *v)
{
	char loc[256];
	str_printf(loc, sizeof(loc), "%s/%s", prefix, id);
	http_resp_header(ctx->req, "Location", loc);
	str_copy(ctx->audit_id, sizeof(ctx->audit_id), id);
	api_reply_json(ctx, status, v);
}

void api_reply_created(struct api_ctx *ctx, const char *prefix, const char *id, json_t *v)
{
	api_reply_located(ctx, 201, prefix, id, v);
}

void api_reply_empty(struct api_ctx *ctx, unsigned status)
{
	http_resp_set(ctx->req, status, NULL, "", 0);
}

static void send_error(struct api_ctx *ctx, unsigned status, const char *code,
		       const char *field, const char *text)
{
	/* a message may quote what the client sent, which need not be UTF-8 */
	char message[sizeof(ctx->err.message)];
	str_copy(message, sizeof(message), text);
	str_utf8_fix(message);
	json_t *inner = json_pack("{s:s, s:s, s:s}", "code", code, "message", message,
				  "request_id", ctx->req->request_id);
	if (field && field[0])
		json_object_set_new(inner, "field", json_string(field));
	if (status >= 500)
		log_line(LOGL_ERROR, "request failed", "request_id", ctx->req->request_id,
			 "code", code, "error", message, NULL);
	api_reply_json(ctx, status, json_pack("{s:o}", "error", inner));
}

void api_reply_error(struct api_ctx *ctx)
{
	const struct err *e = &ctx->err;
	enum err_code code = e->code == ERR_NONE ? ERR_INTERNAL : e->code;
	if (code == ERR_BUSY || code == ERR_UNAVAILABLE)
		http_resp_header(ctx->req, "Retry-After", "1");
	if (code == ERR_UNAUTHORIZED)
		http_resp_header(ctx->req, "WWW-Authenticate", "Bearer realm=\"nubo\"");
	send_error(ctx, status_of[code], err_code_name(code), e->field,
		   e->message[0] ? e->message : "internal error");
}

void api_fail(struct api_ctx *ctx, enum err_code code, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char msg[sizeof(ctx->err.message)];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set(&ctx->err, code, field, "%s", msg);
	api_reply_error(ctx);
}

json_t *api_body(struct api_ctx *ctx, const char *const allowed[])
{
	const struct buf *b = &ctx->req->body;
	ctx->body = json_req_parse(b->data ? b->data : "", b->len, &ctx->err);
	if (!ctx->body || json_req_only(ctx->body, allowed, &ctx->err) < 0) {
		api_reply_error(ctx);
		return NULL;
	}
	return ctx->body;
}

json_t *api_body_optional(struct api_ctx *ctx, const char *const allowed[])
{
	if (ctx->req->body.len == 0) {
		ctx->body = json_object();
		return ctx->body;
	}
	return api_body(ctx, allowed);
}

int api_query(struct api_ctx *ctx, const char *name, const char **ret)
{
	bool bad;
	*ret = http_req_query(ctx->req, name, &bad);
	if (bad) {
		api_fail(ctx, ERR_INVALID, name, "query parameter '%s' is badly percent-encoded",
			 name);
		return -1;
	}
	return 0;
}

int api_creating_in_project(struct api_ctx *ctx, const char *what)
{
	const struct principal *p = &ctx->principal;
	if (!p->project_id[0]) {
		api_fail(ctx, ERR_INVALID, "", "log in with a project to create %s in it", what);
		return -1;
	}
	if (p->role < ROLE_MEMBER) {
		api_fail(ctx, ERR_FORBIDDEN, "", "creating %s needs the member role", what);
		return -1;
	}
	return 0;
}

int api_active_image(struct api_ctx *ctx, const char *ref, struct image *ret)
{
	const char *project = ctx->principal.project_id;
	if (image_get(api_conn(ctx), ref, project, ret, &ctx->err) < 0 ||
	    !image_visible(ret, project)) {
		api_fail(ctx, ERR_INVALID, "image", "no image '%.80s'", ref);
		return -1;
	}
	if (strcmp(ret->state, "active") != 0) {
		api_fail(ctx, ERR_INVALID, "image", "image '%s' is %s, not active", ret->name,
			 ret->state);
		return -1;
	}
	return 0;
}

json_t *api_job_json(const struct job *j)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "id", j->id, "kind",
			      j->kind, "resource_id", j->resource_id, "status", j->status,
			      "progress", (json_int_t)j->progress, "created_at", j->created_at,
			      "updated_at", j->updated_at);
	if (strcmp(j->status, "failed") == 0)
		json_object_set_new(o, "error", json_string(j->error));
	return o;
}

const char *api_scope(const struct api_ctx *ctx)
{
	const char *p = ctx->principal.project_id;
	return p[0] ? p : (api_is_sysadmin(ctx) ? NULL : "");
}

int api_owned(struct api_ctx *ctx, int lookup, const char *id, const char *project_id,
	      enum role need)
{
	if (lookup < 0) {
		api_reply_error(ctx);
		return -1;
	}
	str_copy(ctx->audit_id, sizeof(ctx->audit_id), id);
	str_copy(ctx->audit_project, sizeof(ctx->audit_project), project_id);
	if (!api_is_sysadmin(ctx) && ctx->principal.role < need) {
		api_fail(ctx, ERR_FORBIDDEN, "", "this needs the %s role", role_name(need));
		return -1;
	}
	return 0;
}

int api_query_u64(struct api_ctx *ctx, const char *name, uint64_t max, uint64_t *ret,
		  bool *ret_present)
{
	const char *v;
	*ret_present = false;
	if (api_query(ctx, name, &v) < 0)
		return -1;
	if (!v)
		return 0;
	if (parse_u64(v, 0, max, ret) < 0) {
		api_fail(ctx, ERR_INVALID, name, "%s must be a whole number from 0 to %llu", name,
			 (unsigned long long)max);
		return -1;
	}
	*ret_present = true;
	return 0;
}

/* A cursor is base64url("1:" key): versioned so its form can change. */
static char *cursor_encode(const char *key)
{
	char *raw = xasprintf("1:%s", key);
	char *c = base64url_encode(raw, strlen(raw));
	free(raw);
	return c;
}

int api_page_params(struct api_ctx *ctx, size_t *ret_limit, const char **ret_after)
{
	const char *limit = NULL, *cursor = NULL;
	if (api_query(ctx, "limit", &limit) < 0 || api_query(ctx, "cursor", &cursor) < 0)
		return -1;
	uint64_t n = API_PAGE_DEFAULT;
	if (limit && parse_u64(limit, 1, API_PAGE_MAX, &n) < 0) {
		api_fail(ctx, ERR_INVALID, "limit", "limit must be a whole number from 1 to %d",
			 API_PAGE_MAX);
		return -1;
	}
	*ret_limit = (size_t)n;
	*ret_after = NULL;
	if (cursor) {
		unsigned char *raw = NULL;
		size_t len = 0;
		if (strlen(cursor) > 1024 || base64url_decode(cursor, &raw, &len) < 0 || len < 2 ||
		    memcmp(raw, "1:", 2) != 0 || strlen((char *)raw) != len) {
			free(raw);
			api_fail(ctx, ERR_INVALID, "cursor",
				 "cursor is not one this API handed out; pass the 'next' value of "
				 "the previous page as it is");
			return -1;
		}
		*ret_after = arena_strdup(ctx->req->arena, (char *)raw + 2);
		free(raw);
	}
	return 0;
}

json_t *api_list(json_t *items, const char *last_key)
{
	json_t *next = json_null();
	if (last_key) {
		char *c = cursor_encode(last_key);
		next = json_string(c);
		free(c);
	}
	return json_pack("{s:o, s:o}", "items", items, "next", next);
}

void api_reply_page(struct api_ctx *ctx, const void *items, size_t n, size_t size,
		    api_item_fn show, const char *last_key)
{
	json_t *arr = json_array();
	for (size_t k = 0; k < n; k++) {
		json_t *o = show(ctx, (const char *)items + k * size);
		if (!o) {
			json_decref(arr);
			api_reply_error(ctx);
			return;
		}
		json_array_append_new(arr, o);
	}
	api_reply_json(ctx, 200, api_list(arr, last_key));
}

int api_project_access(struct api_ctx *ctx, const char *id_or_name, enum role min_role,
		       struct project *ret)
{
	struct store_conn *c = api_conn(ctx);
	enum role role = ROLE_NONE;
	int r = project_get(c, id_or_name, ret, &ctx->err);
	if (r == 0)
		r = principal_role_in(c, &ctx->principal, ret->id, &role, &ctx->err);
	if (r == 0 && role == ROLE_NONE)
		r = err_set(&ctx->err, ERR_NOT_FOUND, "", "no project '%.80s'", id_or_name);
	if (r == 0 && role < min_role)
		r = err_set(&ctx->err, ERR_FORBIDDEN, "",
			    "this needs the %s role in project '%s'; you have %s",
			    role_name(min_role), ret->name, role_name(role));
	if (r < 0) {
		api_reply_error(ctx);
		return -1;
	}
	str_copy(ctx->audit_project, sizeof(ctx->audit_project), ret->id);
	return 0;
}

/* ---- authentication ---- */

static const char *header_of(void *ctx, const char *name)
{
	return http_req_header(ctx, name);
}

/* The hex SHA-256 the client says it signed, checked against the body. */
static int payload_hash(struct api_ctx *ctx, char out[SHA256_HEX_SIZE])
{
	struct http_req *req = ctx->req;
	const char *claimed = http_req_header(req, "X-Amz-Content-SHA256");
	if (ctx->stream_route) {
		/* the body is not here yet: sign what the client claims, and the
		 * route checks the claim against the bytes as they arrive */
		if (!claimed)
			return err_set(&ctx->err, ERR_UNAUTHORIZED, "X-Amz-Content-SHA256",
				       "a signed upload needs an X-Amz-Content-SHA256 header");
		str_copy(out, SHA256_HEX_SIZE, claimed);
		return 0;
	}
	sha256_hex(req->body.data ? req->body.data : "", req->body.len, out);
	if (!claimed)
		return 0;
	if (strcmp(claimed, SIGV4_UNSIGNED_PAYLOAD) == 0) {
		str_copy(out, SHA256_HEX_SIZE, claimed);
		return 0;
	}
	if (strcmp(claimed, out) != 0)
		return err_set(&ctx->err, ERR_INVALID, "X-Amz-Content-SHA256",
			       "X-Amz-Content-SHA256 does not match the body");
	return 0;
}

static int auth_signed(struct api_ctx *ctx, const struct sigv4_auth *a)
{
	struct http_req *req = ctx->req;
	if (strcmp(a->service, "nubo") != 0)
		return err_set(&ctx->err, ERR_UNAUTHORIZED, "Authorization",
			       "the credential scope's service must be 'nubo' for this API");
	char hash[SHA256_HEX_SIZE];
	int r = payload_hash(ctx, hash);
	if (r < 0)
		return r;
	struct sigv4_request sr = { .method = req->method, .path = req->path,
				    .header = header_of, .header_ctx = req,
				    .payload_hash = hash };
	sr.nquery = http_req_query_raw(req, &sr.query);
	return auth_sigv4(api_conn(ctx), ctx->api->opts.identity, &sr, a, time_now_ms(),
			  &ctx->principal, &ctx->err);
}

/* Authenticate from the Authorization header or a presigned query. 0 when
 * authenticated or anonymous; -1 after answering 401. */
static int authenticate(struct api_ctx *ctx)
{
	struct http_req *req = ctx->req;
	const char *authz = http_req_header(req, "Authorization");
	const char *why = "";
	struct sigv4_auth a;
	int r;
	if (authz && str_starts_with(authz, "Bearer ")) {
		const char *tok = authz + strlen("Bearer ");
		while (*tok == ' ')
			tok++;
		if (str_starts_with(tok, HOST_CREDENTIAL_PREFIX)) {
			if (host_auth(api_conn(ctx), tok, &ctx->host, &ctx->err) < 0) {
				api_reply_error(ctx);
				return -1;
			}
			ctx->is_host = true;
			req->tenant = arena_printf(req->arena, "host:%s", ctx->host.name);
			return 0;
		}
		r = auth_token(api_conn(ctx), tok, &ctx->principal, &ctx->err);
	} else if (authz && str_starts_with(authz, SIGV4_ALGORITHM " ")) {
		r = sigv4_parse_header(authz, &a, &why);
		if (r == 0) {
			const char *d = http_req_header(req, "X-Amz-Date");
			if (!d || !str_copy(a.amz_date, sizeof(a.amz_date), d))
				r = err_set(&ctx->err, ERR_UNAUTHORIZED, "X-Amz-Date",
					    "a signed request needs an X-Amz-Date header");
			else
				r = auth_signed(ctx, &a);
		} else {
			r = err_set(&ctx->err, ERR_UNAUTHORIZED, "Authorization", "%s", why);
		}
	} else if (authz) {
		r = err_set(&ctx->err, ERR_UNAUTHORIZED, "Authorization",
			    "use 'Authorization: Bearer <token>' or AWS Signature V4");
	} else {
		const struct http_kv *q;
		size_t nq = http_req_query_raw(req, &q);
		r = sigv4_parse_query(q, nq, &a, &why);
		if (r == -ENOENT)
			return 0; /* anonymous */
		if (r == 0)
			r = auth_signed(ctx, &a);
		else
			r = err_set(&ctx->err, ERR_UNAUTHORIZED, "X-Amz-Credential", "%s", why);
	}
	if (r < 0) {
		api_reply_error(ctx);
		return -1;
	}
	ctx->authenticated = true;
	req->tenant = arena_strdup(req->arena, ctx->principal.user_name);
	return 0;
}

/* Apply the route's access rule. 0 to go on; -1 after answering. */
static int check_access(struct api_ctx *ctx, const struct api_route *rt)
{
	enum api_access need = rt->access;
	if (need == API_METRICS)
		need = ctx->api->opts.metrics_public ? API_PUBLIC : API_SYSADMIN;
	if (need == API_PUBLIC)
		return 0;
	if (need == API_HOST) {
		if (ctx->is_host)
			return 0;
		api_fail(ctx, ctx->authenticated ? ERR_FORBIDDEN : ERR_UNAUTHORIZED, "",
			 "this is the agents' API: it needs a host credential");
		return -1;
	}
	if (ctx->is_host) {
		api_fail(ctx, ERR_FORBIDDEN, "", "a host credential is for the agents' API only");
		return -1;
	}
	if (!ctx->authenticated) {
		api_fail(ctx, ERR_UNAUTHORIZED, "",
			 "authentication required: log in with POST /v1/auth/login and send "
			 "'Authorization: Bearer <token>', or sign the request with an access key");
		return -1;
	}
	if (need == API_SYSADMIN && !ctx->principal.system_admin) {
		api_fail(ctx, ERR_FORBIDDEN, "", "this needs a system administrator");
		return -1;
	}
	return 0;
}

/* ---- idempotency and audit ---- */

static bool idem_key_ok(const char *k)
{
	size_t n = strlen(k);
	if (n == 0 || n > 255)
		return false;
	for (; *k; k++)
		if (*k < 0x20 || *k > 0x7e)
			return false;
	return true;
}

/* A fingerprint of the request, keyed with the server key so that the
 * stored value reveals nothing about a body (which may hold a password). */
static void request_hash(struct api_ctx *ctx, char out[SHA256_HEX_SIZE])
{
	struct http_req *req = ctx->req;
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "%s\n%s\n", req->method, req->path);
	buf_append(&b, req->body.data ? req->body.data : "", req->body.len);
	unsigned char mac[32];
	hmac_sha256(ctx->api->opts.identity->server_key, CRYPTO_KEY_SIZE, b.data, b.len, mac);
	hex_encode(mac, sizeof(mac), out);
	buf_release(&b);
}

static void replay(struct api_ctx *ctx, const struct store_idem *idem, const char *hash)
{
	if (strcmp(idem->request_hash, hash) != 0) {
		api_fail(ctx, ERR_IDEMPOTENCY, "Idempotency-Key",
			 "this Idempotency-Key was used with a different request; use a new key "
			 "for a new request");
		return;
	}
	http_resp_set(ctx->req, idem->status, idem->body[0] ? json_ctype : NULL, idem->body,
		      strlen(idem->body));
	if (idem->location)
		http_resp_header(ctx->req, "Location", idem->location);
	http_resp_header(ctx->req, "Idempotent-Replayed", "true");
}

static const char *resp_header(struct http_req *req, const char *name)
{
	for (struct http_header *h = req->resp_headers; h; h = h->next)
		if (str_eq_nocase(h->name, name))
			return h->value;
	return NULL;
}

static int write_audit(struct api_ctx *ctx, const struct api_route *rt)
{
	struct audit_event ev = { 0 };
	const struct principal *p = &ctx->principal;
	if (ctx->authenticated) {
		str_copy(ev.user_id, sizeof(ev.user_id), p->user_id);
		str_copy(ev.user_name, sizeof(ev.user_name), p->user_name);
	} else if (ctx->is_host) {
		str_printf(ev.user_name, sizeof(ev.user_name), "host:%s", ctx->host.name);
	} else {
		str_copy(ev.user_id, sizeof(ev.user_id), ctx->audit_user_id);
		str_copy(ev.user_name, sizeof(ev.user_name), ctx->audit_user);
	}
	str_copy(ev.project_id, sizeof(ev.project_id),
		 ctx->audit_project[0] ? ctx->audit_project
				       : (ctx->authenticated ? p->project_id : ""));
	str_copy(ev.source, sizeof(ev.source), ctx->req->peer);
	str_copy(ev.request_id, sizeof(ev.request_id), ctx->req->request_id);
	str_copy(ev.action, sizeof(ev.action), rt->action);
	str_copy(ev.resource_type, sizeof(ev.resource_type), ctx->audit_type ? ctx->audit_type : "");
	const char *id = ctx->audit_id[0] ? ctx->audit_id : api_param(ctx, "id");
	str_copy(ev.resource_id, sizeof(ev.resource_id), id ? id : "");
	unsigned status = ctx->req->status;
	str_copy(ev.outcome, sizeof(ev.outcome), status < 400 ? "success" : "failure");
	ev.status = status;
	struct err e = { 0 };
	int r = audit_record(api_conn(ctx), &ev, &e);
	if (r < 0)
		log_line(LOGL_ERROR, "audit event not written", "request_id",
			 ctx->req->request_id, "action", rt->action, "error", e.message, NULL);
	return r;
}

static int save_idem(struct api_ctx *ctx, const char *scope, const char *key, const char *hash)
{
	struct http_req *req = ctx->req;
	struct store_idem idem = { .status = req->status, .body = req->resp_body,
				   .location = (char *)resp_header(req, "Location"),
				   .created_ms = time_now_ms() };
	str_copy(idem.request_hash, sizeof(idem.request_hash), hash);
	return store_idem_put(api_conn(ctx), scope, key, &idem);
}

/* Audit a mutating request in a transaction of its own: one refused before
 * its handler ran (401, 403, 413...) or one answered by replay. */
static void audit_alone(struct api_ctx *ctx, const struct api_route *rt)
{
	struct store_conn *c = api_conn(ctx);
	if (store_txn_begin(c) < 0)
		return;
	if (write_audit(ctx, rt) == 0)
		store_txn_commit(c);
	else
		store_txn_rollback(c);
}

/* Run a mutating route's handler in a transaction with its audit event
 * and, when key is given, its stored answer. */
static void run_mutation(struct api_ctx *ctx, const struct api_route *rt, const char *key)
{
	char hash[SHA256_HEX_SIZE] = "";
	const char *scope = ctx->authenticated ? ctx->principal.user_id : "";
	if (key && (rt->flags & API_F_SECRET)) {
		api_fail(ctx, ERR_INVALID, "Idempotency-Key",
			 "Idempotency-Key is not accepted here: the answer holds a secret that "
			 "nubo does not keep");
		audit_alone(ctx, rt);
		return;
	}
	if (key && !idem_key_ok(key)) {
		api_fail(ctx, ERR_INVALID, "Idempotency-Key",
			 "Idempotency-Key must be 1 to 255 printable ASCII characters");
		audit_alone(ctx, rt);
		return;
	}
	struct store_conn *c = api_conn(ctx);
	if (store_txn_begin(c) < 0) {
		api_fail(ctx, ERR_BUSY, "", "the store is busy; retry the request");
		audit_alone(ctx, rt);
		return;
	}
	if (key) {
		request_hash(ctx, hash);
		struct store_idem idem = { 0 };
		int r = store_idem_get(c, scope, key, API_IDEMPOTENCY_TTL_MS, &idem);
		if (r == 0) {
			store_txn_rollback(c);
			replay(ctx, &idem, hash);
			store_idem_release(&idem);
			audit_alone(ctx, rt);
			return;
		}
		if (r != -ENOENT) {
			store_txn_rollback(c);
			api_fail(ctx, ERR_INTERNAL, "", "store error: %s", store_errmsg(c));
			return;
		}
	}
	rt->fn(ctx);
	struct http_req *req = ctx->req;
	if (req->status == 0)
		api_fail(ctx, ERR_INTERNAL, "", "the handler gave no answer");
	if (req->status >= 400) {
		/* the work is undone; the failure is still recorded */
		store_txn_rollback(c);
		if (store_txn_begin(c) < 0)
			return;
	}
	int r = write_audit(ctx, rt);
	if (r == 0 && key && req->status < 500)
		r = save_idem(ctx, scope, key, hash);
	if (r == 0)
		r = store_txn_commit(c);
	else
		store_txn_rollback(c);
	if (r < 0 && req->status < 400) {
		req->resp_headers = NULL;
		api_fail(ctx, r == -EBUSY ? ERR_BUSY : ERR_INTERNAL, "",
			 "could not record the request: %s", store_errmsg(c));
	}
}

static void route_error(struct api_ctx *ctx, enum router_result rr)
{
	struct http_req *req = ctx->req;
	switch (rr) {
	case ROUTER_METHOD_NOT_ALLOWED: {
		char msg[128];
		str_printf(msg, sizeof(msg), "method %.16s is not allowed here; use %s",
			   req->method, ctx->match.allow);
		http_resp_header(req, "Allow", ctx->match.allow);
		send_error(ctx, 405, "MethodNotAllowed", "", msg);
		return;
	}
	case ROUTER_BAD_PATH:
		api_fail(ctx, ERR_INVALID, "", "the request path is badly percent-encoded");
		return;
	default:
		err_set(&ctx->err, ERR_NOT_FOUND, "", "no such endpoint: %.16s %.200s",
			req->method, req->path);
		api_reply_error(ctx);
		return;
	}
}

/* Release what a request context holds, after waking the hosts it
 * changed. */
static void ctx_finish(struct api_ctx *ctx)
{
	wake_changed_hosts(ctx);
	json_decref(ctx->body);
	ctx->body = NULL;
	store_conn_put(ctx->conn);
	ctx->conn = NULL;
}

/* A streamed request ended: if its handler never ran (the client went
 * away mid-upload), undo the route's state and audit the attempt. */
static void stream_cleanup(struct http_req *req)
{
	struct api_ctx *ctx = req->user;
	if (ctx->stream_done)
		return;
	const struct api_route *rt = ctx->match.data;
	if (ctx->stream_abort)
		ctx->stream_abort(ctx);
	if (rt->action && !req->status)
		audit_alone(ctx, rt);
	ctx_finish(ctx);
}

void api_prepare(struct http_req *req, void *userdata)
{
	struct api *api = userdata;
	struct router_match m;
	if (router_match(api->router, req->method, req->path, req->arena, &m) != ROUTER_FOUND)
		return;
	const struct api_route *rt = m.data;
	if (!(rt->flags & API_F_STREAM))
		return;
	struct api_ctx *ctx = arena_alloc(req->arena, sizeof(*ctx));
	ctx->api = api;
	ctx->req = req;
	ctx->match = m;
	ctx->stream_route = true;
	req->user = ctx;
	req->cleanup = stream_cleanup;
	req->route = rt->pattern;
	if (authenticate(ctx) == 0 && check_access(ctx, rt) == 0)
		rt->prepare(ctx);
	if (req->status) { /* refused before the body: audit it now */
		ctx->stream_done = true;
		if (rt->action)
			audit_alone(ctx, rt);
	}
	ctx_finish(ctx);
}

/* The second half of a streamed route, once its body is in. */
static void finish_stream(struct api_ctx *ctx)
{
	const struct api_route *rt = ctx->match.data;
	struct http_req *req = ctx->req;
	if (req->body_too_large)
		api_fail(ctx, ERR_TOO_LARGE, "", "the upload is larger than %llu bytes",
			 (unsigned long long)req->sink_limit);
	else if (req->body_error)
		api_fail(ctx, ERR_INTERNAL, "", "the upload could not be written: %s",
			 strerror(-req->body_error));
	ctx->stream_done = true;
	rt->fn(ctx); /* it sees the failure above and cleans up */
	if (rt->action)
		audit_alone(ctx, rt);
	ctx_finish(ctx);
}

void api_handle(struct http_req *req, void *userdata)
{
	if (req->user) {
		finish_stream(req->user);
		return;
	}
	struct api_ctx ctx = { .api = userdata, .req = req };
	enum router_result rr = router_match(ctx.api->router, req->method, req->path, req->arena,
					     &ctx.match);
	if (rr != ROUTER_FOUND) {
		route_error(&ctx, rr);
		return;
	}
	const struct api_route *rt = ctx.match.data;
	req->route = rt->pattern;
	bool mutating = rt->action != NULL;
	if (req->body_too_large) {
		api_fail(&ctx, ERR_TOO_LARGE, "", "the request body is larger than %zu bytes",
			 req->body.limit);
	} else if (authenticate(&ctx) == 0 && check_access(&ctx, rt) == 0) {
		if (mutating)
			run_mutation(&ctx, rt,
				     strcmp(req->method, "POST") == 0
					     ? http_req_header(req, "Idempotency-Key")
					     : NULL);
		else
			rt->fn(&ctx);
		mutating = false; /* audited inside */
	}
	if (mutating)
		audit_alone(&ctx, rt);
	ctx_finish(&ctx);
}

int api_housekeep(struct api *api)
{
	struct store_conn *c = store_conn_get(api->opts.store);
	int r = store_idem_purge(c, time_now_ms() - API_IDEMPOTENCY_TTL_MS);
	store_conn_put(c);
	return r;
}
