-- Info Parquet (issue 7): referrals (signalements, art. 40 CPP) from administrations to the competent parquet.
-- Same conventions as 0001: TEXT ids, BIGINT unix seconds (UTC), dates as TEXT 'YYYY-MM-DD', flags BIGINT 0/1.

-- The national NATINF table (nature d'infraction), imported by `passerelle import natinf FILE`.
CREATE TABLE natinf (
    code TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    -- search_key(code + label): lower-case, accent-free, for search on both backends.
    search_label TEXT NOT NULL,
    -- crime, délit, contravention de Ne classe.
    nature TEXT,
    -- Thematic family (e.g. « Travail illégal »), for statistics.
    family TEXT,
    definition_refs TEXT,
    penalty_refs TEXT,
    active BIGINT NOT NULL DEFAULT 1,
    imported_at BIGINT NOT NULL
);
CREATE INDEX natinf_search ON natinf(search_label);

-- One row per year: `INSERT … ON CONFLICT DO UPDATE … RETURNING` bumps it inside the submitting transaction, so
-- concurrent submissions are serialised on that row and tracking numbers never repeat nor skip on rollback.
CREATE TABLE referral_counters (
    year BIGINT PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE referrals (
    id TEXT PRIMARY KEY,
    tracking_number TEXT UNIQUE,
    administration_id TEXT NOT NULL REFERENCES organisations(id),
    -- NULL when the author is attached to the administration itself.
    service_id TEXT REFERENCES organisations(id),
    author_user_id TEXT REFERENCES users(id),
    api_token_id TEXT,
    internal_reference TEXT,
    urgent BIGINT NOT NULL DEFAULT 0,
    urgency_reason TEXT,
    facts_description TEXT NOT NULL DEFAULT '',
    facts_start TEXT,
    facts_end TEXT,
    status TEXT NOT NULL,
    -- The parquet whose inbox holds the referral (changes on transfer).
    parquet_id TEXT REFERENCES organisations(id),
    proposed_parquet_id TEXT REFERENCES organisations(id),
    routing_basis TEXT,
    routing_insee TEXT,
    override_reason TEXT,
    parquet_case_number TEXT,
    magistrate_user_id TEXT REFERENCES users(id),
    decision_kind TEXT,
    -- ReferralDecision as JSON (serde of the domain type).
    decision_details TEXT,
    -- Classement reason or alternative code, for statistics.
    decision_reason TEXT,
    decision_text TEXT,
    hearing_date TEXT,
    art40_declaration BIGINT NOT NULL DEFAULT 0,
    search_text TEXT NOT NULL DEFAULT '',
    sent_at BIGINT,
    registered_at BIGINT,
    decided_at BIGINT,
    acknowledged_at BIGINT,
    acknowledged_by TEXT REFERENCES users(id),
    last_status_change_at BIGINT NOT NULL,
    last_reminder_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX referrals_parquet_status ON referrals(parquet_id, status);
CREATE INDEX referrals_administration ON referrals(administration_id);
CREATE INDEX referrals_service ON referrals(service_id);
CREATE INDEX referrals_status_change ON referrals(status, last_status_change_at);
-- NULLs are distinct on both backends: only registered referrals are constrained.
CREATE UNIQUE INDEX referrals_case_number ON referrals(parquet_id, parquet_case_number);

CREATE TABLE referral_places (
    id TEXT PRIMARY KEY,
    referral_id TEXT NOT NULL REFERENCES referrals(id),
    position BIGINT NOT NULL,
    insee TEXT NOT NULL,
    commune_name TEXT NOT NULL,
    address TEXT
);
CREATE INDEX referral_places_referral ON referral_places(referral_id);
CREATE INDEX referral_places_insee ON referral_places(insee);

CREATE TABLE referral_persons (
    id TEXT PRIMARY KEY,
    referral_id TEXT NOT NULL REFERENCES referrals(id),
    position BIGINT NOT NULL,
    -- natural / legal
    kind TEXT NOT NULL,
    -- suspect / victim / witness
    role TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    birth_date TEXT,
    legal_name TEXT,
    siren TEXT,
    residence_insee TEXT
);
CREATE INDEX referral_persons_referral ON referral_persons(referral_id);

CREATE TABLE referral_offences (
    referral_id TEXT NOT NULL REFERENCES referrals(id),
    position BIGINT NOT NULL,
    natinf_code TEXT NOT NULL REFERENCES natinf(code),
    PRIMARY KEY (referral_id, natinf_code)
);

CREATE TABLE referral_messages (
    id TEXT PRIMARY KEY,
    referral_id TEXT NOT NULL REFERENCES referrals(id),
    author_user_id TEXT REFERENCES users(id),
    author_label TEXT NOT NULL,
    -- administration / parquet
    side TEXT NOT NULL,
    body TEXT NOT NULL,
    is_complement_request BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX referral_messages_referral ON referral_messages(referral_id, created_at);

-- Status history. A transfer writes two rows: current → transferred at the old parquet, transferred → sent at the
-- new one (the receiving parquet gets it as a new « sent » referral).
CREATE TABLE referral_events (
    id TEXT PRIMARY KEY,
    referral_id TEXT NOT NULL REFERENCES referrals(id),
    from_status TEXT,
    to_status TEXT NOT NULL,
    parquet_id TEXT REFERENCES organisations(id),
    by_user_id TEXT,
    by_label TEXT NOT NULL,
    at BIGINT NOT NULL,
    comment TEXT
);
CREATE INDEX referral_events_referral ON referral_events(referral_id, at);

-- Metadata only: the bytes live in the object store (encrypted), under storage_key.
CREATE TABLE referral_attachments (
    id TEXT PRIMARY KEY,
    referral_id TEXT NOT NULL REFERENCES referrals(id),
    message_id TEXT REFERENCES referral_messages(id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    storage_key TEXT NOT NULL UNIQUE,
    -- pending / clean / infected / error
    scan_status TEXT NOT NULL,
    scanned_at BIGINT,
    uploaded_by TEXT,
    uploaded_by_label TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX referral_attachments_referral ON referral_attachments(referral_id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    -- space-separated: referrals:write referrals:read
    scopes TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_service ON api_tokens(service_id);

CREATE TABLE idempotency_keys (
    token_id TEXT NOT NULL REFERENCES api_tokens(id),
    idem_key TEXT NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals(id),
    request_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (token_id, idem_key)
);
