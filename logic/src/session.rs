//! Session tokens. The client holds a random token; Redis holds only its digest (the session id),
//! so a copy of Redis does not give anyone a usable token. `session_open.lua` also indexes each
//! session under its user (`sessions:{uid}`), so that a ban can revoke them all, and keeps at most
//! `logic.session_max_per_user` of them (a login past it ends the one that expires soonest).
//!
//! A resume rotates the token: the old one stops resuming and the reply carries a new one, derived
//! from (old token, trace id of the resume frame) with a keyed hash, so the same frame handled
//! again (a worker died before its ack) answers the same new token — `session_open.lua` remembers
//! which frame rotated a session for [`ROTATION_GRACE_MS`]. A session lives
//! `logic.session_ttl_s` after its login or latest resume, and never more than
//! `logic.session_max_lifetime_s` after its login.

use common::shards::{of_sid, of_uid};
use common::store::session_open::{self, Open, Outcome};
use fred::prelude::*;
use protocol::body::SessionReply;
use protocol::{Bind, ErrorCode};
use sha2::{Digest, Sha256};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::Reply;

/// How long a rotated-away token still answers the frame that rotated it (redelivered), and only it.
/// Longer than a dead worker's frames take to come back (heartbeat TTL + reaper interval) with room
/// for a backed-up queue.
pub const ROTATION_GRACE_MS: u64 = 300_000;

/// Reads of the session index a login makes when the index moves under it, before giving up.
const CAP_ATTEMPTS: usize = 3;

/// A new random token (256 bits, hex).
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// A new random token whose session lives in `shard` (the user's): drawn again until its session
/// id falls there (`shards::of_sid`), 64 draws on average — a few microseconds — so a session is
/// kept in its user's shard and found from the token alone, the token's shape unchanged.
pub fn new_token_in(shard: u16) -> String {
    std::iter::repeat_with(new_token).find(|t| of_sid(&session_id(t)) == shard).expect("an endless supply")
}

/// The session id of a token: the first 128 bits of its SHA-256, hex.
pub fn session_id(token: &str) -> String {
    hex::encode(&Sha256::digest(token.as_bytes())[..16])
}

/// The token a resume with `token` in the frame traced `trace` rotates to (256 bits, hex): a hash
/// keyed by the old token (a secret only its holder knows) over the trace id (unique per frame,
/// never shown to clients). Deterministic, so a redelivered frame answers the same token; the old
/// token and the trace are fixed-length fields, so no two inputs run together.
/// The `n`-th candidate adds the counter, a fixed-length field, after them.
fn rotated_token_at(token: &str, trace: &str, n: u32) -> String {
    let mut h = Sha256::new();
    h.update(b"matchday session rotation v1\0");
    h.update(Sha256::digest(token.as_bytes()));
    h.update(Sha256::digest(trace.as_bytes()));
    if n > 0 {
        h.update(n.to_be_bytes());
    }
    hex::encode(h.finalize())
}

/// The rotation of `token` by the frame traced `trace` whose session lives in `shard`: the first
/// candidate that falls there, so a redelivered frame still answers the same token.
pub fn rotated_token_in(token: &str, trace: &str, shard: u16) -> String {
    (0..)
        .map(|n| rotated_token_at(token, trace, n))
        .find(|t| of_sid(&session_id(t)) == shard)
        .expect("an endless supply")
}

/// The user a stored session value ("uid:born…", or "uid" from before lifetimes) belongs to.
pub fn session_owner(value: &str) -> Option<u64> {
    value.split(':').next()?.parse().ok()
}

/// A resume: the client's token and the trace id of its frame.
pub struct Resumed<'a> {
    pub token: String,
    pub trace: &'a str,
}

