//! Measures of a PPSMJ (sursis probatoire, TIG, DDSE…) and their obligations: recorded by agents who may edit the
//! person's record, read back by agents within their scope, and by the person themselves ([`for_person`], called by
//! the person's space with the signed-in person's id) with a timeline of their appointments.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use domain::{AppointmentState, MeasureKind, ObligationKind};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::ppsmj::{fetch_tx, parse_french_date};
use super::{history, FieldErrors, MsjError, MsjResult};
use crate::roles::RoleGroup;
use crate::{audit, Db, Result, Scope, StoreError, Tx};

/// Longest precision an agent may add to an obligation (shown to the person: keep it short).
pub const DETAIL_MAX_CHARS: usize = 200;
/// Longest court name.
pub const COURT_MAX_CHARS: usize = 120;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Obligation {
    pub kind: ObligationKind,
    /// A precision for the person ("Ne pas se rendre à Gennevilliers"); may name places or people: personal data.
    pub detail: Option<String>,
}

/// A measure. `Debug` shows no free text (it may name people).
#[derive(Clone)]
pub struct Measure {
    pub id: String,
    pub ppsmj_id: String,
    pub organisation_id: String,
    pub kind: MeasureKind,
    pub decision_date: Option<NaiveDate>,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub court: Option<String>,
    pub obligations: Vec<Obligation>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for Measure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Measure")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Measure {
    /// Whether the measure is still running on `today` (no end date: running).
    pub fn is_current(&self, today: NaiveDate) -> bool {
        self.start_date <= today && self.end_date.is_none_or(|e| e >= today)
    }
}

/// What the form submits: raw strings, turned into typed values or French field errors by [`validate`].
#[derive(Clone, Debug, Default)]
pub struct MeasureInput {
    pub kind: String,
    /// 'YYYY-MM-DD' or 'dd/mm/yyyy'; optional.
    pub decision_date: String,
    pub start_date: String,
    /// Optional (a contrôle judiciaire lasts until the trial).
    pub end_date: String,
    pub court: String,
    /// Codes of the checked obligations.
    pub obligations: Vec<String>,
    /// Precision per obligation code (ignored when the obligation is not checked).
    pub details: BTreeMap<String, String>,
}

#[derive(Clone, Debug)]
pub struct ValidMeasure {
    pub kind: MeasureKind,
    pub decision_date: Option<NaiveDate>,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub court: Option<String>,
    pub obligations: Vec<Obligation>,
}

/// Form field of an obligation's precision.
pub fn detail_field(k: ObligationKind) -> &'static str {
    match k {
        ObligationKind::Activite => "detail_activite",
        ObligationKind::Soins => "detail_soins",
        ObligationKind::Indemniser => "detail_indemniser",
        ObligationKind::PasDeContact => "detail_pas_de_contact",
        ObligationKind::PasDeLieu => "detail_pas_de_lieu",
        ObligationKind::Residence => "detail_residence",
        ObligationKind::Convocations => "detail_convocations",
        ObligationKind::Ressources => "detail_ressources",
        ObligationKind::Stage => "detail_stage",
    }
}

