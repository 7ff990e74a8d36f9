-- Account security (issue 11): TOTP replay guard, second-factor secret pending confirmation (kept server-side, in
-- the session that shows it).
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
ALTER TABLE sessions ADD COLUMN pending_totp_secret TEXT;
