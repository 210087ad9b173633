//! One file per message handler, and the dispatch table that maps msg ids to them.

use std::collections::HashMap;

use futures_util::future::BoxFuture;
use protocol::{MsgId, msg};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

mod balance;
mod bet_detail;
mod change_password;
mod create_order;
mod delete_account;
mod guest_login;
mod leaderboard;
mod ledger;
mod link_account;
mod list_matches;
mod list_notices;
mod list_orders;
mod list_sessions;
mod login;
mod logout;
mod mark_notices_read;
mod match_detail;
mod my_bets;
mod page;
mod ping;
mod place_bet;
mod profile;
mod register;
mod register_device;
mod reset_password;
mod resume;
mod revoke_session;
mod set_profile;
mod subscribe_match;
mod upload_avatar;
mod watch_match;

/// A handler: an async function of the context and the request.
pub type Handler = for<'a> fn(&'a Ctx, &'a Request) -> BoxFuture<'a, Result<Reply, AppError>>;

/// The dispatch table. A msg id not in it is answered with code 3.
pub const TABLE: &[(MsgId, Handler)] = &[
    (msg::PING, |c, r| Box::pin(ping::handle(c, r))),
    (msg::REGISTER, |c, r| Box::pin(register::handle(c, r))),
    (msg::LOGIN, |c, r| Box::pin(login::handle(c, r))),
    (msg::RESUME, |c, r| Box::pin(resume::handle(c, r))),
    (msg::LOGOUT, |c, r| Box::pin(logout::handle(c, r))),
    (msg::GUEST_LOGIN, |c, r| Box::pin(guest_login::handle(c, r))),
    (msg::RESET_PASSWORD, |c, r| Box::pin(reset_password::handle(c, r))),
    (msg::PROFILE, |c, r| Box::pin(profile::handle(c, r))),
    (msg::BALANCE, |c, r| Box::pin(balance::handle(c, r))),
    (msg::LEDGER, |c, r| Box::pin(ledger::handle(c, r))),
    (msg::CHANGE_PASSWORD, |c, r| Box::pin(change_password::handle(c, r))),
    (msg::SET_PROFILE, |c, r| Box::pin(set_profile::handle(c, r))),
    (msg::UPLOAD_AVATAR, |c, r| Box::pin(upload_avatar::handle(c, r))),
    (msg::LIST_SESSIONS, |c, r| Box::pin(list_sessions::handle(c, r))),
    (msg::REVOKE_SESSION, |c, r| Box::pin(revoke_session::handle(c, r))),
    (msg::LINK_ACCOUNT, |c, r| Box::pin(link_account::handle(c, r))),
    (msg::DELETE_ACCOUNT, |c, r| Box::pin(delete_account::handle(c, r))),
    (msg::REGISTER_DEVICE, |c, r| Box::pin(register_device::handle(c, r))),
    (msg::CREATE_ORDER, |c, r| Box::pin(create_order::handle(c, r))),
    (msg::LIST_ORDERS, |c, r| Box::pin(list_orders::handle(c, r))),
    (msg::LIST_NOTICES, |c, r| Box::pin(list_notices::handle(c, r))),
    (msg::MARK_NOTICES_READ, |c, r| Box::pin(mark_notices_read::handle(c, r))),
    (msg::LIST_MATCHES, |c, r| Box::pin(list_matches::handle(c, r))),
    (msg::MATCH_DETAIL, |c, r| Box::pin(match_detail::handle(c, r))),
    (msg::WATCH_MATCH, |c, r| Box::pin(watch_match::handle(c, r))),
    (msg::SUBSCRIBE_MATCH, |c, r| Box::pin(subscribe_match::handle(c, r))),
    (msg::PLACE_BET, |c, r| Box::pin(place_bet::handle(c, r))),
    (msg::MY_BETS, |c, r| Box::pin(my_bets::handle(c, r))),
    (msg::BET_DETAIL, |c, r| Box::pin(bet_detail::handle(c, r))),
    (msg::LEADERBOARD, |c, r| Box::pin(leaderboard::handle(c, r))),
];

/// The dispatch table a process runs with: [`TABLE`], plus any handlers its embedder adds
/// (a later entry for the same id wins).
#[derive(Clone, Debug)]
pub struct Dispatch {
    table: HashMap<MsgId, Handler>,
}

impl Default for Dispatch {
    fn default() -> Self {
        Dispatch { table: TABLE.iter().copied().collect() }
    }
}

impl Dispatch {
    /// Adds or replaces the handler of `id`.
    pub fn with(mut self, id: MsgId, handler: Handler) -> Dispatch {
        self.table.insert(id, handler);
        self
    }

    /// The handler for `id`, if any.
    pub fn lookup(&self, id: MsgId) -> Option<Handler> {
        self.table.get(&id).copied()
    }
}

/// Reads a user's balance (0 for a wallet that does not exist yet).
pub(crate) async fn balance_of(ctx: &Ctx, uid: u64) -> Result<i64, AppError> {
    use fred::prelude::HashesInterface;
    let balance: Option<i64> = ctx.redis.pool.hget(ctx.redis.keys.wallet(uid), "balance").await?;
    Ok(balance.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_handled_id_is_a_request_in_the_catalogue_and_unique() {
        for (i, (id, _)) in TABLE.iter().enumerate() {
            let info = msg::info(*id).expect("handled ids are in the catalogue");
            assert_eq!(info.direction, msg::Direction::Request, "{}", info.name);
            assert!(TABLE[i + 1..].iter().all(|(other, _)| other != id), "{} twice", info.name);
        }
        let dispatch = Dispatch::default();
        assert!(dispatch.lookup(msg::PING).is_some());
        assert!(dispatch.lookup(msg::PUSH_BALANCE).is_none());
    }
}
