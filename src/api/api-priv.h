/* api-priv.h: what the API's resource files share. Not for other modules. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "api.h"
#include "compute/compute.h"
#include "lib/err.h"
#include "lib/ratelimit.h"
#include "lib/router.h"
#include "network/network.h"

/* How long an Idempotency-Key's answer is kept. */
#define API_IDEMPOTENCY_TTL_MS (24LL * 3600 * 1000)
/* Default and largest page sizes of lists. */
#define API_PAGE_DEFAULT 100
#define API_PAGE_MAX 1000

struct api {
	struct api_opts opts;        /* copy; pointers borrowed */
	struct router *router;       /* method + pattern -> const struct api_route * */
	struct ratelimit *login_user;/* failed logins per user name */
	struct ratelimit *login_addr;/* failed logins per client address */
	char epoch[17];              /* random per start: versions of one run are
					never mistaken for another's (hex) */
};

/* A host whose desired state a request changed (api_host_changed). */
struct api_changed_host {
	struct api_changed_host *next;
	char id[UUID_SIZE];
};

/* Who may call a route (checked before the handler runs). */
enum api_access {
	API_PUBLIC,   /* anyone, authenticated or not */
	API_USER,     /* any authenticated principal; the handler checks more */
	API_SYSADMIN, /* system administrators only */
	API_METRICS,  /* public unless the configuration restricts /metrics */
	API_HOST,     /* a host's agent, with its host credential */
};

/* Everything one request's handler works with. */
struct api_ctx {
	struct api *api;
	struct http_req *req;
	struct router_match match;  /* route and path parameters */
	struct store_conn *conn;    /* borrowed lazily by api_conn(), returned at the end */
	struct err err;             /* the error to report */
	json_t *body;               /* parsed body (api_body), freed at the end */
	bool authenticated;         /* principal is valid (a user) */
	struct principal principal; /* who makes the request */
	bool is_host;               /* an agent authenticated with a host credential */
	struct host host;           /* that host */
	/* for the audit event of a mutating request, set by handlers */
	const char *audit_type;     /* resource type, e.g. "zone" */
	char audit_id[128];         /* resource id; defaults to the {id} parameter */
	char audit_user[USER_NAME_MAX + 1]; /* user name when not authenticated (login) */
	char audit_user_id[UUID_SIZE];      /* user id when not authenticated (login) */
	char audit_project[UUID_SIZE];      /* project the action concerns */
	void *stream;               /* a streaming route's state (prepare -> handler) */
	bool stream_route;          /* the route streams its body (API_F_STREAM) */
	bool stream_done;           /* the streamed route's handler has run */
	/* set by a streaming route's prepare: undoes its state when the request
	 * ends without the handler (the client went away) */
	void (*stream_abort)(struct api_ctx *ctx);
	/* hosts to wake once the request's work is committed (arena) */
	struct api_changed_host *changed;
};

typedef void (*api_handler_fn)(struct api_ctx *ctx);

struct api_route {
	const char *method;
	const char *pattern;
	api_handler_fn fn;
	enum api_access access;
	const char *action;  /* audit action of a mutating route, e.g. "zone.create" */
	unsigned flags;      /* API_F_* */
	/* API_F_STREAM: runs once the headers are in (after authentication and
	 * the access rule) and sets up where the body goes (req->sink); NULL
	 * otherwise */
	api_handler_fn prepare;
};

/* The answer holds a secret: never stored for Idempotency-Key replay. */
#define API_F_SECRET 1u
/* The body is streamed to the route's sink (see prepare), never held in
 * memory; the handler runs its own transactions (it may take long, and
 * must not hold the store's write lock meanwhile). */
#define API_F_STREAM 2u

/* The route tables of the resource files, each ended by a NULL method. */
extern const struct api_route api_system_routes[];
extern const struct api_route api_zone_routes[];
extern const struct api_route api_auth_routes[];
extern const struct api_route api_user_routes[];
extern const struct api_route api_project_routes[];
extern const struct api_route api_access_key_routes[];
extern const struct api_route api_audit_routes[];
extern const struct api_route api_flavor_routes[];
extern const struct api_route api_image_routes[];
extern const struct api_route api_host_routes[];
extern const struct api_route api_instance_routes[];
extern const struct api_route api_keypair_routes[];
extern const struct api_route api_volume_routes[];
extern const struct api_route api_snapshot_routes[];
extern const struct api_route api_storage_pool_routes[];
extern const struct api_route api_web_routes[];
extern const struct api_route api_network_routes[];
extern const struct api_route api_port_routes[];
extern const struct api_route api_security_group_routes[];
extern const struct api_route api_floating_ip_routes[];

/* Note that this request changes the desired state of host_id: once its
 * work is committed (the answer is below 400), the host's long polls are
 * woken. */
void api_host_changed(struct api_ctx *ctx, const char *host_id);
/* The version of host_id's desired state: "<epoch>.<counter>". */
void api_host_version(struct api *api, const char *host_id, char out[48]);
/* The store connection for this request (borrowed on first use). */
struct store_conn *api_conn(struct api_ctx *ctx);
/* Path parameter name of the matched route (decoded), or NULL. */
const char *api_param(struct api_ctx *ctx, const char *name);
/* Parse the body as a JSON object whose keys are all in allowed. Returns a
 * borrowed object, or NULL after answering the error. */
