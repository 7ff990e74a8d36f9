-- Length limits (domain::limits). NOT VALID: checked for every new or changed row, without refusing the migration
-- because of an older over-long row.
ALTER TABLE users ADD CONSTRAINT users_email_length CHECK (length(email) <= 254) NOT VALID;
ALTER TABLE users ADD CONSTRAINT users_first_name_length CHECK (length(first_name) <= 100) NOT VALID;
ALTER TABLE users ADD CONSTRAINT users_last_name_length CHECK (length(last_name) <= 100) NOT VALID;
ALTER TABLE ppsmj ADD CONSTRAINT ppsmj_first_name_length CHECK (length(first_name) <= 100) NOT VALID;
ALTER TABLE ppsmj ADD CONSTRAINT ppsmj_last_name_length CHECK (length(last_name) <= 100) NOT VALID;
ALTER TABLE ppsmj ADD CONSTRAINT ppsmj_email_length CHECK (email IS NULL OR length(email) <= 254) NOT VALID;
