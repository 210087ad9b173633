//! The slots a request wrote, noted as it runs, so that [`crate::Redis::replicated`] waits on the
//! primaries that hold them. WAIT counts the writes of the connection it is sent on, on the node it
//! is sent to; on a Redis Cluster a bet's writes are on its shard's primary, so that is where the
//! wait must go. Every script call through the store notes its slot (its keys are in one slot), and
//! so does every other write a request makes (`note`); outside [`tracking`] nothing is noted.

use std::cell::RefCell;
use std::future::Future;
use std::sync::LazyLock;

use crate::shards::{SLOTS, slot};

tokio::task_local! {
    static WRITTEN: RefCell<Vec<u16>>;
}

/// Runs `f`, noting the slot of every write it makes; returns its output and the slots (each once).
pub async fn tracking<F: Future>(f: F) -> (F::Output, Vec<u16>) {
    WRITTEN
        .scope(RefCell::new(Vec::new()), async move {
            let out = f.await;
            (out, WRITTEN.with(|w| w.take()))
        })
        .await
}

/// Notes a write to `key` (nothing outside [`tracking`]).
pub fn note(key: &[u8]) {
    note_slot(fred::util::redis_keyslot(key));
}

/// Notes a write to a key of slot `slot` (nothing outside [`tracking`]).
pub fn note_slot(slot: u16) {
    let _ = WRITTEN.try_with(|w| {
        let mut w = w.borrow_mut();
        if !w.contains(&slot) {
            w.push(slot);
        }
    });
}

/// A hash tag (without braces) whose slot is `slot`, for a key that must live in that slot (the
/// replication marker written right before a WAIT on that slot's primary).
pub fn tag_of_slot(slot: u16) -> &'static str {
    &TAG_OF_SLOT[usize::from(slot % SLOTS)]
}

/// For every slot, the first of `r0`, `r1`, … that hashes to it (about 170,000 CRC16s, once).
static TAG_OF_SLOT: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut tags = vec![String::new(); usize::from(SLOTS)];
    let mut missing = usize::from(SLOTS);
    for n in 0u32.. {
        let tag = format!("r{n}");
        let t = &mut tags[usize::from(slot(&tag))];
        if t.is_empty() {
            *t = tag;
            missing -= 1;
            if missing == 0 {
                break;
            }
        }
    }
    tags
});

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_slots_written_inside_are_noted_once_each_and_nothing_outside() {
        note(b"md:{s1}:wallet:1"); // outside: dropped
        let ((), slots) = tracking(async {
            note(b"md:{s1}:wallet:1");
            note(b"md:{s1}:ledger:1");
            tokio::task::yield_now().await;
            note(b"md:{g}:match:7");
        })
        .await;
        assert_eq!(slots, vec![slot("{s1}"), slot("{g}")]);
        let ((), none) = tracking(async {}).await;
        assert!(none.is_empty());
    }

    #[test]
    fn every_slot_has_a_tag_that_hashes_to_it() {
        for s in [0, 1, 5461, 9842, SLOTS - 1] {
            let tag = tag_of_slot(s);
            assert_eq!(slot(&format!("md:{{{tag}}}:replication:marker")), s, "{tag}");
        }
        assert!((0..SLOTS).all(|s| slot(tag_of_slot(s)) == s));
    }
}
