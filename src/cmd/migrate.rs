//! `matchday migrate`: creates the MySQL database if it is missing and applies sql/.

use common::Config;

pub async fn run(cfg: &Config) -> anyhow::Result<()> {
    dbsvr::schema::migrate(&cfg.mysql.url).await?;
    println!("schema is up to date ({})", super::redact(&cfg.mysql.url));
    Ok(())
}
