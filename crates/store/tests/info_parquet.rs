//! Database tests of Info Parquet, each run on a fresh SQLite and a fresh PostgreSQL database.

use domain::referral::CLASSEMENT_APPEAL_NOTICE;
use domain::{
    AlternativeKind, ClassementReason, NatinfCode, ReferralDecision, ReferralStatus,
    TransitionError,
};
use store::orgs::{self, NewOrganisation};
use store::parquet::referrals::{
    self, FactsInput, NewReferral, PersonInput, PlaceInput, ReferralFilter, SubmitInput,
    UrgencyInput,
};
use store::parquet::routing::{self, MissingReason, RoutingBasis};
use store::parquet::{attachments, messages, natinf, reminders, stats, tokens, ParquetError};
use store::refdata::{self, Commune, Juridiction};
use store::roles::{OrgKind, Role};
use store::testing::on_each_backend;
use store::users::{self, NewUser};
use store::{audit, outbox, Actor, Db, Scope, StoreError};

struct World {
    db: Db,
    admin: Scope,
    agent: Scope,
    agent_email: String,
    colleague: Scope,
    manager: Scope,
    stranger: Scope,
    greffe: Scope,
    magistrate: Scope,
    magistrate_id: String,
    paris_greffe: Scope,
    paris_magistrate: Scope,
    nanterre: String,
    paris: String,
    service_a: String,
}

fn org(kind: OrgKind, name: &str, parent: Option<&str>) -> NewOrganisation {
    NewOrganisation {
        kind,
        name: name.into(),
        parent_id: parent.map(str::to_string),
        departement: None,
        time_zone: "Europe/Paris".into(),
        address: None,
        phone: None,
        email: None,
    }
}

async fn mk_org(db: &Db, o: NewOrganisation) -> String {
    orgs::create(db, &Actor::system("test"), &o)
        .await
        .unwrap()
        .id
}

async fn mk_user(db: &Db, email: &str, role: Role, org_id: &str) -> Scope {
    let u = users::create(
        db,
        &Actor::system("test"),
        &NewUser {
            email: email.into(),
            first_name: "Prénom".into(),
            last_name: "Nom".into(),
            role,
            organisation_id: org_id.into(),
            password_hash: None,
        },
    )
    .await
    .unwrap();
    Scope::for_user(db, &u.id, &u.email, u.role, &u.organisation_id, None)
        .await
        .unwrap()
}

async fn world(db: Db) -> World {
    let sys = Actor::system("test");
    let national = mk_org(&db, org(OrgKind::National, "Ministère de la Justice", None)).await;
    let admin_a = mk_org(
        &db,
        org(OrgKind::Administration, "DREETS Île-de-France", None),
    )
    .await;
    let service_a = mk_org(
        &db,
        org(OrgKind::Service, "Unité de contrôle 92", Some(&admin_a)),
    )
    .await;
    let service_a2 = mk_org(
        &db,
        org(OrgKind::Service, "Unité de contrôle 75", Some(&admin_a)),
    )
    .await;
    let admin_b = mk_org(&db, org(OrgKind::Administration, "DGFiP", None)).await;
    let service_b = mk_org(&db, org(OrgKind::Service, "SIE Nanterre", Some(&admin_b))).await;
    // The dataset says « Tribunal judiciaire de … »; the organisations may be spelt either way.
    let tj_n = mk_org(
        &db,
        org(OrgKind::Tj, "Tribunal judiciaire de Nanterre", None),
    )
    .await;
    let mut p = org(OrgKind::Parquet, "Parquet de Nanterre", Some(&tj_n));
    p.email = Some("permanence@parquet-nanterre.test".into());
    p.phone = Some("+33612345678".into());
    let nanterre = mk_org(&db, p).await;
    let tj_p = mk_org(&db, org(OrgKind::Tj, "TJ de Paris", None)).await;
    let mut p = org(OrgKind::Parquet, "Parquet de Paris", Some(&tj_p));
    p.email = Some("permanence@parquet-paris.test".into());
    let paris = mk_org(&db, p).await;

    refdata::upsert_communes(
        &db,
        &sys,
        &[
            commune("92050", "Nanterre", "92"),
            commune("92012", "Boulogne-Billancourt", "92"),
            commune("75056", "Paris", "75"),
            commune("23001", "Ajain", "23"),
        ],
        &|_| {},
    )
    .await
    .unwrap();
    refdata::replace_juridictions(
        &db,
        &sys,
        &[
            juridiction("92050", "Nanterre", "Tribunal judiciaire de Nanterre"),
            juridiction(
                "92012",
                "Boulogne-Billancourt",
                "Tribunal judiciaire de Nanterre",
            ),
            juridiction("75056", "Paris", "Tribunal judiciaire de Paris"),
        ],
        "échantillon de test",
        &|_| {},
    )
    .await
    .unwrap();
    natinf::import(
        &db,
        &sys,
        &[
            natinf_row(
                "7875",
                "Exécution d'un travail dissimulé",
                Some("Travail illégal"),
            ),
            natinf_row(
                "25015",
                "Emploi d'un étranger non muni d'une autorisation de travail salarié",
                Some("Travail illégal"),
            ),
            natinf_row("7151", "Vol", Some("Atteintes aux biens")),
        ],
    )
    .await
    .unwrap();

    let magistrate = mk_user(
        &db,
        "substitut@nanterre.test",
        Role::ParquetMagistrate,
        &nanterre,
    )
    .await;
    World {
        admin: mk_user(&db, "admin@justice.test", Role::Admin, &national).await,
        agent: mk_user(&db, "agent@dreets.test", Role::AdminAgent, &service_a).await,
        agent_email: "agent@dreets.test".into(),
        colleague: mk_user(&db, "collegue@dreets.test", Role::AdminAgent, &service_a2).await,
        manager: mk_user(&db, "chef@dreets.test", Role::AdminManager, &admin_a).await,
        stranger: mk_user(&db, "agent@dgfip.test", Role::AdminAgent, &service_b).await,
        greffe: mk_user(&db, "greffe@nanterre.test", Role::ParquetGreffe, &nanterre).await,
        magistrate_id: magistrate.actor.user_id.clone().unwrap(),
        magistrate,
        paris_greffe: mk_user(&db, "greffe@paris.test", Role::ParquetGreffe, &paris).await,
        paris_magistrate: mk_user(&db, "substitut@paris.test", Role::ParquetMagistrate, &paris)
            .await,
        nanterre,
        paris,
        service_a,
        db,
    }
}

