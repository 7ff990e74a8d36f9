//! PPSMJ records: create, edit, archive / restore, duplicates, search, audited reads, following organisations.

use chrono::{Datelike, NaiveDate};
use domain::{AppiNumber, Email, MobilePhone, PhoneError, PhoneNumber};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{bind_all, history, like_prefix, ppsmj_visible, FieldErrors, MsjError, MsjResult};
use crate::{audit, Db, Result, Scope, StoreError, Tx};

/// Minimum age of a PPSMJ (docs/DOMAIN.md): the service is not for minors under 16.
pub const MIN_AGE_YEARS: u32 = 16;

/// Language of the messages and of the PPSMJ's space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    Fr,
    /// "Facile à lire et à comprendre": easy-read French.
    FrFalc,
    En,
    Ar,
}

impl Language {
    pub const ALL: [Language; 4] = [Language::Fr, Language::FrFalc, Language::En, Language::Ar];

    pub fn as_str(self) -> &'static str {
        match self {
            Language::Fr => "fr",
            Language::FrFalc => "fr_falc",
            Language::En => "en",
            Language::Ar => "ar",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Language::Fr => "Français",
            Language::FrFalc => "Français facile à lire et à comprendre",
            Language::En => "Anglais",
            Language::Ar => "Arabe",
        }
    }

    pub fn parse(s: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.as_str() == s.trim())
    }
}

/// A PPSMJ record. `Debug` shows no personal data (it ends up in logs).
#[derive(Clone)]
pub struct Ppsmj {
    pub id: String,
    pub organisation_id: String,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
    /// E.164.
    pub phone: Option<String>,
    pub phone_mobile: bool,
    pub no_phone: bool,
    pub refused_phone: bool,
    pub phone_shared: bool,
    pub sms_opt_out_at: Option<i64>,
    pub email: Option<String>,
    pub appi_number: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub language: Language,
    pub referent_user_id: Option<String>,
    pub prosecutor_case_number: Option<String>,
    pub source: String,
    pub archived_at: Option<i64>,
    pub last_activity_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for Ppsmj {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ppsmj")
            .field("id", &self.id)
            .field("organisation_id", &self.organisation_id)
            .field("archived_at", &self.archived_at)
            .finish_non_exhaustive()
    }
}

impl Ppsmj {
    pub fn display_name(&self) -> String {
        format!("{} {}", self.last_name.to_uppercase(), self.first_name)
    }

    /// Whether an SMS can be sent: a mobile is known, the person did not refuse it nor stop SMS.
    pub fn sms_possible(&self) -> bool {
        self.phone.is_some()
            && self.phone_mobile
            && !self.no_phone
            && !self.refused_phone
            && self.sms_opt_out_at.is_none()
    }
}

/// What a form (or an import row) submits. Raw strings: validation turns them into typed values or field errors.
#[derive(Clone, Default)]
pub struct PpsmjInput {
    pub first_name: String,
    pub last_name: String,
    /// 'YYYY-MM-DD' (HTML date input) or 'dd/mm/yyyy'.
    pub birth_date: String,
    pub phone: String,
    pub no_phone: bool,
    pub refused_phone: bool,
    pub phone_shared: bool,
    pub email: String,
    pub appi_number: String,
    pub address: String,
    pub city: String,
    /// Empty means French.
    pub language: String,
    pub referent_user_id: Option<String>,
    pub prosecutor_case_number: String,
}

impl std::fmt::Debug for PpsmjInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PpsmjInput").finish_non_exhaustive()
    }
}

/// A validated input: every value parsed.
#[derive(Clone)]
pub(crate) struct Valid {
    pub first_name: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
    pub phone: Option<PhoneNumber>,
    pub no_phone: bool,
    pub refused_phone: bool,
    pub phone_shared: bool,
    pub email: Option<Email>,
    pub appi_number: Option<AppiNumber>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub language: Language,
    pub referent_user_id: Option<String>,
    pub prosecutor_case_number: Option<String>,
}

impl std::fmt::Debug for Valid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Valid").finish_non_exhaustive()
    }
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Reads 'YYYY-MM-DD' or 'dd/mm/yyyy' (APPI exports and hand-typed dates).
pub fn parse_french_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .ok()
        .filter(|d| d.year() >= 1000)
}

/// Checks a submitted record without the database: names, date of birth (≥ 16 years on `today`), phone (a mobile
/// unless "no phone" / "refused phone"), e-mail, APPI number, language.
pub(crate) fn validate(input: &PpsmjInput, today: NaiveDate) -> Result<Valid, FieldErrors> {
    validate_with(input, today, PhoneChoice::Required)
}

/// Whether a record without a phone must say why (no phone, or refused to give it).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PhoneChoice {
    /// Forms: an agent who leaves the number empty must tick one of the two boxes, so a missing number is a fact,
    /// not an oversight (a person without reminders misses more appointments).
    Required,
    /// APPI imports: the export does not say why a number is missing; the agent completes the record later (the
    /// next edit asks for the choice).
    Unknown,
}

