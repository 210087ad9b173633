//! Change records from `q:outbox:{…}` (MessagePack `{ts, table, key, ver, fields}`, written by the Lua
//! scripts and by gm's audit; a bet's flat "placed" and "settled" records, `common::records`)
//! decoded into typed rows. A record that cannot be decoded is poison:
//! it goes to the dead list with the reason.

use std::collections::HashMap;

use common::records;
use serde::Deserialize;
use serde_json::Value;

/// One change record as the scripts write it.
#[derive(Debug, Deserialize)]
struct Record {
    #[serde(default)]
    ts: Option<u64>,
    table: String,
    key: Value,
    #[serde(default)]
    ver: u64,
    #[serde(default)]
    fields: HashMap<String, Value>,
}

/// A row for one table.
#[derive(Clone, Debug, PartialEq)]
pub enum Row {
    User {
        id: u64,
        username: String,
        pw: String,
        created_at: u64,
        /// A guest's device digest (105), until it links a username (209).
        device: Option<String>,
        /// When the account was closed (210).
        deleted_at: Option<u64>,
        ver: u64,
    },
    Wallet {
        uid: u64,
        balance: i64,
        ver: u64,
    },
    /// A user's ban state (user_ban.lua, user_unban.lua): `ver` is the user's ban version.
    UserBan {
        uid: u64,
        banned: bool,
        reason: String,
        by: String,
        at: u64,
        ver: u64,
    },
    Ledger {
        id: String,
        uid: u64,
        delta: i64,
        balance: i64,
        reason: String,
        reference: String,
        ts: u64,
    },
    /// A personal staff account (staff_set.lua).
    Staff {
        name: String,
        role: String,
        pw: String,
        totp_secret: String,
        disabled: bool,
        created_by: String,
        created_at: u64,
        updated_at: u64,
        ver: u64,
    },
    /// One event of an account's history (never updated).
    AccountEvent {
        id: String,
        uid: u64,
        kind: String,
        detail: String,
        ts: u64,
    },
    Match(MatchRow),
    Bet(BetRow),
    /// An idempotent credit: a paid order ("payment") or a staff grant with a request id ("grant").
    Credit {
        kind: CreditKind,
        id: String,
        uid: u64,
        amount: i64,
        balance: i64,
        ts: u64,
    },
    /// What a player shows others (profile_set.lua): `ver` is the profile's own version.
    Profile {
        uid: u64,
        nickname: String,
        avatar: String,
        ver: u64,
    },
    /// A player's deposit order (order_create.lua; completed by wallet_change.lua).
    Order {
        id: String,
        uid: u64,
        amount: i64,
        currency: String,
        channel: String,
        created_by: String,
        state: String,
        created_at: u64,
        paid_at: Option<u64>,
        balance: Option<i64>,
        ver: u64,
    },
    Audit {
        id: String,
        who: String,
        role: String,
        action: String,
        target: String,
        payload: String,
        ts: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreditKind {
    Payment,
    Grant,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MatchRow {
    pub id: u64,
    /// A market's match (0 for a match).
    pub parent_id: u64,
    /// The market's name ("" for a match's default market left unnamed).
    pub market: String,
    /// Where the match is streamed ("" for none).
    pub stream_url: String,
    pub kind: String,
    pub title: String,
    pub team_a: String,
    pub team_b: String,
    pub start_at: u64,
    pub state: i64,
    pub live: i64,
    pub options: String,
    pub odds_ver: u64,
    pub min_stake: i64,
    pub max_stake: i64,
    pub result: String,
    pub external_id: String,
    pub settled: u64,
    pub paid: i64,
    pub created_at: u64,
    pub updated_at: u64,
    pub ver: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BetRow {
    pub id: u64,
    pub uid: u64,
    pub match_id: u64,
    /// The market (the match's id for its default market).
    pub market_id: u64,
    pub option: String,
    pub stake: i64,
    pub odds: i64,
    pub state: String,
    pub payout: Option<i64>,
    pub req_id: String,
    pub ts: u64,
    pub settled_at: Option<u64>,
    pub ver: u64,
}

/// Reads fields that may arrive as numbers or as numeric strings (Redis hash snapshots).
struct Fields<'a>(&'a HashMap<String, Value>);

impl Fields<'_> {
    fn str(&self, k: &str) -> Result<String, String> {
        match self.0.get(k) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(other) => Err(format!("field {k} is {other}, not a string")),
            None => Err(format!("field {k} is missing")),
        }
    }

    fn str_or(&self, k: &str, default: &str) -> Result<String, String> {
        if self.0.contains_key(k) { self.str(k) } else { Ok(default.to_owned()) }
    }

    fn i64(&self, k: &str) -> Result<i64, String> {
        match self.0.get(k) {
            Some(Value::Number(n)) => n.as_i64().ok_or_else(|| format!("field {k} = {n} is not an integer")),
            Some(Value::String(s)) => s.parse().map_err(|_| format!("field {k} = {s:?} is not an integer")),
            Some(other) => Err(format!("field {k} is {other}, not an integer")),
            None => Err(format!("field {k} is missing")),
        }
    }

    fn u64(&self, k: &str) -> Result<u64, String> {
        let v = self.i64(k)?;
        u64::try_from(v).map_err(|_| format!("field {k} = {v} is negative"))
    }

    fn opt_str(&self, k: &str) -> Result<Option<String>, String> {
        if self.0.contains_key(k) { self.str(k).map(Some) } else { Ok(None) }
    }

    fn opt_i64(&self, k: &str) -> Result<Option<i64>, String> {
        if self.0.contains_key(k) { self.i64(k).map(Some) } else { Ok(None) }
    }
}

fn key_str(key: &Value) -> Result<String, String> {
    match key {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("key {other} is neither a string nor a number")),
    }
}

