/* objects: object versions, listings and recovery (see objects.h).
 *
 * The versions of one key are ordered by seq (larger is newer), taken as
 * one more than the key's largest inside the writing transaction, which
 * the store's write lock serialises. Listings walk the index on
 * (bucket, obj_key) in pages; a key that rolls up into a common prefix
 * ends the page, and the next one starts at the first key after every key
 * with that prefix (the prefix with its last byte incremented), so a
 * prefix with a million keys under it costs one seek. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "identity/identity.h"
#include "lib/buf.h"
#include "lib/checksum.h"
#include "lib/util.h"
#include "objects-priv.h"

#define OBJECT_COLS                                                                             \
	"bucket, obj_key, version_id, is_latest, delete_marker, size, etag, content_type,"     \
	" content_encoding, content_disposition, content_language, cache_control, expires,"  \
	" meta, checksum_algo, checksum_value, last_modified_ms, data_ref, acl"

int objects_txn_end(struct store_conn *c, int r, struct err *err)
{
	if (r < 0) {
		store_txn_rollback(c);
		return r;
	}
	int cr = store_txn_commit(c);
	return cr < 0 ? store_fail(c, cr, err) : r;
}

static void object_from_row(struct store_stmt *s, void *out)
{
	struct object *o = out;
	str_copy(o->bucket, sizeof(o->bucket), store_col_text(s, 0));
	str_copy(o->key, sizeof(o->key), store_col_text(s, 1));
	str_copy(o->version_id, sizeof(o->version_id), store_col_text(s, 2));
	o->is_latest = store_col_int(s, 3) != 0;
	o->delete_marker = store_col_int(s, 4) != 0;
	o->size = store_col_int(s, 5);
	str_copy(o->etag, sizeof(o->etag), store_col_text(s, 6));
	str_copy(o->content_type, sizeof(o->content_type), store_col_text(s, 7));
	str_copy(o->content_encoding, sizeof(o->content_encoding), store_col_text(s, 8));
	str_copy(o->content_disposition, sizeof(o->content_disposition), store_col_text(s, 9));
	str_copy(o->content_language, sizeof(o->content_language), store_col_text(s, 10));
	str_copy(o->cache_control, sizeof(o->cache_control), store_col_text(s, 11));
	str_copy(o->expires, sizeof(o->expires), store_col_text(s, 12));
	str_copy(o->meta, sizeof(o->meta), store_col_text(s, 13));
	str_copy(o->checksum_algo, sizeof(o->checksum_algo), store_col_text(s, 14));
	str_copy(o->checksum_value, sizeof(o->checksum_value), store_col_text(s, 15));
	o->last_modified_ms = store_col_int(s, 16);
	str_copy(o->data_ref, sizeof(o->data_ref), store_col_text(s, 17));
	str_copy(o->acl, sizeof(o->acl), store_col_text(s, 18));
}

static void new_version_id(char out[OBJECT_VERSION_SIZE])
{
	unsigned char raw[16];
	crypto_random(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), out);
}

/* The next seq of key: one more than its largest. */
static int next_seq(struct store_conn *c, const char *bucket, const char *key, int64_t *ret)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT COALESCE(MAX(seq), 0) FROM objects WHERE bucket = ? AND obj_key = ?",
			    "ss", bucket, key);
	if (r == 0)
		r = store_step(s);
	if (r == 1) {
		*ret = store_col_int(s, 0) + 1;
		r = 0;
	} else if (r == 0) {
		r = -EIO;
	}
	store_stmt_free(s);
	return r;
}

/* A version taken out of the store: its bytes go once the change commits. */
struct removed {
	char data_ref[OBJECTS_REF_SIZE];
	bool delete_marker;
	bool found;
};

/* Delete one version row, giving back its bytes' quota. When it was the
 * latest, the newest remaining version becomes latest. */
