/* identity: users, projects, role bindings, tokens, access keys, quotas
 * and the audit trail.
 *
 * The model: a user has a password (Argon2id) and may be a system
 * administrator (an operator: zones, hosts, flavors, every project). A
 * project is a tenant; a role binding gives a user one role in it: reader
 * (read), member (read and change the project's resources) or admin (also
 * members and settings). A bearer token (256 random bits, stored as its
 * SHA-256) belongs to a user and is scoped to one project or to the system;
 * an access key (id + secret, the secret sealed with the server key because
 * SigV4 needs it back) likewise. Quotas are per project and per resource;
 * usage changes in the same transaction as the resource. Audit events are
 * only ever inserted.
 *
 * Functions take a borrowed store connection and report errors as -ERR_*
 * with err filled. Nothing here logs a secret. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/crypto.h"
#include "lib/err.h"
#include "lib/password.h"
#include "lib/sigv4.h"
#include "lib/timeutil.h"
#include "store/store.h"

#define USER_NAME_MAX 64
#define USER_EMAIL_MAX 254
#define PASSWORD_MIN 12
#define PASSWORD_MAX 1024
#define PROJECT_NAME_MAX 64
#define PROJECT_DESCRIPTION_MAX 255
#define TOKEN_NAME_MAX 64
#define ACCESS_KEY_ID_SIZE 21   /* "NUBO" + 16 characters + NUL */

enum role { ROLE_NONE = 0, ROLE_READER, ROLE_MEMBER, ROLE_ADMIN };

/* The name of a role ("reader"...), or "none". */
const char *role_name(enum role r);
/* Parse a role name. Returns 0 or -ERR_INVALID. */
int role_parse(const char *s, enum role *ret, struct err *err);

enum cred_kind { CRED_NONE = 0, CRED_TOKEN, CRED_ACCESS_KEY };

/* Who a request comes from, once authenticated. */
struct principal {
	char user_id[UUID_SIZE];
	char user_name[USER_NAME_MAX + 1];
	bool system_admin;                  /* the user is an operator */
	char project_id[UUID_SIZE];         /* scope; "" for system scope */
	char project_name[PROJECT_NAME_MAX + 1];
	enum role role;                     /* role in project_id */
	enum cred_kind kind;                /* how it authenticated */
	char credential_id[UUID_SIZE];      /* token id or access key id */
	int64_t expires_ms;                 /* when the credential expires (0: never) */
};

struct identity_settings {
	int64_t token_ttl_ms;             /* life of a login token */
	struct password_cost cost;        /* Argon2id cost for new hashes */
	const unsigned char *server_key;  /* CRYPTO_KEY_SIZE bytes, borrowed */
	const int64_t *quota_defaults;    /* QUOTA__COUNT limits, -1: unlimited */
};

/* ---- users ---- */

struct user {
	char id[UUID_SIZE];
	char name[USER_NAME_MAX + 1];
	char email[USER_EMAIL_MAX + 1];
	bool system_admin;
	bool disabled;
	char created_at[TIME_RFC3339_SIZE];
	char updated_at[TIME_RFC3339_SIZE];
};

/* Fields of a user to create or change; NULL/absent means "not given". */
struct user_spec {
	const char *name;
	const char *password;
	const char *email;
	bool has_system_admin, system_admin;
	bool has_disabled, disabled;
};

/* Create a user (name and password required). */
int user_create(struct store_conn *c, const struct identity_settings *s,
		const struct user_spec *spec, struct user *ret, struct err *err);
/* Find a user by id or name. */
int user_get(struct store_conn *c, const char *id_or_name, struct user *ret, struct err *err);
/* List users ordered by name, after `after`, up to limit (> 0); caller frees *ret. */
int user_list(struct store_conn *c, const char *after, size_t limit, struct user **ret,
	      size_t *ret_n, bool *ret_more, struct err *err);
/* Change a user. A new password or disabling revokes the user's tokens. */
int user_update(struct store_conn *c, const struct identity_settings *s, const char *id_or_name,
		const struct user_spec *spec, struct user *ret, struct err *err);
/* Check user_id's password. 0 when it matches, -ERR_INVALID (field
 * current_password) when not. */
int user_verify_password(struct store_conn *c, const char *user_id, const char *password,
			 struct err *err);
/* Delete a user with their bindings, tokens and access keys. */
int user_delete(struct store_conn *c, const char *id_or_name, struct err *err);
/* Create the administrator `admin` when there are no users. Writes the
 * new password to ret_password (caller frees) and returns 1, or 0 when
 * users exist. */
int identity_bootstrap(struct store_conn *c, const struct identity_settings *s,
		       char **ret_password, struct err *err);
/* Give `admin` a new random password (returned, caller frees) and revoke
 * its tokens. */
int identity_reset_admin(struct store_conn *c, const struct identity_settings *s,
			 char **ret_password, struct err *err);

/* ---- projects and members ---- */