pub(crate) fn validate_with(
    input: &PpsmjInput,
    today: NaiveDate,
    phone_choice: PhoneChoice,
) -> Result<Valid, FieldErrors> {
    let mut errors = FieldErrors::default();
    if phone_choice == PhoneChoice::Required
        && input.phone.trim().is_empty()
        && !input.no_phone
        && !input.refused_phone
    {
        errors.push(
            "phone",
            "Saisissez le numéro de portable, ou cochez « Pas de téléphone » ou « Refus de communiquer son téléphone ».",
        );
    }
    // Length first: a field too long gets that message only.
    let mut long = |field: &'static str, value: &str, max: usize| {
        let msg = domain::limits::too_long(value, max);
        let refused = msg.is_some();
        if let Some(m) = msg {
            errors.push(field, m);
        }
        refused
    };
    use domain::limits;
    let long_first = long("first_name", &input.first_name, limits::NAME);
    let long_last = long("last_name", &input.last_name, limits::NAME);
    let long_email = long("email", &input.email, limits::EMAIL);
    long("address", &input.address, limits::ADDRESS);
    long("city", &input.city, limits::CITY);
    long(
        "prosecutor_case_number",
        &input.prosecutor_case_number,
        limits::REFERENCE,
    );
    let long_phone = long("phone", &input.phone, 40);
    let long_appi = long("appi_number", &input.appi_number, 40);
    // Names are stored as documents write them (docs/DOMAIN.md#people-followed).
    let first_name = non_empty(&input.first_name)
        .filter(|_| !long_first)
        .map(|n| domain::names::first_name(&n));
    if first_name.is_none() && !long_first {
        errors.push("first_name", "Veuillez saisir le prénom.");
    }
    let last_name = non_empty(&input.last_name)
        .filter(|_| !long_last)
        .map(|n| domain::names::last_name(&n));
    if last_name.is_none() && !long_last {
        errors.push("last_name", "Veuillez saisir le nom.");
    }
    let birth_date = match parse_french_date(&input.birth_date) {
        None if input.birth_date.trim().is_empty() => {
            errors.push("birth_date", "Veuillez saisir la date de naissance.");
            None
        }
        None => {
            errors.push(
                "birth_date",
                "Date de naissance invalide : saisissez-la au format jj/mm/aaaa.",
            );
            None
        }
        Some(d) if d > today => {
            errors.push(
                "birth_date",
                "La date de naissance ne peut pas être dans le futur.",
            );
            None
        }
        Some(d) if d.year() < 1900 => {
            errors.push(
                "birth_date",
                "Date de naissance invalide : vérifiez l'année.",
            );
            None
        }
        Some(d)
            if d.checked_add_months(chrono::Months::new(12 * MIN_AGE_YEARS))
                .is_none_or(|sixteen| sixteen > today) =>
        {
            errors.push(
                "birth_date",
                format!("La personne doit avoir au moins {MIN_AGE_YEARS} ans."),
            );
            None
        }
        Some(d) => Some(d),
    };
    if input.no_phone && input.refused_phone {
        errors.push(
            "no_phone",
            "Cochez « Pas de téléphone » ou « Refus de communiquer son téléphone », pas les deux.",
        );
    }
    let phone = match non_empty(&input.phone).filter(|_| !long_phone) {
        None => None,
        Some(_) if input.no_phone => {
            errors.push(
                "phone",
                "Vous avez indiqué que la personne n'a pas de téléphone : laissez le numéro vide.",
            );
            None
        }
        // A number given with "refused phone" is kept for calls and never used for SMS: any French number.
        Some(raw) if input.refused_phone => match PhoneNumber::parse(&raw) {
            Ok(p) => Some(p),
            Err(e) => {
                errors.push("phone", e.to_string());
                None
            }
        },
        Some(raw) => match MobilePhone::parse(&raw) {
            Ok(p) => Some(p.into_phone()),
            Err(e @ (PhoneError::Landline | PhoneError::NotMobile)) => {
                errors.push(
                    "phone",
                    format!(
                        "{e} Saisissez un portable, ou cochez « Refus de communiquer son téléphone » pour garder ce numéro sans SMS."
                    ),
                );
                None
            }
            Err(e) => {
                errors.push("phone", e.to_string());
                None
            }
        },
    };
    let email = match non_empty(&input.email).filter(|_| !long_email) {
        None => None,
        Some(raw) => match Email::parse(&raw) {
            Ok(e) => Some(e),
            Err(e) => {
                errors.push("email", e.to_string());
                None
            }
        },
    };
    let appi_number = match non_empty(&input.appi_number).filter(|_| !long_appi) {
        None => None,
        Some(raw) => match AppiNumber::parse(&raw) {
            Ok(a) => Some(a),
            Err(e) => {
                errors.push("appi_number", e.to_string());
                None
            }
        },
    };
    let language = if input.language.trim().is_empty() {
        Some(Language::Fr)
    } else {
        let l = Language::parse(&input.language);
        if l.is_none() {
            errors.push("language", "Langue inconnue.");
        }
        l
    };
    match (first_name, last_name, birth_date, language) {
        (Some(first_name), Some(last_name), Some(birth_date), Some(language))
            if errors.is_empty() =>
        {
            Ok(Valid {
                first_name,
                last_name,
                birth_date,
                phone,
                no_phone: input.no_phone,
                refused_phone: input.refused_phone,
                phone_shared: input.phone_shared,
                email,
                appi_number,
                address: non_empty(&input.address),
                city: non_empty(&input.city),
                language,
                referent_user_id: input.referent_user_id.clone().filter(|s| !s.is_empty()),
                prosecutor_case_number: non_empty(&input.prosecutor_case_number),
            })
        }
        _ => Err(errors),
    }
}

const COLUMNS: &str = "p.id, p.organisation_id, p.first_name, p.last_name, p.birth_date, p.phone, \
    p.phone_mobile, p.no_phone, p.refused_phone, p.phone_shared, p.sms_opt_out_at, p.email, p.appi_number, \
    p.address, p.city, p.language, p.referent_user_id, p.prosecutor_case_number, p.source, p.archived_at, \
    p.last_activity_at, p.created_at, p.updated_at";

