//! The bench's players: [`BenchClient`], a [`matchday_client::Client`] with the bench's bet, and the
//! two load loops of `bench bets` — closed (W bets in flight) and fixed arrival rate. Every reply
//! is matched to its request by seq; the hot loop allocates nothing per bet but the frame itself.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use hdrhistogram::Histogram;
use matchday_client::protocol::body::{BetPlaced, PlaceBet, ReqId};
use matchday_client::protocol::msg;
use matchday_client::{Client, ClientError, Frame, Options};
use tokio::time::{Instant, MissedTickBehavior};

use crate::ceiling::{STAKE, new_histogram};
use crate::staff::Staff;

/// How long a reply may take before the run fails.
pub(crate) const REPLY_TIMEOUT: Duration = Duration::from_secs(15);
/// What each client is granted through gm (enough for every bet a client can place in a run).
const GRANT: i64 = 1_000_000_000;

/// One bench player on its own WebSocket, MessagePack frames, pushes dropped.
pub(crate) struct BenchClient {
    pub(crate) c: Client,
    /// The bet it places, again and again (only `req_id` changes).
    bet: PlaceBet,
    pub(crate) balance_before: i64,
}

impl BenchClient {
    /// Connects, registers `username` (101), logs in (102), is granted [`GRANT`] through gm and
    /// reads its balance (202).
    pub(crate) async fn funded(
        ws: &str,
        staff: &Staff,
        username: &str,
        mid: u64,
        odds_ver: u64,
    ) -> anyhow::Result<BenchClient> {
        let (mut c, uid) = BenchClient::signed_up(ws, username).await?;
        (c.bet.match_id, c.bet.odds_ver) = (mid, odds_ver);
        staff.grant(uid, GRANT, &format!("bench-{username}")).await?;
        c.balance_before = c.c.balance().await.context("balance")?;
        Ok(c)
    }

    /// Connects, registers `username` (101) and logs in (102); returns the client and its user id.
    pub(crate) async fn signed_up(ws: &str, username: &str) -> anyhow::Result<(BenchClient, u64)> {
        let opts = Options { reply_timeout: REPLY_TIMEOUT, push_queue: 0, ..Options::default() };
        let mut c = Client::connect_with(ws, opts).await?;
        let uid = c.register(username, "bench-password").await.with_context(|| format!("register {username}"))?;
        c.login(username, "bench-password").await.with_context(|| format!("login {username}"))?;
        let bet = PlaceBet {
            match_id: 0,
            market_id: None,
            option: "a".into(),
            stake: STAKE,
            odds_ver: 0,
            req_id: ReqId::Number(0),
        };
        Ok((BenchClient { c, bet, balance_before: 0 }, uid))
    }

    /// Queues a bet (sent on the next flush); returns its seq. Its `req_id` is its seq.
    async fn send_bet(&mut self) -> Result<u32, ClientError> {
        self.bet.req_id = ReqId::Number(u64::from(self.c.last_seq()) + 1);
        self.c.send(msg::PLACE_BET, &self.bet).await
    }