struct project {
	char id[UUID_SIZE];
	char name[PROJECT_NAME_MAX + 1];
	char description[PROJECT_DESCRIPTION_MAX * 4 + 1];
	char created_at[TIME_RFC3339_SIZE];
	char updated_at[TIME_RFC3339_SIZE];
};

struct member {
	char user_id[UUID_SIZE];
	char user_name[USER_NAME_MAX + 1];
	enum role role;
	char created_at[TIME_RFC3339_SIZE];
};

/* Create a project with the default quotas. */
int project_create(struct store_conn *c, const struct identity_settings *s, const char *name,
		   const char *description, struct project *ret, struct err *err);
/* Find a project by id or name. */
int project_get(struct store_conn *c, const char *id_or_name, struct project *ret,
		struct err *err);
/* List up to limit (> 0) projects ordered by name; only those user_id has a
 * role in unless user_id is NULL. Caller frees *ret. */
int project_list(struct store_conn *c, const char *user_id, const char *after, size_t limit,
		 struct project **ret, size_t *ret_n, bool *ret_more, struct err *err);
/* Change a project's name and/or description (NULL: unchanged). */
int project_update(struct store_conn *c, const char *id_or_name, const char *name,
		   const char *description, struct project *ret, struct err *err);
/* Delete a project with its bindings, quotas, tokens and keys. */
int project_delete(struct store_conn *c, const char *id_or_name, struct err *err);
/* Give user (id or name) role in project_id (replacing an earlier role). */
int member_set(struct store_conn *c, const char *project_id, const char *user,
	       enum role role, struct member *ret, struct err *err);
/* Remove user (id or name) from project_id. */
int member_remove(struct store_conn *c, const char *project_id, const char *user,
		  struct err *err);
/* List a project's members ordered by user name. Caller frees *ret. */
int member_list(struct store_conn *c, const char *project_id, struct member **ret,
		size_t *ret_n, struct err *err);
/* The role user_id holds in project_id (ROLE_NONE when none). */
int member_role(struct store_conn *c, const char *project_id, const char *user_id,
		enum role *ret, struct err *err);
/* The role p acts with in project_id: admin for system administrators,
 * none when p's token is scoped to another project, else p's binding. */
int principal_role_in(struct store_conn *c, const struct principal *p, const char *project_id,
		      enum role *ret, struct err *err);

/* ---- authentication ---- */

struct login_result {
	char token[64];                      /* the secret, shown once */
	char token_id[UUID_SIZE];
	int64_t expires_ms;
	struct principal principal;
};

/* Check a user's password and issue a token scoped to project (id or name;
 * NULL: system scope). Wrong user or password: ERR_UNAUTHORIZED with one
 * message for both. */
int auth_login(struct store_conn *c, const struct identity_settings *s, const char *username,
	       const char *password, const char *project, struct login_result *ret,
	       struct err *err);
/* Resolve a bearer token into the principal. ERR_UNAUTHORIZED when it is
 * unknown, expired, revoked or its user disabled. */
int auth_token(struct store_conn *c, const char *token, struct principal *ret, struct err *err);
/* Verify a SigV4-signed request (parsed auth a) at time now_ms; the
 * request's clock must be within 15 minutes, a presigned URL unexpired. */
int auth_sigv4(struct store_conn *c, const struct identity_settings *s,
	       const struct sigv4_request *r, const struct sigv4_auth *a, int64_t now_ms,
	       struct principal *ret, struct err *err);
/* auth_sigv4, and on success the signing key of the request's scope into
 * ret_key (SIGV4_KEY_SIZE bytes; NULL: not wanted), which signs the chunks
 * of an aws-chunked body. The caller wipes it. */
int auth_sigv4_keyed(struct store_conn *c, const struct identity_settings *s,
		     const struct sigv4_request *r, const struct sigv4_auth *a, int64_t now_ms,
		     struct principal *ret, unsigned char *ret_key, struct err *err);
/* Verify an S3 presigned URL of Signature Version 2 (what boto3 presigns
 * by default): signature must be the base64 HMAC-SHA1 of string_to_sign
 * under access_key's secret, and expires_s (Unix seconds) neither past at
 * now_ms nor more than 7 days ahead. Errors as auth_sigv4. */
int auth_sigv2_presigned(struct store_conn *c, const struct identity_settings *s,
			 const char *access_key, const char *string_to_sign,
			 const char *signature, int64_t expires_s, int64_t now_ms,
			 struct principal *ret, struct err *err);
/* Revoke the token with id token_id. */
int token_revoke(struct store_conn *c, const char *token_id, struct err *err);

struct api_token {
	char id[UUID_SIZE];
	char name[TOKEN_NAME_MAX + 1];
	char kind[16];                   /* "session" or "personal" */
	char project_id[UUID_SIZE];      /* "" for system scope */
	char created_at[TIME_RFC3339_SIZE];
	char expires_at[TIME_RFC3339_SIZE];
	char secret[64];                 /* only right after creation, else "" */
};

