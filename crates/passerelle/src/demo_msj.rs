//! Demo data of Mon Suivi Justice, created idempotently after the organisations and accounts: places, agendas and
//! weekly slots of the SPIP des Hauts-de-Seine and the TJ de Nanterre, ~200 people followed, a year of past
//! appointments (no-shows drop from ~25 % to ~10 % once reminders started, six months ago), upcoming appointments
//! with their messages, a few past appointments without outcome (the work queue), and an unrelated "SPIP de Paris"
//! with its own CPIP (scoping demonstrations).

use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Weekday};
use chrono_tz::Europe::Paris;
use store::msj::agendas::{self, SlotTypeInput};
use store::msj::appointments::{self, BookRequest, When};
use store::msj::places::{self, PlaceInput};
use store::msj::ppsmj::{self, PpsmjInput};
use store::orgs::{self, NewOrganisation};
use store::roles::{OrgKind, Role};
use store::users::{self, NewUser};
use store::{Actor, Db, Scope};

use crate::demo::{DemoOrgs, DEMO_PASSWORD};

const SPIP_TYPES: &[&str] = &[
    "sortie_audience_spip",
    "convocation_741_1",
    "premiere_convocation_spip",
    "convocation_suivi_spip",
    "convocation_suivi_telephonique",
    "visite_domicile",
    "convocation_ddse",
    "convocation_stage",
];
const TJ_TYPES: &[&str] = &[
    "sortie_audience_sap",
    "convocation_723_15",
    "rdv_suivi_jap",
    "convocation_application_peines",
    "sap_ddse",
    "debat_contradictoire",
    "rappel_obligations_jap",
    "convocation_greffe_sap",
];

const FIRST: &[&str] = &[
    "Lucas",
    "Léa",
    "Mohamed",
    "Camille",
    "Thomas",
    "Inès",
    "Hugo",
    "Manon",
    "Yanis",
    "Chloé",
    "Nicolas",
    "Sarah",
    "Maxime",
    "Emma",
    "Karim",
    "Julie",
    "Antoine",
    "Fatoumata",
    "Julien",
    "Laura",
    "Mehdi",
    "Océane",
    "Kevin",
    "Aïcha",
    "Romain",
    "Céline",
    "Sébastien",
    "Amandine",
    "Rayan",
    "Élodie",
    "Bruno",
    "Nathalie",
    "Jérémy",
    "Sonia",
    "Dylan",
    "Mélissa",
    "Franck",
    "Samia",
    "Loïc",
    "Ophélie",
];
const LAST: &[&str] = &[
    "Martin",
    "Bernard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Blanc",
    "Guérin",
    "Boyer",
    "Garnier",
    "Chevalier",
    "François",
    "Legrand",
    "Gauthier",
    "Perrin",
    "Robin",
    "Clément",
    "Morin",
    "Nicolas",
    "Henry",
    "Rousseau",
    "Mathieu",
    "Gaillard",
    "Diallo",
    "Traoré",
    "Nguyen",
    "Payet",
    "Hoarau",
];

/// Small deterministic generator: the same demo every time.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn paris(date: NaiveDate, h: u32, m: u32) -> i64 {
    Paris
        .from_local_datetime(&date.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap()))
        .earliest()
        .map(|t| t.timestamp())
        .unwrap_or_default()
}

fn weekday_on_or_before(mut d: NaiveDate) -> NaiveDate {
    while matches!(d.weekday(), Weekday::Sat | Weekday::Sun) || domain::is_public_holiday(d, "92") {
        d = d.pred_opt().unwrap();
    }
    d
}

fn weekday_on_or_after(mut d: NaiveDate) -> NaiveDate {
    while matches!(d.weekday(), Weekday::Sat | Weekday::Sun) || domain::is_public_holiday(d, "92") {
        d = d.succ_opt().unwrap();
    }
    d
}

