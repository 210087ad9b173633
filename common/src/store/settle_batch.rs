//! settle_batch.lua: settle (or refund) a batch of a match's open bets in one shard — pay, release
//! exposure, record, tell — atomically; a bet no longer on the shard's open list is skipped, so a
//! batch replayed or run twice pays nothing twice; the leaderboards (`crate::leaderboard`) move
//! with the payouts. The match is finished in the catalogue by
//! [`super::match_finish`] once every shard is empty.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/settle_batch.lua.

use crate::leaderboard::{Board, DAY_TTL_S, Period, WEEK_TTL_S};
use crate::shards::Home;
use protocol::matches::{Action, Job, transition};

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

/// An open bet of a shard's `match:{mid}:open`: its id and its bettor (from its terms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenBet {
    pub bid: u64,
    pub uid: u64,
}

/// One batch of one settlement job, in one shard.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub mid: u64,
    /// The shard settled (every bet of the batch is a bet of this shard's open list).
    pub shard: u16,
    /// Settle (pay the winner recorded in the match's `result`) or refund every stake.
    pub job: Job,
    /// Unix ms.
    pub now_ms: u64,
    /// The final transitions that will finish the match (`[Settled, Credited]`, or `[Refunded]`):
    /// the first one's from-states are the states this job may settle in.
    pub finals: &'a [Action],
    /// The bets of this batch (may be none: the reply then just counts what is left).
    pub bets: &'a [OpenBet],
}

/// What settle_batch.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// `settled` bets settled now, `remaining` open bets left in the shard.
    Settled { settled: u64, remaining: u64 },
    /// The shard's copy of the match is not in a state this job may settle (`state`, its code):
    /// nothing written. The copy may lag the catalogue (copy it, then retry).
    NotSettleable { remaining: u64, state: i64 },
    /// The shard holds no copy of the match: nothing written.
    NoCopy { remaining: u64 },
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let home = Home::Shard(args.shard);
    let mut keys = Vec::with_capacity(10 + 3 * args.bets.len());
    keys.extend([
        k.match_copy(args.shard, args.mid),
        k.match_open(args.shard, args.mid),
        k.outbox(home),
        k.notify(home),
    ]);
    let periods = Period::all_at(args.now_ms);
    for board in [Board::Net, Board::Picks] {
        keys.extend(periods.map(|p| k.leaderboard(args.shard, board, p)));
    }
    let mut argv = Vec::with_capacity(7 + args.bets.len());
    argv.extend([
        args.job.name().to_owned(),
        args.now_ms.to_string(),
        from_states(args.finals),
        args.mid.to_string(),
        args.bets.len().to_string(),
        DAY_TTL_S.to_string(),
        WEEK_TTL_S.to_string(),
    ]);
    for b in args.bets {
        keys.extend([k.user_bets(b.uid), k.wallet(b.uid), k.ledger(b.uid)]);
        argv.push(b.bid.to_string());
    }
    let reply = redis.scripts.eval(&redis.pool, ScriptName::SettleBatch, keys, argv).await?;
    parse(&reply)
}

/// The final steps of `chain` ("state:action", comma separated), from the transition table.
pub(super) fn steps(chain: &[Action]) -> String {
    let steps: Vec<String> =
        chain.iter().map(|a| transition(*a)).map(|t| format!("{}:{}", t.to.code(), t.name)).collect();
    steps.join(",")
}

/// The states the first step of `chain` is allowed from, comma separated.
pub(super) fn from_states(chain: &[Action]) -> String {
    let from: Vec<String> =
        chain.first().map(|a| transition(*a).from.iter().map(|s| s.code().to_string()).collect()).unwrap_or_default();
    from.join(",")
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (3, -1) => Outcome::NotSettleable { remaining: r.uint(1)?, state: r.int(2)? },
        (2, -2) => Outcome::NoCopy { remaining: r.uint(1)? },
        (2, settled) if settled >= 0 => Outcome::Settled { settled: settled as u64, remaining: r.uint(1)? },
        _ => return Err(r.unexpected()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_steps_come_from_the_transition_table() {
        let settle = [Action::Settled, Action::Credited];
        assert_eq!((steps(&settle), from_states(&settle)), ("4:settled,9:credited".into(), "3".into()));
        assert_eq!((steps(&[Action::Refunded]), from_states(&[Action::Refunded])), ("8:refunded".into(), "6,7".into()));
        assert_eq!((steps(&[]), from_states(&[])), (String::new(), String::new()));
    }
}
