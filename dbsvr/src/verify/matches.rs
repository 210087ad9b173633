//! Comparing matches.

use std::collections::HashMap;

use common::Redis;
use sqlx::MySqlPool;

use super::read::{hashes, num, rnum, rows, rstr, text};
use super::report::{Kind, Report};

pub(super) async fn matches_chunk(
    redis: &Redis,
    pool: &MySqlPool,
    ids: &[u64],
    report: &mut Report,
) -> anyhow::Result<()> {
    let k = &redis.keys;
    let r_matches = hashes(redis, ids.iter().map(|id| k.match_(*id))).await?;
    type Row = (u64, i8, i8, String, u64, u64);
    let m_matches: HashMap<u64, Row> =
        rows::<Row>(pool, "SELECT id, state, live, result, odds_ver, parent_id FROM matches WHERE id IN (", ids, "")
            .await?
            .into_iter()
            .map(|row| (row.0, row))
            .collect();
    for (rm, &id) in r_matches.iter().zip(ids) {
        let m = m_matches.get(&id);
        let both = report.present_in_both(Kind::Match, id, !rm.is_empty(), m.is_some());
        let (true, Some((_, state, live, result, odds_ver, parent))) = (both, m) else {
            continue;
        };
        report.field(Kind::Match, id, "state", rnum(rm, "state"), num(state));
        report.field(Kind::Match, id, "live", rnum(rm, "live"), num(live));
        // A match without a result has "" in both stores.
        report.field(Kind::Match, id, "result", rstr(rm, "result"), text(result));
        report.field(Kind::Match, id, "odds_ver", rnum(rm, "odds_ver"), num(odds_ver));
        // A market names its match in both stores; a match has no parent ("" in Redis, 0 in MySQL).
        let r_parent = rm.get("parent").filter(|p| !p.is_empty()).cloned().unwrap_or_else(|| "0".into());
        report.field(Kind::Match, id, "parent", num(&r_parent), num(parent));
    }
    Ok(())
}
