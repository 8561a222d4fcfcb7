-- quarterhour console database, schema version 1.
--
-- Embedded into qh-console at build time (console/db.c applies it when
-- PRAGMA user_version is 0). Later versions add migration steps in db.c;
-- this file is never edited in a way that changes an existing database.
--
-- Every timestamp is UTC text 'YYYY-MM-DDTHH:MM:SSZ'. Identities (customer
-- ids, logins, agent ids) follow qh_id_valid(): 1..64 of [A-Za-z0-9._-].
--
-- Sessions, purchase lots and the hash-chained ledger come in a later
-- version; every ledger write will go through one module inside
-- BEGIN IMMEDIATE (DESIGN §3).

-- A customer: premium customers may have remote sessions (R7).
CREATE TABLE customers (
	id		TEXT PRIMARY KEY NOT NULL,
	name		TEXT NOT NULL,
	plan		TEXT NOT NULL DEFAULT 'premium'
			    CHECK (plan IN ('premium', 'free')),
	warn_units	INTEGER NOT NULL DEFAULT 4 CHECK (warn_units >= 0),		-- R5
	overdraft_units	INTEGER NOT NULL DEFAULT 0 CHECK (overdraft_units >= 0),	-- R7
	created_at	TEXT NOT NULL
) STRICT;

-- Technicians and accounting staff; a revoked login keeps its row.
CREATE TABLE technicians (
	login		TEXT PRIMARY KEY NOT NULL,
	name		TEXT NOT NULL,
	role		TEXT NOT NULL CHECK (role IN ('technician', 'accounting')),
	created_at	TEXT NOT NULL,
	revoked_at	TEXT
) STRICT;

-- Every certificate the CA issued. identity is the subject's CN: the
-- console name, a technician login or a customer id.
CREATE TABLE certificates (
	serial		TEXT PRIMARY KEY NOT NULL,	-- lowercase hex
	role		TEXT NOT NULL
			    CHECK (role IN ('agent', 'technician', 'accounting', 'console')),
	identity	TEXT NOT NULL,
	subject		TEXT NOT NULL,			-- RFC 2253 text, for people
	agent_id	TEXT,				-- agents only
	fingerprint	TEXT NOT NULL UNIQUE,		-- SHA-256 of the DER, hex
	not_after	TEXT NOT NULL,
	issued_at	TEXT NOT NULL,
	revoked_at	TEXT
) STRICT;

CREATE INDEX certificates_identity ON certificates (role, identity);
CREATE INDEX certificates_agent ON certificates (agent_id);

-- One row per enrolled PC (R11: each running agent is its own entry).
CREATE TABLE agents (
	id		TEXT PRIMARY KEY NOT NULL,
	customer_id	TEXT NOT NULL REFERENCES customers (id),
	host		TEXT,
	enrolled_at	TEXT NOT NULL,
	last_seen	TEXT,
	cert_serial	TEXT,
	cert_not_after	TEXT,
	revoked_at	TEXT
) STRICT;

CREATE INDEX agents_customer ON agents (customer_id);

-- One-time join tokens, stored as the hex SHA-256 of the token.
CREATE TABLE join_tokens (
	hash		TEXT PRIMARY KEY NOT NULL,
	customer_id	TEXT NOT NULL REFERENCES customers (id),
	created_at	TEXT NOT NULL,
	expires_at	TEXT NOT NULL,
	used_at		TEXT,
	agent_id	TEXT
) STRICT;

CREATE INDEX join_tokens_customer ON join_tokens (customer_id);

-- A remote session: opened at the first consented technician command (R2),
-- closed exactly once (R4). billable_seconds is persisted at least every
-- 15 s while it runs (R13) and is final once closed_at is set.
CREATE TABLE sessions (
	id		INTEGER PRIMARY KEY,
	customer_id	TEXT NOT NULL REFERENCES customers (id),
	agent_id	TEXT NOT NULL REFERENCES agents (id),
	code		TEXT NOT NULL,
	kind		TEXT NOT NULL DEFAULT 'support'
			    CHECK (kind IN ('support', 'installation')),
	ticket_id	INTEGER,
	opened_at	TEXT NOT NULL,
	closed_at	TEXT,
	close_reason	TEXT CHECK (close_reason IN ('technician', 'customer',
			    'agent_lost', 'idle', 'shutdown', 'crash_recovery')),
	billable_seconds INTEGER NOT NULL DEFAULT 0 CHECK (billable_seconds >= 0),
	persisted_at	TEXT NOT NULL,
	after_hours	INTEGER NOT NULL DEFAULT 0 CHECK (after_hours IN (0, 1)),
	overdraft_by	TEXT,				-- login that passed --allow-overdraft
	note		TEXT
) STRICT;

