-- quarterhour console database: the migration to schema version 8.
--
-- Embedded like schema.sql and run by db_migrate() (console/store/db.c)
-- inside its transaction. Rows already written keep their meaning.

-- Desktop recordings (issue 12): what a technician saw of a customer's
-- screen is recorded unless the customer forbids it
-- (`qh-console customer set ID --record-desktop no`).
ALTER TABLE customers ADD COLUMN record_desktop INTEGER NOT NULL DEFAULT 1
    CHECK (record_desktop IN (0, 1));
