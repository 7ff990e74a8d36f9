//! Demo data of Info Parquet, created idempotently after the organisations and accounts: the NATINF sample, a
//! second administration's agent, a second parquet (for transfers), and referrals of both demo administrations to
//! the Parquet de Nanterre at every stage of their life, with messages. No API token is created (tests make their
//! own): a token printed in logs would be a bad example.

use anyhow::{Context, Result};
use chrono::{Duration, NaiveDate};
use domain::{AlternativeKind, ClassementReason, ReferralDecision};
use store::orgs::{self, NewOrganisation};
use store::parquet::referrals::{
    self, FactsInput, NewReferral, PersonInput, PlaceInput, ReferralFilter, SubmitInput,
    UrgencyInput,
};
use store::parquet::{messages, natinf};
use store::roles::{OrgKind, Role};
use store::users::{self, NewUser};
use store::{Actor, Db, Scope};

use crate::demo::{DemoOrgs, DEMO_PASSWORD};

pub const DGFIP_AGENT: &str = "agent@demo-dgfip.passerelle.fr";

async fn scope_of(db: &Db, email: &str) -> Result<Scope> {
    let u = users::find_by_email(db, email)
        .await?
        .with_context(|| format!("compte de démonstration absent : {email}"))?;
    Ok(Scope::for_user(db, &u.id, &u.email, u.role, &u.organisation_id, None).await?)
}

fn day(offset: i64) -> String {
    let today: NaiveDate = store::now_utc().date_naive();
    (today + Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

struct Spec<'a> {
    facts: &'a str,
    start: i64,
    end: Option<i64>,
    insee: &'a str,
    address: &'a str,
    offences: &'a [&'a str],
    urgent: Option<&'a str>,
    reference: &'a str,
    persons: Vec<PersonInput>,
}

fn company(name: &str, siren: &str, insee: &str) -> PersonInput {
    PersonInput {
        kind: "legal".into(),
        role: "suspect".into(),
        legal_name: name.into(),
        siren: siren.into(),
        residence_insee: insee.into(),
        ..Default::default()
    }
}

fn person(role: &str, first: &str, last: &str) -> PersonInput {
    PersonInput {
        kind: "natural".into(),
        role: role.into(),
        first_name: first.into(),
        last_name: last.into(),
        ..Default::default()
    }
}

async fn file(db: &Db, scope: &Scope, s: Spec<'_>) -> Result<String> {
    let input = NewReferral {
        internal_reference: s.reference.into(),
        facts: FactsInput {
            description: s.facts.into(),
            start_date: day(s.start),
            end_date: s.end.map(day).unwrap_or_default(),
        },
        places: vec![PlaceInput {
            insee: s.insee.into(),
            address: s.address.into(),
        }],
        persons: s.persons,
        offences: s.offences.iter().map(|c| c.to_string()).collect(),
        urgency: UrgencyInput {
            urgent: s.urgent.is_some(),
            reason: s.urgent.unwrap_or_default().into(),
        },
        submit: SubmitInput {
            art40_declaration: true,
            parquet_id: None,
            override_reason: String::new(),
        },
    };
    let (r, _) = referrals::create_submitted(db, scope, &input, None)
        .await
        .map_err(|e| anyhow::anyhow!("signalement de démonstration refusé : {e}"))?;
    Ok(r.id)
}

fn p<T>(r: store::parquet::PResult<T>) -> Result<T> {
    r.map_err(|e| anyhow::anyhow!("{e}"))
}

