/* router: see router.h. Routes are kept in a flat array and matched by a
 * linear scan: an API has tens of routes, and a scan of pre-split segments
 * costs less than the JSON work of any request. */
#include "router.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define ROUTER_MAX_SEGS 16

enum seg_kind { SEG_LITERAL, SEG_PARAM, SEG_REST };

struct seg {
	enum seg_kind kind;
	char *text; /* literal text, or parameter name */
};

struct route {
	char method[16];
	char *pattern;
	size_t nsegs;
	struct seg segs[ROUTER_MAX_SEGS];
	const void *data;
};

struct router {
	struct route *routes; /* owned array */
	size_t n;             /* routes in use */
	size_t cap;           /* routes allocated */
};

struct router *router_new(void)
{
	return xcalloc(1, sizeof(struct router));
}

void router_free(struct router *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->routes[i].pattern);
		for (size_t j = 0; j < r->routes[i].nsegs; j++)
			free(r->routes[i].segs[j].text);
	}
	free(r->routes);
	free(r);
}

static int parse_pattern(struct route *rt, const char *pattern)
{
	if (pattern[0] != '/')
		return -EINVAL;
	const char *p = pattern + 1;
	if (!*p)
		return 0; /* "/" has no segments */
	while (*p) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == 0 || rt->nsegs == ROUTER_MAX_SEGS)
			return -EINVAL;
		struct seg *s = &rt->segs[rt->nsegs];
		if (p[0] == '{') {
			if (len < 3 || p[len - 1] != '}')
				return -EINVAL;
			bool rest = p[len - 2] == '+';
			s->kind = rest ? SEG_REST : SEG_PARAM;
			s->text = xstrndup(p + 1, len - 2 - (rest ? 1 : 0));
			rt->nsegs++;
			if (!*s->text || (rest && end))
				return -EINVAL;
			size_t nparams = 0;
			for (size_t j = 0; j < rt->nsegs; j++)
				nparams += rt->segs[j].kind != SEG_LITERAL;
			if (nparams > ROUTER_MAX_PARAMS)
				return -EINVAL;
			for (size_t j = 0; j + 1 < rt->nsegs; j++)
				if (rt->segs[j].kind != SEG_LITERAL &&
				    strcmp(rt->segs[j].text, s->text) == 0)
					return -EINVAL; /* a parameter name used twice */
		} else {
			s->kind = SEG_LITERAL;
			s->text = xstrndup(p, len);
			rt->nsegs++;
		}
		if (!end)
			break;
		p = end + 1;
		if (!*p)
			return -EINVAL; /* trailing slash in a pattern */
	}
	return 0;
}

int router_add(struct router *r, const char *method, const char *pattern, const void *data)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->routes[i].method, method) == 0 &&
		    strcmp(r->routes[i].pattern, pattern) == 0)
			return -EEXIST;
	struct route rt = { 0 };
	if (!str_copy(rt.method, sizeof(rt.method), method))
		return -EINVAL;
	int ret = parse_pattern(&rt, pattern);
	if (ret < 0) {
		for (size_t j = 0; j < rt.nsegs; j++)
			free(rt.segs[j].text);
		return ret;
	}
	rt.pattern = xstrdup(pattern);
	rt.data = data;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->routes = xrealloc(r->routes, r->cap * sizeof(*r->routes));
	}
	r->routes[r->n++] = rt;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *router_unescape(struct arena *a, const char *s, size_t n)
{
	char *out = arena_alloc(a, n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 2 >= n)
				return NULL;
			int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return NULL;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '\0') {
			return NULL;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

struct path_segs {
	size_t n;
	const char *start[ROUTER_MAX_SEGS + 1];
	size_t len[ROUTER_MAX_SEGS + 1];
	bool too_many; /* more segments than any route can have */
};

static void split_path(const char *path, struct path_segs *ps)
{
	ps->n = 0;
	ps->too_many = false;
	const char *p = path + 1;
	if (!*p)
		return;
	for (;;) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (ps->n == ROUTER_MAX_SEGS + 1) {
			ps->too_many = true;
			return;
		}
		ps->start[ps->n] = p;
		ps->len[ps->n] = len;
		ps->n++;
		if (!end)
			return;
		p = end + 1;
	}
}

