/* test_lib: unit tests of src/lib, the building blocks: router, jsonreq,
 * base64url (what pagination cursors are made of), config, buf, arena,
 * util, iso3166, timeutil, crypto, metrics, log levels, err and the notify
 * board. */
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "unit.h"

#include "lib/arena.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "lib/crypto.h"
#include "lib/err.h"
#include "lib/http.h"
#include "lib/idxmap.h"
#include "lib/iso3166.h"
#include "lib/jsonreq.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/notify.h"
#include "lib/router.h"
#include "lib/sshkey.h"
#include "lib/timeutil.h"
#include "lib/util.h"
#include "lib/webroot.h"

/* ------------------------------------------------------------------ router */

/* Distinct addresses to hand the router as route data. */
static const char R_ZONES_LIST = 0, R_ZONES_CREATE = 0, R_ZONE_GET = 0, R_ZONE_DEFAULT = 0,
		  R_ZONE_DELETE = 0, R_ZONE_HEAD = 0, R_OBJ_GET = 0, R_OBJ_PUT = 0,
		  R_BUCKET_GET = 0, R_ROOT = 0, R_ZONE_START = 0;

/* A router shaped like the API: the literal route is added after the
 * parameter route it shadows, so insertion order cannot be what wins. */
static struct router *api_router(void)
{
	struct router *r = router_new();
	assert_int_equal(router_add(r, "GET", "/v1/zones", &R_ZONES_LIST), 0);
	assert_int_equal(router_add(r, "POST", "/v1/zones", &R_ZONES_CREATE), 0);
	assert_int_equal(router_add(r, "GET", "/v1/zones/{id}", &R_ZONE_GET), 0);
	assert_int_equal(router_add(r, "DELETE", "/v1/zones/{id}", &R_ZONE_DELETE), 0);
	assert_int_equal(router_add(r, "POST", "/v1/zones/{id}/start", &R_ZONE_START), 0);
	assert_int_equal(router_add(r, "GET", "/v1/zones/default", &R_ZONE_DEFAULT), 0);
	return r;
}

static void test_router_literal_beats_parameter(void **state)
{
	struct router *r = api_router();
	struct arena *a = arena_new();
	struct router_match m;

	assert_int_equal(router_match(r, "GET", "/v1/zones/default", a, &m), ROUTER_FOUND);
	assert_ptr_equal(m.data, &R_ZONE_DEFAULT);
	assert_string_equal(m.pattern, "/v1/zones/default");
	assert_int_equal(m.nparams, 0);

	assert_int_equal(router_match(r, "GET", "/v1/zones/defaults", a, &m), ROUTER_FOUND);
	assert_ptr_equal(m.data, &R_ZONE_GET);
	assert_string_equal(m.pattern, "/v1/zones/{id}");
	assert_int_equal(m.nparams, 1);
	assert_string_equal(m.params[0].name, "id");
	assert_string_equal(router_param(&m, "id"), "defaults");
	assert_null(router_param(&m, "name"));
	assert_string_equal(m.allow, "");

	assert_int_equal(router_match(r, "GET", "/v1/zones", a, &m), ROUTER_FOUND);
	assert_ptr_equal(m.data, &R_ZONES_LIST);
	assert_int_equal(router_match(r, "POST", "/v1/zones", a, &m), ROUTER_FOUND);
	assert_ptr_equal(m.data, &R_ZONES_CREATE);
	assert_int_equal(router_match(r, "POST", "/v1/zones/z1/start", a, &m), ROUTER_FOUND);
	assert_ptr_equal(m.data, &R_ZONE_START);
	assert_string_equal(router_param(&m, "id"), "z1");

	/* the first differing segment decides, whatever comes later */
	struct router *r2 = router_new();
	assert_int_equal(router_add(r2, "GET", "/{a}/x", &R_ZONE_GET), 0);
	assert_int_equal(router_add(r2, "GET", "/y/{b}", &R_ZONE_DEFAULT), 0);
	assert_int_equal(router_match(r2, "GET", "/y/x", a, &m), ROUTER_FOUND);
	assert_ptr_equal(m.data, &R_ZONE_DEFAULT);
	assert_string_equal(router_param(&m, "b"), "x");
	router_free(r2);

	arena_free(a);
	router_free(r);
}

static void test_router_not_found(void **state)
{
	struct router *r = api_router();
	struct arena *a = arena_new();
	struct router_match m;

	assert_int_equal(router_match(r, "GET", "/v2/zones", a, &m), ROUTER_NOT_FOUND);
	assert_int_equal(router_match(r, "GET", "/", a, &m), ROUTER_NOT_FOUND);
	assert_int_equal(router_match(r, "GET", "/v1", a, &m), ROUTER_NOT_FOUND);
	/* an empty segment is not a parameter value */
	assert_int_equal(router_match(r, "GET", "/v1/zones/", a, &m), ROUTER_NOT_FOUND);
	assert_int_equal(router_match(r, "GET", "/v1//zones", a, &m), ROUTER_NOT_FOUND);
	assert_int_equal(router_match(r, "GET", "/v1/zones/a/b", a, &m), ROUTER_NOT_FOUND);
	/* literals compare exactly, case included */
	assert_int_equal(router_match(r, "GET", "/V1/zones", a, &m), ROUTER_NOT_FOUND);
	assert_null(m.data);
	arena_free(a);
	router_free(r);
}

static void test_router_rest_parameter(void **state)
{
	struct router *r = router_new();
	struct arena *a = arena_new();
	struct router_match m;
	assert_int_equal(router_add(r, "GET", "/{bucket}/{key+}", &R_OBJ_GET), 0);
	assert_int_equal(router_add(r, "PUT", "/{bucket}/{key+}", &R_OBJ_PUT), 0);
	assert_int_equal(router_add(r, "GET", "/{bucket}", &R_BUCKET_GET), 0);
	assert_int_equal(router_add(r, "GET", "/", &R_ROOT), 0);

	assert_int_equal(router_match(r, "GET", "/photos/2024/05/cat.jpg", a, &m), ROUTER_FOUND);
	assert_ptr_equal(m.data, &R_OBJ_GET);
	assert_int_equal(m.nparams, 2);
	assert_string_equal(router_param(&m, "bucket"), "photos");
	assert_string_equal(router_param(&m, "key"), "2024/05/cat.jpg");

	assert_int_equal(router_match(r, "PUT", "/photos/a", a, &m), ROUTER_FOUND);
	assert_ptr_equal(m.data, &R_OBJ_PUT);
	assert_string_equal(router_param(&m, "key"), "a");

	/* the rest may itself hold empty segments and a trailing slash */
	assert_int_equal(router_match(r, "GET", "/photos/dir//x/", a, &m), ROUTER_FOUND);
	assert_string_equal(router_param(&m, "key"), "dir//x/");

	assert_int_equal(router_match(r, "GET", "/photos", a, &m), ROUTER_FOUND);
	assert_ptr_equal(m.data, &R_BUCKET_GET);
	assert_int_equal(router_match(r, "GET", "/", a, &m), ROUTER_FOUND);
	assert_ptr_equal(m.data, &R_ROOT);
	assert_int_equal(m.nparams, 0);

	/* an empty rest is no match */
	assert_int_equal(router_match(r, "GET", "/photos/", a, &m), ROUTER_NOT_FOUND);

	/* a rest parameter takes paths longer than any pattern can be */
	char deep[256] = "/b";
	for (int i = 0; i < 30; i++) {
		size_t len = strlen(deep);
		snprintf(deep + len, sizeof(deep) - len, "/s%d", i);
	}
	assert_int_equal(router_match(r, "GET", deep, a, &m), ROUTER_FOUND);
	assert_ptr_equal(m.data, &R_OBJ_GET);
	assert_string_equal(router_param(&m, "bucket"), "b");
	assert_string_equal(router_param(&m, "key"), deep + 3);
	arena_free(a);
	router_free(r);
}

static void test_router_percent_decoding(void **state)
{
	struct router *r = api_router();
	struct arena *a = arena_new();
	struct router_match m;

	/* an encoded slash stays inside its segment */
	assert_int_equal(router_match(r, "GET", "/v1/zones/a%2Fb", a, &m), ROUTER_FOUND);
	assert_ptr_equal(m.data, &R_ZONE_GET);
	assert_string_equal(router_param(&m, "id"), "a/b");
	assert_int_equal(router_match(r, "GET", "/v1/zones/%2f", a, &m), ROUTER_FOUND);
	assert_string_equal(router_param(&m, "id"), "/");
	assert_int_equal(router_match(r, "GET", "/v1/zones/caf%C3%A9%20x+y", a, &m), ROUTER_FOUND);
	assert_string_equal(router_param(&m, "id"), "caf\xc3\xa9 x+y");
	/* decoding happens after matching: an encoded literal is a parameter */
	assert_int_equal(router_match(r, "GET", "/v1/zones/%64efault", a, &m), ROUTER_FOUND);
	assert_ptr_equal(m.data, &R_ZONE_GET);
	assert_string_equal(router_param(&m, "id"), "default");

	struct router *s3 = router_new();
	assert_int_equal(router_add(s3, "GET", "/{bucket}/{key+}", &R_OBJ_GET), 0);
	assert_int_equal(router_match(s3, "GET", "/b%2Fc/k%20x/y%2Fz", a, &m), ROUTER_FOUND);
	assert_string_equal(router_param(&m, "bucket"), "b/c");
	assert_string_equal(router_param(&m, "key"), "k x/y/z");
	router_free(s3);

	arena_free(a);
	router_free(r);
}

static void test_router_bad_path(void **state)
{
	struct router *r = api_router();
	struct arena *a = arena_new();
	struct router_match m;
	static const char *const bad[] = {
		"/v1/zones/a%zz", "/v1/zones/a%2",  "/v1/zones/a%",   "/v1/zones/%00",
		"/v1/zones/%g0",  "/v1/zones/x%0",  "/v1/zones/%%41", "/v1/zones/%00/start",
		"/v1%zz/zones",   "/nowhere/%00",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&m, 0xff, sizeof(m));
		enum router_result res = router_match(r, "GET", bad[i], a, &m);
		if (strstr(bad[i], "/start"))
			res = router_match(r, "POST", bad[i], a, &m);
		if (res != ROUTER_BAD_PATH)
			fail_msg("%s gave %d, not ROUTER_BAD_PATH", bad[i], res);
	}
	/* a path must start with '/' */
	assert_int_equal(router_match(r, "GET", "v1/zones", a, &m), ROUTER_BAD_PATH);
	assert_int_equal(router_match(r, "GET", "", a, &m), ROUTER_BAD_PATH);

	/* router_unescape on its own */
	char *s = router_unescape(a, "a%41%7e+%2F", strlen("a%41%7e+%2F"));
	assert_non_null(s);
	assert_string_equal(s, "aA~+/");
	/* n bounds the input: an escape cut by n is bad */
	assert_null(router_unescape(a, "ab%41", 4));
	s = router_unescape(a, "ab%41", 2);
	assert_non_null(s);
	assert_string_equal(s, "ab");
	assert_null(router_unescape(a, "%00", 3));
	assert_null(router_unescape(a, "%0", 2));
	s = router_unescape(a, "", 0);
	assert_non_null(s);
	assert_string_equal(s, "");
	arena_free(a);
	router_free(r);
}

static void test_router_method_not_allowed(void **state)
{
	struct router *r = api_router();
	struct arena *a = arena_new();
	struct router_match m;

	assert_int_equal(router_match(r, "PUT", "/v1/zones", a, &m), ROUTER_METHOD_NOT_ALLOWED);
	assert_string_equal(m.allow, "GET, HEAD, POST");
	assert_null(m.data);
	assert_int_equal(router_match(r, "PATCH", "/v1/zones/x", a, &m), ROUTER_METHOD_NOT_ALLOWED);
	assert_string_equal(m.allow, "GET, HEAD, DELETE");
	/* /v1/zones/default matches the literal GET and the {id} routes */
	assert_int_equal(router_match(r, "POST", "/v1/zones/default", a, &m),
			 ROUTER_METHOD_NOT_ALLOWED);
	assert_string_equal(m.allow, "GET, HEAD, DELETE");
	assert_int_equal(router_match(r, "GET", "/v1/zones/x/start", a, &m),
			 ROUTER_METHOD_NOT_ALLOWED);
	assert_string_equal(m.allow, "POST");
	arena_free(a);
	router_free(r);
}

