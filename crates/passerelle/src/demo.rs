//! The demo data set (DESIGN.md section 2): created idempotently by `passerelle demo`, never by `serve`.

use anyhow::Result;
use store::orgs::{self, NewOrganisation, Organisation};
use store::roles::{OrgKind, Role};
use store::users::{self, NewUser};
use store::{Actor, Db};

pub const DEMO_PASSWORD: &str = "demo";
pub const NATIONAL: &str = "Ministère de la Justice — administration nationale";

fn spec(
    kind: OrgKind,
    name: &str,
    parent: Option<&Organisation>,
    address: Option<&str>,
    email: Option<&str>,
    phone: Option<&str>,
) -> NewOrganisation {
    NewOrganisation {
        kind,
        name: name.into(),
        parent_id: parent.map(|p| p.id.clone()),
        departement: Some("92".into()),
        time_zone: "Europe/Paris".into(),
        address: address.map(str::to_string),
        phone: phone.map(str::to_string),
        email: email.map(str::to_string),
    }
}

async fn org(db: &Db, actor: &Actor, new: NewOrganisation) -> Result<Organisation> {
    if let Some(o) = orgs::find_by_name(db, new.kind, &new.name).await? {
        return Ok(o);
    }
    Ok(orgs::create(db, actor, &new).await?)
}

async fn user(
    db: &Db,
    actor: &Actor,
    hash: &str,
    (email, first, last): (&str, &str, &str),
    role: Role,
    o: &Organisation,
) -> Result<()> {
    if users::find_by_email(db, email).await?.is_some() {
        return Ok(());
    }
    users::create(
        db,
        actor,
        &NewUser {
            email: email.into(),
            first_name: first.into(),
            last_name: last.into(),
            role,
            organisation_id: o.id.clone(),
            password_hash: Some(hash.to_string()),
        },
    )
    .await?;
    Ok(())
}

#[allow(dead_code)] // the MSJ and Info Parquet demo data build on these
pub struct DemoOrgs {
    pub national: Organisation,
    pub tj: Organisation,
    pub parquet: Organisation,
    pub spip: Organisation,
    pub antennas: Vec<Organisation>,
    pub inspection: Organisation,
    pub inspection_service: Organisation,
    pub dgfip: Organisation,
}

/// Creates what is missing of the demo organisations and accounts; running it twice changes nothing.
pub async fn seed(db: &Db) -> Result<DemoOrgs> {
    let a = Actor::system("demo");
    let national = org(
        db,
        &a,
        spec(OrgKind::National, NATIONAL, None, None, None, None),
    )
    .await?;
    let palais = Some("179-191 avenue Joliot-Curie, 92020 Nanterre Cedex");
    let tj = spec(
        OrgKind::Tj,
        "Tribunal judiciaire de Nanterre",
        None,
        palais,
        Some("tj-nanterre@demo.passerelle.fr"),
        Some("01 40 97 10 10"),
    );
    let tj = org(db, &a, tj).await?;
    let parquet = spec(
        OrgKind::Parquet,
        "Parquet de Nanterre",
        Some(&tj),
        palais,
        Some("permanence-parquet@demo.passerelle.fr"),
        Some("06 12 34 56 78"),
    );
    let parquet = org(db, &a, parquet).await?;
    let spip = spec(
        OrgKind::Spip,
        "SPIP des Hauts-de-Seine",
        None,
        Some("10 rue des Trois Fontanot, 92000 Nanterre"),
        Some("spip92@demo.passerelle.fr"),
        Some("01 47 29 50 00"),
    );
    let spip = org(db, &a, spip).await?;
    let mut antennas = vec![];
    for (name, addr) in [
        (
            "SPIP 92 — antenne de Nanterre",
            "10 rue des Trois Fontanot, 92000 Nanterre",
        ),
        (
            "SPIP 92 — antenne de Boulogne-Billancourt",
            "20 rue de Paris, 92100 Boulogne-Billancourt",
        ),
    ] {
        antennas.push(
            org(
                db,
                &a,
                spec(OrgKind::Spip, name, Some(&spip), Some(addr), None, None),
            )
            .await?,
        );
    }
    let inspection = spec(
        OrgKind::Administration,
        "DDETS des Hauts-de-Seine — inspection du travail",
        None,
        None,
        None,
        None,
    );
    let inspection = org(db, &a, inspection).await?;
    let inspection_service = spec(
        OrgKind::Service,
        "Unité de contrôle de Nanterre",
        Some(&inspection),
        None,
        None,
        None,
    );
    let inspection_service = org(db, &a, inspection_service).await?;
    let dgfip = org(
        db,
        &a,
        spec(
            OrgKind::Administration,
            "DDFiP des Hauts-de-Seine",
            None,
            None,
            None,
            None,
        ),
    )
    .await?;
    org(
        db,
        &a,
        spec(
            OrgKind::Service,
            "Pôle de contrôle fiscal",
            Some(&dgfip),
            None,
            None,
            None,
        ),
    )
    .await?;
    if orgs::linked(db, &tj.id)
        .await?
        .iter()
        .all(|o| o.id != spip.id)
    {
        orgs::link(db, &a, &tj.id, &spip.id).await?;
    }

    let hash = web::password::hash(DEMO_PASSWORD);
    user(
        db,
        &a,
        &hash,
        ("admin@demo.passerelle.fr", "Anne", "Martin"),
        Role::Admin,
        &national,
    )
    .await?;
    user(
        db,
        &a,
        &hash,
        ("cpip@demo.passerelle.fr", "Claire", "Dubois"),
        Role::Cpip,
        &spip,
    )
    .await?;
    user(
        db,
        &a,
        &hash,
        ("cpip2@demo.passerelle.fr", "Karim", "Benali"),
        Role::Cpip,
        &antennas[1],
    )
    .await?;
    user(
        db,
        &a,
        &hash,
        ("admin-spip@demo.passerelle.fr", "Sophie", "Leroy"),
        Role::LocalAdmin,
        &spip,
    )
    .await?;
    user(
        db,
        &a,
        &hash,
        ("greffe-bex@demo.passerelle.fr", "Julien", "Moreau"),
        Role::Bex,
        &tj,
    )
    .await?;
    user(
        db,
        &a,
        &hash,
        ("jap@demo.passerelle.fr", "Hélène", "Fournier"),
        Role::Jap,
        &tj,
    )
    .await?;
    user(
        db,
        &a,
        &hash,
        ("agent@demo-inspection.passerelle.fr", "Thomas", "Girard"),
        Role::AdminAgent,
        &inspection_service,
    )
    .await?;
    user(
        db,
        &a,
        &hash,
        (
            "responsable@demo-inspection.passerelle.fr",
            "Nadia",
            "Lambert",
        ),
        Role::AdminManager,
        &inspection,
    )
    .await?;
    user(
        db,
        &a,
        &hash,
        ("parquet@demo.passerelle.fr", "François", "Bernard"),
        Role::ParquetMagistrate,
        &parquet,
    )
    .await?;
    user(
        db,
        &a,
        &hash,
        ("greffe-parquet@demo.passerelle.fr", "Lucie", "Robert"),
        Role::ParquetGreffe,
        &parquet,
    )
    .await?;

    Ok(DemoOrgs {
        national,
        tj,
        parquet,
        spip,
        antennas,
        inspection,
        inspection_service,
        dgfip,
    })
}
