//! Opening hours per organisation and one-time form tokens, on both backends.

use domain::OpeningHours;
use store::msj::booking_rules::{self, Submission};
use store::orgs::{self, NewOrganisation};
use store::roles::{OrgKind, Role};
use store::testing::on_each_backend;
use store::users::{self, NewUser};
use store::{Actor, Db, Scope};

const NOW: i64 = 1_900_000_000;

async fn org(db: &Db, name: &str) -> String {
    orgs::create(
        db,
        &Actor::system("test"),
        &NewOrganisation {
            kind: OrgKind::Spip,
            name: name.into(),
            parent_id: None,
            departement: Some("92".into()),
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

async fn scope(db: &Db, email: &str, role: Role, org_id: &str) -> Scope {
    let u = users::create(
        db,
        &Actor::system("test"),
        &NewUser {
            email: email.into(),
            first_name: "Camille".into(),
            last_name: "Agent".into(),
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

#[tokio::test]
async fn opening_hours_default_to_eight_to_seven_and_only_the_local_admin_changes_them() {
    on_each_backend(|db| async move {
        let a = org(&db, "SPIP 92").await;
        let b = org(&db, "SPIP 75").await;
        assert_eq!(
            booking_rules::opening_hours(&db, &a).await.unwrap(),
            OpeningHours::default()
        );
        let admin_a = scope(&db, "admin@a.test", Role::LocalAdmin, &a).await;
        let cpip_a = scope(&db, "cpip@a.test", Role::Cpip, &a).await;
        let hours = OpeningHours::parse(
            "09:00",
            "17:00",
            [true, true, true, true, true, false, false],
        )
        .unwrap();
        for (s, org_id) in [(&cpip_a, &a), (&admin_a, &b)] {
            assert!(matches!(
                booking_rules::set_opening_hours(&db, s, org_id, &hours, NOW).await,
                Err(store::msj::MsjError::Forbidden(_))
            ));
        }
        booking_rules::set_opening_hours(&db, &admin_a, &a, &hours, NOW)
            .await
            .unwrap();
        // Set twice: the second replaces the first.
        booking_rules::set_opening_hours(&db, &admin_a, &a, &hours, NOW + 1)
            .await
            .unwrap();
        assert_eq!(booking_rules::opening_hours(&db, &a).await.unwrap(), hours);
        assert_eq!(
            booking_rules::opening_hours(&db, &b).await.unwrap(),
            OpeningHours::default()
        );
    })
    .await;
}

#[tokio::test]
async fn a_form_token_acts_once_and_leads_back_to_its_first_result() {
    on_each_backend(|db| async move {
        let mut tx = db.begin().await.unwrap();
        let first = booking_rules::claim_submission_tx(&mut tx, "t1", "u1", "/x", NOW)
            .await
            .unwrap();
        assert_eq!(first, Submission::First);
        booking_rules::finish_submission_tx(&mut tx, "t1", "/msj/rendez-vous/42")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut tx = db.begin().await.unwrap();
        assert_eq!(
            booking_rules::claim_submission_tx(&mut tx, "t1", "u1", "/x", NOW)
                .await
                .unwrap(),
            Submission::Done("/msj/rendez-vous/42".into())
        );
        // Someone else's token reveals nothing.
        assert_eq!(
            booking_rules::claim_submission_tx(&mut tx, "t1", "u2", "/x", NOW)
                .await
                .unwrap(),
            Submission::Done("/x".into())
        );
        tx.rollback().await.unwrap();
        // A rolled-back first use leaves the token free.
        let mut tx = db.begin().await.unwrap();
        booking_rules::claim_submission_tx(&mut tx, "t2", "u1", "/x", NOW)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        let mut tx = db.begin().await.unwrap();
        assert_eq!(
            booking_rules::claim_submission_tx(&mut tx, "t2", "u1", "/x", NOW)
                .await
                .unwrap(),
            Submission::First
        );
        tx.commit().await.unwrap();
        assert_eq!(
            booking_rules::purge_submissions(&db, NOW + 2 * 86_400)
                .await
                .unwrap(),
            2
        );
    })
    .await;
}
