/* router: matches an HTTP method and a raw request path against patterns
 * such as "/v1/zones/{id}" or "/{bucket}/{key+}" ({name+} takes the rest of
 * the path and may only end a pattern). Segments are percent-decoded after
 * splitting, so an encoded "/" stays inside its segment. When several
 * patterns match, the one whose first differing segment is a literal wins. */
#pragma once

#include <stddef.h>

#include "arena.h"

#define ROUTER_MAX_PARAMS 8

enum router_result {
	ROUTER_FOUND = 0,
	ROUTER_NOT_FOUND,         /* no pattern matches the path */
	ROUTER_METHOD_NOT_ALLOWED,/* the path matches, the method does not */
	ROUTER_BAD_PATH,          /* the path is not valid (bad escape, NUL) */
};

struct router_param {
	const char *name;  /* borrowed from the router */
	const char *value; /* decoded, owned by the arena given to match */
};

struct router_match {
	const void *data;     /* what router_add was given for the route */
	const char *pattern;  /* the matched pattern, borrowed from the router */
	size_t nparams;       /* entries used in params */
	struct router_param params[ROUTER_MAX_PARAMS];
	char allow[64];       /* for ROUTER_METHOD_NOT_ALLOWED: "GET, POST" */
};

struct router;

/* Create an empty router. Caller frees with router_free(). */
struct router *router_new(void);
/* Free the router. Accepts NULL. */
void router_free(struct router *r);
/* Add a route; data is handed back on a match. Returns 0, -EINVAL for a bad
 * pattern, or -EEXIST when method and pattern are already routed. */
int router_add(struct router *r, const char *method, const char *pattern, const void *data);
/* Match method and raw path (without query). HEAD falls back to GET. Fills
 * ret (parameter values live in arena a) and returns a router_result. */
enum router_result router_match(const struct router *r, const char *method, const char *path,
				struct arena *a, struct router_match *ret);
/* The value of parameter name in a match, or NULL. */
const char *router_param(const struct router_match *m, const char *name);
/* Percent-decode n bytes of s into arena memory. Returns NULL on a bad
 * escape or an encoded NUL. */
char *router_unescape(struct arena *a, const char *s, size_t n);