fn commune(insee: &str, name: &str, dep: &str) -> Commune {
    Commune {
        insee: insee.into(),
        name: name.into(),
        departement: dep.into(),
        postcodes: vec![],
    }
}

fn juridiction(insee: &str, name: &str, tj: &str) -> Juridiction {
    Juridiction {
        insee: insee.into(),
        commune_name: name.into(),
        cour_appel: "Cour d'appel de Versailles".into(),
        tribunal_judiciaire: tj.into(),
        tribunal_proximite: None,
        conseil_prudhommes: None,
    }
}

fn natinf_row(code: &str, label: &str, family: Option<&str>) -> natinf::NatinfRow {
    natinf::NatinfRow {
        code: NatinfCode::parse(code).unwrap(),
        label: label.into(),
        nature: Some("Délit".into()),
        family: family.map(str::to_string),
        definition_refs: None,
        penalty_refs: None,
    }
}

fn suspect_living_in(insee: &str) -> PersonInput {
    PersonInput {
        kind: "legal".into(),
        role: "suspect".into(),
        legal_name: "SARL Bâtiment Exemple".into(),
        siren: "552100554".into(),
        residence_insee: insee.into(),
        ..Default::default()
    }
}

/// A complete draft with its facts in `insee`.
async fn draft(w: &World, scope: &Scope, insee: &str, urgent: bool) -> String {
    let db = &w.db;
    let id = referrals::create_draft(db, scope).await.unwrap().id;
    referrals::save_facts(
        db,
        scope,
        &id,
        &FactsInput {
            description: "Chantier employant des salariés non déclarés.".into(),
            start_date: "2026-01-05".into(),
            end_date: "2026-02-05".into(),
        },
    )
    .await
    .unwrap();
    referrals::save_places(
        db,
        scope,
        &id,
        &[PlaceInput {
            insee: insee.into(),
            address: "12 rue de l'Exemple".into(),
        }],
    )
    .await
    .unwrap();
    referrals::save_persons(db, scope, &id, &[suspect_living_in("92050")])
        .await
        .unwrap();
    referrals::save_offences(db, scope, &id, &["7875".into(), "25015".into()])
        .await
        .unwrap();
    referrals::save_reference(db, scope, &id, "UC92-2026-17")
        .await
        .unwrap();
    if urgent {
        referrals::save_urgency(
            db,
            scope,
            &id,
            &UrgencyInput {
                urgent: true,
                reason: "Chantier démonté vendredi".into(),
            },
        )
        .await
        .unwrap();
    }
    id
}

fn declared() -> SubmitInput {
    SubmitInput {
        art40_declaration: true,
        ..Default::default()
    }
}

/// A referral sent by the agent of service A to the Nanterre parquet.
async fn sent(w: &World, urgent: bool) -> String {
    let id = draft(w, &w.agent, "92050", urgent).await;
    referrals::submit(&w.db, &w.agent, &id, &declared())
        .await
        .unwrap();
    id
}

fn not_found<T: std::fmt::Debug>(r: Result<T, ParquetError>) {
    match r {
        Err(e) if e.is_not_found() => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

fn store_not_found<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    assert!(
        matches!(r, Err(StoreError::NotFound)),
        "expected NotFound, got {r:?}"
    );
}

fn refused_transition<T: std::fmt::Debug>(r: Result<T, ParquetError>) -> TransitionError {
    match r {
        Err(ParquetError::Transition(t)) => t,
        other => panic!("expected a refused transition, got {other:?}"),
    }
}

fn fields<T: std::fmt::Debug>(r: Result<T, ParquetError>) -> Vec<String> {
    match r {
        Err(ParquetError::Invalid(e)) => e.into_iter().map(|e| e.field).collect(),
        other => panic!("expected field errors, got {other:?}"),
    }
}

fn classement() -> ReferralDecision {
    ReferralDecision::ClassementSansSuite {
        reason: ClassementReason::AuteurInconnu,
    }
}

#[tokio::test]
async fn hauts_de_seine_communes_are_routed_to_the_nanterre_parquet() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let id = draft(&w, &w.agent, "92012", false).await;
        let p = routing::propose_parquet(&w.db, &w.agent, &id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.basis, RoutingBasis::Place);
        assert_eq!(p.insee, "92012");
        assert_eq!(p.tj_name, "Tribunal judiciaire de Nanterre");
        assert_eq!(p.parquet.id, w.nanterre);
        let r = referrals::submit(&w.db, &w.agent, &id, &declared())
            .await
            .unwrap();
        assert_eq!(r.status, ReferralStatus::Sent);
        assert_eq!(r.parquet_id.as_deref(), Some(w.nanterre.as_str()));
        assert_eq!(r.proposed_parquet_id.as_deref(), Some(w.nanterre.as_str()));
        assert!(r.art40_declaration);
        assert!(r.sent_at.is_some());

        // No place maps to a TJ: the residence of a suspect (Nanterre) is proposed instead.
        let id = draft(&w, &w.agent, "23001", false).await;
        let p = routing::propose_parquet(&w.db, &w.agent, &id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.basis, RoutingBasis::SuspectResidence);
        assert_eq!(p.parquet.id, w.nanterre);

        // « TJ de Paris » is the dataset's « Tribunal judiciaire de Paris ».
        let id = draft(&w, &w.agent, "75056", false).await;
        let r = referrals::submit(&w.db, &w.agent, &id, &declared())
            .await
            .unwrap();
        assert_eq!(r.parquet_id.as_deref(), Some(w.paris.as_str()));
    })
    .await;
}