CREATE INDEX sessions_customer ON sessions (customer_id);
CREATE INDEX sessions_open ON sessions (closed_at) WHERE closed_at IS NULL;

-- What happened in a session: each technician command from start to end
-- (R2), each agent disconnect gap (R11), each consent answer.
CREATE TABLE session_events (
	id		INTEGER PRIMARY KEY,
	session_id	INTEGER NOT NULL REFERENCES sessions (id),
	kind		TEXT NOT NULL
			    CHECK (kind IN ('attach', 'agent_gap', 'consent', 'refused',
			    'recording')),
	login		TEXT,
	command		TEXT,			-- attach, exec argv, ...
	started_at	TEXT NOT NULL,
	ended_at	TEXT,
	detail		TEXT
) STRICT;

CREATE INDEX session_events_session ON session_events (session_id);

-- Installation credits (R8) live in the ledger's installations column; the
-- customer's figure is their sum, like the balance of units.

-- The ledger: append-only (the triggers below refuse UPDATE and DELETE).
-- Every write goes through console/ledger.c inside BEGIN IMMEDIATE, reading
-- the previous entry's hash in that transaction. entry_hash is SHA-256 over
-- prev_hash and the canonical encoding of the row (ledger.c), so any edit
-- shows in `qh-console verify`. Units are signed: credits positive, debits
-- negative; money is integer cents.
CREATE TABLE ledger (
	id		INTEGER PRIMARY KEY,
	posted_at	TEXT NOT NULL,
	customer_id	TEXT NOT NULL REFERENCES customers (id),
	kind		TEXT NOT NULL CHECK (kind IN ('purchase', 'session',
			    'installation_purchase', 'installation', 'correction')),
	units		INTEGER NOT NULL,
	installations	INTEGER NOT NULL DEFAULT 0,
	balance_after	INTEGER NOT NULL,
	session_id	INTEGER UNIQUE REFERENCES sessions (id),
	started_at	TEXT,
	ended_at	TEXT,
	billable_seconds INTEGER,
	technician	TEXT,			-- logins, ';'-separated
	after_hours	INTEGER NOT NULL DEFAULT 0 CHECK (after_hours IN (0, 1)),
	lot_id		TEXT,			-- lots consumed or created, ';'-separated
	amount_cents	INTEGER NOT NULL DEFAULT 0,
	currency	TEXT,
	reference	TEXT,
	note		TEXT,
	corrects	INTEGER REFERENCES ledger (id),	-- R10
	actor		TEXT NOT NULL,		-- login or 'console'
	idem_key	TEXT NOT NULL UNIQUE,	-- session:<id>, purchase:<ref>, ...
	prev_hash	TEXT NOT NULL,
	entry_hash	TEXT NOT NULL
) STRICT;

CREATE INDEX ledger_customer ON ledger (customer_id, id);
CREATE INDEX ledger_installations ON ledger (customer_id) WHERE installations <> 0;
CREATE INDEX ledger_posted ON ledger (posted_at);

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger entries are never updated (R10)'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger entries are never deleted (R10)'); END;

-- Purchase lots (R6, R14): each purchase keeps its own unit price.
CREATE TABLE lots (
	id		INTEGER PRIMARY KEY,
	customer_id	TEXT NOT NULL REFERENCES customers (id),
	entry_id	INTEGER NOT NULL REFERENCES ledger (id),
	units		INTEGER NOT NULL CHECK (units > 0),
	unit_price_cents INTEGER NOT NULL CHECK (unit_price_cents >= 0),
	currency	TEXT NOT NULL,
	created_at	TEXT NOT NULL
) STRICT;

CREATE INDEX lots_customer ON lots (customer_id, id);

-- Which lots each debit consumed (FIFO, R14): positive units consume,
-- negative ones give back (a correction). A debit that found no lot left
-- (overdraft, R7) is allocated when the next purchase arrives.
CREATE TABLE allocations (
	id		INTEGER PRIMARY KEY,
	entry_id	INTEGER NOT NULL REFERENCES ledger (id),
	lot_id		INTEGER NOT NULL REFERENCES lots (id),
	units		INTEGER NOT NULL CHECK (units <> 0),
	amount_cents	INTEGER NOT NULL,
	posted_at	TEXT NOT NULL,
	left_after	INTEGER NOT NULL CHECK (left_after >= 0)	-- the lot's units left
) STRICT;

