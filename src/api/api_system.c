/* api_system: health, version and metrics endpoints. None of them needs
 * authentication: load balancers and Prometheus call them. */
#include <stdlib.h>

#include "api-priv.h"
#include "lib/timeutil.h"

static void healthz(struct api_ctx *ctx)
{
	double t0 = time_mono();
	int r = store_ping(ctx->api->opts.store);
	double ms = (time_mono() - t0) * 1000.0;
	if (r < 0) {
		api_fail(ctx, ERR_UNAVAILABLE, "", "the state store does not answer");
		return;
	}
	api_reply_json(ctx, 200, json_pack("{s:s, s:{s:s, s:f}}", "status", "ok", "store",
					   "status", "ok", "latency_ms", ms));
}

static void version(struct api_ctx *ctx)
{
	const struct api_opts *o = &ctx->api->opts;
	api_reply_json(ctx, 200,
		       json_pack("{s:s, s:s, s:s, s:i, s:i}", "version", o->version, "commit",
				 o->commit, "api", "v1", "schema_version",
				 store_schema_version(o->store), "schema_latest",
				 store_schema_latest()));
}

static void metrics(struct api_ctx *ctx)
{
	struct metrics *m = ctx->api->opts.metrics;
	struct buf b;
	buf_init(&b, 0);
	metrics_process_update(m);
	metrics_render(m, &b);
	size_t len;
	char *text = buf_detach(&b, &len);
	http_resp_take(ctx->req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

const struct api_route api_system_routes[] = {
	{ "GET", "/v1/healthz", healthz, API_PUBLIC, NULL, 0, NULL },
	{ "GET", "/v1/version", version, API_USER, NULL, 0, NULL },
	{ "GET", "/metrics", metrics, API_METRICS, NULL, 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