fn key_u64(key: &Value) -> Result<u64, String> {
    key_str(key)?.parse().map_err(|_| format!("key {key} is not an id"))
}

/// Decodes one outbox record into the rows it writes (a bet's "placed" and "settled" records are
/// several rows: `common::records`); Err says why it can never be written.
pub fn decode(bytes: &[u8]) -> Result<Vec<Row>, String> {
    let r: Record = rmp_serde::from_slice(bytes).map_err(|e| format!("not a change record: {e}"))?;
    match r.table.as_str() {
        records::PLACED => placed(bytes),
        records::SETTLED => settled(bytes),
        _ => one(r).map(|row| vec![row]),
    }
}

/// The bet (open, ver 1), the wallet after the stake and the stake's ledger entry.
fn placed(bytes: &[u8]) -> Result<Vec<Row>, String> {
    let p: records::Placed = rmp_serde::from_slice(bytes).map_err(|e| format!("not a placed record: {e}"))?;
    Ok(vec![
        Row::Bet(BetRow {
            id: p.key,
            uid: p.uid,
            market_id: p.market_id.unwrap_or(p.match_id),
            match_id: p.match_id,
            option: p.option,
            stake: p.stake,
            odds: p.odds,
            state: "open".to_owned(),
            payout: None,
            req_id: p.req_id,
            ts: p.ts,
            settled_at: None,
            ver: 1,
        }),
        Row::Wallet { uid: p.uid, balance: p.balance, ver: p.wver },
        Row::Ledger {
            id: p.id,
            uid: p.uid,
            delta: p.delta,
            balance: p.balance,
            reason: "bet".to_owned(),
            reference: p.reference,
            ts: p.ts,
        },
    ])
}