static void test_router_head_falls_back_to_get(void **state)
{
	struct router *r = api_router();
	struct arena *a = arena_new();
	struct router_match m;

	assert_int_equal(router_match(r, "HEAD", "/v1/zones/z9", a, &m), ROUTER_FOUND);
	assert_ptr_equal(m.data, &R_ZONE_GET);
	assert_string_equal(router_param(&m, "id"), "z9");
	assert_int_equal(router_match(r, "HEAD", "/v1/zones/default", a, &m), ROUTER_FOUND);
	assert_ptr_equal(m.data, &R_ZONE_DEFAULT);
	/* no GET on the path: HEAD is not allowed */
	assert_int_equal(router_match(r, "HEAD", "/v1/zones/z9/start", a, &m),
			 ROUTER_METHOD_NOT_ALLOWED);
	assert_string_equal(m.allow, "POST");
	/* other methods do not fall back */
	assert_int_equal(router_match(r, "OPTIONS", "/v1/zones/z9", a, &m),
			 ROUTER_METHOD_NOT_ALLOWED);
	/* an explicit HEAD route wins over the GET one */
	assert_int_equal(router_add(r, "HEAD", "/v1/zones/{id}", &R_ZONE_HEAD), 0);
	assert_int_equal(router_match(r, "HEAD", "/v1/zones/z9", a, &m), ROUTER_FOUND);
	assert_ptr_equal(m.data, &R_ZONE_HEAD);
	arena_free(a);
	router_free(r);
}

static void test_router_add_errors(void **state)
{
	struct router *r = router_new();
	assert_int_equal(router_add(r, "GET", "/v1/zones/{id}", &R_ZONE_GET), 0);
	assert_int_equal(router_add(r, "GET", "/v1/zones/{id}", &R_ZONE_DEFAULT), -EEXIST);
	assert_int_equal(router_add(r, "DELETE", "/v1/zones/{id}", &R_ZONE_DELETE), 0);
	assert_int_equal(router_add(r, "DELETE", "/v1/zones/{id}", &R_ZONE_DELETE), -EEXIST);

	static const char *const bad[] = {
		"",          "v1/zones",   "/v1/",     "/v1//zones", "/{}",
		"/{+}",      "/{a+}/b",    "/{a",      "/{",         "/a/{id}/",
		"//",        "/x/{ab}c/y", "/x/{id}/{id}", "/x/{id}/{id+}",
		"/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int ret = router_add(r, "GET", bad[i], &R_ROOT);
		if (ret != -EINVAL)
			fail_msg("pattern '%s' gave %d, not -EINVAL", bad[i], ret);
	}
	/* sixteen segments is the most a pattern may have */
	assert_int_equal(router_add(r, "GET", "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16", &R_ROOT),
			 0);
	/* a method name that does not fit */
	assert_int_equal(router_add(r, "AVERYLONGMETHODNAME", "/x", &R_ROOT), -EINVAL);

	/* the router still works after the refusals */
	struct arena *a = arena_new();
	struct router_match m;
	assert_int_equal(router_match(r, "GET", "/v1/zones/q", a, &m), ROUTER_FOUND);
	assert_ptr_equal(m.data, &R_ZONE_GET);
	assert_int_equal(router_match(r, "GET", "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16", a, &m),
			 ROUTER_FOUND);
	assert_ptr_equal(m.data, &R_ROOT);
	assert_int_equal(router_match(r, "GET", "/x", a, &m), ROUTER_NOT_FOUND);
	arena_free(a);
	router_free(r);
	router_free(NULL);
}

/* ----------------------------------------------------------------- jsonreq */

static json_t *parse(const char *body, struct err *err)
{
	err_clear(err);
	return json_req_parse(body, strlen(body), err);
}

static void test_json_parse(void **state)
{
	struct err err;
	json_t *v = parse("{\"name\": \"a\", \"n\": 1}", &err);
	assert_non_null(v);
	assert_int_equal(err.code, ERR_NONE);
	assert_int_equal(json_object_size(v), 2);
	json_decref(v);

	err_clear(&err);
	assert_null(json_req_parse("", 0, &err));
	assert_int_equal(err.code, ERR_MALFORMED);
	assert_string_equal(err.message, "the request body is empty; send a JSON object");

	assert_null(parse("{\"name\": ", &err));
	assert_int_equal(err.code, ERR_MALFORMED);
	assert_string_equal(err.field, "");
	assert_true(strncmp(err.message, "malformed JSON at line 1, column ", 33) == 0);

	assert_null(parse("{\"a\": 1}\n{\"b\": 2}", &err));
	assert_int_equal(err.code, ERR_MALFORMED);
	assert_null(parse("{'a': 1}", &err));
	assert_int_equal(err.code, ERR_MALFORMED);
	assert_null(parse("{\"a\": \"x\\u0000y\"}", &err));
	assert_int_equal(err.code, ERR_MALFORMED);

	assert_null(parse("[1, 2]", &err));
	assert_int_equal(err.code, ERR_MALFORMED);
	assert_string_equal(err.message, "the request body must be a JSON object");
	/* jansson refuses a bare scalar while parsing */
	static const char *const scalars[] = { "\"text\"", "42", "null", "true" };
	for (size_t i = 0; i < ARRAY_SIZE(scalars); i++) {
		assert_null(parse(scalars[i], &err));
		assert_int_equal(err.code, ERR_MALFORMED);
	}

	/* duplicate keys are refused, nested ones too */
	assert_null(parse("{\"name\": \"a\", \"name\": \"b\"}", &err));
	assert_int_equal(err.code, ERR_MALFORMED);
	assert_non_null(strstr(err.message, "duplicate"));
	assert_null(parse("{\"o\": {\"k\": 1, \"k\": 1}}", &err));
	assert_int_equal(err.code, ERR_MALFORMED);

	/* len bounds the input: the rest of the buffer is not read */
	const char *body = "{\"a\": 1}garbage";
	err_clear(&err);
	v = json_req_parse(body, 8, &err);
	assert_non_null(v);
	json_decref(v);
}

static void test_json_only(void **state)
{
	static const char *const allowed[] = { "name", "description", "jurisdiction", NULL };
	struct err err;
	json_t *v = parse("{\"name\": \"a\", \"jurisdiction\": \"FR\"}", &err);
	assert_non_null(v);
	assert_int_equal(json_req_only(v, allowed, &err), 0);
	assert_int_equal(err.code, ERR_NONE);
	json_decref(v);

	v = parse("{\"name\": \"a\", \"nmae\": \"b\"}", &err);
	assert_non_null(v);
	assert_int_equal(json_req_only(v, allowed, &err), -ERR_INVALID);
	assert_int_equal(err.code, ERR_INVALID);
	assert_string_equal(err.field, "nmae");
	assert_string_equal(err.message, "unknown field 'nmae'");
	json_decref(v);

	/* a long unknown key is shown cut, never overflowing err.field */
	char body[256];
	char key[101];
	memset(key, 'k', 100);
	key[100] = '\0';
	snprintf(body, sizeof(body), "{\"%s\": 1}", key);
	v = parse(body, &err);
	assert_non_null(v);
	assert_int_equal(json_req_only(v, allowed, &err), -ERR_INVALID);
	assert_int_equal(strlen(err.field), 63);
	assert_true(strncmp(err.field, key, 63) == 0);
	json_decref(v);

	v = parse("{}", &err);
	assert_int_equal(json_req_only(v, allowed, &err), 0);
	json_decref(v);
}

static void test_json_string(void **state)
{
	struct err err;
	const char *s = "unchanged";
	json_t *v = parse("{\"name\": \"zone-1\", \"n\": 5, \"e\": \"\", \"nul\": null,"
			  " \"fr\": \"\xc3\xa9t\xc3\xa9\", \"jp\": \"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\","
			  " \"emoji\": \"\xf0\x9f\x98\x80\","
			  " \"ctl\": \"a\\u0001b\", \"nl\": \"a\\nb\", \"tab\": \"a\\tb\","
			  " \"del\": \"a\\u007fb\", \"esc\": \"\\u001b[0m\"}",
			  &err);
	assert_non_null(v);

	assert_int_equal(json_req_string(v, "name", true, 63, false, &s, &err), 0);
	assert_string_equal(s, "zone-1");
	assert_int_equal(json_req_string(v, "e", true, 63, false, &s, &err), 0);
	assert_string_equal(s, "");

	/* absent: fine unless required */
	s = "unchanged";
	assert_int_equal(json_req_string(v, "description", false, 10, false, &s, &err), 0);
	assert_null(s);
	err_clear(&err);
	assert_int_equal(json_req_string(v, "description", true, 10, false, &s, &err), -ERR_INVALID);
	assert_int_equal(err.code, ERR_INVALID);
	assert_string_equal(err.field, "description");
	assert_string_equal(err.message, "field 'description' is required");

	/* wrong types */
	assert_int_equal(json_req_string(v, "n", false, 10, false, &s, &err), -ERR_INVALID);
	assert_string_equal(err.field, "n");
	assert_string_equal(err.message, "field 'n' must be a string");
	assert_int_equal(json_req_string(v, "nul", false, 10, false, &s, &err), -ERR_INVALID);
	assert_string_equal(err.field, "nul");

	/* the limit counts characters, not bytes */
	assert_int_equal(json_req_string(v, "fr", true, 3, false, &s, &err), 0);
	assert_string_equal(s, "\xc3\xa9t\xc3\xa9");
	assert_int_equal(json_req_string(v, "fr", true, 2, false, &s, &err), -ERR_INVALID);
	assert_string_equal(err.field, "fr");
	assert_string_equal(err.message, "field 'fr' is longer than 2 characters");
	assert_int_equal(json_req_string(v, "jp", true, 3, false, &s, &err), 0);
	assert_int_equal(json_req_string(v, "jp", true, 2, false, &s, &err), -ERR_INVALID);
	assert_int_equal(json_req_string(v, "emoji", true, 1, false, &s, &err), 0);
	assert_int_equal(json_req_string(v, "emoji", true, 0, false, &s, &err), -ERR_INVALID);
	assert_int_equal(json_req_string(v, "name", true, 6, false, &s, &err), 0);
	assert_int_equal(json_req_string(v, "name", true, 5, false, &s, &err), -ERR_INVALID);
	assert_string_equal(err.message, "field 'name' is longer than 5 characters");

	/* control characters */
	assert_int_equal(json_req_string(v, "ctl", true, 10, true, &s, &err), -ERR_INVALID);
	assert_string_equal(err.field, "ctl");
	assert_string_equal(err.message, "field 'ctl' must not contain control characters");
	assert_int_equal(json_req_string(v, "del", true, 10, true, &s, &err), -ERR_INVALID);
	assert_string_equal(err.field, "del");
	assert_int_equal(json_req_string(v, "esc", true, 10, true, &s, &err), -ERR_INVALID);
	assert_int_equal(json_req_string(v, "nl", true, 10, false, &s, &err), -ERR_INVALID);
	assert_string_equal(err.field, "nl");
	assert_int_equal(json_req_string(v, "tab", true, 10, false, &s, &err), -ERR_INVALID);
	assert_int_equal(json_req_string(v, "nl", true, 10, true, &s, &err), 0);
	assert_string_equal(s, "a\nb");
	assert_int_equal(json_req_string(v, "tab", true, 10, true, &s, &err), 0);
	assert_string_equal(s, "a\tb");
	json_decref(v);

	/* an embedded NUL (possible in a jansson string built in code) */
	v = json_object();
	json_object_set_new(v, "k", json_stringn("a\0b", 3));
	assert_int_equal(json_req_string(v, "k", true, 10, true, &s, &err), -ERR_INVALID);
	assert_string_equal(err.field, "k");
	assert_string_equal(err.message, "field 'k' must not contain NUL");
	json_decref(v);
}

