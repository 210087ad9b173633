//! The handler of one frame, run by the consumer runtime (`common::consumer`, shape
//! `Concurrent`): up to `logic.batch` frames in hand, each handled in its own task and acked together
//! with its reply as soon as it is handled; more are taken when half are done. On shutdown the
//! runtime takes no more and finishes every frame it has taken.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::consumer::{Outcome, Recorded, Reply};
use futures_util::FutureExt;
use protocol::codec::{encode_frame, encode_frame_raw, encode_routed};
use protocol::{ErrorCode, Route};
use tracing::Instrument;

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::Request;

/// Answers client frames: decode, dispatch by msg id, encode the reply for its connect node.
pub struct Frames(pub Ctx);

impl common::consumer::Handler for Frames {
    /// With `redis.wait_replicas`, a reply leaves only once the replicas hold what the handler wrote
    /// (on the primaries of the slots it wrote: `common::written`).
    async fn handle(&self, frame: &Bytes) -> Outcome {
        let ctx = &self.0;
        let (outcome, written) = common::written::tracking(handle_frame(ctx, frame)).await;
        if matches!(outcome, Outcome::Ack(Some(_)))
            && let Err(e) = ctx.redis.replicated(&written).await
        {
            tracing::warn!(error = %e, "cannot wait for the replicas; the frame will be handled again");
            return Outcome::Retry;
        }
        outcome
    }

    fn recorded(&self, _frame: &Bytes, what: Recorded) {
        match what {
            Recorded::Acked { inflight: true } => {
                self.0.stats.frames_handled.fetch_add(1, Ordering::Relaxed);
            }
            Recorded::Dead { inflight: true } => {}
            Recorded::Acked { inflight: false } | Recorded::Dead { inflight: false } => {
                metrics::counter!("matchday_logic_acks_lost_total").increment(1);
                tracing::warn!("frame was taken back by the reaper before the ack; its reply is dropped");
            }
        }
    }
}

async fn handle_frame(ctx: &Ctx, frame: &Bytes) -> Outcome {
    let req = match Request::decode(frame) {
        Ok(req) => req,
        Err(e) => return dead(&e.to_string(), frame),
    };
    // At info: every line logged while handling the frame (a WARN included) names the message,
    // the connection, the user and the trace, under the worker's span (node and worker).
    let span = tracing::info_span!("frame", msg.id = req.head.id, conn.id = req.head.conn,
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
            Ok(element) => Outcome::Ack(Some(Reply { key: ctx.redis.keys.l2c(ctx.group, &req.head.node), element })),
            Err(e) => dead(&format!("cannot encode the reply: {e}"), frame),
        }
    }
    .instrument(span)
    .await
}

/// A frame that cannot be handled at all (not a frame connect wrote): to the dead list.
fn dead(why: &str, frame: &Bytes) -> Outcome {
    tracing::error!(reason = %why, bytes = frame.len(), "undecodable frame moved to the dead list");
    Outcome::Dead
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
