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
			    CHECK (kind IN ('attach', 'agent_gap', 'consent', 'refused')),
	login		TEXT,
	command		TEXT,			-- attach, exec argv, ...
	started_at	TEXT NOT NULL,
	ended_at	TEXT,
	detail		TEXT
) STRICT;

CREATE INDEX session_events_session ON session_events (session_id);
