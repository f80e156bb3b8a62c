/* fuzz_router: router_match on the raw request line, against a router with
 * the real API's patterns plus S3-style ones with a {key+} rest parameter.
 *
 * The input is "METHOD PATH" (without a space the method is GET and the
 * whole input is the path). Every answer is compared with a small reference
 * matcher written from router.h's description: which route matches (literal
 * before parameter before rest at the first difference, then the longer
 * pattern, then the first added), the Allow list of a 405, and each
 * parameter's decoded value (complete, with no NUL before its end). */
#include <errno.h>
#include <stdbool.h>

#include "fuzz.h"
#include "lib/arena.h"
#include "lib/router.h"

static const struct route_def {
	const char *method;
	const char *pattern;
} routes[] = {
	/* the native API (src/api/api_system.c, src/api/api_zones.c) */
	{ "GET", "/v1/healthz" },
	{ "GET", "/v1/version" },
	{ "GET", "/metrics" },
	{ "POST", "/v1/zones" },
	{ "GET", "/v1/zones" },
	{ "GET", "/v1/zones/{id}" },
	{ "PATCH", "/v1/zones/{id}" },
	{ "DELETE", "/v1/zones/{id}" },
	/* S3-style object routes, where an encoded '/' may sit in a key */
	{ "GET", "/" },
	{ "GET", "/s3/{bucket}" },
	{ "PUT", "/s3/{bucket}" },
	{ "GET", "/s3/{bucket}/{key+}" },
	{ "PUT", "/s3/{bucket}/{key+}" },
	{ "DELETE", "/s3/{bucket}/{key+}" },
	/* path-style S3 at the root: loses to every /v1 route above */
	{ "GET", "/{bucket}/{key+}" },
	{ "POST", "/{bucket}/{key+}" },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

enum ref_kind { REF_LITERAL, REF_PARAM, REF_REST };

/* A pattern split by the reference, independently of router.c. */
struct ref_route {
	size_t nsegs;
	enum ref_kind kind[8];
	char text[8][32]; /* literal, or parameter name */
};

static struct router *router;
static struct ref_route refs[NROUTES];

static void ref_parse(const char *pattern, struct ref_route *rr)
{
	const char *p = pattern + 1;
	rr->nsegs = 0;
	while (*p) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		CHECK(rr->nsegs < 8 && len > 0 && len < 32);
		size_t i = rr->nsegs++;
		if (p[0] == '{' && len >= 4 && p[len - 2] == '+') {
			rr->kind[i] = REF_REST;
			memcpy(rr->text[i], p + 1, len - 3);
		} else if (p[0] == '{') {
			rr->kind[i] = REF_PARAM;
			memcpy(rr->text[i], p + 1, len - 2);
		} else {
			rr->kind[i] = REF_LITERAL;
			memcpy(rr->text[i], p, len);
		}
		if (!end)
			break;
		p = end + 1;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	router = router_new();
	for (size_t i = 0; i < NROUTES; i++) {
		CHECK(router_add(router, routes[i].method, routes[i].pattern, &routes[i]) == 0);
		ref_parse(routes[i].pattern, &refs[i]);
	}
	/* the refusals, once, so that their clean-up runs under LSan too */
	CHECK(router_add(router, "GET", "/v1/zones/{id}", NULL) == -EEXIST);
	static const char *const bad[] = { "", "v1", "/v1/", "/v1//x", "/{}", "/{a+}/b", "/{a",
					   "/a/{+}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(router_add(router, "GET", bad[i], NULL) == -EINVAL);
	CHECK(router_add(router, "AVERYLONGMETHODNAME", "/x", NULL) == -EINVAL);
	return 0;
}

/* The path split on '/' after the leading one ("/" has no segments). */
struct ref_path {
	size_t n;
	const char **start;
	size_t *len;
};

static void ref_split(const char *path, struct ref_path *rp)
{
	size_t slashes = 0;
	for (const char *p = path; *p; p++)
		slashes += *p == '/';
	rp->start = calloc(slashes + 1, sizeof(*rp->start));
	rp->len = calloc(slashes + 1, sizeof(*rp->len));
	CHECK(rp->start && rp->len);
	rp->n = 0;
	const char *p = path + 1;
	if (!*p)
		return;
	for (;;) {
		const char *end = strchr(p, '/');
		rp->start[rp->n] = p;
		rp->len[rp->n] = end ? (size_t)(end - p) : strlen(p);
		rp->n++;
		if (!end)
			return;
		p = end + 1;
	}
}

static bool ref_matches(const struct ref_route *rr, const struct ref_path *rp)
{
	bool rest = rr->nsegs > 0 && rr->kind[rr->nsegs - 1] == REF_REST;
	if (rest ? rp->n < rr->nsegs : rp->n != rr->nsegs)
		return false;
	for (size_t i = 0; i < rr->nsegs; i++) {
		if (rr->kind[i] == REF_LITERAL) {
			if (strlen(rr->text[i]) != rp->len[i] ||
			    memcmp(rr->text[i], rp->start[i], rp->len[i]) != 0)
				return false;
		} else if (rp->len[i] == 0) {
			return false;
		}
	}
	return true;
}

/* True when route a beats route b for the same path. */
static bool ref_better(const struct ref_route *a, const struct ref_route *b)
{
	for (size_t i = 0; i < a->nsegs && i < b->nsegs; i++)
		if (a->kind[i] != b->kind[i])
			return a->kind[i] < b->kind[i];
	return a->nsegs > b->nsegs;
}

/* Pick the route for method among those matching; -1 when none. */
static int ref_pick(const bool *match, const char *method)
{
	int best = -1;
	for (size_t i = 0; i < NROUTES; i++)
		if (match[i] && strcmp(routes[i].method, method) == 0 &&
		    (best < 0 || ref_better(&refs[i], &refs[best])))
			best = (int)i;
	return best;
}

/* Compare a found route's parameters with the reference decoding. Returns
 * false when the reference finds a parameter badly encoded. */
static bool ref_params_ok(int idx, const struct ref_path *rp, const struct router_match *m,
			  bool compare)
{
	const struct ref_route *rr = &refs[idx];
	size_t np = 0;
	for (size_t i = 0; i < rr->nsegs; i++) {
		if (rr->kind[i] == REF_LITERAL)
			continue;
		size_t len = rr->kind[i] == REF_REST ? strlen(rp->start[i]) : rp->len[i];
		char *want = malloc(len + 1);
		CHECK(want);
		long n = fuzz_unescape_ref(rp->start[i], len, want);
		if (n < 0) {
			free(want);
			return false;
		}
		if (compare) {
			const struct router_param *p = &m->params[np];
			CHECK(p->name && strcmp(p->name, rr->text[i]) == 0);
			CHECK(p->value != NULL);
			CHECK(strlen(p->value) == (size_t)n); /* no NUL before its end */
			CHECK(memcmp(p->value, want, (size_t)n) == 0);
			CHECK(router_param(m, rr->text[i]) == p->value);
		}
		free(want);
		np++;
	}
	if (compare)
		CHECK(m->nparams == np);
	return true;
}

static void check_match(const char *method, const char *path, enum router_result got,
			const struct router_match *m)
{
	if (path[0] != '/') {
		CHECK(got == ROUTER_BAD_PATH);
		return;
	}
	/* a bad escape anywhere in the path, matched or not, is a bad path */
	size_t plen = strlen(path);
	char *scratch = malloc(plen + 1);
	if (!scratch)
		abort();
	long dec = fuzz_unescape_ref(path, plen, scratch);
	free(scratch);
	if (dec < 0) {
		CHECK(got == ROUTER_BAD_PATH);
		return;
	}
	struct ref_path rp;
	ref_split(path, &rp);
	bool match[NROUTES];
	bool any = false;
	char allow[64] = "";
	for (size_t i = 0; i < NROUTES; i++) {
		match[i] = ref_matches(&refs[i], &rp);
		any |= match[i];
		if (match[i] && !strstr(allow, routes[i].method)) {
			size_t l = strlen(allow);
			snprintf(allow + l, sizeof(allow) - l, "%s%s", l ? ", " : "", routes[i].method);
		}
		/* wherever GET is served, HEAD is too */
		if (match[i] && strcmp(routes[i].method, "GET") == 0 && !strstr(allow, "HEAD")) {
			size_t l = strlen(allow);
			snprintf(allow + l, sizeof(allow) - l, ", HEAD");
		}
	}
	int idx = ref_pick(match, method);
	if (idx < 0 && strcmp(method, "HEAD") == 0)
		idx = ref_pick(match, "GET");

	if (idx < 0) {
		CHECK(got == (any ? ROUTER_METHOD_NOT_ALLOWED : ROUTER_NOT_FOUND));
		CHECK(m->nparams == 0 && m->pattern == NULL && m->data == NULL);
		if (any)
			CHECK(strcmp(m->allow, allow) == 0);
	} else if (!ref_params_ok(idx, &rp, m, false)) {
		CHECK(got == ROUTER_BAD_PATH);
	} else {
		CHECK(got == ROUTER_FOUND);
		CHECK(m->pattern != NULL && strcmp(m->pattern, routes[idx].pattern) == 0);
		CHECK(m->data == &routes[idx]);
		CHECK(m->allow[0] == '\0');
		ref_params_ok(idx, &rp, m, true);
	}
	free(rp.start);
	free(rp.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sp = memchr(data, ' ', size);
	char *method, *path;
	if (sp) {
		method = fuzz_strndup(data, (size_t)(sp - data));
		path = fuzz_strndup(sp + 1, size - (size_t)(sp - data) - 1);
	} else {
		method = fuzz_strndup((const uint8_t *)"GET", 3);
		path = fuzz_strndup(data, size);
	}
	struct arena *a = arena_new();
	struct router_match m;
	enum router_result r = router_match(router, method, path, a, &m);
	CHECK(r == ROUTER_FOUND || r == ROUTER_NOT_FOUND || r == ROUTER_METHOD_NOT_ALLOWED ||
	      r == ROUTER_BAD_PATH);
	check_match(method, path, r, &m);
	arena_free(a);
	free(method);
	free(path);
	return 0;
}
