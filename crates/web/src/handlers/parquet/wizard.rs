//! The referral wizard: one page per step, the draft saved in the database at every step (nothing is lost when the
//! session expires), resumable from the list, then submission and its confirmation.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use domain::ReferralStatus;
use store::parquet::referrals::{
    self, FactsInput, PersonInput, PersonKind, PlaceInput, ReferralDetail, SubmitInput,
    UrgencyInput,
};
use store::parquet::{attachments, natinf, routing};
use store::roles::Role;

use super::views::*;
use super::{user_errors, Errors};
use crate::error::{AppError, AppResult};
use crate::handlers::page;
use crate::session::Auth;
use crate::views::{datetime_fr, Choice, PageCtx};
use crate::AppState;

pub const STEPS: [(&str, &str); 7] = [
    ("faits", "Les faits"),
    ("lieux", "Lieux des faits"),
    ("personnes", "Personnes concernées"),
    ("infractions", "Infractions"),
    ("urgence", "Urgence et référence"),
    ("pieces-jointes", "Pièces jointes"),
    ("envoi", "Parquet compétent et envoi"),
];

fn step_index(slug: &str) -> Option<usize> {
    STEPS.iter().position(|(s, _)| *s == slug)
}

fn step_href(id: &str, i: usize) -> String {
    format!("/info-parquet/signalements/{id}/etapes/{}", STEPS[i].0)
}

fn is_author(role: Role) -> bool {
    matches!(role, Role::AdminAgent | Role::AdminManager)
}

/// Starts a new draft and opens its first step.
pub async fn create(auth: Auth, State(st): State<AppState>) -> AppResult<Response> {
    auth.require(is_author(auth.user().role))?;
    let r = referrals::create_draft(&st.db, auth.scope())
        .await
        .map_err(|e| match user_errors(e) {
            Ok(_) => AppError::Forbidden,
            Err(e) => e,
        })?;
    Ok(Redirect::to(&step_href(&r.id, 0)).into_response())
}

pub fn place_views(d: &ReferralDetail) -> Vec<PlaceView> {
    d.places
        .iter()
        .map(|p| PlaceView {
            name: p.commune_name.clone(),
            insee: p.insee.clone(),
            address: p.address.clone().unwrap_or_default(),
        })
        .collect()
}

pub fn person_views(d: &ReferralDetail) -> Vec<PersonView> {
    d.persons
        .iter()
        .map(|p| {
            let natural = p.kind == PersonKind::Natural;
            let name = if natural {
                format!(
                    "{} {}",
                    p.first_name.clone().unwrap_or_default(),
                    p.last_name.clone().unwrap_or_default()
                )
                .trim()
                .to_string()
            } else {
                p.legal_name.clone().unwrap_or_default()
            };
            let mut details = vec![];
            if let Some(b) = p.birth_date {
                details.push(format!("né(e) le {}", b.format("%d/%m/%Y")));
            }
            if let Some(s) = &p.siren {
                details.push(format!("SIREN {s}"));
            }
            let commune = match (&p.residence_name, &p.residence_insee) {
                (Some(n), Some(c)) => format!("{n} ({c})"),
                (None, Some(c)) => c.clone(),
                _ => String::new(),
            };
            let address = [p.address.clone().unwrap_or_default(), commune.clone()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", ");
            if !address.is_empty() {
                details.push(format!("adresse : {address}"));
            }
            PersonView {
                name,
                kind: if natural {
                    "Personne physique"
                } else {
                    "Personne morale"
                },
                role: p.role.label(),
                commune,
                details: details.join(", "),
            }
        })
        .collect()
}

pub fn offence_views(d: &ReferralDetail) -> Vec<OffenceView> {
    d.offences
        .iter()
        .map(|o| OffenceView {
            code: o.code.clone(),
            label: o.label.clone(),
            nature: o.family.clone().unwrap_or_default(),
        })
        .collect()
}

pub fn size_fr(bytes: i64) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} Go", b / (1024.0 * 1024.0 * 1024.0)).replace('.', ",")
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.1} Mo", b / (1024.0 * 1024.0)).replace('.', ",")
    } else if b >= 1024.0 {
        format!("{:.0} ko", b / 1024.0)
    } else {
        format!("{bytes} octets")
    }
}

