//! Agents' accounts. Reads of other users go through the scope; login looks a user up by e-mail before any scope
//! exists, which is the only unscoped read and returns nothing but what the login check needs.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::audit;
use crate::roles::Role;
use crate::{Actor, Db, Result, Scope, StoreError};

/// Failed attempts that lock an account, and for how long (10 failures, 15 minutes: docs/ARCHITECTURE.md, account security).
pub const LOCKOUT_THRESHOLD: i64 = 10;
pub const LOCKOUT_SECS: i64 = 15 * 60;

#[derive(Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub organisation_id: String,
    pub organisation_name: String,
    pub password_hash: Option<String>,
    pub active: bool,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
    pub totp_secret: Option<String>,
    pub totp_enabled: bool,
    pub last_login_at: Option<i64>,
    pub created_at: i64,
}

impl std::fmt::Debug for User {
    // Never prints the password hash or the TOTP secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("organisation_id", &self.organisation_id)
            .finish_non_exhaustive()
    }
}

impl User {
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    pub fn is_locked(&self, now: i64) -> bool {
        self.locked_until.is_some_and(|t| t > now)
    }
}

#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub organisation_id: String,
    pub password_hash: Option<String>,
}

const SELECT: &str = "SELECT u.id, u.email, u.first_name, u.last_name, u.role, u.organisation_id, \
    o.name AS organisation_name, u.password_hash, u.active, u.failed_logins, u.locked_until, u.totp_secret, \
    u.totp_enabled, u.last_login_at, u.created_at FROM users u JOIN organisations o ON o.id = u.organisation_id";

fn from_row(r: &AnyRow) -> Result<User> {
    let role: String = r.get("role");
    Ok(User {
        id: r.get("id"),
        email: r.get("email"),
        first_name: r.get("first_name"),
        last_name: r.get("last_name"),
        role: role.parse().map_err(|_| {
            StoreError::Database(sqlx::Error::Decode(format!("unknown role {role}").into()))
        })?,
        organisation_id: r.get("organisation_id"),
        organisation_name: r.get("organisation_name"),
        password_hash: r.get("password_hash"),
        active: crate::flag(r, "active"),
        failed_logins: r.get("failed_logins"),
        locked_until: r.get("locked_until"),
        totp_secret: r.get("totp_secret"),
        totp_enabled: crate::flag(r, "totp_enabled"),
        last_login_at: r.get("last_login_at"),
        created_at: r.get("created_at"),
    })
}

/// Creates a user. The caller has checked that `actor` may do so (see `Scope::can_manage`).
pub async fn create(db: &Db, actor: &Actor, new: &NewUser) -> Result<User> {
    let id = crate::new_id();
    let now = crate::now();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO users (id, email, first_name, last_name, role, organisation_id, password_hash, active, \
         failed_logins, totp_enabled, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, 0, 0, $8, $8)",
    )
    .bind(&id)
    .bind(new.email.to_lowercase())
    .bind(&new.first_name)
    .bind(&new.last_name)
    .bind(new.role.as_str())
    .bind(&new.organisation_id)
    .bind(new.password_hash.as_deref())
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(|e| match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict("users_email".into()),
        other => other,
    })?;
    audit::record(
        &mut *tx,
        actor,
        "user.create",
        "user",
        Some(&id),
        Some(
            serde_json::json!({"email": new.email.to_lowercase(), "role": new.role.as_str(),
            "organisation_id": new.organisation_id}),
        ),
    )
    .await?;
    tx.commit().await?;
    get_unscoped(db, &id).await
}

