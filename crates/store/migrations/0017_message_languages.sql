-- Every message kind in every language of the person's messages (French, easy-read French, English, Arabic): before
-- this step cancellations, reschedules and no-show notices fell back to French for people who read another language.
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-all-cancelation-fr_falc', NULL, '*', 'cancelation', 'fr_falc', 'Rendez-vous annulé',
     'Votre rendez-vous du {rdv.date} à {rdv.heure} est annulé. Vous allez recevoir une autre convocation. Une question ? Appelez le {lieu.téléphone}.',
     'migration 0017', 0, 0)
ON CONFLICT (id) DO NOTHING;
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-all-reschedule-fr_falc', NULL, '*', 'reschedule', 'fr_falc', 'Votre rendez-vous change',
     'Votre rendez-vous change. Nouveau rendez-vous : le {rdv.date} à {rdv.heure}. Lieu : {lieu.nom}, {lieu.adresse}. Un problème ? Appelez le {lieu.téléphone}.',
     'migration 0017', 0, 0)
ON CONFLICT (id) DO NOTHING;
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-all-no_show-fr_falc', NULL, '*', 'no_show', 'fr_falc', 'Vous avez manqué un rendez-vous',
     'Vous avez manqué votre rendez-vous du {rdv.date} à {rdv.heure}. Appelez vite le {lieu.téléphone}. Expliquez pourquoi.',
     'migration 0017', 0, 0)
ON CONFLICT (id) DO NOTHING;
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-all-cancelation-en', NULL, '*', 'cancelation', 'en', 'Appointment cancelled',
     'Your appointment on {rdv.date} at {rdv.heure} ({lieu.nom}) is cancelled. You will receive a new summons. Questions: {lieu.téléphone}.',
     'migration 0017', 0, 0)
ON CONFLICT (id) DO NOTHING;
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-all-reschedule-en', NULL, '*', 'reschedule', 'en', 'Appointment moved',
     'Your appointment is moved to {rdv.date} at {rdv.heure}: {lieu.nom}, {lieu.adresse}. If you cannot come, call {lieu.téléphone}.',
     'migration 0017', 0, 0)
ON CONFLICT (id) DO NOTHING;
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-all-no_show-en', NULL, '*', 'no_show', 'en', 'Missed appointment',
     'You missed your appointment on {rdv.date} at {rdv.heure} ({lieu.nom}). Call {lieu.téléphone} quickly to explain why.',
     'migration 0017', 0, 0)
ON CONFLICT (id) DO NOTHING;
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-all-cancelation-ar', NULL, '*', 'cancelation', 'ar', 'إلغاء موعد',
     'تم إلغاء موعدك يوم {rdv.date} على الساعة {rdv.heure} ({lieu.nom}). ستصلك دعوة جديدة. للاستفسار: {lieu.téléphone}.',
     'migration 0017', 0, 0)
ON CONFLICT (id) DO NOTHING;
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-all-reschedule-ar', NULL, '*', 'reschedule', 'ar', 'تغيير موعد',
     'تم تغيير موعدك إلى يوم {rdv.date} على الساعة {rdv.heure}: {lieu.nom}، {lieu.adresse}. إذا لم تستطع الحضور، اتصل بالرقم {lieu.téléphone}.',
     'migration 0017', 0, 0)
ON CONFLICT (id) DO NOTHING;
INSERT INTO message_templates (id, organisation_id, appointment_type, kind, language, subject, body, updated_by, created_at, updated_at) VALUES
    ('tpl-national-all-no_show-ar', NULL, '*', 'no_show', 'ar', 'غياب عن موعد',
     'لم تحضر موعدك يوم {rdv.date} على الساعة {rdv.heure} ({lieu.nom}). اتصل بسرعة بالرقم {lieu.téléphone} لتبرير غيابك.',
     'migration 0017', 0, 0)
ON CONFLICT (id) DO NOTHING;
