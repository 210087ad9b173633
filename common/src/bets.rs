//! Bets as stored in Redis, in the bettor's shard:
//! - `user:{uid}:bets`, a hash bid → the bet's latest change record (the "placed" record of
//!   place_bet.lua, replaced by the "settled" record of settle_batch.lua: `crate::records`), read
//!   back in the client `bet` shape by [`Stored`];
//! - `match:{mid}:open`, a hash bid → the bet's terms ([`Terms`]): what settle_batch.lua needs to
//!   settle it without reading the bet, and resultcenter's work list.

use fred::prelude::*;
use protocol::body::BetView;
use serde::{Deserialize, Serialize};

use crate::Redis;

/// A bet as its record in `user:{uid}:bets` holds it: the fields of a "placed" or a "settled"
/// record (`crate::records`) that say what the bet is and how it ended. Other fields of the record
/// are skipped; restore writes just these.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    /// "placed" (open) or "settled".
    pub table: String,
    /// The bet id.
    pub key: u64,
    pub uid: u64,
    pub match_id: u64,
    /// The market (absent in records made before markets: the match's default market).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_id: Option<u64>,
    pub option: String,
    pub stake: i64,
    pub odds: i64,
    pub req_id: String,
    /// A placed record: when the bet was placed; a settled record: when it was settled.
    pub ts: u64,
    /// A settled record: when the bet was placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placed_at: Option<u64>,
    /// A settled record: won, lost or refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// A settled record: what it paid (0 for a lost bet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout: Option<i64>,
}

impl Stored {
    /// Reads a record of `user:{uid}:bets`.
    pub fn decode(bytes: &[u8]) -> Result<Stored, String> {
        let s: Stored = rmp_serde::from_slice(bytes).map_err(|e| format!("not a bet record: {e}"))?;
        match (s.table.as_str(), &s.result) {
            (crate::records::PLACED, None) | (crate::records::SETTLED, Some(_)) => Ok(s),
            _ => Err(format!("bet {}: a {:?} record without its state", s.key, s.table)),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        rmp_serde::to_vec_named(self).unwrap_or_default()
    }

    /// The market bet on (the match's id for its default market).
    pub fn market(&self) -> u64 {
        self.market_id.unwrap_or(self.match_id)
    }

    /// open, won, lost or refunded.
    pub fn state(&self) -> &str {
        self.result.as_deref().unwrap_or("open")
    }

    /// When the bet was placed, Unix ms.
    pub fn placed_at(&self) -> u64 {
        self.placed_at.unwrap_or(self.ts)
    }

    /// When it was settled (None while open).
    pub fn settled_at(&self) -> Option<u64> {
        self.result.as_ref().map(|_| self.ts)
    }

    /// The client view.
    pub fn view(&self) -> BetView {
        BetView {
            bet_id: self.key,
            match_id: self.match_id,
            market_id: self.market(),
            option: self.option.clone(),
            stake: self.stake,
            odds: self.odds,
            state: self.state().to_owned(),
            payout: self.payout,
            ts: self.placed_at(),
        }
    }

    /// Its terms, as `match:{mid}:open` holds them while it is open.
    pub fn terms(&self) -> Terms {
        Terms {
            uid: self.uid,
            stake: self.stake,
            odds: self.odds,
            ts: self.placed_at(),
            option: self.option.clone(),
            req_id: self.req_id.clone(),
        }
    }
}

/// Reading a user's bets failed: Redis did not answer, or a record did not read as a bet.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Redis(#[from] fred::error::Error),
    #[error("{0}")]
    Bad(String),
}

/// Bet `bid` of user `uid`, if the user has it.
pub async fn of_user(redis: &Redis, uid: u64, bid: u64) -> Result<Option<Stored>, ReadError> {
    let raw: Option<Vec<u8>> = redis.pool.hget(redis.keys.user_bets(uid), bid).await?;
    raw.map(|b| Stored::decode(&b)).transpose().map_err(ReadError::Bad)
}