/// Opens a session for `uid` (a new one at login; at resume the client's own, rotated to a new
/// token) and answers it with a bind. A banned user is refused with 1009, atomically with the ban
/// (`session_open.lua`); a resumed session that no longer exists (or outlived its lifetime, or was
/// rotated by another frame) is 1008.
pub async fn open(ctx: &Ctx, uid: u64, resumed: Option<Resumed<'_>>) -> Result<Reply, AppError> {
    let keys = &ctx.redis.keys;
    let (token, old) = match &resumed {
        Some(r) => (rotated_token_in(&r.token, r.trace, of_uid(uid)), Some((session_id(&r.token), r.trace))),
        None => (new_token_in(of_uid(uid)), None),
    };
    let sid = session_id(&token);
    for _ in 0..CAP_ATTEMPTS {
        let index: Vec<String>;
        let open = match &old {
            Some((old_sid, trace)) => Open::Resume { old_sid, trace, grace_ms: ROTATION_GRACE_MS },
            None => {
                // The index as it is now: the sessions a login past the cap may end (bounded by the cap).
                index = ctx.redis.pool.zrange(keys.sessions(uid), 0, -1, None, false, None, false).await?;
                Open::Login { read: &index }
            }
        };
        let args = session_open::Args {
            uid,
            sid: &sid,
            ttl_s: ctx.cfg.session_ttl_s,
            now_ms: common::time::now_ms(),
            max_lifetime_s: ctx.cfg.session_max_lifetime_s,
            max_sessions: ctx.cfg.session_max_per_user,
            open,
        };
        match session_open::call(&ctx.redis, &args).await? {
            Outcome::Opened { .. } => {
                let balance = crate::handlers::balance_of(ctx, uid).await?;
                return Ok(Reply::new(&SessionReply { user_id: uid, token, balance })?.binding(Bind { uid, sid }));
            }
            Outcome::IndexChanged => continue, // the index moved since it was read
            Outcome::NoSession => return Err(AppError::code(ErrorCode::SessionExpired)),
            Outcome::Banned => return Err(AppError::code(ErrorCode::AccountBanned)),
        }
    }
    // Logins of one user racing each other: the client may simply try again.
    tracing::warn!(user.id = uid, "the session index kept moving under a login; answered 6");
    Err(AppError::new(ErrorCode::Unavailable, "too many logins of this account at once; try again"))
}

/// How a session is named to its player (207, 208): the first 16 hex digits of its id. Not a token
/// (an id is the token's digest), and short enough to show.
pub fn public_id(sid: &str) -> &str {
    &sid[..sid.len().min(16)]
}

/// A user's live sessions: (sid, its login time, its expiry), soonest expiry first. Sessions rotated
/// away by a resume (kept a moment for a retried resume) are not listed.
pub async fn of_user(ctx: &Ctx, uid: u64) -> Result<Vec<(String, u64, u64)>, AppError> {
    let keys = &ctx.redis.keys;
    let now = common::time::now_ms();
    let index: Vec<(String, f64)> = ctx.redis.pool.zrange(keys.sessions(uid), 0, -1, None, false, None, true).await?;
    let mut out = Vec::with_capacity(index.len());
    for (sid, expiry) in index {
        let value: Option<String> = ctx.redis.pool.get(keys.session(&sid)).await?;
        let Some(value) = value else { continue };
        let parts: Vec<&str> = value.split(':').collect();
        if parts.len() > 2 || session_owner(&value) != Some(uid) || (expiry as u64) < now {
            continue;
        }
        let born = parts.get(1).and_then(|b| b.parse().ok()).unwrap_or(0);
        out.push((sid, born, expiry as u64));
    }
    Ok(out)
}

/// Closes every connection of `uid` but `keep` (the asking one: its node and connection id) with
/// 1008 "session ended", through each connection's node push list. Used when the player ends their
/// other sessions (a password change, 208 with `others`): those connections' sessions are gone.
pub async fn close_others(ctx: &Ctx, uid: u64, keep: (&str, u64)) -> Result<usize, AppError> {
    let online = common::push_lists::online(&ctx.redis, uid).await?;
    let frame = |conn: u64| {
        protocol::codec::encode_routed(&protocol::Route::close(conn, protocol::Close::session_ended()), &[])
            .map(bytes::Bytes::from)
            .map_err(AppError::internal)
    };
    let mut frames = Vec::new();
    for c in online.iter().filter(|c| (c.node.as_str(), c.id) != keep) {
        frames.push((c.node.as_str(), [frame(c.id)?]));
    }
    let lists: Vec<(&str, &[bytes::Bytes])> = frames.iter().map(|(n, f)| (*n, &f[..])).collect();
    common::push_lists::append(&ctx.redis, &lists, ctx.reply_ttl.as_millis() as u64).await?;
    Ok(frames.len())
}