fn from_row(r: &AnyRow) -> Result<Ppsmj> {
    Ok(Ppsmj {
        id: r.get("id"),
        organisation_id: r.get("organisation_id"),
        first_name: r.get("first_name"),
        last_name: r.get("last_name"),
        birth_date: super::parse_date(&r.get::<String, _>("birth_date"))?,
        phone: r.get("phone"),
        phone_mobile: crate::flag(r, "phone_mobile"),
        no_phone: crate::flag(r, "no_phone"),
        refused_phone: crate::flag(r, "refused_phone"),
        phone_shared: crate::flag(r, "phone_shared"),
        sms_opt_out_at: r.get("sms_opt_out_at"),
        email: r.get("email"),
        appi_number: r.get("appi_number"),
        address: r.get("address"),
        city: r.get("city"),
        language: Language::parse(&r.get::<String, _>("language")).unwrap_or_default(),
        referent_user_id: r.get("referent_user_id"),
        prosecutor_case_number: r.get("prosecutor_case_number"),
        source: r.get("source"),
        archived_at: r.get("archived_at"),
        last_activity_at: r.get("last_activity_at"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    })
}

/// What an agent is told when a number is taken by a record outside its scope: nothing about why (the number
/// belongs to someone followed elsewhere), and the national admin finds the attempt in the audit trail.
pub const HIDDEN_CONFLICT: &str =
    "Ce numéro ne peut pas être utilisé ; contactez votre administrateur.";

/// Whether the scope reads record `id` (uniqueness answers must not reveal anything outside it).
pub(crate) async fn sees_record(tx: &mut Tx<'_>, scope: &Scope, id: &str) -> Result<bool> {
    match fetch_tx(tx, scope, id).await {
        Ok(_) => Ok(true),
        Err(StoreError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Records, after the refused change was rolled back, that an agent hit a number used outside its scope: one
/// `ppsmj.hidden_conflict` event naming the fields (never the number), for the national admin.
pub(crate) async fn audit_hidden_conflicts(
    db: &Db,
    scope: &Scope,
    fields: &[String],
) -> Result<()> {
    if fields.is_empty() {
        return Ok(());
    }
    audit::record(
        db.pool(),
        &scope.actor,
        "ppsmj.hidden_conflict",
        "ppsmj",
        None,
        Some(serde_json::json!({ "fields": fields })),
    )
    .await
}

/// Fields of a refusal that carry [`HIDDEN_CONFLICT`].
pub(crate) fn hidden_fields(e: &MsjError) -> Vec<String> {
    match e {
        MsjError::Invalid(f) => {
            f.0.iter()
                .filter(|e| e.message == HIDDEN_CONFLICT)
                .map(|e| e.field.to_string())
                .collect()
        }
        _ => vec![],
    }
}

/// The rules that need the database, checked in the writing transaction: APPI number unique, phone unique among
/// active records unless shared, referent visible. `except` is the record being edited.
pub(crate) async fn check_uniques(
    tx: &mut Tx<'_>,
    scope: &Scope,
    v: &Valid,
    except: Option<&str>,
) -> MsjResult<()> {
    let mut errors = FieldErrors::default();
    let except = except.unwrap_or("");
    if let Some(appi) = &v.appi_number {
        let taken = sqlx::query("SELECT id FROM ppsmj WHERE appi_number = $1 AND id <> $2")
            .bind(appi.as_str())
            .bind(except)
            .fetch_optional(&mut **tx)
            .await?;
        if let Some(row) = taken {
            let msg = if sees_record(tx, scope, &row.get::<String, _>(0)).await? {
                "Ce numéro APPI est déjà celui d'un autre dossier."
            } else {
                HIDDEN_CONFLICT
            };
            errors.push("appi_number", msg);
        }
    }
    if let Some(phone) = &v.phone {
        // The shared flag must be set on every record using the number (a family phone, a hostel's phone).
        let taken = sqlx::query(
            "SELECT id FROM ppsmj WHERE phone = $1 AND id <> $2 AND archived_at IS NULL AND \
             ($3 = 1 OR phone_shared = 0)",
        )
        .bind(phone.as_e164())
        .bind(except)
        .bind(i64::from(!v.phone_shared))
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(row) = taken {
            let msg = if sees_record(tx, scope, &row.get::<String, _>(0)).await? {
                "Ce numéro est déjà celui d'un autre dossier actif. S'il est partagé (famille, foyer), cochez « Numéro partagé » sur les deux dossiers."
            } else {
                HIDDEN_CONFLICT
            };
            errors.push("phone", msg);
        }
    }
    if let Some(referent) = &v.referent_user_id {
        let (cond, binds) = scope.visible_filter("organisation_id", 2);
        let sql = format!("SELECT id FROM users WHERE id = $1 AND active = 1 AND {cond}");
        let found = bind_all(sqlx::query(&sql).bind(referent), &binds)
            .fetch_optional(&mut **tx)
            .await?;
        if found.is_none() {
            errors.push("referent_user_id", "Référent inconnu.");
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(MsjError::Invalid(errors))
    }
}

/// Maps a unique violation that slipped past `check_uniques` (two agents saving at once) to the field error.
fn unique_to_field(e: sqlx::Error) -> MsjError {
    match StoreError::from(e) {
        StoreError::Conflict(c) => {
            let mut errors = FieldErrors::default();
            if c.contains("appi") {
                errors.push(
                    "appi_number",
                    "Ce numéro APPI est déjà celui d'un autre dossier.",
                );
            } else {
                errors.push(
                    "phone",
                    "Ce numéro est déjà celui d'un autre dossier actif.",
                );
            }
            MsjError::Invalid(errors)
        }
        other => MsjError::Store(other),
    }
}

/// Today's date for `organisation_id` at `now` (its own time zone: overseas days start earlier or later).
pub(crate) async fn org_today(
    tx: &mut Tx<'_>,
    organisation_id: &str,
    now: i64,
) -> Result<NaiveDate> {
    let tz: String = sqlx::query("SELECT time_zone FROM organisations WHERE id = $1")
        .bind(organisation_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?
        .get(0);
    Ok(super::utc(now)
        .with_timezone(&super::parse_tz(&tz)?)
        .date_naive())
}

fn phone_key(p: &PhoneNumber) -> String {
    p.national_display().replace(' ', "")
}

/// Binds the 18 editable columns of a record, in the order both the INSERT and the UPDATE list them.
fn bind_fields<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    v: &'q Valid,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q.bind(&v.first_name)
        .bind(&v.last_name)
        .bind(crate::search_key(&v.first_name))
        .bind(crate::search_key(&v.last_name))
        .bind(v.birth_date.to_string())
        .bind(v.phone.as_ref().map(|p| p.as_e164().to_string()))
        .bind(v.phone.as_ref().map(phone_key))
        .bind(i64::from(v.phone.as_ref().is_some_and(|p| p.is_mobile())))
        .bind(i64::from(v.no_phone))
        .bind(i64::from(v.refused_phone))
        .bind(i64::from(v.phone_shared))
        .bind(v.email.as_ref().map(|e| e.as_str().to_string()))
        .bind(v.appi_number.as_ref().map(|a| a.as_str().to_string()))
        .bind(v.address.as_deref())
        .bind(v.city.as_deref())
        .bind(v.language.as_str())
        .bind(v.referent_user_id.as_deref())
        .bind(v.prosecutor_case_number.as_deref())
}

/// Inserts a validated record in the caller's transaction (form and APPI import share it).
pub(crate) async fn insert_tx(
    tx: &mut Tx<'_>,
    scope: &Scope,
    organisation_id: &str,
    v: &Valid,
    source: &str,
    now: i64,
) -> MsjResult<String> {
    let id = crate::new_id();
    let q = sqlx::query(
        "INSERT INTO ppsmj (id, organisation_id, first_name, last_name, first_name_key, last_name_key, birth_date, \
         phone, phone_key, phone_mobile, no_phone, refused_phone, phone_shared, email, appi_number, address, city, \
         language, referent_user_id, prosecutor_case_number, source, last_activity_at, created_by, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
         $20, $21, $22, $23, $22, $22)",
    )
    .bind(&id)
    .bind(organisation_id);
    bind_fields(q, v)
        .bind(source)
        .bind(now)
        .bind(scope.actor.user_id.as_deref())
        .execute(&mut **tx)
        .await
        .map_err(unique_to_field)?;
    sqlx::query(
        "INSERT INTO ppsmj_organisations (ppsmj_id, organisation_id, since) VALUES ($1, $2, $3)",
    )
    .bind(&id)
    .bind(organisation_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let details = serde_json::json!({ "organisation_id": organisation_id, "source": source });
    history(
        &mut **tx,
        &scope.actor,
        &id,
        None,
        "ppsmj.create",
        Some(details.clone()),
        now,
    )
    .await?;
    audit::record(
        &mut **tx,
        &scope.actor,
        "ppsmj.create",
        "ppsmj",
        Some(&id),
        Some(details),
    )
    .await?;
    Ok(id)
}

/// Creates a record owned by `organisation_id` (which the scope must see). Call [`possible_duplicates`] first to
/// warn the agent; this function does not refuse look-alikes, only broken rules.
pub async fn create(
    db: &Db,
    scope: &Scope,
    organisation_id: &str,
    input: &PpsmjInput,
    now: i64,
) -> MsjResult<Ppsmj> {
    if !scope.can_see(organisation_id) {
        return Err(StoreError::NotFound.into());
    }
    let mut tx = db.begin().await?;
    let today = org_today(&mut tx, organisation_id, now).await?;
    let v = validate(input, today).map_err(MsjError::Invalid)?;
    if let Err(e) = check_uniques(&mut tx, scope, &v, None).await {
        tx.rollback().await?;
        audit_hidden_conflicts(db, scope, &hidden_fields(&e)).await?;
        return Err(e);
    }
    let id = insert_tx(&mut tx, scope, organisation_id, &v, "form", now).await?;
    let p = fetch_tx(&mut tx, scope, &id).await?;
    tx.commit().await?;
    Ok(p)
}

/// Edits a record; refused fields come back as [`MsjError::Invalid`].
pub async fn update(
    db: &Db,
    scope: &Scope,
    id: &str,
    input: &PpsmjInput,
    now: i64,
) -> MsjResult<Ppsmj> {
    let mut tx = db.begin().await?;
    let before = fetch_tx(&mut tx, scope, id).await?;
    let today = org_today(&mut tx, &before.organisation_id, now).await?;
    let v = validate(input, today).map_err(MsjError::Invalid)?;
    if let Err(e) = check_uniques(&mut tx, scope, &v, Some(id)).await {
        tx.rollback().await?;
        audit_hidden_conflicts(db, scope, &hidden_fields(&e)).await?;
        return Err(e);
    }
    let q = sqlx::query(
        "UPDATE ppsmj SET first_name = $2, last_name = $3, first_name_key = $4, last_name_key = $5, \
         birth_date = $6, phone = $7, phone_key = $8, phone_mobile = $9, no_phone = $10, refused_phone = $11, \
         phone_shared = $12, email = $13, appi_number = $14, address = $15, city = $16, language = $17, \
         referent_user_id = $18, prosecutor_case_number = $19, last_activity_at = $20, updated_at = $20, \
         sms_opt_out_at = CASE WHEN phone IS NOT DISTINCT FROM $7 THEN sms_opt_out_at ELSE NULL END \
         WHERE id = $1",
    )
    .bind(id);
    bind_fields(q, &v)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(unique_to_field)?;
    // Which fields changed, by name only: the values are personal data.
    let after = fetch_tx(&mut tx, scope, id).await?;
    let changed = changed_fields(&before, &after);
    let details = serde_json::json!({ "changed": changed });
    history(
        &mut *tx,
        &scope.actor,
        id,
        None,
        "ppsmj.update",
        Some(details.clone()),
        now,
    )
    .await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "ppsmj.update",
        "ppsmj",
        Some(id),
        Some(details),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

fn changed_fields(a: &Ppsmj, b: &Ppsmj) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut check = |name: &'static str, changed: bool| {
        if changed {
            out.push(name);
        }
    };
    check("first_name", a.first_name != b.first_name);
    check("last_name", a.last_name != b.last_name);
    check("birth_date", a.birth_date != b.birth_date);
    check("phone", a.phone != b.phone);
    check("no_phone", a.no_phone != b.no_phone);
    check("refused_phone", a.refused_phone != b.refused_phone);
    check("phone_shared", a.phone_shared != b.phone_shared);
    check("email", a.email != b.email);
    check("appi_number", a.appi_number != b.appi_number);
    check("address", a.address != b.address);
    check("city", a.city != b.city);
    check("language", a.language != b.language);
    check("referent_user_id", a.referent_user_id != b.referent_user_id);
    check(
        "prosecutor_case_number",
        a.prosecutor_case_number != b.prosecutor_case_number,
    );
    out
}

/// Reads a record in a transaction without auditing (the caller audits what it does with it).
pub(crate) async fn fetch_tx(tx: &mut Tx<'_>, scope: &Scope, id: &str) -> Result<Ppsmj> {
    let (cond, binds) = ppsmj_visible(scope, 2);
    let sql = format!("SELECT {COLUMNS} FROM ppsmj p WHERE p.id = $1 AND {cond}");
    let row = bind_all(sqlx::query(&sql).bind(id), &binds)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    from_row(&row)
}

/// Reads a record the scope sees, and writes the `ppsmj.read` audit event.
pub async fn get(db: &Db, scope: &Scope, id: &str) -> Result<Ppsmj> {
    let mut tx = db.begin().await?;
    let p = fetch_tx(&mut tx, scope, id).await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "ppsmj.read",
        "ppsmj",
        Some(id),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(p)
}

/// Archives ("discards") a record. Refused while appointments are still booked in the future: cancel them first,
/// so that the PPSMJ is told.
pub async fn archive(db: &Db, scope: &Scope, id: &str, now: i64) -> MsjResult<Ppsmj> {
    let mut tx = db.begin().await?;
    let p = fetch_tx(&mut tx, scope, id).await?;
    if p.archived_at.is_some() {
        return Err(MsjError::Rule("Ce dossier est déjà archivé.".into()));
    }
    let upcoming: i64 = sqlx::query(
        "SELECT COUNT(*) FROM appointments WHERE ppsmj_id = $1 AND state = 'booked' AND starts_at > $2",
    )
    .bind(id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?
    .get(0);
    if upcoming > 0 {
        return Err(MsjError::Rule(
            "Ce dossier a des rendez-vous à venir : annulez-les avant de l'archiver.".into(),
        ));
    }
    sqlx::query("UPDATE ppsmj SET archived_at = $2, updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    history(&mut *tx, &scope.actor, id, None, "ppsmj.archive", None, now).await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "ppsmj.archive",
        "ppsmj",
        Some(id),
        None,
    )
    .await?;
    let p = fetch_tx(&mut tx, scope, id).await?;
    tx.commit().await?;
    Ok(p)
}

/// Restores an archived record; refused if its phone has since become another active record's.
pub async fn restore(db: &Db, scope: &Scope, id: &str, now: i64) -> MsjResult<Ppsmj> {
    let mut tx = db.begin().await?;
    let p = fetch_tx(&mut tx, scope, id).await?;
    if p.archived_at.is_none() {
        return Err(MsjError::Rule("Ce dossier n'est pas archivé.".into()));
    }
    if let (Some(phone), false) = (&p.phone, p.phone_shared) {
        let taken = sqlx::query(
            "SELECT id FROM ppsmj WHERE phone = $1 AND id <> $2 AND archived_at IS NULL",
        )
        .bind(phone)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if taken.is_some() {
            let mut errors = FieldErrors::default();
            errors.push(
                "phone",
                "Ce numéro est devenu celui d'un autre dossier actif : modifiez-le ou cochez « Numéro partagé » avant de restaurer.",
            );
            return Err(MsjError::Invalid(errors));
        }
    }
    sqlx::query(
        "UPDATE ppsmj SET archived_at = NULL, last_activity_at = $2, updated_at = $2 WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    history(&mut *tx, &scope.actor, id, None, "ppsmj.restore", None, now).await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "ppsmj.restore",
        "ppsmj",
        Some(id),
        None,
    )
    .await?;
    let p = fetch_tx(&mut tx, scope, id).await?;
    tx.commit().await?;
    Ok(p)
}

/// Why a record looks like the one being entered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DuplicateReason {
    SameNameAndBirthDate,
    SamePhone,
}

impl DuplicateReason {
    pub fn label(self) -> &'static str {
        match self {
            DuplicateReason::SameNameAndBirthDate => "Même nom, prénom et date de naissance",
            DuplicateReason::SamePhone => "Même numéro de téléphone",
        }
    }
}

/// A record to show in search results and duplicate warnings.
#[derive(Clone)]
pub struct PpsmjSummary {
    pub id: String,
    pub organisation_id: String,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
    pub appi_number: Option<String>,
    pub archived: bool,
    /// E.164.
    pub phone: Option<String>,
    pub phone_mobile: bool,
    pub no_phone: bool,
    pub refused_phone: bool,
    pub sms_opt_out: bool,
    pub referent_user_id: Option<String>,
}

impl PpsmjSummary {
    pub fn display_name(&self) -> String {
        format!("{} {}", self.last_name.to_uppercase(), self.first_name)
    }

    /// Whether an SMS can reach the person (same rule as [`Ppsmj::sms_possible`]).
    pub fn sms_possible(&self) -> bool {
        self.phone.is_some()
            && self.phone_mobile
            && !self.no_phone
            && !self.refused_phone
            && !self.sms_opt_out
    }
}

impl std::fmt::Debug for PpsmjSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PpsmjSummary")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug)]
pub struct DuplicateCandidate {
    pub record: PpsmjSummary,
    pub reasons: Vec<DuplicateReason>,
}

const SUMMARY: &str = "p.id, p.organisation_id, p.first_name, p.last_name, p.birth_date, p.appi_number, \
    p.archived_at, p.phone, p.phone_mobile, p.no_phone, p.refused_phone, p.sms_opt_out_at, p.referent_user_id";

/// The records among `ids` that the scope sees, in one query (a view listing many people — the agenda of the
/// day — reads them at once; the caller writes one audit event for the view, naming whose data it showed).
pub async fn summaries_by_ids(db: &Db, scope: &Scope, ids: &[String]) -> Result<Vec<PpsmjSummary>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let (cond, binds) = ppsmj_visible(scope, ids.len() + 1);
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {SUMMARY} FROM ppsmj p WHERE p.id IN ({}) AND {cond}",
        placeholders.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(id);
    }
    let rows = bind_all(q, &binds).fetch_all(db.pool()).await?;
    rows.iter().map(summary_from_row).collect()
}

fn summary_from_row(r: &AnyRow) -> Result<PpsmjSummary> {
    Ok(PpsmjSummary {
        id: r.get("id"),
        organisation_id: r.get("organisation_id"),
        first_name: r.get("first_name"),
        last_name: r.get("last_name"),
        birth_date: super::parse_date(&r.get::<String, _>("birth_date"))?,
        appi_number: r.get("appi_number"),
        archived: r.get::<Option<i64>, _>("archived_at").is_some(),
        phone: r.get("phone"),
        phone_mobile: crate::flag(r, "phone_mobile"),
        no_phone: crate::flag(r, "no_phone"),
        refused_phone: crate::flag(r, "refused_phone"),
        sms_opt_out: r.get::<Option<i64>, _>("sms_opt_out_at").is_some(),
        referent_user_id: r.get("referent_user_id"),
    })
}

/// Records the scope sees, by name (the list page without a search): optionally only those whose referent is
/// `referent_user_id`, archived ones only when asked. `offset` pages through them.
pub async fn list(
    db: &Db,
    scope: &Scope,
    referent_user_id: Option<&str>,
    include_archived: bool,
    limit: i64,
    offset: i64,
) -> Result<Vec<PpsmjSummary>> {
    let (cond, binds) = ppsmj_visible(scope, 2);
    let archived = if include_archived {
        ""
    } else {
        " AND p.archived_at IS NULL"
    };
    let sql = format!(
        "SELECT {SUMMARY} FROM ppsmj p WHERE ($1 = '' OR p.referent_user_id = $1){archived} AND {cond} \
         ORDER BY CASE WHEN p.archived_at IS NULL THEN 0 ELSE 1 END, p.last_name_key, p.first_name_key, p.id \
         LIMIT {} OFFSET {}",
        limit.clamp(1, 500),
        offset.max(0)
    );
    let rows = bind_all(
        sqlx::query(&sql).bind(referent_user_id.unwrap_or("")),
        &binds,
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(summary_from_row).collect()
}

/// Records (visible to the scope, archived included) that look like the one being entered: same normalised name
/// and date of birth, or same phone. Shown before saving; `except` is the record being edited.
pub async fn possible_duplicates(
    db: &Db,
    scope: &Scope,
    input: &PpsmjInput,
    except: Option<&str>,
) -> Result<Vec<DuplicateCandidate>> {
    let mut tx = db.begin().await?;
    let found = possible_duplicates_tx(&mut tx, scope, input, except).await?;
    tx.commit().await?;
    Ok(found)
}

pub(crate) async fn possible_duplicates_tx(
    tx: &mut Tx<'_>,
    scope: &Scope,
    input: &PpsmjInput,
    except: Option<&str>,
) -> Result<Vec<DuplicateCandidate>> {
    let first = crate::search_key(&input.first_name);
    let last = crate::search_key(&input.last_name);
    let birth = parse_french_date(&input.birth_date).map(|d| d.to_string());
    let phone = PhoneNumber::parse(&input.phone)
        .ok()
        .map(|p| p.as_e164().to_string());
    let (cond, binds) = ppsmj_visible(scope, 6);
    let sql = format!(
        "SELECT {SUMMARY}, CASE WHEN p.last_name_key = $1 AND p.first_name_key = $2 AND p.birth_date = $3 \
         THEN 1 ELSE 0 END AS same_identity, CASE WHEN p.phone = $4 THEN 1 ELSE 0 END AS same_phone \
         FROM ppsmj p WHERE p.id <> $5 AND ((p.last_name_key = $1 AND p.first_name_key = $2 AND p.birth_date = $3) \
         OR p.phone = $4) AND {cond} ORDER BY p.last_name_key, p.first_name_key LIMIT 20"
    );
    let rows = bind_all(
        sqlx::query(&sql)
            .bind(last)
            .bind(first)
            .bind(birth)
            .bind(phone)
            .bind(except.unwrap_or("")),
        &binds,
    )
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            let mut reasons = Vec::new();
            if r.get::<i64, _>("same_identity") != 0 {
                reasons.push(DuplicateReason::SameNameAndBirthDate);
            }
            if r.get::<i64, _>("same_phone") != 0 {
                reasons.push(DuplicateReason::SamePhone);
            }
            Ok(DuplicateCandidate {
                record: summary_from_row(r)?,
                reasons,
            })
        })
        .collect()
}

