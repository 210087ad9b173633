//! Banning a player: the user is marked banned, every session of theirs revoked and every live
//! connection of theirs closed (1008 "banned"), in one atomic script (`user_ban.lua`); they cannot
//! log in or resume (1009) until unbanned.

use axum::extract::State;
use bytes::Bytes;
use common::store::{user_ban, user_unban};
use fred::prelude::*;
use protocol::codec::encode_routed;
use protocol::{Close, Route};

use crate::AppState;
use crate::audit;
use crate::auth::Operator;
use crate::error::{ApiError, ErrorBody, JsonBody, PathParam};
use crate::model::*;

/// How often a ban reads the indexes again when they changed under it. The first attempt marks
/// the user, after which neither index can gain an entry, so a second attempt normally succeeds.
const ATTEMPTS: usize = 10;
/// A push list's TTL in connect heartbeat TTLs, as pushsvr sets it (a dead node's list expires).
const PUSH_TTL_HEARTBEATS: u64 = 3;

/// Ban a user: no login or resume (code 1009), every session revoked, every live connection closed
/// with 1008 "banned". A repeated ban changes nothing (the first reason stays). Operator or admin.
#[utoipa::path(post, path = "/api/users/{id}/ban", operation_id = "ban_user", tag = "users", params(("id" = u64, Path, description = "user id")),
    request_body = BanRequest,
    responses((status = 200, body = BanResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 503, description = "Redis is unavailable, or the user's sessions kept changing; retry (a ban is idempotent)", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn ban(
    State(st): State<AppState>,
    Operator(staff): Operator,
    PathParam(uid): PathParam<u64>,
    JsonBody(body): JsonBody<BanRequest>,
) -> Result<axum::Json<BanResult>, ApiError> {
    body.validate()?;
    let target = format!("user:{uid}");
    let audit = audit::record(&staff, "user.ban", &target, &body);
    let (redis, k) = (&st.redis, &st.redis.keys);
    let push_ttl_ms = st.cfg.queue.heartbeat_ttl_ms * PUSH_TTL_HEARTBEATS;
    let mut marked = false;
    for _ in 0..ATTEMPTS {
        let sids: Vec<String> = redis.pool.zrange(k.sessions(uid), 0, -1, None, false, None, false).await?;
        let conns = common::push_lists::online(redis, uid).await?;
        let connections =
            common::push_lists::connections(redis, conns.iter().map(|c| (c.conn.as_str(), c.node.as_str()))).await?;
        let args = user_ban::Args {
            uid,
            reason: &body.reason,
            by: &staff.name,
            now_ms: common::time::now_ms(),
            audit: &audit,
            sessions: &sids,
            connections: &connections,
        };
        match user_ban::call(redis, &args).await? {
            user_ban::Outcome::IndexChanged { marked: m } => marked |= m,
            user_ban::Outcome::Banned { marked: m, revoked, close, removed } => {
                marked |= m;
                // Each connection named is told to close (1008 "banned") through its node's list.
                let mut frames = Vec::with_capacity(close.len());
                for &i in &close {
                    let c = &conns[i];
                    let frame =
                        encode_routed(&Route::close(c.id, Close::banned()), &[]).map_err(|e| anyhow::anyhow!(e))?;
                    frames.push((c.node.as_str(), [Bytes::from(frame)]));
                }
                let lists: Vec<(&str, &[Bytes])> = frames.iter().map(|(n, f)| (*n, &f[..])).collect();
                common::push_lists::append(redis, &lists, push_ttl_ms).await?;
                let closed = close.len() as u64;
                if marked {
                    audit::log(&staff, "user.ban", &target);
                } else {
                    tracing::info!(audit.who = %staff.name, user.id = uid, "ban repeated; the user was banned already");
                }
                if removed > 0 {
                    tracing::debug!(user.id = uid, removed, "removed connections of dead connect nodes");
                }
                return Ok(axum::Json(BanResult {
                    user_id: uid,
                    banned: true,
                    changed: marked,
                    ban: ban_info(&st, uid).await?,
                    sessions_revoked: revoked,
                    connections_closed: closed,
                }));
            }
            user_ban::Outcome::NoUser => return Err(ApiError::NotFound(format!("no user {uid}"))),
        }
    }
    if marked {
        audit::log(&staff, "user.ban", &target);
    }
    tracing::warn!(user.id = uid, "the user's sessions or connections kept changing during a ban; asked to retry");
    Err(ApiError::Unavailable)
}

/// Lift a user's ban: they may log in again (sessions the ban revoked stay revoked). Unbanning a
/// user who is not banned changes nothing. Operator or admin.
#[utoipa::path(post, path = "/api/users/{id}/unban", operation_id = "unban_user", tag = "users", params(("id" = u64, Path, description = "user id")),
    request_body = BanRequest,
    responses((status = 200, body = BanResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn unban(
    State(st): State<AppState>,
    Operator(staff): Operator,
    PathParam(uid): PathParam<u64>,
    JsonBody(body): JsonBody<BanRequest>,
) -> Result<axum::Json<BanResult>, ApiError> {
    body.validate()?;
    let target = format!("user:{uid}");
    let audit = audit::record(&staff, "user.unban", &target, &body);
    let args = user_unban::Args { uid, by: &staff.name, now_ms: common::time::now_ms(), audit: &audit };
    let changed = match user_unban::call(&st.redis, &args).await? {
        user_unban::Outcome::Unbanned { changed } => changed,
        user_unban::Outcome::NoUser => return Err(ApiError::NotFound(format!("no user {uid}"))),
    };
    if changed {
        audit::log(&staff, "user.unban", &target);
    }
    Ok(axum::Json(BanResult {
        user_id: uid,
        banned: false,
        changed,
        ban: None,
        sessions_revoked: 0,
        connections_closed: 0,
    }))
}

/// The ban of `uid` in force, if any.
pub async fn ban_info(st: &AppState, uid: u64) -> Result<Option<BanInfo>, ApiError> {
    let fields = vec!["banned", "ban_reason", "banned_by", "banned_at"];
    let (banned, reason, by, at): (Option<String>, Option<String>, Option<String>, Option<u64>) =
        st.redis.pool.hmget(st.redis.keys.user(uid), fields).await?;
    if banned.as_deref() != Some("1") {
        return Ok(None);
    }
    Ok(Some(BanInfo { reason: reason.unwrap_or_default(), by: by.unwrap_or_default(), at: at.unwrap_or(0) }))
}
