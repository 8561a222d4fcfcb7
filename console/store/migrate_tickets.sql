-- quarterhour console database: the migration to schema version 5, tickets as
-- conversations.
--
-- Embedded like schema.sql and run by db_migrate() (console/store/db.c)
-- inside its transaction, with foreign keys checked once at its end.
-- Rows already written keep their meaning: an open ticket stays open, a
-- closed one closed.

-- A ticket's status: open (the vendor's turn; its due clock runs), waiting
-- (for the customer: `ticket need`; the due clock is paused since
-- paused_at), answered (the vendor replied; nothing is due until the
-- customer writes again), closed. assigned_to is the technician's login
-- who owns it (`ticket assign`); updated_at is the last message or change.
-- The CHECK of status changes, so the table is rebuilt with its rows.
CREATE TABLE tickets_v3 (
	id		INTEGER PRIMARY KEY,
	customer_id	TEXT NOT NULL REFERENCES customers (id),
	agent_id	TEXT NOT NULL REFERENCES agents (id),
	kind		TEXT NOT NULL CHECK (kind IN ('support', 'installation')),
	plan		TEXT NOT NULL CHECK (plan IN ('premium', 'free')),
	subject		TEXT NOT NULL,
	steps		TEXT NOT NULL DEFAULT '',
	environment	TEXT,			-- JSON object, verbatim from the agent
	status		TEXT NOT NULL DEFAULT 'open'
			    CHECK (status IN ('open', 'waiting', 'answered', 'closed')),
	created_at	TEXT NOT NULL,
	due_at		TEXT NOT NULL,
	deadline_at	TEXT,
	closed_at	TEXT,
	closed_by	TEXT,
	close_note	TEXT,
	idem_key	TEXT NOT NULL UNIQUE,
	assigned_to	TEXT,			-- a technician's login
	paused_at	TEXT,			-- status waiting: since when
	updated_at	TEXT NOT NULL,
	CHECK ((status = 'waiting') = (paused_at IS NOT NULL))
) STRICT;

INSERT INTO tickets_v3 (id, customer_id, agent_id, kind, plan, subject, steps,
    environment, status, created_at, due_at, deadline_at, closed_at, closed_by,
    close_note, idem_key, updated_at)
SELECT id, customer_id, agent_id, kind, plan, subject, steps, environment, status,
    created_at, due_at, deadline_at, closed_at, closed_by, close_note, idem_key,
    coalesce(closed_at, created_at)
FROM tickets;

DROP TABLE tickets;
ALTER TABLE tickets_v3 RENAME TO tickets;

CREATE INDEX tickets_due ON tickets (status, due_at);
CREATE INDEX tickets_customer ON tickets (customer_id, due_at);

-- The conversation: replies of either side and the vendor's requests for
-- more information (kind need), numbered from 1 per ticket. author is the
-- technician's login (staff) or the agent id of the PC that sent it
-- (customer). idem_key (hex SHA-256 the sender derives from the content)
-- makes a retry return the message sent before.
CREATE TABLE ticket_messages (
	id		INTEGER PRIMARY KEY,
	ticket_id	INTEGER NOT NULL REFERENCES tickets (id),
	seq		INTEGER NOT NULL CHECK (seq >= 1),
	kind		TEXT NOT NULL CHECK (kind IN ('reply', 'need')),
	side		TEXT NOT NULL CHECK (side IN ('customer', 'staff')),
	author		TEXT NOT NULL,
	body		TEXT NOT NULL,
	created_at	TEXT NOT NULL,
	idem_key	TEXT UNIQUE,
	UNIQUE (ticket_id, seq)
) STRICT;

-- An attachment belongs to the ticket as filed (message_id NULL) or to one
-- of its messages. Names stay unique within a ticket: a later file of the
-- same name is kept as "NAME (2).EXT".
ALTER TABLE ticket_attachments ADD COLUMN message_id INTEGER
    REFERENCES ticket_messages (id);
