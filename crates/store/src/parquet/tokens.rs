//! Per-service API tokens for the JSON API, and idempotency of referral creation.
//!
//! A token is shown once at creation; only its SHA-256 is stored (a 256-bit random value needs no slow hash).
//! It acts as an agent of its service, with the scopes it was given; revoked tokens stop at once.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{FieldErrorKind as K, PResult, ParquetError};
use crate::roles::Role;
use crate::{audit, Actor, Db, Result, Scope, StoreError};

pub const SCOPE_WRITE: &str = "referrals:write";
pub const SCOPE_READ: &str = "referrals:read";
pub const ALL_SCOPES: [&str; 2] = [SCOPE_WRITE, SCOPE_READ];
/// Prefix of raw tokens, so that a leaked one is recognisable by secret scanners.
pub const TOKEN_PREFIX: &str = "psl_ip_";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    pub id: String,
    pub service_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_by: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl ApiToken {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// An authenticated API caller: its token and the scope it acts with.
#[derive(Clone, Debug)]
pub struct ApiPrincipal {
    pub token: ApiToken,
    pub scope: Scope,
}

impl ApiPrincipal {
    /// Forbidden unless the token carries `scope` (`referrals:write`, `referrals:read`).
    pub fn require(&self, scope: &str) -> PResult<()> {
        if self.token.has_scope(scope) {
            Ok(())
        } else {
            Err(ParquetError::Forbidden(format!(
                "Ce jeton d'API n'a pas le droit « {scope} »."
            )))
        }
    }
}

/// The raw token, shown once. Not `Debug`-printable.
pub struct RawToken(pub String);

impl std::fmt::Debug for RawToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RawToken(***)")
    }
}

const COLUMNS: &str =
    "id, service_id, name, scopes, created_by, created_at, last_used_at, revoked_at";

fn from_row(r: &AnyRow) -> ApiToken {
    ApiToken {
        id: r.get("id"),
        service_id: r.get("service_id"),
        name: r.get("name"),
        scopes: r
            .get::<String, _>("scopes")
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        created_by: r.get("created_by"),
        created_at: r.get("created_at"),
        last_used_at: r.get("last_used_at"),
        revoked_at: r.get("revoked_at"),
    }
}

/// Creates a token for a service the scope manages (its administration's manager, or the national admin).
pub async fn create(
    db: &Db,
    scope: &Scope,
    service_id: &str,
    name: &str,
    scopes: &[&str],
) -> PResult<(ApiToken, RawToken)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ParquetError::invalid(
            "name",
            K::Missing,
            "Donnez au jeton un nom de 1 à 100 caractères (le logiciel qui l'utilisera).",
        ));
    }
    if scopes.is_empty() || scopes.iter().any(|s| !ALL_SCOPES.contains(s)) {
        return Err(ParquetError::invalid(
            "scopes",
            K::Invalid,
            "Droits possibles : referrals:write (déposer des signalements), referrals:read (les consulter).",
        ));
    }
    let Some(creator) = scope.actor.user_id.clone() else {
        return Err(ParquetError::forbidden(
            "Un jeton d'API est créé par un utilisateur.",
        ));
    };
    let kind: Option<String> = sqlx::query("SELECT kind FROM organisations WHERE id = $1")
        .bind(service_id)
        .fetch_optional(db.pool())
        .await?
        .map(|r| r.get(0));
    if !scope.can_see(service_id) || kind.is_none() {
        return Err(StoreError::NotFound.into());
    }
    if kind.as_deref() != Some("service") {
        return Err(ParquetError::invalid(
            "service_id",
            K::Invalid,
            "Les jetons d'API sont délivrés à un service d'une administration.",
        ));
    }
    if !scope.can_manage(service_id) {
        return Err(ParquetError::forbidden(
            "Seul un responsable de l'administration peut créer un jeton d'API.",
        ));
    }
    let raw = format!("{TOKEN_PREFIX}{}", crate::random_token());
    let id = crate::new_id();
    let now = crate::now();
    let mut scopes: Vec<&str> = scopes.to_vec();
    scopes.sort_unstable();
    scopes.dedup();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO api_tokens (id, service_id, name, token_hash, scopes, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(service_id)
    .bind(name)
    .bind(crate::sha256_hex(&raw))
    .bind(scopes.join(" "))
    .bind(&creator)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "api_token.create",
        "api_token",
        Some(&id),
        Some(serde_json::json!({ "service_id": service_id, "name": name, "scopes": scopes })),
    )
    .await?;
    tx.commit().await?;
    let token = get(db, scope, &id).await?;
    Ok((token, RawToken(raw)))
}

