//! Personal staff accounts (`staff`): each `staff:{name}` as staff_set.lua leaves it, and the
//! `staff_names` index. (Their sessions and API tokens are not restored: staff sign in again, and
//! admins make new API tokens.)

use sqlx::MySqlPool;

use super::RestoreReport;
use super::writer::Writer;

type StaffRow = (String, String, String, String, bool, String, u64, u64, u64);

pub(super) async fn staff(pool: &MySqlPool, w: &mut Writer<'_>, report: &mut RestoreReport) -> anyhow::Result<()> {
    let rows: Vec<StaffRow> = sqlx::query_as(
        "SELECT name, role, pw, totp_secret, disabled, created_by, created_at, updated_at, ver FROM staff ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    let mut names = Vec::with_capacity(rows.len());
    for (name, role, pw, totp, disabled, created_by, created_at, updated_at, ver) in rows {
        let fields = vec![
            ("name", name.clone()),
            ("role", role),
            ("pw", pw),
            ("totp", totp),
            ("disabled", if disabled { "1" } else { "0" }.to_owned()),
            ("created_by", created_by),
            ("created_at", created_at.to_string()),
            ("updated_at", updated_at.to_string()),
            ("ver", ver.to_string()),
        ];
        w.hset(w.redis.keys.staff(&name), fields).await?;
        names.push((created_at as f64, name));
        report.staff += 1;
    }
    if !names.is_empty() {
        w.zadd(w.redis.keys.staff_names(), names).await?;
    }
    Ok(())
}
