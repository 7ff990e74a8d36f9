-- Account security (issue 11): TOTP replay guard, second-factor secret pending confirmation (kept server-side, in
-- the session that shows it).
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
ALTER TABLE sessions ADD COLUMN pending_totp_secret TEXT;
-- Length limits of the main name and e-mail columns (domain::limits) are enforced by the database too: CHECK
-- constraints on PostgreSQL, triggers on SQLite (adding a CHECK there needs a table rebuild), in the dialect files.
