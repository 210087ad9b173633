//! 401 place bet `{ match_id, market_id?, option, stake, odds_ver, req_id }` → `{ bet_id, balance, odds }`.
//! Everything happens in `place_bet.lua`, atomically: a repeated `req_id` answers the first reply
//! and debits nothing; a stale `odds_ver` gets 1005 with the current odds; a banned user's bet
//! (one queued before the ban) gets 1009; a stake whose potential payout would take the balance
//! past [`protocol::error_code::MAX_BALANCE`] gets 1006 with the largest stake that fits.

use common::store::place_bet::{self, Outcome};
use protocol::ErrorCode;
use protocol::body::{BetPlaced, OptionView, PlaceBet};
use protocol::error_code::MAX_BALANCE;
use protocol::fields::BET_REQ_ID_MAX;

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let bet: PlaceBet = req.body()?;
    let req_id = bet.req_id.as_key();
    if req_id.is_empty() || req_id.len() > BET_REQ_ID_MAX {
        return Err(AppError::invalid_body(format!("req_id: 1 to {BET_REQ_ID_MAX} characters")));
    }
    // No stake past the maximum balance can ever be placed (place_bet.lua refuses it as bad input).
    if bet.stake <= 0 || bet.stake > MAX_BALANCE {
        return Err(AppError::new(
            ErrorCode::StakeOutOfRange,
            format!("stake must be a positive number of coins, at most {MAX_BALANCE}"),
        ));
    }
    let bid = ctx.bet_ids.next(&ctx.redis, common::shards::of_uid(uid)).await?;
    let args = place_bet::Args {
        uid,
        match_id: bet.match_id,
        mid: bet.market_id.unwrap_or(bet.match_id),
        option: &bet.option,
        stake: bet.stake,
        odds_ver: bet.odds_ver,
        req_id: &req_id,
        bid,
        now_ms: common::time::now_ms(),
    };
    match place_bet::call(&ctx.redis, &args).await? {
        Outcome::Placed { bid, balance, odds, repeated } => {
            if !repeated {
                metrics::counter!("matchday_bets_placed_total").increment(1);
                metrics::counter!("matchday_bets_volume_total").increment(bet.stake as u64);
            }
            Reply::new(&BetPlaced { bet_id: bid, balance, odds })
        }
        Outcome::Banned => Err(AppError::code(ErrorCode::AccountBanned)),
        Outcome::NotOpen { .. } => Err(AppError::code(ErrorCode::MatchNotOpen)),
        Outcome::OddsChanged { odds_ver, options_json } => {
            let options: Vec<OptionView> = serde_json::from_str(&options_json)
                .map_err(|e| AppError::internal(format!("place_bet.lua: bad options: {e}")))?;
            Err(AppError::code(ErrorCode::OddsChanged)
                .with_details(serde_json::json!({ "odds_ver": odds_ver, "options": options })))
        }
        Outcome::StakeOutOfRange { min, max } => {
            Err(AppError::new(ErrorCode::StakeOutOfRange, format!("stake must be between {min} and {max}")))
        }
        Outcome::InsufficientBalance { balance } => {
            Err(AppError::new(ErrorCode::InsufficientBalance, format!("insufficient balance: {balance}")))
        }
        Outcome::NoMatch => Err(AppError::new(ErrorCode::NotFound, "no such match")),
        Outcome::NoMarket => Err(AppError::new(ErrorCode::NotFound, "no such market in this match")),
        Outcome::NoOption => Err(AppError::new(ErrorCode::NotFound, "no such option")),
    }
}