async fn scope_of(db: &Db, email: &str) -> Result<(Scope, String)> {
    let u = users::find_by_email(db, email)
        .await?
        .with_context(|| format!("demo account {email}"))?;
    let scope = Scope::for_user(
        db,
        &u.id,
        &u.display_name(),
        u.role,
        &u.organisation_id,
        None,
    )
    .await?;
    Ok((scope, u.id))
}

/// The unrelated SPIP de Paris and its CPIP (created idempotently, independently of the rest).
async fn paris_spip(db: &Db) -> Result<()> {
    let a = Actor::system("demo");
    let org = match orgs::find_by_name(db, OrgKind::Spip, "SPIP de Paris").await? {
        Some(o) => o,
        None => {
            orgs::create(
                db,
                &a,
                &NewOrganisation {
                    kind: OrgKind::Spip,
                    name: "SPIP de Paris".into(),
                    parent_id: None,
                    departement: Some("75".into()),
                    time_zone: "Europe/Paris".into(),
                    address: Some("12-14 rue Charles Fourier, 75013 Paris".into()),
                    phone: Some("01 53 62 21 00".into()),
                    email: Some("spip75@demo.passerelle.fr".into()),
                },
            )
            .await?
        }
    };
    if users::find_by_email(db, "cpip-paris@demo.passerelle.fr")
        .await?
        .is_none()
    {
        users::create(
            db,
            &a,
            &NewUser {
                email: "cpip-paris@demo.passerelle.fr".into(),
                first_name: "Paul".into(),
                last_name: "Lemaire".into(),
                role: Role::Cpip,
                organisation_id: org.id.clone(),
                password_hash: Some(web::password::hash(DEMO_PASSWORD)),
            },
        )
        .await?;
    }
    Ok(())
}

struct Person {
    id: String,
    referent_scope: usize,
    /// Can get SMS reminders (a mobile, not refused, no STOP).
    sms: bool,
}

