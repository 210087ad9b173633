//! The MySQL schema: `sql/` migrations compiled in, applied by `matchday migrate` (creating the
//! database if it is missing), and checked by dbsvr at start, which refuses a schema it does not know.

use anyhow::{Context, bail};
use sqlx::migrate::Migrator;
use sqlx::{Connection, MySqlConnection, MySqlPool, Row};

pub static MIGRATOR: Migrator = sqlx::migrate!("../sql");

/// The database named in a `mysql://…/name` URL, and the URL of its server (no database).
pub fn split_url(url: &str) -> anyhow::Result<(String, String)> {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let (server, db) = base.rsplit_once('/').context("mysql.url has no /database")?;
    if !server.contains("://") || db.is_empty() {
        bail!("mysql.url must look like mysql://user@host:port/database");
    }
    if !db.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("the database name {db:?} in mysql.url may only hold a-z, A-Z, 0-9 and '_'");
    }
    let server = match query {
        Some(q) => format!("{server}/?{q}"),
        None => format!("{server}/"),
    };
    Ok((db.to_owned(), server))
}

/// Creates the database if it is missing and applies every migration not applied yet.
pub async fn migrate(url: &str) -> anyhow::Result<()> {
    let (db, server) = split_url(url)?;
    let mut conn = MySqlConnection::connect(&server).await.context("cannot connect to MySQL")?;
    sqlx::query(&format!("CREATE DATABASE IF NOT EXISTS `{db}` CHARACTER SET utf8mb4")).execute(&mut conn).await?;
    conn.close().await?;
    let mut conn = MySqlConnection::connect(url).await.context("cannot connect to the database")?;
    MIGRATOR.run(&mut conn).await.context("cannot apply the migrations in sql/")?;
    conn.close().await?;
    Ok(())
}

/// Refuses to go on unless the database holds exactly the migrations this binary knows.
pub async fn check(pool: &MySqlPool) -> anyhow::Result<()> {
    let applied = sqlx::query("SELECT version, checksum FROM _sqlx_migrations WHERE success = 1 ORDER BY version")
        .fetch_all(pool)
        .await
        .context("the database has no schema yet: run `matchday migrate`")?;
    for row in &applied {
        let version: i64 = row.try_get("version")?;
        let checksum: Vec<u8> = row.try_get("checksum")?;
        match MIGRATOR.iter().find(|m| m.version == version) {
            None => {
                bail!("the database has schema version {version}, which this binary does not know; refusing to write")
            }
            Some(m) if m.checksum.as_ref() != checksum.as_slice() => {
                bail!("schema version {version} in the database differs from this binary's sql/; refusing to write")
            }
            Some(_) => {}
        }
    }
    for m in MIGRATOR.iter() {
        if !applied.iter().any(|r| r.try_get::<i64, _>("version").ok() == Some(m.version)) {
            bail!("schema version {} ({}) is not applied: run `matchday migrate`", m.version, m.description);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_database_and_server() {
        let (db, server) = split_url("mysql://root@127.0.0.1:3306/matchday").unwrap();
        assert_eq!((db.as_str(), server.as_str()), ("matchday", "mysql://root@127.0.0.1:3306/"));
        let (db, server) = split_url("mysql://u:p@h/md_1?ssl-mode=disabled").unwrap();
        assert_eq!((db.as_str(), server.as_str()), ("md_1", "mysql://u:p@h/?ssl-mode=disabled"));
        assert!(split_url("mysql://h:1/bad-name").is_err());
        assert!(split_url("mysql://h:1").is_err());
    }
}
