//! Demo measures: the documented demo person (mobile 06 12 34 56 78, SPIP 92) gets a sursis probatoire with three
//! obligations, and about twenty other demo persons get measures so that the agents' pages look real.
//! Idempotent, and independent of who created the persons: nothing happens for a person absent from the database.

use anyhow::Result;
use chrono::{DateTime, Duration, Months, Utc};
use store::msj::measures::{self, MeasureInput};
use store::msj::ppsmj;
use store::{Db, Scope};

/// The demo person's mobile (DESIGN.md), stored in E.164.
pub const DEMO_PERSON_PHONE: &str = "+33612345678";
/// How many other demo persons get a measure.
const OTHERS: usize = 20;

const KINDS: [&str; 9] = [
    "sursis_probatoire",
    "tig",
    "sursis_tig",
    "ddse",
    "liberation_conditionnelle",
    "suivi_socio_judiciaire",
    "controle_judiciaire",
    "semi_liberte",
    "placement_exterieur",
];

const OBLIGATION_SETS: [&[&str]; 5] = [
    &["activite", "convocations"],
    &["soins", "residence"],
    &["indemniser", "ressources", "convocations"],
    &["pas_de_contact", "pas_de_lieu"],
    &["stage"],
];

fn input(kind: &str, start: chrono::NaiveDate, months: u32, obligations: &[&str]) -> MeasureInput {
    MeasureInput {
        kind: kind.into(),
        decision_date: (start - Duration::days(12)).to_string(),
        start_date: start.to_string(),
        end_date: (start + Months::new(months)).to_string(),
        court: "Tribunal judiciaire de Nanterre".into(),
        obligations: obligations.iter().map(|s| s.to_string()).collect(),
        details: Default::default(),
    }
}

/// Gives measures to the demo person and to [`OTHERS`] other persons, unless they already have some.
pub async fn seed_demo_measures(db: &Db, now: i64) -> Result<()> {
    let sys = Scope::system("demo");
    let today = DateTime::<Utc>::from_timestamp(now, 0)
        .unwrap_or_default()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    let demo_person = ppsmj::search(db, &sys, DEMO_PERSON_PHONE, false, 5)
        .await?
        .into_iter()
        .find(|p| p.phone.as_deref() == Some(DEMO_PERSON_PHONE));
    if let Some(p) = &demo_person {
        if measures::list_for_ppsmj(db, &sys, &p.id).await?.is_empty() {
            let start = today - Months::new(4);
            let mut m = input(
                "sursis_probatoire",
                start,
                24,
                &["activite", "soins", "residence"],
            );
            m.details.insert(
                "soins".into(),
                "Suivi en addictologie, un rendez-vous par mois".into(),
            );
            measures::create(db, &sys, &p.id, &m, now).await?;
        }
    }
    let others = ppsmj::list(db, &sys, None, false, 200, 0).await?;
    for (i, p) in others
        .iter()
        .filter(|p| Some(&p.id) != demo_person.as_ref().map(|d| &d.id))
        .take(OTHERS)
        .enumerate()
    {
        if !measures::list_for_ppsmj(db, &sys, &p.id).await?.is_empty() {
            continue;
        }
        // Some measures started long ago, some recently, a few already over.
        let start = today - Duration::days(20 + 37 * i as i64);
        let months = [6, 12, 18, 24, 36][i % 5];
        let m = input(
            KINDS[i % KINDS.len()],
            start,
            months,
            OBLIGATION_SETS[i % OBLIGATION_SETS.len()],
        );
        measures::create(db, &sys, &p.id, &m, now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::msj::ppsmj::PpsmjInput;
    use store::orgs::{self, NewOrganisation};
    use store::roles::OrgKind;
    use store::testing::on_each_backend;
    use store::Actor;

    #[tokio::test]
    async fn the_demo_person_gets_one_measure_with_three_obligations_once() {
        on_each_backend(|db| async move {
            let now = 1_780_000_000;
            // Without the demo person nothing breaks and nothing is created.
            seed_demo_measures(&db, now).await.unwrap();
            let spip = orgs::create(
                &db,
                &Actor::system("test"),
                &NewOrganisation {
                    kind: OrgKind::Spip,
                    name: "SPIP des Hauts-de-Seine".into(),
                    parent_id: None,
                    departement: Some("92".into()),
                    time_zone: "Europe/Paris".into(),
                    address: None,
                    phone: None,
                    email: None,
                },
            )
            .await
            .unwrap();
            let sys = Scope::system("test");
            let mut ids = vec![];
            for (i, (first, phone)) in [("Personne", "06 12 34 56 78"), ("Autre", "06 99 99 99 99")]
                .into_iter()
                .enumerate()
            {
                let p = ppsmj::create(
                    &db,
                    &sys,
                    &spip.id,
                    &PpsmjInput {
                        first_name: first.into(),
                        last_name: format!("Démo{i}"),
                        birth_date: "1990-01-01".into(),
                        phone: phone.into(),
                        ..Default::default()
                    },
                    now,
                )
                .await
                .unwrap();
                ids.push(p.id);
            }
            seed_demo_measures(&db, now).await.unwrap();
            seed_demo_measures(&db, now + 60).await.unwrap();
            let mine = measures::list_for_ppsmj(&db, &sys, &ids[0]).await.unwrap();
            assert_eq!(mine.len(), 1);
            assert_eq!(mine[0].obligations.len(), 3);
            let other = measures::list_for_ppsmj(&db, &sys, &ids[1]).await.unwrap();
            assert_eq!(other.len(), 1, "other demo persons get one measure too");
        })
        .await;
    }
}
