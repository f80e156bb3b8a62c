/* multipart: uploads in parts (see objects.h).
 *
 * Each part is stored bytes of its own, named by its row; its bytes count
 * against object_bytes from the moment they are stored. Completion copies
 * the picked parts, in order, into one new stored file (streamed), then in
 * one transaction gives the parts' quota back, stores the version (which
 * charges it again) and deletes the upload; the parts' files go once that
 * commits. A crash in between leaves either the upload or the object, and
 * files no row names, which start-up removes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "identity/identity.h"
#include "lib/checksum.h"
#include "lib/util.h"
#include "objects-priv.h"

#define UPLOAD_COLS                                                                             \
	"id, bucket, obj_key, initiated_ms, initiator, content_type, content_encoding,"         \
	" content_disposition, content_language, cache_control, expires, meta, checksum_algo,"  \
	" checksum_type, acl"
#define PART_COLS "part_number, size, etag, checksum_value, last_modified_ms, data_ref"

static void upload_from_row(struct store_stmt *s, void *out)
{
	struct multipart_upload *u = out;
	struct object *m = &u->meta;
	memset(u, 0, sizeof(*u));
	str_copy(u->id, sizeof(u->id), store_col_text(s, 0));
	str_copy(m->bucket, sizeof(m->bucket), store_col_text(s, 1));
	str_copy(m->key, sizeof(m->key), store_col_text(s, 2));
	u->initiated_ms = store_col_int(s, 3);
	str_copy(u->initiator, sizeof(u->initiator), store_col_text(s, 4));
	str_copy(m->content_type, sizeof(m->content_type), store_col_text(s, 5));
	str_copy(m->content_encoding, sizeof(m->content_encoding), store_col_text(s, 6));
	str_copy(m->content_disposition, sizeof(m->content_disposition), store_col_text(s, 7));
	str_copy(m->content_language, sizeof(m->content_language), store_col_text(s, 8));
	str_copy(m->cache_control, sizeof(m->cache_control), store_col_text(s, 9));
	str_copy(m->expires, sizeof(m->expires), store_col_text(s, 10));
	str_copy(m->meta, sizeof(m->meta), store_col_text(s, 11));
	str_copy(m->checksum_algo, sizeof(m->checksum_algo), store_col_text(s, 12));
	str_copy(u->checksum_type, sizeof(u->checksum_type), store_col_text(s, 13));
	str_copy(m->acl, sizeof(m->acl), store_col_text(s, 14));
}

static void part_from_row(struct store_stmt *s, void *out)
{
	struct multipart_part *p = out;
	p->number = (unsigned)store_col_int(s, 0);
	p->size = store_col_int(s, 1);
	str_copy(p->etag, sizeof(p->etag), store_col_text(s, 2));
	str_copy(p->checksum_value, sizeof(p->checksum_value), store_col_text(s, 3));
	p->last_modified_ms = store_col_int(s, 4);
	str_copy(p->data_ref, sizeof(p->data_ref), store_col_text(s, 5));
}

int multipart_create(struct store_conn *c, const struct bucket *b, struct multipart_upload *u,
		     struct err *err)
{
	const struct object *m = &u->meta;
	unsigned char raw[16];
	crypto_random(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), u->id);
	u->initiated_ms = time_now_ms();
	int r = store_run(c,
			  "INSERT INTO multipart_uploads (" UPLOAD_COLS ")"
			  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			  "sssisssssssssss", u->id, b->name, m->key, u->initiated_ms, u->initiator,
			  m->content_type, m->content_encoding, m->content_disposition,
			  m->content_language, m->cache_control, m->expires, m->meta,
			  m->checksum_algo, u->checksum_type, m->acl);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int multipart_get(struct store_conn *c, const char *bucket, const char *key, const char *id,
		  struct multipart_upload *ret, struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT " UPLOAD_COLS " FROM multipart_uploads"
			    " WHERE id = ? AND bucket = ? AND obj_key = ?",
			    "sss", id, bucket, key);
	if (r == 0)
		r = store_fetch_one(s, upload_from_row, ret);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "uploadId",
			       "The specified upload does not exist. The upload ID may be invalid, "
			       "or the upload may have been aborted or completed.");
	return 0;
}

/* The stored part number of upload id, if any, into ret (1) or 0. */
static int part_get(struct store_conn *c, const char *id, unsigned number,
		    struct multipart_part *ret)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT " PART_COLS " FROM multipart_parts"
			    " WHERE upload_id = ? AND part_number = ?",
			    "si", id, (int64_t)number);
	if (r == 0)
		r = store_fetch_one(s, part_from_row, ret);
	return r;
}

