/* objects: the domain of the S3 service: buckets, objects and their
 * versions, with metadata in the store and bytes in a data backend.
 *
 * A bucket has one name in the whole deployment and belongs to a project.
 * An object is one row per version: unversioned buckets keep the single
 * version "null"; the newest version of a key is marked is_latest, and a
 * delete in a versioned bucket adds a delete marker. The bytes of a
 * version live in the data backend under a reference kept in the row.
 *
 * Writes are crash-safe by order: the bytes are written to a temporary
 * place, made durable and moved to their final place (the backend's
 * write_commit), and only then is the row committed. A crash in between
 * leaves data no row names; objects_recover() removes it at start-up.
 * Data replaced or deleted is removed after the row change commits.
 *
 * Nothing here knows HTTP or XML. Errors are -ERR_* with err filled:
 * ERR_NOT_FOUND (no such bucket or key), ERR_CONFLICT (bucket name taken,
 * bucket not empty), ERR_QUOTA, ERR_INVALID. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/crypto.h"
#include "lib/err.h"
#include "lib/timeutil.h"
#include "store/store.h"

#define BUCKET_NAME_MAX 63
#define OBJECT_KEY_MAX 1024
/* user metadata (names and values of x-amz-meta-*), bytes, as AWS */
#define OBJECT_META_MAX 2048
/* largest single PUT, as AWS: 5 GiB */
#define OBJECT_PUT_MAX (5ULL * 1024 * 1024 * 1024)
/* a data backend's name for stored bytes */
#define OBJECTS_REF_SIZE 64
/* "null" or 32 hex characters */
#define OBJECT_VERSION_SIZE 40
/* largest page of a listing */
#define OBJECTS_LIST_MAX 1000

/* ---- data backends ---- */

struct objects_writer; /* one object's bytes being written; the backend's */

/* A data backend: where the bytes of object versions live. */
struct objects_data_ops {
	const char *name; /* "fs" */
	/* Start writing the bytes of a new version. */
	int (*write_begin)(void *data, struct objects_writer **ret, struct err *err);
	/* Append n bytes. Returns 0 or a negative errno. */
	int (*write)(struct objects_writer *w, const void *buf, size_t n);
	/* Make the bytes durable under their final name (ret_ref) and free w.
	 * Returns 0, or -ERR_INTERNAL (w is freed and its bytes gone). */
	int (*write_commit)(struct objects_writer *w, char ret_ref[OBJECTS_REF_SIZE],
			    struct err *err);
	/* Throw the bytes away and free w. Accepts NULL. */
	void (*write_abort)(struct objects_writer *w);
	/* Open stored bytes for reading: a file descriptor the caller closes. */
	int (*open)(void *data, const char *ref, int *ret_fd, struct err *err);
	/* Remove stored bytes (gone already is fine). Returns 0 or -errno. */
	int (*remove)(void *data, const char *ref);
	/* Drop unfinished writes, and call fn for each stored reference; fn
	 * returns true to keep it, false to have it removed. Returns the number
	 * removed or -errno. */
	int (*sweep)(void *data, bool (*fn)(const char *ref, void *arg), void *arg);
	/* Free the backend's state. */
	void (*free)(void *data);
};

/* The filesystem backend: bytes under dir/data/XX/<uuid>, unfinished
 * writes under dir/tmp. */
extern const struct objects_data_ops objects_fs_ops;

struct objects {
	const struct objects_data_ops *ops; /* the data backend */
	void *data;                         /* its state, owned */
};

/* Open the filesystem backend rooted at dir (created when missing).
 * Returns 0 and a handle freed with objects_free(), or -ERR_INTERNAL. */
int objects_open_fs(const char *dir, struct objects **ret, struct err *err);
/* Free the handle and its backend. Accepts NULL. */
void objects_free(struct objects *o);
/* After a crash: remove unfinished writes and stored bytes that no row
 * names. Run before serving. Returns the number removed or -ERR_*. */
int objects_recover(struct objects *o, struct store_conn *c, struct err *err);

/* ---- buckets ---- */

struct bucket {
	char name[BUCKET_NAME_MAX + 1];
	char project_id[UUID_SIZE];      /* owner */
	char created_at[TIME_RFC3339_SIZE];
	char versioning[16];             /* "" (never enabled), "Enabled" or "Suspended" */
	char acl[32];                    /* canned ACL: "private" or "public-read" */
};

/* Check name against the AWS bucket naming rules. Returns 0, or
 * -ERR_INVALID saying which rule it breaks. */
int bucket_name_check(const char *name, struct err *err);
/* Create bucket name owned by project_id with canned ACL acl (NULL:
 * private), counting it against the project's buckets quota. ERR_CONFLICT
 * when the name is taken (by anyone). */