/// The settled bet; with a payout also the wallet after the credit and the credit's ledger entry.
fn settled(bytes: &[u8]) -> Result<Vec<Row>, String> {
    let s: records::Settled = rmp_serde::from_slice(bytes).map_err(|e| format!("not a settled record: {e}"))?;
    let mut rows = Vec::with_capacity(3);
    if s.payout > 0 {
        if s.wver == 0 || s.id.is_empty() || s.reason.is_empty() {
            return Err(format!(
                "settled record of bet {}: a payout without its wallet version and ledger entry",
                s.key
            ));
        }
        rows.push(Row::Wallet { uid: s.uid, balance: s.balance, ver: s.wver });
        rows.push(Row::Ledger {
            id: s.id,
            uid: s.uid,
            delta: s.payout,
            balance: s.balance,
            reason: s.reason,
            reference: s.key.to_string(),
            ts: s.ts,
        });
    }
    rows.insert(
        0,
        Row::Bet(BetRow {
            id: s.key,
            uid: s.uid,
            market_id: s.market_id.unwrap_or(s.match_id),
            match_id: s.match_id,
            option: s.option,
            stake: s.stake,
            odds: s.odds,
            state: s.result,
            payout: Some(s.payout),
            req_id: s.req_id,
            ts: s.placed_at,
            settled_at: Some(s.ts),
            ver: s.ver,
        }),
    );
    Ok(rows)
}