pub fn attachment_views(list: &[attachments::Attachment]) -> Vec<AttachmentView> {
    use attachments::ScanStatus as S;
    list.iter()
        .map(|a| {
            let (kind, scan) = crate::handlers::files::scan_label(a.scan_status);
            let scan_badge = match kind {
                "success" => "fr-badge--success",
                "warning" => "fr-badge--warning",
                "info" => "fr-badge--info",
                _ => "fr-badge--error",
            };
            let downloadable = matches!(a.scan_status, S::Clean | S::NotScanned);
            AttachmentView {
                id: a.id.clone(),
                filename: a.filename.clone(),
                size: size_fr(a.size_bytes),
                sha256: a.sha256.clone(),
                scan,
                scan_badge,
                downloadable,
                at: datetime_fr(a.created_at),
                by: a.uploaded_by_label.clone(),
            }
        })
        .collect()
}

fn person_input(p: &referrals::Person) -> PersonInput {
    PersonInput {
        kind: p.kind.as_str().into(),
        role: p.role.as_str().into(),
        first_name: p.first_name.clone().unwrap_or_default(),
        last_name: p.last_name.clone().unwrap_or_default(),
        birth_date: p.birth_date.map(|d| d.to_string()).unwrap_or_default(),
        legal_name: p.legal_name.clone().unwrap_or_default(),
        siren: p.siren.clone().unwrap_or_default(),
        residence_insee: p.residence_insee.clone().unwrap_or_default(),
        address: p.address.clone().unwrap_or_default(),
    }
}

fn place_inputs(d: &ReferralDetail) -> Vec<PlaceInput> {
    d.places
        .iter()
        .map(|p| PlaceInput {
            insee: p.insee.clone(),
            address: p.address.clone().unwrap_or_default(),
        })
        .collect()
}

/// The draft, for its author's side only: anyone else gets a 404 (parquets never see drafts anyway), a sent
/// referral goes to its page.
async fn load_draft(
    st: &AppState,
    auth: &Auth,
    id: &str,
) -> AppResult<Result<ReferralDetail, Response>> {
    let d = referrals::get_detail(&st.db, auth.scope(), id).await?;
    if d.referral.status != ReferralStatus::Draft {
        return Ok(Err(Redirect::to(&format!(
            "/info-parquet/signalements/{id}"
        ))
        .into_response()));
    }
    if !is_author(auth.user().role) {
        return Err(AppError::NotFound);
    }
    Ok(Ok(d))
}

