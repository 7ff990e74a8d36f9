//! Demo data of Info Parquet, created idempotently after the organisations and accounts.

use anyhow::Result;
use store::Db;

use crate::demo::DemoOrgs;

pub async fn seed(_db: &Db, _orgs: &DemoOrgs) -> Result<()> {
    Ok(())
}
