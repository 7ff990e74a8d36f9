//! Lists (the administration's referrals, the parquet's inbox), the referral page shared by both sides, messages
//! and the parquet's actions (acknowledge, register, assign, investigate, decide, transfer).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::NaiveDate;
use domain::{AlternativeKind, ClassementReason, ReferralDecision, ReferralStatus};
use store::parquet::referrals::{self, ReferralFilter};
use store::parquet::{attachments, messages, routing, Side};
use store::roles::{Role, RoleGroup};

use super::views::*;
use super::wizard::{attachment_views, offence_views, person_views, place_views};
use super::{date_fr, duration_fr, status_badge, user_errors, Errors};
use crate::error::{AppError, AppResult};
use crate::handlers::page;
use crate::session::Auth;
use crate::views::{datetime_fr, Choice, PageCtx};
use crate::AppState;

/// Whether `crate::pdf` (the PDF acknowledgement) is available in this build.
pub const PDF_AVAILABLE: bool = true;

fn side_of(role: Role) -> &'static str {
    match role.group() {
        RoleGroup::Administration => "administration",
        RoleGroup::Parquet => "parquet",
        _ => "national",
    }
}

#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    statut: String,
    #[serde(default)]
    urgent: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    ok: String,
}

fn truncate(s: &str, n: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>().trim_end())
    }
}

async fn list_page(
    st: &AppState,
    auth: &Auth,
    q: ListQuery,
    side: &'static str,
) -> AppResult<Response> {
    let status = q.statut.parse::<ReferralStatus>().ok();
    let filter = ReferralFilter {
        status,
        urgent: (q.urgent == "oui").then_some(true),
        q: Some(q.q.clone()).filter(|s| !s.trim().is_empty()),
        limit: 200,
        offset: 0,
    };
    let list = referrals::list(&st.db, auth.scope(), &filter).await?;
    // The list shows facts that name people: one audit row per page view, naming the query.
    store::audit::record(
        st.db.pool(),
        &auth.scope().actor,
        "referral.list",
        "referral",
        None,
        Some(serde_json::json!({
            "side": side, "status": q.statut, "urgent": q.urgent == "oui", "q": q.q, "shown": list.len(),
        })),
    )
    .await?;
    let awaiting = list.iter().filter(|r| r.awaits_acknowledgement()).count();
    let rows = list
        .iter()
        .map(|r| ReferralRow {
            href: if r.status == ReferralStatus::Draft {
                format!("/info-parquet/signalements/{}/etapes/faits", r.id)
            } else {
                format!("/info-parquet/signalements/{}", r.id)
            },
            tracking: r
                .tracking_number
                .clone()
                .unwrap_or_else(|| "Brouillon".into()),
            reference: r.internal_reference.clone().unwrap_or_default(),
            facts: if r.facts_description.trim().is_empty() {
                "(faits non encore décrits)".into()
            } else {
                truncate(&r.facts_description, 90)
            },
            status: r.status.label(),
            badge: status_badge(r.status),
            urgent: r.urgent,
            awaiting_ack: r.awaits_acknowledgement(),
            sent_at: r.sent_at.map(datetime_fr).unwrap_or_else(|| "—".into()),
            updated_at: datetime_fr(r.updated_at),
            administration: match &r.service_name {
                Some(s) => format!("{} — {s}", r.administration_name),
                None => r.administration_name.clone(),
            },
            parquet: r.parquet_name.clone().unwrap_or_else(|| "—".into()),
        })
        .collect();
    let statuses = ReferralStatus::ALL
        .iter()
        .filter(|s| side != "parquet" || **s != ReferralStatus::Draft)
        .map(|s| Choice {
            value: s.as_str().into(),
            label: s.label().into(),
            selected: Some(*s) == status,
        })
        .collect();
    let title = if side == "parquet" {
        "Signalements reçus"
    } else {
        "Signalements"
    };
    let mut ctx = PageCtx::new(&auth.1, title);
    if q.ok == "transmis" {
        ctx = ctx.with_notice(
            "success",
            "Le signalement a été transmis à l'autre parquet ; l'administration en est informée.",
        );
    }
    page(ListPage {
        ctx,
        side,
        action: if side == "parquet" {
            "/info-parquet/parquet"
        } else {
            "/info-parquet/signalements"
        },
        rows,
        statuses,
        urgent_only: q.urgent == "oui",
        q: q.q,
        can_create: matches!(auth.user().role, Role::AdminAgent | Role::AdminManager),
        awaiting,
    })
}

