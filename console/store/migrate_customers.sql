-- quarterhour console database: the migration to schema version 5
-- (customers for accounting, issue 14).
--
-- Embedded like schema.sql and run by db_migrate() (console/store/db.c)
-- inside its transaction. Rows already written keep their meaning.

-- A customer's country (ISO 3166-1 alpha-2) and VAT id pick the DATEV tax
-- key of its revenue ([datev]); the vendor is German, so DE by default.
ALTER TABLE customers ADD COLUMN country TEXT NOT NULL DEFAULT 'DE'
    CHECK (length(country) = 2 AND country GLOB '[A-Z][A-Z]');
ALTER TABLE customers ADD COLUMN vat_id TEXT;

-- `customer disable`: its agents are refused while this is set; its
-- history (sessions, ledger, tickets) stays. `customer enable` clears it.
ALTER TABLE customers ADD COLUMN disabled_at TEXT;
