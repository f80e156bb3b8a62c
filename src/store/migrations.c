/* migrations: the schema, as numbered changes applied in order at start-up.
 * A released migration is never edited: a change to the schema is a new
 * entry at the end. SQL here is portable between SQLite and PostgreSQL:
 * TEXT, INTEGER and BIGINT columns, timestamps as RFC 3339 UTC text (which
 * sorts in time order), ids as UUID text, no AUTOINCREMENT. */
#include "store-priv.h"

const struct store_migration store_migrations[] = {
	{ 1, "zones and idempotency keys",
	  "CREATE TABLE zones ("
	  " id TEXT PRIMARY KEY,"
	  " name TEXT NOT NULL UNIQUE,"
	  " description TEXT NOT NULL DEFAULT '',"
	  " jurisdiction TEXT NOT NULL,"
	  " created_at TEXT NOT NULL,"
	  " updated_at TEXT NOT NULL);"
	  "CREATE TABLE idempotency_keys ("
	  " scope TEXT NOT NULL,"
	  " idem_key TEXT NOT NULL,"
	  " request_hash TEXT NOT NULL,"
	  " status INTEGER NOT NULL,"
	  " body TEXT NOT NULL,"
	  " location TEXT,"
	  " created_ms BIGINT NOT NULL,"
	  " PRIMARY KEY (scope, idem_key));"
	  "CREATE INDEX idempotency_keys_created ON idempotency_keys (created_ms);" },
};

const size_t store_migrations_count = sizeof(store_migrations) / sizeof(store_migrations[0]);
