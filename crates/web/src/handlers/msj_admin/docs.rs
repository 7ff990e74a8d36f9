//! Printable documents: the convocation letter of an appointment and an agent's agenda of the day.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use store::msj::{agendas, appointments, places, ppsmj};
use store::{audit, users};

use super::{
    is_msj_user, organisation, parse_date, places::display_phone, time_fr, tz_of, when_fr,
};
use crate::error::AppResult;
use crate::pdf::{Document, Font, MUTED_GREY};
use crate::session::Auth;
use crate::AppState;

fn pdf_response(bytes: Vec<u8>, filename: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

fn opt_phone(p: &Option<String>) -> Option<String> {
    p.as_deref().map(display_phone)
}

/// The convocation letter: who, what, when (in the organisation's time zone), where, what to bring, contacts.
pub async fn convocation_pdf(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    auth.require(is_msj_user(auth.user().role))?;
    let scope = auth.scope();
    let appt = appointments::get(&st.db, scope, &id).await?;
    let person = ppsmj::get(&st.db, scope, &appt.ppsmj_id).await?;
    let place = places::get(&st.db, scope, &appt.place_id).await?;
    let org = organisation(&st, &appt.organisation_id).await?;
    let tz = tz_of(&org);
    let type_label = places::appointment_types(&st.db)
        .await?
        .into_iter()
        .find(|t| t.id == appt.appointment_type_id)
        .map(|t| t.label)
        .unwrap_or_default();
    let following = ppsmj::following_organisations(&st.db, scope, &person.id).await?;
    let referent = match &person.referent_user_id {
        Some(uid) => users::get(&st.db, scope, uid).await.ok(),
        None => None,
    };

    let mut d = Document::new(&format!("Convocation — {type_label}"));
    d.footer(&format!(
        "{} — convocation éditée le {}",
        org.name,
        crate::views::datetime_fr(store::now())
    ));
    d.marianne_block(&org.name);
    // Addressee, right column style kept simple: name and address.
    d.strong(&format!(
        "{} {}",
        person.first_name,
        person.last_name.to_uppercase()
    ));
    let mut addr = vec![];
    if let Some(a) = &person.address {
        addr.push(a.clone());
    }
    if let Some(c) = &person.city {
        addr.push(c.clone());
    }
    if !addr.is_empty() {
        d.paragraph(&addr.join("\n"));
    }
    d.space(6.0);
    d.title("Convocation");
    d.text(&type_label, Font::Bold, 12.0, crate::pdf::TEXT_GREY, 0.0);
    d.space(6.0);
    let when = when_fr(appt.starts_at, tz);
    d.paragraph(&format!(
        "Vous êtes convoqué(e) le {when}, à l'adresse ci-dessous. Ce rendez-vous est obligatoire."
    ));
    if appt.state != domain::AppointmentState::Booked {
        d.text(
            &format!(
                "Attention : ce rendez-vous est à l'état « {} ».",
                appt.state.label()
            ),
            Font::Bold,
            10.5,
            crate::pdf::RED_MARIANNE,
            0.0,
        );
        d.space(4.0);
    }

    d.heading("Où et quand");
    let mut kv: Vec<(String, String)> = vec![
        ("Date et heure".into(), when.clone()),
        ("Lieu".into(), place.name.clone()),
        ("Adresse".into(), place.address.clone()),
    ];
    if let Some(p) = opt_phone(&place.phone) {
        kv.push(("Téléphone".into(), p));
    }
    if let Some(e) = &place.email {
        kv.push(("Contact".into(), e.clone()));
    }
    if let Some(a) = &place.accessibility {
        kv.push(("Accessibilité".into(), a.clone()));
    }
    let kv_ref: Vec<(&str, &str)> = kv.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    d.key_values(&kv_ref);

    d.heading("Documents à apporter");
    let mut docs: Vec<String> = vec!["Votre pièce d'identité".into(), "Cette convocation".into()];
    if let Some(list) = &place.documents_to_bring {
        docs.extend(
            list.lines()
                .map(|l| {
                    l.trim()
                        .trim_start_matches(['-', '•', '*'])
                        .trim()
                        .to_string()
                })
                .filter(|l| !l.is_empty()),
        );
    }
    let docs_ref: Vec<&str> = docs.iter().map(String::as_str).collect();
    d.bullets(&docs_ref);

    d.heading("Comment vous préparer");
    d.paragraph("Arrivez 10 minutes en avance. Apportez les justificatifs de votre situation (travail, formation, soins, domicile) et les documents demandés par votre conseiller ou le juge.");
    if let Some(url) = &place.preparation_url {
        d.paragraph(&format!("Pour en savoir plus : {url}"));
    }

    d.heading("Si vous ne pouvez pas venir");
    let contact_phone = opt_phone(&place.phone).or_else(|| opt_phone(&org.phone));
    d.paragraph(&format!(
        "Prévenez-nous le plus tôt possible{}, avant la date du rendez-vous, et gardez un justificatif de votre empêchement (certificat médical, attestation de l'employeur…). Ne pas venir sans raison valable peut entraîner la révocation de votre mesure et une incarcération.",
        contact_phone
            .map(|p| format!(" au {p}"))
            .unwrap_or_default()
    ));

    d.heading("Vos contacts");
    let mut contacts: Vec<(String, String)> = vec![];
    if let Some(r) = &referent {
        contacts.push((
            "Votre conseiller (CPIP)".into(),
            format!("{} {}", r.first_name, r.last_name),
        ));
    }
    for f in &following {
        let o = organisation(&st, &f.organisation_id).await?;
        let label = match f.kind.as_str() {
            "spip" => "SPIP".to_string(),
            "tj" => "Service de l'application des peines (SAP)".to_string(),
            _ => "Service".to_string(),
        };
        let mut lines = vec![o.name.clone()];
        if let Some(a) = &o.address {
            lines.push(a.clone());
        }
        if let Some(p) = opt_phone(&o.phone) {
            lines.push(format!("Tél. {p}"));
        }
        if let Some(e) = &o.email {
            lines.push(e.clone());
        }
        contacts.push((label, lines.join("\n")));
    }
    if contacts.is_empty() {
        contacts.push(("Service".into(), org.name.clone()));
    }
    let c_ref: Vec<(&str, &str)> = contacts
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    d.key_values(&c_ref);
    d.space(6.0);
    d.text(
        &format!("Référence du rendez-vous : {}", appt.id),
        Font::Italic,
        8.5,
        MUTED_GREY,
        0.0,
    );

    audit::record(
        st.db.pool(),
        &scope.actor,
        "appointment.convocation_pdf",
        "appointment",
        Some(&appt.id),
        None,
    )
    .await?;
    Ok(pdf_response(
        d.finish(),
        &format!("convocation-{}.pdf", appt.local_date),
    ))
}

/// The agenda of one day: slots with their occupancy and the appointments, for the agent to print.
pub async fn agenda_day_pdf(
    auth: Auth,
    State(st): State<AppState>,
    Path((id, date)): Path<(String, String)>,
) -> AppResult<Response> {
    auth.require(is_msj_user(auth.user().role))?;
    let scope = auth.scope();
    let date = parse_date(&date)?;
    let agenda = agendas::get(&st.db, scope, &id).await?;
    let place = places::get(&st.db, scope, &agenda.place_id).await?;
    let org = organisation(&st, &agenda.organisation_id).await?;
    let tz = tz_of(&org);
    let types = places::appointment_types(&st.db).await?;
    let label_of = |tid: &str| {
        types
            .iter()
            .find(|t| t.id == tid)
            .map(|t| t.label.clone())
            .unwrap_or_else(|| tid.to_string())
    };
    let list = appointments::list_for_agenda_day(&st.db, scope, &id, date).await?;
    let slots = agendas::list_slots(&st.db, scope, &id, date, date).await?;

    let mut d = Document::new(&format!("Agenda {} — {}", agenda.name, date));
    d.footer(&format!(
        "{} — {} — édité le {}",
        org.name,
        agenda.name,
        crate::views::datetime_fr(store::now())
    ));
    d.marianne_block(&org.name);
    d.title(&format!(
        "Agenda du {}",
        domain::template::french_date(date)
    ));
    d.key_values(&[
        ("Agenda", agenda.name.as_str()),
        ("Lieu", place.name.as_str()),
        ("Adresse", place.address.as_str()),
    ]);
    d.heading("Rendez-vous");
    let mut shown: Vec<String> = vec![];
    if list.is_empty() {
        d.paragraph("Aucun rendez-vous ce jour.");
    } else {
        // Everyone of the day in one query; one audit event for the printout (below) names them.
        let mut ids: Vec<String> = list.iter().map(|a| a.ppsmj_id.clone()).collect();
        ids.sort();
        ids.dedup();
        let people = ppsmj::summaries_by_ids(&st.db, scope, &ids).await?;
        shown = people.iter().map(|p| p.id.clone()).collect();
        let mut rows: Vec<Vec<String>> = vec![];
        for a in &list {
            let (name, appi) = match people.iter().find(|p| p.id == a.ppsmj_id) {
                Some(p) => (
                    format!("{} {}", p.last_name.to_uppercase(), p.first_name),
                    p.appi_number.clone().unwrap_or_default(),
                ),
                None => ("(dossier non accessible)".into(), String::new()),
            };
            rows.push(vec![
                time_fr(a.starts_at, tz),
                name,
                appi,
                label_of(&a.appointment_type_id),
                a.state.label().to_string(),
            ]);
        }
        d.table(&["Heure", "Personne", "N° APPI", "Type", "État"], &rows);
    }
    d.heading("Créneaux");
    if slots.is_empty() {
        d.paragraph("Aucun créneau ce jour.");
    } else {
        let rows: Vec<Vec<String>> = slots
            .iter()
            .map(|s| {
                vec![
                    s.local_start.replace(':', "h"),
                    label_of(&s.appointment_type_id),
                    format!("{} / {}", s.used, s.capacity),
                    if s.closed {
                        "Fermé".to_string()
                    } else if s.is_full() {
                        "Complet".to_string()
                    } else {
                        "Ouvert".to_string()
                    },
                ]
            })
            .collect();
        d.table(&["Heure", "Type", "Occupation", "État"], &rows);
    }
    audit::record(
        st.db.pool(),
        &scope.actor,
        "agenda.day_pdf",
        "agenda",
        Some(&agenda.id),
        Some(serde_json::json!({ "date": date.to_string(), "ppsmj": shown })),
    )
    .await?;
    Ok(pdf_response(d.finish(), &format!("agenda-{date}.pdf")))
}
