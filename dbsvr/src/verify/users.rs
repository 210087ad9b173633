//! Comparing users with their wallets and ledgers.

use std::collections::HashMap;

use bytes::Bytes;
use common::Redis;
use fred::prelude::*;
use serde::Deserialize;
use sqlx::MySqlPool;

use super::read::{hash_fields, hashes, missing, num, rnum, rows, rstr, text};
use super::report::{Kind, Report};

/// One ledger entry as the scripts write it (only the delta matters here).
#[derive(Deserialize)]
struct Entry {
    delta: i64,
}

pub(super) async fn users_chunk(
    redis: &Redis,
    pool: &MySqlPool,
    ids: &[u64],
    report: &mut Report,
) -> anyhow::Result<()> {
    let k = &redis.keys;
    let r_users = hashes(redis, ids.iter().map(|id| k.user(*id))).await?;
    let r_wallets = hash_fields(redis, ids.iter().map(|id| k.wallet(*id)), &["balance", "ver", "banned"]).await?;
    let pipe = redis.pool.next().pipeline();
    for id in ids {
        let _: () = pipe.lrange(k.ledger(*id), 0, -1).await?;
    }
    let r_ledgers: Vec<Vec<Bytes>> = Redis::each(pipe).await?;

    type UserRow = (u64, String, String, u64, i64, Option<String>, Option<u64>);
    let m_users: HashMap<u64, UserRow> = rows::<UserRow>(
        pool,
        "SELECT u.id, u.username, u.pw, u.created_at, CAST(COALESCE(b.banned, 0) AS SIGNED), u.device, u.deleted_at \
         FROM users u LEFT JOIN user_bans b ON b.uid = u.id WHERE u.id IN (",
        ids,
        "",
    )
    .await?
    .into_iter()
    .map(|row| (row.0, row))
    .collect();
    let m_wallets: HashMap<u64, (i64, u64)> =
        rows::<(u64, i64, u64)>(pool, "SELECT uid, balance, ver FROM wallets WHERE uid IN (", ids, "")
            .await?
            .into_iter()
            .map(|(uid, balance, ver)| (uid, (balance, ver)))
            .collect();
    let m_ledgers: HashMap<u64, (i64, i64)> = rows::<(u64, i64, i64)>(
        pool,
        "SELECT uid, CAST(SUM(delta) AS SIGNED), COUNT(*) FROM ledger WHERE uid IN (",
        ids,
        " GROUP BY uid",
    )
    .await?
    .into_iter()
    .map(|(uid, sum, n)| (uid, (sum, n)))
    .collect();

    for (i, &id) in ids.iter().enumerate() {
        let (ru, rw, rl) = (&r_users[i], &r_wallets[i], &r_ledgers[i]);
        let (mu, mw, ml) = (m_users.get(&id), m_wallets.get(&id), m_ledgers.get(&id));
        if ru.is_empty() && mu.is_none() && rw.is_empty() && mw.is_none() && rl.is_empty() && ml.is_none() {
            report.gaps += 1;
            continue;
        }
        report.users += 1;

        // The user.
        match (ru.is_empty(), mu) {
            (false, Some((_, name, pw, created_at, banned, device, deleted_at))) => {
                report.field(Kind::User, id, "username", rstr(ru, "username"), text(name));
                report.field(
                    Kind::User,
                    id,
                    "device",
                    rstr(ru, "device"),
                    device.as_deref().map_or("none".into(), text),
                );
                report.field(
                    Kind::User,
                    id,
                    "deleted_at",
                    rnum(ru, "deleted_at"),
                    deleted_at.map_or("none".into(), num),
                );
                if ru.get("pw") != Some(pw) {
                    report.diff(Kind::User, id, "pw differs (password hashes are not printed)");
                }
                report.field(Kind::User, id, "created_at", rnum(ru, "created_at"), num(created_at));
                let r_banned = ru.get("banned").map_or(0, |b| i64::from(b == "1"));
                report.field(Kind::User, id, "banned", num(r_banned), num(banned));
            }
            (r_empty, m) => {
                if let Some(what) = missing(!r_empty, m.is_some()) {
                    report.diff(Kind::User, id, what);
                }
            }
        }

        // The wallet.
        match (rw.is_empty(), mw) {
            (false, Some((balance, ver))) => {
                report.field(Kind::Wallet, id, "balance", rnum(rw, "balance"), num(balance));
                report.field(Kind::Wallet, id, "ver", rnum(rw, "ver"), num(ver));
                // The ban's mirror that place_bet.lua reads.
                let m_banned = mu.map_or(0, |u| u.4);
                let r_banned = rw.get("banned").map_or(0, |b| i64::from(b == "1"));
                report.field(Kind::Wallet, id, "banned", num(r_banned), num(m_banned));
            }
            (r_empty, m) => {
                if let Some(what) = missing(!r_empty, m.is_some()) {
                    report.diff(Kind::Wallet, id, what);
                }
            }
        }

        // The ledger: in each store it sums to the balance; both hold as many entries.
        let mut r_sum = 0i64;
        let mut undecodable = 0usize;
        for raw in rl {
            match rmp_serde::from_slice::<Entry>(raw) {
                Ok(e) => r_sum += e.delta,
                Err(_) => undecodable += 1,
            }
        }
        if undecodable > 0 {
            report.diff(Kind::Ledger, id, format!("{undecodable} redis entries are not ledger records"));
        }
        let (m_sum, m_count) = ml.copied().unwrap_or((0, 0));
        if !rw.is_empty() {
            let balance = rnum(rw, "balance");
            if num(r_sum) != balance {
                report.diff(Kind::Ledger, id, format!("redis sum {r_sum} != redis balance {balance}"));
            }
        } else if !rl.is_empty() {
            report.diff(Kind::Ledger, id, format!("redis has {} entries but no wallet", rl.len()));
        }
        match mw {
            Some((balance, _)) if *balance != m_sum => {
                report.diff(Kind::Ledger, id, format!("mysql sum {m_sum} != mysql balance {balance}"));
            }
            None if m_count > 0 => report.diff(Kind::Ledger, id, format!("mysql has {m_count} entries but no wallet")),
            _ => {}
        }
        report.field(Kind::Ledger, id, "entries", num(rl.len()), num(m_count));
    }
    Ok(())
}
