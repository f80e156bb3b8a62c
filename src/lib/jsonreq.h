/* jsonreq: reading request bodies with jansson, strictly: the body must be
 * one JSON object, keys may not repeat, unknown keys are refused (a typo in
 * a field name is an error, not a silent default), and each field is checked
 * for type and bounds with a message that names it. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Parse len bytes as a JSON object. Returns a new reference (caller
 * json_decref()s it) or NULL with err set to ERR_MALFORMED. */
json_t *json_req_parse(const char *body, size_t len, struct err *err);
/* Check that every key of obj is one of allowed (NULL-terminated). Returns
 * 0 or -ERR_INVALID naming the first unknown key. */
int json_req_only(const json_t *obj, const char *const allowed[], struct err *err);
/* Read string field key: *ret is borrowed from obj, or NULL when the field is
 * absent and not required. Refuses non-strings, embedded control characters
 * (other than tab, CR and LF when multiline) and more than max_chars
 * characters. Returns 0 or -ERR_INVALID. */
int json_req_string(const json_t *obj, const char *key, bool required, size_t max_chars,
		    bool multiline, const char **ret, struct err *err);
/* Read integer field key within [min, max]. *ret_present tells whether it
 * was given (ret is then written). Returns 0 or -ERR_INVALID. */
int json_req_int(const json_t *obj, const char *key, bool required, int64_t min, int64_t max,
		 int64_t *ret, bool *ret_present, struct err *err);
/* Read number field key (integer or not) within [min, max]; with nullable,
 * null is taken and sets *ret_null. *ret_present tells whether it was
 * given. Returns 0 or -ERR_INVALID. */
int json_req_number(const json_t *obj, const char *key, double min, double max, bool nullable,
		    double *ret, bool *ret_null, bool *ret_present, struct err *err);
/* Read boolean field key. *ret_present tells whether it was given. */
int json_req_bool(const json_t *obj, const char *key, bool required, bool *ret,
		  bool *ret_present, struct err *err);
/* Serialise v compactly. Caller frees; length in ret_len when given. */
char *json_req_dump(const json_t *v, size_t *ret_len);
