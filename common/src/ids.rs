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