static int remove_version(struct store_conn *c, const struct bucket *b, const char *key,
			  const char *version_id, struct removed *ret, struct err *err)
{
	struct object old;
	struct store_stmt *s = NULL;
	memset(ret, 0, sizeof(*ret));
	int r = store_query(c, &s,
			    "SELECT " OBJECT_COLS " FROM objects"
			    " WHERE bucket = ? AND obj_key = ? AND version_id = ?",
			    "sss", b->name, key, version_id);
	if (r == 0)
		r = store_fetch_one(s, object_from_row, &old);
	if (r <= 0)
		return r < 0 ? store_fail(c, r, err) : 0;
	r = store_run(c, "DELETE FROM objects WHERE bucket = ? AND obj_key = ? AND version_id = ?",
		      "sss", b->name, key, version_id);
	if (r >= 0 && old.is_latest)
		r = store_run(c,
			      "UPDATE objects SET is_latest = 1 WHERE bucket = ? AND obj_key = ?"
			      " AND seq = (SELECT MAX(seq) FROM objects WHERE bucket = ? AND obj_key = ?)",
			      "ssss", b->name, key, b->name, key);
	if (r < 0)
		return store_fail(c, r, err);
	if (old.size > 0) {
		r = quota_release(c, b->project_id, QUOTA_OBJECT_BYTES, old.size, err);
		if (r < 0)
			return r;
	}
	ret->found = true;
	ret->delete_marker = old.delete_marker;
	str_copy(ret->data_ref, sizeof(ret->data_ref), old.data_ref);
	return 0;
}

/* Insert obj as the newest version of its key (seq and latest set here). */
static int insert_version(struct store_conn *c, struct object *obj, struct err *err)
{
	int64_t seq = 0;
	int r = store_run(c,
			  "UPDATE objects SET is_latest = 0 WHERE bucket = ? AND obj_key = ?"
			  " AND is_latest = 1",
			  "ss", obj->bucket, obj->key);
	if (r >= 0)
		r = next_seq(c, obj->bucket, obj->key, &seq);
	if (r >= 0)
		r = store_run(c,
			      "INSERT INTO objects (bucket, obj_key, version_id, seq, is_latest,"
			      " delete_marker, size, etag, content_type, content_encoding,"
			      " content_disposition, content_language, cache_control, expires, meta,"
			      " checksum_algo, checksum_value, last_modified_ms, data_ref, acl)"
			      " VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			      "sssibissssssssssiss", obj->bucket, obj->key, obj->version_id, seq,
			      obj->delete_marker, obj->size, obj->etag, obj->content_type,
			      obj->content_encoding, obj->content_disposition, obj->content_language,
			      obj->cache_control, obj->expires, obj->meta, obj->checksum_algo,
			      obj->checksum_value, obj->last_modified_ms, obj->data_ref, obj->acl);
	if (r == -EINVAL) /* the bucket's foreign key: deleted meanwhile */
		return err_set(err, ERR_NOT_FOUND, "bucket", "the bucket was deleted");
	if (r < 0)
		return store_fail(c, r, err);
	obj->is_latest = true;
	return 0;
}

int objects_put_locked(struct store_conn *c, const struct bucket *b, struct object *obj,
		       char old_ref[OBJECTS_REF_SIZE], struct err *err)
{
	struct removed old = { 0 };
	bool versioned = strcmp(b->versioning, "Enabled") == 0;
	str_copy(obj->bucket, sizeof(obj->bucket), b->name);
	obj->delete_marker = false;
	obj->last_modified_ms = time_now_ms();
	if (versioned)
		new_version_id(obj->version_id);
	else
		str_copy(obj->version_id, sizeof(obj->version_id), "null");
	int r = 0;
	if (obj->size > 0)
		r = quota_charge(c, b->project_id, QUOTA_OBJECT_BYTES, obj->size, err);
	if (r == 0 && !versioned)
		r = remove_version(c, b, obj->key, "null", &old, err);
	if (r == 0)
		r = insert_version(c, obj, err);
	if (r == 0)
		str_copy(old_ref, OBJECTS_REF_SIZE, old.data_ref);
	return r;
}