async fn base_page(
    st: &AppState,
    auth: &Auth,
    d: &ReferralDetail,
    i: usize,
    errors: Errors,
) -> AppResult<WizardPage> {
    let r = &d.referral;
    let id = r.id.clone();
    let title = format!("Signalement (brouillon) — {}", STEPS[i].1);
    let mut w = WizardPage {
        ctx: PageCtx::new(&auth.1, &title),
        id: id.clone(),
        step: STEPS[i].0,
        step_no: i + 1,
        step_count: STEPS.len(),
        step_title: STEPS[i].1,
        next_title: STEPS.get(i + 1).map(|s| s.1),
        steps: STEPS
            .iter()
            .enumerate()
            .map(|(k, (slug, t))| StepLink {
                slug,
                title: t,
                number: k + 1,
                current: k == i,
            })
            .collect(),
        prev_href: (i > 0).then(|| step_href(&id, i - 1)),
        errors,
        facts: FactsInput {
            description: r.facts_description.clone(),
            start_date: r.facts_start.map(|d| d.to_string()).unwrap_or_default(),
            end_date: r.facts_end.map(|d| d.to_string()).unwrap_or_default(),
        },
        places: place_views(d),
        place_q: String::new(),
        place_address: String::new(),
        candidates: vec![],
        persons: person_views(d),
        person: PersonInput {
            kind: "natural".into(),
            role: "suspect".into(),
            ..Default::default()
        },
        person_commune: String::new(),
        offences: offence_views(d),
        natinf_q: String::new(),
        natinf_results: vec![],
        searched: false,
        urgent: r.urgent,
        urgency_reason: r.urgency_reason.clone().unwrap_or_default(),
        reference: r.internal_reference.clone().unwrap_or_default(),
        attachments: vec![],
        proposal: None,
        parquets: vec![],
        override_reason: r.override_reason.clone().unwrap_or_default(),
        art40: false,
        summary: vec![],
        incomplete: vec![],
    };
    if w.step == "pieces-jointes" || w.step == "envoi" {
        w.attachments = attachment_views(&attachments::list(&st.db, auth.scope(), &id).await?);
    }
    if w.step == "envoi" {
        let proposal = routing::propose_parquet(&st.db, auth.scope(), &id)
            .await
            .map_err(|e| match user_errors(e) {
                Ok(_) => AppError::NotFound,
                Err(e) => e,
            })?;
        let proposed_id = proposal.as_ref().map(|p| p.parquet.id.clone());
        w.proposal = proposal.as_ref().map(|p| {
            let basis = match p.basis {
                routing::RoutingBasis::Place => "lieu des faits",
                routing::RoutingBasis::SuspectResidence => "résidence d'un mis en cause",
            };
            format!(
                "{} ({}), d'après la commune {} ({basis}).",
                p.parquet.name, p.tj_name, p.insee
            )
        });
        let chosen = r.parquet_id.clone().or(proposed_id.clone());
        w.parquets = routing::list_parquets(&st.db)
            .await?
            .into_iter()
            .map(|p| Choice {
                selected: chosen.as_deref() == Some(p.id.as_str()),
                label: if Some(&p.id) == proposed_id.as_ref() {
                    format!("{} — proposé", p.name)
                } else {
                    p.name
                },
                value: p.id,
            })
            .collect();
        let period = match (r.facts_start, r.facts_end) {
            (Some(s), Some(e)) => format!("du {} au {}", super::date_fr(s), super::date_fr(e)),
            (Some(s), None) => format!("le {}", super::date_fr(s)),
            _ => "—".into(),
        };
        w.summary = vec![
            ("Faits", r.facts_description.clone()),
            ("Date ou période", period),
            (
                "Lieux",
                w.places
                    .iter()
                    .map(|p| format!("{} ({})", p.name, p.insee))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            (
                "Personnes",
                if w.persons.is_empty() {
                    "Aucune".into()
                } else {
                    w.persons
                        .iter()
                        .map(|p| p.summary())
                        .collect::<Vec<_>>()
                        .join(" ; ")
                },
            ),
            (
                "Infractions",
                w.offences
                    .iter()
                    .map(|o| format!("{} — {}", o.code, o.label))
                    .collect::<Vec<_>>()
                    .join(" ; "),
            ),
            (
                "Urgence",
                if r.urgent {
                    format!("Urgent : {}", r.urgency_reason.clone().unwrap_or_default())
                } else {
                    "Non urgent".into()
                },
            ),
            (
                "Votre référence",
                r.internal_reference.clone().unwrap_or_else(|| "—".into()),
            ),
            ("Pièces jointes", w.attachments.len().to_string()),
        ];
        let mut incomplete = vec![];
        if r.facts_description.trim().is_empty() || r.facts_start.is_none() {
            incomplete.push((step_href(&id, 0), STEPS[0].1));
        }
        if d.places.is_empty() {
            incomplete.push((step_href(&id, 1), STEPS[1].1));
        }
        if d.offences.is_empty() {
            incomplete.push((step_href(&id, 3), STEPS[3].1));
        }
        w.incomplete = incomplete;
    }
    Ok(w)
}

#[derive(serde::Deserialize, Default)]
pub struct StepQuery {
    #[serde(default)]
    q: Option<String>,
    /// Outcome of an upload, set by the attachments handler's redirect.
    #[serde(default)]
    piece_jointe: Option<String>,
}

pub async fn step_form(
    auth: Auth,
    State(st): State<AppState>,
    Path((id, step)): Path<(String, String)>,
    Query(query): Query<StepQuery>,
) -> AppResult<Response> {
    let i = step_index(&step).ok_or(AppError::NotFound)?;
    let d = match load_draft(&st, &auth, &id).await? {
        Ok(d) => d,
        Err(redirect) => return Ok(redirect),
    };
    let mut w = base_page(&st, &auth, &d, i, Errors::default()).await?;
    if let Some((kind, text)) = query
        .piece_jointe
        .as_deref()
        .and_then(crate::handlers::files::upload_notice)
    {
        w.ctx =
            std::mem::replace(&mut w.ctx, crate::views::PageCtx::bare("")).with_notice(kind, text);
    }
    if w.step == "infractions" {
        if let Some(q) = query.q.filter(|q| !q.trim().is_empty()) {
            w.natinf_results = natinf_results(&st, &q).await?;
            w.searched = true;
            w.natinf_q = q;
        }
    }
    page(w)
}

async fn natinf_results(st: &AppState, q: &str) -> AppResult<Vec<OffenceView>> {
    Ok(natinf::search(&st.db, q, 20)
        .await?
        .into_iter()
        .map(|e| OffenceView {
            code: e.code,
            label: e.label,
            nature: e.nature.unwrap_or_default(),
        })
        .collect())
}

/// What a commune search gives: one commune, several to choose from, or none (with the French message).
enum CommunePick {
    One(String),
    Several(Vec<Choice>),
    None(String),
}

/// The commune picker of the wizard (places of the facts and persons' addresses): the typed name, postcode or
/// INSEE code is searched in the communes list; an exact name or code wins, else the only match, else a choice.
async fn pick_commune(st: &AppState, q: &str) -> AppResult<CommunePick> {
    let found = store::refdata::search_communes(&st.db, q, 20).await?;
    let key = store::search_key(q);
    let exact: Vec<_> = found
        .iter()
        .filter(|c| store::search_key(&c.name) == key || c.insee == q)
        .collect();
    Ok(if exact.len() == 1 {
        CommunePick::One(exact[0].insee.clone())
    } else if found.len() == 1 {
        CommunePick::One(found[0].insee.clone())
    } else if found.is_empty() {
        CommunePick::None(format!(
            "Aucune commune ne correspond à « {q} » : vérifiez l'orthographe, ou saisissez le code postal."
        ))
    } else {
        CommunePick::Several(
            found
                .into_iter()
                .map(|c| Choice {
                    label: format!(
                        "{} ({}{})",
                        c.name,
                        c.departement,
                        c.postcodes
                            .first()
                            .map(|p| format!(", {p}"))
                            .unwrap_or_default()
                    ),
                    value: c.insee,
                    selected: false,
                })
                .collect(),
        )
    })
}

fn field<'a>(f: &'a HashMap<String, String>, name: &str) -> &'a str {
    f.get(name).map(String::as_str).unwrap_or("")
}

