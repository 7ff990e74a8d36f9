//! Plain French for what the code stores as codes: audit actions and their targets, and the details of an event,
//! so that no screen shows `auth.login_password_ok` or raw JSON to an agent.

/// Every audit action the code writes, with its French wording (also the choices of the journal's filter).
pub static AUDIT_ACTIONS: &[(&str, &str)] = &[
    ("auth.login", "Connexion"),
    (
        "auth.login_password_ok",
        "Mot de passe accepté (second facteur attendu)",
    ),
    ("auth.login_failed", "Échec de connexion"),
    (
        "auth.login_refused_locked",
        "Connexion refusée : compte verrouillé",
    ),
    (
        "auth.login_refused_organisation_inactive",
        "Connexion refusée : service ou administration désactivé",
    ),
    (
        "auth.account_locked",
        "Compte verrouillé après trop d'échecs",
    ),
    ("auth.logout", "Déconnexion"),
    (
        "auth.password_reset_requested",
        "Demande de nouveau mot de passe",
    ),
    ("auth.totp_failed", "Code de double authentification refusé"),
    (
        "auth.totp_setup_refused",
        "Activation de la double authentification refusée",
    ),
    ("user.create", "Création d'un compte"),
    ("user.read", "Consultation d'un compte"),
    ("user.update_access", "Modification des droits d'un compte"),
    ("user.password_change", "Changement de mot de passe"),
    (
        "user.totp_enable",
        "Activation de la double authentification",
    ),
    ("organisation.create", "Création d'une organisation"),
    ("organisation.link", "Lien entre deux organisations"),
    ("organisation.update", "Modification d'une organisation"),
    (
        "organisation.deactivate",
        "Désactivation d'une organisation",
    ),
    ("organisation.reactivate", "Réactivation d'une organisation"),
    (
        "organisation.opening_hours",
        "Horaires d'ouverture modifiés",
    ),
    (
        "organisation.reminders_started_on",
        "Date de début des rappels SMS",
    ),
    ("ppsmj.create", "Création d'un dossier de personne suivie"),
    (
        "ppsmj.update",
        "Modification d'un dossier de personne suivie",
    ),
    ("ppsmj.read", "Consultation d'un dossier de personne suivie"),
    (
        "ppsmj.list",
        "Consultation de la liste des personnes suivies",
    ),
    ("ppsmj.search", "Recherche de personnes suivies"),
    ("ppsmj.archive", "Archivage d'un dossier"),
    ("ppsmj.restore", "Restauration d'un dossier"),
    (
        "ppsmj.delete",
        "Suppression d'un dossier (durée de conservation)",
    ),
    ("ppsmj.follow", "Suivi d'un dossier par un service"),
    ("ppsmj.import_appi", "Import APPI"),
    (
        "ppsmj.export",
        "Export des données d'une personne (droit d'accès)",
    ),
    (
        "ppsmj.hidden_conflict",
        "Numéro déjà utilisé hors du périmètre de l'agent",
    ),
    ("appointment.book", "Rendez-vous planifié"),
    ("appointment.cancel", "Rendez-vous annulé"),
    ("appointment.rebook", "Rendez-vous replanifié"),
    ("appointment.outcome", "Résultat d'un rendez-vous"),
    ("appointment.convocation_pdf", "Convocation imprimée"),
    (
        "appointment.person_confirm",
        "La personne confirme sa venue",
    ),
    (
        "appointment.person_change_request",
        "La personne demande un changement",
    ),
    (
        "appointment.change_refused",
        "Demande de changement refusée",
    ),
    (
        "appointment.person_document",
        "Justificatif envoyé par la personne",
    ),
    (
        "appointment.person_document_infected",
        "Justificatif refusé par l'antivirus",
    ),
    ("appointment.document_seen", "Justificatif vu par l'agent"),
    ("agenda.create", "Création d'un agenda"),
    ("agenda.day_pdf", "Agenda du jour imprimé"),
    ("agenda.ics", "Agenda exporté"),
    ("place.create", "Création d'un lieu"),
    ("place.update", "Modification d'un lieu"),
    (
        "place.set_appointment_types",
        "Types de rendez-vous d'un lieu",
    ),
    ("slot.close", "Créneau fermé"),
    ("slot.reopen", "Créneau rouvert"),
    ("slot.capacity", "Capacité d'un créneau modifiée"),
    ("slot_type.create", "Type de créneau ajouté"),
    ("slot_type.delete", "Type de créneau supprimé"),
    ("slots.generate", "Créneaux générés"),
    ("slots.generate_all", "Génération nocturne des créneaux"),
    ("divestment.request", "Demande de dessaisissement"),
    ("divestment.accepted", "Dessaisissement accepté"),
    ("divestment.refused", "Dessaisissement refusé"),
    (
        "divestment.auto_accepted",
        "Dessaisissement accepté automatiquement",
    ),
    (
        "divestment.read",
        "Consultation d'une personne avant de répondre à un dessaisissement",
    ),
    ("measure.create", "Mesure ajoutée"),
    ("measure.update", "Mesure modifiée"),
    ("measure.delete", "Mesure supprimée"),
    (
        "person.code_sent",
        "Code de connexion envoyé à une personne",
    ),
    ("person.signin", "Connexion d'une personne à son espace"),
    ("person.signout", "Déconnexion d'une personne"),
    ("person.read", "Consultation de son espace par la personne"),
    ("template.save", "Modèle de message enregistré"),
    ("template.delete", "Retour au modèle national"),
    ("outbox.retry", "Message relancé"),
    ("retention.run", "Application des durées de conservation"),
    ("stats.export_csv", "Export des statistiques"),
    ("stats.export_impact_csv", "Export de l'effet des rappels"),
    ("refdata.import_communes", "Import des communes"),
    ("refdata.import_juridictions", "Import des juridictions"),
    ("refdata.import_natinf", "Import des NATINF"),
    ("referral.create_draft", "Signalement commencé"),
    ("referral.save_facts", "Signalement : faits"),
    ("referral.save_places", "Signalement : lieux"),
    ("referral.save_persons", "Signalement : personnes"),
    ("referral.save_offences", "Signalement : infractions"),
    ("referral.save_urgency", "Signalement : urgence"),
    ("referral.save_reference", "Signalement : référence interne"),
    ("referral.submit", "Signalement transmis au parquet"),
    ("referral.read", "Consultation d'un signalement"),
    ("referral.list", "Consultation de la liste des signalements"),
    ("referral.api_list", "Liste des signalements par l'API"),
    (
        "referral.acknowledge",
        "Réception d'un signalement urgent confirmée",
    ),
    ("referral.register", "Signalement enregistré"),
    ("referral.assign", "Signalement attribué"),
    ("referral.reassign", "Signalement réattribué"),
    ("referral.start_investigation", "Enquête ouverte"),
    ("referral.decide", "Décision du parquet"),
    (
        "referral.transfer",
        "Signalement transmis à un autre parquet",
    ),
    ("referral.message", "Message sur un signalement"),
    ("referral.request_complement", "Demande de complément"),
    ("referral.reminder", "Relance d'un signalement"),
    ("referral.attachment_add", "Pièce jointe ajoutée"),
    ("referral.attachment_download", "Pièce jointe téléchargée"),
    (
        "referral.attachment_scan",
        "Analyse antivirus d'une pièce jointe",
    ),
    (
        "appointment_document.read",
        "Justificatif consulté par l'agent",
    ),
    ("api_token.create", "Jeton d'API créé"),
    ("api_token.revoke", "Jeton d'API révoqué"),
    (
        "parquet.stats.export_csv",
        "Export des statistiques Info Parquet",
    ),
];