/// Reads of the session index before giving up on a player logging in again and again meanwhile.
const PASSWORD_ATTEMPTS: usize = 5;

/// Sets `uid`'s password hash to `phc` and ends every session but `keep` (`password_change.lua`,
/// recorded as `event` in the account's history), reading the session index again when it moved;
/// then closes the ended sessions' live connections (all but `conn`, the asking one) with 1008.
/// The sessions ended, or None when there is no such user; 6 with `busy` when the index kept
/// moving.
pub async fn set_password(
    ctx: &Ctx,
    uid: u64,
    phc: &str,
    keep: Option<&str>,
    conn: (&str, u64),
    event: &str,
    busy: &'static str,
) -> Result<Option<u64>, AppError> {
    use common::store::password_change::{self, Outcome};
    for _ in 0..PASSWORD_ATTEMPTS {
        let sids: Vec<String> =
            ctx.redis.pool.zrange(ctx.redis.keys.sessions(uid), 0, -1, None, false, None, false).await?;
        let args = password_change::Args { uid, phc, keep, sids: &sids, now_ms: common::time::now_ms(), event };
        match password_change::call(&ctx.redis, &args).await? {
            Outcome::Changed { revoked } => {
                close_others(ctx, uid, conn).await?;
                return Ok(Some(revoked));
            }
            Outcome::IndexChanged => continue,
            Outcome::NoUser => return Ok(None),
        }
    }
    Err(AppError::new(protocol::ErrorCode::Unavailable, busy))
}

/// Ends sessions `sids` of `uid` (their tokens no longer resume), as logout does.
pub async fn revoke(ctx: &Ctx, uid: u64, sids: &[&str]) -> Result<(), AppError> {
    if sids.is_empty() {
        return Ok(());
    }
    let keys = &ctx.redis.keys;
    let pipe = ctx.redis.pool.next().pipeline();
    for sid in sids {
        let _: () = pipe.del(keys.session(sid)).await?;
        let _: () = pipe.zrem(keys.sessions(uid), *sid).await?;
    }
    let _: Vec<i64> = pipe.all().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_ids_stable() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(session_id(&a), session_id(&a));
        assert_ne!(session_id(&a), session_id(&b));
        assert_eq!(session_id(&a).len(), 32);
    }

    #[test]
    fn rotation_is_deterministic_per_frame_and_new_per_frame() {
        let t = new_token();
        assert_eq!(rotated_token_at(&t, "trace-1", 0), rotated_token_at(&t, "trace-1", 0));
        assert_ne!(rotated_token_at(&t, "trace-1", 0), rotated_token_at(&t, "trace-2", 0));
        assert_ne!(rotated_token_at(&t, "trace-1", 0), rotated_token_at(&new_token(), "trace-1", 0));
        assert_ne!(rotated_token_at(&t, "trace-1", 0), t);
        assert_eq!(rotated_token_at(&t, "x", 0).len(), 64);
    }

    #[test]
    fn session_values_name_their_owner() {
        assert_eq!(session_owner("7"), Some(7));
        assert_eq!(session_owner("7:1700000000000"), Some(7));
        assert_eq!(session_owner("7:1700000000000:abc:def"), Some(7));
        assert_eq!(session_owner("x"), None);
    }

    #[test]
    fn tokens_put_their_session_in_the_users_shard_and_rotate_deterministically_there() {
        for shard in [0, 7, 63] {
            let t = new_token_in(shard);
            assert_eq!(of_sid(&session_id(&t)), shard);
            let r = rotated_token_in(&t, "trace-1", shard);
            assert_eq!(of_sid(&session_id(&r)), shard);
            assert_eq!(r, rotated_token_in(&t, "trace-1", shard), "the same frame, the same token");
            assert_ne!(r, rotated_token_in(&t, "trace-2", shard));
            assert_eq!(r.len(), 64);
        }
    }
}
