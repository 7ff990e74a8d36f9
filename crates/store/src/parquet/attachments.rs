//! Attachment metadata. The bytes are streamed, scanned, encrypted and stored above this layer (object store);
//! here are the rules on who may attach what where, the checksum, the scan status, and audited downloads.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::access::ReferralAccess;
use super::referrals::{ensure_visible, fetch};
use super::{FieldError, FieldErrorKind as K, PResult, ParquetError, Side};
use crate::{audit, Actor, Db, Result, Scope, StoreError};

/// 1 GiB per file (docs/DOMAIN.md#attachments).
pub const MAX_ATTACHMENT_BYTES: i64 = 1 << 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanStatus {
    Pending,
    Clean,
    Infected,
    Error,
    /// Stored without an antivirus (demo mode without clamd): downloadable, always shown with a warning.
    NotScanned,
}

impl ScanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanStatus::Pending => "pending",
            ScanStatus::Clean => "clean",
            ScanStatus::Infected => "infected",
            ScanStatus::Error => "error",
            ScanStatus::NotScanned => "not_scanned",
        }
    }

    fn parse(s: &str) -> ScanStatus {
        match s {
            "clean" => ScanStatus::Clean,
            "infected" => ScanStatus::Infected,
            "error" => ScanStatus::Error,
            "not_scanned" => ScanStatus::NotScanned,
            _ => ScanStatus::Pending,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAttachment {
    /// `None`: attached to the draft (wizard); `Some`: attached to a message (after sending).
    pub message_id: Option<String>,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// Lower-case hex SHA-256 of the plaintext.
    pub sha256: String,
    pub storage_key: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub id: String,
    pub referral_id: String,
    pub message_id: Option<String>,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_key: String,
    pub scan_status: ScanStatus,
    pub scanned_at: Option<i64>,
    pub uploaded_by: Option<String>,
    pub uploaded_by_label: String,
    pub created_at: i64,
}

const COLUMNS: &str =
    "a.id, a.referral_id, a.message_id, a.filename, a.content_type, a.size_bytes, a.sha256, \
    a.storage_key, a.scan_status, a.scanned_at, a.uploaded_by, a.uploaded_by_label, a.created_at";

fn from_row(r: &AnyRow) -> Attachment {
    Attachment {
        id: r.get("id"),
        referral_id: r.get("referral_id"),
        message_id: r.get("message_id"),
        filename: r.get("filename"),
        content_type: r.get("content_type"),
        size_bytes: r.get("size_bytes"),
        sha256: r.get("sha256"),
        storage_key: r.get("storage_key"),
        scan_status: ScanStatus::parse(&r.get::<String, _>("scan_status")),
        scanned_at: r.get("scanned_at"),
        uploaded_by: r.get("uploaded_by"),
        uploaded_by_label: r.get("uploaded_by_label"),
        created_at: r.get("created_at"),
    }
}

/// Checks the metadata alone (pure): name, type, size limit, checksum format.
pub fn check(new: &NewAttachment) -> std::result::Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = new.filename.trim();
    if name.is_empty() || name.chars().count() > 255 || name.contains(['/', '\\', '\0']) {
        errors.push(FieldError::new(
            "filename",
            K::Invalid,
            "Nom de fichier invalide : 1 à 255 caractères, sans / ni \\.",
        ));
    }
    if new.content_type.trim().is_empty() || new.content_type.len() > 255 {
        errors.push(FieldError::new(
            "content_type",
            K::Invalid,
            "Type de fichier inconnu.",
        ));
    }
    if new.size_bytes <= 0 {
        errors.push(FieldError::new("size", K::Invalid, "Le fichier est vide."));
    } else if new.size_bytes > MAX_ATTACHMENT_BYTES {
        errors.push(FieldError::new(
            "size",
            K::TooLong,
            "Le fichier dépasse la taille maximale de 1 Go.",
        ));
    }
    if new.sha256.len() != 64
        || !new
            .sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        errors.push(FieldError::new(
            "sha256",
            K::Invalid,
            "Empreinte SHA-256 invalide.",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Records an uploaded file: on a draft by its administration (wizard), or on a message of a sent referral by
/// the message's side. The scan status starts `pending`.
pub async fn record(
    db: &Db,
    scope: &Scope,
    referral_id: &str,
    new: &NewAttachment,
) -> PResult<Attachment> {
    check(new).map_err(ParquetError::Invalid)?;
    let now = crate::now();
    let mut tx = db.begin().await?;
    let access = ReferralAccess::of(&mut tx, scope).await?;
    let r = fetch(&mut tx, &access, referral_id, true).await?;
    let Some(side) = access.side() else {
        return Err(ParquetError::forbidden(
            "Seuls l'administration et le parquet destinataire joignent des fichiers.",
        ));
    };
    let is_draft = r.status == domain::ReferralStatus::Draft;
    match new.message_id.as_deref() {
        None if is_draft && side == Side::Administration => {}
        None => {
            return Err(ParquetError::forbidden(
                "Ce signalement a été transmis : joignez le fichier à un message.",
            ))
        }
        Some(m) => {
            let msg_side: Option<String> = sqlx::query(
                "SELECT side FROM referral_messages WHERE id = $1 AND referral_id = $2",
            )
            .bind(m)
            .bind(referral_id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| row.get(0));
            match msg_side {
                None => return Err(StoreError::NotFound.into()),
                Some(s) if s != side.as_str() => {
                    return Err(ParquetError::forbidden(
                        "Un fichier se joint à un message de votre côté de l'échange.",
                    ))
                }
                Some(_) => {}
            }
        }
    }
    let id = crate::new_id();
    sqlx::query(
        "INSERT INTO referral_attachments (id, referral_id, message_id, filename, content_type, size_bytes, sha256, \
         storage_key, scan_status, uploaded_by, uploaded_by_label, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10, $11)",
    )
    .bind(&id)
    .bind(referral_id)
    .bind(new.message_id.as_deref())
    .bind(new.filename.trim())
    .bind(new.content_type.trim())
    .bind(new.size_bytes)
    .bind(&new.sha256)
    .bind(&new.storage_key)
    .bind(scope.actor.user_id.as_deref())
    .bind(&scope.actor.label)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "referral.attachment_add",
        "referral",
        Some(referral_id),
        Some(serde_json::json!({
            "attachment_id": id, "sha256": new.sha256, "size": new.size_bytes, "message_id": new.message_id,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(get(db, scope, &id).await?)
}

/// Records the antivirus verdict (scanner job).
pub async fn set_scan_status(db: &Db, actor: &Actor, id: &str, status: ScanStatus) -> Result<()> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE referral_attachments SET scan_status = $2, scanned_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(crate::now())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    let referral_id: String =
        sqlx::query("SELECT referral_id FROM referral_attachments WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .get(0);
    audit::record(
        &mut *tx,
        actor,
        "referral.attachment_scan",
        "referral",
        Some(&referral_id),
        Some(serde_json::json!({ "attachment_id": id, "status": status.as_str() })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Attachments of a referral the scope sees.
pub async fn list(db: &Db, scope: &Scope, referral_id: &str) -> Result<Vec<Attachment>> {
    let mut conn = db.pool().acquire().await?;
    let access = ReferralAccess::of(&mut conn, scope).await?;
    ensure_visible(&mut conn, &access, referral_id).await?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM referral_attachments a WHERE a.referral_id = $1 ORDER BY a.created_at, a.id"
    ))
    .bind(referral_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// One attachment's metadata, if the scope sees its referral.
pub async fn get(db: &Db, scope: &Scope, id: &str) -> Result<Attachment> {
    let mut conn = db.pool().acquire().await?;
    let access = ReferralAccess::of(&mut conn, scope).await?;
    let (cond, binds) = access.filter("r", 2);
    let sql = format!(
        "SELECT {COLUMNS} FROM referral_attachments a JOIN referrals r ON r.id = a.referral_id \
         WHERE a.id = $1 AND {cond}"
    );
    let mut q = sqlx::query(&sql).bind(id);
    for b in &binds {
        q = q.bind(b);
    }
    let row = q
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(from_row(&row))
}

/// The attachment to stream to the caller: only once scanned clean (or stored unscanned in demo mode, which the
/// pages flag); the download is audited.
pub async fn open_for_download(db: &Db, scope: &Scope, id: &str) -> PResult<Attachment> {
    let a = get(db, scope, id).await?;
    if !matches!(a.scan_status, ScanStatus::Clean | ScanStatus::NotScanned) {
        return Err(ParquetError::forbidden(
            "Ce fichier n'est pas disponible : l'analyse antivirus n'est pas terminée ou l'a refusé.",
        ));
    }
    audit::record(
        db.pool(),
        &scope.actor,
        "referral.attachment_download",
        "referral",
        Some(&a.referral_id),
        Some(serde_json::json!({ "attachment_id": a.id, "sha256": a.sha256 })),
    )
    .await?;
    Ok(a)
}