#[tokio::test]
async fn a_commune_without_a_tj_must_be_routed_by_hand_and_is_listed_as_missing() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let id = referrals::create_draft(&w.db, &w.agent).await.unwrap().id;
        referrals::save_facts(
            &w.db,
            &w.agent,
            &id,
            &FactsInput {
                description: "Faits".into(),
                start_date: "2026-03-01".into(),
                end_date: String::new(),
            },
        )
        .await
        .unwrap();
        referrals::save_places(
            &w.db,
            &w.agent,
            &id,
            &[PlaceInput {
                insee: "23001".into(),
                address: String::new(),
            }],
        )
        .await
        .unwrap();
        referrals::save_offences(&w.db, &w.agent, &id, &["7151".into()])
            .await
            .unwrap();
        assert_eq!(
            routing::propose_parquet(&w.db, &w.agent, &id)
                .await
                .unwrap(),
            None
        );
        let err = referrals::submit(&w.db, &w.agent, &id, &declared())
            .await
            .unwrap_err();
        assert_eq!(err.fields()[0].field, "parquet_id");
        assert!(err.fields()[0].message.contains("« Ajain » (23001)"));

        let missing = routing::missing_mappings(&w.db, &w.admin).await.unwrap();
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].insee, "23001");
        assert_eq!(missing[0].commune_name, "Ajain");
        assert_eq!(missing[0].reason, MissingReason::NoJuridiction);
        // The parquets' users do not see drafts, hence nor their communes.
        assert!(routing::missing_mappings(&w.db, &w.greffe)
            .await
            .unwrap()
            .is_empty());

        // The agent picks the parquet: no reason needed when nothing was proposed.
        let r = referrals::submit(
            &w.db,
            &w.agent,
            &id,
            &SubmitInput {
                art40_declaration: true,
                parquet_id: Some(w.paris.clone()),
                override_reason: String::new(),
            },
        )
        .await
        .unwrap();
        assert_eq!(r.parquet_id.as_deref(), Some(w.paris.as_str()));
        assert_eq!(r.proposed_parquet_id, None);
    })
    .await;
}

#[tokio::test]
async fn overriding_the_proposed_parquet_needs_a_reason() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let id = draft(&w, &w.agent, "92050", false).await;
        let mut choice = SubmitInput {
            art40_declaration: true,
            parquet_id: Some(w.paris.clone()),
            override_reason: " ".into(),
        };
        assert_eq!(
            fields(referrals::submit(&w.db, &w.agent, &id, &choice).await),
            ["override_reason"]
        );
        choice.parquet_id = Some(w.service_a.clone());
        assert_eq!(
            fields(referrals::submit(&w.db, &w.agent, &id, &choice).await),
            ["parquet_id"],
            "a service is not a parquet"
        );
        choice.parquet_id = Some(w.paris.clone());
        choice.override_reason = "Siège social de l'entreprise à Paris, enquête en cours".into();
        let r = referrals::submit(&w.db, &w.agent, &id, &choice)
            .await
            .unwrap();
        assert_eq!(r.parquet_id.as_deref(), Some(w.paris.as_str()));
        assert_eq!(r.proposed_parquet_id.as_deref(), Some(w.nanterre.as_str()));
        assert_eq!(
            r.override_reason.as_deref(),
            Some(choice.override_reason.as_str())
        );
    })
    .await;
}

