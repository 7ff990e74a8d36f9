-- Measures followed by a PPSMJ (sursis probatoire, TIG, DDSE…) with their obligations, explained to the person in
-- their space; and the monthly satisfaction question asked to agents and persons.

CREATE TABLE measures (
    id TEXT PRIMARY KEY,
    ppsmj_id TEXT NOT NULL REFERENCES ppsmj(id),
    -- The organisation of the agent who recorded it.
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    -- domain::MeasureKind code.
    kind TEXT NOT NULL,
    -- Dates 'YYYY-MM-DD'.
    decision_date TEXT,
    start_date TEXT NOT NULL,
    end_date TEXT,
    court TEXT,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX measures_ppsmj ON measures(ppsmj_id, start_date);

CREATE TABLE measure_obligations (
    measure_id TEXT NOT NULL REFERENCES measures(id),
    -- domain::ObligationKind code.
    kind TEXT NOT NULL,
    detail TEXT,
    PRIMARY KEY (measure_id, kind)
);

-- One answer per respondent and month. The respondent is kept as a hash of (kind, id) only: enough to ask once a
-- month, not a link from an opinion to a person.
CREATE TABLE satisfaction_answers (
    id TEXT PRIMARY KEY,
    respondent_kind TEXT NOT NULL,
    respondent_hash TEXT NOT NULL,
    -- 'YYYY-MM', Europe/Paris.
    month TEXT NOT NULL,
    score BIGINT NOT NULL,
    comment TEXT,
    organisation_id TEXT REFERENCES organisations(id),
    created_at BIGINT NOT NULL,
    UNIQUE (respondent_hash, month)
);
CREATE INDEX satisfaction_month ON satisfaction_answers(month, respondent_kind);
