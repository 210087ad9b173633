//! The place-bet ceiling: the Redis commands one bet costs on the real path, sent straight to Redis
//! by `tasks` concurrent loops — no WebSocket, no connect, no logic. One iteration is:
//! LPUSH the frame to the group queue (what connect does), LMOVE it into the task's inflight list
//! (logic's claim), take a bet id (an INCRBY per block of ids, as logic does) and EVALSHA
//! place_bet.lua (the handler), EVALSHA ack.lua pushing the reply element to an l2c list (logic's
//! ack), RPOP the reply (connect's reply claim).
//! What this sustains is what Redis alone does with a bet's work on this machine.

use bytes::Bytes;
use common::ids::ShardedIds;
use common::store::{ack, place_bet};
use common::{Config, Redis};
use fred::prelude::*;
use fred::types::lists::LMoveDirection;
use hdrhistogram::Histogram;
use protocol::body::{BetPlaced, PlaceBet, ReqId};
use protocol::codec::{encode_frame, encode_routed};
use protocol::{InternalHead, ReplyHead, Route, msg};

use crate::loops::{self, CeilingReport, Series};

/// Stake of every bet the benchmarks place.
pub(crate) const STAKE: i64 = 10;

/// Runs the ceiling under its own fresh key prefix (removed afterwards): `tasks` loops for
/// `seconds`, or until `total` bets when given.
pub async fn ceiling(cfg: Config, tasks: usize, seconds: u64, total: Option<u64>) -> anyhow::Result<CeilingReport> {
    loops::run::<RealBet>(cfg, tasks, seconds, total).await
}

pub(crate) fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

/// A bet's real path, command for command; one match, users 1..=tasks funded.
struct RealBet {
    group: u32,
    mid: u64,
    /// As logic takes bet ids: a block per INCRBY.
    bet_ids: ShardedIds,
}

impl Series for RealBet {
    const NAME: &'static str = "ceiling (Redis alone)";

    async fn prepare(redis: &Redis, cfg: &Config, tasks: usize) -> anyhow::Result<RealBet> {
        let mid = seed::open_match(redis, "lol").await?;
        for uid in 1..=tasks as u64 {
            seed::fund(redis, uid, 1_000_000_000).await?;
        }
        Ok(RealBet {
            group: cfg.node.group,
            mid,
            bet_ids: ShardedIds::new(|s| redis.keys.bet_seq(s), logic::BET_ID_BLOCK),
        })
    }

    async fn one(&self, redis: &Redis, uid: u64, n: u64) -> anyhow::Result<()> {
        let (k, group, mid) = (&redis.keys, self.group, self.mid);
        let node = format!("ceiling{uid}");
        let queue = k.c2l(group);
        let inflight = k.inflight(&queue, &node);
        let l2c = k.l2c(group, &node);
        let seq = n as u32 + 1;
        let now = common::time::now_ms();
        let head = InternalHead {
            id: msg::PLACE_BET,
            seq,
            ver: None,
            node: node.clone(),
            conn: uid,
            uid: Some(uid),
            sid: Some("ceiling".into()),
            group,
            addr: "127.0.0.1:1".into(),
            ts: now,
            trace: format!("{node}-{seq}"),
        };
        let body = PlaceBet {
            match_id: mid,
            market_id: None,
            option: "a".into(),
            stake: STAKE,
            odds_ver: 1,
            req_id: ReqId::Number(seq.into()),
        };
        let frame = Bytes::from(encode_frame(&head, &body)?);
        // connect: queue in
        let _: i64 = redis.pool.lpush(&queue, frame.clone()).await?;
        // logic: claim (any frame: every task pushed one before it claims, so the queue is never empty)
        let claimed: Option<Bytes> =
            redis.pool.lmove(&queue, &inflight, LMoveDirection::Right, LMoveDirection::Left).await?;
        let claimed = claimed.ok_or_else(|| anyhow::anyhow!("the queue was empty after a push"))?;
        // logic: the place-bet handler
        let bid = self.bet_ids.next(redis, common::shards::of_uid(uid)).await?;
        let req_id = seq.to_string();
        let args = place_bet::Args {
            uid,
            match_id: mid,
            mid,
            option: "a",
            stake: STAKE,
            odds_ver: 1,
            req_id: &req_id,
            bid,
            now_ms: now,
        };
        let placed = match place_bet::call(redis, &args).await? {
            place_bet::Outcome::Placed { bid, balance, odds, .. } => BetPlaced { bet_id: bid, balance, odds },
            other => anyhow::bail!("place_bet.lua answered {other:?}"),
        };
        let reply = encode_frame(&ReplyHead { id: msg::PLACE_BET, seq, code: 0 }, &placed)?;
        let element = Bytes::from(encode_routed(&Route::to(uid), &reply)?);
        // logic: ack + reply out
        let acks = [ack::Ack { frame: claimed, reply: Some((&l2c, element)) }];
        let ack = ack::Args { inflight: &inflight, acks: &acks, reply_ttl_ms: 0 };
        match ack::call(redis, &ack).await?.as_slice() {
            [ack::Outcome::Acked] => {}
            other => anyhow::bail!("ack.lua answered {other:?}"),
        }
        // connect: reply claim
        let popped: Option<Bytes> = redis.pool.rpop(&l2c, None).await?;
        anyhow::ensure!(popped.is_some(), "no reply on {l2c}");
        Ok(())
    }
}