/// Unscoped read, for the login and session checks only.
pub async fn get_unscoped(db: &Db, id: &str) -> Result<User> {
    let row = sqlx::query(&format!("{SELECT} WHERE u.id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
    from_row(&row)
}

/// Unscoped read by e-mail, for the login and password-reset forms only.
pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<User>> {
    let row = sqlx::query(&format!("{SELECT} WHERE u.email = $1"))
        .bind(email.trim().to_lowercase())
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// A user of an organisation the scope can see; otherwise NotFound.
pub async fn get(db: &Db, scope: &Scope, id: &str) -> Result<User> {
    let (cond, binds) = scope.visible_filter("u.organisation_id", 2);
    let sql = format!("{SELECT} WHERE u.id = $1 AND {cond}");
    let mut q = sqlx::query(&sql).bind(id);
    for b in &binds {
        q = q.bind(b);
    }
    let row = q
        .fetch_optional(db.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
    from_row(&row)
}

/// A user the scope manages; otherwise NotFound.
pub async fn get_managed(db: &Db, scope: &Scope, id: &str) -> Result<User> {
    let (cond, binds) = scope.managed_filter("u.organisation_id", 2);
    let sql = format!("{SELECT} WHERE u.id = $1 AND {cond}");
    let mut q = sqlx::query(&sql).bind(id);
    for b in &binds {
        q = q.bind(b);
    }
    let row = q
        .fetch_optional(db.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
    from_row(&row)
}

/// Users the scope manages, by organisation then name.
pub async fn list_managed(db: &Db, scope: &Scope) -> Result<Vec<User>> {
    let (cond, binds) = scope.managed_filter("u.organisation_id", 1);
    let sql = format!("{SELECT} WHERE {cond} ORDER BY o.name, u.last_name, u.first_name");
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b);
    }
    q.fetch_all(db.pool()).await?.iter().map(from_row).collect()
}

/// Users of one organisation with one of `roles` (e.g. the CPIPs of a SPIP), for pickers.
pub async fn list_in_org_with_roles(
    db: &Db,
    scope: &Scope,
    organisation_id: &str,
    roles: &[Role],
) -> Result<Vec<User>> {
    if !scope.can_see(organisation_id) || roles.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "{SELECT} WHERE u.organisation_id = $1 AND u.active = 1 AND u.role IN ({}) ORDER BY u.last_name",
        crate::placeholders(2, roles.len())
    );
    let mut q = sqlx::query(&sql).bind(organisation_id);
    for r in roles {
        q = q.bind(r.as_str());
    }
    q.fetch_all(db.pool()).await?.iter().map(from_row).collect()
}

/// The failure count after one more failure (an expired lock starts a new count), as SQL over the old row.
const NEXT_FAILURES: &str =
    "CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN 1 ELSE failed_logins + 1 END";

/// Counts a failed password or code; locks the account for 15 minutes at the 10th failure in a row.
/// Returns the locked-until instant when the account is (now) locked. One `UPDATE … RETURNING`: parallel failures
/// are serialised by the row lock, none is lost.
pub async fn record_failed_login(db: &Db, user_id: &str, now: i64) -> Result<Option<i64>> {
    let row = sqlx::query(&format!(
        "UPDATE users SET failed_logins = {NEXT_FAILURES}, locked_until = CASE \
         WHEN locked_until IS NOT NULL AND locked_until > $2 THEN locked_until \
         WHEN {NEXT_FAILURES} >= $3 THEN $4 ELSE NULL END WHERE id = $1 RETURNING locked_until"
    ))
    .bind(user_id)
    .bind(now)
    .bind(LOCKOUT_THRESHOLD)
    .bind(now + LOCKOUT_SECS)
    .fetch_optional(db.pool())
    .await?;
    let locked: Option<i64> = row.and_then(|r| r.get(0));
    Ok(locked.filter(|t| *t > now))
}

/// What a login or second-factor attempt may do, decided before any password or code is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// The account is locked: check nothing.
    Locked,
    /// The attempt is counted as a failure in advance (`failures` so far, this one included); a success undoes
    /// it. `locks` is true when this attempt reached the threshold (the account is locked unless it succeeds).
    Counted { failures: i64, locks: bool },
}

/// Counts an attempt *before* checking it, in one atomic `UPDATE … RETURNING` that refuses a locked account: so
/// parallel guesses cannot all pass the lock check first — at most 10 are ever checked per lock period, on
/// PostgreSQL as on SQLite. A correct password or code then calls [`record_login_success`] (or
/// [`release_attempt`] after a password whose second factor is still to come).
pub async fn claim_attempt(db: &Db, user_id: &str, now: i64) -> Result<Attempt> {
    let row = sqlx::query(&format!(
        "UPDATE users SET failed_logins = {NEXT_FAILURES}, \
         locked_until = CASE WHEN {NEXT_FAILURES} >= $3 THEN $4 ELSE NULL END \
         WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) RETURNING failed_logins"
    ))
    .bind(user_id)
    .bind(now)
    .bind(LOCKOUT_THRESHOLD)
    .bind(now + LOCKOUT_SECS)
    .fetch_optional(db.pool())
    .await?;
    Ok(match row {
        None => Attempt::Locked,
        Some(r) => {
            let failures: i64 = r.get(0);
            Attempt::Counted {
                failures,
                locks: failures == LOCKOUT_THRESHOLD,
            }
        }
    })
}

/// Undoes a claimed attempt whose password was right while the second factor is still to give: the failure
/// count stays as it was (it is not reset, so code guesses keep adding up towards the lockout).
pub async fn release_attempt(db: &Db, user_id: &str) -> Result<()> {
    sqlx::query(
        "UPDATE users SET failed_logins = CASE WHEN failed_logins > 0 THEN failed_logins - 1 ELSE 0 END, \
         locked_until = CASE WHEN failed_logins - 1 >= $2 THEN locked_until ELSE NULL END WHERE id = $1",
    )
    .bind(user_id)
    .bind(LOCKOUT_THRESHOLD)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Accepts a TOTP time step once: true only if `step` is later than the last accepted one (a code cannot be
/// replayed, even in another session within its window). Atomic, so two parallel uses of one code get one `true`.
pub async fn accept_totp_step(db: &Db, user_id: &str, step: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET totp_last_step = $2 WHERE id = $1 \
         AND (totp_last_step IS NULL OR totp_last_step < $2)",
    )
    .bind(user_id)
    .bind(step)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn record_login_success(db: &Db, user_id: &str, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = $2 WHERE id = $1",
    )
    .bind(user_id)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Sets a new password hash; also lifts a lockout (the owner proved control of the mailbox or is logged in).
pub async fn set_password(db: &Db, actor: &Actor, user_id: &str, hash: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE users SET password_hash = $2, failed_logins = 0, locked_until = NULL, updated_at = $3 WHERE id = $1",
    )
    .bind(user_id)
    .bind(hash)
    .bind(crate::now())
    .execute(&mut *tx)
    .await?;
    // A new password voids every reset or invitation link still outstanding.
    crate::sessions::void_user_tokens(&mut *tx, user_id, crate::now()).await?;
    audit::record(
        &mut *tx,
        actor,
        "user.password_change",
        "user",
        Some(user_id),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Stores a TOTP secret (as given: the web layer encrypts it) and its hashed recovery codes, and turns the second factor on.
pub async fn enable_totp(
    db: &Db,
    actor: &Actor,
    user_id: &str,
    secret: &str,
    confirmed_step: i64,
    recovery_code_hashes: &[String],
) -> Result<()> {
    let mut tx = db.begin().await?;
    // The code that confirmed the enrolment is spent too: it cannot open a session afterwards.
    sqlx::query(
        "UPDATE users SET totp_secret = $2, totp_enabled = 1, updated_at = $3, totp_last_step = $4 WHERE id = $1",
    )
    .bind(user_id)
    .bind(secret)
    .bind(crate::now())
    .bind(confirmed_step)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    for h in recovery_code_hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user_id)
            .bind(h)
            .execute(&mut *tx)
            .await?;
    }
    audit::record(
        &mut *tx,
        actor,
        "user.totp_enable",
        "user",
        Some(user_id),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Uses a recovery code once; true when it was valid and unused.
pub async fn use_recovery_code(db: &Db, user_id: &str, code_hash: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(code_hash)
    .bind(crate::now())
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Changes role and active flag of a managed user; deactivation revokes every session and API token at once.
pub async fn update_access(
    db: &Db,
    scope: &Scope,
    user_id: &str,
    role: Role,
    active: bool,
) -> Result<User> {
    let before = get_managed(db, scope, user_id).await?;
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE users SET role = $2, active = $3, updated_at = $4 WHERE id = $1")
        .bind(user_id)
        .bind(role.as_str())
        .bind(i64::from(active))
        .bind(crate::now())
        .execute(&mut *tx)
        .await?;
    if !active {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        // The API tokens the user created stop with the account (a later reactivation does not revive them).
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2 WHERE created_by = $1 AND revoked_at IS NULL",
        )
        .bind(user_id)
        .bind(crate::now())
        .execute(&mut *tx)
        .await?;
    }
    audit::record(
        &mut *tx,
        &scope.actor,
        "user.update_access",
        "user",
        Some(user_id),
        Some(
            serde_json::json!({"role": [before.role.as_str(), role.as_str()],
            "active": [before.active, active]}),
        ),
    )
    .await?;
    tx.commit().await?;
    get_unscoped(db, user_id).await
}
