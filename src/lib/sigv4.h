/* sigv4: AWS Signature Version 4, the parts that do not depend on who holds
 * which key: parsing the Authorization header and presigned-URL query
 * parameters, building the canonical request and the string to sign, and
 * computing a signature from a secret. Deciding whether a request is
 * allowed (key lookup, clock skew, expiry) is the caller's job. Shared by
 * the native API (service "nubo") and the S3 service (service "s3"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* Size of a derived signing key (HMAC-SHA256). */
#define SIGV4_KEY_SIZE 32
/* Longest presigned URL life AWS allows: 7 days. */
#define SIGV4_MAX_EXPIRES (7 * 24 * 3600)

struct sigv4_auth {
	char access_key[129];      /* access key id from the credential */
	char date[9];              /* YYYYMMDD of the credential scope */
	char region[64];           /* region of the credential scope */
	char service[64];          /* service of the credential scope */
	char signed_headers[1024]; /* "host;x-amz-date", lower case, sorted */
	char signature[65];        /* lower-case hex */
	char amz_date[17];         /* YYYYMMDDTHHMMSSZ the request was signed at */
	bool presigned;            /* from query parameters, not a header */
	int64_t expires;           /* presigned: seconds the URL is valid */
};

struct sigv4_request {
	const char *method;          /* "GET"... */
	const char *path;            /* raw path as sent, still percent-encoded */
	const struct http_kv *query; /* raw query parameters as sent */
	size_t nquery;
	/* value of the request header name (any case), or NULL */
	const char *(*header)(void *ctx, const char *name);
	void *header_ctx;
	const char *payload_hash;    /* hex SHA-256 of the body, or UNSIGNED-PAYLOAD */
	bool s3;                     /* S3 signs the path as sent; others encode it again */
};

/* Parse "AWS4-HMAC-SHA256 Credential=.../date/region/service/aws4_request,
 * SignedHeaders=..., Signature=..." (amz_date is left empty: it comes from
 * the X-Amz-Date header). Returns 0 or -EINVAL with a reason in why. */
int sigv4_parse_header(const char *authorization, struct sigv4_auth *ret, const char **why);
/* Parse the X-Amz-* parameters of a presigned URL from raw query
 * parameters. Returns 0, -ENOENT when there are none, or -EINVAL. */
int sigv4_parse_query(const struct http_kv *query, size_t n, struct sigv4_auth *ret,
		      const char **why);
/* Build the canonical request for r as signed by a. Returns 0 and a string
 * the caller frees, or -EINVAL when a signed header is missing. */
int sigv4_canonical_request(const struct sigv4_request *r, const struct sigv4_auth *a,
			    char **ret);
/* The string to sign for a canonical request. Caller frees. */
char *sigv4_string_to_sign(const struct sigv4_auth *a, const char *canonical);
/* The hex signature of string_to_sign under secret and a's scope. */
void sigv4_sign(const char *secret, const struct sigv4_auth *a, const char *string_to_sign,
		char out[65]);
/* Derive the signing key of secret for the scope date (YYYYMMDD), region
 * and service into out. The caller wipes it (explicit_bzero) when done. */
void sigv4_signing_key(const char *secret, const char *date, const char *region,
		       const char *service, unsigned char out[SIGV4_KEY_SIZE]);
/* The hex signature of the n bytes of string_to_sign under a derived key:
 * what signs each chunk and trailer of a streamed (aws-chunked) body. */
void sigv4_sign_key(const unsigned char key[SIGV4_KEY_SIZE], const char *string_to_sign,
		    size_t n, char out[65]);
/* Parse YYYYMMDDTHHMMSSZ into Unix milliseconds. Returns 0 or -EINVAL. */
int sigv4_parse_amz_date(const char *s, int64_t *ret_ms);
/* Percent-encode s as SigV4 wants (unreserved characters kept, upper-case
 * hex; '/' kept when keep_slash). Appends to out. */
void sigv4_uri_encode(struct buf *out, const char *s, size_t n, bool keep_slash);
