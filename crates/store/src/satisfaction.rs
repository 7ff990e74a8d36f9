//! "Ce service vous aide-t-il ?": one question a month (score 1 to 5, optional comment) asked to agents on their
//! home page and to persons in their space; the national admin reads the results per month.
//!
//! The respondent is stored as a hash of (kind, id): enough to ask only once a month, not a way back from an
//! opinion to a person.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::msj::{FieldErrors, MsjError, MsjResult};
use crate::{Db, Result, Scope, StoreError};

/// Longest comment kept.
pub const COMMENT_MAX_CHARS: usize = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Respondent {
    /// A PPSMJ in their space.
    Person,
    /// An agent (any role) on their home page.
    Agent,
}

impl Respondent {
    pub fn as_str(self) -> &'static str {
        match self {
            Respondent::Person => "person",
            Respondent::Agent => "agent",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Respondent::Person => "Personnes suivies",
            Respondent::Agent => "Agents",
        }
    }

    fn parse(s: &str) -> Option<Respondent> {
        match s {
            "person" => Some(Respondent::Person),
            "agent" => Some(Respondent::Agent),
            _ => None,
        }
    }
}

/// The month of `now` ('YYYY-MM'), in metropolitan French time: a month is the same for every respondent.
pub fn month_of(now: i64) -> String {
    DateTime::<Utc>::from_timestamp(now, 0)
        .unwrap_or_default()
        .with_timezone(&chrono_tz::Europe::Paris)
        .format("%Y-%m")
        .to_string()
}

fn respondent_hash(kind: Respondent, id: &str) -> String {
    crate::sha256_hex(&format!("satisfaction:{}:{id}", kind.as_str()))
}

/// Checks the answer: a score from 1 to 5, a comment of at most [`COMMENT_MAX_CHARS`] characters.
pub fn validate(
    score: &str,
    comment: &str,
) -> std::result::Result<(i64, Option<String>), FieldErrors> {
    let mut errors = FieldErrors::default();
    let score = match score.trim().parse::<i64>() {
        Ok(s) if (1..=5).contains(&s) => Some(s),
        _ if score.trim().is_empty() => {
            errors.push("score", "Choisissez une note de 1 à 5.");
            None
        }
        _ => {
            errors.push("score", "La note doit être un nombre de 1 à 5.");
            None
        }
    };
    let comment = Some(comment.trim().to_string()).filter(|c| !c.is_empty());
    if comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > COMMENT_MAX_CHARS)
    {
        errors.push(
            "comment",
            format!("Votre commentaire est trop long : {COMMENT_MAX_CHARS} caractères au plus."),
        );
    }
    match score {
        Some(s) if errors.is_empty() => Ok((s, comment)),
        _ => Err(errors),
    }
}

/// Whether this respondent already answered in the month of `now`.
pub async fn has_answered(
    db: &Db,
    kind: Respondent,
    respondent_id: &str,
    now: i64,
) -> Result<bool> {
    let found = sqlx::query(
        "SELECT id FROM satisfaction_answers WHERE respondent_hash = $1 AND month = $2",
    )
    .bind(respondent_hash(kind, respondent_id))
    .bind(month_of(now))
    .fetch_optional(db.pool())
    .await?;
    Ok(found.is_some())
}

/// Records an answer; a second answer in the same month is refused with a French message.
pub async fn record(
    db: &Db,
    kind: Respondent,
    respondent_id: &str,
    organisation_id: Option<&str>,
    score: &str,
    comment: &str,
    now: i64,
) -> MsjResult<()> {
    let (score, comment) = validate(score, comment).map_err(MsjError::Invalid)?;
    let r = sqlx::query(
        "INSERT INTO satisfaction_answers (id, respondent_kind, respondent_hash, month, score, comment, \
         organisation_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(crate::new_id())
    .bind(kind.as_str())
    .bind(respondent_hash(kind, respondent_id))
    .bind(month_of(now))
    .bind(score)
    .bind(comment)
    .bind(organisation_id)
    .bind(now)
    .execute(db.pool())
    .await;
    match r.map_err(StoreError::from) {
        Ok(_) => Ok(()),
        Err(StoreError::Conflict(_)) => Err(MsjError::Rule(
            "Vous avez déjà répondu ce mois-ci. Merci !".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Answers of one month from one kind of respondent.
#[derive(Clone, Debug, PartialEq)]
pub struct MonthResult {
    pub month: String,
    pub respondent: Respondent,
    pub count: i64,
    /// Number of answers per score, index 0 = score 1.
    pub distribution: [i64; 5],
    /// Most recent first.
    pub comments: Vec<String>,
}

impl MonthResult {
    pub fn average(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let total: i64 = self
            .distribution
            .iter()
            .enumerate()
            .map(|(i, n)| (i as i64 + 1) * n)
            .sum();
        total as f64 / self.count as f64
    }
}

/// Results per month (most recent first) and kind of respondent, for the national admin only (others: NotFound).
pub async fn results(db: &Db, scope: &Scope) -> Result<Vec<MonthResult>> {
    if !scope.is_national() {
        return Err(StoreError::NotFound);
    }
    let rows = sqlx::query(
        "SELECT month, respondent_kind, score, COUNT(*) AS n FROM satisfaction_answers \
         GROUP BY month, respondent_kind, score ORDER BY month DESC, respondent_kind",
    )
    .fetch_all(db.pool())
    .await?;
    let mut out: Vec<MonthResult> = vec![];
    for r in &rows {
        let month: String = r.get("month");
        let Some(respondent) = Respondent::parse(&r.get::<String, _>("respondent_kind")) else {
            continue;
        };
        let score: i64 = r.get("score");
        let n: i64 = r.get("n");
        let idx = match out
            .iter()
            .position(|m| m.month == month && m.respondent == respondent)
        {
            Some(i) => i,
            None => {
                out.push(MonthResult {
                    month,
                    respondent,
                    count: 0,
                    distribution: [0; 5],
                    comments: vec![],
                });
                out.len() - 1
            }
        };
        if (1..=5).contains(&score) {
            out[idx].distribution[(score - 1) as usize] += n;
            out[idx].count += n;
        }
    }
    let comments = sqlx::query(
        "SELECT month, respondent_kind, comment FROM satisfaction_answers WHERE comment IS NOT NULL \
         ORDER BY created_at DESC, id",
    )
    .fetch_all(db.pool())
    .await?;
    for r in &comments {
        let month: String = r.get("month");
        let respondent = Respondent::parse(&r.get::<String, _>("respondent_kind"));
        if let Some(m) = out
            .iter_mut()
            .find(|m| m.month == month && Some(m.respondent) == respondent)
        {
            m.comments.push(r.get("comment"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_score_outside_one_to_five_is_refused_in_french() {
        assert_eq!(
            validate("6", "").unwrap_err().get("score"),
            Some("La note doit être un nombre de 1 à 5.")
        );
        assert_eq!(
            validate("", "").unwrap_err().get("score"),
            Some("Choisissez une note de 1 à 5.")
        );
        assert_eq!(validate(" 4 ", "  ").unwrap(), (4, None));
    }

    #[test]
    fn a_long_comment_is_refused() {
        let err = validate("3", &"é".repeat(COMMENT_MAX_CHARS + 1)).unwrap_err();
        assert!(err.get("comment").unwrap().contains("500 caractères"));
        assert!(validate("3", &"é".repeat(COMMENT_MAX_CHARS)).is_ok());
    }

    #[test]
    fn the_month_is_the_one_in_paris() {
        // 2026-11-30 23:30 UTC is already December in Paris.
        assert_eq!(month_of(1_796_081_400), "2026-12");
    }
}
