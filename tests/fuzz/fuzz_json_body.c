/* fuzz_json_body: the request-body path of POST and PATCH /v1/zones as
 * api_body() and zone_spec_read() run it: json_req_parse, json_req_only with
 * the zone fields, the field readers, then zone_name_check and
 * zone_jurisdiction_check on what was found, as zone_create() would.
 *
 * Besides memory errors and leaks it checks the contracts the handlers rely
 * on: return values are 0 or the documented -ERR_*, every error carries a
 * code and a message, a string handed back obeys the limits it was read
 * with, the checks accept exactly the names and codes their comments
 * describe, and what json_req_dump writes parses back to an equal value. */
#include <jansson.h>
#include <stdbool.h>

#include "compute/compute.h"
#include "fuzz.h"
#include "lib/err.h"
#include "lib/iso3166.h"
#include "lib/jsonreq.h"

/* The largest body worth trying: zone bodies are small, and larger inputs
 * only slow the search down inside (uninstrumented) jansson. */
#define BODY_MAX (64 * 1024)

static const char *const zone_fields[] = { "name", "description", "jurisdiction", NULL };

/* Each zone field as zone_spec_read() reads it. */
static const struct {
	const char *key;
	bool required_on_create;
	size_t max_chars;
	bool multiline;
} fields[] = {
	{ "name", true, ZONE_NAME_MAX, false },
	{ "jurisdiction", true, 8, false },
	{ "description", false, ZONE_DESCRIPTION_MAX, true },
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* A fixed hash seed keeps object iteration order, hence which unknown
	 * key is reported first, the same from run to run. */
	json_object_seed(0x6e75626f);
	return 0;
}

/* An error was reported the way api_reply_error() expects. */
static void check_err(int r, enum err_code code, const struct err *err)
{
	CHECK(r == -(int)code);
	CHECK(err->code == code);
	CHECK(err->message[0] != '\0');
	CHECK(memchr(err->message, '\0', sizeof(err->message)) != NULL);
	CHECK(memchr(err->field, '\0', sizeof(err->field)) != NULL);
}

/* A string json_req_string accepted obeys the limits it was read with. */
static void check_string(const json_t *obj, const char *key, const char *s, size_t max_chars,
			 bool multiline)
{
	const json_t *v = json_object_get(obj, key);
	CHECK(v && json_is_string(v) && s == json_string_value(v));
	CHECK(strlen(s) == json_string_length(v));
	size_t chars = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			CHECK(multiline && (*p == '\t' || *p == '\n' || *p == '\r'));
		if ((*p & 0xC0) != 0x80)
			chars++;
	}
	CHECK(chars <= max_chars);
}

/* Run every reader over every zone field, as a create and as an update. */
static void read_fields(const json_t *obj, bool create, const char *found[3])
{
	for (size_t i = 0; i < 3; i++) {
		const char *key = fields[i].key;
		bool present = json_object_get(obj, key) != NULL;
		bool required = create && fields[i].required_on_create;
		struct err err = { 0 };
		const char *s = NULL;
		int r = json_req_string(obj, key, required, fields[i].max_chars,
					fields[i].multiline, &s, &err);
		if (r == 0) {
			CHECK(present || !required);
			CHECK((s != NULL) == present);
			if (s)
				check_string(obj, key, s, fields[i].max_chars, fields[i].multiline);
			found[i] = s;
		} else {
			check_err(r, ERR_INVALID, &err);
			CHECK(strcmp(err.field, key) == 0);
			found[i] = NULL;
		}

		int64_t n = 0;
		bool got = true;
		err_clear(&err);
		r = json_req_int(obj, key, required, -1000, 1000, &n, &got, &err);
		if (r == 0) {
			CHECK(got == present);
			CHECK(!got || (n >= -1000 && n <= 1000));
		} else {
			check_err(r, ERR_INVALID, &err);
			CHECK(!got);
		}

		bool b = false;
		got = true;
		err_clear(&err);
		r = json_req_bool(obj, key, required, &b, &got, &err);
		if (r == 0)
			CHECK(got == present && (!got || json_is_boolean(json_object_get(obj, key))));
		else
			check_err(r, ERR_INVALID, &err);
	}
}

/* The oracle for zone_name_check: a DNS label of lower-case letters,
 * digits and hyphens, 1-63 long, no hyphen at either end, not a UUID. */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	if (n != 36)
		return true;
	for (size_t i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash != (s[i] == '-'))
			return true;
		if (!dash && s[i] > 'f')
			return true;
	}
	return false; /* the form of a UUID */
}

static void check_zone(const char *name, const char *jurisdiction)
{
	struct err err = { 0 };
	if (name) {
		int r = zone_name_check(name, &err);
		CHECK((r == 0) == name_ok(name));
		if (r < 0)
			check_err(r, ERR_INVALID, &err);
	}
	if (jurisdiction) {
		char out[3] = "zz";
		err_clear(&err);
		int r = zone_jurisdiction_check(jurisdiction, out, &err);
		if (r == 0) {
			CHECK(strlen(jurisdiction) == 2);
			CHECK(out[2] == '\0' && iso3166_alpha2_valid(out));
			for (int i = 0; i < 2; i++)
				CHECK(out[i] == jurisdiction[i] ||
				      out[i] == jurisdiction[i] - ('a' - 'A'));
		} else {
			check_err(r, ERR_INVALID, &err);
			CHECK(strcmp(out, "zz") == 0); /* written only on success */
		}
	}
}

/* What json_req_dump writes is JSON that parses back to an equal object. */
static void check_dump(const json_t *obj)
{
	size_t len = 0;
	char *dump = json_req_dump(obj, &len);
	CHECK(dump && strlen(dump) == len);
	struct err err = { 0 };
	json_t *again = json_req_parse(dump, len, &err);
	CHECK(again != NULL);
	CHECK(json_equal(obj, again));
	json_decref(again);
	free(dump);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > BODY_MAX)
		return 0;
	struct err err = { 0 };
	json_t *obj = json_req_parse((const char *)data, size, &err);
	if (!obj) {
		check_err(-ERR_MALFORMED, ERR_MALFORMED, &err);
		return 0;
	}
	CHECK(json_is_object(obj));
	check_dump(obj);

	err_clear(&err);
	int r = json_req_only(obj, zone_fields, &err);
	if (r == 0) {
		const char *key;
		json_t *val;
		json_object_foreach(obj, key, val)
			CHECK(!strcmp(key, "name") || !strcmp(key, "description") ||
			      !strcmp(key, "jurisdiction"));
	} else {
		check_err(r, ERR_INVALID, &err);
	}

	/* The handlers stop at an unknown field; read on anyway, for depth. */
	for (int create = 0; create < 2; create++) {
		const char *found[3];
		read_fields(obj, create, found);
		check_zone(found[0], found[1]);
	}
	json_decref(obj);
	return 0;
}
