//! session_open.lua: open a session (login) or rotate one (resume) for a user who is not banned,
//! and keep the user's session index (pruned, capped), atomically.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/session_open.lua.

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

/// A new session, or the rotation of one.
#[derive(Clone, Copy, Debug)]
pub enum Open<'a> {
    /// A new session. `read`: the sids of `sessions:{uid}` as the caller read it just before — the
    /// sessions a login past the cap may end.
    Login { read: &'a [String] },
    /// The rotation of `old_sid` (which must exist and be this user's) by the frame traced `trace`;
    /// the old key answers a redelivery of that frame for `grace_ms`.
    Resume { old_sid: &'a str, trace: &'a str, grace_ms: u64 },
}

/// One login or resume of user `uid`.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub uid: u64,
    /// The session id (a digest of the token; the new one at resume).
    pub sid: &'a str,
    /// Idle TTL, seconds (renewed by each resume; >= 1).
    pub ttl_s: u64,
    /// Unix ms.
    pub now_ms: u64,
    /// The most a session lives after its login, seconds (>= 1).
    pub max_lifetime_s: u64,
    /// The most sessions a user holds (>= 1).
    pub max_sessions: u64,
    pub open: Open<'a>,
}

/// What session_open.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Open: `pruned` expired sessions dropped from the index, `ended` sessions ended by the cap.
    Opened { pruned: u64, ended: u64 },
    /// Login: a session to end was not in `read`; nothing written: read the index, call again.
    IndexChanged,
    /// Resume of a session that does not exist (expired, logged out, revoked, past its lifetime,
    /// rotated by another frame) or is another user's.
    NoSession,
    /// The user is banned: nothing opened (a resumed session is deleted).
    Banned,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let mut keys = vec![k.session(args.sid), k.sessions(args.uid), k.user(args.uid)];
    let mut argv = vec![
        args.uid.to_string(),
        args.sid.to_owned(),
        args.ttl_s.to_string(),
        args.now_ms.to_string(),
        match args.open {
            Open::Login { .. } => "login",
            Open::Resume { .. } => "resume",
        }
        .to_owned(),
        args.max_lifetime_s.to_string(),
        args.max_sessions.to_string(),
    ];
    match args.open {
        Open::Login { read } => {
            // KEYS[4] is not touched at login: the new session's key stands in.
            keys.push(k.session(args.sid));
            keys.extend(read.iter().map(|s| k.session(s)));
            argv.extend([String::new(), String::new(), String::new()]);
            argv.extend(read.iter().cloned());
        }
        Open::Resume { old_sid, trace, grace_ms } => {
            keys.push(k.session(old_sid));
            argv.extend([old_sid.to_owned(), trace.to_owned(), grace_ms.to_string()]);
        }
    }
    let reply = redis.scripts.eval(&redis.pool, ScriptName::SessionOpen, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (3, 0) => Outcome::Opened { pruned: r.uint(1)?, ended: r.uint(2)? },
        (1, -1) => Outcome::IndexChanged,
        (1, 1008) => Outcome::NoSession,
        (1, 1009) => Outcome::Banned,
        _ => return Err(r.unexpected()),
    })
}