int bucket_create(struct store_conn *c, const char *project_id, const char *name,
		  const char *acl, struct bucket *ret, struct err *err);
/* Find bucket name. ERR_NOT_FOUND when there is none. */
int bucket_get(struct store_conn *c, const char *name, struct bucket *ret, struct err *err);
/* Delete an empty bucket (no version, no delete marker, no upload left);
 * ERR_CONFLICT otherwise. */
int bucket_delete(struct store_conn *c, const char *name, struct err *err);
/* The buckets of project_id by name, at most max. Caller frees *ret. */
int bucket_list(struct store_conn *c, const char *project_id, size_t max, struct bucket **ret,
		size_t *ret_n, struct err *err);
/* True for the canned ACLs served: "private" and "public-read". */
bool objects_acl_valid(const char *acl);
/* Set a bucket's canned ACL (public-read lets anyone list it). */
int bucket_set_acl(struct store_conn *c, const char *name, const char *acl, struct err *err);
/* Largest bucket policy document, bytes (as AWS). */
#define BUCKET_POLICY_MAX 20480
/* Check a bucket policy (JSON, n bytes) for bucket against the subset
 * served: statements that Allow the anonymous principal "*" the action
 * s3:GetObject on resources arn:aws:s3:::BUCKET/KEY or .../PREFIX*.
 * ERR_INVALID saying what is not served. */
int bucket_policy_check(const char *doc, size_t n, const char *bucket, struct err *err);
/* True when policy doc (may be NULL or "") lets anyone read key of bucket. */
bool bucket_policy_allows_read(const char *doc, const char *bucket, const char *key);
/* The documents a bucket may hold. */
enum bucket_doc { BUCKET_DOC_POLICY, BUCKET_DOC_CORS };
/* Set (doc, checked already) or remove (NULL) a bucket's policy or CORS
 * configuration. */
int bucket_doc_set(struct store_conn *c, const char *name, enum bucket_doc which,
		   const char *doc, struct err *err);
/* A bucket's policy or CORS configuration (caller frees); ERR_NOT_FOUND
 * when it has none. */
int bucket_doc_get(struct store_conn *c, const char *name, enum bucket_doc which, char **ret,
		   struct err *err);

/* What a CORS request asks (Origin, the method, the headers it will send). */
struct cors_request {
	const char *origin;
	const char *method;
	const char *headers; /* Access-Control-Request-Headers (comma list), or NULL */
};
struct s3xml_cors;
struct s3xml_cors_rule;
/* The first rule of cfg that allows q, or NULL: its origin, method and
 * every requested header match (AllowedOrigin and AllowedHeader may hold
 * one '*'; headers match in any case). */
const struct s3xml_cors_rule *objects_cors_match(const struct s3xml_cors *cfg,
						 const struct cors_request *q);
/* Set versioning to "Enabled" or "Suspended". */
int bucket_set_versioning(struct store_conn *c, const char *name, const char *state,
			  struct err *err);

/* ---- objects ---- */

/* One version of an object, as stored. Text fields are "" when unset. */
struct object {
	char bucket[BUCKET_NAME_MAX + 1];
	char key[OBJECT_KEY_MAX + 1];
	char version_id[OBJECT_VERSION_SIZE]; /* "null" when unversioned */
	bool is_latest;                       /* the current version of its key */
	bool delete_marker;                   /* a delete marker, not bytes */
	int64_t size;                         /* bytes */
	char etag[72];                        /* quoted, as sent in ETag */
	char content_type[256];
	char content_encoding[128];
	char content_disposition[512];
	char content_language[64];
	char cache_control[256];
	char expires[64];                     /* as the client sent it */
	/* user metadata: lines "name: value\n", names lower case without the
	 * x-amz-meta- prefix */
	char meta[OBJECT_META_MAX + 512];
	char checksum_algo[16];               /* "CRC32"..., or "" */
	char checksum_value[96];              /* base64, as in the header */
	int64_t last_modified_ms;             /* Unix ms */
	char data_ref[OBJECTS_REF_SIZE];      /* where the bytes are; "" for a marker */
	char acl[16];                         /* canned ACL: "public-read", or "" (private) */
};

/* Store a new version of obj->key in bucket b, its bytes already committed
 * under obj->data_ref by the backend. In an unversioned (or suspended)
 * bucket it replaces the "null" version. Charges object_bytes to the
 * bucket's project. Fills version_id, is_latest and last_modified_ms. On
 * success the bytes of a replaced version are removed; on failure the
 * caller removes obj->data_ref. */
int object_put(struct objects *o, struct store_conn *c, const struct bucket *b,
	       struct object *obj, struct err *err);
/* The latest version of key (version_id NULL) or the given one. A latest
 * version that is a delete marker: ERR_NOT_FOUND with ret filled and
 * ret->delete_marker set. */
