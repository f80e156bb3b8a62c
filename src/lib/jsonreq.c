/* jsonreq: see jsonreq.h. */
#include "jsonreq.h"

#include <string.h>

#include "util.h"

json_t *json_req_parse(const char *body, size_t len, struct err *err)
{
	if (len == 0) {
		err_set(err, ERR_MALFORMED, "", "the request body is empty; send a JSON object");
		return NULL;
	}
	json_error_t je;
	json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!v) {
		err_set(err, ERR_MALFORMED, "", "malformed JSON at line %d, column %d: %s", je.line,
			je.column, je.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		err_set(err, ERR_MALFORMED, "", "the request body must be a JSON object");
		return NULL;
	}
	return v;
}

int json_req_only(const json_t *obj, const char *const allowed[], struct err *err)
{
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)obj, key, val) {
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			if (strcmp(key, allowed[i]) == 0)
				ok = true;
		if (!ok) {
			char shown[64];
			str_copy(shown, sizeof(shown), key);
			return err_set(err, ERR_INVALID, shown, "unknown field '%s'", shown);
		}
	}
	return 0;
}

int json_req_string(const json_t *obj, const char *key, bool required, size_t max_chars,
		    bool multiline, const char **ret, struct err *err)
{
	json_t *v = json_object_get(obj, key);
	*ret = NULL;
	if (!v) {
		if (required)
			return err_set(err, ERR_INVALID, key, "field '%s' is required", key);
		return 0;
	}
	if (!json_is_string(v))
		return err_set(err, ERR_INVALID, key, "field '%s' must be a string", key);
	const char *s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return err_set(err, ERR_INVALID, key, "field '%s' must not contain NUL", key);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool ctl = *p < 0x20 || *p == 0x7f;
		if (ctl && !(multiline && (*p == '\n' || *p == '\t' || *p == '\r')))
			return err_set(err, ERR_INVALID, key,
				       "field '%s' must not contain control characters", key);
	}
	if (str_utf8_len(s) > max_chars)
		return err_set(err, ERR_INVALID, key, "field '%s' is longer than %zu characters",
			       key, max_chars);
	*ret = s;
	return 0;
}

int json_req_int(const json_t *obj, const char *key, bool required, int64_t min, int64_t max,
		 int64_t *ret, bool *ret_present, struct err *err)
{
	json_t *v = json_object_get(obj, key);
	if (ret_present)
		*ret_present = false;
	if (!v) {
		if (required)
			return err_set(err, ERR_INVALID, key, "field '%s' is required", key);
		return 0;
	}
	if (!json_is_integer(v))
		return err_set(err, ERR_INVALID, key, "field '%s' must be an integer", key);
	json_int_t n = json_integer_value(v);
	if (n < min || n > max)
		return err_set(err, ERR_INVALID, key,
			       "field '%s' must be between %lld and %lld", key, (long long)min,
			       (long long)max);
	*ret = n;
	if (ret_present)
		*ret_present = true;
	return 0;
}

int json_req_number(const json_t *obj, const char *key, double min, double max, bool nullable,
		    double *ret, bool *ret_null, bool *ret_present, struct err *err)
{
	json_t *v = json_object_get(obj, key);
	*ret_present = v != NULL;
	*ret_null = false;
	if (!v)
		return 0;
	if (nullable && json_is_null(v)) {
		*ret_null = true;
		return 0;
	}
	if (!json_is_number(v))
		return err_set(err, ERR_INVALID, key, "field '%s' must be a number%s", key,
			       nullable ? " or null" : "");
	double n = json_number_value(v);
	if (!(n >= min && n <= max))
		return err_set(err, ERR_INVALID, key, "field '%s' must be from %g to %g", key, min,
			       max);
	*ret = n;
	return 0;
}

int json_req_bool(const json_t *obj, const char *key, bool required, bool *ret,
		  bool *ret_present, struct err *err)
{
	json_t *v = json_object_get(obj, key);
	if (ret_present)
		*ret_present = false;
	if (!v) {
		if (required)
			return err_set(err, ERR_INVALID, key, "field '%s' is required", key);
		return 0;
	}
	if (!json_is_boolean(v))
		return err_set(err, ERR_INVALID, key, "field '%s' must be true or false", key);
	*ret = json_is_true(v);
	if (ret_present)
		*ret_present = true;
	return 0;
}

char *json_req_dump(const json_t *v, size_t *ret_len)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		s = xstrdup("null");
	if (ret_len)
		*ret_len = strlen(s);
	return s;
}
