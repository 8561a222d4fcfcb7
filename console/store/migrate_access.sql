-- quarterhour console database: the migration to schema version 2.
--
-- Embedded like schema.sql and run by db_migrate() (console/store/db.c)
-- inside its transaction, with foreign keys checked once at its end.
-- Rows already written keep their meaning.

-- A join token is bound to the public key of the first certificate request
-- sent with it: a retry with that key gets the same certificate again
-- (cert_pem), another key is refused. It is spent (used_at) when the agent
-- first connects with that certificate, not when the certificate is sent.
ALTER TABLE join_tokens ADD COLUMN key_sha256 TEXT;	-- hex SHA-256 of the key's DER SubjectPublicKeyInfo
ALTER TABLE join_tokens ADD COLUMN cert_pem TEXT;	-- the certificate issued for that key

CREATE INDEX join_tokens_agent ON join_tokens (agent_id);

-- A session can be closed by a revocation of its agent ('revoked'). The
-- CHECK of close_reason changes, so the table is rebuilt with its rows.
CREATE TABLE sessions_v2 (
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
			    'agent_lost', 'idle', 'shutdown', 'crash_recovery', 'revoked')),
	billable_seconds INTEGER NOT NULL DEFAULT 0 CHECK (billable_seconds >= 0),
	persisted_at	TEXT NOT NULL,
	after_hours	INTEGER NOT NULL DEFAULT 0 CHECK (after_hours IN (0, 1)),
	overdraft_by	TEXT,
	note		TEXT
) STRICT;

INSERT INTO sessions_v2 (id, customer_id, agent_id, code, kind, ticket_id, opened_at,
    closed_at, close_reason, billable_seconds, persisted_at, after_hours, overdraft_by,
    note)
SELECT id, customer_id, agent_id, code, kind, ticket_id, opened_at, closed_at,
    close_reason, billable_seconds, persisted_at, after_hours, overdraft_by, note
FROM sessions;

DROP TABLE sessions;
ALTER TABLE sessions_v2 RENAME TO sessions;

CREATE INDEX sessions_customer ON sessions (customer_id);
CREATE INDEX sessions_open ON sessions (closed_at) WHERE closed_at IS NULL;