#[tokio::test]
async fn submission_requires_the_declaration_facts_a_place_and_an_offence() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let id = referrals::create_draft(&w.db, &w.agent).await.unwrap().id;
        let f = fields(referrals::submit(&w.db, &w.agent, &id, &SubmitInput::default()).await);
        assert_eq!(
            f,
            [
                "art40_declaration",
                "facts.description",
                "facts.start_date",
                "places",
                "offences",
                "parquet_id"
            ]
        );
        // Field errors of the steps, in French, and nothing saved.
        let f = fields(
            referrals::save_places(
                &w.db,
                &w.agent,
                &id,
                &[PlaceInput {
                    insee: "99999".into(),
                    address: String::new(),
                }],
            )
            .await,
        );
        assert_eq!(f, ["places[0].insee"]);
        let err = referrals::save_offences(&w.db, &w.agent, &id, &["999999".into()])
            .await
            .unwrap_err();
        assert!(err.fields()[0]
            .message
            .starts_with("Code NATINF inconnu : 999999"));
        let err = referrals::save_persons(
            &w.db,
            &w.agent,
            &id,
            &[PersonInput {
                siren: "552100555".into(),
                ..suspect_living_in("92050")
            }],
        )
        .await
        .unwrap_err();
        assert_eq!(err.fields()[0].field, "persons[0].siren");
        assert!(referrals::get_detail(&w.db, &w.agent, &id)
            .await
            .unwrap()
            .persons
            .is_empty());
        // A sent referral is read-only.
        let id = sent(&w, false).await;
        assert!(matches!(
            referrals::save_reference(&w.db, &w.agent, &id, "x").await,
            Err(ParquetError::Forbidden(_))
        ));
        assert!(matches!(
            referrals::submit(&w.db, &w.agent, &id, &declared()).await,
            Err(ParquetError::Forbidden(_))
        ));
        // Only administrations write referrals.
        assert!(matches!(
            referrals::create_draft(&w.db, &w.greffe).await,
            Err(ParquetError::Forbidden(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn tracking_numbers_are_unique_and_sequential_even_when_submitted_concurrently() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let year = chrono::Utc::now()
            .with_timezone(&chrono_tz::Europe::Paris)
            .format("%Y")
            .to_string();
        let mut ids = Vec::new();
        for _ in 0..6 {
            ids.push(draft(&w, &w.agent, "92050", false).await);
        }
        let first = referrals::submit(&w.db, &w.agent, &ids[0], &declared())
            .await
            .unwrap();
        assert_eq!(
            first.tracking_number.as_deref(),
            Some(format!("IP-{year}-000001").as_str())
        );
        let handles: Vec<_> = ids[1..]
            .iter()
            .map(|id| {
                let (db, scope, id) = (w.db.clone(), w.agent.clone(), id.clone());
                tokio::spawn(async move {
                    referrals::submit(&db, &scope, &id, &declared())
                        .await
                        .unwrap()
                        .tracking_number
                        .unwrap()
                })
            })
            .collect();
        let mut numbers = vec![first.tracking_number.unwrap()];
        for h in handles {
            numbers.push(h.await.unwrap());
        }
        numbers.sort();
        let expected: Vec<String> = (1..=6).map(|n| format!("IP-{year}-{n:06}")).collect();
        assert_eq!(numbers, expected);
        // The search finds a referral by its tracking number.
        let found = referrals::list(
            &w.db,
            &w.greffe,
            &ReferralFilter {
                q: Some(format!("ip-{year}-000004")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(found.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn out_of_scope_actors_get_not_found_on_referrals_messages_and_attachments() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let draft_id = draft(&w, &w.agent, "92050", false).await;
        let id = sent(&w, false).await;
        let msg = messages::post(&w.db, &w.greffe, &id, "Merci de transmettre le PV.", true)
            .await
            .unwrap();
        let reply = messages::post(&w.db, &w.agent, &id, "PV joint.", false)
            .await
            .unwrap();
        let file = attachments::record(
            &w.db,
            &w.agent,
            &id,
            &attachments::NewAttachment {
                message_id: Some(reply.id.clone()),
                filename: "pv.pdf".into(),
                content_type: "application/pdf".into(),
                size_bytes: 1234,
                sha256: "a".repeat(64),
                storage_key: "k1".into(),
            },
        )
        .await
        .unwrap();

        for (who, scope) in [
            ("agent of another service", &w.colleague),
            ("agent of another administration", &w.stranger),
            ("another parquet", &w.paris_greffe),
        ] {
            eprintln!("{who}");
            store_not_found(referrals::get(&w.db, scope, &id).await);
            store_not_found(referrals::get_detail(&w.db, scope, &id).await);
            store_not_found(messages::list(&w.db, scope, &id).await);
            store_not_found(messages::get(&w.db, scope, &msg.id).await);
            store_not_found(attachments::list(&w.db, scope, &id).await);
            store_not_found(attachments::get(&w.db, scope, &file.id).await);
            not_found(attachments::open_for_download(&w.db, scope, &file.id).await);
            not_found(messages::post(&w.db, scope, &id, "?", false).await);
            not_found(routing::propose_parquet(&w.db, scope, &id).await);
            not_found(referrals::register(&w.db, scope, &id, "X").await);
            not_found(referrals::save_facts(&w.db, scope, &draft_id, &FactsInput::default()).await);
            assert!(referrals::list(&w.db, scope, &ReferralFilter::default())
                .await
                .unwrap()
                .is_empty());
        }
        // The receiving parquet never sees a draft.
        store_not_found(referrals::get(&w.db, &w.greffe, &draft_id).await);
        // The manager sees every referral of the administration; the national admin all.
        assert_eq!(
            referrals::list(&w.db, &w.manager, &ReferralFilter::default())
                .await
                .unwrap()
                .len(),
            2
        );
        assert!(referrals::get(&w.db, &w.admin, &id).await.is_ok());
        assert_eq!(
            messages::list(&w.db, &w.greffe, &id).await.unwrap().len(),
            2
        );
        assert!(messages::list(&w.db, &w.greffe, &id).await.unwrap()[0].is_complement_request);
        // Not downloadable before the antivirus says so; then audited.
        assert!(matches!(
            attachments::open_for_download(&w.db, &w.greffe, &file.id).await,
            Err(ParquetError::Forbidden(_))
        ));
        attachments::set_scan_status(
            &w.db,
            &Actor::system("clamd"),
            &file.id,
            attachments::ScanStatus::Clean,
        )
        .await
        .unwrap();
        assert_eq!(
            attachments::open_for_download(&w.db, &w.greffe, &file.id)
                .await
                .unwrap()
                .sha256,
            "a".repeat(64)
        );
        // An agent cannot ask for a complement; a sent referral takes files only through messages.
        assert_eq!(
            fields(messages::post(&w.db, &w.agent, &id, "x", true).await),
            ["is_complement_request"]
        );
        assert!(matches!(
            attachments::record(
                &w.db,
                &w.agent,
                &id,
                &attachments::NewAttachment {
                    message_id: None,
                    filename: "x.pdf".into(),
                    content_type: "application/pdf".into(),
                    size_bytes: 1,
                    sha256: "b".repeat(64),
                    storage_key: "k2".into(),
                }
            )
            .await,
            Err(ParquetError::Forbidden(_))
        ));
        let too_big = attachments::NewAttachment {
            message_id: None,
            filename: "x.pdf".into(),
            content_type: "application/pdf".into(),
            size_bytes: attachments::MAX_ATTACHMENT_BYTES + 1,
            sha256: "b".repeat(64),
            storage_key: "k3".into(),
        };
        assert_eq!(
            fields(attachments::record(&w.db, &w.agent, &draft_id, &too_big).await),
            ["size"]
        );

        // Reading the persons is audited.
        referrals::get_detail(&w.db, &w.greffe, &id).await.unwrap();
        let reads = audit::list(
            &w.db,
            &Scope::system("test"),
            &audit::AuditFilter {
                action: Some("referral.read".into()),
                target_id: Some(id.clone()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(reads.len(), 1);
        assert_eq!(reads[0].actor_label, "greffe@nanterre.test");
    })
    .await;
}

#[tokio::test]
async fn every_lifecycle_transition_is_checked_by_the_store() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let (g, m, db) = (&w.greffe, &w.magistrate, &w.db);

        // sent: only register or transfer.
        let a = sent(&w, false).await;
        refused_transition(referrals::start_investigation(db, g, &a).await);
        refused_transition(referrals::decide(db, m, &a, &classement(), None).await);
        refused_transition(referrals::assign(db, g, &a, &w.magistrate_id).await);
        assert_eq!(
            fields(referrals::register(db, g, &a, " ").await),
            ["case_number"]
        );
        let r = referrals::register(db, g, &a, "PARQ-26-0001")
            .await
            .unwrap();
        assert_eq!(r.status, ReferralStatus::Registered);
        assert_eq!(r.parquet_case_number.as_deref(), Some("PARQ-26-0001"));

        // registered: not again, not straight to investigation; assign only to a magistrate of this parquet.
        refused_transition(referrals::register(db, g, &a, "PARQ-26-0002").await);
        refused_transition(referrals::start_investigation(db, g, &a).await);
        let greffe_id = g.actor.user_id.clone().unwrap();
        assert_eq!(
            fields(referrals::assign(db, g, &a, &greffe_id).await),
            ["magistrate_user_id"]
        );
        let paris_magistrate = w.paris_magistrate.actor.user_id.clone().unwrap();
        assert_eq!(
            fields(referrals::assign(db, g, &a, &paris_magistrate).await),
            ["magistrate_user_id"]
        );
        let r = referrals::assign(db, g, &a, &w.magistrate_id)
            .await
            .unwrap();
        assert_eq!(r.status, ReferralStatus::Assigned);

        // assigned → under investigation; then no transfer; the greffe does not decide.
        let r = referrals::start_investigation(db, m, &a).await.unwrap();
        assert_eq!(r.status, ReferralStatus::UnderInvestigation);
        refused_transition(referrals::transfer(db, g, &a, &w.paris, "Incompétence").await);
        assert!(matches!(
            referrals::decide(db, g, &a, &classement(), None).await,
            Err(ParquetError::Forbidden(_))
        ));
        let r = referrals::decide(db, m, &a, &classement(), Some("Auteur non identifié"))
            .await
            .unwrap();
        assert_eq!(r.status, ReferralStatus::Decided);
        assert_eq!(r.decision, Some(classement()));
        assert!(r.decided_at.is_some());

        // decided is final.
        for t in [
            refused_transition(referrals::register(db, g, &a, "X").await),
            refused_transition(referrals::start_investigation(db, g, &a).await),
            refused_transition(referrals::decide(db, m, &a, &classement(), None).await),
            refused_transition(referrals::transfer(db, g, &a, &w.paris, "x").await),
            refused_transition(referrals::assign(db, g, &a, &w.magistrate_id).await),
        ] {
            assert!(matches!(t, TransitionError::ReferralFinal { .. }));
        }
        let detail = referrals::get_detail(db, g, &a).await.unwrap();
        let path: Vec<_> = detail.events.iter().map(|e| e.to.as_str()).collect();
        assert_eq!(
            path,
            [
                "sent",
                "registered",
                "assigned",
                "under_investigation",
                "decided"
            ]
        );

        // registered → decided, with the hearing date of a prosecution.
        let b = sent(&w, false).await;
        assert_eq!(
            fields(referrals::register(db, g, &b, "PARQ-26-0001").await),
            ["case_number"],
            "case numbers are unique within a parquet"
        );
        referrals::register(db, g, &b, "PARQ-26-0003")
            .await
            .unwrap();
        let court_date = chrono::NaiveDate::from_ymd_opt(2027, 3, 1);
        let r = referrals::decide(
            db,
            m,
            &b,
            &ReferralDecision::Poursuites { court_date },
            None,
        )
        .await
        .unwrap();
        assert_eq!(r.hearing_date, court_date);

        // assigned → decided (alternative); assigned → transferred.
        let c = sent(&w, false).await;
        referrals::register(db, g, &c, "PARQ-26-0004")
            .await
            .unwrap();
        referrals::assign(db, g, &c, &w.magistrate_id)
            .await
            .unwrap();
        let alt = ReferralDecision::AlternativeAuxPoursuites {
            alternative: AlternativeKind::Regularisation,
        };
        referrals::decide(db, m, &c, &alt, None).await.unwrap();
        let d = sent(&w, false).await;
        referrals::register(db, g, &d, "PARQ-26-0005")
            .await
            .unwrap();
        referrals::assign(db, g, &d, &w.magistrate_id)
            .await
            .unwrap();
        assert_eq!(
            fields(referrals::transfer(db, g, &d, &w.paris, "").await),
            ["reason"]
        );
        assert_eq!(
            fields(referrals::transfer(db, g, &d, &w.nanterre, "x").await),
            ["target_parquet_id"]
        );
        let r = referrals::transfer(db, g, &d, &w.paris, "Siège de l'entreprise à Paris")
            .await
            .unwrap();
        // Received by Paris as a new « sent » referral, gone from Nanterre.
        assert_eq!(r.status, ReferralStatus::Sent);
        assert_eq!(r.parquet_id.as_deref(), Some(w.paris.as_str()));
        assert_eq!(r.parquet_case_number, None);
        store_not_found(referrals::get(db, g, &d).await);
        let r = referrals::register(db, &w.paris_greffe, &d, "PARQ-26-0005")
            .await
            .unwrap();
        assert_eq!(r.status, ReferralStatus::Registered);
        let author_view = referrals::get_detail(db, &w.agent, &d).await.unwrap();
        let path: Vec<_> = author_view.events.iter().map(|e| e.to.as_str()).collect();
        assert_eq!(
            path,
            [
                "sent",
                "registered",
                "assigned",
                "transferred",
                "sent",
                "registered"
            ]
        );

        // sent → transferred, registered → transferred.
        let e = sent(&w, false).await;
        referrals::transfer(db, g, &e, &w.paris, "Incompétence territoriale")
            .await
            .unwrap();
        let f = sent(&w, false).await;
        referrals::register(db, g, &f, "PARQ-26-0006")
            .await
            .unwrap();
        referrals::transfer(db, g, &f, &w.paris, "Incompétence territoriale")
            .await
            .unwrap();

        // The national admin reads but does not act for the parquet.
        assert!(matches!(
            referrals::register(db, &w.admin, &e, "X").await,
            Err(ParquetError::Forbidden(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn each_status_change_tells_the_author_and_a_classement_carries_the_appeal_notice() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let id = sent(&w, false).await;
        referrals::register(&w.db, &w.greffe, &id, "P-1")
            .await
            .unwrap();
        referrals::assign(&w.db, &w.greffe, &id, &w.magistrate_id)
            .await
            .unwrap();
        referrals::decide(&w.db, &w.magistrate, &id, &classement(), None)
            .await
            .unwrap();
        let mails: Vec<_> = outbox::list_for_recipient(&w.db, &w.agent_email)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.kind == "referral_status")
            .collect();
        // Newest first: decision, assignment, registration, acknowledgement of receipt.
        assert_eq!(mails.len(), 4);
        assert!(mails
            .iter()
            .all(|m| m.channel == "email" && m.related_id.as_deref() == Some(id.as_str())));
        let r = referrals::get(&w.db, &w.agent, &id).await.unwrap();
        let tn = r.tracking_number.unwrap();
        assert_eq!(
            mails[3].subject.as_deref(),
            Some(format!("Accusé de réception de votre signalement {tn}").as_str())
        );
        assert!(mails[3].body.contains("Parquet de Nanterre"));
        // Each notice names the referral's number and its status in words.
        assert!(
            mails[2]
                .body
                .contains(&format!("Signalement {tn} — statut : Enregistré.")),
            "{}",
            mails[2].body
        );
        assert!(
            mails[0].body.contains("statut : Décision rendue."),
            "{}",
            mails[0].body
        );
        let decision = &mails[0];
        assert_eq!(
            decision.subject.as_deref(),
            Some(format!("Signalement {tn} : décision du parquet").as_str())
        );
        assert!(decision.body.contains("Décision : Classement sans suite."));
        assert!(decision.body.contains("Motif : Auteur inconnu."));
        assert!(decision.body.contains(CLASSEMENT_APPEAL_NOTICE));
        assert!(decision.body.contains("(votre référence : UC92-2026-17)"));
        // No person's name travels by e-mail.
        assert!(mails.iter().all(|m| !m.body.contains("SARL")));
    })
    .await;
}

#[tokio::test]
async fn an_urgent_referral_alerts_the_duty_contact_and_stays_on_top_until_acknowledged() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let normal = sent(&w, false).await;
        let urgent = sent(&w, true).await;
        let email = outbox::list_for_recipient(&w.db, "permanence@parquet-nanterre.test")
            .await
            .unwrap();
        let sms = outbox::list_for_recipient(&w.db, "+33612345678")
            .await
            .unwrap();
        assert_eq!(email.len(), 1);
        assert_eq!(email[0].kind, "referral_urgent");
        assert!(email[0].subject.as_deref().unwrap().starts_with("URGENT"));
        assert!(email[0].body.contains("Chantier démonté vendredi"));
        assert_eq!(sms.len(), 1);
        assert_eq!(sms[0].channel, "sms");
        assert_eq!(sms[0].organisation_id.as_deref(), Some(w.nanterre.as_str()));

        let inbox = referrals::list(&w.db, &w.greffe, &ReferralFilter::default())
            .await
            .unwrap();
        assert_eq!(inbox[0].id, urgent);
        assert!(inbox[0].awaits_acknowledgement());
        let urgent_only = referrals::list(
            &w.db,
            &w.greffe,
            &ReferralFilter {
                urgent: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(urgent_only.len(), 1);

        assert!(matches!(
            referrals::acknowledge_urgent(&w.db, &w.greffe, &normal).await,
            Err(ParquetError::Invalid(_))
        ));
        let r = referrals::acknowledge_urgent(&w.db, &w.greffe, &urgent)
            .await
            .unwrap();
        assert!(r.acknowledged_at.is_some());
        assert!(r.acknowledgement_delay_secs().unwrap() >= 0);
        let inbox = referrals::list(&w.db, &w.greffe, &ReferralFilter::default())
            .await
            .unwrap();
        assert_eq!(
            inbox[0].id, normal,
            "back in order of sending once acknowledged"
        );

        // Transferred, the urgent referral alerts the new parquet and awaits its acknowledgement.
        referrals::transfer(&w.db, &w.greffe, &urgent, &w.paris, "Incompétence")
            .await
            .unwrap();
        let paris = outbox::list_for_recipient(&w.db, "permanence@parquet-paris.test")
            .await
            .unwrap();
        assert_eq!(paris.len(), 1);
        let r = referrals::get(&w.db, &w.paris_greffe, &urgent)
            .await
            .unwrap();
        assert!(r.awaits_acknowledgement());
    })
    .await;
}

#[tokio::test]
async fn api_tokens_are_scoped_revocable_and_creation_is_idempotent() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        assert!(matches!(
            tokens::create(
                &w.db,
                &w.agent,
                &w.service_a,
                "Logiciel métier",
                &[tokens::SCOPE_WRITE]
            )
            .await,
            Err(ParquetError::Forbidden(_))
        ));
        not_found(
            tokens::create(
                &w.db,
                &w.stranger,
                &w.service_a,
                "x",
                &[tokens::SCOPE_WRITE],
            )
            .await,
        );
        let (token, raw) = tokens::create(
            &w.db,
            &w.manager,
            &w.service_a,
            "Logiciel métier",
            &[tokens::SCOPE_WRITE],
        )
        .await
        .unwrap();
        assert!(raw.0.starts_with(tokens::TOKEN_PREFIX));
        let p = tokens::authenticate(&w.db, &raw.0, None).await.unwrap();
        assert_eq!(p.token.id, token.id);
        p.require(tokens::SCOPE_WRITE).unwrap();
        assert!(matches!(
            p.require(tokens::SCOPE_READ),
            Err(ParquetError::Forbidden(_))
        ));
        assert!(matches!(
            tokens::authenticate(&w.db, "psl_ip_nope", None).await,
            Err(ParquetError::Unauthenticated)
        ));

        let body = NewReferral {
            internal_reference: "API-1".into(),
            facts: FactsInput {
                description: "Travail dissimulé sur chantier".into(),
                start_date: "2026-01-05".into(),
                end_date: String::new(),
            },
            places: vec![PlaceInput {
                insee: "92012".into(),
                address: String::new(),
            }],
            persons: vec![suspect_living_in("92050")],
            offences: vec!["7875".into()],
            urgency: UrgencyInput::default(),
            submit: declared(),
        };
        let origin = |hash: &str| referrals::ApiOrigin {
            token_id: p.token.id.clone(),
            idempotency: Some(("cle-1".into(), hash.into())),
        };
        let (r1, replayed) =
            referrals::create_submitted(&w.db, &p.scope, &body, Some(&origin("h1")))
                .await
                .unwrap();
        assert!(!replayed);
        assert_eq!(r1.status, ReferralStatus::Sent);
        assert_eq!(r1.parquet_id.as_deref(), Some(w.nanterre.as_str()));
        assert_eq!(r1.service_id.as_deref(), Some(w.service_a.as_str()));
        assert_eq!(r1.api_token_id.as_deref(), Some(token.id.as_str()));
        let (r2, replayed) =
            referrals::create_submitted(&w.db, &p.scope, &body, Some(&origin("h1")))
                .await
                .unwrap();
        assert!(replayed);
        assert_eq!(r2.id, r1.id);
        assert!(matches!(
            referrals::create_submitted(&w.db, &p.scope, &body, Some(&origin("h2"))).await,
            Err(ParquetError::Store(StoreError::Conflict(_)))
        ));
        // Every field error at once, and nothing kept.
        let bad = NewReferral {
            places: vec![],
            offences: vec!["abc".into()],
            persons: vec![PersonInput::default()],
            ..body.clone()
        };
        let f = fields(referrals::create_submitted(&w.db, &p.scope, &bad, None).await);
        assert_eq!(f, ["persons[0].kind", "persons[0].role", "offences[0]"]);
        assert_eq!(
            referrals::list(&w.db, &w.manager, &ReferralFilter::default())
                .await
                .unwrap()
                .len(),
            1
        );
        // The service's agents see what the token created.
        assert!(referrals::get(&w.db, &w.agent, &r1.id).await.is_ok());

        tokens::revoke(&w.db, &w.manager, &token.id).await.unwrap();
        assert!(matches!(
            tokens::authenticate(&w.db, &raw.0, None).await,
            Err(ParquetError::Unauthenticated)
        ));
        let listed = tokens::list(&w.db, &w.manager, &w.service_a).await.unwrap();
        assert!(listed[0].revoked_at.is_some());
    })
    .await;
}

#[tokio::test]
async fn a_referral_that_does_not_move_is_reminded_once_per_period() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let id = sent(&w, false).await;
        let decided = sent(&w, false).await;
        referrals::register(&w.db, &w.greffe, &decided, "P-9")
            .await
            .unwrap();
        referrals::decide(&w.db, &w.magistrate, &decided, &classement(), None)
            .await
            .unwrap();
        let now = store::now();
        let day = 86_400;
        assert!(reminders::stale_referrals(&w.db, now, 90)
            .await
            .unwrap()
            .is_empty());
        let later = now + 91 * day;
        let stale = reminders::stale_referrals(&w.db, later, 90).await.unwrap();
        assert_eq!(stale.len(), 1, "decided referrals are not reminded");
        assert_eq!(stale[0].id, id);
        assert_eq!(stale[0].days, 91);

        assert_eq!(
            reminders::run_deadline_reminders(&w.db, later, 90)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            reminders::run_deadline_reminders(&w.db, later + day, 90)
                .await
                .unwrap(),
            0
        );
        let parquet = outbox::list_for_recipient(&w.db, "permanence@parquet-nanterre.test")
            .await
            .unwrap();
        assert_eq!(parquet.len(), 1);
        assert_eq!(parquet[0].kind, "referral_reminder");
        assert!(parquet[0].body.contains("depuis 91 jours"));
        let author: Vec<_> = outbox::list_for_recipient(&w.db, &w.agent_email)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.kind == "referral_reminder_author")
            .collect();
        assert_eq!(author.len(), 1);
        // Next period, still nothing moved: reminded again.
        assert_eq!(
            reminders::run_deadline_reminders(&w.db, later + 90 * day, 90)
                .await
                .unwrap(),
            1
        );
        // A status change resets the clock.
        referrals::register(&w.db, &w.greffe, &id, "P-10")
            .await
            .unwrap();
        assert_eq!(
            reminders::run_deadline_reminders(&w.db, store::now() + 89 * day, 90)
                .await
                .unwrap(),
            0
        );
        assert!(
            reminders::stale_referrals(&w.db, store::now() + 89 * day, 90)
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn statistics_count_volumes_delays_and_outcomes_within_scope() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let a = sent(&w, true).await;
        let b = sent(&w, false).await;
        let id = draft(&w, &w.agent, "75056", false).await;
        referrals::submit(&w.db, &w.agent, &id, &declared())
            .await
            .unwrap();
        referrals::register(&w.db, &w.greffe, &a, "P-1")
            .await
            .unwrap();
        referrals::decide(&w.db, &w.magistrate, &a, &classement(), None)
            .await
            .unwrap();
        referrals::register(&w.db, &w.greffe, &b, "P-2")
            .await
            .unwrap();

        let all = stats::stats(&w.db, &w.admin, &stats::StatsFilter::default())
            .await
            .unwrap();
        assert_eq!(all.sent, 3);
        assert_eq!(all.urgent, 1);
        assert_eq!(all.to_registration.count, 2);
        assert!(all.to_registration.median_secs.unwrap() >= 0);
        assert_eq!(all.to_decision.count, 1);
        assert_eq!(all.outcomes.len(), 1);
        assert_eq!(all.outcomes[0].key, "classement_sans_suite");
        assert_eq!(all.classement_reasons[0].label, "Auteur inconnu");
        assert_eq!(all.per_administration[0].label, "DREETS Île-de-France");
        assert_eq!(all.per_administration[0].count, 3);
        assert_eq!(all.per_tj[0].label, "Tribunal judiciaire de Nanterre");
        assert_eq!(all.per_tj[0].count, 2);
        assert_eq!(all.per_tj[1].label, "TJ de Paris");
        // Two offences of one family count once per referral.
        assert_eq!(all.per_natinf_family[0].label, "Travail illégal");
        assert_eq!(all.per_natinf_family[0].count, 3);

        let nanterre = stats::stats(&w.db, &w.greffe, &stats::StatsFilter::default())
            .await
            .unwrap();
        assert_eq!(nanterre.sent, 2);
        let stranger = stats::stats(&w.db, &w.stranger, &stats::StatsFilter::default())
            .await
            .unwrap();
        assert_eq!(stranger.sent, 0);
        let future = stats::stats(
            &w.db,
            &w.admin,
            &stats::StatsFilter {
                from: Some(store::now() + 3600),
                to: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(future.sent, 0);
    })
    .await;
}

#[tokio::test]
async fn natinf_search_is_accent_insensitive_and_ranked() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let r = natinf::search(&w.db, "travail dissimule", 10)
            .await
            .unwrap();
        assert_eq!(r[0].code, "7875");
        let r = natinf::search(&w.db, "ÉTRANGER travail", 10).await.unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].code, "25015");
        let r = natinf::search(&w.db, "travail", 10).await.unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].code, "7875", "label starting with the word first");
        let r = natinf::search(&w.db, "7151", 10).await.unwrap();
        assert_eq!(r[0].label, "Vol");
        assert!(natinf::search(&w.db, "  ", 10).await.unwrap().is_empty());
        // Re-import updates in place.
        natinf::import(
            &w.db,
            &Actor::system("test"),
            &[natinf_row(
                "7151",
                "Vol simple",
                Some("Atteintes aux biens"),
            )],
        )
        .await
        .unwrap();
        let code = NatinfCode::parse("7151").unwrap();
        assert_eq!(
            natinf::get(&w.db, &code).await.unwrap().unwrap().label,
            "Vol simple"
        );
    })
    .await;
}

