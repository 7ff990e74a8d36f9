-- Foundation: organisations, users, sessions, audit trail, reference data, outbox.
-- Written once for SQLite and PostgreSQL: ids are TEXT (UUIDv7 made by the application), instants are BIGINT
-- unix seconds (UTC), flags are BIGINT 0/1 (sqlx::Any cannot decode SQLite booleans). Dialect-specific parts live in 0001_foundation.<dialect>.sql.

CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    short_name TEXT,
    parent_id TEXT REFERENCES organisations(id),
    departement TEXT,
    time_zone TEXT NOT NULL DEFAULT 'Europe/Paris',
    address TEXT,
    phone TEXT,
    email TEXT,
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX organisations_parent ON organisations(parent_id);
CREATE UNIQUE INDEX organisations_name ON organisations(kind, name);

CREATE TABLE organisation_links (
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    linked_id TEXT NOT NULL REFERENCES organisations(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, linked_id)
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    role TEXT NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    password_hash TEXT,
    active BIGINT NOT NULL DEFAULT 1,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    totp_secret TEXT,
    totp_enabled BIGINT NOT NULL DEFAULT 0,
    last_login_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX users_organisation ON users(organisation_id);

CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    stage TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE user_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    purpose TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX user_tokens_user ON user_tokens(user_id);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_user_id TEXT,
    actor_label TEXT NOT NULL,
    organisation_id TEXT,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT,
    ip TEXT,
    details TEXT
);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE INDEX audit_events_org_at ON audit_events(organisation_id, at);
CREATE INDEX audit_events_target ON audit_events(target_type, target_id);

CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL
);

CREATE TABLE communes (
    insee TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    search_name TEXT NOT NULL,
    departement TEXT NOT NULL,
    postcodes TEXT NOT NULL
);
CREATE INDEX communes_search ON communes(search_name);
CREATE INDEX communes_departement ON communes(departement);

CREATE TABLE juridictions (
    insee TEXT PRIMARY KEY,
    commune_name TEXT NOT NULL,
    cour_appel TEXT NOT NULL,
    tribunal_judiciaire TEXT NOT NULL,
    tribunal_proximite TEXT,
    conseil_prudhommes TEXT,
    source TEXT NOT NULL,
    imported_at BIGINT NOT NULL
);
CREATE INDEX juridictions_tj ON juridictions(tribunal_judiciaire);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    organisation_id TEXT REFERENCES organisations(id),
    recipient TEXT NOT NULL,
    subject TEXT,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    due_at BIGINT NOT NULL,
    claimed_until BIGINT,
    sent_at BIGINT,
    received_at BIGINT,
    last_error TEXT,
    provider_message_id TEXT,
    related_type TEXT,
    related_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox(state, due_at);
CREATE INDEX outbox_related ON outbox(related_type, related_id);
