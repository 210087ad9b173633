//! What a restore wrote: [`RestoreReport`] and how `matchday restore` prints it.

use std::fmt;

/// What [`run`](super::run) wrote.
#[derive(Clone, Debug, Default)]
pub struct RestoreReport {
    pub prefix: String,
    pub users: u64,
    /// Users with a nickname or avatar (from `profiles`).
    pub profiles: u64,
    /// Users banned now (from `user_bans`).
    pub bans: u64,
    pub wallets: u64,
    pub ledger_entries: u64,
    pub payments: u64,
    pub grants: u64,
    pub matches: u64,
    pub bets: u64,
    pub open_bets: u64,
    /// Wallet `r:{req_id}` fields (one per bet with a request id).
    pub idempotency: u64,
    /// Events put back in `sched` (auto starts and reminders).
    pub delayed_events: u64,
    /// Jobs put back on `q:settle:{g}`.
    pub settle_jobs: u64,
    /// Leaderboard parts (a shard's part of one board and period) written.
    pub leaderboard_parts: u64,
    /// Deposit orders (of the last `orders.keep_s`).
    pub orders: u64,
    /// Personal staff accounts.
    pub staff: u64,
    /// Days with daily figures.
    pub stats_days: u64,
    /// The id counters set: (key, value).
    pub counters: Vec<(String, u64)>,
    /// Redis commands sent.
    pub commands: u64,
    /// What MySQL lacked to restore something exactly (each names what was left out).
    pub warnings: Vec<String>,
}

impl fmt::Display for RestoreReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "restored from MySQL into the prefix {:?}:", self.prefix)?;
        writeln!(f, "  users           {} (and their username index)", self.users)?;
        if self.profiles > 0 {
            writeln!(f, "  profiles        {} (nicknames and avatars)", self.profiles)?;
        }
        if self.bans > 0 {
            writeln!(f, "  banned users    {}", self.bans)?;
        }
        writeln!(f, "  wallets         {}", self.wallets)?;
        writeln!(f, "  ledger entries  {}", self.ledger_entries)?;
        writeln!(f, "  payments        {}", self.payments)?;
        writeln!(f, "  grants          {} (with a request id)", self.grants)?;
        writeln!(
            f,
            "  matches         {} (indexed; {} delayed events and {} settlement jobs queued again)",
            self.matches, self.delayed_events, self.settle_jobs
        )?;
        writeln!(
            f,
            "  bets            {} ({} open, {} idempotency records)",
            self.bets, self.open_bets, self.idempotency
        )?;
        writeln!(f, "  leaderboards    {} shard parts (from the settled bets)", self.leaderboard_parts)?;
        writeln!(f, "  orders          {} (of the last orders.keep_s)", self.orders)?;
        writeln!(f, "  staff accounts  {}", self.staff)?;
        writeln!(f, "  daily figures   {} days", self.stats_days)?;
        let counters: Vec<String> = self.counters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        writeln!(f, "  counters        {}", counters.join(" "))?;
        writeln!(f, "  redis commands  {}", self.commands)?;
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        write!(f, "not restored: sessions (players log in again), offline notifications, heartbeats, queues")
    }
}