/// Prefix search on last name, first name, "last first", APPI number or phone (as typed: "06 12", "+336…"),
/// accent- and case-insensitive, among records the scope sees; active first.
pub async fn search(
    db: &Db,
    scope: &Scope,
    query: &str,
    include_archived: bool,
    limit: i64,
) -> Result<Vec<PpsmjSummary>> {
    let Some((sql, binds)) = search_sql(scope, query, include_archived, limit) else {
        return Ok(vec![]);
    };
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b);
    }
    let rows = q.fetch_all(db.pool()).await?;
    rows.iter().map(summary_from_row).collect()
}

/// The search query and its parameters in order (`None` for an empty query): one place, so that the test of its
/// plan (prefix searches use indexes on SQLite too) checks the very SQL the page runs.
pub(crate) fn search_sql(
    scope: &Scope,
    query: &str,
    include_archived: bool,
    limit: i64,
) -> Option<(String, Vec<String>)> {
    let q = query.trim();
    if q.is_empty() {
        return None;
    }
    let key = crate::search_key(q);
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    let looks_like_phone = q.starts_with('+') || (q.starts_with('0') && digits.len() >= 2);
    let (phone_col, phone_pattern) = if q.starts_with('+') {
        ("p.phone", like_prefix(&format!("+{digits}")))
    } else if looks_like_phone {
        ("p.phone_key", like_prefix(&digits))
    } else {
        // Matches nothing: no phone key starts with a letter.
        ("p.phone_key", "\u{1}".to_string())
    };
    // "dupont jean" finds last name "Dupont" with first name "Jean…"; so does "jean dupont".
    let mut words = key.splitn(2, ' ');
    let w1 = words.next().unwrap_or("").to_string();
    let w2 = words.next().unwrap_or("").to_string();
    let appi = like_prefix(&q.replace(' ', "").to_ascii_uppercase());
    let (cond, scope_binds) = ppsmj_visible(scope, 7);
    // Unary `+` keeps SQLite from driving the search by the (unselective) archived_at index instead of the name
    // prefixes; PostgreSQL reads it as the same value.
    let archived = if include_archived {
        ""
    } else {
        " AND +p.archived_at IS NULL"
    };
    // With one word, w2 is empty and its pattern '%' matches anything: last or first name prefix.
    let name_cond =
        "((p.last_name_key LIKE $2 ESCAPE '\\' AND p.first_name_key LIKE $3 ESCAPE '\\') \
         OR (p.first_name_key LIKE $4 ESCAPE '\\' AND p.last_name_key LIKE $5 ESCAPE '\\') \
         OR p.last_name_key LIKE $1 ESCAPE '\\')";
    let sql = format!(
        "SELECT {SUMMARY} FROM ppsmj p WHERE ({name_cond} OR p.appi_number LIKE $6 ESCAPE '\\' \
         OR {phone_col} LIKE ${n} ESCAPE '\\'){archived} AND {cond} \
         ORDER BY CASE WHEN p.archived_at IS NULL THEN 0 ELSE 1 END, p.last_name_key, p.first_name_key, p.id \
         LIMIT {limit}",
        n = 7 + scope_binds.len(),
        limit = limit.clamp(1, 200)
    );
    let mut binds = vec![
        like_prefix(&key),
        like_prefix(&w1),
        like_prefix(&w2),
        like_prefix(&w1),
        like_prefix(&w2),
        appi,
    ];
    binds.extend(scope_binds);
    binds.push(phone_pattern);
    Some((sql, binds))
}

