-- quarterhour console database: the migration to schema version 6 (short
-- join codes).
--
-- Embedded like schema.sql and run by db_migrate() (console/store/db.c)
-- inside its transaction, with foreign keys checked once at its end.
-- Rows already written keep their meaning.

-- A short join code (`enroll ID --short`): its join token is the row of
-- join_tokens whose hash is the SHA-256 of the whole code (bound to a key
-- and spent like any token). The code's first characters (lookup) find
-- this row, so wrong codes that name it are counted (attempts) and a code
-- tried too often is dead. Rows of expired codes are removed when a new
-- code is made; their join_tokens rows stay.
CREATE TABLE short_codes (
	lookup		TEXT PRIMARY KEY NOT NULL,
	token_hash	TEXT NOT NULL UNIQUE REFERENCES join_tokens (hash),
	expires_at	TEXT NOT NULL,
	attempts	INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0)
) STRICT;