pub async fn get(db: &Db, scope: &Scope, id: &str) -> Result<ApiToken> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
    let t = from_row(&row);
    if !scope.can_see(&t.service_id) {
        return Err(StoreError::NotFound);
    }
    Ok(t)
}

/// Tokens of a service the scope sees, newest first (revoked ones included, marked).
pub async fn list(db: &Db, scope: &Scope, service_id: &str) -> Result<Vec<ApiToken>> {
    if !scope.can_see(service_id) {
        return Err(StoreError::NotFound);
    }
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE service_id = $1 ORDER BY created_at DESC, id DESC"
    ))
    .bind(service_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// Revokes a token at once (idempotent).
pub async fn revoke(db: &Db, scope: &Scope, id: &str) -> PResult<()> {
    let token = get(db, scope, id).await?;
    if !scope.can_manage(&token.service_id) {
        return Err(ParquetError::forbidden(
            "Seul un responsable de l'administration peut révoquer un jeton d'API.",
        ));
    }
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(crate::now())
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut *tx,
        &scope.actor,
        "api_token.revoke",
        "api_token",
        Some(id),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The caller behind a raw token: unknown, revoked, a token of an inactive service (or of a service of an inactive
/// administration) or one whose creator was deactivated → Unauthenticated.
pub async fn authenticate(db: &Db, raw: &str, ip: Option<String>) -> PResult<ApiPrincipal> {
    let raw = raw.trim();
    if !raw.starts_with(TOKEN_PREFIX) {
        return Err(ParquetError::Unauthenticated);
    }
    let row = sqlx::query(
        "SELECT t.id, t.service_id, t.name, t.scopes, t.created_by, t.created_at, t.last_used_at, t.revoked_at \
         FROM api_tokens t JOIN organisations o ON o.id = t.service_id JOIN users u ON u.id = t.created_by \
         LEFT JOIN organisations p ON p.id = o.parent_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND o.active = 1 AND u.active = 1 \
         AND (p.id IS NULL OR p.active = 1)",
    )
    .bind(crate::sha256_hex(raw))
    .fetch_optional(db.pool())
    .await?
    .ok_or(ParquetError::Unauthenticated)?;
    let token = from_row(&row);
    let now = crate::now();
    // Written at most once a minute: a busy client must not turn every read into a write.
    sqlx::query(
        "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
    )
    .bind(&token.id)
    .bind(now)
    .bind(now - 60)
    .execute(db.pool())
    .await?;
    let actor = Actor {
        user_id: Some(token.created_by.clone()),
        label: format!("Jeton d'API « {} »", token.name),
        role: Some(Role::AdminAgent),
        organisation_id: Some(token.service_id.clone()),
        ip,
    };
    let scope = Scope::for_service_token(actor, &token.service_id);
    Ok(ApiPrincipal { token, scope })
}

/// The referral already created with this idempotency key, if any: the same body replays it, another body is a
/// conflict (`StoreError::Conflict("idempotency_key")` → 409 / 422 per the API's policy).
pub(crate) async fn replay(
    db: &Db,
    token_id: &str,
    key: &str,
    request_hash: &str,
) -> PResult<Option<String>> {
    if key.trim().is_empty() || key.len() > 255 {
        return Err(ParquetError::invalid(
            "Idempotency-Key",
            K::Invalid,
            "La clé d'idempotence doit comporter de 1 à 255 caractères.",
        ));
    }
    let row = sqlx::query(
        "SELECT referral_id, request_hash FROM idempotency_keys WHERE token_id = $1 AND idem_key = $2",
    )
    .bind(token_id)
    .bind(key)
    .fetch_optional(db.pool())
    .await?;
    match row {
        None => Ok(None),
        Some(r) if r.get::<String, _>("request_hash") == request_hash => {
            Ok(Some(r.get("referral_id")))
        }
        Some(_) => Err(StoreError::Conflict("idempotency_key".into()).into()),
    }
}