static void test_json_int_and_bool(void **state)
{
	struct err err;
	json_t *v = parse("{\"count\": 10, \"zero\": 0, \"neg\": -5, \"big\": 9223372036854775807,"
			  " \"real\": 5.0, \"str\": \"5\", \"t\": true, \"f\": false, \"yes\": \"yes\","
			  " \"one\": 1}",
			  &err);
	assert_non_null(v);
	int64_t n = 77;
	bool present = true;

	assert_int_equal(json_req_int(v, "count", true, 1, 10, &n, &present, &err), 0);
	assert_int_equal(n, 10);
	assert_true(present);
	assert_int_equal(json_req_int(v, "neg", true, -5, 0, &n, &present, &err), 0);
	assert_int_equal(n, -5);
	assert_int_equal(json_req_int(v, "big", true, 0, INT64_MAX, &n, NULL, &err), 0);
	assert_true(n == INT64_MAX);

	n = 77;
	assert_int_equal(json_req_int(v, "zero", true, 1, 10, &n, &present, &err), -ERR_INVALID);
	assert_string_equal(err.field, "zero");
	assert_string_equal(err.message, "field 'zero' must be between 1 and 10");
	assert_int_equal(n, 77);
	assert_false(present);
	assert_int_equal(json_req_int(v, "count", true, 1, 9, &n, &present, &err), -ERR_INVALID);
	assert_int_equal(n, 77);

	static const char *const not_ints[] = { "real", "str", "t" };
	for (size_t i = 0; i < ARRAY_SIZE(not_ints); i++) {
		err_clear(&err);
		assert_int_equal(json_req_int(v, not_ints[i], true, 0, 10, &n, &present, &err),
				 -ERR_INVALID);
		assert_string_equal(err.field, not_ints[i]);
		char msg[64];
		snprintf(msg, sizeof(msg), "field '%s' must be an integer", not_ints[i]);
		assert_string_equal(err.message, msg);
	}

	present = true;
	assert_int_equal(json_req_int(v, "missing", false, 0, 10, &n, &present, &err), 0);
	assert_false(present);
	assert_int_equal(n, 77);
	assert_int_equal(json_req_int(v, "missing", true, 0, 10, &n, &present, &err), -ERR_INVALID);
	assert_string_equal(err.message, "field 'missing' is required");

	bool b = false;
	assert_int_equal(json_req_bool(v, "t", true, &b, &present, &err), 0);
	assert_true(b);
	assert_true(present);
	assert_int_equal(json_req_bool(v, "f", true, &b, &present, &err), 0);
	assert_false(b);
	b = true;
	assert_int_equal(json_req_bool(v, "yes", true, &b, &present, &err), -ERR_INVALID);
	assert_string_equal(err.field, "yes");
	assert_string_equal(err.message, "field 'yes' must be true or false");
	assert_true(b);
	assert_false(present);
	assert_int_equal(json_req_bool(v, "one", true, &b, &present, &err), -ERR_INVALID);
	assert_int_equal(json_req_bool(v, "missing", false, &b, &present, &err), 0);
	assert_false(present);
	assert_true(b);
	assert_int_equal(json_req_bool(v, "missing", true, &b, &present, &err), -ERR_INVALID);
	assert_string_equal(err.field, "missing");
	json_decref(v);

	/* dump */
	v = json_pack("{s:i}", "a", 1);
	size_t len = 0;
	char *text = json_req_dump(v, &len);
	assert_string_equal(text, "{\"a\":1}");
	assert_int_equal(len, 7);
	free(text);
	json_decref(v);
}

/* --------------------------------------------------------------- base64url */

static void test_base64url_vectors(void **state)
{
	/* RFC 4648 section 10, without padding */
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const coded[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE",
					     "Zm9vYmFy" };
	for (size_t i = 0; i < ARRAY_SIZE(plain); i++) {
		char *e = base64url_encode(plain[i], strlen(plain[i]));
		assert_string_equal(e, coded[i]);
		free(e);
		unsigned char *d = NULL;
		size_t len = 99;
		assert_int_equal(base64url_decode(coded[i], &d, &len), 0);
		assert_int_equal(len, strlen(plain[i]));
		assert_memory_equal(d, plain[i], len);
		assert_int_equal(d[len], '\0');
		free(d);
	}
	/* the URL alphabet: '-' and '_' where standard base64 has '+' and '/' */
	static const unsigned char hi[] = { 0xfb, 0xff, 0xbf };
	char *e = base64url_encode(hi, 3);
	assert_string_equal(e, "-_-_");
	free(e);
	e = base64url_encode(hi, 2);
	assert_string_equal(e, "-_8");
	free(e);
}

static void test_base64url_round_trip(void **state)
{
	unsigned char data[80];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 37 + 11);
	data[0] = 0x00;
	data[1] = 0xff;
	for (size_t n = 0; n <= sizeof(data); n++) {
		char *e = base64url_encode(data, n);
		assert_int_equal(strlen(e), (n * 4 + 2) / 3);
		assert_null(strpbrk(e, "+/="));
		unsigned char *d = NULL;
		size_t len = 0;
		assert_int_equal(base64url_decode(e, &d, &len), 0);
		assert_int_equal(len, n);
		assert_memory_equal(d, data, n);
		free(d);
		free(e);
	}
	/* what a pagination cursor holds: JSON text with a UTF-8 name */
	const char *cursor = "{\"after\":\"zone-\xc3\xa9\"}";
	char *e = base64url_encode(cursor, strlen(cursor));
	unsigned char *d = NULL;
	size_t len = 0;
	assert_int_equal(base64url_decode(e, &d, &len), 0);
	assert_string_equal((char *)d, cursor);
	free(d);
	free(e);
}