    /// Keeps `window` bets in flight until the deadline or the shared budget, then drains.
    pub(crate) async fn closed_loop(&mut self, plan: &Plan) -> anyhow::Result<LoopOutcome> {
        let mut out = LoopOutcome::new();
        let mut in_flight: HashMap<u32, Instant> = HashMap::with_capacity(plan.window);
        for _ in 0..plan.window {
            if !plan.more() {
                break;
            }
            let seq = self.send_bet().await?;
            in_flight.insert(seq, Instant::now());
        }
        self.c.flush().await?;
        while !in_flight.is_empty() {
            let reply = match self.c.next_reply().await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = format!("{e:#}"), "bench: {} requests unanswered", in_flight.len());
                    out.unmatched += in_flight.len() as u64;
                    break;
                }
            };
            let Some(sent) = in_flight.remove(&reply.head.seq).filter(|_| reply.head.id == msg::PLACE_BET) else {
                out.unmatched += 1;
                continue;
            };
            out.reply(&reply, sent, &plan.placed)?;
            if plan.more() {
                let seq = self.send_bet().await?;
                self.c.flush().await?;
                in_flight.insert(seq, Instant::now());
            }
        }
        Ok(out)
    }

    /// Sends a bet every `every` from `first` until the deadline or the budget (a due bet is
    /// skipped, and counted, while `window` are waiting), then drains.
    pub(crate) async fn open_loop(
        &mut self,
        plan: &Plan,
        first: Instant,
        every: Duration,
    ) -> anyhow::Result<LoopOutcome> {
        let mut out = LoopOutcome::new();
        let mut in_flight: HashMap<u32, Instant> = HashMap::new();
        let mut tick = tokio::time::interval_at(first, every);
        tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let mut sending = true;
        let mut last_reply = Instant::now();
        while sending || !in_flight.is_empty() {
            tokio::select! {
                due = tick.tick(), if sending => {
                    if !plan.more() {
                        sending = false;
                    } else if in_flight.len() >= plan.window {
                        out.skipped += 1;
                    } else {
                        if in_flight.is_empty() {
                            last_reply = Instant::now();
                        }
                        let sent = Instant::now();
                        out.send_lag.get_or_insert_with(new_histogram).record((sent - due).as_micros().max(1) as u64)?;
                        let seq = self.send_bet().await?;
                        self.c.flush().await?;
                        in_flight.insert(seq, sent);
                    }
                }
                reply = self.c.next_reply() => {
                    // A quiet connection is no failure here: the arm below times out bets in flight.
                    let reply = match reply {
                        Err(ClientError::Timeout(_)) => continue,
                        r => r?,
                    };
                    last_reply = Instant::now();
                    match in_flight.remove(&reply.head.seq).filter(|_| reply.head.id == msg::PLACE_BET) {
                        Some(sent) => out.reply(&reply, sent, &plan.placed)?,
                        None => out.unmatched += 1,
                    }
                }
                _ = tokio::time::sleep_until(last_reply + REPLY_TIMEOUT), if !in_flight.is_empty() => {
                    tracing::warn!("bench: {} requests unanswered in {REPLY_TIMEOUT:?}", in_flight.len());
                    out.unmatched += in_flight.len() as u64;
                    break;
                }
            }
        }
        Ok(out)
    }
}

/// What every client loop shares: when to stop, and the counters.
#[derive(Clone)]
pub(crate) struct Plan {
    pub(crate) window: usize,
    pub(crate) deadline: Instant,
    pub(crate) budget: u64,
    pub(crate) issued: Arc<AtomicU64>,
    pub(crate) placed: Arc<AtomicU64>,
}

impl Plan {
    /// Whether another bet may be sent (counts it against the budget).
    fn more(&self) -> bool {
        Instant::now() < self.deadline && self.issued.fetch_add(1, Ordering::Relaxed) < self.budget
    }
}

#[derive(Default)]
pub(crate) struct LoopOutcome {
    pub(crate) ok: u64,
    pub(crate) errors: BTreeMap<u16, u64>,
    pub(crate) unmatched: u64,
    pub(crate) skipped: u64,
    pub(crate) hist: Option<Histogram<u64>>,
    pub(crate) send_lag: Option<Histogram<u64>>,
}

impl LoopOutcome {
    fn new() -> LoopOutcome {
        LoopOutcome { hist: Some(new_histogram()), ..LoopOutcome::default() }
    }

    /// Counts the reply to a bet sent at `since`.
    fn reply(&mut self, reply: &Frame, since: Instant, placed: &AtomicU64) -> anyhow::Result<()> {
        let hist = self.hist.get_or_insert_with(new_histogram);
        hist.record(since.elapsed().as_micros().max(1) as u64)?;
        if reply.is_ok() {
            reply.decode::<BetPlaced>()?;
            self.ok += 1;
            placed.fetch_add(1, Ordering::Relaxed);
        } else {
            *self.errors.entry(reply.code()).or_insert(0) += 1;
        }
        Ok(())
    }
}
