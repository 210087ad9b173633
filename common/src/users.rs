//! Users as stored in Redis (`user:{uid}`: username, created_at, nickname, avatar, ...), read back.

use std::collections::HashMap;

use fred::prelude::*;

use crate::Redis;

/// The names players are shown by, for each of `uids` found: the nickname, else the username. One
/// pipelined HMGET per user.
pub async fn display_names(redis: &Redis, uids: &[u64]) -> Result<HashMap<u64, String>, fred::error::Error> {
    if uids.is_empty() {
        return Ok(HashMap::new());
    }
    let pipe = redis.pool.next().pipeline();
    for uid in uids {
        let _: () = pipe.hmget(redis.keys.user(*uid), vec!["nickname", "username"]).await?;
    }
    let found: Vec<(Option<String>, Option<String>)> = Redis::each(pipe).await?;
    Ok(uids
        .iter()
        .zip(found)
        .filter_map(|(uid, (nick, name))| Some((*uid, nick.filter(|n| !n.is_empty()).or(name)?)))
        .collect())
}
