//! One queue consumer: up to `logic.batch` frames in hand, each handled in its own task and acked
//! together with its reply as soon as it is handled; more are taken when half are done. On shutdown
//! it takes no more and finishes every frame it has taken.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::Shutdown;
use common::queue::{Acker, Consumer};
use futures_util::FutureExt;
use protocol::codec::{encode_frame, encode_frame_raw, encode_routed};
use protocol::{ErrorCode, Route};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::Request;

/// What became of one frame.
enum Outcome {
    /// Answer with `element` on the list `key`.
    Reply { key: String, element: Vec<u8> },
    /// The frame cannot be handled at all (not a frame connect wrote): dead-letter it.
    Dead(String),
}

pub async fn run(ctx: Ctx, mut consumer: Consumer, shutdown: Shutdown) {
    let batch = ctx.cfg.batch.max(1);
    let acker = consumer.acker().with_reply_ttl(ctx.reply_ttl);
    let mut running: JoinSet<bool> = JoinSet::new();
    let mut backoff = Duration::from_millis(100);
    loop {
        // Take more once half the frames in hand are done: block only when none is left, so a frame
        // never waits behind the slowest of a batch, and claims stay one per half batch under load.
        if !shutdown.is_cancelled() && running.len() <= batch / 2 {
            let taken = if running.is_empty() {
                consumer.take().await
            } else {
                consumer.take_more(batch - running.len()).await
            };
            match taken {
                Ok(frames) => {
                    backoff = Duration::from_millis(100);
                    for frame in frames {
                        let (ctx, acker) = (ctx.clone(), acker.clone());
                        running.spawn(
                            async move {
                                let outcome = handle_frame(&ctx, &frame).await;
                                finish(&ctx, &acker, &frame, outcome).await
                            }
                            .in_current_span(),
                        );
                    }
                }
                Err(e) if running.is_empty() => {
                    tracing::warn!(
                        error = format!("{e:#}"),
                        retry_ms = backoff.as_millis() as u64,
                        "cannot take frames; retrying"
                    );
                    tokio::select! {
                        _ = shutdown.cancelled() => {}
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
                Err(e) => tracing::warn!(error = format!("{e:#}"), "cannot take more frames; finishing those in hand"),
            }
        }
        // On shutdown: finish every frame in hand, take no more.
        match running.join_next().await {
            Some(Ok(true)) => {}
            Some(Ok(false)) => consumer.mark_recover(),
            Some(Err(e)) => {
                tracing::error!(error = %e, "a frame's task failed; its frame is taken again from the inflight list");
                consumer.mark_recover();
            }
            None if shutdown.is_cancelled() => break,
            None => {}
        }
    }
    if let Err(e) = consumer.leave().await {
        tracing::warn!(error = format!("{e:#}"), "cannot unregister the consumer");
    }
}

/// Acks one frame with its outcome; false if Redis failed (the frame stays inflight and is redone).
/// With `redis.wait_replicas`, a reply leaves only once the replicas hold what the handler wrote.
async fn finish(ctx: &Ctx, acker: &Acker, frame: &Bytes, outcome: Outcome) -> bool {
    if matches!(outcome, Outcome::Reply { .. })
        && let Err(e) = ctx.redis.replicated().await
    {
        tracing::warn!(error = %e, "cannot wait for the replicas; the frame will be handled again");
        return false;
    }
    let result = match outcome {
        Outcome::Reply { key, element } => acker.ack(frame, Some((&key, &element))).await.inspect(|acked| {
            if *acked {
                ctx.stats.frames_handled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }),
        Outcome::Dead(why) => {
            tracing::error!(reason = %why, bytes = frame.len(), "undecodable frame moved to the dead list");
            acker.dead_letter(frame).await
        }
    };
    match result {
        Ok(true) => true,
        Ok(false) => {
            metrics::counter!("matchday_logic_acks_lost_total").increment(1);
            tracing::warn!("frame was taken back by the reaper before the ack; its reply is dropped");
            true
        }
        Err(e) => {
            tracing::warn!(error = format!("{e:#}"), "ack failed; the frame will be handled again");
            false
        }
    }
}

async fn handle_frame(ctx: &Ctx, frame: &Bytes) -> Outcome {
    let req = match Request::decode(frame) {
        Ok(req) => req,
        Err(e) => return Outcome::Dead(e.to_string()),
    };
    let span = tracing::debug_span!("frame", msg.id = req.head.id, conn.id = req.head.conn,
        user.id = req.head.uid, trace = %req.head.trace);
    async {
        let started = Instant::now();
        // One snapshot of the Lua handler set for the whole frame (a reload swaps whole sets). A Lua
        // handler of a built-in id exists only with logic.lua_override, and then wins.
        let lua = ctx.lua.snapshot();
        let lua_handler = lua.get(req.head.id);
        let builtin = ctx.dispatch.lookup(req.head.id);
        let known = lua_handler.is_some() || builtin.is_some();
        let result = match (lua_handler, builtin) {
            (Some(h), _) => guarded(crate::lua::call(&lua, h, ctx, &req)).await,
            (None, Some(handler)) => guarded(handler(ctx, &req)).await,
            (None, None) => Err(AppError::code(ErrorCode::UnknownMsg)),
        };
        let elapsed = started.elapsed();
        let label = if known { req.head.id.to_string() } else { "unknown".to_owned() };
        let code = result.as_ref().map_or_else(|e| e.wire_code(), |_| 0);
        metrics::histogram!("matchday_logic_handler_seconds", "msg" => label.clone()).record(elapsed.as_secs_f64());
        metrics::counter!("matchday_logic_frames_total", "msg" => label, "code" => code.to_string()).increment(1);
        if elapsed > Duration::from_millis(ctx.cfg.slow_handler_ms) {
            tracing::warn!(elapsed_ms = elapsed.as_millis() as u64, "slow handler");
        }
        match encode_reply(&req, result) {
            Ok(element) => Outcome::Reply { key: ctx.redis.keys.l2c(&req.head.node), element },
            Err(e) => Outcome::Dead(format!("cannot encode the reply: {e}")),
        }
    }
    .instrument(span)
    .await
}

/// Runs a handler, turning a panic into a code 1 answer.
async fn guarded<F>(handler: F) -> Result<crate::request::Reply, AppError>
where
    F: std::future::Future<Output = Result<crate::request::Reply, AppError>>,
{
    match AssertUnwindSafe(handler).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = %what, "handler panicked; answered with code 1");
            Err(AppError::code(ErrorCode::Internal))
        }
    }
}

fn encode_reply(
    req: &Request,
    result: Result<crate::request::Reply, AppError>,
) -> Result<Vec<u8>, protocol::FrameError> {
    let mut route = Route::to(req.head.conn);
    let frame = match result {
        Ok(reply) => {
            route.bind = reply.bind;
            route.unbind = reply.unbind;
            encode_frame_raw(&req.head.reply(0), &reply.body)?
        }
        Err(e) => encode_frame(&req.head.reply(e.wire_code()), &e.body())?,
    };
    encode_routed(&route, &frame)
}
