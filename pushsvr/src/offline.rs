//! Pushes to players whose app is closed, through a push gateway: the pluggable [`Sender`] —
//! [`Sender::Webhook`], signed JSON over HTTP(S) to any gateway (a relay to FCM, APNs or web push),
//! or [`Sender::Off`] when none is configured — and [`deliver`], which sends a user's push within
//! their hourly limit to every device they registered (211). A caller sends one push per user per
//! event: it takes the event's [`claim`] first (`push_sent:{uid}:{event}`) and gives it back
//! ([`release`]) when sending failed, so a repeat of the event sends what was not sent, once.
//!
//! The webhook's request: `POST webhook_url` with
//! `{ "delivery", "user_id", "devices": [{ "platform", "token" }], "push": { "id", "body" },
//!    "title", "text" }`, headers `X-Matchday-Delivery` (the same `delivery` id on every retry: the
//! gateway drops repeats) and `X-Matchday-Signature: sha256=<hex HMAC-SHA256 of the body>`. A 2xx
//! is delivered; a network error, a timeout, 408, 429 or 5xx is tried again with jittered backoff
//! (`webhook_attempts` tries in all); any other answer is a refusal, not retried.

use std::time::Duration;

use common::config::PushsvrConfig;
use common::retry::Backoff;
use fred::prelude::*;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::Sha256;

use crate::Ctx;

/// Where pushes for closed apps go.
#[derive(Clone)]
pub enum Sender {
    /// No push gateway configured: nothing is sent.
    Off,
    Webhook(Webhook),
}

/// The generic HTTP(S) push gateway.
#[derive(Clone)]
pub struct Webhook {
    client: reqwest::Client,
    url: String,
    secret: SecretString,
    attempts: u32,
    backoff: Duration,
}

/// One push for a closed app, as the gateway receives it.
#[derive(Clone, Debug, Serialize)]
pub struct OfflinePush {
    /// The same for every try and every repeat of the event: the gateway's dedupe key.
    pub delivery: String,
    pub user_id: u64,
    pub devices: Vec<Device>,
    pub push: Frame,
    /// What the phone shows.
    pub title: String,
    pub text: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Device {
    pub platform: String,
    pub token: String,
}

/// The client message the app gets when the player opens it from the notification.
#[derive(Clone, Debug, Serialize)]
pub struct Frame {
    pub id: u16,
    pub body: serde_json::Value,
}

/// Why a push was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The gateway could not be reached or answered "later" on every try.
    #[error("push gateway unavailable: {0}")]
    Unavailable(String),
    /// The gateway refused the push (a 4xx other than 408/429): trying again will not help.
    #[error("push gateway refused the push: {0}")]
    Refused(String),
}

impl Sender {
    pub fn from_config(cfg: &PushsvrConfig) -> anyhow::Result<Sender> {
        if cfg.webhook_url.is_empty() {
            return Ok(Sender::Off);
        }
        let client = reqwest::Client::builder().timeout(Duration::from_millis(cfg.webhook_timeout_ms)).build()?;
        Ok(Sender::Webhook(Webhook {
            client,
            url: cfg.webhook_url.clone(),
            secret: cfg.webhook_secret.clone(),
            attempts: cfg.webhook_attempts.max(1),
            backoff: Duration::from_millis(cfg.webhook_backoff_ms),
        }))
    }

    pub fn is_off(&self) -> bool {
        matches!(self, Sender::Off)
    }

    /// Sends `push` (retrying as the module says); Ok when the gateway took it.
    pub async fn send(&self, push: &OfflinePush) -> Result<(), SendError> {
        match self {
            Sender::Off => Ok(()),
            Sender::Webhook(w) => w.send(push).await,
        }
    }
}

