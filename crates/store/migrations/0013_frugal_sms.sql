-- National default texts that fit the GSM-7 alphabet and stay short (issue: a summons cost 3-4 SMS): no "ê"
-- (UCS-2 doubles the price of every part), fewer words. Only texts nobody edited since 0003 are replaced; an
-- edited national text keeps its author's words. Renderers also transliterate SMS to GSM-7 at send time
-- (domain::to_gsm7), so organisations' own texts get the same price.
UPDATE message_templates SET
    body = 'Convocation le {rdv.date} à {rdv.heure} : {lieu.nom}, {lieu.adresse}. Venez avec une pièce d''identité. Pour changer : appelez le {lieu.téléphone}.',
    updated_by = 'migration 0013'
WHERE id = 'tpl-national-all-summon-fr' AND updated_by = 'migration 0003';
UPDATE message_templates SET
    body = 'Vous avez manqué votre rendez-vous du {rdv.date} à {rdv.heure} ({lieu.nom}). Appelez vite le {lieu.téléphone} pour le justifier.',
    updated_by = 'migration 0013'
WHERE id = 'tpl-national-all-no_show-fr' AND updated_by = 'migration 0003';
UPDATE message_templates SET
    body = 'Suite à votre jugement, convocation au {lieu.nom} le {rdv.date} à {rdv.heure}, {lieu.adresse}. Présence obligatoire. Infos : {lieu.téléphone}.',
    updated_by = 'migration 0013'
WHERE id = 'tpl-national-sortie_audience_spip-summon-fr' AND updated_by = 'migration 0003';
UPDATE message_templates SET
    body = 'Suite à votre jugement, convocation devant le juge de l''application des peines le {rdv.date} à {rdv.heure}, {lieu.nom}, {lieu.adresse}. Présence obligatoire.',
    updated_by = 'migration 0013'
WHERE id = 'tpl-national-sortie_audience_sap-summon-fr' AND updated_by = 'migration 0003';