/// The French wording of an audit action; an action missing from the table (written by a newer version) is shown
/// as "Autre action" with its code, never alone.
pub fn audit_action(code: &str) -> String {
    AUDIT_ACTIONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| (*l).to_string())
        .unwrap_or_else(|| format!("Autre action ({code})"))
}

/// What kind of object an event is about.
pub fn audit_target(kind: &str) -> &'static str {
    match kind {
        "user" => "Compte",
        "organisation" => "Organisation",
        "ppsmj" => "Dossier",
        "appointment" => "Rendez-vous",
        "agenda" => "Agenda",
        "place" => "Lieu",
        "slot" => "Créneau",
        "referral" => "Signalement",
        "attachment" => "Pièce jointe",
        "measure" => "Mesure",
        "template" => "Modèle",
        "message" | "outbox" => "Message",
        "divestment" => "Dessaisissement",
        "person" => "Personne suivie",
        "" => "",
        _ => "Autre",
    }
}

/// The details of an event as "clé : valeur" pairs separated by " · " (JSON objects are flattened one level; a
/// value that is itself a list or an object is written compactly).
pub fn audit_details(raw: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(serde_json::Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Bool(true) => "oui".into(),
                    serde_json::Value::Bool(false) => "non".into(),
                    serde_json::Value::Null => "—".into(),
                    other => other.to_string(),
                };
                format!("{} : {value}", k.replace('_', " "))
            })
            .collect::<Vec<_>>()
            .join(" · "),
        _ => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_the_code_writes_reads_as_french() {
        assert_eq!(
            audit_action("auth.login_password_ok"),
            "Mot de passe accepté (second facteur attendu)"
        );
        assert_eq!(
            audit_action("ppsmj.read"),
            "Consultation d'un dossier de personne suivie"
        );
        assert_eq!(
            audit_action("nouvelle.action"),
            "Autre action (nouvelle.action)"
        );
        // Every action code written in the sources is in the table (a new one must get its French words).
        let mut missing = vec![];
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    if p.file_name().is_some_and(|n| n != "tests" && n != "target") {
                        stack.push(p);
                    }
                } else if p.extension().is_some_and(|x| x == "rs")
                    && p.to_string_lossy().contains("/src/")
                {
                    let text = std::fs::read_to_string(&p).unwrap();
                    for (i, _) in text.match_indices("audit::record(") {
                        // the action is the first string literal after the call
                        let rest = &text[i..(i + 400).min(text.len())];
                        if let Some(start) = rest.find('"') {
                            let lit = &rest[start + 1..];
                            let code = &lit[..lit.find('"').unwrap_or(0)];
                            if code.contains('.')
                                && !code.contains('{')
                                && !AUDIT_ACTIONS.iter().any(|(c, _)| *c == code)
                            {
                                missing.push(format!("{code} ({})", p.display()));
                            }
                        }
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "audit actions without French words: {missing:?}"
        );
    }

    #[test]
    fn details_are_key_value_pairs_not_json() {
        assert_eq!(
            audit_details(r#"{"slot_type_id":"x1","capacity":2,"urgent":true}"#),
            "capacity : 2 · slot type id : x1 · urgent : oui"
        );
        assert_eq!(audit_details("texte libre"), "texte libre");
    }
}
