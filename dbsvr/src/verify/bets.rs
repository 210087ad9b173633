//! Comparing bets.

use std::collections::HashMap;

use common::Redis;
use sqlx::MySqlPool;

use super::read::{hashes, num, rnum, rows, rstr, text};
use super::report::{Kind, Report};

type BetRow = (u64, u64, u64, String, i64, i64, String, Option<i64>);

pub(super) async fn bets_chunk(
    redis: &Redis,
    pool: &MySqlPool,
    ids: &[u64],
    report: &mut Report,
) -> anyhow::Result<()> {
    let k = &redis.keys;
    let r_bets = hashes(redis, ids.iter().map(|id| k.bet(*id))).await?;
    let m_bets: HashMap<u64, BetRow> = rows::<BetRow>(
        pool,
        "SELECT id, uid, match_id, option_key, stake, odds, state, payout FROM bets WHERE id IN (",
        ids,
        "",
    )
    .await?
    .into_iter()
    .map(|row| (row.0, row))
    .collect();
    for (rb, &id) in r_bets.iter().zip(ids) {
        let m = m_bets.get(&id);
        let both = report.present_in_both(Kind::Bet, id, !rb.is_empty(), m.is_some());
        let (true, Some((_, uid, match_id, option, stake, odds, state, payout))) = (both, m) else {
            continue;
        };
        report.field(Kind::Bet, id, "state", rstr(rb, "state"), text(state));
        report.field(Kind::Bet, id, "payout", rnum(rb, "payout"), payout.map_or_else(|| "none".into(), num));
        report.field(Kind::Bet, id, "uid", rnum(rb, "uid"), num(uid));
        report.field(Kind::Bet, id, "match_id", rnum(rb, "match_id"), num(match_id));
        report.field(Kind::Bet, id, "option", rstr(rb, "option"), text(option));
        report.field(Kind::Bet, id, "stake", rnum(rb, "stake"), num(stake));
        report.field(Kind::Bet, id, "odds", rnum(rb, "odds"), num(odds));
    }
    Ok(())
}