/* Create a named personal token for p's user, scoped like p unless
 * project is given, valid for ttl_ms. */
int token_create(struct store_conn *c, const struct principal *p, const char *name,
		 const char *project, int64_t ttl_ms, struct api_token *ret, struct err *err);
/* List the unexpired, unrevoked tokens of user_id. Caller frees *ret. */
int token_list(struct store_conn *c, const char *user_id, struct api_token **ret,
	       size_t *ret_n, struct err *err);
/* Revoke token id if it belongs to user_id (any user's when user_id is NULL). */
int token_delete(struct store_conn *c, const char *user_id, const char *id, struct err *err);

/* ---- access keys ---- */

struct access_key {
	char id[ACCESS_KEY_ID_SIZE];
	char user_id[UUID_SIZE];
	char user_name[USER_NAME_MAX + 1];
	char project_id[UUID_SIZE];        /* "" for system scope */
	char created_at[TIME_RFC3339_SIZE];
	char secret[48];                   /* only right after creation, else "" */
};

/* Create an access key for p's user in project (id or name; NULL: p's
 * scope). Counts against the project's access_keys quota. */
int access_key_create(struct store_conn *c, const struct identity_settings *s,
		      const struct principal *p, const char *project, struct access_key *ret,
		      struct err *err);
/* List access keys of user_id (all users' when NULL). Caller frees *ret. */
int access_key_list(struct store_conn *c, const char *user_id, struct access_key **ret,
		    size_t *ret_n, struct err *err);
/* Delete key id if it belongs to user_id (any user's when NULL). */
int access_key_delete(struct store_conn *c, const char *user_id, const char *id,
		      struct err *err);

/* ---- quotas ---- */

enum quota_resource {
	QUOTA_INSTANCES, QUOTA_VCPUS, QUOTA_RAM_MB, QUOTA_VOLUMES, QUOTA_VOLUME_GB,
	QUOTA_NETWORKS, QUOTA_FLOATING_IPS, QUOTA_BUCKETS, QUOTA_OBJECT_BYTES,
	QUOTA_ACCESS_KEYS, QUOTA__COUNT
};

struct quota {
	int64_t limit[QUOTA__COUNT]; /* -1: unlimited */
	int64_t used[QUOTA__COUNT];
};

/* The name of a quota resource ("instances"...). */
const char *quota_name(enum quota_resource q);
/* Parse a quota resource name. Returns 0 or -ERR_INVALID. */
int quota_parse(const char *s, enum quota_resource *ret, struct err *err);
/* Read a project's limits and usage. */
int quota_get(struct store_conn *c, const char *project_id, struct quota *ret, struct err *err);
/* Set one limit (-1: unlimited). A limit below usage is allowed (nothing
 * new is admitted until usage falls). */
int quota_set(struct store_conn *c, const char *project_id, enum quota_resource q,
	      int64_t limit, struct err *err);
/* Add delta (> 0) to usage if it stays within the limit, atomically;
 * ERR_QUOTA naming the resource, limit and usage otherwise. */
int quota_charge(struct store_conn *c, const char *project_id, enum quota_resource q,
		 int64_t delta, struct err *err);
/* Subtract delta from usage (never below zero). */
int quota_release(struct store_conn *c, const char *project_id, enum quota_resource q,
		  int64_t delta, struct err *err);

/* ---- audit ---- */

struct audit_event {
	char id[UUID_SIZE];
	char time[TIME_RFC3339_SIZE];
	char user_id[UUID_SIZE];           /* "" when unknown */
	char user_name[USER_NAME_MAX + 1]; /* as authenticated or as attempted */
	char project_id[UUID_SIZE];        /* "" when none */
	char source[64];                   /* client address */
	char request_id[72];
	char action[64];                   /* "zone.create", "auth.login"... */
	char resource_type[32];
	char resource_id[128];
	char outcome[16];                  /* "success" or "failure" */
	unsigned status;                   /* HTTP status answered */
};

struct audit_filter {
	const char *since;    /* RFC 3339, inclusive, or NULL */
	const char *until;    /* RFC 3339, exclusive, or NULL */
	const char *user;     /* user id or name, or NULL */
	const char *action;   /* exact action, or NULL */
	const char *resource; /* resource id, or NULL */
	const char *project;  /* only this project id, or NULL */
	const char *after;    /* cursor key from a previous page, or NULL */
	size_t limit;
};

/* Insert an event (id and time are filled in when empty). */
int audit_record(struct store_conn *c, struct audit_event *ev, struct err *err);
/* List events newest first. *ret_next_key (caller frees) is the cursor key
 * of the last event when more follow, else NULL. Caller frees *ret. */
int audit_list(struct store_conn *c, const struct audit_filter *f, struct audit_event **ret,
	       size_t *ret_n, char **ret_next_key, struct err *err);
