/* objects-priv.h: what the objects module's files share. Not for other
 * modules. */
#pragma once

#include "objects.h"

/* End the transaction a function began: commit when r is 0, else roll
 * back. Returns r, or the commit's failure (with err set). */
int objects_txn_end(struct store_conn *c, int r, struct err *err);

struct checksum;

/* Store obj as the new latest version in b, inside the caller's
 * transaction (see object_put); the bytes of the version it replaced are
 * named in old_ref ("" when none), for the caller to remove once the
 * transaction commits. */
int objects_put_locked(struct store_conn *c, const struct bucket *b, struct object *obj,
		       char old_ref[OBJECTS_REF_SIZE], struct err *err);
/* Append len bytes (-1: to the end) from off of those stored under ref to
 * w, adding them to sum when given. */
int objects_data_append(struct objects *o, struct objects_writer *w, const char *ref,
			int64_t off, int64_t len, struct checksum *sum, struct err *err);
/* The smallest string after every string that starts with s, or NULL when
 * there is none (s is empty or all 0xff bytes). Caller frees. */
char *objects_prefix_successor(const char *s);
/* Set column (a name from this module, never outside input) of bucket
 * name to value. ERR_NOT_FOUND when there is no such bucket. */
int objects_bucket_update(struct store_conn *c, const char *name, const char *column,
			  const char *value, struct err *err);