int object_put(struct objects *o, struct store_conn *c, const struct bucket *b,
	       struct object *obj, struct err *err)
{
	char old[OBJECTS_REF_SIZE] = "";
	int r = store_txn_begin(c);
	if (r < 0)
		return store_fail(c, r, err);
	r = objects_put_locked(c, b, obj, old, err);
	r = objects_txn_end(c, r, err);
	if (r == 0 && old[0])
		o->ops->remove(o->data, old);
	return r;
}

int object_get(struct store_conn *c, const char *bucket, const char *key,
	       const char *version_id, struct object *ret, struct err *err)
{
	struct store_stmt *s = NULL;
	int r;
	if (version_id)
		r = store_query(c, &s,
				"SELECT " OBJECT_COLS " FROM objects"
				" WHERE bucket = ? AND obj_key = ? AND version_id = ?",
				"sss", bucket, key, version_id);
	else
		r = store_query(c, &s,
				"SELECT " OBJECT_COLS " FROM objects"
				" WHERE bucket = ? AND obj_key = ? AND is_latest = 1",
				"ss", bucket, key);
	if (r == 0)
		r = store_fetch_one(s, object_from_row, ret);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0) {
		memset(ret, 0, sizeof(*ret));
		return version_id ? err_set(err, ERR_NOT_FOUND, "versionId",
					    "no version '%.80s' of that key", version_id)
				  : err_set(err, ERR_NOT_FOUND, "key", "no such key");
	}
	if (ret->delete_marker && !version_id)
		return err_set(err, ERR_NOT_FOUND, "key", "no such key (deleted)");
	return 0;
}

int object_get_open(struct objects *o, struct store_conn *c, const char *bucket,
		    const char *key, const char *version_id, struct object *ret, int *ret_fd,
		    struct err *err)
{
	*ret_fd = -1;
	for (int attempt = 0;; attempt++) {
		int r = object_get(c, bucket, key, version_id, ret, err);
		if (r < 0 || ret->delete_marker || ret->size == 0)
			return r;
		if (o->ops->open(o->data, ret->data_ref, ret_fd, err) == 0)
			return 0;
		if (attempt == 2)
			return -ERR_INTERNAL; /* err says why */
	}
}

int object_set_acl(struct store_conn *c, const char *bucket, const char *key,
		   const char *version_id, const char *acl, struct err *err)
{
	int r = version_id ? store_run(c,
				       "UPDATE objects SET acl = ? WHERE bucket = ? AND obj_key = ?"
				       " AND version_id = ? AND delete_marker = 0",
				       "ssss", acl, bucket, key, version_id)
			   : store_run(c,
				       "UPDATE objects SET acl = ? WHERE bucket = ? AND obj_key = ?"
				       " AND is_latest = 1 AND delete_marker = 0",
				       "sss", acl, bucket, key);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "key", "no such key");
	return 0;
}

int object_delete(struct objects *o, struct store_conn *c, const struct bucket *b,
		  const char *key, const char *version_id, struct object_deleted *ret,
		  struct err *err)
{
	struct removed old = { 0 };
	struct object marker = { 0 };
	struct object_deleted d = { 0 };
	int r = store_txn_begin(c);
	if (r < 0)
		return store_fail(c, r, err);
	if (version_id) {
		r = remove_version(c, b, key, version_id, &old, err);
		d.delete_marker = old.delete_marker;
		str_copy(d.version_id, sizeof(d.version_id), version_id);
	} else if (!b->versioning[0]) {
		r = remove_version(c, b, key, "null", &old, err);
	} else {
		/* versioned: a delete marker becomes the latest version; a
		 * suspended bucket's marker replaces the "null" version */
		bool enabled = strcmp(b->versioning, "Enabled") == 0;
		if (!enabled)
			r = remove_version(c, b, key, "null", &old, err);
		str_copy(marker.bucket, sizeof(marker.bucket), b->name);
		str_copy(marker.key, sizeof(marker.key), key);
		if (enabled)
			new_version_id(marker.version_id);
		else
			str_copy(marker.version_id, sizeof(marker.version_id), "null");
		marker.delete_marker = true;
		marker.last_modified_ms = time_now_ms();
		if (r == 0)
			r = insert_version(c, &marker, err);
		d.delete_marker = true;
		str_copy(d.version_id, sizeof(d.version_id), marker.version_id);
	}
	r = objects_txn_end(c, r, err);
	if (r < 0)
		return r;
	if (old.data_ref[0])
		o->ops->remove(o->data, old.data_ref);
	*ret = d;
	return 0;
}