int object_get(struct store_conn *c, const char *bucket, const char *key,
	       const char *version_id, struct object *ret, struct err *err);
/* object_get, and the stored bytes opened into *ret_fd (-1 for a delete
 * marker or an empty object; the caller closes it). A version replaced
 * between the look-up and the open is looked up again, so a reader gets
 * the old bytes or the new ones, never an error. */
int object_get_open(struct objects *o, struct store_conn *c, const char *bucket,
		    const char *key, const char *version_id, struct object *ret, int *ret_fd,
		    struct err *err);
/* Set the canned ACL of key's latest version (or of version_id):
 * "public-read" or "" (private). ERR_NOT_FOUND when there is none. */
int object_set_acl(struct store_conn *c, const char *bucket, const char *key,
		   const char *version_id, const char *acl, struct err *err);
/* What a delete did (S3 reports it). */
struct object_deleted {
	bool delete_marker;                   /* a marker was made or removed */
	char version_id[OBJECT_VERSION_SIZE]; /* the marker's or removed version's id */
};
/* Delete key: without version_id, the "null" version of an unversioned
 * bucket, or a new delete marker in a versioned one; with it, that version
 * for good. Deleting what is not there succeeds (as S3). */
int object_delete(struct objects *o, struct store_conn *c, const struct bucket *b,
		  const char *key, const char *version_id, struct object_deleted *ret,
		  struct err *err);

/* One entry of a listing. */
struct object_entry {
	char *key;                            /* owned by the listing */
	char version_id[OBJECT_VERSION_SIZE];
	bool is_latest;
	bool delete_marker;
	int64_t size;
	char etag[72];
	int64_t last_modified_ms;
};

struct object_listing {
	struct object_entry *items;  /* in key order (versions newest first) */
	size_t n;
	char **prefixes;             /* common prefixes, in order */
	size_t nprefixes;
	bool truncated;              /* more follow */
	char *next_key;              /* truncated: the last key or prefix given */
	char next_version[OBJECT_VERSION_SIZE]; /* versions, truncated: of next_key */
};

/* What to list. */
struct object_list_query {
	const char *prefix;          /* only keys starting with it; "" for all */
	const char *delimiter;       /* roll keys up at it; NULL or "" for none */
	const char *after;           /* only keys after it (marker); NULL for none */
	const char *after_version;   /* versions: with after, only older versions of it */
	size_t max;                  /* 0 to OBJECTS_LIST_MAX entries and prefixes */
	bool versions;               /* every version and marker, not the latest objects */
};

/* List bucket as q asks. A rolled-up common prefix is passed over with
 * one seek. Fills ret; free it with object_listing_release(). */
int object_list(struct store_conn *c, const char *bucket, const struct object_list_query *q,
		struct object_listing *ret, struct err *err);
/* Free what a listing holds. */
void object_listing_release(struct object_listing *l);

/* Copy len bytes (-1: to the end) from off of those stored under ref into
 * new stored bytes, committed under ret_ref, computing their MD5 into
 * ret_md5. Never holds them in memory. */
int objects_data_copy(struct objects *o, const char *ref, int64_t off, int64_t len,
		      char ret_ref[OBJECTS_REF_SIZE], unsigned char ret_md5[16], struct err *err);

/* ---- multipart uploads ---- */

#define MULTIPART_PARTS_MAX 10000
/* every part but the last is at least this large, as AWS */
#define MULTIPART_PART_MIN (5LL * 1024 * 1024)
/* a part is at most this large, as AWS */
#define MULTIPART_PART_MAX (5ULL * 1024 * 1024 * 1024)

/* An upload in progress; the object's metadata waits in meta (its key,
 * content headers, user metadata and checksum algorithm; size, etag and
 * data_ref unused). */
struct multipart_upload {
	char id[OBJECT_VERSION_SIZE];     /* 32 hex characters */
	char initiator[64];               /* user name of who began it */
	char checksum_type[16];           /* "COMPOSITE", "FULL_OBJECT" or "" */
	int64_t initiated_ms;
	struct object meta;
};

struct multipart_part {
	unsigned number;                  /* 1 to MULTIPART_PARTS_MAX */
	int64_t size;
	char etag[72];                    /* quoted hex MD5 */
	char checksum_value[96];          /* base64, "" when none */
	int64_t last_modified_ms;
	char data_ref[OBJECTS_REF_SIZE];
};

/* Begin an upload of u->meta.key in bucket b; fills u->id and
 * initiated_ms. */
int multipart_create(struct store_conn *c, const struct bucket *b, struct multipart_upload *u,
		     struct err *err);
/* Find upload id of key in bucket. ERR_NOT_FOUND when there is none. */
int multipart_get(struct store_conn *c, const char *bucket, const char *key, const char *id,
		  struct multipart_upload *ret, struct err *err);
