-- The person's own space (Mon Suivi Justice, "Mon espace"): one-time codes, the person's sessions (a principal of
-- its own, never an agent's session), appointment confirmations and change requests, e-mail reminder preference.
-- Same conventions as 0001: TEXT ids, BIGINT unix seconds, BIGINT 0/1 flags.

-- One-time codes. purpose: 'signin' (ppsmj_id NULL when the identifier matched nobody: the row exists anyway so
-- that known and unknown identifiers follow the same path) or 'contact' (new_value = the verified new phone in
-- E.164 or e-mail). The browser keeps a random flow token in a cookie; only its SHA-256 is stored, and the code is
-- stored as SHA-256(flow token ":" code), so the table alone does not let anyone try the 10^6 codes offline.
CREATE TABLE person_codes (
    id TEXT PRIMARY KEY,
    flow_hash TEXT NOT NULL UNIQUE,
    purpose TEXT NOT NULL,
    ppsmj_id TEXT REFERENCES ppsmj(id),
    identifier_hash TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    channel TEXT NOT NULL,
    new_value TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX person_codes_ppsmj ON person_codes(ppsmj_id);

-- Sessions of people followed: separate table, separate cookie. 30 minutes idle, 12 hours at most.
CREATE TABLE person_sessions (
    id_hash TEXT PRIMARY KEY,
    ppsmj_id TEXT NOT NULL REFERENCES ppsmj(id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX person_sessions_ppsmj ON person_sessions(ppsmj_id);

-- What the person said about an appointment: 'confirm' ("Je viendrai") or 'change' (a request with a reason).
-- state: 'open' → 'refused' (answer = the agent's message) or 'done' (the agent rebooked).
CREATE TABLE appointment_requests (
    id TEXT PRIMARY KEY,
    appointment_id TEXT NOT NULL REFERENCES appointments(id),
    ppsmj_id TEXT NOT NULL REFERENCES ppsmj(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    kind TEXT NOT NULL,
    reason TEXT,
    state TEXT NOT NULL,
    answer TEXT,
    answered_by_label TEXT,
    answered_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX appointment_requests_appointment ON appointment_requests(appointment_id);
CREATE INDEX appointment_requests_org_state ON appointment_requests(organisation_id, state);
CREATE INDEX appointment_requests_ppsmj ON appointment_requests(ppsmj_id);

-- The person may turn e-mail reminders off (SMS reminders are the service's core and stay).
ALTER TABLE ppsmj ADD COLUMN email_reminders BIGINT NOT NULL DEFAULT 1;

-- Proofs ("justificatifs") the person sends about an appointment: pay slip, medical certificate… The bytes are in
-- the encrypted object store (crates/files); the agent marks each one "vu".
CREATE TABLE appointment_documents (
    id TEXT PRIMARY KEY,
    appointment_id TEXT NOT NULL REFERENCES appointments(id),
    ppsmj_id TEXT NOT NULL REFERENCES ppsmj(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    scan_status TEXT NOT NULL,
    seen_at BIGINT,
    seen_by_label TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX appointment_documents_appointment ON appointment_documents(appointment_id);

-- Short opaque tokens of the links in summons SMS (`/mon-espace?n=…`): they open the sign-in page with the number
-- prefilled and never sign anyone in. Only the SHA-256 is stored.
CREATE TABLE person_links (
    token_hash TEXT PRIMARY KEY,
    ppsmj_id TEXT NOT NULL REFERENCES ppsmj(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX person_links_ppsmj ON person_links(ppsmj_id);