/// A generic record `{ts, table, key, ver, fields}`: one row.
fn one(r: Record) -> Result<Row, String> {
    let f = Fields(&r.fields);
    let ts = r.ts.unwrap_or(0);
    Ok(match r.table.as_str() {
        "user" => Row::User {
            id: key_u64(&r.key)?,
            username: f.str("username")?,
            pw: f.str("pw")?,
            created_at: f.u64("created_at")?,
            device: f.opt_str("device")?,
            deleted_at: f.opt_i64("deleted_at")?.map(|v| v as u64),
            ver: r.ver,
        },
        "wallet" => Row::Wallet { uid: key_u64(&r.key)?, balance: f.i64("balance")?, ver: r.ver },
        "staff" => Row::Staff {
            name: key_str(&r.key)?,
            role: f.str("role")?,
            pw: f.str("pw")?,
            totp_secret: f.str("totp_secret")?,
            disabled: f.i64("disabled")? != 0,
            created_by: f.str_or("created_by", "")?,
            created_at: f.u64("created_at")?,
            updated_at: f.u64("updated_at")?,
            ver: r.ver,
        },
        "profile" => Row::Profile {
            uid: key_u64(&r.key)?,
            nickname: f.str_or("nickname", "")?,
            avatar: f.str_or("avatar", "")?,
            ver: r.ver,
        },
        "order" => Row::Order {
            id: key_str(&r.key)?,
            uid: f.u64("uid")?,
            amount: f.i64("amount")?,
            currency: f.str_or("currency", "")?,
            channel: f.str("channel")?,
            created_by: f.str_or("created_by", "")?,
            state: f.str("state")?,
            created_at: f.u64("created_at")?,
            paid_at: f.opt_i64("paid_at")?.map(|v| v as u64),
            balance: f.opt_i64("balance")?,
            ver: r.ver,
        },
        "user_ban" => Row::UserBan {
            uid: key_u64(&r.key)?,
            banned: f.i64("banned")? != 0,
            reason: f.str_or("reason", "")?,
            by: f.str("by")?,
            at: f.u64("at")?,
            ver: r.ver,
        },
        "ledger" => Row::Ledger {
            id: key_str(&r.key)?,
            uid: f.u64("uid")?,
            delta: f.i64("delta")?,
            balance: f.i64("balance")?,
            reason: f.str("reason")?,
            reference: f.str_or("ref", "")?,
            ts: f.u64("ts")?,
        },
        "match" => Row::Match(MatchRow {
            id: key_u64(&r.key)?,
            parent_id: match f.str_or("parent", "")?.as_str() {
                "" => 0,
                p => p.parse().map_err(|_| format!("field parent = {p:?} is not an id"))?,
            },
            market: f.str_or("market", "")?,
            stream_url: f.str_or("stream_url", "")?,
            kind: f.str("type")?,
            title: f.str("title")?,
            team_a: f.str("team_a")?,
            team_b: f.str("team_b")?,
            start_at: f.u64("start_at")?,
            state: f.i64("state")?,
            live: f.i64("live")?,
            options: f.str("options")?,
            odds_ver: f.u64("odds_ver")?,
            min_stake: f.i64("min_stake")?,
            max_stake: f.i64("max_stake")?,
            result: f.str_or("result", "")?,
            external_id: f.str_or("external_id", "")?,
            settled: f.opt_i64("settled")?.unwrap_or(0) as u64,
            paid: f.opt_i64("paid")?.unwrap_or(0),
            created_at: f.u64("created_at")?,
            updated_at: f.u64("updated_at")?,
            ver: r.ver,
        }),
        "bet" => Row::Bet(BetRow {
            id: key_u64(&r.key)?,
            uid: f.u64("uid")?,
            match_id: f.u64("match_id")?,
            market_id: match f.opt_i64("market_id")? {
                Some(m) => u64::try_from(m).map_err(|_| format!("field market_id = {m} is negative"))?,
                None => f.u64("match_id")?,
            },
            option: f.str("option")?,
            stake: f.i64("stake")?,
            odds: f.i64("odds")?,
            state: f.str("state")?,
            payout: f.opt_i64("payout")?,
            req_id: f.str_or("req_id", "")?,
            ts: f.u64("ts")?,
            settled_at: f.opt_i64("settled_at")?.map(|v| v as u64),
            ver: r.ver,
        }),
        "payment" | "grant" => Row::Credit {
            kind: if r.table == "payment" { CreditKind::Payment } else { CreditKind::Grant },
            id: key_str(&r.key)?,
            uid: f.u64("uid")?,
            amount: f.i64("amount")?,
            balance: f.i64("balance")?,
            ts: f.u64("ts")?,
        },
        "account_event" => Row::AccountEvent {
            id: key_str(&r.key)?,
            uid: f.u64("uid")?,
            kind: f.str("kind")?,
            detail: f.str_or("detail", "")?,
            ts: f.u64("ts").unwrap_or(ts),
        },
        "audit" => Row::Audit {
            id: key_str(&r.key)?,
            who: f.str("who")?,
            role: f.str("role")?,
            action: f.str("action")?,
            target: f.str("target")?,
            payload: f.str_or("payload", "")?,
            ts: f.u64("ts").unwrap_or(ts),
        },
        other => return Err(format!("unknown table {other:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pack(v: Value) -> Vec<u8> {
        rmp_serde::to_vec_named(&v).unwrap()
    }

    #[test]
    fn records_decode_from_numbers_or_strings_and_bad_ones_are_named() {
        let w = pack(json!({"ts": 5, "table": "wallet", "key": "7", "ver": 3, "fields": {"balance": 90}}));
        assert_eq!(decode(&w).unwrap(), vec![Row::Wallet { uid: 7, balance: 90, ver: 3 }]);
        let m = pack(json!({"table": "match", "key": "2", "ver": 4, "fields": {
            "type": "lol", "title": "t", "team_a": "a", "team_b": "b", "start_at": "10", "state": "2", "live": "0",
            "options": "[]", "odds_ver": "1", "min_stake": "1", "max_stake": "9", "created_at": "1", "updated_at": "2"}}));
        assert!(matches!(decode(&m).unwrap()[..], [Row::Match(MatchRow { id: 2, state: 2, ver: 4, .. })]));
        assert!(decode(b"junk").unwrap_err().contains("not a change record"));
        let unknown = pack(json!({"table": "nope", "key": 1, "ver": 1, "fields": {}}));
        assert!(decode(&unknown).unwrap_err().contains("unknown table"));
        let ban = pack(json!({"table": "user_ban", "key": "4", "ver": 2,
            "fields": {"banned": 1, "reason": "bots", "by": "otto", "at": 9}}));
        let row = Row::UserBan { uid: 4, banned: true, reason: "bots".into(), by: "otto".into(), at: 9, ver: 2 };
        assert_eq!(decode(&ban).unwrap(), vec![row]);
        let bad = pack(json!({"table": "wallet", "key": 1, "ver": 1, "fields": {"balance": "lots"}}));
        assert!(decode(&bad).unwrap_err().contains("balance"));
    }
}
