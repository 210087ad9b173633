//! match_finish.lua: finish a settled (or refunded) match in the catalogue once every shard has
//! settled its part — final states, indexes, events, the shards' totals and the change record, in
//! one atomic step on `{g}`; a second finisher finds it finished and writes nothing.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/match_finish.lua.

use crate::shards::Home;
use protocol::matches::{Action, MatchState};

use super::settle_batch::{from_states, steps};
use super::{Reply, ScriptName, StoreError};
use crate::Redis;

/// The finish of one match.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub mid: u64,
    /// The match's type (names the per-type indexes).
    pub kind: &'a str,
    /// The final transitions, in order (`[Settled, Credited]`, or `[Refunded]`).
    pub finals: &'a [Action],
    /// Bets settled, summed over the shards.
    pub settled: u64,
    /// Coins paid, summed over the shards.
    pub paid: u64,
    /// Unix ms.
    pub now_ms: u64,
}

/// What match_finish.lua answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Finished now, from `from` to `to`.
    Finished { from: MatchState, to: MatchState },
    /// The match is not in a state the final steps start from (finished already by another
    /// part, or not settling): nothing written.
    NotFinishable { state: MatchState },
    /// No such match.
    NotFound,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let mut keys = vec![k.match_(args.mid), k.notify(Home::Global), k.outbox(Home::Global)];
    keys.extend(k.settle_indexes(args.kind));
    let argv = vec![
        steps(args.finals),
        from_states(args.finals),
        args.settled.to_string(),
        args.paid.to_string(),
        args.now_ms.to_string(),
    ];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::MatchFinish, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    let state = |i: usize| MatchState::from_code(r.int(i)?).ok_or_else(|| r.unexpected());
    Ok(match (r.len(), r.int(0)?) {
        (3, 0) => Outcome::Finished { from: state(1)?, to: state(2)? },
        (2, 1) => Outcome::NotFinishable { state: state(1)? },
        (1, 2) => Outcome::NotFound,
        _ => return Err(r.unexpected()),
    })
}