pub async fn seed(db: &Db, orgs: &DemoOrgs) -> Result<()> {
    let sys = Actor::system("demo");
    let rows = natinf::parse_csv(include_str!("../../../data/natinf-echantillon.csv"))
        .map_err(|e| anyhow::anyhow!("échantillon NATINF invalide : {}", e.join(" ")))?;
    natinf::import(db, &sys, &rows).await?;

    // The second demo administration gets an agent, so that both write referrals (and one sees the other's 404).
    let dgfip_service =
        match orgs::find_by_name(db, OrgKind::Service, "Pôle de contrôle fiscal").await? {
            Some(o) => o,
            None => {
                orgs::create(
                    db,
                    &sys,
                    &NewOrganisation {
                        kind: OrgKind::Service,
                        name: "Pôle de contrôle fiscal".into(),
                        parent_id: Some(orgs.dgfip.id.clone()),
                        departement: Some("92".into()),
                        time_zone: "Europe/Paris".into(),
                        address: None,
                        phone: None,
                        email: None,
                    },
                )
                .await?
            }
        };
    if users::find_by_email(db, DGFIP_AGENT).await?.is_none() {
        users::create(
            db,
            &sys,
            &NewUser {
                email: DGFIP_AGENT.into(),
                first_name: "Marc".into(),
                last_name: "Petit".into(),
                role: Role::AdminAgent,
                organisation_id: dgfip_service.id.clone(),
                password_hash: Some(web::password::hash(DEMO_PASSWORD)),
            },
        )
        .await?;
    }
    // A second parquet, to show a transfer.
    let tj_v =
        match orgs::find_by_name(db, OrgKind::Tj, "Tribunal judiciaire de Versailles").await? {
            Some(o) => o,
            None => {
                orgs::create(
                    db,
                    &sys,
                    &NewOrganisation {
                        kind: OrgKind::Tj,
                        name: "Tribunal judiciaire de Versailles".into(),
                        parent_id: None,
                        departement: Some("78".into()),
                        time_zone: "Europe/Paris".into(),
                        address: Some("5 place André Mignot, 78000 Versailles".into()),
                        phone: None,
                        email: None,
                    },
                )
                .await?
            }
        };
    let versailles = match orgs::find_by_name(db, OrgKind::Parquet, "Parquet de Versailles").await?
    {
        Some(o) => o,
        None => {
            orgs::create(
                db,
                &sys,
                &NewOrganisation {
                    kind: OrgKind::Parquet,
                    name: "Parquet de Versailles".into(),
                    parent_id: Some(tj_v.id.clone()),
                    departement: Some("78".into()),
                    time_zone: "Europe/Paris".into(),
                    address: Some("5 place André Mignot, 78000 Versailles".into()),
                    phone: None,
                    email: Some("permanence-parquet-versailles@demo.passerelle.fr".into()),
                },
            )
            .await?
        }
    };

    let any = referrals::list(
        db,
        &Scope::system("demo"),
        &ReferralFilter {
            limit: 1,
            ..Default::default()
        },
    )
    .await?;
    if !any.is_empty() {
        return Ok(());
    }

    let agent = scope_of(db, "agent@demo-inspection.passerelle.fr").await?;
    let dgfip = scope_of(db, DGFIP_AGENT).await?;
    let greffe = scope_of(db, "greffe-parquet@demo.passerelle.fr").await?;
    let magistrate = scope_of(db, "parquet@demo.passerelle.fr").await?;
    let magistrate_id = magistrate.actor.user_id.clone().unwrap_or_default();
    let _ = &orgs.parquet;

    // 1. A draft, to resume.
    let draft = p(referrals::create_draft(db, &agent).await)?;
    p(referrals::save_facts(
        db,
        &agent,
        &draft.id,
        &FactsInput {
            description: "Contrôle d'un restaurant : deux cuisiniers présents sans déclaration préalable à l'embauche (à compléter).".into(),
            start_date: day(-3),
            end_date: String::new(),
        },
    )
    .await)?;
    p(referrals::save_reference(db, &agent, &draft.id, "UC92-2026-051").await)?;

    // 2. Sent, not yet registered.
    file(db, &agent, Spec {
        facts: "Lors du contrôle du chantier de rénovation du 12 rue des Acacias, six ouvriers travaillaient sans déclaration préalable à l'embauche ; l'entreprise n'a présenté aucun registre du personnel.",
        start: -20, end: None, insee: "92050", address: "12 rue des Acacias",
        offences: &["7875"], urgent: None, reference: "UC92-2026-042",
        persons: vec![company("SARL Bâtiment Exemple", "900123456", "92050")],
    }).await?;

    // 3. Registered, with a complement request answered.
    let registered = file(db, &dgfip, Spec {
        facts: "Vérification de comptabilité : chiffre d'affaires d'un commerce de détail minoré par l'usage d'un logiciel de caisse permettant l'effacement de ventes ; salariés rémunérés hors bulletin de paie.",
        start: -400, end: Some(-60), insee: "92012", address: "",
        offences: &["7875"], urgent: None, reference: "PCF-2026-117",
        persons: vec![company("SAS Commerce Exemple", "900543216", "92012")],
    }).await?;
    p(referrals::register(db, &greffe, &registered, "PARQ-92-2026-0101").await)?;
    p(messages::post(db, &greffe, &registered, "Merci de nous transmettre la liste des salariés concernés et les relevés du logiciel de caisse.", true).await)?;
    p(messages::post(db, &dgfip, &registered, "Les relevés sont en cours d'extraction ; nous les joindrons à un message d'ici la fin de la semaine.", false).await)?;

    // 4. Assigned to a magistrate.
    let assigned = file(db, &agent, Spec {
        facts: "Trois ressortissants étrangers employés dans une blanchisserie industrielle sans autorisation de travail ; l'employeur déclare ignorer leur situation.",
        start: -45, end: None, insee: "92050", address: "Zone d'activités des Guilleraies",
        offences: &["25015", "7875"], urgent: None, reference: "UC92-2026-038",
        persons: vec![company("Blanchisserie Exemple", "900123456", "92050")],
    }).await?;
    p(referrals::register(db, &greffe, &assigned, "PARQ-92-2026-0102").await)?;
    p(referrals::assign(db, &greffe, &assigned, &magistrate_id).await)?;

    // 5. Under investigation.
    let investigated = file(db, &agent, Spec {
        facts: "Sous-traitance en cascade sur un chantier de logements : des salariés détachés non déclarés, rémunérés en espèces.",
        start: -90, end: Some(-30), insee: "92012", address: "Chantier de l'île Seguin",
        offences: &["7875"], urgent: None, reference: "UC92-2026-021",
        persons: vec![],
    }).await?;
    p(referrals::register(db, &greffe, &investigated, "PARQ-92-2026-0103").await)?;
    p(referrals::assign(db, &greffe, &investigated, &magistrate_id).await)?;
    p(referrals::start_investigation(db, &magistrate, &investigated).await)?;

    // 6–8. Decided: poursuites (with a hearing date), alternative, classement with its reason.
    let pursued = file(db, &agent, Spec {
        facts: "Gérant d'une entreprise de nettoyage employant de façon habituelle des salariés non déclarés, malgré un précédent procès-verbal.",
        start: -200, end: Some(-150), insee: "92050", address: "",
        offences: &["7875"], urgent: None, reference: "UC92-2026-310",
        persons: vec![person("suspect", "Jean", "Exemple")],
    }).await?;
    p(referrals::register(db, &greffe, &pursued, "PARQ-92-2026-0090").await)?;
    p(referrals::assign(db, &greffe, &pursued, &magistrate_id).await)?;
    p(referrals::decide(
        db,
        &magistrate,
        &pursued,
        &ReferralDecision::Poursuites {
            court_date: NaiveDate::parse_from_str(&day(75), "%Y-%m-%d").ok(),
        },
        Some("Citation devant le tribunal correctionnel de Nanterre."),
    )
    .await)?;
    p(messages::post(
        db,
        &magistrate,
        &pursued,
        "L'inspecteur du travail pourra être cité comme témoin à l'audience.",
        false,
    )
    .await)?;

    let alternative = file(db, &dgfip, Spec {
        facts: "Activité de livraison exercée sans immatriculation ni déclaration auprès des organismes sociaux, sur dix-huit mois.",
        start: -300, end: Some(-120), insee: "92012", address: "",
        offences: &["7875"], urgent: None, reference: "PCF-2026-044",
        persons: vec![person("suspect", "Paul", "Exemple")],
    }).await?;
    p(referrals::register(db, &greffe, &alternative, "PARQ-92-2026-0091").await)?;
    p(referrals::decide(db, &magistrate, &alternative, &ReferralDecision::AlternativeAuxPoursuites {
        alternative: AlternativeKind::Regularisation,
    }, Some("Classement sous condition de régularisation auprès de l'URSSAF dans un délai de trois mois.")).await)?;

    let dismissed = file(db, &agent, Spec {
        facts: "Disparition de matériel sur un chantier contrôlé ; l'entreprise soupçonne un ancien salarié sans pouvoir l'identifier.",
        start: -160, end: None, insee: "92050", address: "",
        offences: &["7151"], urgent: None, reference: "UC92-2026-290",
        persons: vec![],
    }).await?;
    p(referrals::register(db, &greffe, &dismissed, "PARQ-92-2026-0092").await)?;
    p(referrals::decide(
        db,
        &magistrate,
        &dismissed,
        &ReferralDecision::ClassementSansSuite {
            reason: ClassementReason::AuteurInconnu,
        },
        Some("L'enquête n'a pas permis d'identifier l'auteur des faits."),
    )
    .await)?;

    // 9. Urgent, not yet acknowledged: on top of the parquet's inbox.
    file(db, &agent, Spec {
        facts: "Hébergement collectif indigne de travailleurs au-dessus de l'atelier : installation électrique dangereuse, aucune issue de secours. Risque immédiat pour les occupants.",
        start: -1, end: None, insee: "92050", address: "8 allée des Tilleuls",
        offences: &["25015"], urgent: Some("Danger immédiat pour une dizaine de personnes logées sur place."),
        reference: "UC92-2026-055",
        persons: vec![company("Atelier Exemple", "900543216", "92050")],
    }).await?;

    // 10. Transferred to another parquet (not competent).
    let transferred = file(db, &agent, Spec {
        facts: "Travail dissimulé constaté sur un stand d'un marché ; le siège de l'entreprise et l'essentiel de l'activité sont dans les Yvelines.",
        start: -30, end: None, insee: "92050", address: "Marché du centre",
        offences: &["7875"], urgent: None, reference: "UC92-2026-047",
        persons: vec![],
    }).await?;
    p(referrals::transfer(db, &greffe, &transferred, &versailles.id, "Le siège et l'activité principale de l'entreprise sont à Versailles : le parquet de Versailles est compétent.").await)?;
    backdate(db).await
}

