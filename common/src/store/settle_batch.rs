//! settle_batch.lua: settle (or refund) a batch of a match's open bets — pay, release exposure,
//! record, tell — and finish the match when its last open bet is done, atomically; a bet no longer
//! on the open list is skipped, so a batch replayed or run twice pays nothing twice.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/settle_batch.lua.

use crate::shards::Home;
use protocol::matches::{Action, Job, transition};

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

/// An open bet, as `match:{mid}:open` holds it ("bid:uid").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenBet {
    pub bid: u64,
    pub uid: u64,
}

/// One batch of one settlement job.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub mid: u64,
    /// The match's type (names the per-type indexes).
    pub kind: &'a str,
    /// Settle (pay the winner recorded in the match's `result`) or refund every stake.
    pub job: Job,
    /// Unix ms.
    pub now_ms: u64,
    /// The final transitions, in order, that finish the match when its last open bet is done
    /// (`[Settled, Credited]`, or `[Refunded]`): each names the state reached and its event's
    /// action, and the first one's from-states are the states this job may settle in.
    pub finals: &'a [Action],
    /// The bets of this batch (may be none: the match is just finished if nothing is open).
    pub bets: &'a [OpenBet],
}

/// What settle_batch.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// `settled` bets settled now, `remaining` open bets left; `finished`: the match was finished now.
    Settled { settled: u64, remaining: u64, finished: bool },
    /// The match is not in a state this job may settle (`state`, its code): nothing written.
    NotSettleable { remaining: u64, state: i64 },
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let mut keys = Vec::with_capacity(10 + 3 * args.bets.len());
    keys.extend([k.match_(args.mid), k.match_open(args.mid), k.outbox(Home::Global), k.notify(Home::Global)]);
    keys.extend(k.settle_indexes(args.kind));
    let (steps, from) = finals(args.finals);
    let mut argv = Vec::with_capacity(5 + args.bets.len());
    argv.extend([args.job.name().to_owned(), args.now_ms.to_string(), steps, from, args.bets.len().to_string()]);
    for b in args.bets {
        keys.extend([k.bet(b.bid), k.wallet(b.uid), k.ledger(b.uid)]);
        argv.push(b.bid.to_string());
    }
    let reply = redis.scripts.eval(&redis.pool, ScriptName::SettleBatch, keys, argv).await?;
    parse(&reply)
}

/// ARGV[3] and ARGV[4]: the final steps ("state:action", comma separated) and the states the first
/// one is allowed from, from the transition table.
fn finals(chain: &[Action]) -> (String, String) {
    let steps: Vec<String> =
        chain.iter().map(|a| transition(*a)).map(|t| format!("{}:{}", t.to.code(), t.name)).collect();
    let from: Vec<String> =
        chain.first().map(|a| transition(*a).from.iter().map(|s| s.code().to_string()).collect()).unwrap_or_default();
    (steps.join(","), from.join(","))
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    if r.len() != 3 {
        return Err(r.unexpected());
    }
    Ok(match r.int(0)? {
        -1 => Outcome::NotSettleable { remaining: r.uint(1)?, state: r.int(2)? },
        settled if settled >= 0 => {
            Outcome::Settled { settled: settled as u64, remaining: r.uint(1)?, finished: r.int(2)? == 1 }
        }
        _ => return Err(r.unexpected()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_steps_come_from_the_transition_table() {
        assert_eq!(finals(&[Action::Settled, Action::Credited]), ("4:settled,9:credited".into(), "3".into()));
        assert_eq!(finals(&[Action::Refunded]), ("8:refunded".into(), "6,7".into()));
        assert_eq!(finals(&[]), (String::new(), String::new()));
    }
}
