-- Booking rules: an organisation's opening hours (checked for free-time appointments; no row = 08:00-19:00,
-- Monday to Saturday) and one-time form submission tokens (a double click does not book twice).
CREATE TABLE opening_hours (
    organisation_id TEXT PRIMARY KEY REFERENCES organisations(id),
    opens TEXT NOT NULL,
    closes TEXT NOT NULL,
    days TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE form_submissions (
    token TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    location TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX form_submissions_created ON form_submissions (created_at);