#[tokio::test]
async fn a_deactivated_service_loses_its_tokens_and_sessions_but_its_referrals_stay_with_the_parquet(
) {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let db = &w.db;
        let id = sent(&w, false).await;
        let (_, raw) = tokens::create(db, &w.manager, &w.service_a, "Logiciel", &[tokens::SCOPE_READ])
            .await
            .unwrap();
        assert!(tokens::authenticate(db, &raw.0, None).await.is_ok());
        let agent_id = w.agent.actor.user_id.clone().unwrap();
        let now = 1_900_000_000;
        store::sessions::create(db, &agent_id, store::sessions::Stage::Full, None, None, now)
            .await
            .unwrap();
        let actor = &w.admin.actor;

        let off = orgs::set_active(db, actor, &w.service_a, false, now).await.unwrap();
        assert!(!off.active);
        assert!(!orgs::is_operational(db, &w.service_a).await.unwrap());
        assert!(matches!(
            tokens::authenticate(db, &raw.0, None).await,
            Err(ParquetError::Unauthenticated)
        ));
        let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = $1")
            .bind(&agent_id)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(open, 0);
        // The parquet still reads it, its history included.
        let d = referrals::get_detail(db, &w.greffe, &id).await.unwrap();
        assert_eq!(d.referral.status, ReferralStatus::Sent);
        // Twice: no second event.
        orgs::set_active(db, actor, &w.service_a, false, now).await.unwrap();
        let events: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'organisation.deactivate' AND target_id = $1",
        )
        .bind(&w.service_a)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(events, 1);

        orgs::set_active(db, actor, &w.service_a, true, now).await.unwrap();
        assert!(tokens::authenticate(db, &raw.0, None).await.is_ok());
        // A deactivated administration closes its services in effect.
        let parent = orgs::get_unscoped(db, &w.service_a).await.unwrap().parent_id.unwrap();
        orgs::set_active(db, actor, &parent, false, now).await.unwrap();
        assert!(!orgs::is_operational(db, &w.service_a).await.unwrap());
        assert!(tokens::authenticate(db, &raw.0, None).await.is_err());
        assert!(orgs::is_operational(db, &w.nanterre).await.unwrap());
        assert!(!orgs::is_operational(db, "inconnu").await.unwrap());
    })
    .await;
}

