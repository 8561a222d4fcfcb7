-- quarterhour console database: the migration to schema version 9.
--
-- Embedded like schema.sql and run by db_migrate() (console/store/db.c)
-- inside its transaction, with foreign keys off (tables are rebuilt that
-- other tables reference). Rows are copied as they are and never changed:
-- the ledger's hashes still verify.
--
-- The same CHECK constraints, written so that checking them is cheap.
-- SQLite checks `x IN ('a', 'b', 'c')` of three or more values by building
-- a temporary index of the list in every statement that checks it: the
-- outbox row a session close queues built three (a page cache each) and
-- took longer than the rest of its insert (26 us of a close's 80 us of
-- CPU, bench_closes with QH_BENCH_PROFILE=1). `x = 'a' OR x = 'b' OR ...`
-- allows exactly the same values (and NULL, as IN does) with a few
-- comparisons. Lists of two values SQLite compares already; they stay.

-- sessions.close_reason.
CREATE TABLE sessions_checked (
	id		INTEGER PRIMARY KEY,
	customer_id	TEXT NOT NULL REFERENCES customers (id),
	agent_id	TEXT NOT NULL REFERENCES agents (id),
	code		TEXT NOT NULL,
	kind		TEXT NOT NULL DEFAULT 'support'
			    CHECK (kind IN ('support', 'installation')),
	ticket_id	INTEGER,
	opened_at	TEXT NOT NULL,
	closed_at	TEXT,
	close_reason	TEXT CHECK (close_reason = 'technician' OR
			    close_reason = 'customer' OR close_reason = 'agent_lost' OR
			    close_reason = 'idle' OR close_reason = 'shutdown' OR
			    close_reason = 'crash_recovery' OR close_reason = 'revoked'),
	billable_seconds INTEGER NOT NULL DEFAULT 0 CHECK (billable_seconds >= 0),
	persisted_at	TEXT NOT NULL,
	after_hours	INTEGER NOT NULL DEFAULT 0 CHECK (after_hours IN (0, 1)),
	overdraft_by	TEXT,
	note		TEXT,
	internal_note	TEXT
) STRICT;

INSERT INTO sessions_checked (id, customer_id, agent_id, code, kind, ticket_id,
    opened_at, closed_at, close_reason, billable_seconds, persisted_at,
    after_hours, overdraft_by, note, internal_note)
SELECT id, customer_id, agent_id, code, kind, ticket_id, opened_at, closed_at,
    close_reason, billable_seconds, persisted_at, after_hours, overdraft_by, note,
    internal_note
FROM sessions ORDER BY id;

DROP TABLE sessions;
ALTER TABLE sessions_checked RENAME TO sessions;

CREATE INDEX sessions_customer ON sessions (customer_id);
CREATE INDEX sessions_open ON sessions (closed_at) WHERE closed_at IS NULL;

-- ledger.kind.
CREATE TABLE ledger_checked (
	id		INTEGER PRIMARY KEY,
	posted_at	TEXT NOT NULL,
	customer_id	TEXT REFERENCES customers (id),
	kind		TEXT NOT NULL CHECK (kind = 'purchase' OR kind = 'session' OR
			    kind = 'installation_purchase' OR kind = 'installation' OR
			    kind = 'correction' OR kind = 'migration'),
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

INSERT INTO ledger_checked (id, posted_at, customer_id, kind, units, installations,
    balance_after, session_id, started_at, ended_at, billable_seconds, technician,
    after_hours, lot_id, amount_cents, currency, reference, note, corrects, actor,
    idem_key, prev_hash, entry_hash, schema_version)
SELECT id, posted_at, customer_id, kind, units, installations, balance_after,
    session_id, started_at, ended_at, billable_seconds, technician, after_hours,
    lot_id, amount_cents, currency, reference, note, corrects, actor, idem_key,
    prev_hash, entry_hash, schema_version
FROM ledger ORDER BY id;

DROP TABLE ledger;
ALTER TABLE ledger_checked RENAME TO ledger;

CREATE INDEX ledger_customer ON ledger (customer_id, id);
CREATE INDEX ledger_installations ON ledger (customer_id) WHERE installations <> 0;
CREATE INDEX ledger_posted ON ledger (posted_at);
CREATE INDEX ledger_corrects ON ledger (corrects) WHERE corrects IS NOT NULL;

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger entries are never updated (R10)'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger entries are never deleted (R10)'); END;

-- outbox.kind, audience and status.
CREATE TABLE outbox_checked (
	id		INTEGER PRIMARY KEY,
	event		TEXT NOT NULL UNIQUE,	-- what caused it, and for whom
	kind		TEXT NOT NULL CHECK (kind = 'balance_low' OR
			    kind = 'balance_zero' OR kind = 'purchase' OR
			    kind = 'session_report' OR kind = 'ticket_received' OR
			    kind = 'ticket_answered' OR kind = 'ticket_need_info' OR
			    kind = 'ticket_closed' OR kind = 'appointment' OR
			    kind = 'ticket_due_soon' OR kind = 'ticket_overdue'),
	channel		TEXT NOT NULL CHECK (channel IN ('mail', 'command')),
	audience	TEXT NOT NULL CHECK (audience = 'customer' OR
			    audience = 'staff' OR audience = 'command'),
	customer_id	TEXT REFERENCES customers (id),
	lang		TEXT CHECK (lang IN ('de', 'en')),	-- NULL: staff's language
	recipients	TEXT,			-- customer: addresses, one per line
	data		TEXT NOT NULL CHECK (json_valid(data)),	-- a JSON object
	token		TEXT NOT NULL,		-- random hex, part of the Message-ID
	created_at	TEXT NOT NULL,
	status		TEXT NOT NULL DEFAULT 'queued'
			    CHECK (status = 'queued' OR status = 'sent' OR
			    status = 'failed' OR status = 'skipped'),
	attempts	INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_at		TEXT NOT NULL,		-- when the next attempt is due
	last_attempt_at	TEXT,
	answer		TEXT,			-- the server's last answer, or why it failed
	message_id	TEXT,			-- made at the first attempt, then kept
	sent_to		TEXT,			-- the addresses it went to
	sent_at		TEXT
) STRICT;

INSERT INTO outbox_checked (id, event, kind, channel, audience, customer_id, lang,
    recipients, data, token, created_at, status, attempts, next_at,
    last_attempt_at, answer, message_id, sent_to, sent_at)
SELECT id, event, kind, channel, audience, customer_id, lang, recipients, data,
    token, created_at, status, attempts, next_at, last_attempt_at, answer,
    message_id, sent_to, sent_at
FROM outbox ORDER BY id;

DROP TABLE outbox;
ALTER TABLE outbox_checked RENAME TO outbox;

CREATE INDEX outbox_due ON outbox (channel, status, next_at);
CREATE INDEX outbox_done ON outbox (status, sent_at);