int multipart_part_put(struct objects *o, struct store_conn *c, const struct bucket *b,
		       const char *id, struct multipart_part *p, struct err *err)
{
	struct multipart_part old = { 0 };
	p->last_modified_ms = time_now_ms();
	int r = store_txn_begin(c);
	if (r < 0)
		return store_fail(c, r, err);
	/* the upload may have ended while the part streamed in */
	struct store_stmt *s = NULL;
	r = store_query(c, &s, "SELECT 1 FROM multipart_uploads WHERE id = ?", "s", id);
	if (r == 0)
		r = store_step(s);
	store_stmt_free(s);
	if (r == 0)
		r = err_set(err, ERR_NOT_FOUND, "uploadId", "The specified upload does not exist.");
	else if (r == 1)
		r = part_get(c, id, p->number, &old);
	if (r >= 0 && old.data_ref[0]) {
		r = store_run(c, "DELETE FROM multipart_parts WHERE upload_id = ? AND part_number = ?",
			      "si", id, (int64_t)p->number);
		if (r >= 0 && old.size > 0)
			r = quota_release(c, b->project_id, QUOTA_OBJECT_BYTES, old.size, err);
	}
	if (r >= 0 && p->size > 0)
		r = quota_charge(c, b->project_id, QUOTA_OBJECT_BYTES, p->size, err);
	if (r >= 0)
		r = store_run(c,
			      "INSERT INTO multipart_parts (upload_id, " PART_COLS ")"
			      " VALUES (?, ?, ?, ?, ?, ?, ?)",
			      "siissis", id, (int64_t)p->number, p->size, p->etag, p->checksum_value,
			      p->last_modified_ms, p->data_ref);
	if (r < 0 && err->code == ERR_NONE)
		r = store_fail(c, r, err);
	r = objects_txn_end(c, r < 0 ? r : 0, err);
	if (r == 0 && old.data_ref[0])
		o->ops->remove(o->data, old.data_ref);
	return r;
}

int multipart_parts_list(struct store_conn *c, const char *id, unsigned after, size_t max,
			 struct multipart_part **ret, size_t *ret_n, bool *ret_more,
			 struct err *err)
{
	struct store_stmt *s = NULL;
	void *items = NULL;
	int r = store_query(c, &s,
			    "SELECT " PART_COLS " FROM multipart_parts"
			    " WHERE upload_id = ? AND part_number > ? ORDER BY part_number",
			    "si", id, (int64_t)after);
	if (r == 0)
		r = store_fetch(s, sizeof(struct multipart_part), max, part_from_row, &items, ret_n,
				ret_more);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = items;
	return 0;
}

/* Compare ETags with or without their quotes. */
static bool etag_equal(const char *stored, const char *given)
{
	size_t n = strlen(given);
	if (n >= 2 && given[0] == '"' && given[n - 1] == '"')
		return strlen(stored) == n && strcmp(stored, given) == 0;
	return strlen(stored) == n + 2 && strncmp(stored + 1, given, n) == 0;
}

