//! What services tell each other through `q:settle:{g}` (jobs for resultcenter) and `q:notify:{…}` / `sched`
//! (events for pushsvr). Lua scripts write them with cmsgpack as maps with a `kind`; these types
//! read (and, from Rust, write) the same shapes.

use serde::{Deserialize, Serialize};

/// A job on `q:settle:{g}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettleJob {
    /// "settle" (pay the winners) or "refund" (return every stake).
    pub kind: String,
    pub match_id: u64,
    #[serde(default)]
    pub winner: String,
    #[serde(default)]
    pub ts: u64,
    /// A copy made to split a big match across consumers.
    #[serde(default)]
    pub helper: bool,
    /// Which part of the shards a copy settles: shards `s` with `s % parts == part` (0 for the
    /// original job).
    #[serde(default)]
    pub part: u32,
    /// Into how many parts the match was split (0 or 1: one job settles every shard).
    #[serde(default)]
    pub parts: u32,
}

/// An event on `q:notify:{…}` (or due in `sched`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A bet was settled: push 901 (and 904 if coins moved) to its owner.
    BetSettled {
        uid: u64,
        bet_id: u64,
        match_id: u64,
        /// The market (absent before markets: the match's default market).
        #[serde(default)]
        market_id: Option<u64>,
        /// won, lost or refunded.
        result: String,
        payout: i64,
        balance: i64,
        #[serde(default)]
        ts: u64,
    },
    /// A match or one of its markets changed state: push 902 to the market's bettors who are online.
    MatchState {
        match_id: u64,
        /// The market whose state changed (absent before markets: the match's default market).
        #[serde(default)]
        market_id: Option<u64>,
        state: i64,
        #[serde(default)]
        from: i64,
        #[serde(default)]
        action: String,
        #[serde(default)]
        ts: u64,
    },
    /// Staff edited a match or one of its markets: push 905 (the match as it is now) to its
    /// watchers and bettors who are online.
    MatchUpdated {
        match_id: u64,
        #[serde(default)]
        ts: u64,
    },
    /// A notice is due (published now, or its scheduled time came): push 903 with its id to its
    /// audience online, unless it was withdrawn meanwhile.
    Notice { id: String },
    /// Staff announcement (from before notices; still delivered when one is due): push 903 to
    /// everyone online.
    Announcement {
        id: String,
        text: String,
        #[serde(default)]
        ts: u64,
    },
    /// A balance changed outside betting (grant, payment): push 904 to the user.
    Balance {
        uid: u64,
        balance: i64,
        reason: String,
        #[serde(default)]
        ts: u64,
    },
    /// Due before a match starts: remind its bettors (903 with the match id).
    Reminder { match_id: u64 },
    /// Due at a match's start time: stop betting (the `start` transition) if staff have not.
    AutoStart { match_id: u64 },
    /// A push from a Lua handler module (docs/lua.md): msg `id` (an extension push id) with `body`
    /// to the user, online or kept in the inbox. `nonce` keeps two equal pushes apart in `sched`.
    UserPush {
        uid: u64,
        id: u16,
        body: serde_json::Value,
        #[serde(default)]
        ts: u64,
        #[serde(default)]
        nonce: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_as_maps_with_a_kind() {
        let e = Event::BetSettled {
            uid: 1,
            bet_id: 2,
            match_id: 3,
            market_id: Some(4),
            result: "won".into(),
            payout: 185,
            balance: 1085,
            ts: 9,
        };
        let bytes = rmp_serde::to_vec_named(&e).unwrap();
        let v: serde_json::Value = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(v["kind"], "bet_settled");
        assert_eq!(rmp_serde::from_slice::<Event>(&bytes).unwrap(), e);
        let job = SettleJob {
            kind: "refund".into(),
            match_id: 4,
            winner: String::new(),
            ts: 0,
            helper: false,
            part: 0,
            parts: 0,
        };
        assert_eq!(rmp_serde::from_slice::<SettleJob>(&rmp_serde::to_vec_named(&job).unwrap()).unwrap(), job);
    }
}