fn date_field(
    errors: &mut FieldErrors,
    field: &'static str,
    label: &str,
    raw: &str,
    required: bool,
) -> Option<NaiveDate> {
    if raw.trim().is_empty() {
        if required {
            errors.push(field, format!("Veuillez saisir la {label}."));
        }
        return None;
    }
    match parse_french_date(raw) {
        Some(d) if (1950..=2100).contains(&d.year()) => Some(d),
        Some(_) => {
            errors.push(
                field,
                format!("{} invalide : vérifiez l'année.", capitalise(label)),
            );
            None
        }
        None => {
            errors.push(
                field,
                format!(
                    "{} invalide : saisissez-la au format jj/mm/aaaa.",
                    capitalise(label)
                ),
            );
            None
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Checks a submitted measure without the database.
pub fn validate(input: &MeasureInput) -> std::result::Result<ValidMeasure, FieldErrors> {
    let mut errors = FieldErrors::default();
    let kind = if input.kind.trim().is_empty() {
        errors.push("kind", "Choisissez le type de mesure.");
        None
    } else {
        let k = MeasureKind::parse(&input.kind);
        if k.is_none() {
            errors.push(
                "kind",
                "Type de mesure inconnu : choisissez-le dans la liste.",
            );
        }
        k
    };
    let decision_date = date_field(
        &mut errors,
        "decision_date",
        "date de la décision",
        &input.decision_date,
        false,
    );
    let start_date = date_field(
        &mut errors,
        "start_date",
        "date de début",
        &input.start_date,
        true,
    );
    let end_date = date_field(
        &mut errors,
        "end_date",
        "date de fin",
        &input.end_date,
        false,
    );
    if let (Some(s), Some(e)) = (start_date, end_date) {
        if e <= s {
            errors.push(
                "end_date",
                "La date de fin doit être après la date de début.",
            );
        }
    }
    if let (Some(d), Some(s)) = (decision_date, start_date) {
        if d > s {
            errors.push(
                "decision_date",
                "La date de la décision ne peut pas être après la date de début.",
            );
        }
    }
    let court = Some(input.court.trim().to_string()).filter(|c| !c.is_empty());
    if court
        .as_ref()
        .is_some_and(|c| c.chars().count() > COURT_MAX_CHARS)
    {
        errors.push(
            "court",
            format!(
                "Le nom de la juridiction est trop long : {COURT_MAX_CHARS} caractères au plus."
            ),
        );
    }
    let mut obligations: Vec<Obligation> = vec![];
    for code in &input.obligations {
        match ObligationKind::parse(code) {
            Some(k) if obligations.iter().any(|o| o.kind == k) => {}
            Some(k) => {
                let detail = input
                    .details
                    .get(k.code())
                    .map(|d| d.trim().to_string())
                    .filter(|d| !d.is_empty());
                if detail
                    .as_ref()
                    .is_some_and(|d| d.chars().count() > DETAIL_MAX_CHARS)
                {
                    errors.push(
                        detail_field(k),
                        format!(
                            "Précision trop longue pour « {} » : {DETAIL_MAX_CHARS} caractères au plus.",
                            k.label()
                        ),
                    );
                }
                obligations.push(Obligation { kind: k, detail });
            }
            None => errors.push(
                "obligations",
                "Obligation inconnue : choisissez-la dans la liste.",
            ),
        }
    }
    // The catalogue's order, whatever the order of the checkboxes.
    obligations.sort_by_key(|o| ObligationKind::ALL.iter().position(|k| *k == o.kind));
    match (kind, start_date) {
        (Some(kind), Some(start_date)) if errors.is_empty() => Ok(ValidMeasure {
            kind,
            decision_date,
            start_date,
            end_date,
            court,
            obligations,
        }),
        _ => Err(errors),
    }
}

/// Roles that record measures: those that may edit the person's record (the prosecutor only reads).
fn may_edit(scope: &Scope) -> bool {
    match scope.actor.role.map(|r| r.group()) {
        None => true,
        Some(g) => matches!(
            g,
            RoleGroup::Bex
                | RoleGroup::Sap
                | RoleGroup::Spip
                | RoleGroup::LocalAdmin
                | RoleGroup::National
        ),
    }
}

fn refuse_readers(scope: &Scope) -> MsjResult<()> {
    if may_edit(scope) {
        Ok(())
    } else {
        Err(MsjError::Forbidden(
            "Votre rôle permet de consulter les mesures, pas de les modifier.".into(),
        ))
    }
}

const COLUMNS: &str =
    "id, ppsmj_id, organisation_id, kind, decision_date, start_date, end_date, court, \
    created_at, updated_at";

fn opt_date(r: &AnyRow, col: &str) -> Result<Option<NaiveDate>> {
    r.get::<Option<String>, _>(col)
        .map(|s| super::parse_date(&s))
        .transpose()
}

fn from_row(r: &AnyRow) -> Result<Measure> {
    let kind: String = r.get("kind");
    Ok(Measure {
        id: r.get("id"),
        ppsmj_id: r.get("ppsmj_id"),
        organisation_id: r.get("organisation_id"),
        kind: MeasureKind::parse(&kind).ok_or_else(|| {
            StoreError::Database(sqlx::Error::Decode(
                format!("unknown measure kind {kind}").into(),
            ))
        })?,
        decision_date: opt_date(r, "decision_date")?,
        start_date: super::parse_date(&r.get::<String, _>("start_date"))?,
        end_date: opt_date(r, "end_date")?,
        court: r.get("court"),
        obligations: vec![],
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    })
}

/// Reads the measures of a person (no scope: callers have checked it), oldest start first, with obligations.
pub(crate) async fn measures_of(tx: &mut Tx<'_>, ppsmj_id: &str) -> Result<Vec<Measure>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM measures WHERE ppsmj_id = $1 ORDER BY start_date, created_at, id"
    ))
    .bind(ppsmj_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut out = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    let obligations = sqlx::query(
        "SELECT o.measure_id, o.kind, o.detail FROM measure_obligations o JOIN measures m ON m.id = o.measure_id \
         WHERE m.ppsmj_id = $1",
    )
    .bind(ppsmj_id)
    .fetch_all(&mut **tx)
    .await?;
    for r in &obligations {
        let measure_id: String = r.get("measure_id");
        let Some(kind) = ObligationKind::parse(&r.get::<String, _>("kind")) else {
            continue;
        };
        if let Some(m) = out.iter_mut().find(|m| m.id == measure_id) {
            m.obligations.push(Obligation {
                kind,
                detail: r.get("detail"),
            });
        }
    }
    for m in &mut out {
        m.obligations
            .sort_by_key(|o| ObligationKind::ALL.iter().position(|k| *k == o.kind));
    }
    Ok(out)
}

/// The measures of a PPSMJ the scope sees (404 otherwise).
pub async fn list_for_ppsmj(db: &Db, scope: &Scope, ppsmj_id: &str) -> Result<Vec<Measure>> {
    let mut tx = db.begin().await?;
    fetch_tx(&mut tx, scope, ppsmj_id).await?;
    let out = measures_of(&mut tx, ppsmj_id).await?;
    tx.commit().await?;
    Ok(out)
}

async fn get_tx(tx: &mut Tx<'_>, scope: &Scope, id: &str) -> Result<Measure> {
    let ppsmj_id: String = sqlx::query("SELECT ppsmj_id FROM measures WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?
        .get(0);
    // Visible when the person is: another SPIP's measure is a 404, like the person.
    fetch_tx(tx, scope, &ppsmj_id).await?;
    measures_of(tx, &ppsmj_id)
        .await?
        .into_iter()
        .find(|m| m.id == id)
        .ok_or(StoreError::NotFound)
}

/// One measure whose person the scope sees.
pub async fn get(db: &Db, scope: &Scope, id: &str) -> Result<Measure> {
    let mut tx = db.begin().await?;
    let m = get_tx(&mut tx, scope, id).await?;
    tx.commit().await?;
    Ok(m)
}

async fn write_obligations(tx: &mut Tx<'_>, id: &str, v: &ValidMeasure) -> Result<()> {
    sqlx::query("DELETE FROM measure_obligations WHERE measure_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for o in &v.obligations {
        sqlx::query(
            "INSERT INTO measure_obligations (measure_id, kind, detail) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(o.kind.code())
        .bind(o.detail.as_deref())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Audit and history details: codes only, never the free texts (they may name people or places).
fn details(ppsmj_id: &str, v: &ValidMeasure) -> serde_json::Value {
    serde_json::json!({
        "ppsmj_id": ppsmj_id,
        "kind": v.kind.code(),
        "obligations": v.obligations.iter().map(|o| o.kind.code()).collect::<Vec<_>>(),
    })
}

/// Records a measure for a PPSMJ the scope sees.
pub async fn create(
    db: &Db,
    scope: &Scope,
    ppsmj_id: &str,
    input: &MeasureInput,
    now: i64,
) -> MsjResult<Measure> {
    let mut tx = db.begin().await?;
    let p = fetch_tx(&mut tx, scope, ppsmj_id).await?;
    refuse_readers(scope)?;
    if p.archived_at.is_some() {
        return Err(MsjError::Rule(
            "Ce dossier est archivé : restaurez-le avant d'ajouter une mesure.".into(),
        ));
    }
    let v = validate(input).map_err(MsjError::Invalid)?;
    let id = crate::new_id();
    let organisation_id = scope
        .actor
        .organisation_id
        .clone()
        .filter(|o| scope.can_see(o) && !scope.is_national())
        .unwrap_or_else(|| p.organisation_id.clone());
    sqlx::query(
        "INSERT INTO measures (id, ppsmj_id, organisation_id, kind, decision_date, start_date, end_date, court, \
         created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(&id)
    .bind(ppsmj_id)
    .bind(&organisation_id)
    .bind(v.kind.code())
    .bind(v.decision_date.map(|d| d.to_string()))
    .bind(v.start_date.to_string())
    .bind(v.end_date.map(|d| d.to_string()))
    .bind(v.court.as_deref())
    .bind(scope.actor.user_id.as_deref())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    write_obligations(&mut tx, &id, &v).await?;
    let d = details(ppsmj_id, &v);
    history(
        &mut *tx,
        &scope.actor,
        ppsmj_id,
        None,
        "measure.create",
        Some(d.clone()),
        now,
    )
    .await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "measure.create",
        "measure",
        Some(&id),
        Some(d),
    )
    .await?;
    super::ppsmj::touch(&mut tx, ppsmj_id, now).await?;
    let m = get_tx(&mut tx, scope, &id).await?;
    tx.commit().await?;
    Ok(m)
}

/// Edits a measure (its obligations are replaced by the submitted ones).
pub async fn update(
    db: &Db,
    scope: &Scope,
    id: &str,
    input: &MeasureInput,
    now: i64,
) -> MsjResult<Measure> {
    let mut tx = db.begin().await?;
    let before = get_tx(&mut tx, scope, id).await?;
    refuse_readers(scope)?;
    let v = validate(input).map_err(MsjError::Invalid)?;
    sqlx::query(
        "UPDATE measures SET kind = $2, decision_date = $3, start_date = $4, end_date = $5, court = $6, \
         updated_at = $7 WHERE id = $1",
    )
    .bind(id)
    .bind(v.kind.code())
    .bind(v.decision_date.map(|d| d.to_string()))
    .bind(v.start_date.to_string())
    .bind(v.end_date.map(|d| d.to_string()))
    .bind(v.court.as_deref())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    write_obligations(&mut tx, id, &v).await?;
    let d = details(&before.ppsmj_id, &v);
    history(
        &mut *tx,
        &scope.actor,
        &before.ppsmj_id,
        None,
        "measure.update",
        Some(d.clone()),
        now,
    )
    .await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "measure.update",
        "measure",
        Some(id),
        Some(d),
    )
    .await?;
    super::ppsmj::touch(&mut tx, &before.ppsmj_id, now).await?;
    let m = get_tx(&mut tx, scope, id).await?;
    tx.commit().await?;
    Ok(m)
}

/// Removes a measure recorded by mistake (the audit trail keeps that it existed).
pub async fn delete(db: &Db, scope: &Scope, id: &str, now: i64) -> MsjResult<Measure> {
    let mut tx = db.begin().await?;
    let m = get_tx(&mut tx, scope, id).await?;
    refuse_readers(scope)?;
    sqlx::query("DELETE FROM measure_obligations WHERE measure_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM measures WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let d = serde_json::json!({ "ppsmj_id": m.ppsmj_id, "kind": m.kind.code() });
    history(
        &mut *tx,
        &scope.actor,
        &m.ppsmj_id,
        None,
        "measure.delete",
        Some(d.clone()),
        now,
    )
    .await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "measure.delete",
        "measure",
        Some(id),
        Some(d),
    )
    .await?;
    tx.commit().await?;
    Ok(m)
}

/// An appointment as the person sees it on their timeline.
#[derive(Clone, Debug)]
pub struct TimelineAppointment {
    pub id: String,
    pub starts_at: i64,
    /// IANA name of the organisation's time zone (the time shown is local).
    pub time_zone: String,
    pub type_label: String,
    pub place_name: String,
    pub place_address: String,
    pub state: AppointmentState,
}

/// What the person's space shows under "Ma mesure".
#[derive(Clone, Debug)]
pub struct PersonMeasures {
    pub measures: Vec<Measure>,
    /// Appointments honoured, most recent first.
    pub honoured: Vec<TimelineAppointment>,
    /// Booked appointments still to come, soonest first.
    pub upcoming: Vec<TimelineAppointment>,
}

/// The person's own measures and timeline. Not scoped by organisation: the caller is the person's session, which
/// only ever passes the signed-in person's id. Unknown id → `NotFound`.
pub async fn for_person(db: &Db, person_id: &str, now: i64) -> Result<PersonMeasures> {
    let mut tx = db.begin().await?;
    let exists = sqlx::query("SELECT id FROM ppsmj WHERE id = $1")
        .bind(person_id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Err(StoreError::NotFound);
    }
    let measures = measures_of(&mut tx, person_id).await?;
    let rows = sqlx::query(
        "SELECT a.id, a.starts_at, a.state, o.time_zone, t.label, p.name, p.address FROM appointments a \
         JOIN organisations o ON o.id = a.organisation_id JOIN appointment_types t ON t.id = a.appointment_type_id \
         JOIN places p ON p.id = a.place_id \
         WHERE a.ppsmj_id = $1 AND ((a.state = 'fulfilled' AND a.starts_at <= $2) OR (a.state = 'booked' AND a.starts_at > $2)) \
         ORDER BY a.starts_at",
    )
    .bind(person_id)
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut honoured = vec![];
    let mut upcoming = vec![];
    for r in &rows {
        let state: String = r.get("state");
        let Ok(state) = state.parse::<AppointmentState>() else {
            continue;
        };
        let a = TimelineAppointment {
            id: r.get("id"),
            starts_at: r.get("starts_at"),
            time_zone: r.get("time_zone"),
            type_label: r.get("label"),
            place_name: r.get("name"),
            place_address: r.get("address"),
            state,
        };
        if state == AppointmentState::Booked {
            upcoming.push(a);
        } else {
            honoured.push(a);
        }
    }
    honoured.reverse();
    Ok(PersonMeasures {
        measures,
        honoured,
        upcoming,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> MeasureInput {
        MeasureInput {
            kind: "sursis_probatoire".into(),
            decision_date: "2026-01-10".into(),
            start_date: "15/01/2026".into(),
            end_date: "2028-01-15".into(),
            court: "Tribunal judiciaire de Nanterre".into(),
            obligations: vec!["soins".into(), "activite".into()],
            details: [("soins".to_string(), "Suivi en addictologie".to_string())].into(),
        }
    }

    #[test]
    fn a_complete_measure_is_accepted_with_obligations_in_catalogue_order() {
        let v = validate(&input()).unwrap();
        assert_eq!(v.kind, MeasureKind::SursisProbatoire);
        assert_eq!(v.start_date, NaiveDate::from_ymd_opt(2026, 1, 15).unwrap());
        let kinds: Vec<_> = v.obligations.iter().map(|o| o.kind).collect();
        assert_eq!(kinds, [ObligationKind::Activite, ObligationKind::Soins]);
        assert_eq!(
            v.obligations[1].detail.as_deref(),
            Some("Suivi en addictologie")
        );
    }

    #[test]
    fn an_end_date_before_the_start_is_refused_in_french() {
        let err = validate(&MeasureInput {
            end_date: "2026-01-14".into(),
            ..input()
        })
        .unwrap_err();
        assert_eq!(
            err.get("end_date"),
            Some("La date de fin doit être après la date de début.")
        );
    }

    #[test]
    fn missing_kind_and_invalid_dates_are_all_reported() {
        let err = validate(&MeasureInput {
            kind: "".into(),
            start_date: "31/02/2026".into(),
            end_date: "demain".into(),
            decision_date: "1800-01-01".into(),
            obligations: vec!["prison".into()],
            ..input()
        })
        .unwrap_err();
        assert_eq!(err.get("kind"), Some("Choisissez le type de mesure."));
        assert_eq!(
            err.get("start_date"),
            Some("Date de début invalide : saisissez-la au format jj/mm/aaaa.")
        );
        assert!(err.get("end_date").is_some());
        assert_eq!(
            err.get("decision_date"),
            Some("Date de la décision invalide : vérifiez l'année.")
        );
        assert!(err.get("obligations").is_some());
    }

    #[test]
    fn a_too_long_precision_is_refused_on_its_own_field() {
        let err = validate(&MeasureInput {
            details: [("soins".to_string(), "x".repeat(DETAIL_MAX_CHARS + 1))].into(),
            ..input()
        })
        .unwrap_err();
        assert!(err.get("detail_soins").unwrap().contains("200 caractères"));
    }

    #[test]
    fn a_start_date_is_required() {
        let err = validate(&MeasureInput {
            start_date: " ".into(),
            ..input()
        })
        .unwrap_err();
        assert_eq!(
            err.get("start_date"),
            Some("Veuillez saisir la date de début.")
        );
    }
}
