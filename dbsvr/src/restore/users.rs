//! Restoring users (with their username index), bans and wallets.

use sqlx::MySqlPool;

use super::writer::Writer;
use super::{ROWS, RestoreReport};

pub(super) async fn users(pool: &MySqlPool, w: &mut Writer<'_>, report: &mut RestoreReport) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    let mut after = 0u64;
    loop {
        type UserRow = (u64, String, String, u64, Option<String>, Option<u64>, u64);
        let page: Vec<UserRow> = sqlx::query_as(
            "SELECT id, username, pw, created_at, device, deleted_at, ver FROM users WHERE id > ? ORDER BY id LIMIT ?",
        )
        .bind(after)
        .bind(ROWS)
        .fetch_all(pool)
        .await?;
        for (id, username, pw, created_at, device, deleted_at, ver) in &page {
            let mut fields = vec![
                ("id", id.to_string()),
                ("username", username.clone()),
                ("pw", pw.clone()),
                ("created_at", created_at.to_string()),
            ];
            // A user changed since registering (a new password, a linked guest, a closed account)
            // keeps counting from the version MySQL holds.
            if *ver > 1 {
                fields.push(("ver", ver.to_string()));
            }
            if let Some(digest) = device {
                fields.push(("device", digest.clone()));
            }
            if let Some(at) = deleted_at {
                fields.push(("deleted_at", at.to_string()));
            }
            w.hset(k.user(*id), fields).await?;
            // `reg` names the frame that registered the name; that frame is long gone. Names that
            // start with "~" (guests', closed accounts') are not logged in with; a guest is found by
            // its device. A closed account's name is free after a restore (its hold is not kept).
            if let Some(digest) = device {
                w.hset(k.device(digest), vec![("uid", id.to_string()), ("reg", String::new())]).await?;
            }
            if !username.starts_with('~') {
                w.hset(k.uname(&username.to_lowercase()), vec![("uid", id.to_string()), ("reg", String::new())])
                    .await?;
            }
            report.users += 1;
        }
        match page.last() {
            Some(last) if page.len() as u64 == ROWS => after = last.0,
            _ => return Ok(()),
        }
    }
}

/// The ban state of every user who was ever banned, in the fields user_ban.lua keeps (`ban_ver`
/// too, so a later ban or unban has a newer version than the row), and the wallet's `banned`
/// mirror of a banned user.
pub(super) async fn bans(pool: &MySqlPool, w: &mut Writer<'_>, report: &mut RestoreReport) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    let mut after = 0u64;
    loop {
        let page: Vec<(u64, i8, String, String, u64, u64)> = sqlx::query_as(
            "SELECT b.uid, b.banned, b.reason, b.changed_by, b.changed_at, b.ver FROM user_bans b \
             JOIN users u ON u.id = b.uid WHERE b.uid > ? ORDER BY b.uid LIMIT ?",
        )
        .bind(after)
        .bind(ROWS)
        .fetch_all(pool)
        .await?;
        for (uid, banned, reason, by, at, ver) in &page {
            let flag = if *banned != 0 { "1" } else { "0" };
            let mut fields = vec![("banned", flag.to_owned()), ("ban_ver", ver.to_string())];
            if *banned != 0 {
                fields.extend([
                    ("ban_reason", reason.clone()),
                    ("banned_by", by.clone()),
                    ("banned_at", at.to_string()),
                ]);
                report.bans += 1;
                // The mirror place_bet.lua reads (user_ban.lua writes both).
                w.hset(k.wallet(*uid), vec![("banned", "1".to_owned())]).await?;
            }
            w.hset(k.user(*uid), fields).await?;
        }
        match page.last() {
            Some(last) if page.len() as u64 == ROWS => after = last.0,
            _ => return Ok(()),
        }
    }
}

pub(super) async fn wallets(pool: &MySqlPool, w: &mut Writer<'_>, report: &mut RestoreReport) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    let mut after = 0u64;
    loop {
        let page: Vec<(u64, i64, u64)> =
            sqlx::query_as("SELECT uid, balance, ver FROM wallets WHERE uid > ? ORDER BY uid LIMIT ?")
                .bind(after)
                .bind(ROWS)
                .fetch_all(pool)
                .await?;
        for (uid, balance, ver) in &page {
            w.hset(k.wallet(*uid), vec![("balance", balance.to_string()), ("ver", ver.to_string())]).await?;
            report.wallets += 1;
        }
        match page.last() {
            Some(last) if page.len() as u64 == ROWS => after = last.0,
            _ => return Ok(()),
        }
    }
}

/// What players show others (`profiles`): `nickname`, `avatar` (when not empty) and `profile_ver` in
/// `user:{uid}`, as profile_set.lua keeps them.
pub(super) async fn profiles(pool: &MySqlPool, w: &mut Writer<'_>, report: &mut RestoreReport) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    let mut after = 0u64;
    loop {
        let page: Vec<(u64, String, String, u64)> =
            sqlx::query_as("SELECT uid, nickname, avatar_url, ver FROM profiles WHERE uid > ? ORDER BY uid LIMIT ?")
                .bind(after)
                .bind(ROWS)
                .fetch_all(pool)
                .await?;
        for (uid, nickname, avatar, ver) in &page {
            let mut fields = vec![("profile_ver", ver.to_string())];
            if !nickname.is_empty() {
                fields.push(("nickname", nickname.clone()));
            }
            if !avatar.is_empty() {
                fields.push(("avatar", avatar.clone()));
            }
            w.hset(k.user(*uid), fields).await?;
            report.profiles += 1;
        }
        match page.last() {
            Some(last) if page.len() as u64 == ROWS => after = last.0,
            _ => return Ok(()),
        }
    }
}
