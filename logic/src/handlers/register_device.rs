//! 211 register_device `{ platform, token, remove? }` → `{ devices }`: the push service's token of
//! this install (`platform` fcm, apns or webpush; the token 1 to 4096 printable ASCII characters),
//! so pushsvr reaches the player while the app is closed (906 for subscribed matches, through the
//! configured push gateway). A player keeps at most [`MAX_DEVICES`]: registering one more forgets
//! the longest registered. `remove: true` forgets the token (an app logging out). Registering the
//! same token again refreshes it.

use fred::prelude::*;
use protocol::body::{Devices, RegisterDevice};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

/// The devices one player may have registered.
pub const MAX_DEVICES: usize = 10;
/// The push platforms a token may be for.
pub const PLATFORMS: &[&str] = &["fcm", "apns", "webpush"];
const TOKEN_MAX: usize = 4096;

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let RegisterDevice { platform, token, remove } = req.body()?;
    if !PLATFORMS.contains(&platform.as_str()) {
        return Err(AppError::invalid_body(format!("platform: one of {}", PLATFORMS.join(", "))));
    }
    if token.is_empty() || token.len() > TOKEN_MAX || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::invalid_body(format!("token: 1 to {TOKEN_MAX} printable ASCII characters")));
    }
    let key = ctx.redis.keys.devices(uid);
    if remove {
        let _: i64 = ctx.redis.pool.hdel(&key, &token).await?;
    } else {
        let value = format!("{platform}:{}", common::time::now_ms());
        let _: i64 = ctx.redis.pool.hset(&key, (token.as_str(), value)).await?;
        let all: Vec<(String, String)> = ctx.redis.pool.hgetall(&key).await?;
        if all.len() > MAX_DEVICES {
            let mut by_age: Vec<(u64, String)> = all
                .into_iter()
                .map(|(t, v)| (v.rsplit(':').next().and_then(|ms| ms.parse().ok()).unwrap_or(0), t))
                .collect();
            by_age.sort();
            let excess = by_age.len() - MAX_DEVICES;
            let oldest: Vec<String> = by_age.into_iter().take(excess).map(|(_, t)| t).collect();
            let _: i64 = ctx.redis.pool.hdel(&key, oldest).await?;
        }
    }
    let devices: u32 = ctx.redis.pool.hlen(&key).await?;
    Reply::new(&Devices { devices })
}