/* ---- listing ---- */

/* Where the next page of a listing starts. */
struct list_pos {
	char *key;        /* owned; NULL: from the start */
	bool inclusive;   /* key itself may come */
	int64_t seq;      /* versions: > 0 means "older versions of key, then later keys" */
};

static void pos_set(struct list_pos *p, const char *key, bool inclusive, int64_t seq)
{
	char *k = key ? xstrdup(key) : NULL;
	free(p->key);
	p->key = k;
	p->inclusive = inclusive;
	p->seq = seq;
}

char *objects_prefix_successor(const char *s)
{
	size_t n = strlen(s);
	char *r = xstrndup(s, n);
	while (n > 0) {
		unsigned char ch = (unsigned char)r[n - 1];
		if (ch < 0xff) {
			r[n - 1] = (char)(ch + 1);
			r[n] = '\0';
			return r;
		}
		n--;
	}
	free(r);
	return NULL;
}

struct list_row {
	char *key;
	struct object_entry e;
	int64_t seq;
};

static void list_row_from(struct store_stmt *s, void *out)
{
	struct list_row *lr = out;
	lr->key = xstrdup(store_col_text(s, 0));
	str_copy(lr->e.version_id, sizeof(lr->e.version_id), store_col_text(s, 1));
	lr->e.is_latest = store_col_int(s, 2) != 0;
	lr->e.delete_marker = store_col_int(s, 3) != 0;
	lr->e.size = store_col_int(s, 4);
	str_copy(lr->e.etag, sizeof(lr->e.etag), store_col_text(s, 5));
	lr->e.last_modified_ms = store_col_int(s, 6);
	lr->seq = store_col_int(s, 7);
}

#define LIST_ROW_COLS                                                                           \
	"SELECT obj_key, version_id, is_latest, delete_marker, size, etag, last_modified_ms, seq" \
	" FROM objects WHERE bucket = ?"

/* One page of rows from pos on, at most limit. */
static int list_fetch(struct store_conn *c, const char *bucket, bool versions,
		      const struct list_pos *p, size_t limit, struct list_row **ret,
		      size_t *ret_n)
{
	struct store_stmt *s = NULL;
	const char *filter = versions ? "" : " AND is_latest = 1 AND delete_marker = 0";
	const char *order = versions ? " ORDER BY obj_key, seq DESC LIMIT ?" : " ORDER BY obj_key LIMIT ?";
	char sql[512];
	int r;
	if (!p->key) {
		str_printf(sql, sizeof(sql), LIST_ROW_COLS "%s%s", filter, order);
		r = store_query(c, &s, sql, "si", bucket, (int64_t)limit);
	} else if (p->seq > 0) {
		str_printf(sql, sizeof(sql),
			   LIST_ROW_COLS "%s AND (obj_key > ? OR (obj_key = ? AND seq < ?))%s", filter,
			   order);
		r = store_query(c, &s, sql, "sssii", bucket, p->key, p->key, p->seq, (int64_t)limit);
	} else {
		str_printf(sql, sizeof(sql), LIST_ROW_COLS "%s AND obj_key %s ?%s", filter,
			   p->inclusive ? ">=" : ">", order);
		r = store_query(c, &s, sql, "ssi", bucket, p->key, (int64_t)limit);
	}
	if (r < 0)
		return r;
	void *items = NULL;
	r = store_fetch(s, sizeof(struct list_row), 0, list_row_from, &items, ret_n, NULL);
	if (r < 0)
		return r;
	*ret = items;
	return 0;
}

static void list_rows_free(struct list_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i].key);
	free(rows);
}

