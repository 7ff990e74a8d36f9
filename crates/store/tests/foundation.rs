//! Database tests of the foundation, each run on a fresh SQLite and a fresh PostgreSQL database.

use store::orgs::{self, NewOrganisation};
use store::refdata::{self, Commune, Juridiction};
use store::roles::{OrgKind, Role};
use store::sessions::{self, Stage};
use store::testing::on_each_backend;
use store::users::{self, NewUser};
use store::{audit, outbox, ratelimit, Actor, Db, Scope, StoreError};

fn org(kind: OrgKind, name: &str, parent: Option<&str>) -> NewOrganisation {
    NewOrganisation {
        kind,
        name: name.into(),
        parent_id: parent.map(str::to_string),
        departement: Some("92".into()),
        time_zone: "Europe/Paris".into(),
        address: None,
        phone: None,
        email: None,
    }
}

async fn user(db: &Db, email: &str, role: Role, org_id: &str) -> users::User {
    users::create(
        db,
        &Actor::system("test"),
        &NewUser {
            email: email.into(),
            first_name: "Prénom".into(),
            last_name: "Nom".into(),
            role,
            organisation_id: org_id.into(),
            password_hash: Some("x".into()),
        },
    )
    .await
    .unwrap()
}

async fn scope_of(db: &Db, u: &users::User) -> Scope {
    Scope::for_user(db, &u.id, &u.email, u.role, &u.organisation_id, None)
        .await
        .unwrap()
}