/* Check the picks against the stored parts (all of them in parts). */
static enum multipart_refusal check_picks(const struct multipart_pick *picks, size_t n,
					  struct multipart_part *parts, size_t nparts,
					  struct multipart_part **ret_sel)
{
	size_t j = 0;
	for (size_t i = 1; i < n; i++)
		if (picks[i].number <= picks[i - 1].number)
			return MULTIPART_INVALID_ORDER;
	for (size_t i = 0; i < n; i++) {
		while (j < nparts && parts[j].number < picks[i].number)
			j++;
		if (j == nparts || parts[j].number != picks[i].number ||
		    !etag_equal(parts[j].etag, picks[i].etag))
			return MULTIPART_INVALID_PART;
		if (picks[i].checksum && strcmp(picks[i].checksum, parts[j].checksum_value) != 0)
			return MULTIPART_INVALID_PART;
		if (i + 1 < n && parts[j].size < MULTIPART_PART_MIN)
			return MULTIPART_TOO_SMALL;
		ret_sel[i] = &parts[j];
	}
	return MULTIPART_OK;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* The MD5 a part's quoted hex ETag holds. */
static int etag_md5(const char *etag, unsigned char out[16])
{
	if (strlen(etag) != 34)
		return -EINVAL;
	for (int i = 0; i < 16; i++) {
		int hi = hexval(etag[1 + 2 * i]), lo = hexval(etag[2 + 2 * i]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* The ETag and checksum of the assembled object from its parts. */
static int assembled_sums(const struct multipart_upload *u, struct multipart_part **sel,
			  size_t n, struct object *obj, struct err *err)
{
	struct checksum md5s, sums;
	unsigned char raw[CHECKSUM_MAX];
	size_t len;
	enum checksum_algo algo = checksum_parse_algo(u->meta.checksum_algo);
	bool full = strcmp(u->checksum_type, "FULL_OBJECT") == 0;
	uint64_t crc = 0;
	int r = 0;
	checksum_init(&md5s, CHECKSUM_MD5);
	checksum_init(&sums, full ? CHECKSUM_NONE : algo);
	for (size_t i = 0; i < n && r == 0; i++) {
		if (etag_md5(sel[i]->etag, raw) < 0)
			r = err_set(err, ERR_INTERNAL, "", "part %u has a bad ETag", sel[i]->number);
		checksum_update(&md5s, raw, 16);
		if (algo == CHECKSUM_NONE)
			continue;
		if (checksum_parse_base64(algo, sel[i]->checksum_value, raw) < 0) {
			r = err_set(err, ERR_INVALID, "", "part %u was uploaded without its %s checksum",
				    sel[i]->number, checksum_algo_name(algo));
			break;
		}
		if (full)
			crc = i == 0 ? checksum_crc_from_raw(algo, raw)
				     : checksum_combine(algo, crc, checksum_crc_from_raw(algo, raw),
							(uint64_t)sel[i]->size);
		else
			checksum_update(&sums, raw, checksum_size(algo));
	}
	if (r == 0) {
		char hex[33], b64[CHECKSUM_BASE64_SIZE];
		checksum_final(&md5s, raw, &len);
		hex_encode(raw, 16, hex);
		str_printf(obj->etag, sizeof(obj->etag), "\"%s-%zu\"", hex, n);
		if (algo != CHECKSUM_NONE && full) {
			len = checksum_crc_to_raw(algo, crc, raw);
			checksum_base64(raw, len, b64);
			str_copy(obj->checksum_value, sizeof(obj->checksum_value), b64);
		} else if (algo != CHECKSUM_NONE) {
			checksum_final(&sums, raw, &len);
			checksum_base64(raw, len, b64);
			str_printf(obj->checksum_value, sizeof(obj->checksum_value), "%s-%zu", b64, n);
		}
	}
	checksum_release(&md5s);
	checksum_release(&sums);
	return r;
}

/* Copy the selected parts into one stored file (ret_ref) and sum sizes. */
static int assemble(struct objects *o, struct multipart_part **sel, size_t n,
		    char ret_ref[OBJECTS_REF_SIZE], int64_t *ret_size, struct err *err)
{
	struct objects_writer *w = NULL;
	int64_t size = 0;
	int r = o->ops->write_begin(o->data, &w, err);
	for (size_t i = 0; i < n && r == 0; i++) {
		r = objects_data_append(o, w, sel[i]->data_ref, 0, -1, NULL, err);
		size += sel[i]->size;
	}
	if (r == 0) {
		r = o->ops->write_commit(w, ret_ref, err);
		w = NULL;
	}
	o->ops->write_abort(w);
	*ret_size = size;
	return r;
}

/* Delete the upload's rows and give back its parts' quota. */
static int drop_upload(struct store_conn *c, const struct bucket *b, const char *id,
		       struct err *err)
{
	struct store_stmt *s = NULL;
	int64_t total = 0;
	int r = store_query(c, &s,
			    "SELECT COALESCE(SUM(size), 0) FROM multipart_parts WHERE upload_id = ?",
			    "s", id);
	if (r == 0 && (r = store_step(s)) == 1)
		total = store_col_int(s, 0);
	store_stmt_free(s);
	if (r >= 0)
		r = store_run(c, "DELETE FROM multipart_parts WHERE upload_id = ?", "s", id);
	if (r >= 0)
		r = store_run(c, "DELETE FROM multipart_uploads WHERE id = ?", "s", id);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "uploadId", "The specified upload does not exist.");
	return total > 0 ? quota_release(c, b->project_id, QUOTA_OBJECT_BYTES, total, err) : 0;
}

static void remove_parts(struct objects *o, struct multipart_part *parts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		o->ops->remove(o->data, parts[i].data_ref);
}

int multipart_complete(struct objects *o, struct store_conn *c, const struct bucket *b,
		       const struct multipart_upload *u, const struct multipart_pick *picks,
		       size_t n, const char *want_checksum, struct object *ret,
		       enum multipart_refusal *ret_why, struct err *err)
{
	struct multipart_part *parts = NULL;
	struct multipart_part **sel = xcalloc(n ? n : 1, sizeof(*sel));
	size_t nparts = 0;
	char old[OBJECTS_REF_SIZE] = "";
	*ret_why = MULTIPART_OK;
	int r = multipart_parts_list(c, u->id, 0, 0, &parts, &nparts, NULL, err);
	if (r == 0) {
		*ret_why = check_picks(picks, n, parts, nparts, sel);
		if (*ret_why != MULTIPART_OK)
			r = err_set(err, ERR_INVALID, "Part", "the parts named do not fit the upload");
	}
	struct object *obj = ret;
	*obj = u->meta;
	obj->data_ref[0] = '\0';
	if (r == 0)
		r = assembled_sums(u, sel, n, obj, err);
	if (r == 0 && want_checksum && strcmp(want_checksum, obj->checksum_value) != 0) {
		*ret_why = MULTIPART_BAD_CHECKSUM;
		r = err_set(err, ERR_INVALID, "checksum", "the object's checksum is %s, not %.60s",
			    obj->checksum_value, want_checksum);
	}
	if (r == 0)
		r = assemble(o, sel, n, obj->data_ref, &obj->size, err);
	if (r == 0 && (r = store_txn_begin(c)) < 0)
		r = store_fail(c, r, err);
	else if (r == 0) {
		r = drop_upload(c, b, u->id, err);
		if (r == 0)
			r = objects_put_locked(c, b, obj, old, err);
		r = objects_txn_end(c, r, err);
	}
	if (r == 0) {
		remove_parts(o, parts, nparts);
		if (old[0])
			o->ops->remove(o->data, old);
	} else if (obj->data_ref[0]) {
		o->ops->remove(o->data, obj->data_ref);
	}
	free(parts);
	free(sel);
	return r;
}

int multipart_abort(struct objects *o, struct store_conn *c, const struct bucket *b,
		    const char *id, struct err *err)
{
	struct multipart_part *parts = NULL;
	size_t nparts = 0;
	int r = store_txn_begin(c);
	if (r < 0)
		return store_fail(c, r, err);
	r = multipart_parts_list(c, id, 0, 0, &parts, &nparts, NULL, err);
	if (r == 0)
		r = drop_upload(c, b, id, err);
	r = objects_txn_end(c, r, err);
	if (r == 0)
		remove_parts(o, parts, nparts);
	free(parts);
	return r;
}

/* One page of uploads after (key, id), keys with prefix, at most limit. */
static int uploads_fetch(struct store_conn *c, const char *bucket, const char *prefix,
			 const char *key, const char *id, size_t limit,
			 struct multipart_upload **ret, size_t *ret_n)
{
	struct store_stmt *s = NULL;
	void *items = NULL;
	/* keys with the prefix: from it up to its successor */
	char *succ = objects_prefix_successor(prefix);
	int r = store_query(c, &s,
			    "SELECT " UPLOAD_COLS " FROM multipart_uploads"
			    " WHERE bucket = ? AND obj_key >= ? AND (? = '' OR obj_key < ?)"
			    " AND (obj_key > ? OR (obj_key = ? AND id > ?))"
			    " ORDER BY obj_key, id LIMIT ?",
			    "sssssssi", bucket, prefix, succ ? succ : "", succ ? succ : "", key, key,
			    id, (int64_t)limit);
	free(succ);
	if (r == 0)
		r = store_fetch(s, sizeof(struct multipart_upload), 0, upload_from_row, &items, ret_n,
				NULL);
	if (r == 0)
		*ret = items;
	return r;
}

static void listing_note(struct multipart_listing *l, const char *key, const char *id)
{
	free(l->next_key);
	l->next_key = xstrdup(key);
	str_copy(l->next_id, sizeof(l->next_id), id);
}

int multipart_list(struct store_conn *c, const char *bucket, const char *prefix,
		   const char *delimiter, const char *after_key, const char *after_id,
		   size_t max, struct multipart_listing *ret, struct err *err)
{
	struct multipart_listing l = { 0 };
	size_t cap = 0, pcap = 0, plen = strlen(prefix);
	/* where the next page starts: after (key, id). Ids are lower-case hex,
	 * so "~" passes every upload of key, and "" none: after a common prefix
	 * (key, "") is its successor, and every key from there on comes */
	char *key = xstrdup(after_key ? after_key : "");
	char id[OBJECT_VERSION_SIZE + 1];
	str_copy(id, sizeof(id), after_key && !after_id ? "~" : after_id ? after_id : "");
	int r = 0;
	bool done = max == 0;
	l.truncated = false;
	while (!done && r == 0) {
		size_t limit = max - (l.n + l.nprefixes) + 1, n = 0;
		struct multipart_upload *rows = NULL;
		r = uploads_fetch(c, bucket, prefix, key, id, limit, &rows, &n);
		if (r < 0)
			break;
		done = n < limit;
		for (size_t i = 0; i < n; i++) {
			const char *k = rows[i].meta.key;
			const char *d = delimiter && delimiter[0] ? strstr(k + plen, delimiter) : NULL;
			if (l.n + l.nprefixes == max) {
				l.truncated = true;
				done = true;
				break;
			}
			if (!d) {
				if (l.n == cap) {
					cap = cap ? cap * 2 : 16;
					l.items = xrealloc(l.items, cap * sizeof(*l.items));
				}
				l.items[l.n++] = rows[i];
				listing_note(&l, k, rows[i].id);
				free(key);
				key = xstrdup(k);
				str_copy(id, sizeof(id), rows[i].id);
				continue;
			}
			size_t cplen = (size_t)(d - k) + strlen(delimiter);
			char *cp = xstrndup(k, cplen);
			if (!(after_key && strncmp(after_key, cp, cplen) == 0)) {
				if (l.nprefixes == pcap) {
					pcap = pcap ? pcap * 2 : 16;
					l.prefixes = xrealloc(l.prefixes, pcap * sizeof(char *));
				}
				l.prefixes[l.nprefixes++] = xstrdup(cp);
				listing_note(&l, cp, "");
			}
			/* pass every upload under the prefix with one seek */
			free(key);
			key = objects_prefix_successor(cp);
			free(cp);
			id[0] = '\0';
			done = !key;
			if (!key)
				key = xstrdup("");
			break;
		}
		free(rows);
	}
	free(key);
	if (r < 0) {
		multipart_listing_release(&l);
		return store_fail(c, r, err);
	}
	if (!l.truncated) {
		free(l.next_key);
		l.next_key = NULL;
		l.next_id[0] = '\0';
	}
	*ret = l;
	return 0;
}

void multipart_listing_release(struct multipart_listing *l)
{
	for (size_t i = 0; i < l->nprefixes; i++)
		free(l->prefixes[i]);
	free(l->prefixes);
	free(l->items);
	free(l->next_key);
	memset(l, 0, sizeof(*l));
}

/* One upload to expire: its id and bucket. */
struct expiring {
	char id[OBJECT_VERSION_SIZE];
	char bucket[BUCKET_NAME_MAX + 1];
};

static void expiring_from_row(struct store_stmt *s, void *out)
{
	struct expiring *e = out;
	str_copy(e->id, sizeof(e->id), store_col_text(s, 0));
	str_copy(e->bucket, sizeof(e->bucket), store_col_text(s, 1));
}

int multipart_expire(struct objects *o, struct store_conn *c, int64_t before_ms,
		     struct err *err)
{
	struct store_stmt *s = NULL;
	void *items = NULL;
	size_t n = 0;
	int r = store_query(c, &s,
			    "SELECT id, bucket FROM multipart_uploads WHERE initiated_ms < ?"
			    " ORDER BY initiated_ms",
			    "i", before_ms);
	if (r == 0)
		r = store_fetch(s, sizeof(struct expiring), 1000, expiring_from_row, &items, &n,
				NULL);
	if (r < 0)
		return store_fail(c, r, err);
	struct expiring *e = items;
	int done = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct bucket b;
		r = bucket_get(c, e[i].bucket, &b, err);
		if (r == 0)
			r = multipart_abort(o, c, &b, e[i].id, err);
		if (r == -ERR_NOT_FOUND)
			r = 0; /* ended meanwhile */
		else if (r == 0)
			done++;
	}
	free(items);
	return r < 0 ? r : done;
}