/* Add item or prefix to the listing, or mark it truncated when full.
 * Returns false when full. */
static bool listing_room(struct object_listing *l, size_t max)
{
	if (l->n + l->nprefixes < max)
		return true;
	l->truncated = true;
	return false;
}

/* Where listing starts: after q->after (and its version), but not before
 * the prefix. */
static int list_start(struct store_conn *c, const char *bucket, const struct object_list_query *q,
		      struct list_pos *p)
{
	if (q->after && q->after[0] && strcmp(q->after, q->prefix) >= 0) {
		int64_t seq = 0;
		if (q->versions && q->after_version && q->after_version[0]) {
			struct store_stmt *s = NULL;
			int r = store_query(c, &s,
					    "SELECT seq FROM objects WHERE bucket = ? AND obj_key = ?"
					    " AND version_id = ?",
					    "sss", bucket, q->after, q->after_version);
			if (r == 0)
				r = store_step(s);
			if (r == 1)
				seq = store_col_int(s, 0);
			store_stmt_free(s);
			if (r < 0)
				return r;
		}
		pos_set(p, q->after, false, seq);
	} else if (q->prefix[0]) {
		pos_set(p, q->prefix, true, 0);
	}
	return 0;
}

/* Take one page of rows into the listing. Returns 1 to fetch again from
 * p, 0 when the listing is complete, or a negative store error. */
static int list_take(const struct object_list_query *q, struct list_row *rows, size_t n,
		     size_t limit, struct object_listing *l, size_t *cap, size_t *pcap,
		     struct list_pos *p)
{
	size_t plen = strlen(q->prefix);
	const char *delim = q->delimiter && q->delimiter[0] ? q->delimiter : NULL;
	for (size_t i = 0; i < n; i++) {
		struct list_row *row = &rows[i];
		if (strncmp(row->key, q->prefix, plen) != 0)
			return 0; /* past the prefix: nothing more */
		const char *d = delim ? strstr(row->key + plen, delim) : NULL;
		if (d) {
			size_t cplen = (size_t)(d - row->key) + strlen(delim);
			char *cp = xstrndup(row->key, cplen);
			if (q->after && strncmp(q->after, cp, cplen) == 0 &&
			    strlen(q->after) >= cplen) {
				/* the marker is this prefix or inside it: given already */
			} else {
				if (!listing_room(l, q->max)) {
					free(cp);
					return 0;
				}
				if (l->nprefixes == *pcap) {
					*pcap = *pcap ? *pcap * 2 : 16;
					l->prefixes = xrealloc(l->prefixes, *pcap * sizeof(char *));
				}
				l->prefixes[l->nprefixes++] = xstrdup(cp);
				free(l->next_key);
				l->next_key = xstrdup(cp);
				l->next_version[0] = '\0';
			}
			char *succ = objects_prefix_successor(cp);
			free(cp);
			if (!succ)
				return 0;
			pos_set(p, succ, true, 0);
			free(succ);
			return 1;
		}
		if (!listing_room(l, q->max))
			return 0;
		if (l->n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			l->items = xrealloc(l->items, *cap * sizeof(*l->items));
		}
		struct object_entry *e = &l->items[l->n++];
		*e = row->e;
		e->key = row->key;
		row->key = NULL;
		free(l->next_key);
		l->next_key = xstrdup(e->key);
		str_copy(l->next_version, sizeof(l->next_version), e->version_id);
		pos_set(p, e->key, false, q->versions ? row->seq : 0);
	}
	return n < limit ? 0 : 1;
}