#[tokio::test]
async fn organisation_details_are_updated_audited_and_names_stay_unique_per_kind() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let db = &w.db;
        let actor = &w.admin.actor;
        let details = orgs::OrganisationDetails {
            name: "Unité 92 Nord".into(),
            siren: Some("130005481".into()),
            email: Some("uc92@dreets.test".into()),
            phone: None,
            address: None,
        };
        let o = orgs::update_details(db, actor, &w.service_a, &details, 1_900_000_000)
            .await
            .unwrap();
        assert_eq!((o.name.as_str(), o.siren.as_deref()), ("Unité 92 Nord", Some("130005481")));
        // Unchanged: no second event.
        orgs::update_details(db, actor, &w.service_a, &details, 1_900_000_001)
            .await
            .unwrap();
        let events: Vec<Option<String>> = sqlx::query_scalar(
            "SELECT details FROM audit_events WHERE action = 'organisation.update' AND target_id = $1",
        )
        .bind(&w.service_a)
        .fetch_all(db.pool())
        .await
        .unwrap();
        assert_eq!(events.len(), 1);
        assert!(events[0].as_deref().unwrap_or("").contains("130005481"));
        // Another service's name: refused.
        let taken = orgs::get_unscoped(db, &w.service_a).await.unwrap();
        let other = sqlx::query_scalar::<_, String>(
            "SELECT name FROM organisations WHERE kind = 'service' AND id <> $1 ORDER BY name",
        )
        .bind(&taken.id)
        .fetch_one(db.pool())
        .await
        .unwrap();
        let r = orgs::update_details(
            db,
            actor,
            &w.service_a,
            &orgs::OrganisationDetails {
                name: other,
                ..details.clone()
            },
            1_900_000_002,
        )
        .await;
        assert!(matches!(r, Err(StoreError::Conflict(_))));
    })
    .await;
}

#[tokio::test]
async fn a_person_keeps_its_postal_address_and_the_name_of_its_commune() {
    on_each_backend(|db| async move {
        let w = world(db).await;
        let id = referrals::create_draft(&w.db, &w.agent).await.unwrap().id;
        let mut p = suspect_living_in("92050");
        p.address = "  3 avenue Joliot-Curie ".into();
        referrals::save_persons(&w.db, &w.agent, &id, &[p.clone()])
            .await
            .unwrap();
        let d = referrals::get_detail(&w.db, &w.agent, &id).await.unwrap();
        assert_eq!(
            d.persons[0].address.as_deref(),
            Some("3 avenue Joliot-Curie")
        );
        assert_eq!(d.persons[0].residence_insee.as_deref(), Some("92050"));
        assert_eq!(d.persons[0].residence_name.as_deref(), Some("Nanterre"));
        p.address = "x".repeat(201);
        let e = fields(referrals::save_persons(&w.db, &w.agent, &id, &[p]).await);
        assert_eq!(e, ["persons[0].address"]);
    })
    .await;
}