/// The administration's referrals (its service's, or the whole administration's for a manager).
pub async fn list(
    auth: Auth,
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let role = auth.user().role;
    if role.group() == RoleGroup::Parquet {
        return Ok(Redirect::to("/info-parquet/parquet").into_response());
    }
    auth.require(role.group() == RoleGroup::Administration || role.is_national_admin())?;
    let side = side_of(role);
    list_page(&st, &auth, q, side).await
}

/// The parquet's inbox: urgent referrals awaiting acknowledgement first.
pub async fn inbox(
    auth: Auth,
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    auth.require(auth.user().role.group() == RoleGroup::Parquet)?;
    list_page(&st, &auth, q, "parquet").await
}

fn notice_for(code: &str) -> Option<&'static str> {
    Some(match code {
        "accuse" => "Réception du signalement urgent confirmée.",
        "enregistre" => "Signalement enregistré ; l'administration en est informée.",
        "attribue" => "Signalement attribué au magistrat.",
        "enquete" => "Enquête ouverte ; l'administration en est informée.",
        "decide" => "Décision enregistrée ; l'administration en est informée (article 40-2).",
        "message" => "Message envoyé.",
        "complement" => "Demande de complément envoyée à l'administration.",
        _ => return None,
    })
}

async fn build(
    st: &AppState,
    auth: &Auth,
    id: &str,
    errors: Errors,
    ok: Option<&str>,
) -> AppResult<Result<ReferralPage, Response>> {
    let scope = auth.scope();
    let role = auth.user().role;
    let side = side_of(role);
    let d = referrals::get_detail(&st.db, scope, id).await?;
    let r = &d.referral;
    if r.status == ReferralStatus::Draft {
        if side == "administration" {
            return Ok(Err(Redirect::to(&format!(
                "/info-parquet/signalements/{id}/etapes/faits"
            ))
            .into_response()));
        }
        if side != "national" {
            return Err(AppError::NotFound);
        }
    }
    let tracking = r
        .tracking_number
        .clone()
        .unwrap_or_else(|| "Brouillon".into());
    let mut ctx = PageCtx::new(&auth.1, &format!("Signalement {tracking}"));
    if let Some(n) = ok.and_then(notice_for) {
        ctx = ctx.with_notice("success", n);
    }
    let msgs = messages::list(&st.db, scope, id).await?;
    let atts = attachments::list(&st.db, scope, id).await?;
    let magistrate = match (&r.magistrate_user_id, side) {
        (Some(m), "parquet") => store::users::get(&st.db, scope, m)
            .await
            .map(|u| u.display_name())
            .unwrap_or_default(),
        (Some(_), _) => "Un magistrat du parquet".into(),
        _ => String::new(),
    };
    let decision = r.decision.as_ref().map(|dec| {
        let (detail, category) = match dec {
            ReferralDecision::Poursuites { .. } => (String::new(), String::new()),
            ReferralDecision::AlternativeAuxPoursuites { alternative } => {
                (alternative.label().to_string(), String::new())
            }
            ReferralDecision::ClassementSansSuite { reason } => (
                reason.label().to_string(),
                match reason.category() {
                    domain::referral::ClassementCategory::Juridique => {
                        "motif juridique : les poursuites ne sont pas possibles".into()
                    }
                    domain::referral::ClassementCategory::Opportunite => {
                        "motif d'opportunité : le procureur a choisi de ne pas poursuivre".into()
                    }
                },
            ),
        };
        DecisionView {
            kind: dec.kind().label(),
            detail,
            reason_category: category,
            hearing: r.hearing_date.map(date_fr).unwrap_or_default(),
            text: r.decision_text.clone().unwrap_or_default(),
            appeal: dec.appeal_notice(),
            at: r.decided_at.map(datetime_fr).unwrap_or_default(),
        }
    });
    let is_parquet = side == "parquet";
    let open = matches!(
        r.status,
        ReferralStatus::Registered | ReferralStatus::Assigned | ReferralStatus::UnderInvestigation
    );
    let mut p = ReferralPage {
        ctx,
        id: id.to_string(),
        side,
        back_href: if is_parquet {
            "/info-parquet/parquet"
        } else {
            "/info-parquet/signalements"
        },
        back_label: if is_parquet {
            "Signalements reçus"
        } else {
            "Signalements"
        },
        tracking,
        status: r.status.label(),
        badge: status_badge(r.status),
        urgent: r.urgent,
        urgency_reason: r.urgency_reason.clone().unwrap_or_default(),
        awaiting_ack: r.awaits_acknowledgement(),
        ack: match (r.acknowledged_at, r.acknowledgement_delay_secs()) {
            (Some(at), Some(delay)) => format!(
                "Réception confirmée par le parquet le {} ({} après l'envoi).",
                datetime_fr(at),
                duration_fr(delay)
            ),
            _ => String::new(),
        },
        administration: match &r.service_name {
            Some(s) => format!("{} — {s}", r.administration_name),
            None => r.administration_name.clone(),
        },
        reference: r.internal_reference.clone().unwrap_or_default(),
        parquet: r.parquet_name.clone().unwrap_or_default(),
        case_number: r.parquet_case_number.clone().unwrap_or_default(),
        magistrate,
        routing: match (&r.override_reason, &r.proposed_parquet_id, &r.parquet_id) {
            (Some(reason), Some(p), Some(c)) if p != c => {
                format!("Parquet choisi par l'administration à la place du parquet proposé. Motif : {reason}")
            }
            (Some(reason), None, _) => {
                format!("Aucun parquet n'était connu pour la commune des faits : choisi par l'administration. Motif : {reason}")
            }
            (_, Some(_), _) => "Parquet proposé d'après la commune des faits (article 43 du code de procédure pénale).".into(),
            _ => String::new(),
        },
        sent_at: r.sent_at.map(datetime_fr).unwrap_or_default(),
        facts: r.facts_description.clone(),
        period: match (r.facts_start, r.facts_end) {
            (Some(s), Some(e)) => format!("du {} au {}", date_fr(s), date_fr(e)),
            (Some(s), None) => format!("le {}", date_fr(s)),
            _ => String::new(),
        },
        places: place_views(&d),
        persons: person_views(&d),
        offences: offence_views(&d),
        events: d
            .events
            .iter()
            .map(|e| EventView {
                at: datetime_fr(e.at),
                status: e.to.label(),
                badge: status_badge(e.to),
                by: e.by_label.clone(),
                comment: e.comment.clone().unwrap_or_default(),
            })
            .collect(),
        decision,
        attachments: attachment_views(&atts),
        messages: msgs
            .iter()
            .map(|m| MessageView {
                at: datetime_fr(m.created_at),
                author: m.author_label.clone(),
                side: match m.side {
                    Side::Parquet => "Parquet",
                    Side::Administration => "Administration",
                },
                body: m.body.clone(),
                complement: m.is_complement_request,
                mine: m.side.as_str() == side,
            })
            .collect(),
        pdf: PDF_AVAILABLE && side == "administration",
        errors,
        message_body: String::new(),
        can_ack: is_parquet && r.awaits_acknowledgement(),
        can_register: is_parquet && r.status == ReferralStatus::Sent,
        can_assign: is_parquet && open,
        can_investigate: is_parquet && r.status == ReferralStatus::Assigned,
        can_decide: is_parquet && open && role == Role::ParquetMagistrate,
        can_transfer: is_parquet
            && matches!(
                r.status,
                ReferralStatus::Sent | ReferralStatus::Registered | ReferralStatus::Assigned
            ),
        can_message: side != "national" && r.status != ReferralStatus::Draft,
        can_request: is_parquet,
        case_number_input: String::new(),
        magistrates: vec![],
        parquets: vec![],
        reasons: ClassementReason::ALL
            .iter()
            .map(|c| Choice {
                value: c.as_str().into(),
                label: c.label().into(),
                selected: false,
            })
            .collect(),
        alternatives: AlternativeKind::ALL
            .iter()
            .map(|c| Choice {
                value: c.as_str().into(),
                label: c.label().into(),
                selected: false,
            })
            .collect(),
        decision_kind: String::new(),
        hearing_input: String::new(),
        decision_text_input: String::new(),
        transfer_reason: String::new(),
    };
    if is_parquet {
        if let Some(parquet_id) = r.parquet_id.as_deref() {
            p.magistrates = store::users::list_in_org_with_roles(
                &st.db,
                scope,
                parquet_id,
                &[Role::ParquetMagistrate],
            )
            .await?
            .into_iter()
            .map(|u| Choice {
                selected: Some(&u.id) == r.magistrate_user_id.as_ref(),
                label: u.display_name(),
                value: u.id,
            })
            .collect();
            p.parquets = routing::list_parquets(&st.db)
                .await?
                .into_iter()
                .filter(|x| x.id != parquet_id)
                .map(|x| Choice {
                    value: x.id,
                    label: x.name,
                    selected: false,
                })
                .collect();
        }
    }
    Ok(Ok(p))
}

