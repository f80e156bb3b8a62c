/* identity-priv.h: helpers shared by the identity module's files and its
 * unit tests. Not for other modules. */
#pragma once

#include "identity.h"

/* Check a user or project name: 1..max of A-Z a-z 0-9 . _ - @, not of the
 * form of a UUID. field names it in the error. */
int identity_name_check(const char *field, const char *value, size_t max, struct err *err);
/* Revoke every token of user_id. Returns 0 or a -ERR_* code. */
int identity_revoke_user_tokens(struct store_conn *c, const char *user_id, struct err *err);
/* Make a fresh bearer token: writes the secret (48 characters: "nubo_" and
 * the 43 characters of base64url of 32 random bytes) and its SHA-256 hex. */
void identity_token_new(char secret[64], char hash[SHA256_HEX_SIZE]);
/* Insert a token row for user_id (project_id may be ""). */
int identity_token_insert(struct store_conn *c, const char *id, const char *hash,
			  const char *user_id, const char *project_id, const char *kind,
			  const char *name, int64_t expires_ms, struct err *err);
/* The project a credential being made for p is scoped to: project (id or
 * name, which p must hold a role in; ERR_INVALID naming "project"
 * otherwise) or, when NULL, p's own scope ("" for the system). */
int identity_scope_project(struct store_conn *c, const struct principal *p,
			   const char *project, char ret[UUID_SIZE], struct err *err);
/* Create the quota rows of a new project from the defaults. */
int quota_init(struct store_conn *c, const char *project_id, const int64_t *defaults,
	       struct err *err);
