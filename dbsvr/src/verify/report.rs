//! What a comparison found: [`Report`], its [`Difference`]s, and how they are printed.

use std::fmt;

/// What a difference is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    User,
    Wallet,
    Ledger,
    Bet,
    Match,
}

impl Kind {
    pub const fn name(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Wallet => "wallet",
            Kind::Ledger => "ledger",
            Kind::Bet => "bet",
            Kind::Match => "match",
        }
    }
}

/// One difference between the stores, e.g. `wallet 17 (shard 17): balance redis=900 mysql=1000`:
/// a user's, wallet's, ledger's or bet's names the shard its id is in (docs/scaling.md), where
/// its keys live on a Redis Cluster; a match's is in the global catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub kind: Kind,
    /// The user, bet or match id (wallets and ledgers are named by their user id).
    pub id: u64,
    pub what: String,
}

impl Difference {
    /// The shard the difference is in; none for a match (the global catalogue).
    pub fn shard(&self) -> Option<u16> {
        (self.kind != Kind::Match).then(|| common::shards::of_uid(self.id))
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.shard() {
            Some(shard) => write!(f, "{} {} (shard {shard}): {}", self.kind.name(), self.id, self.what),
            None => write!(f, "{} {}: {}", self.kind.name(), self.id, self.what),
        }
    }
}

/// What [`run`](super::run) found.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Every difference, by kind then id.
    pub differences: Vec<Difference>,
    /// Ids compared (existing in at least one store).
    pub users: u64,
    pub bets: u64,
    pub matches: u64,
    /// Ids looked at that exist in neither store (gaps).
    pub gaps: u64,
    /// `(N, seed)` when a sample was compared.
    pub sample: Option<(u64, u64)>,
    /// Change records not yet in MySQL when the comparison started: waiting in q:outbox:{…} or
    /// taken by a dbsvr and not yet acked.
    pub unflushed: u64,
    /// Change records dbsvr could never write (q:outbox:{…}'s dead list); MySQL lacks them.
    pub dead: u64,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }

    /// The differences as printed, one per line.
    pub fn lines(&self) -> Vec<String> {
        self.differences.iter().map(ToString::to_string).collect()
    }

    /// The closing line: what was compared and how many differences were found.
    pub fn summary(&self) -> String {
        let what = match self.sample {
            Some((n, seed)) => format!("a sample of up to {n} ids of each kind (seed {seed}): "),
            None => String::new(),
        };
        let mut s = format!(
            "verify: compared {what}{} users (with their wallets and ledgers), {} bets, {} matches: {} difference{}",
            self.users,
            self.bets,
            self.matches,
            self.differences.len(),
            if self.differences.len() == 1 { "" } else { "s" }
        );
        let mut shards: Vec<u16> = self.differences.iter().filter_map(Difference::shard).collect();
        shards.sort_unstable();
        shards.dedup();
        if !shards.is_empty() {
            let list: Vec<String> = shards.iter().map(u16::to_string).collect();
            s.push_str(&format!(", in shard{} {}", if shards.len() == 1 { "" } else { "s" }, list.join(", ")));
        }
        if self.unflushed > 0 {
            s.push_str(&format!(
                "; note: {} change records were not flushed yet (differences may be flush lag; run again)",
                self.unflushed
            ));
        }
        if self.dead > 0 {
            s.push_str(&format!(
                "; note: {} change records are in the outbox's dead list (MySQL lacks them)",
                self.dead
            ));
        }
        s
    }

    pub(super) fn diff(&mut self, kind: Kind, id: u64, what: impl Into<String>) {
        self.differences.push(Difference { kind, id, what: what.into() });
    }

    /// Counts one bet or match id: `true` when both stores hold it (the caller then compares its
    /// fields); one missing side is a difference, neither side a gap.
    pub(super) fn present_in_both(&mut self, kind: Kind, id: u64, in_redis: bool, in_mysql: bool) -> bool {
        if !in_redis && !in_mysql {
            self.gaps += 1;
            return false;
        }
        match kind {
            Kind::Bet => self.bets += 1,
            Kind::Match => self.matches += 1,
            Kind::User | Kind::Wallet | Kind::Ledger => self.users += 1,
        }
        if let Some(what) = super::read::missing(in_redis, in_mysql) {
            self.diff(kind, id, what);
            return false;
        }
        true
    }

    /// Records `field redis=… mysql=…` when the two sides differ.
    pub(super) fn field(&mut self, kind: Kind, id: u64, field: &str, redis: String, mysql: String) {
        if redis != mysql {
            self.diff(kind, id, format!("{field} redis={redis} mysql={mysql}"));
        }
    }
}

/// The error `matchday verify` ends with when there are differences (exit status 1).
#[derive(Debug, thiserror::Error)]
#[error("{0} difference(s) between Redis and MySQL")]
pub struct Differences(pub usize);

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::verify::read::rnum;

    #[test]
    fn differences_read_as_one_line_each() {
        let mut r = Report::default();
        r.field(Kind::Wallet, 17, "balance", "900".into(), "1000".into());
        r.field(Kind::Wallet, 17, "ver", "3".into(), "3".into());
        r.diff(Kind::Bet, 4, "missing in mysql");
        assert_eq!(
            r.lines(),
            vec!["wallet 17 (shard 17): balance redis=900 mysql=1000", "bet 4 (shard 4): missing in mysql"]
        );
        r.users = 3;
        assert!(
            r.summary().ends_with(
                "3 users (with their wallets and ledgers), 0 bets, 0 matches: 2 differences, in shards 4, 17"
            ),
            "{}",
            r.summary()
        );
        let h: HashMap<String, String> = [("a".to_string(), "12".to_string()), ("b".into(), "x".into())].into();
        assert_eq!((rnum(&h, "a"), rnum(&h, "b"), rnum(&h, "c")), ("12".into(), "\"x\"".into(), "none".into()));
    }

    #[test]
    fn an_id_is_compared_when_both_stores_hold_it_a_gap_in_neither_a_difference_in_one() {
        let mut r = Report::default();
        assert!(r.present_in_both(Kind::Bet, 1, true, true));
        assert!(!r.present_in_both(Kind::Bet, 2, false, false));
        assert!(!r.present_in_both(Kind::Bet, 3, true, false));
        assert!(!r.present_in_both(Kind::Match, 4, false, true));
        assert_eq!((r.bets, r.matches, r.gaps), (2, 1, 1));
        assert_eq!(r.lines(), vec!["bet 3 (shard 3): missing in mysql", "match 4: missing in redis"]);
    }
}
