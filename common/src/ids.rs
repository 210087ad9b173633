//! Ids from a Redis counter, taken a block at a time: one INCRBY hands a process `size` ids, so
//! the hot path (a bet) does not pay a round trip for its id. Ids stay unique and increasing per
//! process; a process that stops leaves the rest of its block unused (gaps, never repeats).

use fred::prelude::*;
use tokio::sync::Mutex;

use crate::Redis;

pub struct IdBlock {
    key: String,
    size: u64,
    /// The next id to hand out and the end of the block (exclusive).
    range: Mutex<(u64, u64)>,
}

impl IdBlock {
    /// Ids from the counter `key` (a full key, e.g. `keys.bet_seq()`), `size` per INCRBY.
    pub fn new(key: String, size: u64) -> IdBlock {
        IdBlock { key, size: size.max(1), range: Mutex::new((0, 0)) }
    }

    /// The next id; takes a new block from Redis when this one is used up.
    pub async fn next(&self, redis: &Redis) -> Result<u64, fred::error::Error> {
        let mut range = self.range.lock().await;
        if range.0 >= range.1 {
            let end: u64 = redis.pool.incr_by(&self.key, self.size as i64).await?;
            *range = (end + 1 - self.size, end + 1);
        }
        let id = range.0;
        range.0 += 1;
        Ok(id)
    }
}

/// Ids of every shard from the shards' own counters, a block at a time per shard (bet ids: a bet
/// lives in its bettor's shard and its id names that shard, `shards::id_in`).
pub struct ShardedIds {
    blocks: Vec<IdBlock>,
}

impl ShardedIds {
    /// `counter(shard)` names each shard's counter (e.g. `|s| keys.bet_seq(s)`); `size` ids per INCRBY.
    pub fn new(counter: impl Fn(u16) -> String, size: u64) -> ShardedIds {
        ShardedIds { blocks: (0..crate::shards::SHARDS).map(|s| IdBlock::new(counter(s), size)).collect() }
    }

    /// The next id of `shard`: `n · SHARDS + shard`, n from that shard's block.
    pub async fn next(&self, redis: &Redis, shard: u16) -> Result<u64, fred::error::Error> {
        let n = self.blocks[usize::from(shard)].next(redis).await?;
        Ok(crate::shards::id_in(shard, n))
    }
}

/// A new user id for (lowercased) username `name`, in the name's shard (`shards::of_name`): the
/// n-th id of that shard's counter, `shards::id_in(shard, n)`. The user's keys and the name's
/// index then share one slot, so register.lua is one single-slot script (docs/scaling.md).
pub async fn new_uid(redis: &Redis, name: &str) -> Result<u64, fred::error::Error> {
    let shard = crate::shards::of_name(name);
    let n: u64 = redis.pool.incr(redis.keys.user_seq(shard)).await?;
    Ok(crate::shards::id_in(shard, n))
}
