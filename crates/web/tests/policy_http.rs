//! The rights holes found by probing, each through the real router (or the repository an HTTP handler calls), on SQLite
//! and PostgreSQL: links in failed messages, the demo outbox, text in the query string, slots and divestments of a
//! linked SPIP, a TJ's local admin and the parquet's accounts, the audit journal of linked organisations,
//! uniqueness answers outside the scope, and unaudited reads.

mod support;

use axum::http::StatusCode;
use store::outbox::{self, NewMessage, Outcome};
use store::roles::Role;
use store::testing::on_each_backend;
use store::{Actor, Scope};
use support::World;

async fn scope_of(w: &World, name: &str) -> Scope {
    let (role, org) = w.roles[name].clone();
    let a = w.agent(name);
    Scope::for_user(&w.db, &a.user_id, name, role, &org, None)
        .await
        .unwrap()
}

/// Fails every message still programmed, for good (as after 5 attempts).
async fn fail_everything(w: &World) {
    let claimed = outbox::claim_due(&w.db, store::now() + 10, 100, 60)
        .await
        .unwrap();
    let outcomes: Vec<Outcome> = claimed
        .iter()
        .map(|m| Outcome::Failed {
            id: m.id.clone(),
            attempts: 5,
            error: "550 boîte pleine".into(),
            permanent: true,
        })
        .collect();
    outbox::record_outcomes(&w.db, &outcomes, store::now() + 10)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_failed_invitation_shows_no_link_and_only_to_the_administrators_of_its_organisation() {
    on_each_backend(|db| async move {
        let w = World::build(db).await;
        let form = format!(
            "email=nouvel.agent%40test.justice.fr&first_name=Lou&last_name=Roux&role=cpip&organisation_id={}",
            w.spip_a
        );
        let (status, body) = w.post(Some("local_admin_a"), "/admin/utilisateurs", &form).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("Invitation envoyée"), "{body}");
        // Stored without its link; the channel gets it back.
        let mails = outbox::list_for_recipient(&w.db, "nouvel.agent@test.justice.fr")
            .await
            .unwrap();
        assert_eq!(mails.len(), 1);
        assert!(!mails[0].body.contains("jeton="));
        assert!(mails[0].body_for_recipient().contains("/mot-de-passe/nouveau?jeton="));
        fail_everything(&w).await;
        let failed = outbox::get_unscoped(&w.db, &mails[0].id).await.unwrap();
        assert_eq!(failed.state, "failed");
        assert!(failed.secret.is_none(), "the link is dropped when it fails for good");

        // Agents of the organisation (a CPIP) and of the linked TJ do not see it at all.
        for who in ["cpip_a", "jap", "local_admin_tj", "cpip_b", "local_admin_b"] {
            let (status, page) = w.get(Some(who), "/messages/echecs").await;
            assert_eq!(status, StatusCode::OK, "{who}");
            assert!(!page.contains("nouvel.agent@test.justice.fr"), "{who} sees it");
        }
        // Its own local admin and the national admin see that it failed, never the link, and cannot retry it.
        for who in ["local_admin_a", "admin"] {
            let (_, page) = w.get(Some(who), "/messages/echecs").await;
            assert!(page.contains("nouvel.agent@test.justice.fr"), "{who}");
            assert!(!page.contains("jeton="), "{who} reads a link");
            assert!(page.contains("Lien non envoyé"), "{who}");
        }
        let (status, to) = w
            .post(
                Some("local_admin_a"),
                &format!("/messages/{}/relancer", mails[0].id),
                "",
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(to.contains("erreur=compte"), "{to}");
        let (_, page) = w.get(Some("local_admin_a"), "/messages/echecs?erreur=compte").await;
        assert!(page.contains("ne peut pas être relancé"));
        let (status, _) = w
            .post(Some("cpip_a"), &format!("/messages/{}/relancer", mails[0].id), "")
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            outbox::get_unscoped(&w.db, &mails[0].id).await.unwrap().state,
            "failed"
        );
    })
    .await;
}

