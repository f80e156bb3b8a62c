/* s3xml: the XML request bodies of S3 parsed into plain C structs, and a
 * small writer for XML responses. Parsing is libxml2's, with no network,
 * no DTD (a document with a DOCTYPE is refused, so no external entities
 * and no entity expansion), and explicit limits on body size and element
 * counts. Every error is -EINVAL with a reason a person can act on; S3
 * answers it as MalformedXML (the caller picks a more specific code where
 * S3 has one, such as IllegalVersioningConfigurationException).
 *
 * Element names are matched by local name, whatever their namespace (SDKs
 * send S3's namespace, other tools none). Unknown elements are ignored, so
 * that fields newer SDKs add do not break requests; a known element that
 * may appear once and appears twice is an error. Strings live in the
 * caller's arena; text that names something (keys, ids, ETags) is kept
 * exactly, while numbers, booleans and keywords may carry spaces around
 * them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "checksum.h"

/* Largest bodies accepted, bytes (S3 allows 10,000 parts and 1,000 keys of
 * 1,024 bytes; a CORS configuration is at most 64 KB). */
#define S3XML_MAX_COMPLETE_BODY (8u << 20)
#define S3XML_MAX_DELETE_BODY (8u << 20)
#define S3XML_MAX_CORS_BODY (64u << 10)
#define S3XML_MAX_SMALL_BODY (16u << 10) /* versioning, create bucket */
/* Element counts. */
#define S3XML_MAX_PARTS 10000
#define S3XML_MAX_PART_NUMBER 10000
#define S3XML_MAX_DELETE_KEYS 1000
#define S3XML_MAX_CORS_RULES 100
/* Checksums by enum checksum_algo (CHECKSUM_NONE and MD5 stay NULL). */
#define S3XML_NCHECKSUMS (CHECKSUM_MD5 + 1)

/* A part of <CompleteMultipartUpload>. */
struct s3xml_part {
	uint32_t number;                         /* PartNumber, 1 to 10000 */
	const char *etag;                        /* ETag without surrounding quotes */
	const char *checksum[S3XML_NCHECKSUMS];  /* Checksum<ALGO> base64 as sent, or NULL */
};

/* <CompleteMultipartUpload>: parts in the order sent (checking that they
 * ascend, InvalidPartOrder, is the caller's job). */
struct s3xml_complete {
	struct s3xml_part *parts; /* arena */
	size_t nparts;            /* 1 to S3XML_MAX_PARTS */
};

/* An <Object> of <Delete>. */
struct s3xml_delete_object {
	const char *key;        /* Key, exactly as sent, not empty */
	const char *version_id; /* VersionId, or NULL */
};

/* <Delete> (DeleteObjects). */
struct s3xml_delete {
	struct s3xml_delete_object *objects; /* arena */
	size_t nobjects;                     /* 1 to S3XML_MAX_DELETE_KEYS */
	bool quiet;                          /* Quiet: report errors only */
};

enum s3xml_versioning_status {
	S3XML_VERSIONING_ABSENT,    /* no Status: leave the state as it is */
	S3XML_VERSIONING_ENABLED,
	S3XML_VERSIONING_SUSPENDED,
};

/* <VersioningConfiguration> (MFADelete is accepted and ignored). */
struct s3xml_versioning {
	enum s3xml_versioning_status status;
};

/* A <CORSRule>. The lists are arena arrays of arena strings. */
struct s3xml_cors_rule {
	const char *id;                /* ID (at most 255 characters), or NULL */
	const char **allowed_origins;  /* at least one */
	size_t norigins;
	const char **allowed_methods;  /* at least one; GET PUT POST DELETE HEAD */
	size_t nmethods;
	const char **allowed_headers;
	size_t nallowed_headers;
	const char **expose_headers;
	size_t nexpose_headers;
	int64_t max_age;               /* MaxAgeSeconds, or -1 when absent */
};

/* <CORSConfiguration>. */
struct s3xml_cors {
	struct s3xml_cors_rule *rules; /* arena */
	size_t nrules;                 /* 1 to S3XML_MAX_CORS_RULES */
};

/* <CreateBucketConfiguration>. */
struct s3xml_create_bucket {
	const char *location; /* LocationConstraint; NULL when absent or empty */
};

/* Each parser reads the n bytes of body into *ret, strings and arrays in a,
 * and returns 0, or -EINVAL with a reason in *why (static or arena memory). */

/* Parse a CompleteMultipartUpload body (at most S3XML_MAX_COMPLETE_BODY). */
int s3xml_parse_complete(struct arena *a, const char *body, size_t n,
			 struct s3xml_complete *ret, const char **why);
/* Parse a DeleteObjects body (at most S3XML_MAX_DELETE_BODY). */
int s3xml_parse_delete(struct arena *a, const char *body, size_t n, struct s3xml_delete *ret,
		       const char **why);
/* Parse a PutBucketVersioning body (at most S3XML_MAX_SMALL_BODY). */
int s3xml_parse_versioning(struct arena *a, const char *body, size_t n,
			   struct s3xml_versioning *ret, const char **why);
/* Parse a PutBucketCors body (at most S3XML_MAX_CORS_BODY). */
int s3xml_parse_cors(struct arena *a, const char *body, size_t n, struct s3xml_cors *ret,
		     const char **why);
/* Parse a CreateBucket body (at most S3XML_MAX_SMALL_BODY). */
int s3xml_parse_create_bucket(struct arena *a, const char *body, size_t n,
			      struct s3xml_create_bucket *ret, const char **why);

/* Response writing. */

/* Append the n bytes of s to out as XML text (or attribute value): & < > "
 * and ' become entities, CR, LF and TAB numeric references (as S3 writes
 * them, so they survive the reader's line-end and space handling), other
 * control characters &#xN;. */
void s3xml_escape(struct buf *out, const char *s, size_t n);
/* Append <name>escaped text</name>. */
void s3xml_element(struct buf *out, const char *name, const char *text);
/* Append the XML declaration S3 starts its responses with. */
void s3xml_declaration(struct buf *out);