fn checked(f: &HashMap<String, String>, name: &str) -> bool {
    matches!(field(f, name), "on" | "oui" | "true" | "1")
}

pub async fn step_submit(
    auth: Auth,
    State(st): State<AppState>,
    Path((id, step)): Path<(String, String)>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let i = step_index(&step).ok_or(AppError::NotFound)?;
    let d = match load_draft(&st, &auth, &id).await? {
        Ok(d) => d,
        Err(redirect) => return Ok(redirect),
    };
    let scope = auth.scope();
    let action = field(&f, "action");
    let stay = Redirect::to(&step_href(&id, i)).into_response();
    let next = Redirect::to(&if i + 1 < STEPS.len() {
        step_href(&id, i + 1)
    } else {
        format!("/info-parquet/signalements/{id}/confirmation")
    })
    .into_response();
    match STEPS[i].0 {
        "faits" => {
            let input = FactsInput {
                description: field(&f, "description").into(),
                start_date: field(&f, "start_date").into(),
                end_date: field(&f, "end_date").into(),
            };
            match referrals::save_facts(&st.db, scope, &id, &input).await {
                Ok(()) => Ok(next),
                Err(e) => {
                    let mut w = base_page(&st, &auth, &d, i, user_errors(e)?).await?;
                    w.facts = input;
                    page(w)
                }
            }
        }
        "lieux" => {
            let mut list = place_inputs(&d);
            match action {
                "retirer" => {
                    let k: usize = field(&f, "index").parse().unwrap_or(usize::MAX);
                    if k < list.len() {
                        list.remove(k);
                        referrals::save_places(&st.db, scope, &id, &list)
                            .await
                            .map_err(|e| user_errors(e).err().unwrap_or(AppError::NotFound))?;
                    }
                    Ok(stay)
                }
                "ajouter" => {
                    let q = field(&f, "commune").trim().to_string();
                    let address = field(&f, "address").trim().to_string();
                    let mut insee = field(&f, "insee").trim().to_string();
                    let mut errors = Errors::default();
                    let mut candidates = vec![];
                    if insee.is_empty() {
                        if q.is_empty() {
                            errors.push(
                                "commune",
                                "Saisissez le nom, le code postal ou le code INSEE de la commune.",
                            );
                        } else {
                            match pick_commune(&st, &q).await? {
                                CommunePick::One(code) => insee = code,
                                CommunePick::Several(c) => candidates = c,
                                CommunePick::None(m) => errors.push("commune", m),
                            }
                        }
                    }
                    if !insee.is_empty() {
                        list.push(PlaceInput {
                            insee: insee.clone(),
                            address: address.clone(),
                        });
                        let n = list.len() - 1;
                        match referrals::save_places(&st.db, scope, &id, &list).await {
                            Ok(()) => return Ok(stay),
                            Err(e) => {
                                let all = user_errors(e)?;
                                let mine = all.strip(&format!("places[{n}]."));
                                if let Some(m) = mine.get("insee") {
                                    errors.push("commune", m);
                                }
                                if let Some(m) = mine.get("address") {
                                    errors.push("address", m);
                                }
                                if !errors.any() {
                                    errors.extend(all);
                                }
                            }
                        }
                    }
                    let mut w = base_page(&st, &auth, &d, i, errors).await?;
                    w.place_q = q;
                    w.place_address = address;
                    w.candidates = candidates;
                    page(w)
                }
                _ => Ok(next),
            }
        }
        "personnes" => {
            let mut list: Vec<PersonInput> = d.persons.iter().map(person_input).collect();
            match action {
                "retirer" => {
                    let k: usize = field(&f, "index").parse().unwrap_or(usize::MAX);
                    if k < list.len() {
                        list.remove(k);
                        referrals::save_persons(&st.db, scope, &id, &list)
                            .await
                            .map_err(|e| user_errors(e).err().unwrap_or(AppError::NotFound))?;
                    }
                    Ok(stay)
                }
                "ajouter" => {
                    let mut p = PersonInput {
                        kind: field(&f, "kind").into(),
                        role: field(&f, "role").into(),
                        first_name: field(&f, "first_name").into(),
                        last_name: field(&f, "last_name").into(),
                        birth_date: field(&f, "birth_date").into(),
                        legal_name: field(&f, "legal_name").into(),
                        siren: field(&f, "siren").into(),
                        residence_insee: field(&f, "residence_insee").trim().into(),
                        address: field(&f, "address").trim().into(),
                    };
                    // The commune of the address comes from the picker (a choice among candidates, or a search).
                    let q = field(&f, "residence_commune").trim().to_string();
                    if p.residence_insee.is_empty() && !q.is_empty() {
                        let pick = pick_commune(&st, &q).await?;
                        let CommunePick::One(code) = pick else {
                            let mut errors = Errors::default();
                            let mut w = base_page(&st, &auth, &d, i, Errors::default()).await?;
                            match pick {
                                CommunePick::Several(c) => w.candidates = c,
                                CommunePick::None(m) => errors.push("residence_commune", m),
                                CommunePick::One(_) => {}
                            }
                            let invalid = errors.any();
                            w.errors = errors;
                            w.person = p;
                            w.person_commune = q;
                            let mut resp = page(w)?;
                            if invalid {
                                *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
                            }
                            return Ok(resp);
                        };
                        p.residence_insee = code;
                    }
                    list.push(p.clone());
                    let n = list.len() - 1;
                    match referrals::save_persons(&st.db, scope, &id, &list).await {
                        Ok(()) => Ok(stay),
                        Err(e) => {
                            let all = user_errors(e)?;
                            let mut errors = all.strip(&format!("persons[{n}]."));
                            if !errors.any() {
                                errors = all;
                            }
                            if let Some(m) = errors.get("residence_insee").map(str::to_string) {
                                errors.push("residence_commune", m);
                            }
                            let mut w = base_page(&st, &auth, &d, i, errors).await?;
                            w.person = p;
                            w.person_commune = q;
                            page(w)
                        }
                    }
                }
                _ => Ok(next),
            }
        }
        "infractions" => {
            let mut list: Vec<String> = d.offences.iter().map(|o| o.code.clone()).collect();
            match action {
                "retirer" => {
                    let k: usize = field(&f, "index").parse().unwrap_or(usize::MAX);
                    if k < list.len() {
                        list.remove(k);
                        referrals::save_offences(&st.db, scope, &id, &list)
                            .await
                            .map_err(|e| user_errors(e).err().unwrap_or(AppError::NotFound))?;
                    }
                    Ok(stay)
                }
                "ajouter" => {
                    let code = field(&f, "code").trim().to_string();
                    let q = field(&f, "q").to_string();
                    let mut errors = Errors::default();
                    if code.is_empty() {
                        errors.push(
                            "code",
                            "Choisissez une infraction dans les résultats de la recherche.",
                        );
                    } else {
                        list.push(code);
                        let n = list.len() - 1;
                        match referrals::save_offences(&st.db, scope, &id, &list).await {
                            Ok(()) => {
                                let back = if q.trim().is_empty() {
                                    step_href(&id, i)
                                } else {
                                    format!(
                                        "{}?q={}",
                                        step_href(&id, i),
                                        crate::session::urlencode(&q)
                                    )
                                };
                                return Ok(Redirect::to(&back).into_response());
                            }
                            Err(e) => {
                                let all = user_errors(e)?;
                                match all.get(&format!("offences[{n}]")) {
                                    Some(m) => errors.push("code", m),
                                    None => errors.extend(all),
                                }
                            }
                        }
                    }
                    let mut w = base_page(&st, &auth, &d, i, errors).await?;
                    if !q.trim().is_empty() {
                        w.natinf_results = natinf_results(&st, &q).await?;
                        w.searched = true;
                    }
                    w.natinf_q = q;
                    page(w)
                }
                _ => Ok(next),
            }
        }
        "urgence" => {
            let urgency = UrgencyInput {
                urgent: field(&f, "urgent") == "oui",
                reason: field(&f, "urgency_reason").into(),
            };
            let reference = field(&f, "reference").to_string();
            let mut errors = Errors::default();
            if let Err(e) = referrals::save_urgency(&st.db, scope, &id, &urgency).await {
                errors.extend(user_errors(e)?);
            }
            if let Err(e) = referrals::save_reference(&st.db, scope, &id, &reference).await {
                errors.extend(user_errors(e)?);
            }
            if !errors.any() {
                return Ok(next);
            }
            let mut w = base_page(&st, &auth, &d, i, errors).await?;
            w.urgent = urgency.urgent;
            w.urgency_reason = urgency.reason;
            w.reference = reference;
            page(w)
        }
        "pieces-jointes" => Ok(next),
        "envoi" => {
            let input = SubmitInput {
                art40_declaration: checked(&f, "art40"),
                parquet_id: Some(field(&f, "parquet_id").to_string()).filter(|s| !s.is_empty()),
                override_reason: field(&f, "override_reason").into(),
            };
            match referrals::submit(&st.db, scope, &id, &input).await {
                Ok(_) => Ok(next),
                Err(e) => {
                    let errors = user_errors(e)?;
                    let mut w = base_page(&st, &auth, &d, i, errors).await?;
                    w.art40 = input.art40_declaration;
                    w.override_reason = input.override_reason;
                    if let Some(p) = input.parquet_id {
                        for c in &mut w.parquets {
                            c.selected = c.value == p;
                        }
                    }
                    page(w)
                }
            }
        }
        _ => Err(AppError::NotFound),
    }
}

pub async fn confirmation(
    auth: Auth,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let r = referrals::get(&st.db, auth.scope(), &id).await?;
    if r.status == ReferralStatus::Draft {
        return Ok(Redirect::to(&step_href(&id, 0)).into_response());
    }
    page(ConfirmationPage {
        ctx: PageCtx::new(&auth.1, "Signalement transmis"),
        tracking: r.tracking_number.clone().unwrap_or_default(),
        parquet: r.parquet_name.clone().unwrap_or_default(),
        sent_at: r.sent_at.map(datetime_fr).unwrap_or_default(),
        urgent: r.urgent,
        pdf: super::referral::PDF_AVAILABLE,
        id,
    })
}
