-- quarterhour console database: the migration to schema version 4 (mail).
--
-- Embedded like schema.sql and run by db_migrate() (console/store/db.c)
-- inside its transaction, with foreign keys checked once at its end.
-- Rows already written keep their meaning.

-- A customer's language for what they read (mail now, statements later):
-- the vendor's customers are in Germany, Austria and Switzerland.
ALTER TABLE customers ADD COLUMN lang TEXT NOT NULL DEFAULT 'de'
    CHECK (lang IN ('de', 'en'));

-- A customer's e-mail addresses, in the order given (`customer add/set
-- --email`); `customer set --email` replaces the whole list.
CREATE TABLE customer_emails (
	customer_id	TEXT NOT NULL REFERENCES customers (id),
	seq		INTEGER NOT NULL CHECK (seq >= 1),
	address		TEXT NOT NULL,
	PRIMARY KEY (customer_id, seq),
	UNIQUE (customer_id, address)
) STRICT;

-- `end --internal TEXT`: for staff only, never in anything the customer reads.
ALTER TABLE sessions ADD COLUMN internal_note TEXT;

-- Every message an event causes, written in the same transaction as the
-- event (the debit, the purchase, the ticket's change), so a message is
-- never lost and, event being unique, never queued twice. The daemon
-- renders each row (data holds the figures) and delivers it on its channel:
-- 'mail' over SMTP to the customer's addresses as they were when the event
-- happened (recipients, one per line) or to [mail] staff, 'command' to
-- [billing] notify_command (the R5 document, as before). Delivery is at
-- least once: the Message-ID is made once (message_id) and kept, so a
-- crash between the server's answer and the commit gives a duplicate that
-- mail programs fold.
CREATE TABLE outbox (
	id		INTEGER PRIMARY KEY,
	event		TEXT NOT NULL UNIQUE,	-- what caused it, and for whom
	kind		TEXT NOT NULL CHECK (kind IN ('balance_low', 'balance_zero',
			    'purchase', 'session_report', 'ticket_received',
			    'ticket_answered', 'ticket_need_info', 'ticket_closed',
			    'appointment', 'ticket_due_soon', 'ticket_overdue')),
	channel		TEXT NOT NULL CHECK (channel IN ('mail', 'command')),
	audience	TEXT NOT NULL CHECK (audience IN ('customer', 'staff', 'command')),
	customer_id	TEXT REFERENCES customers (id),
	lang		TEXT CHECK (lang IN ('de', 'en')),	-- NULL: staff's language
	recipients	TEXT,			-- customer: addresses, one per line
	data		TEXT NOT NULL CHECK (json_valid(data)),	-- a JSON object
	token		TEXT NOT NULL,		-- random hex, part of the Message-ID
	created_at	TEXT NOT NULL,
	status		TEXT NOT NULL DEFAULT 'queued'
			    CHECK (status IN ('queued', 'sent', 'failed', 'skipped')),
	attempts	INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_at		TEXT NOT NULL,		-- when the next attempt is due
	last_attempt_at	TEXT,
	answer		TEXT,			-- the server's last answer, or why it failed
	message_id	TEXT,			-- made at the first attempt, then kept
	sent_to		TEXT,			-- the addresses it went to
	sent_at		TEXT
) STRICT;

CREATE INDEX outbox_due ON outbox (channel, status, next_at);
CREATE INDEX outbox_done ON outbox (status, sent_at);

-- R5 crossings not yet delivered to notify_command move to the outbox,
-- which delivers them from now on; the notifications table stays the
-- record of every crossing.
INSERT INTO outbox (event, kind, channel, audience, customer_id, data, token,
    created_at, next_at)
SELECT 'notification:' || n.id || ':command',
    CASE n.kind WHEN 'zero' THEN 'balance_zero' ELSE 'balance_low' END,
    'command', 'command', n.customer_id,
    json_object('notification', n.id, 'customer', n.customer_id, 'name', c.name,
	'kind', n.kind, 'balance_units', n.balance, 'warn_units', c.warn_units,
	'entry_id', n.entry_id, 'created_at', n.created_at),
    lower(hex(randomblob(12))), n.created_at, n.created_at
FROM notifications n JOIN customers c ON c.id = n.customer_id
WHERE n.delivered_at IS NULL
ORDER BY n.id;
