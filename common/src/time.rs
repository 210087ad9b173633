//! Wall-clock helpers.

/// Now as Unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The UTC day of a Unix-ms time, as days since the epoch (names daily counters).
pub fn day_of(ms: u64) -> u64 {
    ms / 86_400_000
}