/// Every bet of user `uid`, newest first (by the time placed, then id).
pub async fn all_of_user(redis: &Redis, uid: u64) -> Result<Vec<Stored>, ReadError> {
    let raw: Vec<(String, Vec<u8>)> = redis.pool.hgetall(redis.keys.user_bets(uid)).await?;
    newest_first(raw.iter().map(|(_, b)| b.as_slice()))
}

/// The bets of `records` (raw values of `user:{uid}:bets`), newest first.
fn newest_first<'a>(records: impl Iterator<Item = &'a [u8]>) -> Result<Vec<Stored>, ReadError> {
    let mut bets = records.map(Stored::decode).collect::<Result<Vec<_>, _>>().map_err(ReadError::Bad)?;
    bets.sort_by_key(|b| std::cmp::Reverse((b.placed_at(), b.key)));
    Ok(bets)
}

/// An open bet's terms, the value of its field in `match:{mid}:open`:
/// `uid:odds:stake:ts:{len(option)}:{option}{req_id}` (the option's length first, so neither it nor
/// the request id needs escaping). place_bet.lua writes it (its binding packs all but `uid` and
/// `odds`: [`Terms::suffix`]); settle_batch.lua reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terms {
    pub uid: u64,
    pub stake: i64,
    pub odds: i64,
    /// When it was placed, Unix ms.
    pub ts: u64,
    pub option: String,
    pub req_id: String,
}

impl Terms {
    /// What follows `uid:odds:` — known before place_bet.lua runs.
    pub fn suffix(stake: i64, ts: u64, option: &str, req_id: &str) -> String {
        format!("{stake}:{ts}:{}:{option}{req_id}", option.len())
    }

    pub fn format(&self) -> String {
        format!("{}:{}:{}", self.uid, self.odds, Terms::suffix(self.stake, self.ts, &self.option, &self.req_id))
    }

    pub fn parse(value: &str) -> Option<Terms> {
        let mut parts = value.splitn(6, ':');
        let mut num = || parts.next()?.parse::<u64>().ok();
        let (uid, odds, stake, ts, len) = (num()?, num()?, num()?, num()?, num()? as usize);
        let rest = parts.next()?;
        let (option, req_id) = (rest.get(..len)?, rest.get(len..)?);
        Some(Terms {
            uid,
            stake: i64::try_from(stake).ok()?,
            odds: i64::try_from(odds).ok()?,
            ts,
            option: option.to_owned(),
            req_id: req_id.to_owned(),
        })
    }
}

/// A page of match `mid`'s open bets in shard `shard` (`{s}:match:{mid}:open`, hash bid → terms)
/// from `cursor` (0 to start), by HSCAN: the bets and the cursor to go on from (0: the walk is
/// over). A walk that deletes what it settled still sees every bet that stayed open throughout at
/// least once.
pub async fn open_page(
    redis: &crate::Redis,
    shard: u16,
    mid: u64,
    cursor: u64,
    count: u64,
) -> Result<(Vec<crate::store::settle_batch::OpenBet>, u64), fred::error::Error> {
    use fred::types::{ClusterHash, CustomCommand};
    let cmd = CustomCommand::new_static("HSCAN", ClusterHash::FirstKey, false);
    let key = redis.keys.match_open(shard, mid);
    let args: Vec<Value> = vec![key.into(), cursor.to_string().into(), "COUNT".into(), count.to_string().into()];
    let reply: Value = redis.pool.custom(cmd, args).await?;
    let mut parts = match reply {
        Value::Array(parts) if parts.len() == 2 => parts.into_iter(),
        other => return Err(unexpected("HSCAN", &other)),
    };
    let next: u64 = parts.next().and_then(|c| c.convert::<String>().ok()).and_then(|c| c.parse().ok()).unwrap_or(0);
    let flat: Vec<String> = parts.next().map(|v| v.convert()).transpose()?.unwrap_or_default();
    Ok((pairs(&flat), next))
}