/// An organisation following a PPSMJ.
#[derive(Clone, Debug)]
pub struct Following {
    pub organisation_id: String,
    pub name: String,
    pub kind: String,
    pub since: i64,
    pub owner: bool,
}

/// Organisations following a record the scope sees (the owner first).
pub async fn following_organisations(db: &Db, scope: &Scope, id: &str) -> Result<Vec<Following>> {
    let mut tx = db.begin().await?;
    let p = fetch_tx(&mut tx, scope, id).await?;
    let rows = sqlx::query(
        "SELECT o.id, o.name, o.kind, f.since FROM ppsmj_organisations f JOIN organisations o \
         ON o.id = f.organisation_id WHERE f.ppsmj_id = $1 ORDER BY o.name",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut out: Vec<Following> = rows
        .iter()
        .map(|r| {
            let organisation_id: String = r.get("id");
            Following {
                owner: organisation_id == p.organisation_id,
                organisation_id,
                name: r.get("name"),
                kind: r.get("kind"),
                since: r.get("since"),
            }
        })
        .collect();
    out.sort_by_key(|f| !f.owner);
    Ok(out)
}

/// Adds an organisation to those following a record (e.g. the SPIP, once the BEX has booked its first
/// convocation). Idempotent.
pub async fn add_following(
    db: &Db,
    scope: &Scope,
    id: &str,
    organisation_id: &str,
    now: i64,
) -> Result<()> {
    let mut tx = db.begin().await?;
    add_following_tx(&mut tx, scope, id, organisation_id, now).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn add_following_tx(
    tx: &mut Tx<'_>,
    scope: &Scope,
    id: &str,
    organisation_id: &str,
    now: i64,
) -> Result<()> {
    fetch_tx(tx, scope, id).await?;
    if !scope.can_see(organisation_id) {
        return Err(StoreError::NotFound);
    }
    let added = sqlx::query(
        "INSERT INTO ppsmj_organisations (ppsmj_id, organisation_id, since) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(organisation_id)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if added > 0 {
        let details = serde_json::json!({ "organisation_id": organisation_id });
        history(
            &mut **tx,
            &scope.actor,
            id,
            None,
            "ppsmj.follow",
            Some(details.clone()),
            now,
        )
        .await?;
        audit::record(
            &mut **tx,
            &scope.actor,
            "ppsmj.follow",
            "ppsmj",
            Some(id),
            Some(details),
        )
        .await?;
    }
    Ok(())
}

/// One line of a PPSMJ's history.
#[derive(Clone, Debug)]
pub struct HistoryEntry {
    pub at: i64,
    pub actor_label: String,
    pub action: String,
    pub appointment_id: Option<String>,
    pub details: Option<String>,
}

/// The full history of a record the scope sees, oldest first.
pub async fn history_of(db: &Db, scope: &Scope, id: &str) -> Result<Vec<HistoryEntry>> {
    let mut tx = db.begin().await?;
    fetch_tx(&mut tx, scope, id).await?;
    let rows = sqlx::query(
        "SELECT at, actor_label, action, appointment_id, details FROM ppsmj_history WHERE ppsmj_id = $1 \
         ORDER BY at, id",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .iter()
        .map(|r| HistoryEntry {
            at: r.get("at"),
            actor_label: r.get("actor_label"),
            action: r.get("action"),
            appointment_id: r.get("appointment_id"),
            details: r.get("details"),
        })
        .collect())
}

/// Marks activity on a record (appointments, edits) for the retention clock.
pub(crate) async fn touch(tx: &mut Tx<'_>, id: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE ppsmj SET last_activity_at = $2 WHERE id = $1 AND last_activity_at < $2")
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 6, 1).unwrap()
    }

    fn input() -> PpsmjInput {
        PpsmjInput {
            first_name: "Élodie".into(),
            last_name: "Martin".into(),
            birth_date: "1990-04-02".into(),
            phone: "06 12 34 56 78".into(),
            ..Default::default()
        }
    }

    /// On SQLite the person search's prefix LIKEs must use indexes (the NOCASE ones of migration 12), never scan
    /// the whole table: checked on the very SQL the page runs, for a name, two words, a phone and an APPI number.
    #[tokio::test]
    async fn the_person_search_uses_indexes_on_sqlite() {
        use sqlx::Row;
        let t = crate::testing::TestDb::sqlite().await;
        let scope = Scope::system("test");
        for q in ["dup", "dupont jean", "06 12", "+3361", "20012"] {
            let (sql, binds) = search_sql(&scope, q, false, 50).unwrap();
            let explain = format!("EXPLAIN QUERY PLAN {sql}");
            let mut query = sqlx::query(&explain);
            for b in &binds {
                query = query.bind(b);
            }
            let plan: Vec<String> = query
                .fetch_all(t.db.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<String, _>("detail"))
                .collect();
            assert!(
                !plan.iter().any(|d| d.starts_with("SCAN p")),
                "{q}: the search scans ppsmj: {plan:?}"
            );
            assert!(
                plan.iter().any(|d| d.contains("_nocase")),
                "{q}: no prefix index used: {plan:?}"
            );
        }
        t.cleanup().await;
    }

    #[test]
    fn overseas_mobiles_are_accepted_and_stored_in_e164() {
        for (raw, e164) in [
            ("0692 12 34 56", "+262692123456"),
            ("+262 639 12 34 56", "+262639123456"),
            ("0690 12 34 56", "+590690123456"),
            ("0696 12 34 56", "+596696123456"),
            ("0694 12 34 56", "+594694123456"),
            ("07 12 34 56 78", "+33712345678"),
        ] {
            let v = validate(
                &PpsmjInput {
                    phone: raw.into(),
                    ..input()
                },
                today(),
            )
            .unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(v.phone.unwrap().as_e164(), e164);
        }
    }

    #[test]
    fn a_landline_is_refused_for_sms_unless_the_phone_was_refused() {
        let err = validate(
            &PpsmjInput {
                phone: "01 23 45 67 89".into(),
                ..input()
            },
            today(),
        )
        .unwrap_err();
        assert!(err
            .get("phone")
            .unwrap()
            .starts_with("Ce numéro est un fixe"));
        let v = validate(
            &PpsmjInput {
                phone: "01 23 45 67 89".into(),
                refused_phone: true,
                ..input()
            },
            today(),
        )
        .unwrap();
        assert!(!v.phone.unwrap().is_mobile());
    }

    #[test]
    fn a_person_must_be_sixteen_on_the_day_of_entry() {
        let ok = validate(
            &PpsmjInput {
                birth_date: "01/06/2011".into(),
                ..input()
            },
            today(),
        );
        assert!(ok.is_ok());
        let err = validate(
            &PpsmjInput {
                birth_date: "2011-06-02".into(),
                ..input()
            },
            today(),
        )
        .unwrap_err();
        assert_eq!(
            err.get("birth_date"),
            Some("La personne doit avoir au moins 16 ans.")
        );
    }

    #[test]
    fn every_refused_field_is_reported_at_once() {
        let err = validate(
            &PpsmjInput {
                first_name: " ".into(),
                birth_date: "31/02/1990".into(),
                phone: "06 12".into(),
                appi_number: "12".into(),
                email: "pas-une-adresse".into(),
                ..input()
            },
            today(),
        )
        .unwrap_err();
        for field in ["first_name", "birth_date", "phone", "appi_number", "email"] {
            assert!(err.get(field).is_some(), "{field}");
        }
    }
}