/// The referrals above were all filed "now"; spread them over the past months, keeping each one's order of events,
/// so that lists, delays and statistics look like a service in use (the urgent one stays fresh).
async fn backdate(db: &Db) -> Result<()> {
    use sqlx::Row;
    const DAY: i64 = 86_400;
    let now = store::now();
    let rows = sqlx::query(
        "SELECT id, status, urgent, acknowledged_at FROM referrals ORDER BY tracking_number DESC",
    )
    .fetch_all(db.pool())
    .await?;
    for (i, r) in rows.iter().enumerate() {
        let id: String = r.get("id");
        let status: String = r.get("status");
        let urgent_unacknowledged =
            r.get::<i64, _>("urgent") != 0 && r.get::<Option<i64>, _>("acknowledged_at").is_none();
        if urgent_unacknowledged || status == "draft" {
            continue;
        }
        // Sent 10 to 150 days ago; registered 4 days later; assigned 2, investigation 5, decision 40 days after that.
        let sent = now - (10 + 20 * i as i64) * DAY - 3600 * (i as i64 % 7);
        let registered = sent + 4 * DAY + 3 * 3600;
        let at_of = |to: &str| match to {
            "sent" | "transferred" => sent,
            "registered" => registered,
            "assigned" => registered + 2 * DAY,
            "under_investigation" => registered + 7 * DAY,
            _ => (registered + 40 * DAY).min(now - DAY),
        };
        for to in [
            "sent",
            "transferred",
            "registered",
            "assigned",
            "under_investigation",
            "decided",
        ] {
            sqlx::query(
                "UPDATE referral_events SET at = $1 WHERE referral_id = $2 AND to_status = $3",
            )
            .bind(at_of(to))
            .bind(&id)
            .bind(to)
            .execute(db.pool())
            .await?;
        }
        let last: i64 = sqlx::query("SELECT MAX(at) FROM referral_events WHERE referral_id = $1")
            .bind(&id)
            .fetch_one(db.pool())
            .await?
            .get::<Option<i64>, _>(0)
            .unwrap_or(sent);
        sqlx::query(
            "UPDATE referrals SET created_at = $2 - 3600, sent_at = $2, \
             registered_at = CASE WHEN registered_at IS NULL THEN NULL ELSE $3 END, \
             decided_at = CASE WHEN decided_at IS NULL THEN NULL ELSE $4 END, \
             acknowledged_at = CASE WHEN acknowledged_at IS NULL THEN NULL ELSE $2 + 1800 END, \
             last_status_change_at = $5, updated_at = $5 WHERE id = $1",
        )
        .bind(&id)
        .bind(sent)
        .bind(registered)
        .bind(at_of("decided"))
        .bind(last)
        .execute(db.pool())
        .await?;
        sqlx::query(
            "UPDATE referral_messages SET created_at = $2 + 86400 * 2 WHERE referral_id = $1",
        )
        .bind(&id)
        .bind(registered)
        .execute(db.pool())
        .await?;
    }
    Ok(())
}
