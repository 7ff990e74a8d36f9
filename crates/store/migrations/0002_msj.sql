-- Mon Suivi Justice, agents' side: PPSMJ records, places, agendas, slots, appointments, history, divestments.
-- Same conventions as 0001: TEXT ids, BIGINT unix seconds (UTC), BIGINT 0/1 flags, dates as TEXT 'YYYY-MM-DD'
-- (sorts and compares as text on both backends), integers only as BIGINT (sqlx::Any decodes no INT4).

CREATE TABLE ppsmj (
    id TEXT PRIMARY KEY,
    -- The organisation in charge (owner); it moves with an accepted divestment.
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    -- store::search_key of the names: accent- and case-free prefix search, and duplicate detection.
    first_name_key TEXT NOT NULL,
    last_name_key TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    phone TEXT,
    -- National digits of the phone ("0692123456"), for prefix search as agents type numbers.
    phone_key TEXT,
    phone_mobile BIGINT NOT NULL DEFAULT 0,
    no_phone BIGINT NOT NULL DEFAULT 0,
    refused_phone BIGINT NOT NULL DEFAULT 0,
    phone_shared BIGINT NOT NULL DEFAULT 0,
    sms_opt_out_at BIGINT,
    email TEXT,
    appi_number TEXT,
    address TEXT,
    city TEXT,
    language TEXT NOT NULL DEFAULT 'fr',
    referent_user_id TEXT REFERENCES users(id),
    prosecutor_case_number TEXT,
    source TEXT NOT NULL,
    archived_at BIGINT,
    last_activity_at BIGINT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- NULLs never collide in a UNIQUE index, on either backend: records without APPI number are fine.
CREATE UNIQUE INDEX ppsmj_appi ON ppsmj(appi_number);
CREATE INDEX ppsmj_last_name_key ON ppsmj(last_name_key);
CREATE INDEX ppsmj_first_name_key ON ppsmj(first_name_key);
CREATE INDEX ppsmj_identity ON ppsmj(last_name_key, first_name_key, birth_date);
CREATE INDEX ppsmj_phone ON ppsmj(phone);
CREATE INDEX ppsmj_phone_key ON ppsmj(phone_key);
CREATE INDEX ppsmj_organisation ON ppsmj(organisation_id);
CREATE INDEX ppsmj_retention ON ppsmj(archived_at, last_activity_at);
-- Backstop of the rule checked in code: a phone belongs to one active record unless marked shared.
CREATE UNIQUE INDEX ppsmj_phone_active ON ppsmj(phone)
    WHERE archived_at IS NULL AND phone_shared = 0 AND phone IS NOT NULL;

-- Organisations following a PPSMJ (the owner always among them); drives who sees the record.
CREATE TABLE ppsmj_organisations (
    ppsmj_id TEXT NOT NULL REFERENCES ppsmj(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    since BIGINT NOT NULL,
    PRIMARY KEY (ppsmj_id, organisation_id)
);
CREATE INDEX ppsmj_organisations_org ON ppsmj_organisations(organisation_id, ppsmj_id);

CREATE TABLE places (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    phone TEXT,
    email TEXT,
    accessibility TEXT,
    documents_to_bring TEXT,
    preparation_url TEXT,
    -- Overrides the organisation's département for public holidays (an antenna across a border); usually NULL.
    departement TEXT,
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX places_organisation ON places(organisation_id);

-- National list; the code is the id (stable in URLs, templates and exports).
CREATE TABLE appointment_types (
    id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    -- Role group that books it: 'bex', 'sap' or 'spip'.
    booked_by TEXT NOT NULL,
    -- Kind of organisation whose places host it: 'spip' or 'tj'.
    host_kind TEXT NOT NULL,
    uses_slots BIGINT NOT NULL,
    reminder_days_before BIGINT NOT NULL,
    position BIGINT NOT NULL
);

INSERT INTO appointment_types (id, label, booked_by, host_kind, uses_slots, reminder_days_before, position) VALUES
    ('sortie_audience_spip', 'Sortie d''audience SPIP', 'bex', 'spip', 1, 2, 1),
    ('sortie_audience_sap', 'Sortie d''audience SAP', 'bex', 'tj', 1, 2, 2),
    ('convocation_741_1', 'Convocation 741-1', 'bex', 'spip', 1, 2, 3),
    ('convocation_723_15', 'Convocation 723-15', 'bex', 'tj', 1, 2, 4),
    ('premiere_convocation_spip', '1ère convocation SPIP', 'spip', 'spip', 0, 2, 5),
    ('convocation_suivi_spip', 'Convocation de suivi SPIP', 'spip', 'spip', 0, 1, 6),
    ('convocation_suivi_telephonique', 'Convocation de suivi téléphonique', 'spip', 'spip', 0, 1, 7),
    ('visite_domicile', 'Visite à domicile', 'spip', 'spip', 0, 1, 8),
    ('convocation_ddse', 'Convocation DDSE', 'spip', 'spip', 0, 1, 9),
    ('convocation_stage', 'Convocation stage', 'spip', 'spip', 0, 2, 10),
    ('rdv_suivi_jap', 'RDV de suivi JAP', 'sap', 'tj', 0, 2, 11),
    ('convocation_application_peines', 'Convocation d''application des peines', 'sap', 'tj', 1, 2, 12),
    ('sap_ddse', 'SAP DDSE', 'sap', 'tj', 1, 2, 13),
    ('debat_contradictoire', 'Débat contradictoire', 'sap', 'tj', 0, 2, 14),
    ('rappel_obligations_jap', 'Rappel des obligations (JAP)', 'sap', 'tj', 0, 2, 15),
    ('convocation_greffe_sap', 'Convocation au greffe du SAP', 'sap', 'tj', 0, 1, 16);

CREATE TABLE place_appointment_types (
    place_id TEXT NOT NULL REFERENCES places(id),
    appointment_type_id TEXT NOT NULL REFERENCES appointment_types(id),
    PRIMARY KEY (place_id, appointment_type_id)
);

CREATE TABLE agendas (
    id TEXT PRIMARY KEY,
    place_id TEXT NOT NULL REFERENCES places(id),
    -- Copied from the place, so scoping an agenda (and its slots) needs no join.
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX agendas_place ON agendas(place_id);
CREATE INDEX agendas_organisation ON agendas(organisation_id);

CREATE TABLE slot_types (
    id TEXT PRIMARY KEY,
    agenda_id TEXT NOT NULL REFERENCES agendas(id),
    appointment_type_id TEXT NOT NULL REFERENCES appointment_types(id),
    -- ISO weekday: 1 = Monday … 7 = Sunday.
    weekday BIGINT NOT NULL,
    start_time TEXT NOT NULL,
    duration_minutes BIGINT NOT NULL,
    capacity BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX slot_types_agenda ON slot_types(agenda_id);

CREATE TABLE slots (
    id TEXT PRIMARY KEY,
    agenda_id TEXT NOT NULL REFERENCES agendas(id),
    appointment_type_id TEXT NOT NULL REFERENCES appointment_types(id),
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    -- Wall-clock date and time in the organisation's time zone, as shown to agents.
    local_date TEXT NOT NULL,
    local_start TEXT NOT NULL,
    capacity BIGINT NOT NULL,
    used BIGINT NOT NULL DEFAULT 0,
    closed BIGINT NOT NULL DEFAULT 0,
    -- An agent changed the capacity by hand: the nightly generation leaves it alone.
    capacity_overridden BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (agenda_id, appointment_type_id, starts_at),
    CHECK (used >= 0)
);
CREATE INDEX slots_agenda_date ON slots(agenda_id, local_date);
CREATE INDEX slots_starts_at ON slots(starts_at);

CREATE TABLE appointments (
    id TEXT PRIMARY KEY,
    ppsmj_id TEXT NOT NULL REFERENCES ppsmj(id),
    agenda_id TEXT NOT NULL REFERENCES agendas(id),
    place_id TEXT NOT NULL REFERENCES places(id),
    -- Organisation of the agenda: who sees the appointment.
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    slot_id TEXT REFERENCES slots(id),
    appointment_type_id TEXT NOT NULL REFERENCES appointment_types(id),
    starts_at BIGINT NOT NULL,
    local_date TEXT NOT NULL,
    state TEXT NOT NULL,
    previous_appointment_id TEXT REFERENCES appointments(id),
    created_by TEXT,
    created_by_label TEXT NOT NULL,
    cancel_reason TEXT,
    canceled_at BIGINT,
    outcome_recorded_by TEXT,
    outcome_recorded_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX appointments_ppsmj ON appointments(ppsmj_id, starts_at);
CREATE INDEX appointments_org_state ON appointments(organisation_id, state, starts_at);
CREATE INDEX appointments_agenda ON appointments(agenda_id, starts_at);
CREATE INDEX appointments_slot ON appointments(slot_id);
CREATE INDEX appointments_stats ON appointments(organisation_id, local_date);
CREATE INDEX appointments_previous ON appointments(previous_appointment_id);

-- Everything that happened to a PPSMJ and their appointments, shown on their page (who, when, what).
CREATE TABLE ppsmj_history (
    id TEXT PRIMARY KEY,
    ppsmj_id TEXT NOT NULL REFERENCES ppsmj(id),
    appointment_id TEXT REFERENCES appointments(id),
    at BIGINT NOT NULL,
    actor_user_id TEXT,
    actor_label TEXT NOT NULL,
    action TEXT NOT NULL,
    details TEXT
);
CREATE INDEX ppsmj_history_ppsmj ON ppsmj_history(ppsmj_id, at);
CREATE INDEX ppsmj_history_appointment ON ppsmj_history(appointment_id);

CREATE TABLE divestments (
    id TEXT PRIMARY KEY,
    ppsmj_id TEXT NOT NULL REFERENCES ppsmj(id),
    from_organisation_id TEXT NOT NULL REFERENCES organisations(id),
    to_organisation_id TEXT NOT NULL REFERENCES organisations(id),
    -- pending, accepted, refused, auto_accepted
    state TEXT NOT NULL,
    request_comment TEXT,
    answer_comment TEXT,
    requested_by TEXT,
    requested_by_label TEXT NOT NULL,
    answered_by TEXT,
    answered_by_label TEXT,
    created_at BIGINT NOT NULL,
    answered_at BIGINT
);
CREATE INDEX divestments_ppsmj ON divestments(ppsmj_id, created_at);
CREATE INDEX divestments_to ON divestments(to_organisation_id, state);
CREATE INDEX divestments_from ON divestments(from_organisation_id, state);
CREATE INDEX divestments_pending ON divestments(state, created_at);
-- One open request per PPSMJ at a time.
CREATE UNIQUE INDEX divestments_one_pending ON divestments(ppsmj_id) WHERE state = 'pending';
