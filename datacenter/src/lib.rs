//! # matchday-datacenter
//!
//! Pulls the configured match feeds (`datacenter.feeds`: HTTP, JSON, docs/gm.md "Data feeds") on a
//! schedule and applies each item through gm's API with a staff token of its own, so every change
//! is validated, audited and run exactly as a person's would be: new matches are created pending
//! approval, known ones (by external id) follow the feed's title, teams and start time, a match
//! the feed calls off is cancelled (stakes refunded), and the feed's winner is kept for staff to
//! confirm, or settled at once with `auto_settle`. A malformed item is rejected alone (logged and
//! counted), and a feed or gm that does not answer changes nothing: the pull is retried with
//! jittered backoff.
//!
//! - [`run`] / [`run_with`]: one loop per feed until shutdown.
//! - `feed`: the document and its items. `apply`: one item through gm.

pub mod apply;
pub mod feed;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::config::FeedConfig;
use common::retry::Backoff;
use common::{Config, Shutdown};
use matchday_client::Gm;
use secrecy::ExposeSecret;

use crate::apply::Failure;

/// Counters of a datacenter process, readable by tests.
#[derive(Debug, Default)]
pub struct Stats {
    /// Pulls that read a feed document and applied it.
    pub pulls: AtomicU64,
    /// Pulls that failed: the feed or gm did not answer, or the document was not one.
    pub failed: AtomicU64,
    /// Items gm refused or that did not read as one.
    pub rejected: AtomicU64,
    /// Changes made: created, updated, cancelled, results proposed or settled.
    pub changes: AtomicU64,
}

impl Stats {
    pub fn pulls(&self) -> u64 {
        self.pulls.load(Ordering::Relaxed)
    }

    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }
}

/// Runs datacenter until shutdown.
pub async fn run(cfg: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    run_with(cfg, shutdown, Arc::new(Stats::default())).await
}

/// [`run`], counting into `stats`.
pub async fn run_with(cfg: Config, shutdown: Shutdown, stats: Arc<Stats>) -> anyhow::Result<()> {
    let dc = &cfg.datacenter;
    if dc.feeds.is_empty() {
        tracing::warn!("datacenter: no feed configured (datacenter.feeds); nothing to pull");
        shutdown.cancelled().await;
        return Ok(());
    }
    let token = dc.token.expose_secret();
    anyhow::ensure!(!token.is_empty(), "datacenter.token is empty: give datacenter a gm staff token (operator role)");
    let gm = Gm::new(&dc.gm_url).with_token(token).with_timeout(Duration::from_millis(dc.gm_timeout_ms));
    let http = reqwest::Client::builder().build()?;
    let loops: Vec<_> = dc
        .feeds
        .iter()
        .map(|feed| {
            let (feed, gm, http, stats, shutdown) =
                (feed.clone(), gm.clone(), http.clone(), stats.clone(), shutdown.clone());
            tokio::spawn(async move { pull_loop(&feed, &gm, &http, &stats, &shutdown).await })
        })
        .collect();
    tracing::info!(feeds = dc.feeds.len(), gm = %dc.gm_url, "datacenter running");
    for l in loops {
        l.await?;
    }
    Ok(())
}

/// Pulls `feed` every `interval_ms` until shutdown; after a failed pull, again sooner (jittered
/// backoff from 1 s, at most the interval).
async fn pull_loop(feed: &FeedConfig, gm: &Gm, http: &reqwest::Client, stats: &Stats, shutdown: &Shutdown) {
    let interval = Duration::from_millis(feed.interval_ms);
    let mut backoff = Backoff::new(Duration::from_secs(1), interval);
    loop {
        let wait = match pull(feed, gm, http, stats).await {
            Ok(()) => {
                backoff.reset();
                stats.pulls.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("matchday_datacenter_pulls_total", "feed" => feed.name.clone(), "outcome" => "ok")
                    .increment(1);
                interval
            }
            Err(why) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("matchday_datacenter_pulls_total", "feed" => feed.name.clone(), "outcome" => "failed").increment(1);
                let wait = backoff.next_delay().min(interval);
                tracing::warn!(feed = %feed.name, error = %why, retry_in_ms = wait.as_millis() as u64, "a feed pull failed; nothing of it was applied past this point");
                wait
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// One pull: the document, then each item in turn. Err when the feed or gm does not answer, or the
/// document is not one (the items before the failure stay applied: each is whole on its own).
async fn pull(feed: &FeedConfig, gm: &Gm, http: &reqwest::Client, stats: &Stats) -> anyhow::Result<()> {
    let res = http.get(&feed.url).timeout(Duration::from_millis(feed.timeout_ms)).send().await?.error_for_status()?;
    let doc: serde_json::Value = res.json().await?;
    let items = feed::items(&doc).map_err(anyhow::Error::msg)?;
    for item in items {
        let item = match item {
            Ok(item) => item,
            Err(why) => {
                reject(feed, stats, &why);
                continue;
            }
        };
        match apply::item(gm, feed, &item).await {
            Ok(done) => {
                for change in done {
                    stats.changes.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!("matchday_datacenter_changes_total", "feed" => feed.name.clone(), "change" => change.name()).increment(1);
                    tracing::info!(feed = %feed.name, external_id = %item.external_id, change = change.name(), "feed item applied");
                }
            }
            Err(Failure::Rejected(why)) => reject(feed, stats, &format!("item {}: {why}", item.external_id)),
            Err(Failure::Unavailable(e)) => return Err(e.into()),
        }
    }
    Ok(())
}

fn reject(feed: &FeedConfig, stats: &Stats, why: &str) {
    stats.rejected.fetch_add(1, Ordering::Relaxed);
    metrics::counter!("matchday_datacenter_rejected_total", "feed" => feed.name.clone()).increment(1);
    tracing::warn!(feed = %feed.name, reason = why, "a feed item was rejected; nothing of it was applied");
}
