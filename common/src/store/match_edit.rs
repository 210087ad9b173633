//! match_edit.lua: edit a match or one of its markets where that is safe — descriptive fields in any
//! state but closed, the start time and type before the start, the betting terms before betting
//! ever opened — with the version raised, a `match_updated` event (905) and the change record, in
//! one atomic step. Then the record (and, when the start time or type moved, each of the match's
//! markets) is copied to every shard before the caller hears the outcome.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/match_edit.lua.

use bytes::Bytes;
use fred::types::Value;
use protocol::matches::{EDITABLE, MOVABLE, MatchState, TERMS_EDITABLE};

use super::{Reply, ScriptName, StoreError};
use crate::Redis;
use crate::shards::Home;

/// One edit of one record.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub mid: u64,
    /// The record's type as read (the script refuses another with "ERR type mismatch").
    pub kind: &'a str,
    /// The match's markets (their type and start time follow the match's).
    pub markets: &'a [u64],
    /// A new start time, Unix ms.
    pub start_at: Option<u64>,
    /// A new type.
    pub new_kind: Option<&'a str>,
    /// Whether `fields` change the betting terms (options, limits).
    pub terms: bool,
    /// Field, value, ... of the other fields to write (title, team_a, team_b, stream_url, market,
    /// options, min_stake, max_stake).
    pub fields: &'a [String],
    /// How long before the start the bettors are reminded, ms (0 = no reminder).
    pub reminder_before_ms: u64,
    /// Unix ms.
    pub now_ms: u64,
    /// The audit record (a MessagePack change record), or empty for none.
    pub audit: &'a [u8],
}

/// Why an edit was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The match is closed (archived).
    Closed,
    /// The start time or type of a match that has started (or ended).
    Started,
    /// Betting terms once betting has opened.
    Opened,
}

/// What match_edit.lua answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Edited: the record's new version.
    Edited { ver: u64 },
    /// Refused in `state`; nothing written.
    NotEditable { state: MatchState, why: Refusal },
    /// No such match.
    NotFound,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let new_kind = args.new_kind.unwrap_or(args.kind);
    let mut keys = vec![k.match_(args.mid)];
    keys.extend(k.match_indexes(args.kind));
    keys.extend([k.matches_index("list", new_kind), k.notify(Home::Global), k.outbox(Home::Global), k.sched()]);
    keys.extend(args.markets.iter().map(|m| k.match_(*m)));
    let codes = |states: &[MatchState]| states.iter().map(|s| s.code().to_string()).collect::<Vec<_>>().join(",");
    let mut argv: Vec<Value> = vec![
        args.kind.into(),
        codes(EDITABLE).into(),
        codes(MOVABLE).into(),
        codes(TERMS_EDITABLE).into(),
        args.now_ms.to_string().into(),
        Bytes::copy_from_slice(args.audit).into(),
        args.start_at.map(|t| t.to_string()).unwrap_or_default().into(),
        args.new_kind.unwrap_or("").into(),
        if args.terms { "1" } else { "0" }.into(),
        args.reminder_before_ms.to_string().into(),
    ];
    argv.extend(args.fields.iter().map(|f| Value::from(f.as_str())));
    let reply = redis.scripts.eval(&redis.pool, ScriptName::MatchEdit, keys, argv).await?;
    let outcome = parse(&reply)?;
    if let Outcome::Edited { .. } = outcome {
        crate::matches::copy_to_shards(redis, args.mid).await?;
        if args.start_at.is_some() || args.new_kind.is_some() {
            for market in args.markets {
                crate::matches::copy_to_shards(redis, *market).await?;
            }
        }
    }
    Ok(outcome)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (2, 0) => Outcome::Edited { ver: r.uint(1)? },
        (3, 1) => {
            let state = MatchState::from_code(r.int(1)?).ok_or_else(|| r.unexpected())?;
            let why = match r.string(2)?.as_str() {
                "closed" => Refusal::Closed,
                "started" => Refusal::Started,
                "opened" => Refusal::Opened,
                _ => return Err(r.unexpected()),
            };
            Outcome::NotEditable { state, why }
        }
        (1, 2) => Outcome::NotFound,
        _ => return Err(r.unexpected()),
    })
}
