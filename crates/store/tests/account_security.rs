//! Database side of account security, on SQLite and PostgreSQL.

use store::orgs::{self, NewOrganisation};
use store::parquet::{tokens, ParquetError};
use store::roles::{OrgKind, Role};
use store::sessions::{self, Stage};
use store::testing::on_each_backend;
use store::users::{self, Attempt, NewUser};
use store::{Actor, Db, Scope};

async fn user(db: &Db, email: &str) -> users::User {
    let spip = orgs::create(
        db,
        &Actor::system("test"),
        &NewOrganisation {
            kind: OrgKind::Spip,
            name: format!("SPIP de {email}"),
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
    users::create(
        db,
        &Actor::system("test"),
        &NewUser {
            email: email.into(),
            first_name: "Prénom".into(),
            last_name: "Nom".into(),
            role: Role::Cpip,
            organisation_id: spip.id,
            password_hash: Some("x".into()),
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn parallel_guesses_never_get_more_than_ten_checks() {
    on_each_backend(|db| async move {
        let u = user(&db, "a@b.test").await;
        let now = 1_800_000_000;
        let tasks: Vec<_> = (0..30)
            .map(|_| {
                let (db, id) = (db.clone(), u.id.clone());
                tokio::spawn(async move { users::claim_attempt(&db, &id, now).await.unwrap() })
            })
            .collect();
        let mut counted = vec![];
        for t in tasks {
            if let Attempt::Counted { failures, locks } = t.await.unwrap() {
                counted.push((failures, locks));
            }
        }
        counted.sort();
        assert_eq!(counted.len(), 10, "{counted:?}");
        assert_eq!(
            counted.iter().map(|c| c.0).collect::<Vec<_>>(),
            (1..=10).collect::<Vec<_>>()
        );
        assert_eq!(
            counted.iter().filter(|c| c.1).count(),
            1,
            "one attempt locks"
        );
        assert!(users::get_unscoped(&db, &u.id)
            .await
            .unwrap()
            .is_locked(now));
        // Once the lock has expired, counting starts again.
        assert_eq!(
            users::claim_attempt(&db, &u.id, now + 15 * 60)
                .await
                .unwrap(),
            Attempt::Counted {
                failures: 1,
                locks: false
            }
        );
    })
    .await;
}

#[tokio::test]
async fn a_right_password_before_the_code_does_not_reset_the_count() {
    on_each_backend(|db| async move {
        let u = user(&db, "a@b.test").await;
        let now = 1_800_000_000;
        for _ in 0..5 {
            // Password: counted, then released because it was right.
            users::claim_attempt(&db, &u.id, now).await.unwrap();
            users::release_attempt(&db, &u.id).await.unwrap();
            // Code: counted and wrong.
            users::claim_attempt(&db, &u.id, now).await.unwrap();
        }
        assert_eq!(
            users::get_unscoped(&db, &u.id).await.unwrap().failed_logins,
            5
        );
    })
    .await;
}

#[tokio::test]
async fn a_totp_step_is_accepted_once_even_in_parallel() {
    on_each_backend(|db| async move {
        let u = user(&db, "a@b.test").await;
        users::enable_totp(&db, &Actor::system("t"), &u.id, "SECRET", 100, &[])
            .await
            .unwrap();
        assert!(
            !users::accept_totp_step(&db, &u.id, 100).await.unwrap(),
            "the enrolment code is spent"
        );
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (db, id) = (db.clone(), u.id.clone());
                tokio::spawn(async move { users::accept_totp_step(&db, &id, 101).await.unwrap() })
            })
            .collect();
        let mut accepted = 0;
        for t in tasks {
            accepted += t.await.unwrap() as usize;
        }
        assert_eq!(accepted, 1);
        assert!(
            !users::accept_totp_step(&db, &u.id, 100).await.unwrap(),
            "no going back"
        );
        assert!(users::accept_totp_step(&db, &u.id, 102).await.unwrap());
    })
    .await;
}

async fn mk_org(db: &Db, kind: OrgKind, name: &str, parent: Option<&str>) -> String {
    orgs::create(
        db,
        &Actor::system("test"),
        &NewOrganisation {
            kind,
            name: name.into(),
            parent_id: parent.map(str::to_string),
            departement: None,
            time_zone: "Europe/Paris".into(),
            address: None,
            phone: None,
            email: None,
        },
    )
    .await
    .unwrap()
    .id
}

async fn scoped(db: &Db, email: &str, role: Role, org_id: &str) -> Scope {
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

/// An administration with one service, its manager and the national admin.
async fn administration(db: &Db) -> (Scope, Scope, String) {
    let national = mk_org(db, OrgKind::National, "Ministère de la Justice", None).await;
    let admin = scoped(db, "admin@justice.test", Role::Admin, &national).await;
    let administration = mk_org(db, OrgKind::Administration, "DREETS", None).await;
    let service = mk_org(
        db,
        OrgKind::Service,
        "Unité de contrôle 92",
        Some(&administration),
    )
    .await;
    let manager = scoped(db, "chef@dreets.test", Role::AdminManager, &administration).await;
    (admin, manager, service)
}

#[tokio::test]
async fn a_deactivated_users_api_tokens_stop_working() {
    on_each_backend(|db| async move {
        let (admin, manager, service) = administration(&db).await;
        let (token, raw) =
            tokens::create(&db, &manager, &service, "Logiciel", &[tokens::SCOPE_WRITE])
                .await
                .unwrap();
        let (_, other_raw) =
            tokens::create(&db, &manager, &service, "Autre", &[tokens::SCOPE_READ])
                .await
                .unwrap();
        assert!(tokens::authenticate(&db, &raw.0, None).await.is_ok());

        let manager_id = manager.actor.user_id.clone().unwrap();
        users::update_access(&db, &admin, &manager_id, Role::AdminManager, false)
            .await
            .unwrap();
        for r in [&raw, &other_raw] {
            assert!(matches!(
                tokens::authenticate(&db, &r.0, None).await,
                Err(ParquetError::Unauthenticated)
            ));
        }
        // Revoked in the same change, so reactivating the account does not revive them.
        let revoked = tokens::get(&db, &admin, &token.id).await.unwrap();
        assert!(revoked.revoked_at.is_some());
        users::update_access(&db, &admin, &manager_id, Role::AdminManager, true)
            .await
            .unwrap();
        assert!(tokens::authenticate(&db, &raw.0, None).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn a_token_whose_creator_is_inactive_is_refused_even_if_not_revoked() {
    on_each_backend(|db| async move {
        let (_, manager, service) = administration(&db).await;
        let (_, raw) = tokens::create(&db, &manager, &service, "Logiciel", &[tokens::SCOPE_WRITE])
            .await
            .unwrap();
        // An account switched off by another path (e.g. a database script) than the admin page.
        sqlx::query("UPDATE users SET active = 0 WHERE id = $1")
            .bind(manager.actor.user_id.clone().unwrap())
            .execute(db.pool())
            .await
            .unwrap();
        assert!(matches!(
            tokens::authenticate(&db, &raw.0, None).await,
            Err(ParquetError::Unauthenticated)
        ));
    })
    .await;
}

#[tokio::test]
async fn sessions_end_after_their_absolute_lifetime_even_when_active() {
    on_each_backend(|db| async move {
        let u = user(&db, "a@b.test").await;
        let t0 = 1_800_000_000;
        let (token, _) = sessions::create(&db, &u.id, Stage::Full, None, None, t0)
            .await
            .unwrap();
        // Used every 30 minutes, never idle for an hour...
        let mut t = t0;
        while t < t0 + 12 * 3600 - 1800 {
            t += 1800;
            assert!(
                sessions::find_bounded(&db, &token, t, 3600, 12 * 3600)
                    .await
                    .unwrap()
                    .is_some(),
                "{t}"
            );
        }
        // ...it still ends 12 hours after the login.
        assert!(
            sessions::find_bounded(&db, &token, t0 + 12 * 3600 + 1, 3600, 12 * 3600)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            sessions::find_bounded(&db, &token, t0 + 1, 3600, 12 * 3600)
                .await
                .unwrap()
                .is_none(),
            "deleted"
        );
    })
    .await;
}

#[tokio::test]
async fn the_database_refuses_over_long_names_and_emails() {
    on_each_backend(|db| async move {
        let u = user(&db, "a@b.test").await;
        for (col, len) in [("last_name", 101), ("first_name", 101), ("email", 255)] {
            let sql = format!("UPDATE users SET {col} = $2 WHERE id = $1");
            let too_long = format!("{}@b.test", "x".repeat(len - 7));
            assert!(
                sqlx::query(&sql)
                    .bind(&u.id)
                    .bind(&too_long)
                    .execute(db.pool())
                    .await
                    .is_err(),
                "{col}"
            );
        }
        // At the limit it is accepted.
        sqlx::query("UPDATE users SET last_name = $2 WHERE id = $1")
            .bind(&u.id)
            .bind("é".repeat(100))
            .execute(db.pool())
            .await
            .unwrap();
        let err = users::create(
            &db,
            &Actor::system("t"),
            &NewUser {
                email: "c@d.test".into(),
                first_name: "x".repeat(101),
                last_name: "Nom".into(),
                role: Role::Cpip,
                organisation_id: u.organisation_id.clone(),
                password_hash: None,
            },
        )
        .await;
        assert!(err.is_err());
    })
    .await;
}
