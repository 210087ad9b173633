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

/// The session id of a token: the first 128 bits of its SHA-256, hex.
pub fn session_id(token: &str) -> String {
    hex::encode(&Sha256::digest(token.as_bytes())[..16])
}

/// The token a resume with `token` in the frame traced `trace` rotates to (256 bits, hex): a hash
/// keyed by the old token (a secret only its holder knows) over the trace id (unique per frame,
/// never shown to clients). Deterministic, so a redelivered frame answers the same token; the old
/// token and the trace are fixed-length fields, so no two inputs run together.
pub fn rotated_token(token: &str, trace: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"matchday session rotation v1\0");
    h.update(Sha256::digest(token.as_bytes()));
    h.update(Sha256::digest(trace.as_bytes()));
    hex::encode(h.finalize())
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
        Some(r) => (rotated_token(&r.token, r.trace), Some((session_id(&r.token), r.trace))),
        None => (new_token(), None),
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
        assert_eq!(rotated_token(&t, "trace-1"), rotated_token(&t, "trace-1"));
        assert_ne!(rotated_token(&t, "trace-1"), rotated_token(&t, "trace-2"));
        assert_ne!(rotated_token(&t, "trace-1"), rotated_token(&new_token(), "trace-1"));
        assert_ne!(rotated_token(&t, "trace-1"), t);
        assert_eq!(rotated_token(&t, "x").len(), 64);
    }

    #[test]
    fn session_values_name_their_owner() {
        assert_eq!(session_owner("7"), Some(7));
        assert_eq!(session_owner("7:1700000000000"), Some(7));
        assert_eq!(session_owner("7:1700000000000:abc:def"), Some(7));
        assert_eq!(session_owner("x"), None);
    }
}