#[tokio::test]
async fn the_demo_outbox_needs_a_sign_in_and_shows_each_agent_only_their_own_messages_and_persons()
{
    on_each_backend(|db| async move {
        let w = World::build(db).await;
        // A reset link for the CPIP of SPIP A, and the summon of SPIP A's person (booked by the fixture).
        let cpip = w.agent("cpip_a").clone();
        outbox::enqueue_with_secret(
            w.db.pool(),
            &NewMessage {
                channel: "email".into(),
                kind: "password_reset".into(),
                organisation_id: Some(w.spip_a.clone()),
                recipient: cpip.email.clone(),
                subject: Some("Passerelle — réinitialisation".into()),
                body: format!("Ouvrez ce lien : {}", outbox::LINK_PLACEHOLDER),
                due_at: 0,
                related_type: Some("user".into()),
                related_id: Some(cpip.user_id.clone()),
            },
            Some("http://passerelle.test/mot-de-passe/nouveau?jeton=cafe1234"),
        )
        .await
        .unwrap();

        for (org, phone, appointment) in [
            (&w.spip_a, "+33612345678", &w.a.appointment),
            (&w.spip_b, "+33698765432", &w.b.appointment),
        ] {
            outbox::enqueue(
                w.db.pool(),
                &NewMessage {
                    channel: "sms".into(),
                    kind: "summon".into(),
                    organisation_id: Some(org.clone()),
                    recipient: phone.into(),
                    subject: None,
                    body: "Vous êtes convoqué(e).".into(),
                    due_at: 0,
                    related_type: Some("appointment".into()),
                    related_id: Some(appointment.clone()),
                },
            )
            .await
            .unwrap();
        }
        let (status, to) = w.get(None, "/demo/messages").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(to.contains("/connexion"), "{to}");

        // The recipient reads their own link.
        let (status, page) = w.get(Some("cpip_a"), "/demo/messages").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("jeton=cafe1234"));
        assert!(
            page.contains("+33612345678"),
            "the summon of a person of the SPIP"
        );
        // A colleague, the local admin, the linked TJ: not the link.
        for who in ["dpip_a", "local_admin_a", "jap"] {
            let (_, page) = w.get(Some(who), "/demo/messages").await;
            assert!(!page.contains("jeton=cafe1234"), "{who}");
            assert!(!page.contains(&cpip.email), "{who}");
        }
        // Another SPIP sees neither the link nor SPIP A's persons.
        let (_, page) = w.get(Some("cpip_b"), "/demo/messages").await;
        assert!(!page.contains("jeton=cafe1234"));
        assert!(!page.contains("+33612345678"));
        assert!(page.contains("+33698765432"), "its own person's summon");
        // The national admin sees every message, but not someone else's link.
        let (_, page) = w.get(Some("admin"), "/demo/messages").await;
        assert!(page.contains(&cpip.email));
        assert!(!page.contains("jeton=cafe1234"));
        assert!(page.contains("[lien personnel"));

        // Absent under `serve`.
        let mut serve = support::config();
        serve.mode = web::Mode::Serve;
        let app = web::router(web::AppState::with_local_files(w.db.clone(), serve));
        let req = axum::http::Request::get("/demo/messages")
            .header(axum::http::header::COOKIE, &w.agent("admin").cookie)
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(support::send(&app, req).await.0, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn a_link_cannot_make_the_agenda_or_divestment_page_say_anything() {
    on_each_backend(|db| async move {
        let w = World::build(db).await;
        let forged = "Votre%20compte%20est%20bloqu%C3%A9%20%3A%20appelez%20le%2001%2099";
        for uri in [
            format!("/msj/agendas/{}?erreur={forged}", w.a.agenda),
            format!("/msj/agendas/{}?ok={forged}", w.a.agenda),
            format!("/msj/dessaisissements?erreur={forged}"),
            format!("/msj/dessaisissements?ok={forged}"),
            format!("/msj/lieux/{}?ok={forged}", w.a.place),
        ] {
            let (status, page) = w.get(Some("local_admin_a"), &uri).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            assert!(!page.contains("Votre compte est bloqué"), "{uri}");
            assert!(!page.contains("fr-alert--error"), "{uri}");
        }
        // Known codes still show their fixed text.
        let (_, page) = w
            .get(
                Some("local_admin_a"),
                &format!("/msj/agendas/{}?ok=fermeture", w.a.agenda),
            )
            .await;
        assert!(page.contains("Le créneau a été fermé."));
    })
    .await;
}

async fn slot_closed(w: &World, slot: &str) -> bool {
    store::msj::agendas::get_slot(&w.db, &Scope::system("test"), slot)
        .await
        .unwrap()
        .closed
}

#[tokio::test]
async fn only_the_agendas_own_service_with_a_managing_role_changes_its_slots() {
    on_each_backend(|db| async move {
        let w = World::build(db).await;
        let slot = w.a.slot.clone();
        for who in [
            "jap",
            "prosecutor",
            "bex",
            "dir_greff_bex",
            "local_admin_tj",
        ] {
            for action in ["fermer", "capacite"] {
                let (status, _) = w
                    .post(
                        Some(who),
                        &format!("/msj/creneaux/{slot}/{action}"),
                        "capacity=1",
                    )
                    .await;
                assert_eq!(status, StatusCode::FORBIDDEN, "{who} {action}");
            }
            assert!(!slot_closed(&w, &slot).await, "{who} closed it");
        }
        // Another SPIP does not even see it.
        let (status, _) = w
            .post(Some("cpip_b"), &format!("/msj/creneaux/{slot}/fermer"), "")
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // The store refuses too, whoever calls it.
        let jap = scope_of(&w, "jap").await;
        assert!(matches!(
            store::msj::agendas::set_slot_closed(&w.db, &jap, &slot, true).await,
            Err(store::msj::MsjError::Forbidden(_))
        ));
        // The SPIP's own agents close and reopen it.
        let (status, _) = w
            .post(Some("dpip_a"), &format!("/msj/creneaux/{slot}/fermer"), "")
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(slot_closed(&w, &slot).await);
        let (status, _) = w
            .post(Some("cpip_a"), &format!("/msj/creneaux/{slot}/rouvrir"), "")
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(!slot_closed(&w, &slot).await);
        // The linked TJ's agenda page shows no slot buttons.
        let (_, page) = w
            .get(Some("jap"), &format!("/msj/agendas/{}", w.a.agenda))
            .await;
        assert!(!page.contains(&format!("/msj/creneaux/{slot}/fermer")));
    })
    .await;
}

#[tokio::test]
async fn only_the_service_owning_a_file_asks_for_its_divestment() {
    on_each_backend(|db| async move {
        let w = World::build(db).await;
        let uri = format!("/msj/personnes/{}/dessaisissement", w.a.person);
        let form = format!(
            "to_organisation_id={}&comment=d%C3%A9m%C3%A9nagement",
            w.spip_b
        );
        for who in ["jap", "bex", "prosecutor", "local_admin_tj"] {
            assert_eq!(
                w.get(Some(who), &uri).await.0,
                StatusCode::FORBIDDEN,
                "{who}"
            );
            assert_eq!(
                w.post(Some(who), &uri, &form).await.0,
                StatusCode::FORBIDDEN,
                "{who}"
            );
        }
        assert_eq!(
            w.post(Some("cpip_b"), &uri, &form).await.0,
            StatusCode::NOT_FOUND
        );
        let all = store::msj::divestments::list(&w.db, &Scope::system("test"), None)
            .await
            .unwrap();
        assert!(all.is_empty(), "no request was recorded");
        // The store refuses a linked court too.
        let jap = scope_of(&w, "jap").await;
        assert!(matches!(
            store::msj::divestments::request(&w.db, &jap, &w.a.person, &w.spip_b, "", store::now())
                .await,
            Err(store::msj::MsjError::Forbidden(_))
        ));
        // The person's page offers the action to the owner only.
        let show = format!("/msj/personnes/{}", w.a.person);
        let (_, page) = w.get(Some("jap"), &show).await;
        assert!(
            !page.contains(&uri),
            "a linked court is offered the divestment"
        );
        let (_, page) = w.get(Some("cpip_a"), &show).await;
        assert!(page.contains(&uri));
        // The owning SPIP's CPIP may.
        let (status, to) = w.post(Some("cpip_a"), &uri, &form).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
        let all = store::msj::divestments::list(&w.db, &Scope::system("test"), None)
            .await
            .unwrap();
        assert_eq!(all.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_tj_local_admin_does_not_manage_the_parquets_accounts() {
    on_each_backend(|db| async move {
        let w = World::build(db).await;
        let magistrate = w.agent("parquet_magistrate").clone();
        let (status, page) = w.get(Some("local_admin_tj"), "/admin/utilisateurs").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            !page.contains(&magistrate.email),
            "the parquet's accounts are listed"
        );
        assert!(page.contains(&w.agent("jap").email));
        let edit = format!("/admin/utilisateurs/{}", magistrate.user_id);
        assert_eq!(
            w.get(Some("local_admin_tj"), &edit).await.0,
            StatusCode::NOT_FOUND
        );
        let (status, _) = w
            .post(
                Some("local_admin_tj"),
                &edit,
                "role=parquet_magistrate&active=false",
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let still = store::users::get_unscoped(&w.db, &magistrate.user_id)
            .await
            .unwrap();
        assert!(still.active, "deactivated by the TJ's local admin");
        // The parquet's own administrator and the national admin do.
        for who in ["parquet_admin", "admin"] {
            let (status, page) = w.get(Some(who), "/admin/utilisateurs").await;
            assert_eq!(status, StatusCode::OK, "{who}");
            assert!(page.contains(&magistrate.email), "{who}");
            assert_eq!(w.get(Some(who), &edit).await.0, StatusCode::OK, "{who}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_local_admin_reads_the_journal_of_the_organisations_it_manages_not_of_linked_ones() {
    on_each_backend(|db| async move {
        let w = World::build(db).await;
        let event = |label: &str, org: &str, ip: &str| Actor {
            user_id: None,
            label: label.into(),
            role: Some(Role::Jap),
            organisation_id: Some(org.into()),
            ip: Some(ip.into()),
        };
        let tj_staff = event("Juge Martin", &w.tj, "203.0.113.7");
        let spip_staff = event("Agent Durand", &w.spip_a, "198.51.100.1");
        let antenna_staff = event("Agent Colombes", &w.antenna_a, "198.51.100.2");
        for a in [&tj_staff, &spip_staff, &antenna_staff] {
            store::audit::record(w.db.pool(), a, "ppsmj.read", "ppsmj", Some("x"), None)
                .await
                .unwrap();
        }
        let (status, page) = w.get(Some("local_admin_a"), "/admin/journal").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("198.51.100.1") && page.contains("198.51.100.2"));
        assert!(
            !page.contains("203.0.113.7"),
            "the linked TJ's staff events are shown"
        );
        assert!(!page.contains("Juge Martin"));
        let (_, page) = w.get(Some("local_admin_tj"), "/admin/journal").await;
        assert!(page.contains("203.0.113.7"));
        assert!(!page.contains("198.51.100.1"));
        let (_, page) = w.get(Some("admin"), "/admin/journal").await;
        assert!(page.contains("203.0.113.7") && page.contains("198.51.100.1"));
        // In plain French: the action's words, never its code or raw JSON in a cell.
        assert!(page.contains("<td>Consultation d"), "{page}");
        assert!(!page.contains("<td>ppsmj.read</td>"));
    })
    .await;
}

async fn hidden_conflicts(w: &World) -> usize {
    store::audit::list(
        &w.db,
        &Scope::system("test"),
        &store::audit::AuditFilter {
            action: Some("ppsmj.hidden_conflict".into()),
            limit: 100,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .len()
}

#[tokio::test]
async fn a_number_used_by_another_service_is_refused_without_saying_why_and_audited() {
    on_each_backend(|db| async move {
        let w = World::build(db).await;
        // SPIP B types the phone and the APPI number of SPIP A's person.
        let form = "first_name=Marc&last_name=Petit&birth_date=1985-01-01&phone=06+12+34+56+78&appi_number=20012345A&address=1+rue+A&city=Paris";
        let (status, page) = w.post(Some("cpip_b"), "/msj/personnes/nouvelle", form).await;
        assert_eq!(status, StatusCode::OK, "the form again, with its errors");
        assert!(page.contains("Ce numéro ne peut pas être utilisé ; contactez votre administrateur."));
        assert!(!page.contains("autre dossier"), "{page}");
        assert_eq!(hidden_conflicts(&w).await, 1);
        // Within its own scope, the agent is told plainly (it can open the other record anyway).
        let (_, page) = w.post(Some("dpip_a"), "/msj/personnes/nouvelle", form).await;
        assert!(page.contains("Même numéro de téléphone"), "{page}");
        assert_eq!(hidden_conflicts(&w).await, 1);

        // The APPI import gives the same answer whether the name and birth date match or not.
        let cpip_b = scope_of(&w, "cpip_b").await;
        let mut answers = vec![];
        for (name, birth) in [("Lefèvre", "02/03/1990"), ("Autre", "01/01/1970")] {
            let csv = format!(
                "Numéro APPI;Nom;Prénom;Date de naissance;Téléphone;Adresse;Ville\n20012345A;{name};Hélène;{birth};;1 rue A;Paris\n"
            );
            let err = store::msj::appi_import::import_appi_file(
                &w.db,
                &cpip_b,
                &w.spip_b,
                csv.as_bytes(),
                store::now(),
            )
            .await
            .unwrap_err();
            let store::msj::appi_import::ImportError::Rows(rows) = err else {
                panic!("row errors expected")
            };
            answers.push(rows[0].message.clone());
        }
        assert_eq!(answers[0], answers[1]);
        assert!(answers[0].contains("ne peut pas être utilisé"), "{}", answers[0]);
        assert!(!answers[0].contains("différent") && !answers[0].contains("déjà"));
        assert_eq!(hidden_conflicts(&w).await, 3);
    })
    .await;
}

#[tokio::test]
async fn the_person_list_and_search_are_audited_once_per_page_view() {
    on_each_backend(|db| async move {
        let w = World::build(db).await;
        let count = |action: &'static str| {
            let db = w.db.clone();
            async move {
                store::audit::list(
                    &db,
                    &Scope::system("test"),
                    &store::audit::AuditFilter {
                        action: Some(action.into()),
                        limit: 100,
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
            }
        };
        let (status, _) = w.get(Some("cpip_a"), "/msj/personnes").await;
        assert_eq!(status, StatusCode::OK);
        let (status, page) = w.get(Some("cpip_a"), "/msj/personnes?q=lef%C3%A8vre").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("LEFÈVRE"), "the search finds the person");
        let lists = count("ppsmj.list").await;
        assert_eq!(lists.len(), 1);
        let searches = count("ppsmj.search").await;
        assert_eq!(
            searches.len(),
            1,
            "one row per page view, not one per person"
        );
        let details = searches[0].details.clone().unwrap_or_default();
        assert!(details.contains("lefèvre"), "{details}");
        assert_eq!(
            searches[0].actor_user_id.as_deref(),
            Some(w.agent("cpip_a").user_id.as_str())
        );
    })
    .await;
}

#[tokio::test]
async fn a_link_is_dropped_once_the_message_has_left_except_in_the_demo_outbox() {
    on_each_backend(|db| async move {
        let mut ids = vec![];
        for to in ["smtp@test.fr", "demo@test.fr"] {
            ids.push(
                outbox::enqueue_with_secret(
                    db.pool(),
                    &NewMessage {
                        channel: "email".into(),
                        kind: "password_reset".into(),
                        organisation_id: None,
                        recipient: to.into(),
                        subject: None,
                        body: format!("Lien : {}", outbox::LINK_PLACEHOLDER),
                        due_at: 0,
                        related_type: None,
                        related_id: None,
                    },
                    Some("http://passerelle.test/mot-de-passe/nouveau?jeton=beef"),
                )
                .await
                .unwrap(),
            );
        }
        let claimed = outbox::claim_due(&db, 100, 10, 60).await.unwrap();
        assert_eq!(claimed.len(), 2);
        assert!(claimed
            .iter()
            .all(|m| m.body_for_recipient().ends_with("jeton=beef")));
        let outcomes: Vec<Outcome> = ids
            .iter()
            .zip(["smtp", "demo"])
            .map(|(id, provider)| Outcome::Sent {
                id: id.clone(),
                provider: provider.into(),
                provider_message_id: None,
                subject: None,
                body: None,
            })
            .collect();
        outbox::record_outcomes(&db, &outcomes, 100).await.unwrap();
        let smtp = outbox::get_unscoped(&db, &ids[0]).await.unwrap();
        assert_eq!(smtp.state, "sent");
        assert!(smtp.secret.is_none());
        assert!(!smtp.body.contains("jeton"));
        let demo = outbox::get_unscoped(&db, &ids[1]).await.unwrap();
        assert!(
            demo.secret.is_some(),
            "the demo outbox shows it to its recipient"
        );
    })
    .await;
}
