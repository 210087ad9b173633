//! Restoring ledgers (packed as the scripts pack them) and the payment and grant records.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Serialize;
use sqlx::MySqlPool;

use super::writer::Writer;
use super::{LEDGER_USERS, ROWS, RestoreReport};

/// A ledger entry exactly as the scripts pack it (cmsgpack of {id, uid, delta, balance, reason, ref, ts}).
#[derive(Serialize)]
struct Entry<'a> {
    id: &'a str,
    uid: u64,
    delta: i64,
    balance: i64,
    reason: &'a str,
    #[serde(rename = "ref")]
    reference: &'a str,
    ts: u64,
}

/// A `ledger` row: id, uid, delta, balance, reason, ref, ts.
type LedgerRow = (String, u64, i64, i64, String, String, u64);

/// The wallet version in a ledger id "{uid}:{ver}".
fn ledger_ver(id: &str) -> Option<u64> {
    id.rsplit_once(':').and_then(|(_, v)| v.parse().ok())
}

pub(super) async fn ledgers(pool: &MySqlPool, w: &mut Writer<'_>, report: &mut RestoreReport) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    let (max,): (Option<u64>,) = sqlx::query_as("SELECT MAX(uid) FROM ledger").fetch_one(pool).await?;
    let max = max.unwrap_or(0);
    let mut lo = 1u64;
    while lo <= max {
        let hi = lo.saturating_add(LEDGER_USERS - 1).min(max);
        let rows: Vec<LedgerRow> = sqlx::query_as(
            "SELECT id, uid, delta, balance, reason, ref, ts FROM ledger WHERE uid BETWEEN ? AND ? ORDER BY uid",
        )
        .bind(lo)
        .bind(hi)
        .fetch_all(pool)
        .await?;
        let mut by_user: BTreeMap<u64, Vec<&LedgerRow>> = BTreeMap::new();
        for r in &rows {
            by_user.entry(r.1).or_default().push(r);
        }
        for (uid, mut entries) in by_user {
            // Newest first: by wallet version (the order the scripts applied them), then time.
            entries.sort_by_key(|e| std::cmp::Reverse((ledger_ver(&e.0).unwrap_or(u64::MAX), e.6)));
            let mut packed = Vec::with_capacity(entries.len());
            for (id, uid, delta, balance, reason, reference, ts) in entries {
                let e = Entry { id, uid: *uid, delta: *delta, balance: *balance, reason, reference, ts: *ts };
                packed.push(Bytes::from(rmp_serde::to_vec_named(&e)?));
            }
            report.ledger_entries += packed.len() as u64;
            w.rpush(k.ledger(uid), packed).await?;
        }
        lo = hi + 1;
    }
    Ok(())
}

#[derive(Clone, Copy)]
pub(super) enum Credit {
    Payment,
    Grant,
}

pub(super) async fn credits(
    pool: &MySqlPool,
    w: &mut Writer<'_>,
    report: &mut RestoreReport,
    kind: Credit,
) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    let (table, id_col, reason) = match kind {
        Credit::Payment => ("payments", "order_id", "payment"),
        Credit::Grant => ("grant_requests", "request_id", "grant"),
    };
    // The ledger entry of the credit: same user, time, amount and balance, and the reason
    // wallet_change.lua was called with.
    let sql = format!(
        "SELECT c.{id_col}, c.uid, c.amount, c.balance, c.ts, \
           (SELECT l.id FROM ledger l WHERE l.uid = c.uid AND l.ts = c.ts AND l.reason = '{reason}' \
              AND l.delta = c.amount AND l.balance = c.balance LIMIT 1) \
         FROM {table} c WHERE c.{id_col} > ? ORDER BY c.{id_col} LIMIT ?"
    );
    let mut after = String::new();
    loop {
        let page: Vec<(String, u64, i64, i64, u64, Option<String>)> =
            sqlx::query_as(&sql).bind(&after).bind(ROWS).fetch_all(pool).await?;
        for (id, uid, amount, balance, ts, ledger) in &page {
            let mut fields = vec![
                ("uid", uid.to_string()),
                ("delta", amount.to_string()),
                ("balance", balance.to_string()),
                ("ts", ts.to_string()),
            ];
            match ledger {
                Some(l) => fields.push(("ledger", l.clone())),
                None => report.warnings.push(format!(
                    "{reason} {id:?}: no matching ledger row; its record is restored without the `ledger` field"
                )),
            }
            let (key, owner) = match kind {
                Credit::Payment => (k.payment(*uid, id), k.once_owner("payment", id)),
                Credit::Grant => (k.grant(*uid, id), k.once_owner("grant", id)),
            };
            w.hset(key, fields).await?;
            w.set(owner, uid.to_string()).await?;
            match kind {
                Credit::Payment => report.payments += 1,
                Credit::Grant => report.grants += 1,
            }
        }
        match page.last() {
            Some(last) if page.len() as u64 == ROWS => after = last.0.clone(),
            _ => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_entries_pack_like_the_scripts() {
        let e = Entry { id: "7:3", uid: 7, delta: -50, balance: 950, reason: "bet", reference: "12", ts: 99 };
        let v: serde_json::Value = rmp_serde::from_slice(&rmp_serde::to_vec_named(&e).unwrap()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id": "7:3", "uid": 7, "delta": -50, "balance": 950, "reason": "bet", "ref": "12", "ts": 99})
        );
        // What the client ledger (203) reads.
        let item: protocol::body::LedgerItem = rmp_serde::from_slice(&rmp_serde::to_vec_named(&e).unwrap()).unwrap();
        assert_eq!((item.delta, item.reference.as_str()), (-50, "12"));
        assert_eq!((ledger_ver("7:3"), ledger_ver("12:10"), ledger_ver("x")), (Some(3), Some(10), None));
    }
}
