//! match_copy.lua: bring one shard's copy of a match up to a version of the catalogue record (what
//! a bet and a settlement batch in that shard read); a version the copy holds already, or an older
//! one, writes nothing. `crate::matches::copy_to_shards` calls it for every shard.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/match_copy.lua.

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

/// One copy into one shard.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub shard: u16,
    pub mid: u64,
    /// The catalogue record's version.
    pub ver: u64,
    /// The fields copied (state, odds, limits, result, ...), as stored in the catalogue.
    pub fields: &'a [(String, String)],
}

/// What match_copy.lua answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// The copy holds version `ver` now.
    Copied { ver: u64 },
    /// The copy held this version or a newer one (`held`): nothing written.
    Newer { held: u64 },
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let keys = vec![redis.keys.match_copy(args.shard, args.mid)];
    let mut argv = Vec::with_capacity(1 + 2 * args.fields.len());
    argv.push(args.ver.to_string());
    for (field, value) in args.fields {
        argv.extend([field.clone(), value.clone()]);
    }
    let reply = redis.scripts.eval(&redis.pool, ScriptName::MatchCopy, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (2, 0) => Outcome::Copied { ver: r.uint(1)? },
        (2, 1) => Outcome::Newer { held: r.uint(1)? },
        _ => return Err(r.unexpected()),
    })
}