/* Compare how specific two matching routes are: the first segment where
 * they differ decides, literal before parameter before rest. */
static bool more_specific(const struct route *a, const struct route *b)
{
	size_t n = a->nsegs < b->nsegs ? a->nsegs : b->nsegs;
	for (size_t i = 0; i < n; i++)
		if (a->segs[i].kind != b->segs[i].kind)
			return a->segs[i].kind < b->segs[i].kind;
	return a->nsegs > b->nsegs;
}

static bool route_matches(const struct route *rt, const struct path_segs *ps)
{
	bool rest = rt->nsegs > 0 && rt->segs[rt->nsegs - 1].kind == SEG_REST;
	if (rest ? ps->n < rt->nsegs : ps->n != rt->nsegs)
		return false;
	if (ps->too_many && !rest)
		return false;
	for (size_t i = 0; i < rt->nsegs; i++) {
		const struct seg *s = &rt->segs[i];
		if (s->kind == SEG_LITERAL) {
			if (strlen(s->text) != ps->len[i] ||
			    memcmp(s->text, ps->start[i], ps->len[i]) != 0)
				return false;
		} else if (ps->len[i] == 0) {
			return false;
		}
	}
	return true;
}

static enum router_result fill_params(const struct route *rt, const struct path_segs *ps,
				      struct arena *a,
				      struct router_match *ret)
{
	ret->nparams = 0;
	for (size_t i = 0; i < rt->nsegs; i++) {
		const struct seg *s = &rt->segs[i];
		if (s->kind == SEG_LITERAL)
			continue;
		size_t len = s->kind == SEG_REST ? strlen(ps->start[i]) : ps->len[i];
		char *v = router_unescape(a, ps->start[i], len);
		if (!v)
			return ROUTER_BAD_PATH;
		if (ret->nparams == ROUTER_MAX_PARAMS)
			return ROUTER_BAD_PATH;
		ret->params[ret->nparams].name = s->text;
		ret->params[ret->nparams].value = v;
		ret->nparams++;
	}
	ret->data = rt->data;
	ret->pattern = rt->pattern;
	return ROUTER_FOUND;
}

/* True when every '%' in path starts a valid escape that is not %00. */
static bool escapes_valid(const char *path)
{
	for (const char *p = path; *p; p++) {
		if (*p != '%')
			continue;
		int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return false;
		p += 2;
	}
	return true;
}

static void add_allow(char *allow, size_t size, const char *method)
{
	if (strstr(allow, method))
		return;
	size_t len = strlen(allow);
	str_printf(allow + len, size - len, "%s%s", len ? ", " : "", method);
}

enum router_result router_match(const struct router *r, const char *method, const char *path,
				struct arena *a, struct router_match *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (path[0] != '/' || !escapes_valid(path))
		return ROUTER_BAD_PATH;
	struct path_segs ps;
	split_path(path, &ps);
	bool head = strcmp(method, "HEAD") == 0;
	const struct route *best = NULL, *best_get = NULL;
	bool path_known = false;
	for (size_t i = 0; i < r->n; i++) {
		const struct route *rt = &r->routes[i];
		if (!route_matches(rt, &ps))
			continue;
		path_known = true;
		add_allow(ret->allow, sizeof(ret->allow), rt->method);
		if (strcmp(rt->method, "GET") == 0)
			add_allow(ret->allow, sizeof(ret->allow), "HEAD");
		if (strcmp(rt->method, method) == 0) {
			if (!best || more_specific(rt, best))
				best = rt;
		} else if (head && strcmp(rt->method, "GET") == 0) {
			if (!best_get || more_specific(rt, best_get))
				best_get = rt;
		}
	}
	if (!best)
		best = best_get;
	if (best) {
		ret->allow[0] = '\0';
		return fill_params(best, &ps, a, ret);
	}
	return path_known ? ROUTER_METHOD_NOT_ALLOWED : ROUTER_NOT_FOUND;
}

const char *router_param(const struct router_match *m, const char *name)
{
	for (size_t i = 0; i < m->nparams; i++)
		if (strcmp(m->params[i].name, name) == 0)
			return m->params[i].value;
	return NULL;
}