json_t *api_body(struct api_ctx *ctx, const char *const allowed[]);
/* Like api_body, but an empty body counts as {}. */
json_t *api_body_optional(struct api_ctx *ctx, const char *const allowed[]);
/* Answer status with v as JSON (steals the reference). */
void api_reply_json(struct api_ctx *ctx, unsigned status, json_t *v);
/* Answer 201 with v, a Location of prefix/id, and id as the audited id. */
void api_reply_created(struct api_ctx *ctx, const char *prefix, const char *id, json_t *v);
/* The same with another status (202 for work that goes on after the answer). */
void api_reply_located(struct api_ctx *ctx, unsigned status, const char *prefix,
		       const char *id, json_t *v);
/* Answer status with no body. */
void api_reply_empty(struct api_ctx *ctx, unsigned status);
/* Answer with the error in ctx->err (code, message, field). */
void api_reply_error(struct api_ctx *ctx);
/* Answer with an error built here (sets ctx->err first). */
void api_fail(struct api_ctx *ctx, enum err_code code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Read the list parameters `limit` and `cursor`: ret_after is the key the
 * cursor points past (arena memory) or NULL. Returns 0, or -1 after
 * answering a 400. */
int api_page_params(struct api_ctx *ctx, size_t *ret_limit, const char **ret_after);
/* Wrap items as {"items": items, "next": cursor or null}; last_key is the
 * key of the last item when more follow, else NULL. Steals items. */
json_t *api_list(json_t *items, const char *last_key);
/* Shows one item of a list (NULL after a store error, ctx->err set). */
typedef json_t *(*api_item_fn)(struct api_ctx *ctx, const void *item);
/* Answer 200 with the page of n items (size bytes each) that show turns
 * into JSON, and last_key (or NULL: no more) as the cursor of the next
 * page; when show fails, answer its error instead. */
void api_reply_page(struct api_ctx *ctx, const void *items, size_t n, size_t size,
		    api_item_fn show, const char *last_key);
/* Read an optional query parameter; returns -1 after answering 400 when it
 * is badly encoded. */
int api_query(struct api_ctx *ctx, const char *name, const char **ret);
/* Largest console offset taken (2^53, exact in JSON numbers). */
#define API_CONSOLE_OFFSET_MAX (1ULL << 53)
/* Read query parameter name as a whole number from 0 to max into *ret
 * (left alone when absent; *ret_present tells). Answers 400 and returns -1
 * when it is badly formed. */
int api_query_u64(struct api_ctx *ctx, const char *name, uint64_t max, uint64_t *ret,
		  bool *ret_present);
/* Resolve project id_or_name and check that the caller holds at least
 * min_role in it. Answers 404 (not visible: no role at all) or 403 (role
 * too low) and returns -1; else fills ret and returns 0. */
int api_project_access(struct api_ctx *ctx, const char *id_or_name, enum role min_role,
		       struct project *ret);
/* True when the caller is a system administrator. */
bool api_is_sysadmin(const struct api_ctx *ctx);
/* Check that the caller may create `what` ("volumes") in its token's
 * project: a project scope and the member role. 0, or -1 after a 4xx. */
int api_creating_in_project(struct api_ctx *ctx, const char *what);
/* The active image ref (id or name) visible to the caller's project, in
 * ret. 0, or -1 after a 400 naming the field "image". */
int api_active_image(struct api_ctx *ctx, const char *ref, struct image *ret);
/* A job as the API shows it (new reference). */
json_t *api_job_json(const struct job *j);
/* The project scope a tenant call acts in; NULL for a system
 * administrator's system-scoped token (every project). */
const char *api_scope(const struct api_ctx *ctx);
/* After looking up {id} among the caller's project resources (lookup is
 * the look-up's result): answer its error, or note the resource for the
 * audit and check that the caller holds at least `need`. 0 to go on. */
int api_owned(struct api_ctx *ctx, int lookup, const char *id, const char *project_id,
	      enum role need);
/* Answer with an active image's stored file (409 before it is active). */
void api_send_image(struct api_ctx *ctx, const struct image *im);
/* An image as the API shows it (new reference). */
json_t *api_image_json(const struct image *im);
/* From a streaming route's prepare: take the body as the bytes of image
 * image_id (queued). 0, or -1 after answering the error. */
int api_image_upload_begin(struct api_ctx *ctx, const char *image_id);
/* From that route's handler: finish the upload (checking X-Image-Sha256
 * when sent); fills ret with the active image. 0, or -1 after answering
 * the error. */
int api_image_upload_end(struct api_ctx *ctx, struct image *ret);
/* Path of the console log nubod keeps for instance id. Caller frees. */
char *api_console_path(struct api_ctx *ctx, const char *id);
/* Note that a change of `id` (of kind scope) alters the desired network
 * state of the hosts net_hosts() finds: they are woken once the request's
 * work is committed. 0, or -1 with ctx->err set. */
int api_net_changed(struct api_ctx *ctx, enum net_scope scope, const char *id);
/* Read body member "security_groups" (absent: n = 0), a list of group
 * names or ids of project_id, into their ids (an array and strings in
 * arena memory). 0, or -1 after answering a 400. */
int api_body_groups(struct api_ctx *ctx, json_t *b, const char *project_id,
		    const char *const **ret, size_t *ret_n);
/* A port as the API shows it (new reference); NULL after a store error
 * (ctx->err set). */
json_t *api_port_json(struct api_ctx *ctx, const void *port);
/* The network state of ctx->host for its agent, added to o (see
 * docs/api.md: "networks", "security_groups", "external_network"), and
 * each instance's "nics" in items. 0, or -1 with ctx->err set. */
int api_host_network_state(struct api_ctx *ctx, json_t *o, json_t *items);
/* Prepare hook for streamed bodies (an http_prepare_fn; userdata is the api). */
void api_prepare(struct http_req *req, void *userdata);