/* Store part p of upload id (its bytes committed under p->data_ref),
 * replacing an earlier one of that number, whose bytes are then removed.
 * Charges object_bytes to the bucket's project. On failure the caller
 * removes p->data_ref. */
int multipart_part_put(struct objects *o, struct store_conn *c, const struct bucket *b,
		       const char *id, struct multipart_part *p, struct err *err);
/* Parts of upload id numbered above after, at most max (ret_more tells
 * whether more follow). Caller frees *ret. */
int multipart_parts_list(struct store_conn *c, const char *id, unsigned after, size_t max,
			 struct multipart_part **ret, size_t *ret_n, bool *ret_more,
			 struct err *err);
/* What CompleteMultipartUpload names: a part and the ETag it had. */
struct multipart_pick {
	unsigned number;
	const char *etag;                 /* with or without quotes */
	const char *checksum;             /* base64 the client holds, or NULL */
};
/* Why a completion was refused (with -ERR_INVALID). */
enum multipart_refusal {
	MULTIPART_OK,
	MULTIPART_INVALID_PART,           /* a part missing, or its ETag or checksum differs */
	MULTIPART_INVALID_ORDER,          /* numbers not ascending */
	MULTIPART_TOO_SMALL,              /* a part but the last under MULTIPART_PART_MIN */
	MULTIPART_BAD_CHECKSUM,           /* the whole object's checksum is not the one given */
};
/* Assemble the picked parts, in order, into the new latest version of the
 * upload's key (bytes copied into one stored file, never into memory), end
 * the upload and remove its parts' bytes. The ETag is the MD5 of the parts'
 * MD5s with "-N"; with a checksum algorithm the checksum is COMPOSITE
 * (checksum of the parts' checksums, "-N") or FULL_OBJECT (the CRCs
 * combined); want_checksum, when given, must be that checksum. Fills ret.
 * A refusal sets *ret_why. */
int multipart_complete(struct objects *o, struct store_conn *c, const struct bucket *b,
		       const struct multipart_upload *u, const struct multipart_pick *picks,
		       size_t n, const char *want_checksum, struct object *ret,
		       enum multipart_refusal *ret_why, struct err *err);
/* End upload id without an object, removing its parts. */
int multipart_abort(struct objects *o, struct store_conn *c, const struct bucket *b,
		    const char *id, struct err *err);
/* Abort every upload begun before before_ms (abandoned ones). Returns how
 * many, or -ERR_*. */
int multipart_expire(struct objects *o, struct store_conn *c, int64_t before_ms,
		     struct err *err);
/* A page of uploads in progress. */
struct multipart_listing {
	struct multipart_upload *items; /* by key, then id */
	size_t n;
	char **prefixes;                /* common prefixes, in order */
	size_t nprefixes;
	bool truncated;                 /* more follow */
	char *next_key;                 /* truncated: the last key or prefix given */
	char next_id[OBJECT_VERSION_SIZE]; /* truncated: its upload id ("" for a prefix) */
};
/* Uploads in bucket whose key starts with prefix, after (after_key,
 * after_id) (after_id NULL: after every upload of after_key), at most max
 * uploads and common prefixes together; with a delimiter, keys that hold
 * it after the prefix roll up into common prefixes (each passed over with
 * one seek). Free ret with multipart_listing_release(). */
int multipart_list(struct store_conn *c, const char *bucket, const char *prefix,
		   const char *delimiter, const char *after_key, const char *after_id,
		   size_t max, struct multipart_listing *ret, struct err *err);
/* Free what a listing of uploads holds. */
void multipart_listing_release(struct multipart_listing *l);

/* ---- names in requests ---- */

struct arena;

/* What an S3 request addresses. */
struct objects_address {
	const char *bucket; /* decoded, or NULL (the service itself) */
	const char *key;    /* decoded, or NULL (the bucket itself) */
	bool virtual_host;  /* the bucket came from the Host header */
};

/* Find bucket and key from the Host header (host, may be NULL) and the raw
 * path: virtual-hosted "bucket.<domain>" when domain is set and the host
 * is below it (bucket lower-cased), else path-style "/bucket/key". Strings
 * in a. Returns 0, or -EINVAL when the path does not begin with '/' or is
 * badly percent-encoded. */
int objects_address_parse(struct arena *a, const char *host, const char *path,
			  const char *domain, struct objects_address *ret);
/* Split an x-amz-copy-source value ("[/]bucket/key[?versionId=v]",
 * percent-encoded) into ret and *ret_version (NULL when absent). Strings
 * in a. Returns 0 or -EINVAL. */
int objects_copy_source_parse(struct arena *a, const char *src, struct objects_address *ret,
			      const char **ret_version);