pub async fn seed(db: &Db, orgs: &DemoOrgs) -> Result<()> {
    paris_spip(db).await?;
    let sys = Scope::system("demo");
    if places::list(db, &sys, Some(&orgs.spip.id))
        .await?
        .iter()
        .any(|p| p.name == "SPIP 92 — Nanterre")
    {
        return demo_person(db, orgs).await;
    }
    let started = Instant::now();
    let now = store::now();
    let today = store::now_utc().with_timezone(&Paris).date_naive();
    let antenna = &orgs.antennas[1];

    // Places.
    let nanterre = places::create(
        db,
        &sys,
        &orgs.spip.id,
        &PlaceInput {
            name: "SPIP 92 — Nanterre".into(),
            address: "10 rue des Trois Fontanot, 92000 Nanterre".into(),
            phone: "01 47 29 50 00".into(),
            email: "spip92@demo.passerelle.fr".into(),
            accessibility: "Accès de plain-pied, ascenseur, toilettes accessibles. RER A Nanterre-Préfecture à 5 minutes à pied.".into(),
            documents_to_bring: "Pièce d'identité, convocation, justificatif de domicile récent, justificatifs d'emploi ou de formation, attestations de soins si obligation de soins.".into(),
            preparation_url: "https://www.justice.fr/fiche/suivi-spip".into(),
            active: true,
            ..Default::default()
        },
        now,
    )
    .await?;
    let boulogne = places::create(
        db,
        &sys,
        &antenna.id,
        &PlaceInput {
            name: "SPIP 92 — antenne de Boulogne-Billancourt".into(),
            address: "20 rue de Paris, 92100 Boulogne-Billancourt".into(),
            phone: "01 46 99 12 40".into(),
            accessibility: "Bâtiment ancien : 3 marches à l'entrée, rampe amovible sur demande à l'accueil. Métro ligne 9, Marcel Sembat.".into(),
            documents_to_bring: "Pièce d'identité, convocation, justificatifs demandés par votre conseiller.".into(),
            active: true,
            ..Default::default()
        },
        now,
    )
    .await?;
    let tribunal = places::create(
        db,
        &sys,
        &orgs.tj.id,
        &PlaceInput {
            name: "Tribunal judiciaire de Nanterre — service de l'application des peines".into(),
            address: "179-191 avenue Joliot-Curie, 92000 Nanterre".into(),
            phone: "01 40 97 10 10".into(),
            email: "sap.tj-nanterre@demo.passerelle.fr".into(),
            accessibility: "Entrée accessible par le parvis, contrôle de sécurité à l'entrée (prévoir 15 minutes).".into(),
            documents_to_bring: "Pièce d'identité, convocation, jugement si vous l'avez, justificatifs de ressources.".into(),
            active: true,
            ..Default::default()
        },
        now,
    )
    .await?;
    places::set_appointment_types(db, &sys, &nanterre.id, SPIP_TYPES).await?;
    places::set_appointment_types(db, &sys, &boulogne.id, SPIP_TYPES).await?;
    places::set_appointment_types(db, &sys, &tribunal.id, TJ_TYPES).await?;

    // Agendas: one per CPIP, the BEX "sortie d'audience" agenda, the JAP's.
    let claire = agendas::create(db, &sys, &nanterre.id, "Agenda de Claire Dubois", now).await?;
    let karim = agendas::create(db, &sys, &boulogne.id, "Agenda de Karim Benali", now).await?;
    let bex = agendas::create(db, &sys, &nanterre.id, "Sortie d'audience (BEX)", now).await?;
    let jap = agendas::create(
        db,
        &sys,
        &tribunal.id,
        "Cabinet du JAP — Hélène Fournier",
        now,
    )
    .await?;
    let sap_out = agendas::create(db, &sys, &tribunal.id, "Sortie d'audience SAP", now).await?;
    let weekly = |agenda: String,
                  ty: &'static str,
                  days: Vec<i64>,
                  times: Vec<&'static str>,
                  capacity: i64| {
        let mut v = vec![];
        for d in days {
            for t in &times {
                v.push((
                    agenda.clone(),
                    SlotTypeInput {
                        appointment_type_id: ty.into(),
                        weekday: d,
                        start: (*t).into(),
                        duration_minutes: 30,
                        capacity,
                    },
                ));
            }
        }
        v
    };
    let mut slot_types = weekly(
        bex.id.clone(),
        "sortie_audience_spip",
        vec![1, 2, 3, 4, 5],
        vec!["14:00", "15:00"],
        2,
    );
    slot_types.extend(weekly(
        sap_out.id.clone(),
        "sortie_audience_sap",
        vec![2, 4],
        vec!["14:00", "14:30"],
        2,
    ));
    slot_types.extend(weekly(
        jap.id.clone(),
        "convocation_application_peines",
        vec![1, 3],
        vec!["09:30", "10:00", "10:30"],
        1,
    ));
    for (agenda, input) in &slot_types {
        agendas::add_slot_type(db, &sys, agenda, input, now).await?;
    }

    // People followed.
    let (claire_scope, claire_id) = scope_of(db, "cpip@demo.passerelle.fr").await?;
    let (karim_scope, karim_id) = scope_of(db, "cpip2@demo.passerelle.fr").await?;
    let (bex_scope, _) = scope_of(db, "greffe-bex@demo.passerelle.fr").await?;
    let referents = [
        (&claire_scope, &claire_id, &orgs.spip.id, &claire, &nanterre),
        (&karim_scope, &karim_id, &antenna.id, &karim, &boulogne),
    ];
    let mut rng = Lcg(92);
    let mut people: Vec<Person> = vec![];
    let fixed: [(&str, &str, &str, &str, bool, bool); 3] = [
        (
            "Jean",
            "Dupont",
            "1985-03-12",
            "06 11 22 33 44",
            false,
            false,
        ),
        ("Nadia", "Bensaïd", "1992-07-01", "", true, false),
        (
            "Kévin",
            "Lebrun",
            "1999-11-23",
            "07 81 22 33 44",
            false,
            false,
        ),
    ];
    for i in 0..200usize {
        let r = if i % 4 == 3 { 1 } else { 0 };
        let (scope, referent_id, org_id, _, _) = referents[r];
        let mut input = if i < fixed.len() {
            let (f, l, b, p, no_phone, refused) = fixed[i];
            PpsmjInput {
                first_name: f.into(),
                last_name: l.into(),
                birth_date: b.into(),
                phone: p.into(),
                no_phone,
                refused_phone: refused,
                ..Default::default()
            }
        } else {
            let first = FIRST[(i * 7 + i / 40) % FIRST.len()];
            let last = LAST[(i * 13 + i / 42) % LAST.len()];
            let birth = NaiveDate::from_ymd_opt(
                1960 + (i * 17 % 46) as i32,
                1 + (i * 5 % 12) as u32,
                1 + (i * 11 % 28) as u32,
            )
            .unwrap();
            let (phone, no_phone, refused) = match i % 31 {
                5 | 17 => (String::new(), true, false),
                11 => (
                    "01 47 21 ".to_string() + &format!("{:02} {:02}", i % 100, (i / 3) % 100),
                    false,
                    true,
                ),
                23 => (String::new(), false, true),
                7 | 19 | 29 => (
                    format!(
                        "0692 {:02} {:02} {:02}",
                        10 + i % 90,
                        i % 100,
                        (i * 3) % 100
                    ),
                    false,
                    false,
                ),
                13 => (
                    format!(
                        "0690 {:02} {:02} {:02}",
                        10 + i % 90,
                        i % 100,
                        (i * 7) % 100
                    ),
                    false,
                    false,
                ),
                _ => (
                    format!(
                        "06 {:02} {:02} {:02} {:02}",
                        20 + i % 70,
                        (i / 7) % 100,
                        i % 100,
                        (i * 13) % 100
                    ),
                    false,
                    false,
                ),
            };
            PpsmjInput {
                first_name: first.into(),
                last_name: last.into(),
                birth_date: birth.to_string(),
                phone,
                no_phone,
                refused_phone: refused,
                email: if i % 5 == 0 {
                    format!(
                        "{}.{}{}@exemple.fr",
                        store::search_key(first).replace(' ', "-"),
                        store::search_key(last).replace(' ', "-"),
                        i
                    )
                } else {
                    String::new()
                },
                appi_number: if i % 3 == 0 {
                    format!("200{:05}", 10_000 + i * 37)
                } else {
                    String::new()
                },
                city: [
                    "Nanterre",
                    "Colombes",
                    "Gennevilliers",
                    "Boulogne-Billancourt",
                    "Clichy",
                    "Asnières-sur-Seine",
                ][i % 6]
                    .into(),
                ..Default::default()
            }
        };
        input.referent_user_id = Some(referent_id.clone());
        let p = ppsmj::create(db, scope, org_id, &input, now)
            .await
            .map_err(|e| anyhow::anyhow!("demo PPSMJ {i}: {e}"))?;
        people.push(Person {
            sms: p.sms_possible(),
            id: p.id,
            referent_scope: r,
        });
    }

    // A year of past follow-ups, written directly (booking refuses the past) with the same invariants: free-time
    // type (no slot capacity), a history line for the booking and one for the outcome.
    let six_months_ago = today - Duration::days(182);
    let mut appts: Vec<Vec<String>> = vec![];
    let mut hist: Vec<Vec<String>> = vec![];
    let mut queue_done = 0;
    for (i, person) in people.iter().enumerate() {
        let (_, referent_id, org_id, agenda, place) = referents[person.referent_scope];
        let label = if person.referent_scope == 0 {
            "Claire Dubois"
        } else {
            "Karim Benali"
        };
        let count = 3 + rng.below(6) as i64;
        for k in 0..count {
            let days_ago = 7 + k * 45 + rng.below(20) as i64;
            if days_ago > 360 {
                break;
            }
            let date = weekday_on_or_before(today - Duration::days(days_ago));
            let starts = paris(
                date,
                9 + rng.below(8) as u32,
                [0, 30][rng.below(2) as usize],
            );
            let roll = rng.below(100);
            // Reminders help those who get them: the others stay at the old rate.
            let no_show_rate = if date < six_months_ago || !person.sms {
                25
            } else {
                10
            };
            // Work queue: the most recent appointment of a few people was never given an outcome (Kévin Lebrun's
            // among them, for the browser test).
            let unrecorded = k == 0 && (i == 2 || (i % 37 == 5 && queue_done < 5));
            if unrecorded && i != 2 {
                queue_done += 1;
            }
            let state = if unrecorded {
                "booked"
            } else if roll < no_show_rate {
                "no_show"
            } else if roll < no_show_rate + 5 {
                "excused"
            } else {
                "fulfilled"
            };
            let id = store::new_id();
            let booked_at = starts - 86_400 * (14 + rng.below(20) as i64);
            let recorded_at = starts + 3_600 * (2 + rng.below(30) as i64);
            appts.push(vec![
                id.clone(),
                person.id.clone(),
                agenda.id.clone(),
                place.id.clone(),
                org_id.clone(),
                "convocation_suivi_spip".into(),
                starts.to_string(),
                date.to_string(),
                state.into(),
                referent_id.clone(),
                label.into(),
                if unrecorded {
                    String::new()
                } else {
                    referent_id.clone()
                },
                if unrecorded {
                    String::new()
                } else {
                    recorded_at.to_string()
                },
                booked_at.to_string(),
            ]);
            let details = serde_json::json!({"appointment_type_id": "convocation_suivi_spip", "agenda_id": agenda.id, "slot_id": null, "starts_at": starts, "previous_appointment_id": null}).to_string();
            hist.push(vec![
                store::new_id(),
                person.id.clone(),
                id.clone(),
                booked_at.to_string(),
                referent_id.clone(),
                label.into(),
                "appointment.book".into(),
                details,
            ]);
            if !unrecorded {
                hist.push(vec![
                    store::new_id(),
                    person.id.clone(),
                    id.clone(),
                    recorded_at.to_string(),
                    referent_id.clone(),
                    label.into(),
                    "appointment.outcome".into(),
                    serde_json::json!({"state": state}).to_string(),
                ]);
            }
        }
    }
    backfill(db, &appts, &hist, &people, now - 370 * 86_400).await?;
    // The SPIP and its antennas started SMS reminders six months ago (the before/after split of the statistics).
    for org in std::iter::once(&orgs.spip).chain(orgs.antennas.iter()) {
        store::msj::stats::set_reminders_started_on(
            db,
            &sys,
            &org.id,
            &six_months_ago.to_string(),
            now,
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo reminders start: {e}"))?;
    }

    // Upcoming follow-ups booked by the referents, with their messages, and BEX "sortie d'audience" bookings.
    for (i, person) in people.iter().enumerate().skip(3).take(70) {
        let (scope, _, _, agenda, _) = referents[person.referent_scope];
        let date = weekday_on_or_after(today + Duration::days(1 + (i as i64 * 3) % 50));
        let at = paris(date, 9 + (i as u32 % 8), [0, 30][i % 2]);
        book(
            db,
            scope,
            &person.id,
            &agenda.id,
            "convocation_suivi_spip",
            When::At(at),
            now,
        )
        .await?;
    }
    let slots =
        agendas::available_slots(db, &bex_scope, &bex.id, "sortie_audience_spip", now, 12).await?;
    for (person, slot) in people.iter().skip(150).zip(slots.iter()) {
        book(
            db,
            &bex_scope,
            &person.id,
            &bex.id,
            "sortie_audience_spip",
            When::Slot(slot.id.clone()),
            now,
        )
        .await?;
    }
    demo_person(db, orgs).await?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "MSJ demo data created"
    );
    Ok(())
}

