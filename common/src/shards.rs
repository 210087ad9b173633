//! Logical shards (docs/scaling.md): a fixed number of hash tags, one per shard, so that the same key
//! names work on one Redis and on a Redis Cluster, where each shard is one slot on one primary.
//!
//! Shard `i`'s tag is chosen so that its slot lies in the `i`-th of [`SHARDS`] equal slices of the
//! cluster's [`SLOTS`] slots. `redis-cli --cluster create` gives each primary one contiguous, equal
//! range of slots, so N primaries hold the shards evenly (3 primaries: 21 or 22 each), and moving a
//! slice's slots moves its shard whole. Users and bets carry their shard in their id
//! ([`of_uid`]); a username's shard is its own CRC16 slot's slice ([`of_name`]), so both are found
//! without a lookup table.

use std::sync::LazyLock;

/// Redis Cluster's hash slots.
pub const SLOTS: u16 = 16_384;
/// Logical shards: fixed for a deployment's life (changing it is a restore into a new prefix).
pub const SHARDS: u16 = 64;
/// The slots in each shard's slice.
const SLICE: u16 = SLOTS / SHARDS;

/// Every shard's tag, computed once.
static TAGS: LazyLock<Vec<String>> = LazyLock::new(|| (0..SHARDS).map(find_tag).collect());

/// The hash slot Redis gives `key` (the CRC16 of its hash tag, or of the whole key without one) —
/// what `CLUSTER KEYSLOT` answers.
pub fn slot(key: &str) -> u16 {
    fred::util::redis_keyslot(key.as_bytes())
}

/// The tag of shard `shard` (< [`SHARDS`]), without its braces: `s7`, or `s7.n` when `s7` hashes
/// away from the middle of the shard's slice.
pub fn tag(shard: u16) -> &'static str {
    &TAGS[usize::from(shard)]
}

/// The shard of a user (or of a bet: both ids are allocated with their shard in them).
pub fn of_uid(uid: u64) -> u16 {
    (uid % u64::from(SHARDS)) as u16
}

/// The shard a new user of this (normalized) username is created in: the slice that holds the
/// name's own slot. A stable function of the name, defined by Redis's CRC16.
pub fn of_name(name: &str) -> u16 {
    slot(name) / SLICE
}

/// The shard of a session (by its id, the digest of its token): the slice that holds the id's own
/// slot. A session is kept in its user's shard: tokens are drawn until their id falls there.
pub fn of_sid(sid: &str) -> u16 {
    slot(sid) / SLICE
}

/// The `n`-th id allocated in `shard` (`n` from that shard's counter): `n * SHARDS + shard`.
pub fn id_in(shard: u16, n: u64) -> u64 {
    n * u64::from(SHARDS) + u64::from(shard)
}

/// Where a key lives: in one logical shard (a user's keys, a shard's queue lanes) or in the global
/// tag `{g}` (the match catalogue, the scheduler, staff records).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Home {
    Shard(u16),
    Global,
}

/// The global keys' tag, without its braces.
pub const GLOBAL_TAG: &str = "g";

impl Home {
    /// The home of user `uid`'s keys.
    pub fn of_uid(uid: u64) -> Home {
        Home::Shard(of_uid(uid))
    }

    /// The hash tag, without its braces.
    pub fn tag(self) -> &'static str {
        match self {
            Home::Shard(s) => tag(s),
            Home::Global => GLOBAL_TAG,
        }
    }

    /// Every home: the shards in order, then the global one (the lanes of a sharded queue).
    pub fn all() -> impl Iterator<Item = Home> {
        (0..SHARDS).map(Home::Shard).chain(std::iter::once(Home::Global))
    }
}

/// The first of `s{shard}`, `s{shard}.1`, `s{shard}.2`, … whose slot is near the middle of the
/// shard's slice (within an eighth of it): a primary whose range ends inside a slice then holds its
/// shard only if it holds most of the slice, which keeps 3 primaries at 21–22 shards each.
fn find_tag(shard: u16) -> String {
    let middle = shard * SLICE + SLICE / 2;
    let wanted = middle - SLICE / 8..middle + SLICE / 8;
    (0u32..)
        .map(|n| if n == 0 { format!("s{shard}") } else { format!("s{shard}.{n}") })
        .find(|tag| wanted.contains(&slot(tag)))
        .expect("some suffix hashes into every slice")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shards per primary when `primaries` split the slots as `redis-cli --cluster create` does:
    /// contiguous ranges of SLOTS / primaries (the remainder spread one each over the first ones).
    fn per_primary(primaries: u16) -> Vec<u32> {
        let (base, extra) = (SLOTS / primaries, SLOTS % primaries);
        let mut bounds = Vec::new();
        let mut start = 0u16;
        for p in 0..primaries {
            let len = base + u16::from(p < extra);
            bounds.push(start..start + len);
            start += len;
        }
        let mut counts = vec![0u32; usize::from(primaries)];
        for s in 0..SHARDS {
            let slot = slot(&format!("{{{}}}:wallet:1", tag(s)));
            counts[bounds.iter().position(|b| b.contains(&slot)).expect("every slot is owned")] += 1;
        }
        counts
    }

    #[test]
    fn each_shard_hashes_into_its_own_slice_and_the_tags_are_distinct() {
        for s in 0..SHARDS {
            let key = format!("{{{}}}:user:42", tag(s));
            assert_eq!(slot(&key) / SLICE, s, "{key}");
            assert_eq!(slot(&key), slot(tag(s)), "only the tag is hashed");
        }
        let mut tags: Vec<&str> = (0..SHARDS).map(tag).collect();
        tags.sort();
        tags.dedup();
        assert_eq!(tags.len(), usize::from(SHARDS));
    }

    #[test]
    fn primaries_hold_the_shards_within_a_fifth_of_an_even_split() {
        for primaries in [1, 2, 3, 5, 10, 16, 32, 64] {
            let counts = per_primary(primaries);
            let even = f64::from(SHARDS) / f64::from(primaries);
            for c in &counts {
                assert!((f64::from(*c) - even).abs() <= 0.2 * even, "{primaries} primaries: {counts:?}");
            }
            assert_eq!(counts.iter().sum::<u32>(), u32::from(SHARDS));
        }
        let three = per_primary(3);
        assert!(three.iter().all(|c| (21..=22).contains(c)), "3 primaries: {three:?}");
    }

    #[test]
    fn ids_carry_their_shard_and_names_spread_over_all_shards() {
        for s in [0, 1, 37, SHARDS - 1] {
            for n in [0, 1, 12_345] {
                assert_eq!(of_uid(id_in(s, n)), s);
            }
        }
        assert_eq!(of_name("alice"), of_name("alice"), "stable");
        let mut seen = vec![0u32; usize::from(SHARDS)];
        for i in 0..64_000 {
            seen[usize::from(of_name(&format!("player{i}")))] += 1;
        }
        let (min, max) = (seen.iter().min().unwrap(), seen.iter().max().unwrap());
        assert!(*min > 800 && *max < 1200, "64,000 names over 64 shards: {min}..{max}");
    }
}
