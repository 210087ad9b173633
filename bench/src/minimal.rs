//! The minimal ceiling: the least a bet can cost — check the request id, check and debit the
//! balance, record the bet once, one change record, answer (`min_bet.lua`, one script call) — sent
//! by concurrent loops straight to Redis (the client pipelines them over its connections). Next to
//! the real mix's ceiling ([`crate::ceiling`]) it shows how far a bet's Redis work is from the
//! minimum, not only how close the service comes to its own mix.

use common::store::min_bet;
use common::{Config, Redis};

use crate::ceiling::STAKE;
use crate::loops::{self, CeilingReport, Series};

struct MinBet;

impl Series for MinBet {
    const NAME: &'static str = "minimal ceiling (min_bet.lua alone)";

    async fn prepare(redis: &Redis, _cfg: &Config, tasks: usize) -> anyhow::Result<MinBet> {
        for uid in 1..=tasks as u64 {
            seed::fund(redis, uid, 1_000_000_000).await?;
        }
        Ok(MinBet)
    }

    async fn one(&self, redis: &Redis, uid: u64, n: u64) -> anyhow::Result<()> {
        let req_id = n.to_string();
        let args = min_bet::Args { uid, stake: STAKE, req_id: &req_id, bid: uid << 32 | n };
        match min_bet::call(redis, &args).await? {
            min_bet::Outcome::Placed { repeated: false, .. } => Ok(()),
            other => anyhow::bail!("min_bet.lua answered {other:?}"),
        }
    }
}

/// Runs it: `tasks` loops for `seconds`, or until `total` bets when given.
pub async fn minimal(cfg: Config, tasks: usize, seconds: u64, total: Option<u64>) -> anyhow::Result<CeilingReport> {
    loops::run::<MinBet>(cfg, tasks, seconds, total).await
}
