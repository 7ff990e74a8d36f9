-- Messaging: templates (national default per appointment type, kind and language, overridable per organisation),
-- delivery receipts, SMS opt-outs, and the outbox columns the dispatcher needs. Same conventions as 0001: TEXT ids,
-- BIGINT unix seconds, BIGINT 0/1 flags.

-- Which provider took the message (brevo, linkmobility, smtp, demo…): a delivery receipt is matched on
-- (provider, provider_message_id), since two providers may hand out the same id.
ALTER TABLE outbox ADD COLUMN provider TEXT;
-- Last raw status reported by the provider (delivered, hard_bounce, 1001…), shown to agents as is.
ALTER TABLE outbox ADD COLUMN provider_status TEXT;
ALTER TABLE outbox ADD COLUMN canceled_at BIGINT;
CREATE INDEX outbox_provider_message ON outbox(provider, provider_message_id);
-- Reclaiming the messages of a dead worker scans 'sending' rows by lease end.
CREATE INDEX outbox_lease ON outbox(state, claimed_until);
CREATE INDEX outbox_recipient ON outbox(recipient);
CREATE INDEX outbox_org_created ON outbox(organisation_id, created_at);

-- organisation_id NULL = the national default. appointment_type '*' = for any type without a text of its own.
-- kind: summon | reminder | cancelation | reschedule | no_show; language: fr | fr_falc | en | ar.
CREATE TABLE message_templates (
    id TEXT PRIMARY KEY,
    organisation_id TEXT REFERENCES organisations(id),
    appointment_type TEXT NOT NULL,
    kind TEXT NOT NULL,
    language TEXT NOT NULL,
    subject TEXT,
    body TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- One text per (organisation or national, type, kind, language). NULL never equals NULL in a unique index, hence
-- the expression.
CREATE UNIQUE INDEX message_templates_key
    ON message_templates(COALESCE(organisation_id, ''), appointment_type, kind, language);

-- Every authenticated delivery receipt, matched or not (an unmatched one is kept for investigation).
CREATE TABLE delivery_receipts (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    provider_message_id TEXT NOT NULL,
    outbox_id TEXT REFERENCES outbox(id),
    status TEXT NOT NULL,
    raw_status TEXT NOT NULL,
    reported_at BIGINT,
    received_at BIGINT NOT NULL
);
CREATE INDEX delivery_receipts_outbox ON delivery_receipts(outbox_id);
CREATE INDEX delivery_receipts_provider ON delivery_receipts(provider, provider_message_id);

-- SMS opt-out ("STOP"), keyed on the E.164 number: the number is what receives the SMS, whoever it belongs to.
CREATE TABLE sms_opt_outs (
    phone TEXT PRIMARY KEY,
    opted_out_at BIGINT NOT NULL,
    source TEXT NOT NULL
);

-- Personal STOP links: only the SHA-256 of the token is stored.
CREATE TABLE sms_opt_out_tokens (
    token_hash TEXT PRIMARY KEY,
    phone TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX sms_opt_out_tokens_phone ON sms_opt_out_tokens(phone);

-- National default texts. GSM-7 friendly wording where possible (no « », no ’, no ê) so that a French SMS stays
-- in 160-character parts; FALC follows the easy-read rules (short sentences, one idea each).
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-all-summon-fr', NULL, '*', 'summon', 'fr', 'Convocation',
     'Vous êtes convoqué(e) le {rdv.date} à {rdv.heure} : {lieu.nom}, {lieu.adresse}. Venez avec une pièce d''identité. Si vous ne pouvez pas venir, appelez le {lieu.téléphone}.',
     'migration 0003', 0, 0);
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-all-reminder-fr', NULL, '*', 'reminder', 'fr', 'Rappel de votre rendez-vous',
     'Rappel : rendez-vous le {rdv.date} à {rdv.heure} : {lieu.nom}, {lieu.adresse}. Si vous ne pouvez pas venir, appelez le {lieu.téléphone}.',
     'migration 0003', 0, 0);
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-all-cancelation-fr', NULL, '*', 'cancelation', 'fr', 'Rendez-vous annulé',
     'Votre rendez-vous du {rdv.date} à {rdv.heure} ({lieu.nom}) est annulé. Vous recevrez une nouvelle convocation. Questions : {lieu.téléphone}.',
     'migration 0003', 0, 0);
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-all-reschedule-fr', NULL, '*', 'reschedule', 'fr', 'Rendez-vous déplacé',
     'Votre rendez-vous est déplacé au {rdv.date} à {rdv.heure} : {lieu.nom}, {lieu.adresse}. Si vous ne pouvez pas venir, appelez le {lieu.téléphone}.',
     'migration 0003', 0, 0);
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-all-no_show-fr', NULL, '*', 'no_show', 'fr', 'Absence à votre rendez-vous',
     'Vous n''êtes pas venu(e) à votre rendez-vous du {rdv.date} à {rdv.heure} ({lieu.nom}). Appelez vite le {lieu.téléphone} pour le justifier.',
     'migration 0003', 0, 0);
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-all-summon-fr_falc', NULL, '*', 'summon', 'fr_falc', 'Vous avez un rendez-vous',
     'Vous avez un rendez-vous. Le {rdv.date} à {rdv.heure}. Lieu : {lieu.nom}, {lieu.adresse}. Ce rendez-vous est obligatoire. Prenez votre carte d''identité. Un problème ? Appelez le {lieu.téléphone}.',
     'migration 0003', 0, 0);
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-all-reminder-fr_falc', NULL, '*', 'reminder', 'fr_falc', 'Votre rendez-vous approche',
     'Rappel. Vous avez un rendez-vous le {rdv.date} à {rdv.heure}. Lieu : {lieu.nom}, {lieu.adresse}. Ce rendez-vous est obligatoire. Un problème ? Appelez le {lieu.téléphone}.',
     'migration 0003', 0, 0);
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-all-summon-en', NULL, '*', 'summon', 'en', 'Appointment notice',
     'You are summoned on {rdv.date} at {rdv.heure}: {lieu.nom}, {lieu.adresse}. Bring an identity document. If you cannot come, call {lieu.téléphone}.',
     'migration 0003', 0, 0);
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-all-reminder-en', NULL, '*', 'reminder', 'en', 'Appointment reminder',
     'Reminder: appointment on {rdv.date} at {rdv.heure}: {lieu.nom}, {lieu.adresse}. If you cannot come, call {lieu.téléphone}.',
     'migration 0003', 0, 0);
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-all-summon-ar', NULL, '*', 'summon', 'ar', 'استدعاء',
     'أنت مستدعى يوم {rdv.date} على الساعة {rdv.heure}: {lieu.nom}، {lieu.adresse}. أحضر وثيقة هوية. إذا لم تستطع الحضور، اتصل بالرقم {lieu.téléphone}.',
     'migration 0003', 0, 0);
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-all-reminder-ar', NULL, '*', 'reminder', 'ar', 'تذكير بموعدك',
     'تذكير: لديك موعد يوم {rdv.date} على الساعة {rdv.heure}: {lieu.nom}، {lieu.adresse}. إذا لم تستطع الحضور، اتصل بالرقم {lieu.téléphone}.',
     'migration 0003', 0, 0);
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-visite_domicile-summon-fr', NULL, 'visite_domicile', 'summon', 'fr', 'Visite à domicile',
     'Un agent du {lieu.nom} viendra à votre domicile le {rdv.date} à {rdv.heure}. Votre présence est obligatoire. Un problème ? Appelez le {lieu.téléphone}.',
     'migration 0003', 0, 0);
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-visite_domicile-reminder-fr', NULL, 'visite_domicile', 'reminder', 'fr', 'Rappel : visite à domicile',
     'Rappel : un agent du {lieu.nom} viendra à votre domicile le {rdv.date} à {rdv.heure}. Votre présence est obligatoire. Un problème ? Appelez le {lieu.téléphone}.',
     'migration 0003', 0, 0);
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-convocation_suivi_telephonique-summon-fr', NULL, 'convocation_suivi_telephonique', 'summon', 'fr', 'Entretien téléphonique',
     'Le {lieu.nom} vous appellera le {rdv.date} à {rdv.heure}. Gardez votre téléphone allumé. Un problème ? Appelez le {lieu.téléphone}.',
     'migration 0003', 0, 0);
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-convocation_suivi_telephonique-reminder-fr', NULL, 'convocation_suivi_telephonique', 'reminder', 'fr', 'Rappel : entretien téléphonique',
     'Rappel : le {lieu.nom} vous appellera le {rdv.date} à {rdv.heure}. Gardez votre téléphone allumé.',
     'migration 0003', 0, 0);
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-sortie_audience_spip-summon-fr', NULL, 'sortie_audience_spip', 'summon', 'fr', 'Convocation au SPIP',
     'Suite à votre jugement, vous êtes convoqué(e) au {lieu.nom} le {rdv.date} à {rdv.heure}, {lieu.adresse}. Présence obligatoire. Infos : {lieu.téléphone}.',
     'migration 0003', 0, 0);
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-sortie_audience_sap-summon-fr', NULL, 'sortie_audience_sap', 'summon', 'fr', 'Convocation devant le juge de l''application des peines',
     'Suite à votre jugement, vous êtes convoqué(e) devant le juge de l''application des peines le {rdv.date} à {rdv.heure}, {lieu.nom}, {lieu.adresse}. Présence obligatoire.',
     'migration 0003', 0, 0);