/// Open bets from a flat [bid, terms, bid, terms, ...]; entries that are not a bet id and its
/// terms are skipped.
fn pairs(flat: &[String]) -> Vec<crate::store::settle_batch::OpenBet> {
    flat.chunks_exact(2)
        .filter_map(|p| {
            Some(crate::store::settle_batch::OpenBet { bid: p[0].parse().ok()?, uid: Terms::parse(&p[1])?.uid })
        })
        .collect()
}

fn unexpected(command: &str, reply: &fred::types::Value) -> fred::error::Error {
    fred::error::Error::new(fred::error::ErrorKind::Parse, format!("{command} answered {reply:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::settle_batch::OpenBet;

    fn terms(uid: u64, option: &str, req_id: &str) -> Terms {
        Terms { uid, stake: 10, odds: 1900, ts: 1_700_000_000_000, option: option.into(), req_id: req_id.into() }
    }

    #[test]
    fn terms_read_back_what_they_wrote_whatever_the_option_and_request_id_hold() {
        for (option, req_id) in [("a", "r1"), ("x:y", "::"), ("1", ""), ("é", "12:3:x")] {
            let t = terms(7, option, req_id);
            assert_eq!(Terms::parse(&t.format()), Some(t.clone()), "{option:?} {req_id:?}");
        }
        assert_eq!(terms(7, "ab", "q").format(), "7:1900:10:1700000000000:2:abq");
        assert_eq!(Terms::parse("7:1900:10:1"), None);
        assert_eq!(Terms::parse("7:1900:10:1:9:short"), None);
    }

    #[test]
    fn open_bets_read_from_field_value_pairs_skipping_what_is_not_a_bet() {
        let (a, b) = (terms(5, "a", "r").format(), terms(6, "b", "s").format());
        let flat: Vec<String> = ["12", &a, "x", &b, "13", &b, "14", "6"].iter().map(|s| s.to_string()).collect();
        assert_eq!(pairs(&flat), vec![OpenBet { bid: 12, uid: 5 }, OpenBet { bid: 13, uid: 6 }]);
        assert_eq!(pairs(&[]), Vec::<OpenBet>::new());
    }

    #[test]
    fn a_stored_bet_reads_placed_and_settled_records_and_refuses_a_settled_one_without_result() {
        let open = Stored {
            table: "placed".into(),
            key: 3,
            uid: 5,
            match_id: 9,
            market_id: Some(11),
            option: "a".into(),
            stake: 10,
            odds: 1900,
            req_id: "r".into(),
            ts: 100,
            placed_at: None,
            result: None,
            payout: None,
        };
        let back = Stored::decode(&open.encode()).unwrap();
        assert_eq!((back.state(), back.placed_at(), back.settled_at()), ("open", 100, None));
        assert_eq!((back.market(), back.view().market_id), (11, 11));
        let before_markets = Stored { market_id: None, ..open.clone() };
        assert_eq!(Stored::decode(&before_markets.encode()).unwrap().market(), 9, "the match's default market");
        let won = Stored {
            table: "settled".into(),
            ts: 200,
            placed_at: Some(100),
            result: Some("won".into()),
            payout: Some(19),
            ..open.clone()
        };
        let back = Stored::decode(&won.encode()).unwrap();
        assert_eq!((back.state(), back.placed_at(), back.settled_at()), ("won", 100, Some(200)));
        assert_eq!(back.view().payout, Some(19));
        assert_eq!(back.terms(), open.terms());
        let broken = Stored { result: None, ..won };
        assert!(Stored::decode(&broken.encode()).is_err());
        let sorted = newest_first([open.encode(), back.encode()].iter().map(|b| b.as_slice())).unwrap();
        assert_eq!(sorted.len(), 2);
    }
}