int object_list(struct store_conn *c, const char *bucket, const struct object_list_query *q,
		struct object_listing *ret, struct err *err)
{
	struct object_listing l = { 0 };
	struct list_pos p = { 0 };
	size_t cap = 0, pcap = 0;
	int r = list_start(c, bucket, q, &p);
	while (r == 0) {
		/* one more than fits tells whether the listing is truncated */
		size_t limit = q->max - (l.n + l.nprefixes) + 1;
		struct list_row *rows = NULL;
		size_t n = 0;
		r = list_fetch(c, bucket, q->versions, &p, limit, &rows, &n);
		if (r < 0)
			break;
		r = list_take(q, rows, n, limit, &l, &cap, &pcap, &p);
		list_rows_free(rows, n);
		if (r == 1)
			r = 0;
		else
			break;
	}
	free(p.key);
	if (r < 0) {
		object_listing_release(&l);
		return store_fail(c, r, err);
	}
	if (!l.truncated) {
		free(l.next_key);
		l.next_key = NULL;
		l.next_version[0] = '\0';
	}
	*ret = l;
	return 0;
}

void object_listing_release(struct object_listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i].key);
	for (size_t i = 0; i < l->nprefixes; i++)
		free(l->prefixes[i]);
	free(l->items);
	free(l->prefixes);
	free(l->next_key);
	memset(l, 0, sizeof(*l));
}

/* ---- recovery ---- */

struct sweep_ctx {
	struct store_conn *c;
};

static bool ref_in_use(const char *ref, void *arg)
{
	struct sweep_ctx *sc = arg;
	static const char *const sql[] = {
		"SELECT 1 FROM objects WHERE data_ref = ? LIMIT 1",
		"SELECT 1 FROM multipart_parts WHERE data_ref = ? LIMIT 1",
	};
	for (size_t i = 0; i < ARRAY_SIZE(sql); i++) {
		struct store_stmt *s = NULL;
		int r = store_query(sc->c, &s, sql[i], "s", ref);
		if (r == 0)
			r = store_step(s);
		store_stmt_free(s);
		if (r != 0)
			return true; /* in use, or unsure: keep it */
	}
	return false;
}

int objects_recover(struct objects *o, struct store_conn *c, struct err *err)
{
	struct sweep_ctx sc = { .c = c };
	int r = o->ops->sweep(o->data, ref_in_use, &sc);
	if (r < 0)
		return err_set(err, ERR_INTERNAL, "", "cannot sweep the object store: %s",
			       strerror(-r));
	return r;
}

/* ---- copies ---- */

int objects_data_append(struct objects *o, struct objects_writer *w, const char *ref,
			int64_t off, int64_t len, struct checksum *sum, struct err *err)
{
	int fd = -1;
	char *chunk = xmalloc(1 << 16);
	int r = o->ops->open(o->data, ref, &fd, err);
	while (r == 0 && len != 0) {
		size_t want = len < 0 || len > (1 << 16) ? (1 << 16) : (size_t)len;
		ssize_t n = pread(fd, chunk, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && len > 0)
			r = err_set(err, ERR_INTERNAL, "", "an object's bytes are shorter than recorded");
		if (n == 0)
			break;
		if (n < 0 || (r = o->ops->write(w, chunk, (size_t)n)) < 0) {
			r = err_set(err, ERR_INTERNAL, "", "cannot copy an object's bytes: %s",
				    strerror(n < 0 ? errno : -r));
			break;
		}
		if (sum)
			checksum_update(sum, chunk, (size_t)n);
		off += n;
		if (len > 0)
			len -= n;
	}
	if (fd >= 0)
		close(fd);
	free(chunk);
	return r;
}

int objects_data_copy(struct objects *o, const char *ref, int64_t off, int64_t len,
		      char ret_ref[OBJECTS_REF_SIZE], unsigned char ret_md5[16], struct err *err)
{
	struct objects_writer *w = NULL;
	struct checksum md5;
	unsigned char raw[CHECKSUM_MAX];
	size_t n;
	checksum_init(&md5, CHECKSUM_MD5);
	int r = o->ops->write_begin(o->data, &w, err);
	if (r == 0)
		r = objects_data_append(o, w, ref, off, len, &md5, err);
	if (r == 0) {
		checksum_final(&md5, raw, &n);
		memcpy(ret_md5, raw, 16);
		r = o->ops->write_commit(w, ret_ref, err);
		w = NULL;
	}
	o->ops->write_abort(w);
	checksum_release(&md5);
	return r;
}