CREATE INDEX allocations_entry ON allocations (entry_id);
CREATE INDEX allocations_lot ON allocations (lot_id, id);

CREATE TRIGGER lots_no_update BEFORE UPDATE ON lots
BEGIN SELECT RAISE(ABORT, 'lots are never updated'); END;
CREATE TRIGGER lots_no_delete BEFORE DELETE ON lots
BEGIN SELECT RAISE(ABORT, 'lots are never deleted'); END;
CREATE TRIGGER allocations_no_update BEFORE UPDATE ON allocations
BEGIN SELECT RAISE(ABORT, 'allocations are never updated'); END;
CREATE TRIGGER allocations_no_delete BEFORE DELETE ON allocations
BEGIN SELECT RAISE(ABORT, 'allocations are never deleted'); END;

-- R5: one row per threshold or zero crossing; delivery is retried.
CREATE TABLE notifications (
	id		INTEGER PRIMARY KEY,
	customer_id	TEXT NOT NULL REFERENCES customers (id),
	entry_id	INTEGER NOT NULL REFERENCES ledger (id),
	kind		TEXT NOT NULL CHECK (kind IN ('threshold', 'zero')),
	balance		INTEGER NOT NULL,
	created_at	TEXT NOT NULL,
	attempts	INTEGER NOT NULL DEFAULT 0,
	delivered_at	TEXT,
	last_error	TEXT
) STRICT;

-- Support tickets filed by an agent (`qh-agent ticket`). A ticket and its
-- attachments and proposals are written in one transaction, only after
-- every attachment arrived and matched its SHA-256, so a cut upload leaves
-- nothing. idem_key (hex SHA-256 the agent derives from the content) makes
-- a retry return the ticket filed before. plan is the customer's plan when
-- the ticket was filed; due_at and deadline_at are counted in business
-- hours from created_at (deadline_at only for the free plan).
CREATE TABLE tickets (
	id		INTEGER PRIMARY KEY,
	customer_id	TEXT NOT NULL REFERENCES customers (id),
	agent_id	TEXT NOT NULL REFERENCES agents (id),
	kind		TEXT NOT NULL CHECK (kind IN ('support', 'installation')),
	plan		TEXT NOT NULL CHECK (plan IN ('premium', 'free')),
	subject		TEXT NOT NULL,
	steps		TEXT NOT NULL DEFAULT '',
	environment	TEXT,			-- JSON object, verbatim from the agent
	status		TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
	created_at	TEXT NOT NULL,
	due_at		TEXT NOT NULL,
	deadline_at	TEXT,
	closed_at	TEXT,
	closed_by	TEXT,
	close_note	TEXT,
	idem_key	TEXT NOT NULL UNIQUE
) STRICT;

CREATE INDEX tickets_due ON tickets (status, due_at);
CREATE INDEX tickets_customer ON tickets (customer_id, due_at);

-- A ticket's attachments, in the order sent. The content lives once per
-- hash under STATE/attachments/<first two hex digits>/<sha256>.
CREATE TABLE ticket_attachments (
	id		INTEGER PRIMARY KEY,
	ticket_id	INTEGER NOT NULL REFERENCES tickets (id),
	seq		INTEGER NOT NULL CHECK (seq >= 1),
	name		TEXT NOT NULL,
	size		INTEGER NOT NULL CHECK (size >= 0),
	sha256		TEXT NOT NULL CHECK (length(sha256) = 64),
	UNIQUE (ticket_id, seq),
	UNIQUE (ticket_id, name)
) STRICT;

-- Proposed appointments, numbered from 1 (`ticket confirm N --slot K`):
-- the PC's local time as typed, its UTC offset then, and the instant.
CREATE TABLE ticket_proposals (
	id		INTEGER PRIMARY KEY,
	ticket_id	INTEGER NOT NULL REFERENCES tickets (id),
	slot		INTEGER NOT NULL CHECK (slot >= 1),
	local_time	TEXT NOT NULL,		-- 'YYYY-MM-DDTHH:MM'
	utc_offset	INTEGER NOT NULL,	-- minutes east of UTC
	starts_at	TEXT NOT NULL,		-- UTC
	after_hours	INTEGER NOT NULL CHECK (after_hours IN (0, 1)),
	confirmed	INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)),
	confirmed_at	TEXT,
	confirmed_by	TEXT,
	UNIQUE (ticket_id, slot)
) STRICT;