/// The phone of the documented demo person of "Mon espace" (DESIGN.md, README).
pub const DEMO_PERSON_PHONE: &str = "+33612345678";

/// The documented demo person of the person's space: mobile 06 12 34 56 78, e-mail personne@demo.passerelle.fr,
/// followed by the SPIP 92 with Claire Dubois (cpip@demo.passerelle.fr) as referent, three upcoming appointments at
/// the Nanterre place (address, access, documents to bring) and three past ones. Created once (idempotent).
async fn demo_person(db: &Db, orgs: &DemoOrgs) -> Result<()> {
    let exists = sqlx::query("SELECT id FROM ppsmj WHERE phone = $1")
        .bind(DEMO_PERSON_PHONE)
        .fetch_optional(db.pool())
        .await?;
    if exists.is_some() {
        return Ok(());
    }
    let sys = Scope::system("demo");
    let (claire_scope, claire_id) = scope_of(db, "cpip@demo.passerelle.fr").await?;
    let place = places::list(db, &sys, Some(&orgs.spip.id))
        .await?
        .into_iter()
        .find(|p| p.name == "SPIP 92 — Nanterre")
        .context("demo place SPIP 92 — Nanterre")?;
    let agenda = agendas::list(db, &sys, Some(&place.id))
        .await?
        .into_iter()
        .find(|a| a.name == "Agenda de Claire Dubois")
        .context("demo agenda of Claire Dubois")?;
    let now = store::now();
    let today = store::now_utc().with_timezone(&Paris).date_naive();
    let p = ppsmj::create(
        db,
        &claire_scope,
        &orgs.spip.id,
        &PpsmjInput {
            first_name: "Yasmine".into(),
            last_name: "Haddad".into(),
            birth_date: "1994-05-17".into(),
            phone: "06 12 34 56 78".into(),
            email: "personne@demo.passerelle.fr".into(),
            city: "Nanterre".into(),
            referent_user_id: Some(claire_id.clone()),
            ..Default::default()
        },
        now,
    )
    .await
    .map_err(|e| anyhow::anyhow!("demo person: {e}"))?;
    for (days, h, m, ty) in [
        (3, 10, 0, "convocation_suivi_spip"),
        (17, 14, 30, "convocation_suivi_spip"),
        (31, 9, 30, "convocation_stage"),
    ] {
        let date = weekday_on_or_after(today + Duration::days(days));
        book(
            db,
            &claire_scope,
            &p.id,
            &agenda.id,
            ty,
            When::At(paris(date, h, m)),
            now,
        )
        .await?;
    }
    let mut tx = db.begin().await?;
    for (days, h, state) in [
        (14, 10, "fulfilled"),
        (45, 11, "no_show"),
        (80, 15, "fulfilled"),
    ] {
        let date = weekday_on_or_before(today - Duration::days(days));
        let starts = paris(date, h, 0);
        let id = store::new_id();
        sqlx::query(
            "INSERT INTO appointments (id, ppsmj_id, agenda_id, place_id, organisation_id, appointment_type_id, \
             starts_at, local_date, state, created_by, created_by_label, outcome_recorded_by, outcome_recorded_at, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'convocation_suivi_spip', $6, $7, $8, $9, \
             'Claire Dubois', $9, $10, $11, $10)",
        )
        .bind(&id)
        .bind(&p.id)
        .bind(&agenda.id)
        .bind(&place.id)
        .bind(&agenda.organisation_id)
        .bind(starts)
        .bind(date.to_string())
        .bind(state)
        .bind(&claire_id)
        .bind(starts + 3_600)
        .bind(starts - 20 * 86_400)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO ppsmj_history (id, ppsmj_id, appointment_id, at, actor_user_id, actor_label, action, details) \
             VALUES ($1, $2, $3, $4, $5, 'Claire Dubois', 'appointment.outcome', $6)",
        )
        .bind(store::new_id())
        .bind(&p.id)
        .bind(&id)
        .bind(starts + 3_600)
        .bind(&claire_id)
        .bind(serde_json::json!({ "state": state }).to_string())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn book(
    db: &Db,
    scope: &Scope,
    ppsmj_id: &str,
    agenda_id: &str,
    ty: &str,
    when: When,
    now: i64,
) -> Result<()> {
    let mut tx = db.begin().await?;
    let booked = appointments::book_tx(
        &mut tx,
        scope,
        &BookRequest {
            ppsmj_id: ppsmj_id.into(),
            agenda_id: agenda_id.into(),
            appointment_type_id: ty.into(),
            when,
            now,
        },
        None,
    )
    .await
    .map_err(|e| anyhow::anyhow!("demo booking: {e}"))?;
    web::handlers::msj::notify::enqueue_for(
        &mut tx,
        scope,
        &booked.messages,
        None,
        now,
        Some(domain::QuietHours::default()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Multi-row inserts of the past appointments and their history; the records are dated a year back.
async fn backfill(
    db: &Db,
    appts: &[Vec<String>],
    hist: &[Vec<String>],
    people: &[Person],
    created_at: i64,
) -> Result<()> {
    let mut tx = db.begin().await?;
    for chunk in appts.chunks(60) {
        let mut sql = String::from(
            "INSERT INTO appointments (id, ppsmj_id, agenda_id, place_id, organisation_id, appointment_type_id, starts_at, \
             local_date, state, created_by, created_by_label, outcome_recorded_by, outcome_recorded_at, created_at, updated_at) VALUES ",
        );
        for (r, _) in chunk.iter().enumerate() {
            let b = r * 14;
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9,
                b + 10,
                b + 11,
                b + 12,
                b + 13,
                b + 14,
                b + 14
            ));
        }
        let mut q = sqlx::query(&sql);
        for row in chunk {
            for (c, v) in row.iter().enumerate() {
                q = match c {
                    6 | 13 => q.bind(v.parse::<i64>().unwrap_or_default()),
                    12 => q.bind(v.parse::<i64>().ok()),
                    11 => q.bind((!v.is_empty()).then(|| v.clone())),
                    _ => q.bind(v.clone()),
                };
            }
        }
        q.execute(&mut *tx).await?;
    }
    for chunk in hist.chunks(100) {
        let mut sql = String::from(
            "INSERT INTO ppsmj_history (id, ppsmj_id, appointment_id, at, actor_user_id, actor_label, action, details) VALUES ",
        );
        for (r, _) in chunk.iter().enumerate() {
            let b = r * 8;
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8
            ));
        }
        let mut q = sqlx::query(&sql);
        for row in chunk {
            for (c, v) in row.iter().enumerate() {
                q = if c == 3 {
                    q.bind(v.parse::<i64>().unwrap_or_default())
                } else {
                    q.bind(v.clone())
                };
            }
        }
        q.execute(&mut *tx).await?;
    }
    // The records (and their "created" history line) date from before their first appointment.
    for chunk in people.chunks(100) {
        let list = (0..chunk.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        for sql in [
            format!("UPDATE ppsmj SET created_at = $1 WHERE id IN ({list})"),
            format!("UPDATE ppsmj_organisations SET since = $1 WHERE ppsmj_id IN ({list})"),
            format!("UPDATE ppsmj_history SET at = $1 WHERE action = 'ppsmj.create' AND ppsmj_id IN ({list})"),
        ] {
            let mut q = sqlx::query(&sql).bind(created_at);
            for p in chunk {
                q = q.bind(p.id.clone());
            }
            q.execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