static void test_base64url_rejects(void **state)
{
	static const char *const bad[] = {
		"Z",     "Zm9vY",  /* a length of 4n+1 cannot be */
		"Zg==",  "Zg=",    "Zm8=",  /* no padding */
		"Zm9v+", "ab/c",   "ab+c",  /* the standard alphabet */
		"Zm 9v", "Zm9v\n", "Zm.v",  "\xc3\xa9\xc3\xa9",
		"Zh",    "Zm9",    "Zm-",   /* non-zero leftover bits: not canonical */
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		unsigned char *d = (unsigned char *)"untouched";
		size_t len = 99;
		int r = base64url_decode(bad[i], &d, &len);
		if (r != -EINVAL)
			fail_msg("'%s' decoded (%d), should be -EINVAL", bad[i], r);
		assert_string_equal((char *)d, "untouched");
		assert_int_equal(len, 99);
	}
	/* canonical neighbours of the above do decode */
	unsigned char *d = NULL;
	size_t len = 0;
	assert_int_equal(base64url_decode("Zg", &d, &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(d[0], 'f');
	free(d);
}

/* ------------------------------------------------------------------ config */

struct cfg {
	char *listen;
	uint64_t workers;
	uint64_t body_limit;
	bool debug;
	char *data_dir;
	char *config;
};

static const struct config_opt cfg_opts[] = {
	{ "server", "listen", "listen", CONFIG_STRING, offsetof(struct cfg, listen),
	  "127.0.0.1:8080", 0, 0, "address to listen on" },
	{ "server", "workers", "workers", CONFIG_UINT, offsetof(struct cfg, workers), "4", 1, 64,
	  "HTTP worker threads" },
	{ "server", "body_limit", "body-limit", CONFIG_SIZE, offsetof(struct cfg, body_limit),
	  "1M", 1024, 1024ULL * 1024 * 1024, "largest request body" },
	{ "log", "debug", "debug", CONFIG_BOOL, offsetof(struct cfg, debug), "false", 0, 0,
	  "log debug lines" },
	{ "store", "data_dir", "data-dir", CONFIG_STRING, offsetof(struct cfg, data_dir), NULL, 0,
	  0, "data directory" },
	{ NULL, NULL, "config", CONFIG_STRING, offsetof(struct cfg, config), NULL, 0, 0,
	  "config file" },
};
#define NOPTS ARRAY_SIZE(cfg_opts)

static int cfg_text(struct cfg *c, const char *text, struct err *err)
{
	err_clear(err);
	return config_load_text(cfg_opts, NOPTS, c, text, "test.ini", err);
}

static void cfg_init(struct cfg *c)
{
	struct err err;
	memset(c, 0, sizeof(*c));
	assert_int_equal(config_defaults(cfg_opts, NOPTS, c, &err), 0);
}

static void test_config_defaults_and_file(void **state)
{
	struct cfg c;
	struct err err;
	cfg_init(&c);
	assert_string_equal(c.listen, "127.0.0.1:8080");
	assert_int_equal(c.workers, 4);
	assert_int_equal(c.body_limit, 1024 * 1024);
	assert_false(c.debug);
	assert_null(c.data_dir);
	assert_null(c.config);

	const char *text = "# nubod settings\n"
			   "; another comment\n"
			   "\n"
			   "[server]\n"
			   "listen = 0.0.0.0:9000\n"
			   "workers=8\n"
			   "   body_limit   =   512K   \r\n"
			   "\t# indented comment\n"
			   "[ log ]\n"
			   "debug = Yes\n"
			   "[store]\n"
			   "data_dir = \"  /var/lib/nubo  \"";
	assert_int_equal(cfg_text(&c, text, &err), 0);
	assert_int_equal(err.code, ERR_NONE);
	assert_string_equal(c.listen, "0.0.0.0:9000");
	assert_int_equal(c.workers, 8);
	assert_int_equal(c.body_limit, 512 * 1024);
	assert_true(c.debug);
	assert_non_null(c.data_dir);
	assert_string_equal(c.data_dir, "  /var/lib/nubo  ");
	assert_null(c.config);
	config_release(cfg_opts, NOPTS, &c);
	assert_null(c.listen);
	assert_null(c.data_dir);
}

static void test_config_values(void **state)
{
	struct cfg c;
	struct err err;
	cfg_init(&c);
	const char *text = "[server]\n"
			   "listen = \"\"\n"
			   "body_limit = 4K\n"
			   "[log]\n"
			   "debug = on\n"
			   "[store]\n"
			   "data_dir = a \"quoted\" word\n";
	assert_int_equal(cfg_text(&c, text, &err), 0);
	assert_string_equal(c.listen, "");
	assert_int_equal(c.body_limit, 4096);
	assert_true(c.debug);
	assert_string_equal(c.data_dir, "a \"quoted\" word");

	assert_int_equal(cfg_text(&c, "[server]\nbody_limit = 3m\n", &err), 0);
	assert_int_equal(c.body_limit, 3 * 1024 * 1024);
	assert_int_equal(cfg_text(&c, "[server]\nbody_limit = 1G\n", &err), 0);
	assert_int_equal(c.body_limit, 1024 * 1024 * 1024);
	assert_int_equal(cfg_text(&c, "[server]\nbody_limit = 1024\n", &err), 0);
	assert_int_equal(c.body_limit, 1024);
	assert_int_equal(cfg_text(&c, "[log]\ndebug = 0\n", &err), 0);
	assert_false(c.debug);
	/* a later line wins */
	assert_int_equal(cfg_text(&c, "[server]\nworkers = 2\nworkers = 3\n", &err), 0);
	assert_int_equal(c.workers, 3);
	config_release(cfg_opts, NOPTS, &c);
}

static void test_config_errors(void **state)
{
	struct cfg c;
	struct err err;
	cfg_init(&c);

	assert_int_equal(cfg_text(&c, "[server]\nbogus = 1\n", &err), -ERR_INVALID);
	assert_int_equal(err.code, ERR_INVALID);
	assert_string_equal(err.message, "test.ini:2: unknown key 'bogus' in [server]");
	assert_int_equal(cfg_text(&c, "# x\n\n[nope]\nworkers = 2\n", &err), -ERR_INVALID);
	assert_string_equal(err.message, "test.ini:3: unknown section [nope]");
	/* a key of another section is unknown here */
	assert_int_equal(cfg_text(&c, "[log]\nworkers = 2\n", &err), -ERR_INVALID);
	assert_string_equal(err.message, "test.ini:2: unknown key 'workers' in [log]");
	assert_int_equal(cfg_text(&c, "workers = 2\n", &err), -ERR_INVALID);
	assert_string_equal(err.message, "test.ini:1: 'workers' is outside any [section]");
	assert_int_equal(cfg_text(&c, "[server\n", &err), -ERR_INVALID);
	assert_string_equal(err.message, "test.ini:1: malformed section header");
	assert_int_equal(cfg_text(&c, "[server] x\n", &err), -ERR_INVALID);
	assert_string_equal(err.message, "test.ini:1: malformed section header");
	assert_int_equal(cfg_text(&c, "[server]\nworkers\n", &err), -ERR_INVALID);
	assert_string_equal(err.message, "test.ini:2: expected 'key = value'");

	/* bad numbers leave the value as it was */
	assert_int_equal(cfg_text(&c, "[server]\n\nworkers = many\n", &err), -ERR_INVALID);
	assert_string_equal(err.field, "workers");
	assert_string_equal(err.message, "test.ini:3: --workers wants a number from 1 to 64, not 'many'");
	static const char *const bad_workers[] = { "0", "65", "-1", "+2", "2.0", "", "1e1",
						   "99999999999999999999999" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_workers); i++) {
		char text[64];
		snprintf(text, sizeof(text), "[server]\nworkers = %s\n", bad_workers[i]);
		if (cfg_text(&c, text, &err) != -ERR_INVALID)
			fail_msg("workers = '%s' was accepted", bad_workers[i]);
		assert_string_equal(err.field, "workers");
	}
	assert_int_equal(c.workers, 4);

	static const char *const bad_sizes[] = { "512", "2G", "1.5M", "5T", "K", "M1", "1 K",
						 "-1K", "" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
		char text[64];
		snprintf(text, sizeof(text), "[server]\nbody_limit = %s\n", bad_sizes[i]);
		if (cfg_text(&c, text, &err) != -ERR_INVALID)
			fail_msg("body_limit = '%s' was accepted", bad_sizes[i]);
		assert_string_equal(err.field, "body-limit");
	}
	assert_int_equal(c.body_limit, 1024 * 1024);
	assert_int_equal(cfg_text(&c, "[server]\nbody_limit = 512\n", &err), -ERR_INVALID);
	assert_string_equal(err.message, "test.ini:2: --body-limit wants a number from 1024 to "
					 "1073741824 (bytes; K, M, G suffixes allowed), not '512'");

	assert_int_equal(cfg_text(&c, "[log]\ndebug = maybe\n", &err), -ERR_INVALID);
	assert_string_equal(err.field, "debug");
	assert_string_equal(err.message, "test.ini:2: --debug wants true or false, not 'maybe'");
	assert_false(c.debug);

	/* an error stops the parse: later lines are not applied */
	assert_int_equal(cfg_text(&c, "[server]\nbogus = 1\nworkers = 9\n", &err), -ERR_INVALID);
	assert_int_equal(c.workers, 4);
	config_release(cfg_opts, NOPTS, &c);
}

static void test_config_file(void **state)
{
	char dir[UNIT_DIR_SIZE], path[UNIT_DIR_SIZE + 16];
	assert_int_equal(unit_tmpdir_make(dir), 0);
	snprintf(path, sizeof(path), "%s/nubod.ini", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("[server]\nworkers = 12\n[store]\ndata_dir = /srv/nubo\n", f);
	fclose(f);

	struct cfg c;
	struct err err;
	cfg_init(&c);
	assert_int_equal(config_load_file(cfg_opts, NOPTS, &c, path, &err), 0);
	assert_int_equal(c.workers, 12);
	assert_string_equal(c.data_dir, "/srv/nubo");

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[server]\n\nworkers = x\n", f);
	fclose(f);
	assert_int_equal(config_load_file(cfg_opts, NOPTS, &c, path, &err), -ERR_INVALID);
	char want[256];
	snprintf(want, sizeof(want), "%s:3: --workers wants a number from 1 to 64, not 'x'", path);
	assert_string_equal(err.message, want);

	char missing[UNIT_DIR_SIZE + 16];
	snprintf(missing, sizeof(missing), "%s/absent.ini", dir);
	err_clear(&err);
	assert_int_equal(config_load_file(cfg_opts, NOPTS, &c, missing, &err), -ERR_NOT_FOUND);
	assert_int_equal(err.code, ERR_NOT_FOUND);
	assert_non_null(strstr(err.message, missing));
	config_release(cfg_opts, NOPTS, &c);
	assert_int_equal(unit_tmpdir_remove(dir), 0);
}

static void test_config_args_precedence(void **state)
{
	struct cfg c;
	struct err err;
	cfg_init(&c);
	assert_int_equal(cfg_text(&c, "[server]\nworkers = 8\nlisten = 10.0.0.1:80\n"
				      "[log]\ndebug = true\n",
				  &err),
			 0);
	char *argv[] = { "nubod", "--workers", "16", "--data-dir=/d", "--debug=false",
			 "--config", "/etc/nubo.ini", NULL };
	assert_int_equal(config_load_args(cfg_opts, NOPTS, &c, 7, argv, &err), 0);
	assert_int_equal(c.workers, 16);          /* flag over file */
	assert_string_equal(c.listen, "10.0.0.1:80"); /* file over default */
	assert_int_equal(c.body_limit, 1024 * 1024);  /* default */
	assert_false(c.debug);
	assert_string_equal(c.data_dir, "/d");
	assert_string_equal(c.config, "/etc/nubo.ini");

	/* a bool flag without a value means true; --x=value keeps '=' in the value */
	char *argv2[] = { "nubod", "--debug", "--listen=a=b", "--body-limit", "2K", NULL };
	assert_int_equal(config_load_args(cfg_opts, NOPTS, &c, 5, argv2, &err), 0);
	assert_true(c.debug);
	assert_string_equal(c.listen, "a=b");
	assert_int_equal(c.body_limit, 2048);
	config_release(cfg_opts, NOPTS, &c);
}

static void test_config_args_errors(void **state)
{
	struct cfg c;
	struct err err;
	cfg_init(&c);
	char *a1[] = { "nubod", "--nope", "1", NULL };
	assert_int_equal(config_load_args(cfg_opts, NOPTS, &c, 3, a1, &err), -ERR_INVALID);
	assert_string_equal(err.message, "unknown option '--nope' (see --help)");
	char *a2[] = { "nubod", "--nope=1", NULL };
	assert_int_equal(config_load_args(cfg_opts, NOPTS, &c, 2, a2, &err), -ERR_INVALID);
	assert_string_equal(err.message, "unknown option '--nope' (see --help)");
	char *a3[] = { "nubod", "positional", NULL };
	assert_int_equal(config_load_args(cfg_opts, NOPTS, &c, 2, a3, &err), -ERR_INVALID);
	assert_string_equal(err.message, "unexpected argument 'positional' (see --help)");
	char *a4[] = { "nubod", "--", NULL };
	assert_int_equal(config_load_args(cfg_opts, NOPTS, &c, 2, a4, &err), -ERR_INVALID);
	char *a5[] = { "nubod", "--workers", NULL };
	assert_int_equal(config_load_args(cfg_opts, NOPTS, &c, 2, a5, &err), -ERR_INVALID);
	assert_string_equal(err.field, "workers");
	assert_string_equal(err.message, "option --workers needs a value");
	char *a6[] = { "nubod", "--workers=0", NULL };
	assert_int_equal(config_load_args(cfg_opts, NOPTS, &c, 2, a6, &err), -ERR_INVALID);
	assert_string_equal(err.message,
			    "command line: --workers wants a number from 1 to 64, not '0'");
	char *a7[] = { "nubod", "--debug=perhaps", NULL };
	assert_int_equal(config_load_args(cfg_opts, NOPTS, &c, 2, a7, &err), -ERR_INVALID);
	assert_string_equal(err.field, "debug");
	/* a prefix of a flag is not the flag */
	char *a8[] = { "nubod", "--work", "2", NULL };
	assert_int_equal(config_load_args(cfg_opts, NOPTS, &c, 3, a8, &err), -ERR_INVALID);
	assert_int_equal(c.workers, 4);
	assert_false(c.debug);
	config_release(cfg_opts, NOPTS, &c);
}

static void test_config_find_arg(void **state)
{
	char *argv[] = { "nubod", "--config", "/etc/nubo.ini", "--listen=1.2.3.4:80",
			 "--data-dir-x", "y", "--log", NULL };
	int argc = 7;
	const char *v = config_find_arg(argc, argv, "config");
	assert_non_null(v);
	assert_string_equal(v, "/etc/nubo.ini");
	v = config_find_arg(argc, argv, "listen");
	assert_non_null(v);
	assert_string_equal(v, "1.2.3.4:80");
	assert_null(config_find_arg(argc, argv, "list"));     /* a prefix */
	assert_null(config_find_arg(argc, argv, "data-dir")); /* a longer flag */
	assert_null(config_find_arg(argc, argv, "log"));      /* no value after it */
	assert_null(config_find_arg(argc, argv, "nope"));
	/* argv[0] is never an option */
	char *argv2[] = { "--config=x", NULL };
	assert_null(config_find_arg(1, argv2, "config"));
}

/* ------------------------------------------------------------- buf, arena */

static void test_buf_limit(void **state)
{
	struct buf b;
	buf_init(&b, 8);
	assert_null(b.data);
	assert_int_equal(buf_append(&b, "12345", 5), 0);
	assert_int_equal(b.len, 5);
	assert_string_equal(b.data, "12345");
	char *before = b.data;
	size_t cap = b.cap;

	assert_int_equal(buf_append(&b, "6789", 4), -E2BIG);
	assert_int_equal(buf_puts(&b, "6789"), -E2BIG);
	assert_int_equal(buf_printf(&b, "%d", 6789), -E2BIG);
	assert_int_equal(b.len, 5);
	assert_int_equal(b.cap, cap);
	assert_ptr_equal(b.data, before);
	assert_string_equal(b.data, "12345");

	/* exactly up to the limit is fine */
	assert_int_equal(buf_printf(&b, "%s", "678"), 0);
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "12345678");
	assert_int_equal(buf_append(&b, "x", 1), -E2BIG);
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_string_equal(b.data, "12345678");

	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_printf(&b, "%s-%d", "ab", 42), 0);
	assert_string_equal(b.data, "ab-42");
	size_t len = 0;
	char *s = buf_detach(&b, &len);
	assert_string_equal(s, "ab-42");
	assert_int_equal(len, 5);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	free(s);

	/* the limit survives detach and release */
	assert_int_equal(buf_append(&b, "123456789", 9), -E2BIG);
	assert_null(b.data);
	buf_release(&b);
	assert_int_equal(b.limit, 8);
	assert_int_equal(buf_append(&b, "123456789", 9), -E2BIG);
	buf_release(&b);
}

static void test_buf_growth(void **state)
{
	struct buf b;
	buf_init(&b, 0);
	char chunk[100];
	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 100; i++)
		assert_int_equal(buf_append(&b, chunk, sizeof(chunk)), 0);
	assert_int_equal(b.len, 10000);
	assert_true(b.cap >= 10001);
	assert_int_equal(b.data[10000], '\0');
	assert_int_equal(strlen(b.data), 10000);
	buf_release(&b);
	assert_null(b.data);

	/* detach of an empty buffer gives an empty string, never NULL */
	size_t len = 99;
	char *s = buf_detach(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);

	/* binary data with NULs */
	assert_int_equal(buf_append(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 4);
	buf_release(&b);
}

