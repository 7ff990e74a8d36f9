-- Length limits (domain::limits): SQLite cannot add a CHECK constraint to an existing table without rebuilding it,
-- so triggers refuse over-long values on insert and update.
CREATE TRIGGER users_lengths_insert BEFORE INSERT ON users
WHEN length(NEW.email) > 254 OR length(NEW.first_name) > 100 OR length(NEW.last_name) > 100
BEGIN SELECT RAISE(ABORT, 'users: value too long'); END;
CREATE TRIGGER users_lengths_update BEFORE UPDATE OF email, first_name, last_name ON users
WHEN length(NEW.email) > 254 OR length(NEW.first_name) > 100 OR length(NEW.last_name) > 100
BEGIN SELECT RAISE(ABORT, 'users: value too long'); END;
CREATE TRIGGER ppsmj_lengths_insert BEFORE INSERT ON ppsmj
WHEN length(NEW.first_name) > 100 OR length(NEW.last_name) > 100 OR length(NEW.email) > 254
BEGIN SELECT RAISE(ABORT, 'ppsmj: value too long'); END;
CREATE TRIGGER ppsmj_lengths_update BEFORE UPDATE OF first_name, last_name, email ON ppsmj
WHEN length(NEW.first_name) > 100 OR length(NEW.last_name) > 100 OR length(NEW.email) > 254
BEGIN SELECT RAISE(ABORT, 'ppsmj: value too long'); END;