#[derive(serde::Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    ok: String,
    /// Outcome of an upload, set by the attachments handler's redirect.
    #[serde(default)]
    piece_jointe: String,
}

pub async fn show(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> AppResult<Response> {
    match build(&st, &auth, &id, Errors::default(), Some(&q.ok)).await? {
        Ok(mut p) => {
            if let Some((kind, text)) = crate::handlers::files::upload_notice(&q.piece_jointe) {
                p.ctx = std::mem::replace(&mut p.ctx, crate::views::PageCtx::bare(""))
                    .with_notice(kind, text);
            }
            page(p)
        }
        Err(redirect) => Ok(redirect),
    }
}

fn field<'a>(f: &'a HashMap<String, String>, name: &str) -> &'a str {
    f.get(name).map(String::as_str).unwrap_or("")
}

fn done(id: &str, code: &str) -> Response {
    Redirect::to(&format!(
        "/info-parquet/signalements/{id}?ok={code}#contenu"
    ))
    .into_response()
}

/// Re-renders the referral page with the user's input and the error messages.
async fn again(
    st: &AppState,
    auth: &Auth,
    id: &str,
    errors: Errors,
    f: &HashMap<String, String>,
) -> AppResult<Response> {
    match build(st, auth, id, errors, None).await? {
        Ok(mut p) => {
            p.message_body = field(f, "body").into();
            p.case_number_input = field(f, "case_number").into();
            p.decision_kind = field(f, "kind").into();
            p.hearing_input = field(f, "hearing_date").into();
            p.decision_text_input = field(f, "decision_text").into();
            p.transfer_reason = field(f, "reason").into();
            for c in &mut p.reasons {
                c.selected = c.value == field(f, "classement_reason");
            }
            for c in &mut p.alternatives {
                c.selected = c.value == field(f, "alternative");
            }
            for c in &mut p.parquets {
                c.selected = c.value == field(f, "target_parquet_id");
            }
            if !field(f, "magistrate_user_id").is_empty() {
                for c in &mut p.magistrates {
                    c.selected = c.value == field(f, "magistrate_user_id");
                }
            }
            let mut resp = page(p)?;
            *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
        Err(redirect) => Ok(redirect),
    }
}

pub async fn post_message(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let complement = field(&f, "complement") == "oui";
    match messages::post(&st.db, auth.scope(), &id, field(&f, "body"), complement).await {
        Ok(_) => Ok(done(&id, if complement { "complement" } else { "message" })),
        Err(e) => {
            let errors = user_errors(e)?;
            again(&st, &auth, &id, errors, &f).await
        }
    }
}

fn parse_decision(f: &HashMap<String, String>) -> Result<ReferralDecision, Errors> {
    let mut errors = Errors::default();
    let d = match field(f, "kind") {
        "poursuites" => {
            let h = field(f, "hearing_date").trim();
            let court_date = if h.is_empty() {
                None
            } else {
                match NaiveDate::parse_from_str(h, "%Y-%m-%d") {
                    Ok(d) => Some(d),
                    Err(_) => {
                        errors.push(
                            "hearing_date",
                            "Date d'audience invalide : le format attendu est AAAA-MM-JJ.",
                        );
                        None
                    }
                }
            };
            Some(ReferralDecision::Poursuites { court_date })
        }
        "alternative_aux_poursuites" => match field(f, "alternative").parse::<AlternativeKind>() {
            Ok(alternative) => Some(ReferralDecision::AlternativeAuxPoursuites { alternative }),
            Err(_) => {
                errors.push(
                    "alternative",
                    "Choisissez l'alternative aux poursuites retenue.",
                );
                None
            }
        },
        "classement_sans_suite" => {
            match field(f, "classement_reason").parse::<ClassementReason>() {
                Ok(reason) => Some(ReferralDecision::ClassementSansSuite { reason }),
                Err(_) => {
                    errors.push(
                        "classement_reason",
                        "Choisissez le motif du classement : il est communiqué à l'administration (article 40-2).",
                    );
                    None
                }
            }
        }
        _ => {
            errors.push("kind", "Choisissez la décision.");
            None
        }
    };
    match d {
        Some(d) if !errors.any() => Ok(d),
        _ => Err(errors),
    }
}

pub async fn parquet_action(
    auth: Auth,
    State(st): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    auth.require(auth.user().role.group() == RoleGroup::Parquet)?;
    let scope = auth.scope();
    let db = &st.db;
    let result = match action.as_str() {
        "accuser-reception" => referrals::acknowledge_urgent(db, scope, &id)
            .await
            .map(|_| "accuse"),
        "enregistrer" => referrals::register(db, scope, &id, field(&f, "case_number"))
            .await
            .map(|_| "enregistre"),
        "attribuer" => referrals::assign(db, scope, &id, field(&f, "magistrate_user_id"))
            .await
            .map(|_| "attribue"),
        "enquete" => referrals::start_investigation(db, scope, &id)
            .await
            .map(|_| "enquete"),
        "decider" => match parse_decision(&f) {
            Ok(dec) => {
                let text = Some(field(&f, "decision_text")).filter(|t| !t.trim().is_empty());
                referrals::decide(db, scope, &id, &dec, text)
                    .await
                    .map(|_| "decide")
            }
            Err(errors) => return again(&st, &auth, &id, errors, &f).await,
        },
        "transmettre" => {
            match referrals::transfer(
                db,
                scope,
                &id,
                field(&f, "target_parquet_id"),
                field(&f, "reason"),
            )
            .await
            {
                Ok(_) => {
                    return Ok(Redirect::to("/info-parquet/parquet?ok=transmis").into_response())
                }
                Err(e) => Err(e),
            }
        }
        _ => return Err(AppError::NotFound),
    };
    match result {
        Ok(code) => Ok(done(&id, code)),
        Err(e) => {
            let errors = user_errors(e)?;
            again(&st, &auth, &id, errors, &f).await
        }
    }
}

/// `GET /info-parquet/signalements/{id}/accuse-reception.pdf` — the acknowledgement of receipt: tracking number,
/// date, TJ and parquet, facts summary, places and offences, attachments with their SHA-256.
pub async fn acknowledgement_pdf(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let scope = auth.scope();
    let d = referrals::get_detail(&st.db, scope, &id).await?;
    let r = &d.referral;
    if r.status == ReferralStatus::Draft {
        return Err(AppError::NotFound);
    }
    let atts = attachments::list(&st.db, scope, &id).await?;
    // The TJ of the parquet the referral was sent to first (the event of sending names it).
    let first_parquet = d
        .events
        .iter()
        .find(|e| e.from == Some(ReferralStatus::Draft))
        .and_then(|e| e.parquet_id.clone())
        .or(r.parquet_id.clone());
    let parquets = routing::list_parquets(&st.db).await?;
    let sent_to = parquets
        .iter()
        .find(|p| Some(&p.id) == first_parquet.as_ref());
    let tracking = r.tracking_number.clone().unwrap_or_default();
    let mut doc = crate::pdf::Document::new(&format!("Accusé de réception {tracking}"));
    doc.marianne_block("Passerelle — Info Parquet");
    doc.title("Accusé de réception de signalement");
    doc.paragraph(
        "Signalement au procureur de la République au titre de l'article 40 du code de procédure pénale.",
    );
    let sent = r.sent_at.map(datetime_fr).unwrap_or_default();
    let administration = match &r.service_name {
        Some(s) => format!("{} — {s}", r.administration_name),
        None => r.administration_name.clone(),
    };
    let (tj, parquet) = match sent_to {
        Some(p) => (p.tj_name.clone(), p.name.clone()),
        None => (String::new(), r.parquet_name.clone().unwrap_or_default()),
    };
    let reference = r.internal_reference.clone().unwrap_or_else(|| "—".into());
    let urgent = if r.urgent {
        format!("Oui — {}", r.urgency_reason.clone().unwrap_or_default())
    } else {
        "Non".into()
    };
    doc.key_values(&[
        ("Numéro de suivi", tracking.as_str()),
        ("Transmis le", sent.as_str()),
        ("Administration", administration.as_str()),
        ("Référence de l'administration", reference.as_str()),
        ("Tribunal judiciaire", tj.as_str()),
        ("Parquet destinataire", parquet.as_str()),
        ("Urgent", urgent.as_str()),
    ]);
    doc.heading("Résumé des faits");
    doc.paragraph(&r.facts_description);
    let period = match (r.facts_start, r.facts_end) {
        (Some(s), Some(e)) => format!("Période : du {} au {}.", date_fr(s), date_fr(e)),
        (Some(s), None) => format!("Date des faits : {}.", date_fr(s)),
        _ => String::new(),
    };
    if !period.is_empty() {
        doc.paragraph(&period);
    }
    let places: Vec<String> = d
        .places
        .iter()
        .map(|p| match &p.address {
            Some(a) => format!("{} ({}), {a}", p.commune_name, p.insee),
            None => format!("{} ({})", p.commune_name, p.insee),
        })
        .collect();
    doc.paragraph(&format!("Lieux : {}.", places.join(" ; ")));
    let offences: Vec<String> = d
        .offences
        .iter()
        .map(|o| format!("NATINF {} — {}", o.code, o.label))
        .collect();
    doc.paragraph(&format!("Infractions : {}.", offences.join(" ; ")));
    doc.heading("Personnes concernées");
    let persons = super::wizard::person_views(&d);
    if persons.is_empty() {
        doc.paragraph("Aucune personne identifiée.");
    } else {
        let rows: Vec<Vec<String>> = persons
            .iter()
            .map(|p| {
                vec![
                    p.name.clone(),
                    p.kind.to_string(),
                    p.role.to_string(),
                    if p.commune.is_empty() {
                        "—".into()
                    } else {
                        p.commune.clone()
                    },
                ]
            })
            .collect();
        doc.table(&["Nom", "Type", "Rôle", "Commune"], &rows);
    }
    doc.heading("Pièces jointes");
    if atts.is_empty() {
        doc.paragraph("Aucune pièce jointe.");
    } else {
        let rows: Vec<Vec<String>> = atts
            .iter()
            .map(|a| {
                vec![
                    a.filename.clone(),
                    super::wizard::size_fr(a.size_bytes),
                    a.sha256.clone(),
                ]
            })
            .collect();
        doc.table(&["Fichier", "Taille", "Empreinte SHA-256"], &rows);
    }
    doc.note(
        "Les suites données par le parquet vous seront notifiées (article 40-2 du code de procédure pénale). \
         Pour compléter ce signalement, utilisez la messagerie du signalement dans Passerelle.",
    );
    let bytes = doc.finish();
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/pdf"),
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!(
        "inline; filename=\"accuse-reception-{tracking}.pdf\""
    )) {
        h.insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
