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
    let m_matches: HashMap<u64, (i8, i8, String, u64)> = rows::<(u64, i8, i8, String, u64)>(
        pool,
        "SELECT id, state, live, result, odds_ver FROM matches WHERE id IN (",
        ids,
        "",
    )
    .await?
    .into_iter()
    .map(|(id, state, live, result, odds_ver)| (id, (state, live, result, odds_ver)))
    .collect();
    for (rm, &id) in r_matches.iter().zip(ids) {
        let m = m_matches.get(&id);
        let both = report.present_in_both(Kind::Match, id, !rm.is_empty(), m.is_some());
        let (true, Some((state, live, result, odds_ver))) = (both, m) else {
            continue;
        };
        report.field(Kind::Match, id, "state", rnum(rm, "state"), num(state));
        report.field(Kind::Match, id, "live", rnum(rm, "live"), num(live));
        // A match without a result has "" in both stores.
        report.field(Kind::Match, id, "result", rstr(rm, "result"), text(result));
        report.field(Kind::Match, id, "odds_ver", rnum(rm, "odds_ver"), num(odds_ver));
    }
    Ok(())
}