static void test_arena(void **state)
{
	struct arena *a = arena_new();
	unsigned char *p[64];
	for (int i = 0; i < 64; i++) {
		size_t n = (size_t)(i * 37 % 200) + 1;
		p[i] = arena_alloc(a, n);
		assert_int_equal((uintptr_t)p[i] % alignof(max_align_t), 0);
		for (size_t j = 0; j < n; j++)
			assert_int_equal(p[i][j], 0);
		memset(p[i], i, n);
	}
	/* nothing overlapped: every block still holds its own byte */
	for (int i = 0; i < 64; i++) {
		size_t n = (size_t)(i * 37 % 200) + 1;
		for (size_t j = 0; j < n; j++)
			assert_int_equal(p[i][j], i);
	}
	/* larger than a block */
	unsigned char *big = arena_alloc(a, 100000);
	for (size_t j = 0; j < 100000; j += 4096)
		assert_int_equal(big[j], 0);
	big[99999] = 1;
	assert_non_null(arena_alloc(a, 0));

	assert_string_equal(arena_strdup(a, "hello"), "hello");
	assert_null(arena_strdup(a, NULL));
	assert_string_equal(arena_strndup(a, "hello", 3), "hel");
	assert_string_equal(arena_printf(a, "%s=%d", "k", 42), "k=42");
	char longer[6000];
	memset(longer, 'y', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_string_equal(arena_printf(a, "%s", longer), longer);
	arena_free(a);
	arena_free(NULL);
}

/* -------------------------------------------------------------------- util */

static void test_parse_u64(void **state)
{
	uint64_t v = 7;
	assert_int_equal(parse_u64("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_u64("10", 0, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(parse_u64("007", 0, 10, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	v = 7;
	assert_int_equal(parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_u64("11", 0, 10, &v), -ERANGE);
	assert_int_equal(parse_u64("4", 5, 10, &v), -ERANGE);
	static const char *const bad[] = { "", "-1", "+1", " 1", "1 ", "0x10", "1e3", "1.0", "abc" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(parse_u64(bad[i], 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(parse_u64(NULL, 0, 10, &v), -EINVAL);
	assert_int_equal(v, 7);
}

static void test_parse_i64(void **state)
{
	int64_t v = 7;
	assert_int_equal(parse_i64("-5", -10, 10, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(parse_i64("+5", -10, 10, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(parse_i64("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(parse_i64("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MAX);
	v = 7;
	assert_int_equal(parse_i64("-9223372036854775809", INT64_MIN, INT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_i64("9223372036854775808", INT64_MIN, INT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_i64("-11", -10, 10, &v), -ERANGE);
	assert_int_equal(parse_i64("11", -10, 10, &v), -ERANGE);
	static const char *const bad[] = { "", "-", "+", "--1", "+-1", " 1", "1 ", "1.5", "x" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(parse_i64(bad[i], INT64_MIN, INT64_MAX, &v), -EINVAL);
	assert_int_equal(v, 7);
}

static void test_parse_size_and_bool(void **state)
{
	uint64_t v = 7;
	assert_int_equal(parse_size("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_size("123", &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(parse_size("1k", &v), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(parse_size("2K", &v), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(parse_size("3M", &v), 0);
	assert_int_equal(v, 3ULL << 20);
	assert_int_equal(parse_size("5g", &v), 0);
	assert_int_equal(v, 5ULL << 30);
	/* the largest G count that fits, and the first that does not */
	assert_int_equal(parse_size("17179869183G", &v), 0);
	assert_true(v == (17179869183ULL << 30));
	v = 7;
	assert_int_equal(parse_size("17179869184G", &v), -ERANGE);
	assert_int_equal(parse_size("18446744073709551616", &v), -ERANGE);
	static const char *const bad[] = { "", "K", "1T", "1KB", "1.5K", "-1", " 1K", "1 K", "k1" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = parse_size(bad[i], &v);
		if (r != -EINVAL)
			fail_msg("parse_size('%s') gave %d", bad[i], r);
	}
	assert_int_equal(v, 7);

	bool b = false;
	static const char *const yes[] = { "1", "true", "TRUE", "yes", "Yes", "on", "ON" };
	static const char *const no[] = { "0", "false", "False", "no", "NO", "off", "Off" };
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		b = false;
		assert_int_equal(parse_bool(yes[i], &b), 0);
		assert_true(b);
		assert_int_equal(parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	static const char *const bad_bool[] = { "", "2", "y", "n", "truee", " true", "of" };
	b = true;
	for (size_t i = 0; i < ARRAY_SIZE(bad_bool); i++)
		assert_int_equal(parse_bool(bad_bool[i], &b), -EINVAL);
	assert_true(b);
}

static void test_str_only(void **state)
{
	(void)state;
	assert_true(str_only("fr-par-1", false, "-"));
	assert_true(str_only("", false, ""));
	assert_false(str_only("Fr-par-1", false, "-"));
	assert_true(str_only("Fr-par-1", true, "-"));
	assert_false(str_only("a.b", true, "-"));
	assert_true(str_only("a.b_c-d@e", true, "._-@"));
	assert_false(str_only("a b", true, "._-@"));
	assert_false(str_only("\xc3\xa9", true, "._-"));
}

static void test_str_helpers(void **state)
{
	char dst[4];
	assert_true(str_copy(dst, sizeof(dst), "abc"));
	assert_string_equal(dst, "abc");
	assert_false(str_copy(dst, sizeof(dst), "abcd"));
	assert_string_equal(dst, "abc");
	assert_false(str_copy(dst, sizeof(dst), "abcdefgh"));
	assert_string_equal(dst, "abc");
	assert_true(str_copy(dst, sizeof(dst), ""));
	assert_string_equal(dst, "");
	dst[0] = 'z';
	assert_false(str_copy(dst, 0, "a"));
	assert_int_equal(dst[0], 'z');
	assert_false(str_copy(dst, 1, "a"));
	assert_string_equal(dst, "");

	char out[8];
	assert_true(str_printf(out, sizeof(out), "%d-%s", 12, "ab"));
	assert_string_equal(out, "12-ab");
	assert_false(str_printf(out, sizeof(out), "%s", "12345678"));
	assert_string_equal(out, "1234567");

	assert_true(str_starts_with("/v1/zones", "/v1/"));
	assert_true(str_starts_with("abc", ""));
	assert_false(str_starts_with("/v", "/v1"));
	assert_true(str_eq_nocase("Content-Type", "content-type"));
	assert_false(str_eq_nocase("abc", "abcd"));
	char low[] = "MiXeD-123";
	str_lower(low);
	assert_string_equal(low, "mixed-123");

	assert_int_equal(str_utf8_len(""), 0);
	assert_int_equal(str_utf8_len("abc"), 3);
	assert_int_equal(str_utf8_len("h\xc3\xa9llo"), 5);
	assert_int_equal(str_utf8_len("\xe6\x97\xa5\xe6\x9c\xac"), 2);
	assert_int_equal(str_utf8_len("\xf0\x9f\x98\x80!"), 2);

	assert_true(mem_equal_ct("abcd", "abcd", 4));
	assert_false(mem_equal_ct("abcd", "abce", 4));
	assert_true(mem_equal_ct("x", "y", 0));

	char *s = xasprintf("%s/%d", "zones", 3);
	assert_string_equal(s, "zones/3");
	free(s);
	s = xstrndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	s = xstrndup("ab", 10);
	assert_string_equal(s, "ab");
	free(s);
	assert_null(xstrdup(NULL));
}

/* ----------------------------------------------------------------- iso3166 */

static void test_iso3166(void **state)
{
	static const char *const valid[] = { "FR", "DE", "NO", "US", "GB", "JP", "AD", "ZW", "CH" };
	for (size_t i = 0; i < ARRAY_SIZE(valid); i++)
		if (!iso3166_alpha2_valid(valid[i]))
			fail_msg("%s should be valid", valid[i]);
	static const char *const invalid[] = { "XX", "ZZ", "fr", "Fr", "de", "FRA", "DEU", "F",
					       "",   "UK", "EU", "AA", "QM", "F1", "F R" };
	for (size_t i = 0; i < ARRAY_SIZE(invalid); i++)
		if (iso3166_alpha2_valid(invalid[i]))
			fail_msg("%s should be invalid", invalid[i]);
	assert_false(iso3166_alpha2_valid(NULL));
	assert_int_equal(iso3166_count(), 249);

	/* every entry of the table is findable (the table is sorted for
	 * bsearch): the codes found among all AA..ZZ are exactly the count */
	size_t found = 0;
	char code[3] = "";
	for (char x = 'A'; x <= 'Z'; x++) {
		for (char y = 'A'; y <= 'Z'; y++) {
			code[0] = x;
			code[1] = y;
			if (iso3166_alpha2_valid(code))
				found++;
		}
	}
	assert_int_equal(found, 249);
}

/* ---------------------------------------------------------------- timeutil */

static void test_time_rfc3339(void **state)
{
	char out[TIME_RFC3339_SIZE];
	time_rfc3339_from_ms(0, out, sizeof(out));
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	time_rfc3339_from_ms(1700000000123LL, out, sizeof(out));
	assert_string_equal(out, "2023-11-14T22:13:20.123Z");
	time_rfc3339_from_ms(2147483648000LL, out, sizeof(out));
	assert_string_equal(out, "2038-01-19T03:14:08.000Z");

	int64_t ms = 0;
	assert_int_equal(time_rfc3339_parse("2023-11-14T22:13:20.123Z", &ms), 0);
	assert_int_equal(ms, 1700000000123LL);
	assert_int_equal(time_rfc3339_parse("2024-02-29T12:34:56Z", &ms), 0);
	assert_int_equal(ms, 1709210096000LL);
	assert_int_equal(time_rfc3339_parse("2024-02-29T12:34:56.5Z", &ms), 0);
	assert_int_equal(ms, 1709210096500LL);
	assert_int_equal(time_rfc3339_parse("2024-02-29T12:34:56.123999Z", &ms), 0);
	assert_int_equal(ms, 1709210096123LL);
	assert_int_equal(time_rfc3339_parse("1970-01-01T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(time_rfc3339_parse("2038-01-19T03:14:08Z", &ms), 0);
	assert_int_equal(ms, 2147483648000LL);

	/* round trips */
	static const int64_t samples[] = { 0, 1, 999, 1000, 86399999, 951782400000LL,
					   1709210096789LL, 4102444799999LL };
	for (size_t i = 0; i < ARRAY_SIZE(samples); i++) {
		time_rfc3339_from_ms(samples[i], out, sizeof(out));
		assert_int_equal(strlen(out), TIME_RFC3339_SIZE - 1);
		ms = -1;
		assert_int_equal(time_rfc3339_parse(out, &ms), 0);
		assert_int_equal(ms, samples[i]);
	}
	int64_t now = time_now_ms();
	assert_true(now > 1700000000000LL);
	time_rfc3339_now(out, sizeof(out));
	assert_int_equal(time_rfc3339_parse(out, &ms), 0);
	assert_in_range(ms, now - 1000, now + 60000);
	double t0 = time_mono(), t1 = time_mono();
	assert_true(t1 >= t0);
}

static void test_time_rfc3339_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"2024-01-01",
		"2024-01-01T00:00:00",
		"2024-01-01 00:00:00Z",
		"2024-01-01T00:00:00+01:00",
		"2024-01-01T00:00:00+00:00",
		"2024-01-01T00:00:00ZZ",
		"2024-01-01T00:00:00.Z",
		"2024-01-01T00:00:00.1",
		"2024-13-01T00:00:00Z",
		"2024-00-10T00:00:00Z",
		"2024-01-00T00:00:00Z",
		"2024-01-32T00:00:00Z",
		"2024-01-01T24:00:00Z",
		"2024-01-01T00:60:00Z",
		"2024-01-01T00:00:61Z",
		"1969-12-31T23:59:59Z",
		"24-01-01T00:00:00Z",
		"2024-1-01T00:00:00Z",
		"2024/01/01T00:00:00Z",
		"20240101T000000Z",
		"2024-01-01T00:00:00.12aZ",
		"garbage that is long enough",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int64_t ms = 42;
		int r = time_rfc3339_parse(bad[i], &ms);
		if (r != -EINVAL)
			fail_msg("'%s' parsed (%d), should be -EINVAL", bad[i], r);
		assert_int_equal(ms, 42);
	}
}

/* Days that do not exist must not be moved to the next month. */
static void test_time_rfc3339_rejects_impossible_dates(void **state)
{
	static const char *const bad[] = {
		"2024-02-30T00:00:00Z",
		"2023-02-29T00:00:00Z",
		"2024-04-31T00:00:00Z",
		"2100-02-29T00:00:00Z",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int64_t ms = 42;
		int r = time_rfc3339_parse(bad[i], &ms);
		if (r != -EINVAL) {
			char out[TIME_RFC3339_SIZE];
			time_rfc3339_from_ms(ms, out, sizeof(out));
			fail_msg("'%s' parsed as %s, should be -EINVAL", bad[i], out);
		}
	}
	int64_t ms = 0;
	assert_int_equal(time_rfc3339_parse("2000-02-29T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 951782400000LL);
}

/* Every date and time field is exactly two (year: four) digits. */
static void test_time_rfc3339_rejects_non_digits(void **state)
{
	static const char *const bad[] = {
		"2024-+1-01T00:00:00Z",
		"2024- 1-01T00:00:00Z",
		"2024-01-+1T00:00:00Z",
		"2024-01-01T+1:00:00Z",
		"2024-01-01T00:00: 1Z",
		"+2024-01-01T00:00:00Z",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int64_t ms = 42;
		int r = time_rfc3339_parse(bad[i], &ms);
		if (r != -EINVAL)
			fail_msg("'%s' parsed (%d), should be -EINVAL", bad[i], r);
	}
}

/* ------------------------------------------------------------------ crypto */

static void test_uuid(void **state)
{
	char ids[100][UUID_SIZE];
	for (int i = 0; i < 100; i++) {
		memset(ids[i], 'x', UUID_SIZE);
		uuid_generate(ids[i]);
		assert_int_equal(strlen(ids[i]), 36);
		assert_true(uuid_valid(ids[i]));
		assert_int_equal(ids[i][14], '4');
		assert_non_null(strchr("89ab", ids[i][19]));
		for (int j = 0; j < 36; j++)
			assert_null(strchr("ABCDEF", ids[i][j]));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(ids[i], ids[j]);
	}
	assert_true(uuid_valid("123e4567-e89b-42d3-a456-426614174000"));
	assert_true(uuid_valid("123E4567-E89B-42D3-A456-426614174000"));
	static const char *const bad[] = {
		"",
		"123e4567-e89b-42d3-a456-42661417400",
		"123e4567-e89b-42d3-a456-4266141740000",
		"123e4567e89b-42d3-a456-4266141740000",
		"123e4567-e89b-42d3-a456_426614174000",
		"123g4567-e89b-42d3-a456-426614174000",
		"{123e4567-e89b-42d3-a456-42661417400}",
		"123e4567-e89b-42d3-a4564-26614174000",
		"zone-1",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (uuid_valid(bad[i]))
			fail_msg("'%s' should not be a valid UUID", bad[i]);
}

static void test_sha256(void **state)
{
	char out[SHA256_HEX_SIZE];
	sha256_hex("", 0, out);
	assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_hex("abc", 3, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha256_hex(m, strlen(m), out);
	assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

	unsigned char r1[32] = { 0 }, r2[32] = { 0 }, zero[32] = { 0 };
	crypto_random(r1, sizeof(r1));
	crypto_random(r2, sizeof(r2));
	assert_memory_not_equal(r1, r2, sizeof(r1));
	assert_memory_not_equal(r1, zero, sizeof(r1));
}

/* ----------------------------------------------------------------- metrics */

static void test_metrics_render(void **state)
{
	struct metrics *m = metrics_new();
	metrics_describe(m, "nubo_requests_total", METRIC_COUNTER, "Requests served.");
	metrics_describe(m, "nubo_inflight", METRIC_GAUGE, "Requests in flight.");
	metrics_describe(m, "nubo_seconds", METRIC_HISTOGRAM, "Request duration.");
	metrics_describe(m, "nubo_unused", METRIC_COUNTER, "Never touched.");
	/* a second describe of a name changes nothing */
	metrics_describe(m, "nubo_inflight", METRIC_COUNTER, "Other help.");

	metrics_counter_add(m, "nubo_requests_total", "method=\"GET\"", 1);
	metrics_counter_add(m, "nubo_requests_total", "method=\"POST\"", 1);
	metrics_counter_add(m, "nubo_requests_total", "method=\"GET\"", 2);
	metrics_gauge_set(m, "nubo_inflight", "", 5);
	metrics_gauge_add(m, "nubo_inflight", "", -2);
	metrics_observe(m, "nubo_seconds", "route=\"/v1/zones\"", 0.0003);
	metrics_observe(m, "nubo_seconds", "route=\"/v1/zones\"", 0.003);
	metrics_observe(m, "nubo_seconds", "route=\"/v1/zones\"", 0.003);
	metrics_observe(m, "nubo_seconds", "route=\"/v1/zones\"", 20);
	/* a family never described is ignored */
	metrics_counter_add(m, "nubo_undescribed", "", 1);

	struct buf out;
	buf_init(&out, 0);
	metrics_render(m, &out);
	const char *want =
		"# HELP nubo_requests_total Requests served.\n"
		"# TYPE nubo_requests_total counter\n"
		"nubo_requests_total{method=\"GET\"} 3\n"
		"nubo_requests_total{method=\"POST\"} 1\n"
		"# HELP nubo_inflight Requests in flight.\n"
		"# TYPE nubo_inflight gauge\n"
		"nubo_inflight 3\n"
		"# HELP nubo_seconds Request duration.\n"
		"# TYPE nubo_seconds histogram\n"
		"nubo_seconds_bucket{route=\"/v1/zones\",le=\"0.0005\"} 1\n"
		"nubo_seconds_bucket{route=\"/v1/zones\",le=\"0.001\"} 1\n"
		"nubo_seconds_bucket{route=\"/v1/zones\",le=\"0.0025\"} 1\n"
		"nubo_seconds_bucket{route=\"/v1/zones\",le=\"0.005\"} 3\n"
		"nubo_seconds_bucket{route=\"/v1/zones\",le=\"0.01\"} 3\n"
		"nubo_seconds_bucket{route=\"/v1/zones\",le=\"0.025\"} 3\n"
		"nubo_seconds_bucket{route=\"/v1/zones\",le=\"0.05\"} 3\n"
		"nubo_seconds_bucket{route=\"/v1/zones\",le=\"0.1\"} 3\n"
		"nubo_seconds_bucket{route=\"/v1/zones\",le=\"0.25\"} 3\n"
		"nubo_seconds_bucket{route=\"/v1/zones\",le=\"0.5\"} 3\n"
		"nubo_seconds_bucket{route=\"/v1/zones\",le=\"1\"} 3\n"
		"nubo_seconds_bucket{route=\"/v1/zones\",le=\"2.5\"} 3\n"
		"nubo_seconds_bucket{route=\"/v1/zones\",le=\"5\"} 3\n"
		"nubo_seconds_bucket{route=\"/v1/zones\",le=\"10\"} 3\n"
		"nubo_seconds_bucket{route=\"/v1/zones\",le=\"+Inf\"} 4\n"
		"nubo_seconds_sum{route=\"/v1/zones\"} 20.0063\n"
		"nubo_seconds_count{route=\"/v1/zones\"} 4\n";
	assert_string_equal(out.data, want);
	buf_release(&out);

	/* a histogram without labels; a value on a bucket bound counts in it */
	metrics_describe(m, "nubo_plain", METRIC_HISTOGRAM, "Plain.");
	metrics_observe(m, "nubo_plain", "", 0.001);
	metrics_render(m, &out);
	assert_non_null(strstr(out.data, "\nnubo_plain_bucket{le=\"0.0005\"} 0\n"
					 "nubo_plain_bucket{le=\"0.001\"} 1\n"));
	assert_non_null(strstr(out.data, "\nnubo_plain_bucket{le=\"+Inf\"} 1\n"
					 "nubo_plain_sum 0.001\n"
					 "nubo_plain_count 1\n"));
	assert_null(strstr(out.data, "nubo_unused"));
	assert_null(strstr(out.data, "nubo_undescribed"));
	assert_null(strstr(out.data, "process_open_fds"));
	buf_release(&out);

	metrics_process_update(m);
	metrics_render(m, &out);
	assert_non_null(strstr(out.data, "# TYPE process_open_fds gauge\nprocess_open_fds "));
	assert_non_null(strstr(out.data, "\nprocess_resident_memory_bytes "));
	assert_non_null(strstr(out.data, "\nprocess_start_time_seconds "));
	buf_release(&out);
	metrics_free(m);
	metrics_free(NULL);
}

/* ------------------------------------------------------------- log, err */

static void test_log_level_parse(void **state)
{
	enum log_level l = LOGL_ERROR;
	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOGL_DEBUG);
	assert_int_equal(log_level_parse("INFO", &l), 0);
	assert_int_equal(l, LOGL_INFO);
	assert_int_equal(log_level_parse("Warn", &l), 0);
	assert_int_equal(l, LOGL_WARN);
	l = LOGL_DEBUG;
	assert_int_equal(log_level_parse("warning", &l), 0);
	assert_int_equal(l, LOGL_WARN);
	assert_int_equal(log_level_parse("error", &l), 0);
	assert_int_equal(l, LOGL_ERROR);
	static const char *const bad[] = { "", "fatal", "inf", "debugx", "trace", " info" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		l = LOGL_INFO;
		assert_int_equal(log_level_parse(bad[i], &l), -EINVAL);
		assert_int_equal(l, LOGL_INFO);
	}
}

static void test_err(void **state)
{
	struct err e;
	err_clear(&e);
	assert_int_equal(e.code, ERR_NONE);
	assert_int_equal(err_set(&e, ERR_NOT_FOUND, NULL, "no zone '%s'", "x"), -ERR_NOT_FOUND);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_string_equal(e.field, "");
	assert_string_equal(e.message, "no zone 'x'");
	assert_int_equal(err_set(NULL, ERR_CONFLICT, "name", "x"), -ERR_CONFLICT);
	err_clear(&e);
	assert_string_equal(e.message, "");
	err_clear(NULL);
	assert_string_equal(err_code_name(ERR_NOT_FOUND), "NotFound");
	assert_string_equal(err_code_name(ERR_INVALID), "InvalidParameter");
	assert_string_equal(err_code_name(ERR_CONFLICT), "Conflict");
	assert_string_equal(err_code_name(ERR__COUNT), "InternalError");
	for (int c = 0; c < ERR__COUNT; c++)
		assert_non_null(err_code_name((enum err_code)c));
}


/* ---- idxmap ---- */

struct keys {
	char k[2000][16];
};

static const char *keys_key(const void *ctx, uint32_t pos)
{
	return ((const struct keys *)ctx)->k[pos];
}

static void test_idxmap_against_a_reference(void **state)
{
	(void)state;
	static struct keys ks;
	static bool in[2000];
	struct idxmap m;
	idxmap_init(&m, keys_key, &ks);
	assert_int_equal(idxmap_get(&m, "x"), IDXMAP_NONE);
	idxmap_del(&m, "x");
	for (int i = 0; i < 2000; i++)
		snprintf(ks.k[i], sizeof(ks.k[i]), "key-%d", i * 7919);
	srand(3);
	for (int round = 0; round < 50000; round++) {
		int i = rand() % 2000;
		if (in[i] && rand() % 2) {
			idxmap_del(&m, ks.k[i]);
			in[i] = false;
		} else if (!in[i]) {
			idxmap_put(&m, ks.k[i], (uint32_t)i);
			in[i] = true;
		}
		if (round % 997 == 0) /* every key where it should be */
			for (int j = 0; j < 2000; j++)
				assert_int_equal(idxmap_get(&m, ks.k[j]),
						 in[j] ? (uint32_t)j : IDXMAP_NONE);
	}
	size_t n = 0;
	for (int j = 0; j < 2000; j++)
		n += in[j];
	assert_int_equal(m.n, n);
	assert_true(idxmap_bytes(&m) >= n * sizeof(uint32_t));
	idxmap_free(&m);
}

/* ---- sshkey ---- */

static void test_sshkey_parses_what_ssh_keygen_writes(void **state)
{
	(void)state;
	/* public keys made by ssh-keygen, with what ssh-keygen -l says of them */
	static const struct {
		const char *line, *type;
		unsigned bits;
		const char *fingerprint;
	} good[] = {
		{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDJR1MpTEXTbhrMsQyhOfRsOYXKznuKUW4G2"
		  "CUxOV912 c-ked25519",
		  "ssh-ed25519", 256, "SHA256:e2aEpi60ZFhbbr5BU8h9gY080sAkhRFfq4FYFfRWN4g" },
		{ "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABB"
		  "BKNGS+UJsM2bdCIlSyRRP9w0ewk42y9nx8EZyYPExyB0FEpA1WMfoPzhKGiAvylcmNdXtdkY"
		  "KqQfHi4P3R32lgo= c-kecdsab256",
		  "ecdsa-sha2-nistp256", 256, "SHA256:PL93cCKP8fGvQhDxWa5Z7Fk9lNC9F/O3Af3CHIEYSSI" },
		{ "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABh"
		  "BKLxnxTwqVsT+4aIB81hyVIEkoSbtN+yAJgmvWzlkhZx/ektcBW+zVlnkvXblrvisA5ZcGmd"
		  "ZKI8HRSDgnZlvqOZxt2PRreIW2XHt8j0B2C1XU+2dxqTEH5NHZJuUI6csA== c-kecdsab38"
		  "4",
		  "ecdsa-sha2-nistp384", 384, "SHA256:XuRbu2oTOY8TGGmHTHJBYWRoKTzhHdEi2oN0SZ//8e8" },
		{ "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACF"
		  "BAAPTuUUo1nSUrg62hK6Ecc3ECUKO7HFfHyxmCcfHXu507qPfftDqbWBpiFwdcvyP2gx8ddu"
		  "JXQTTrErl1WNwyeJSwHfWX3hVInSBS2PGOf/p97anFXwbXPFbPr++pktM2qbxxegOprYCGwP"
		  "w/9N3vK86NqE2olDmLxtVN9m46Y43Bu97w== c-kecdsab521",
		  "ecdsa-sha2-nistp521", 521, "SHA256:+RGEecJIjbqV0opR51vrdxJHeHaoT3mNqpoExA5UtsY" },
		{ "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQChFDAM8kYMZKXqnus5fQssDLR2rS2Wa9y6"
		  "jbTkaNpcYBtKFCPez+XdwyGf3E+BT3evdw4aUC3ZPvnylTMcUya7vq6PPQYNJFdtzkWq5Pqu"
		  "eNBwq2L08RwsOfM8kY1VF0XdFs/qH99Q9VrVhsNoODu2+u5psKI9FG28VTd1YBKl7MmFH1+K"
		  "BDIjQph6hwaZ30BvrW7n3vUhizjZ9G7HPc5I8NNQjYnXCILMrQLTidjvA7cedlH+XIZo9x3D"
		  "1ryJnbLAtCEdSm4Z+OqnEuik9gARR+x8crsLCau/3V78n+YXRWwLLRpVlFKFDBqg6tRUVj6v"
		  "k6bpktNwnZ56BTinfQjP c-krsab2048",
		  "ssh-rsa", 2048, "SHA256:xqrBhXC3I18auc6JmopBwsKSE45MewNYxKEQoR6T3p8" },
		{ "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQDgy7kjDmBsw0XcGeAABSly228kM9GhbZan"
		  "iWf7qgCjEBTA4ipxa8zuEnDby7J61QnixJw8MdyLGxVlbq16ztO9Ib1vNRasv7YVtE+3CL4U"
		  "utCjs1f6iphz1z7mjrxgo/r6XC+mg1ZKAl/udeV7YsnpNKL67O1nBz/mvm96L3JMI0/9aojM"
		  "bsAbcP6kQkTb/hyBapnHHmnCCidQrMSsxUBTE2Vy+N89AFCBg1/pbLETZ4thyTKv9CoWKLxi"
		  "lr7kPDdQwEAG6FQ29TqscfImk9JeLzZ28W1MiUX0yKZdd3FmGPPzzSG2znJEfYJwRSvOwZB8"
		  "Pm3RWMAN8qnoNU7ejfBb2cBhDvOq6VOj3WgKDLk8EWheXiJy5U3ryqbR27R1jtqW4GibFIk2"
		  "fb8R9D++a6A0mo1BsW7PKNoM6nantw/FoBPctmwo4RVq9alLnaZpK7u9zXZxEzMypRQ4jLas"
		  "vhoIcY3eDplXT+BTYLyoBVWMzqO6zT0XeQvYR1VnoiNz88c= c-krsab3072",
		  "ssh-rsa", 3072, "SHA256:XHF2cvpbwvVDSYeO4q69XYvX5g5+16VeNUo7qjZgS4k" },
	};
	for (size_t k = 0; k < sizeof(good) / sizeof(good[0]); k++) {
		struct sshkey_info info;
		struct err err = { 0 };
		char *canon = NULL;
		assert_int_equal(sshkey_parse(good[k].line, strlen(good[k].line), &info, &canon, &err),
				 0);
		assert_string_equal(info.type, good[k].type);
		assert_int_equal(info.bits, good[k].bits);
		assert_string_equal(info.fingerprint, good[k].fingerprint);
		assert_string_equal(canon, good[k].line);
		free(canon);
		/* white space around and between is tidied; the comment may go */
		char *messy = xasprintf("  \t%s\n", good[k].line);
		*strrchr(messy, ' ') = '\t';
		assert_int_equal(sshkey_parse(messy, strlen(messy), &info, &canon, &err), 0);
		assert_string_equal(canon, good[k].line);
		free(canon);
		*strrchr(messy, '\t') = '\0';
		assert_int_equal(sshkey_parse(messy, strlen(messy), &info, &canon, &err), 0);
		assert_int_equal(strlen(canon) + strlen(good[k].line) - strlen(canon),
				 strlen(good[k].line));
		assert_true(strncmp(canon, good[k].line, strlen(canon)) == 0);
		free(canon);
		free(messy);
	}
}

static void test_sshkey_refuses_bad_keys(void **state)
{
	(void)state;
	const char *ed = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDJR1MpTEXTbhrMsQyhOfRsOYXKznuKUW4G2CUxOV912";
	char *two = xasprintf("%s a\n%s b", ed, ed);
	char *p256 = xstrdup("ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKNGS+UJsM2bdCIlSyRRP9w0ewk42y9nx8EZyYPExyB0FEpA1WMfoPzhKGiAvylcmNdXtdkYKqQfHi4P3R32lgo=");
	p256[60] = p256[60] == 'A' ? 'B' : 'A'; /* a point off the curve */
	const char *bad[] = {
		"",
		"   ",
		"ssh-ed25519",
		"ssh-ed25519 ",
		"ssh-dss AAAAB3NzaC1kc3MAAACBAP",
		"sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAI",
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDJR1MpTEXTbhrMsQyhOfRsOYXKznuKUW4G2CUxOV91",
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDJR1MpTEXTbhrMsQyhOfRsOYXKznuKUW4G2CUxOV9!2",
		"ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIDJR1MpTEXTbhrMsQyhOfRsOYXKznuKUW4G2CUxOV912",
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDJR1MpTEXTbhrMsQyhOfRsOYXKznuKUW4G2CUxOV912AAAA",
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDJR1MpTEXTbhrMsQyhOfRsOYXKznuKUW4G2CUxO=912",
		"RSA1024",
		two,
		p256,
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct sshkey_info info;
		struct err err = { 0 };
		char *canon = NULL;
		assert_int_equal(sshkey_parse(bad[k], strlen(bad[k]), &info, &canon, &err),
				 -ERR_INVALID);
		assert_null(canon);
		assert_string_equal(err.field, "public_key");
		assert_true(err.message[0] != '\0');
	}
	struct sshkey_info info;
	struct err err = { 0 };
	const char *small = "RSA1024";
	assert_int_equal(sshkey_parse(small, strlen(small), &info, NULL, &err), -ERR_INVALID);
	const char *r1024 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDOB74k0ugmNOAEsLcsYEfPg8HzBSIETxhD"
		  "EaEpEDuu4oOiT0nu/zZQbeMBRAPGwDLZEiQG6E1dyctUU4IYjamKQeGlJwC3S0YaIJB60mis"
		  "VukRjoprAojv+Ci0/CdJMOY4bP+y2BI3U4vf7/zzApVl2Pn8GWsL5WSvvFvvS0ebQw== c-k"
		  "rsab1024";
	assert_int_equal(sshkey_parse(r1024, strlen(r1024), &info, NULL, &err), -ERR_INVALID);
	assert_non_null(strstr(err.message, "2048 to 16384 bits; this one has 1024"));
	free(two);
	free(p256);
}

static void test_sshkey_generates_ed25519(void **state)
{
	(void)state;
	char *pub = NULL, *priv = NULL;
	assert_int_equal(sshkey_generate_ed25519("nubo-key", &pub, &priv), 0);
	struct sshkey_info info;
	struct err err = { 0 };
	assert_int_equal(sshkey_parse(pub, strlen(pub), &info, NULL, &err), 0);
	assert_string_equal(info.type, "ssh-ed25519");
	assert_non_null(strstr(pub, " nubo-key"));
	assert_true(strncmp(priv, "-----BEGIN OPENSSH PRIVATE KEY-----\n", 36) == 0);
	assert_non_null(strstr(priv, "\n-----END OPENSSH PRIVATE KEY-----\n"));
	char *pub2 = NULL, *priv2 = NULL;
	assert_int_equal(sshkey_generate_ed25519("", &pub2, &priv2), 0);
	assert_string_not_equal(pub, pub2);
	assert_null(strchr(pub2 + 12, ' ')); /* no comment */
	free(pub);
	free(priv);
	free(pub2);
	free(priv2);
}

/* ------------------------------------------------------------------ notify */

/* Counts the calls of a watch's callback. */
static void count_fired(struct notify_watch *w, void *arg)
{
	(void)w;
	(*(int *)arg)++;
}

static void test_notify_versions_per_key(void **state)
{
	struct notify_board *b = notify_board_new();
	assert_int_equal(notify_version(b, "host-a"), 0);
	assert_int_equal(notify_bump(b, "host-a"), 1);
	assert_int_equal(notify_bump(b, "host-a"), 2);
	assert_int_equal(notify_version(b, "host-a"), 2);
	assert_int_equal(notify_version(b, "host-b"), 0);
	/* many keys: the table grows and keeps every version */
	char key[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		for (int j = 0; j <= i % 3; j++)
			notify_bump(b, key);
	}
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(notify_version(b, key), (uint64_t)(i % 3 + 1));
	}
	assert_int_equal(notify_version(b, "host-a"), 2);
	notify_board_free(b);
	notify_board_free(NULL);
}

static void test_notify_watch_fires_once_on_its_key(void **state)
{
	struct notify_board *b = notify_board_new();
	struct notify_watch w1 = { 0 }, w2 = { 0 }, other = { 0 };
	int n1 = 0, n2 = 0, nother = 0;
	assert_int_equal(notify_watch(b, &w1, "h", 0, count_fired, &n1), 0);
	assert_int_equal(notify_watch(b, &w2, "h", 0, count_fired, &n2), 0);
	assert_int_equal(notify_watch(b, &other, "g", 0, count_fired, &nother), 0);
	assert_int_equal(notify_bump(b, "h"), 1);
	assert_int_equal(n1, 1);
	assert_int_equal(n2, 1);
	assert_int_equal(nother, 0);
	/* one-shot: a second change calls nobody */
	notify_bump(b, "h");
	assert_int_equal(n1, 1);
	assert_false(notify_unwatch(b, &w1)); /* fired already */
	assert_true(notify_unwatch(b, &other));
	notify_bump(b, "g");
	assert_int_equal(nother, 0);
	/* a watch can be used again once it is off the board */
	assert_int_equal(notify_watch(b, &w1, "h", 2, count_fired, &n1), 0);
	notify_bump(b, "h");
	assert_int_equal(n1, 2);
	notify_board_free(b);
}

static void test_notify_watch_refuses_a_stale_version(void **state)
{
	struct notify_board *b = notify_board_new();
	struct notify_watch w = { 0 };
	int n = 0;
	notify_bump(b, "h");
	/* the change happened between reading version 0 and watching: no wait */
	assert_int_equal(notify_watch(b, &w, "h", 0, count_fired, &n), 1);
	assert_false(notify_unwatch(b, &w));
	/* a version from elsewhere (ahead of ours) differs too */
	assert_int_equal(notify_watch(b, &w, "h", 7, count_fired, &n), 1);
	assert_int_equal(notify_watch(b, &w, "h", 1, count_fired, &n), 0);
	assert_true(notify_unwatch(b, &w));
	assert_false(notify_unwatch(b, &w));
	notify_bump(b, "h");
	assert_int_equal(n, 0);
	notify_board_free(b);
}

/* Unwatching one of several watches keeps the others. */
static void test_notify_unwatch_in_the_middle(void **state)
{
	struct notify_board *b = notify_board_new();
	struct notify_watch w[3] = { { 0 } };
	int n[3] = { 0 };
	for (int i = 0; i < 3; i++)
		assert_int_equal(notify_watch(b, &w[i], "h", 0, count_fired, &n[i]), 0);
	assert_true(notify_unwatch(b, &w[1]));
	assert_true(notify_unwatch(b, &w[2]));
	assert_int_equal(notify_watch(b, &w[2], "h", 0, count_fired, &n[2]), 0);
	notify_bump(b, "h");
	assert_int_equal(n[0], 1);
	assert_int_equal(n[1], 0);
	assert_int_equal(n[2], 1);
	notify_board_free(b);
}

struct bumper {
	struct notify_board *b;
	int rounds;
};

static void *bump_many(void *arg)
{
	struct bumper *p = arg;
	for (int i = 0; i < p->rounds; i++)
		notify_bump(p->b, "h");
	return NULL;
}

/* Watching against the version just read, while another thread bumps:
 * every watch is refused as stale, fires exactly once, or is cancelled
 * without having fired, whatever the interleaving. */
static void test_notify_no_lost_wakeup_across_threads(void **state)
{
	struct notify_board *b = notify_board_new();
	struct bumper p = { .b = b, .rounds = 20000 };
	pthread_t t;
	pthread_create(&t, NULL, bump_many, &p);
	int fired = 0, stale = 0, cancelled = 0;
	for (int i = 0; i < 20000; i++) {
		struct notify_watch w = { 0 };
		int n = 0;
		uint64_t seen = notify_version(b, "h");
		if (notify_watch(b, &w, "h", seen, count_fired, &n) == 1) {
			stale++;
			continue;
		}
		/* cancelled: never called; else called exactly once */
		bool registered = notify_unwatch(b, &w);
		assert_int_equal(n, registered ? 0 : 1);
		if (registered)
			cancelled++;
		else
			fired++;
	}
	pthread_join(t, NULL);
	assert_int_equal(fired + stale + cancelled, 20000);
	assert_int_equal(notify_version(b, "h"), 20000);
	notify_board_free(b);
}

static void test_str_utf8_fix(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "plain" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "\x90o\xe8", "?o?" },                 /* stray continuation, cut sequence */
		{ "a\xc3", "a?" },                      /* cut at the end */
		{ "\xc0\xaf", "??" },                   /* overlong '/' */
		{ "\xed\xa0\x80", "???" },              /* a surrogate */
		{ "\xf4\x90\x80\x80", "????" },         /* past U+10FFFF */
		{ "\xff\xfe", "??" },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char buf[64];
		str_copy(buf, sizeof(buf), cases[k].in);
		str_utf8_fix(buf);
		assert_string_equal(buf, cases[k].out);
	}
}

/* ----------------------------------------------------------------- webroot */

static void test_webroot_path_rule(void **state)
{
	static const char *const ok[] = { "index.html", "app.js", "js/api.js", "a/b/c-1_2.css",
					  "x.y.z" };
	static const char *const bad[] = { "", "/etc/passwd", "../x", "a/../b", "a/./b", "..",
					   ".", ".hidden", "a/.git", "a//b", "a/", "a\\b",
					   "a%2eb", "a b", "a\nb", "\xc3\xa9.js", "a/b?c" };
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		assert_true(webroot_path_ok(ok[i]));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_false(webroot_path_ok(bad[i]));
	char longp[WEBROOT_PATH_MAX + 2];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_false(webroot_path_ok(longp));
	longp[WEBROOT_PATH_MAX] = '\0';
	assert_true(webroot_path_ok(longp));
	assert_string_equal(webroot_type("index.html"), "text/html; charset=utf-8");
	assert_string_equal(webroot_type("js/app.JS"), "text/javascript; charset=utf-8");
	assert_string_equal(webroot_type("logo.svg"), "image/svg+xml");
	assert_string_equal(webroot_type("css.d/noext"), "application/octet-stream");
}

static void test_webroot_dates_and_conditions(void **state)
{
	int64_t t;
	assert_int_equal(webroot_parse_date("Sun, 06 Nov 1994 08:49:37 GMT", &t), 0);
	assert_int_equal(t, 784111777);
	char back[WEBROOT_DATE_SIZE];
	webroot_format_date(t, back);
	assert_string_equal(back, "Sun, 06 Nov 1994 08:49:37 GMT");
	assert_int_equal(webroot_parse_date("Thu, 29 Feb 2024 00:00:00 GMT", &t), 0);
	static const char *const bad[] = {
		"Mon, 06 Nov 1994 08:49:37 GMT", /* wrong weekday */
		"Sun, 06 Nov 1994 08:49:37 UTC", "Sunday, 06-Nov-94 08:49:37 GMT",
		"Sun Nov  6 08:49:37 1994",      "Thu, 29 Feb 2023 00:00:00 GMT",
		"Sun, 06 Nov 1994 24:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT", "",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(webroot_parse_date(bad[i], &t), -EINVAL);
	struct webroot_file f = { .fd = -1, .mtime_s = 784111777, .etag = "\"2a-1f\"" };
	assert_true(webroot_not_modified(&f, "\"2a-1f\"", NULL));
	assert_true(webroot_not_modified(&f, "\"x\", W/\"2a-1f\"", NULL));
	assert_true(webroot_not_modified(&f, "*", NULL));
	assert_false(webroot_not_modified(&f, "\"2a-1\"", NULL));
	assert_false(webroot_not_modified(&f, "2a-1f", NULL));
	/* If-None-Match wins over If-Modified-Since */
	assert_false(webroot_not_modified(&f, "\"other\"", "Sun, 06 Nov 1994 08:49:37 GMT"));
	assert_true(webroot_not_modified(&f, NULL, "Sun, 06 Nov 1994 08:49:37 GMT"));
	assert_false(webroot_not_modified(&f, NULL, "Sun, 06 Nov 1994 08:49:36 GMT"));
	assert_false(webroot_not_modified(&f, NULL, "yesterday"));
	assert_false(webroot_not_modified(&f, NULL, NULL));
}

static void test_webroot_opens_regular_files_only(void **state)
{
	char dir[UNIT_DIR_SIZE], p[128];
	assert_int_equal(unit_tmpdir_make(dir), 0);
	str_printf(p, sizeof(p), "%s/index.html", dir);
	FILE *fp = fopen(p, "w");
	assert_non_null(fp);
	fputs("<!doctype html>", fp);
	fclose(fp);
	str_printf(p, sizeof(p), "%s/sub", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	str_printf(p, sizeof(p), "%s/link.html", dir);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	str_printf(p, sizeof(p), "%s/dirlink", dir);
	assert_int_equal(symlink("/etc", p), 0);

	struct webroot_file f;
	assert_int_equal(webroot_open(dir, "index.html", &f), 0);
	assert_int_equal(f.size, 15);
	assert_string_equal(f.type, "text/html; charset=utf-8");
	assert_true(f.etag[0] == '"' && f.last_modified[0]);
	char buf[32];
	assert_int_equal(read(f.fd, buf, sizeof(buf)), 15);
	close(f.fd);
	assert_int_equal(webroot_open(dir, "link.html", &f), -ENOENT);
	assert_int_equal(webroot_open(dir, "dirlink/passwd", &f), -ENOENT);
	assert_int_equal(webroot_open(dir, "sub", &f), -ENOENT);
	assert_int_equal(webroot_open(dir, "missing.js", &f), -ENOENT);
	assert_int_equal(webroot_open(dir, "../etc/passwd", &f), -EINVAL);
	assert_int_equal(webroot_open("/nonexistent-nubo-web", "index.html", &f), -ENOENT);

	str_printf(p, sizeof(p), "%s/sub", dir);
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(unit_tmpdir_remove(dir), 0);
}

static void test_http_range(void **state)
{
	(void)state;
	int64_t off, len;
	static const struct {
		const char *h;
		int64_t size;
		int want, off, len;
	} cases[] = {
		{ "bytes=0-9", 100, 1, 0, 10 },     { "bytes=90-", 100, 1, 90, 10 },
		{ "bytes=-5", 100, 1, 95, 5 },      { "bytes=95-200", 100, 1, 95, 5 },
		{ "bytes=-500", 100, 1, 0, 100 },   { "bytes=100-", 100, -1, 0, 0 },
		{ "bytes=-0", 100, -1, 0, 0 },      { "bytes=0-", 0, -1, 0, 0 },
		{ "bytes=5-2", 100, 0, 0, 0 },      { "bytes=0-1,5-6", 100, 0, 0, 0 },
		{ "items=0-1", 100, 0, 0, 0 },      { "bytes=x-1", 100, 0, 0, 0 },
		{ "bytes=", 100, 0, 0, 0 },         { "bytes=99999999999999999999-", 100, 0, 0, 0 },
	};
	assert_int_equal(http_parse_range(NULL, 10, &off, &len), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		off = len = -7;
		assert_int_equal(http_parse_range(cases[i].h, cases[i].size, &off, &len),
				 cases[i].want);
		if (cases[i].want == 1) {
			assert_int_equal(off, cases[i].off);
			assert_int_equal(len, cases[i].len);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idxmap_against_a_reference),
		cmocka_unit_test(test_str_utf8_fix),
		cmocka_unit_test(test_sshkey_parses_what_ssh_keygen_writes),
		cmocka_unit_test(test_sshkey_refuses_bad_keys),
		cmocka_unit_test(test_sshkey_generates_ed25519),
		cmocka_unit_test(test_router_literal_beats_parameter),
		cmocka_unit_test(test_router_not_found),
		cmocka_unit_test(test_router_rest_parameter),
		cmocka_unit_test(test_router_percent_decoding),
		cmocka_unit_test(test_router_bad_path),
		cmocka_unit_test(test_router_method_not_allowed),
		cmocka_unit_test(test_router_head_falls_back_to_get),
		cmocka_unit_test(test_router_add_errors),
		cmocka_unit_test(test_json_parse),
		cmocka_unit_test(test_json_only),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_json_int_and_bool),
		cmocka_unit_test(test_base64url_vectors),
		cmocka_unit_test(test_base64url_round_trip),
		cmocka_unit_test(test_base64url_rejects),
		cmocka_unit_test(test_config_defaults_and_file),
		cmocka_unit_test(test_config_values),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_config_file),
		cmocka_unit_test(test_config_args_precedence),
		cmocka_unit_test(test_config_args_errors),
		cmocka_unit_test(test_config_find_arg),
		cmocka_unit_test(test_buf_limit),
		cmocka_unit_test(test_buf_growth),
		cmocka_unit_test(test_arena),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_i64),
		cmocka_unit_test(test_parse_size_and_bool),
		cmocka_unit_test(test_str_helpers),
		cmocka_unit_test(test_str_only),
		cmocka_unit_test(test_iso3166),
		cmocka_unit_test(test_time_rfc3339),
		cmocka_unit_test(test_time_rfc3339_rejects),
		cmocka_unit_test(test_time_rfc3339_rejects_impossible_dates),
		cmocka_unit_test(test_time_rfc3339_rejects_non_digits),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_metrics_render),
		cmocka_unit_test(test_log_level_parse),
		cmocka_unit_test(test_err),
		cmocka_unit_test(test_notify_versions_per_key),
		cmocka_unit_test(test_notify_watch_fires_once_on_its_key),
		cmocka_unit_test(test_notify_watch_refuses_a_stale_version),
		cmocka_unit_test(test_notify_unwatch_in_the_middle),
		cmocka_unit_test(test_notify_no_lost_wakeup_across_threads),
		cmocka_unit_test(test_webroot_path_rule),
		cmocka_unit_test(test_webroot_dates_and_conditions),
		cmocka_unit_test(test_webroot_opens_regular_files_only),
		cmocka_unit_test(test_http_range),
	};
	return cmocka_run_group_tests_name("lib", tests, NULL, NULL);
}
