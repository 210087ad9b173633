//! Graceful shutdown: one root [`CancellationToken`] and one [`TaskTracker`]. On SIGINT/SIGTERM the
//! token is cancelled; services stop taking new work, finish or return what they hold, and the
//! process waits for tracked tasks up to a grace timeout.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    pub token: CancellationToken,
    pub tracker: TaskTracker,
}

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Cancels the token when the process receives SIGINT or SIGTERM.
    pub fn cancel_on_signals(&self) {
        let token = self.token.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown signal received");
            token.cancel();
        });
    }

    pub fn cancelled(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.token.cancelled()
    }

    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Cancels, closes the tracker and waits for every tracked task, at most `grace`.
    /// Returns false (and warns) if tasks were still running when the grace ran out.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.token.cancel();
        self.tracker.close();
        match tokio::time::timeout(grace, self.tracker.wait()).await {
            Ok(()) => true,
            Err(_) => {
                tracing::warn!(
                    tasks = self.tracker.len(),
                    grace_ms = grace.as_millis() as u64,
                    "shutdown grace ran out"
                );
                false
            }
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the process");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn waits_for_tasks_and_reports_a_grace_timeout() {
        let s = Shutdown::new();
        let token = s.token.clone();
        s.tracker.spawn(async move { token.cancelled().await });
        assert!(s.shutdown(Duration::from_secs(1)).await);

        let s = Shutdown::new();
        s.tracker.spawn(tokio::time::sleep(Duration::from_secs(60)));
        assert!(!s.shutdown(Duration::from_secs(1)).await);
    }
}
