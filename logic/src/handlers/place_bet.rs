//! 401 place bet `{ match_id, option, stake, odds_ver, req_id }` → `{ bet_id, balance, odds }`.
//! Everything happens in `place_bet.lua`, atomically: a repeated `req_id` answers the first reply
//! and debits nothing; a stale `odds_ver` gets 1005 with the current odds.

use common::scripts::ScriptName;
use protocol::ErrorCode;
use protocol::body::{BetPlaced, OptionView, PlaceBet};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let bet: PlaceBet = req.body()?;
    let req_id = bet.req_id.as_key();
    if req_id.is_empty() || req_id.len() > 64 {
        return Err(AppError::invalid_body("req_id: 1 to 64 characters"));
    }
    if bet.stake <= 0 {
        return Err(AppError::new(ErrorCode::StakeOutOfRange, "stake must be a positive number of coins"));
    }
    let k = &ctx.redis.keys;
    let bid = ctx.bet_ids.next(&ctx.redis).await?;
    let now = common::time::now_ms();
    let day = common::time::day_of(now);
    let keys = k.place_bet(uid, bet.match_id, bid, day);
    let argv: Vec<String> = vec![
        uid.to_string(),
        bet.match_id.to_string(),
        bet.option.clone(),
        bet.stake.to_string(),
        bet.odds_ver.to_string(),
        req_id,
        bid.to_string(),
        now.to_string(),
    ];
    let reply: Vec<fred::types::Value> =
        ctx.redis.scripts.call(&ctx.redis.pool, ScriptName::PlaceBet, keys, argv).await?;
    let int = |i: usize| {
        reply
            .get(i)
            .and_then(|v| v.as_i64())
            .ok_or_else(|| AppError::internal(format!("place_bet.lua answered {reply:?}")))
    };
    match int(0)? {
        0 => {
            let placed = BetPlaced { bet_id: int(1)? as u64, balance: int(2)?, odds: int(3)? };
            if int(4)? == 0 {
                metrics::counter!("matchday_bets_placed_total").increment(1);
                metrics::counter!("matchday_bets_volume_total").increment(bet.stake as u64);
            }
            Reply::new(&placed)
        }
        1004 => Err(AppError::code(ErrorCode::MatchNotOpen)),
        1005 => {
            let options: Vec<OptionView> = reply
                .get(2)
                .and_then(|v| v.as_string())
                .and_then(|json| serde_json::from_str(&json).ok())
                .ok_or_else(|| AppError::internal("place_bet.lua: bad options"))?;
            Err(AppError::code(ErrorCode::OddsChanged)
                .with_details(serde_json::json!({ "odds_ver": int(1)?, "options": options })))
        }
        1006 => {
            Err(AppError::new(ErrorCode::StakeOutOfRange, format!("stake must be between {} and {}", int(1)?, int(2)?)))
        }
        1003 => Err(AppError::new(ErrorCode::InsufficientBalance, format!("insufficient balance: {}", int(1)?))),
        1007 => {
            let what = reply.get(1).and_then(|v| v.as_string()).unwrap_or_default();
            Err(AppError::new(ErrorCode::NotFound, format!("no such {what}")))
        }
        other => Err(AppError::internal(format!("place_bet.lua answered code {other}"))),
    }
}
