//! Process limits a server needs raised: every WebSocket connection, Redis connection and listener
//! is one open file, and the default soft limit (often 1,024) is far below what one connect node
//! holds. The hard limit is the operator's to set (`ulimit -n`, `LimitNOFILE=` in systemd, capped
//! by `fs.nr_open`); the soft one is raised here to it.

use nix::sys::resource::{RLIM_INFINITY, Resource, getrlimit, setrlimit};

/// The open-files limit (`RLIMIT_NOFILE`) of this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFiles {
    /// What the process may open now.
    pub soft: u64,
    /// What the soft limit may be raised to without privileges.
    pub hard: u64,
}

/// What an operator does to allow more open files, for messages.
pub const RAISE_HINT: &str = "raise the hard limit: `ulimit -n N` in the starting shell (as root), \
    `LimitNOFILE=N` in the systemd unit, `nofile` in /etc/security/limits.conf; N is capped by sysctl fs.nr_open";

/// The limit now, without changing it.
pub fn open_files() -> std::io::Result<OpenFiles> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    Ok(OpenFiles { soft, hard })
}

/// Raises the soft open-files limit to the hard one (to `fs.nr_open` when the hard limit is
/// unlimited) and logs the result at info; returns the limit in force afterwards.
pub fn raise_open_files() -> std::io::Result<OpenFiles> {
    let before = open_files()?;
    let target = if before.hard == RLIM_INFINITY { nr_open().unwrap_or(before.soft) } else { before.hard };
    if target > before.soft
        && let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, target, before.hard)
    {
        tracing::warn!(
            limits.nofile.soft = before.soft,
            limits.nofile.hard = before.hard,
            error = %e,
            "cannot raise the open-files limit; each connection needs one"
        );
        return Ok(before);
    }
    let after = open_files()?;
    tracing::info!(
        limits.nofile.soft = after.soft,
        limits.nofile.hard = after.hard,
        "open-files limit {} (hard {})",
        after.soft,
        after.hard
    );
    Ok(after)
}

/// The kernel's ceiling for any process's open-files limit (`/proc/sys/fs/nr_open`).
pub fn nr_open() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/fs/nr_open").ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_reaches_the_hard_limit() {
        let after = raise_open_files().expect("getrlimit works");
        assert!(after.soft <= after.hard);
        if after.hard != RLIM_INFINITY {
            assert_eq!(after.soft, after.hard);
        }
        assert_eq!(open_files().unwrap(), after);
    }
}
