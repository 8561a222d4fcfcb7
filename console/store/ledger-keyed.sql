-- Migration step: the keyed ledger (docs/ledger.md).
--
-- Embedded into qh-console at build time and run once by db_migrate(), with
-- foreign keys off (the ledger is rebuilt, and other tables reference it),
-- inside the migration's transaction. Rows already written are copied as
-- they are and never changed: their hashes still verify.
--
-- What changes for entries written from this version on:
--   * schema_version records the version an entry was written under; NULL
--     means an earlier version (the rules of schema.sql), so `verify` applies to each
--     entry the rules it was written under.
--   * entry_hash is an HMAC-SHA256 keyed with STATE/ledger.key, over the
--     columns of schema.sql and schema_version.
--   * amount_cents has the sign of units (or of installations).
--   * kind 'migration': the entry this step writes when the ledger holds
--     entries already. It belongs to no customer and moves nothing; being
--     keyed, it seals the unkeyed history before it.
--
-- allocations.by_entry names the entry whose writing made an allocation:
-- the debit itself, or the purchase that settled its overdraft later (R7).

CREATE TABLE ledger_keyed (
	id		INTEGER PRIMARY KEY,
	posted_at	TEXT NOT NULL,
	customer_id	TEXT REFERENCES customers (id),
	kind		TEXT NOT NULL CHECK (kind IN ('purchase', 'session',
			    'installation_purchase', 'installation', 'correction',
			    'migration')),
	units		INTEGER NOT NULL,
	installations	INTEGER NOT NULL DEFAULT 0,
	balance_after	INTEGER NOT NULL,
	session_id	INTEGER UNIQUE REFERENCES sessions (id),
	started_at	TEXT,
	ended_at	TEXT,
	billable_seconds INTEGER,
	technician	TEXT,
	after_hours	INTEGER NOT NULL DEFAULT 0 CHECK (after_hours IN (0, 1)),
	lot_id		TEXT,
	amount_cents	INTEGER NOT NULL DEFAULT 0,
	currency	TEXT,
	reference	TEXT,
	note		TEXT,
	corrects	INTEGER REFERENCES ledger (id),
	actor		TEXT NOT NULL,
	idem_key	TEXT NOT NULL UNIQUE,
	prev_hash	TEXT NOT NULL,
	entry_hash	TEXT NOT NULL,
	schema_version	INTEGER CHECK (schema_version IS NULL OR schema_version >= 3),
	CHECK ((kind = 'migration') = (customer_id IS NULL))
) STRICT;

INSERT INTO ledger_keyed (id, posted_at, customer_id, kind, units, installations,
    balance_after, session_id, started_at, ended_at, billable_seconds, technician,
    after_hours, lot_id, amount_cents, currency, reference, note, corrects, actor,
    idem_key, prev_hash, entry_hash)
SELECT id, posted_at, customer_id, kind, units, installations, balance_after,
    session_id, started_at, ended_at, billable_seconds, technician, after_hours,
    lot_id, amount_cents, currency, reference, note, corrects, actor, idem_key,
    prev_hash, entry_hash
FROM ledger ORDER BY id;

DROP TABLE ledger;
ALTER TABLE ledger_keyed RENAME TO ledger;

CREATE INDEX ledger_customer ON ledger (customer_id, id);
CREATE INDEX ledger_installations ON ledger (customer_id) WHERE installations <> 0;
CREATE INDEX ledger_posted ON ledger (posted_at);
CREATE INDEX ledger_corrects ON ledger (corrects) WHERE corrects IS NOT NULL;

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger entries are never updated (R10)'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger entries are never deleted (R10)'); END;

ALTER TABLE allocations ADD COLUMN by_entry INTEGER REFERENCES ledger (id);