#[tokio::test]
async fn migrations_apply_once_and_are_recorded() {
    on_each_backend(|db| async move {
        // Applied by the harness already: a second run applies nothing.
        assert!(db.migrate().await.unwrap().is_empty());
        db.ping().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn an_agent_never_reads_a_user_of_an_unrelated_organisation() {
    on_each_backend(|db| async move {
        let sys = Actor::system("test");
        let spip92 = orgs::create(&db, &sys, &org(OrgKind::Spip, "SPIP 92", None))
            .await
            .unwrap();
        let antenna = orgs::create(
            &db,
            &sys,
            &org(OrgKind::Spip, "Antenne de Nanterre", Some(&spip92.id)),
        )
        .await
        .unwrap();
        let spip75 = orgs::create(&db, &sys, &org(OrgKind::Spip, "SPIP 75", None))
            .await
            .unwrap();
        let tj = orgs::create(&db, &sys, &org(OrgKind::Tj, "TJ de Nanterre", None))
            .await
            .unwrap();
        let parquet = orgs::create(
            &db,
            &sys,
            &org(OrgKind::Parquet, "Parquet de Nanterre", Some(&tj.id)),
        )
        .await
        .unwrap();
        orgs::link(&db, &sys, &tj.id, &spip92.id).await.unwrap();

        let cpip = user(&db, "cpip@spip92.test", Role::Cpip, &spip92.id).await;
        let colleague = user(&db, "b@antenne.test", Role::Cpip, &antenna.id).await;
        let stranger = user(&db, "c@spip75.test", Role::Cpip, &spip75.id).await;
        let jap = user(&db, "jap@tj.test", Role::Jap, &tj.id).await;
        let magistrate = user(&db, "pr@parquet.test", Role::ParquetMagistrate, &parquet.id).await;

        let s = scope_of(&db, &cpip).await;
        assert!(
            users::get(&db, &s, &colleague.id).await.is_ok(),
            "antenna is part of the SPIP"
        );
        assert!(
            users::get(&db, &s, &jap.id).await.is_ok(),
            "linked TJ is visible"
        );
        assert!(matches!(
            users::get(&db, &s, &stranger.id).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            orgs::get(&db, &s, &spip75.id).await,
            Err(StoreError::NotFound)
        ));
        // The linked TJ's parquet belongs to Info Parquet, not to the SPIP's reach.
        assert!(matches!(
            users::get(&db, &s, &magistrate.id).await,
            Err(StoreError::NotFound)
        ));
        // A CPIP manages nobody.
        assert!(matches!(
            users::get_managed(&db, &s, &colleague.id).await,
            Err(StoreError::NotFound)
        ));

        let s75 = scope_of(&db, &stranger).await;
        assert!(matches!(
            users::get(&db, &s75, &cpip.id).await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn a_local_admin_manages_its_organisation_and_deactivation_revokes_sessions() {
    on_each_backend(|db| async move {
        let sys = Actor::system("test");
        let spip = orgs::create(&db, &sys, &org(OrgKind::Spip, "SPIP 92", None))
            .await
            .unwrap();
        let other = orgs::create(&db, &sys, &org(OrgKind::Spip, "SPIP 93", None))
            .await
            .unwrap();
        let admin = user(&db, "admin@spip92.test", Role::LocalAdmin, &spip.id).await;
        let cpip = user(&db, "cpip@spip92.test", Role::Cpip, &spip.id).await;
        let foreign = user(&db, "cpip@spip93.test", Role::Cpip, &other.id).await;
        let (token, _) = sessions::create(&db, &cpip.id, Stage::Full, None, None, store::now())
            .await
            .unwrap();

        let s = scope_of(&db, &admin).await;
        let listed: Vec<String> = users::list_managed(&db, &s)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.email)
            .collect();
        assert_eq!(listed.len(), 2);
        assert!(!listed.contains(&foreign.email));
        assert!(matches!(
            users::update_access(&db, &s, &foreign.id, Role::Cpip, false).await,
            Err(StoreError::NotFound)
        ));

        let updated = users::update_access(&db, &s, &cpip.id, Role::Dpip, false)
            .await
            .unwrap();
        assert!(!updated.active);
        assert_eq!(updated.role, Role::Dpip);
        assert!(sessions::find(&db, &token, store::now(), 3600)
            .await
            .unwrap()
            .is_none());
    })
    .await;
}

#[tokio::test]
async fn ten_failed_logins_lock_the_account_for_fifteen_minutes() {
    on_each_backend(|db| async move {
        let sys = Actor::system("test");
        let spip = orgs::create(&db, &sys, &org(OrgKind::Spip, "SPIP 92", None))
            .await
            .unwrap();
        let u = user(&db, "a@b.test", Role::Cpip, &spip.id).await;
        let now = 1_800_000_000;
        for i in 1..10 {
            assert_eq!(
                users::record_failed_login(&db, &u.id, now + i)
                    .await
                    .unwrap(),
                None
            );
        }
        let locked = users::record_failed_login(&db, &u.id, now + 10)
            .await
            .unwrap();
        assert_eq!(locked, Some(now + 10 + 15 * 60));
        let u2 = users::get_unscoped(&db, &u.id).await.unwrap();
        assert!(u2.is_locked(now + 11));
        assert!(!u2.is_locked(now + 10 + 15 * 60));
        // After the lock expires, one more failure starts a new count instead of locking again.
        assert_eq!(
            users::record_failed_login(&db, &u.id, now + 2000)
                .await
                .unwrap(),
            None
        );
        users::record_login_success(&db, &u.id, now + 2001)
            .await
            .unwrap();
        assert_eq!(
            users::get_unscoped(&db, &u.id).await.unwrap().failed_logins,
            0
        );
    })
    .await;
}

#[tokio::test]
async fn sessions_expire_after_the_idle_timeout_and_tokens_are_single_use() {
    on_each_backend(|db| async move {
        let sys = Actor::system("test");
        let spip = orgs::create(&db, &sys, &org(OrgKind::Spip, "SPIP 92", None))
            .await
            .unwrap();
        let u = user(&db, "a@b.test", Role::Cpip, &spip.id).await;
        let t0 = 1_800_000_000;
        let (token, s) = sessions::create(&db, &u.id, Stage::Full, Some("127.0.0.1"), None, t0)
            .await
            .unwrap();
        assert_ne!(s.id_hash, token, "only the hash is stored");
        assert!(sessions::find(&db, &token, t0 + 3000, 3600)
            .await
            .unwrap()
            .is_some());
        // Activity at t0+3000 extends the session.
        assert!(sessions::find(&db, &token, t0 + 6000, 3600)
            .await
            .unwrap()
            .is_some());
        assert!(sessions::find(&db, &token, t0 + 6000 + 3601, 3600)
            .await
            .unwrap()
            .is_none());
        assert!(sessions::find(&db, "forged", t0, 3600)
            .await
            .unwrap()
            .is_none());

        let link = sessions::create_user_token(&db, &u.id, "reset", 3600, t0)
            .await
            .unwrap();
        assert_eq!(
            sessions::peek_user_token(&db, &link, "invite", t0)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            sessions::consume_user_token(&db, &link, "reset", t0 + 10)
                .await
                .unwrap(),
            Some(u.id.clone())
        );
        assert_eq!(
            sessions::consume_user_token(&db, &link, "reset", t0 + 11)
                .await
                .unwrap(),
            None
        );
        let late = sessions::create_user_token(&db, &u.id, "reset", 3600, t0)
            .await
            .unwrap();
        assert_eq!(
            sessions::consume_user_token(&db, &late, "reset", t0 + 3601)
                .await
                .unwrap(),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn the_audit_trail_cannot_be_edited_or_deleted() {
    on_each_backend(|db| async move {
        let sys = Actor::system("test");
        orgs::create(&db, &sys, &org(OrgKind::Spip, "SPIP 92", None))
            .await
            .unwrap();
        let events = audit::list(
            &db,
            &Scope::system("t"),
            &audit::AuditFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(events[0].action, "organisation.create");
        assert!(sqlx::query("UPDATE audit_events SET action = 'x'")
            .execute(db.pool())
            .await
            .is_err());
        assert!(sqlx::query("DELETE FROM audit_events")
            .execute(db.pool())
            .await
            .is_err());
        let after = audit::list(
            &db,
            &Scope::system("t"),
            &audit::AuditFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(after.len(), events.len());
    })
    .await;
}

#[tokio::test]
async fn a_duplicate_email_is_a_conflict_not_a_crash() {
    on_each_backend(|db| async move {
        let sys = Actor::system("test");
        let spip = orgs::create(&db, &sys, &org(OrgKind::Spip, "SPIP 92", None))
            .await
            .unwrap();
        user(&db, "a@b.test", Role::Cpip, &spip.id).await;
        let again = users::create(
            &db,
            &sys,
            &NewUser {
                email: "A@B.test".into(),
                first_name: "x".into(),
                last_name: "y".into(),
                role: Role::Cpip,
                organisation_id: spip.id.clone(),
                password_hash: None,
            },
        )
        .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))));
    })
    .await;
}

#[tokio::test]
async fn outbox_claims_each_due_message_once_and_retries_with_backoff() {
    on_each_backend(|db| async move {
        let now = 1_800_000_000;
        for i in 0..3 {
            outbox::enqueue(
                db.pool(),
                &outbox::NewMessage {
                    channel: "email".into(),
                    kind: "test".into(),
                    organisation_id: None,
                    recipient: format!("r{i}@x.test"),
                    subject: Some("s".into()),
                    body: "b".into(),
                    due_at: now + i,
                    related_type: None,
                    related_id: None,
                },
            )
            .await
            .unwrap();
        }
        let first = outbox::claim_due(&db, now + 1, 10, 60).await.unwrap();
        assert_eq!(first.len(), 2, "the third is not due yet");
        assert!(
            outbox::claim_due(&db, now + 1, 10, 60)
                .await
                .unwrap()
                .is_empty(),
            "claimed rows are leased"
        );
        outbox::mark_sent(&db, &first[0].id, Some("p1"), now + 2)
            .await
            .unwrap();
        assert_eq!(
            outbox::mark_attempt_failed(&db, &first[1].id, "boom", now + 2)
                .await
                .unwrap(),
            "programmed"
        );
        // The lease of a crashed worker runs out: its message is claimed again.
        let again = outbox::claim_due(&db, now + 100, 10, 60).await.unwrap();
        assert_eq!(again.len(), 2);
        for _ in 0..10 {
            for m in outbox::claim_due(&db, now + 100_000, 10, 60).await.unwrap() {
                outbox::mark_attempt_failed(&db, &m.id, "boom", now + 100_000)
                    .await
                    .unwrap();
            }
        }
        let all = outbox::list_recent(&db, &Scope::system("t"), 10)
            .await
            .unwrap();
        let failed: Vec<_> = all.iter().filter(|m| m.state == "failed").collect();
        assert!(failed.iter().all(|m| m.attempts == outbox::MAX_ATTEMPTS));
        assert_eq!(all.iter().filter(|m| m.state == "sent").count(), 1);
    })
    .await;
}

#[tokio::test]
async fn rate_limit_allows_the_maximum_then_refuses_until_the_window_ends() {
    on_each_backend(|db| async move {
        let now = 1_800_000_000;
        for _ in 0..5 {
            assert!(ratelimit::hit(&db, "login:1.2.3.4", 60, 5, now)
                .await
                .unwrap());
        }
        assert!(!ratelimit::hit(&db, "login:1.2.3.4", 60, 5, now + 1)
            .await
            .unwrap());
        assert!(ratelimit::hit(&db, "login:5.6.7.8", 60, 5, now + 1)
            .await
            .unwrap());
        assert!(ratelimit::hit(&db, "login:1.2.3.4", 60, 5, now + 61)
            .await
            .unwrap());
    })
    .await;
}

#[tokio::test]
async fn juridictions_route_a_commune_to_its_tj_and_communes_are_searchable_without_accents() {
    on_each_backend(|db| async move {
        let sys = Actor::system("test");
        let communes = vec![
            Commune {
                insee: "92050".into(),
                name: "Nanterre".into(),
                departement: "92".into(),
                postcodes: vec!["92000".into()],
            },
            Commune {
                insee: "92012".into(),
                name: "Boulogne-Billancourt".into(),
                departement: "92".into(),
                postcodes: vec!["92100".into()],
            },
        ];
        refdata::upsert_communes(&db, &sys, &communes, &|_| {})
            .await
            .unwrap();
        let found = refdata::search_communes(&db, "boulogne bill", 10)
            .await
            .unwrap();
        assert_eq!(found[0].insee, "92012");
        assert_eq!(
            refdata::search_communes(&db, "92000", 10).await.unwrap()[0].name,
            "Nanterre"
        );
        let rows = vec![Juridiction {
            insee: "92050".into(),
            commune_name: "Nanterre".into(),
            cour_appel: "Cour d'appel de Versailles".into(),
            tribunal_judiciaire: "Tribunal judiciaire de Nanterre".into(),
            tribunal_proximite: None,
            conseil_prudhommes: Some("Conseil de prud'hommes de Nanterre".into()),
        }];
        refdata::replace_juridictions(&db, &sys, &rows, "test", &|_| {})
            .await
            .unwrap();
        let j = refdata::juridiction_for(&db, "92050")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(j.tribunal_judiciaire, "Tribunal judiciaire de Nanterre");
        assert!(refdata::juridiction_for(&db, "75056")
            .await
            .unwrap()
            .is_none());
    })
    .await;
}