impl Webhook {
    async fn send(&self, push: &OfflinePush) -> Result<(), SendError> {
        let body = serde_json::to_vec(push).map_err(|e| SendError::Refused(e.to_string()))?;
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.expose_secret().as_bytes())
            .map_err(|e| SendError::Refused(e.to_string()))?;
        mac.update(&body);
        let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        let mut backoff = Backoff::new(self.backoff, self.backoff * 16);
        let mut tries = 0;
        loop {
            tries += 1;
            let error = match self.post(&body, &signature, &push.delivery).await {
                Ok(()) => return Ok(()),
                Err(SendError::Refused(why)) => return Err(SendError::Refused(why)),
                Err(SendError::Unavailable(why)) => why,
            };
            if tries >= self.attempts {
                return Err(SendError::Unavailable(format!("{error} (after {tries} tries)")));
            }
            let delay = backoff.next_delay();
            tracing::warn!(delivery = %push.delivery, tries, error = %error, retry_in_ms = delay.as_millis() as u64, "push gateway failed; retrying");
            tokio::time::sleep(delay).await;
        }
    }

    async fn post(&self, body: &[u8], signature: &str, delivery: &str) -> Result<(), SendError> {
        let res = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-matchday-signature", signature)
            .header("x-matchday-delivery", delivery)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| SendError::Unavailable(e.to_string()))?;
        let status = res.status();
        match status.as_u16() {
            200..=299 => Ok(()),
            408 | 429 | 500..=599 => Err(SendError::Unavailable(format!("HTTP {status}"))),
            _ => Err(SendError::Refused(format!("HTTP {status}"))),
        }
    }
}

/// What [`deliver`] did with one user's push.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// The player registered no device.
    NoDevice,
    /// The player's hourly limit was reached.
    RateLimited,
    /// The gateway refused it.
    Refused,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::NoDevice => "no_device",
            Outcome::RateLimited => "rate_limited",
            Outcome::Refused => "refused",
        }
    }
}

/// How long a sent push's claim is kept (a repeat of the event later than this would send again).
const CLAIM_TTL_MS: i64 = 7 * 24 * 3_600_000;

/// Takes the claim of `uid`'s push for `event` (`{match}:{event}`): false when it was taken — the
/// push was sent before, and a repeat of the event sends nothing.
pub async fn claim(ctx: &Ctx, uid: u64, event: &str) -> anyhow::Result<bool> {
    let key = ctx.redis.keys.push_sent(uid, event);
    let set: Option<String> =
        ctx.redis.pool.set(key, 1, Some(Expiration::PX(CLAIM_TTL_MS)), Some(SetOptions::NX), false).await?;
    Ok(set.is_some())
}

/// Gives the claim back (the push could not be sent: the event's next handling tries again).
pub async fn release(ctx: &Ctx, uid: u64, event: &str) -> anyhow::Result<()> {
    let _: i64 = ctx.redis.pool.del(ctx.redis.keys.push_sent(uid, event)).await?;
    Ok(())
}

/// Sends `push` to user `uid`'s closed app: to every device they registered, within their hourly
/// limit. Err when the gateway stayed unavailable through every try.
pub async fn deliver(ctx: &Ctx, uid: u64, push: OfflinePush) -> anyhow::Result<Outcome> {
    let devices: Vec<(String, String)> = ctx.redis.pool.hgetall(ctx.redis.keys.devices(uid)).await?;
    let outcome = if devices.is_empty() {
        Outcome::NoDevice
    } else if !within_limit(ctx, uid).await? {
        Outcome::RateLimited
    } else {
        let devices = devices
            .into_iter()
            .map(|(token, v)| Device { platform: v.split(':').next().unwrap_or_default().to_owned(), token })
            .collect();
        match ctx.offline.send(&OfflinePush { devices, ..push }).await {
            Ok(()) => Outcome::Sent,
            Err(SendError::Refused(why)) => {
                tracing::warn!(user.id = uid, error = %why, "push gateway refused a push; not retried");
                Outcome::Refused
            }
            Err(e @ SendError::Unavailable(_)) => {
                metrics::counter!("matchday_push_offline_total", "outcome" => "unavailable").increment(1);
                return Err(e.into());
            }
        }
    };
    metrics::counter!("matchday_push_offline_total", "outcome" => outcome.label()).increment(1);
    Ok(outcome)
}

/// Counts one push against `uid`'s hourly limit; false when the limit was reached.
async fn within_limit(ctx: &Ctx, uid: u64) -> anyhow::Result<bool> {
    let hour = common::time::now_ms() / 3_600_000;
    let key = ctx.redis.keys.push_rate(uid, hour);
    let pipe = ctx.redis.pool.next().pipeline();
    let _: () = pipe.incr(&key).await?;
    let _: () = pipe.pexpire(&key, 3_600_000, None).await?;
    let (n, _): (u64, i64) = pipe.all().await?;
    Ok(n <= ctx.cfg.offline_pushes_per_user_per_hour)
}
