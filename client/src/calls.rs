//! Typed calls of [`Client`]: the session messages (register, login, resume, logout) and the
//! common reads and the bet. Each answers its typed reply body, or [`ClientError::Refused`] when
//! the server answered a non-zero code.

use protocol::body::{
    BalanceReply, BetPlaced, BetRef, BetView, Credentials, Empty, Items, ListMatches, MatchRef, MatchView, Page,
    PingReply, ProfileReply, RegisterReply, ResumeRequest, SessionReply, WatchMatch,
};
use protocol::msg;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ws::Session;
use crate::{Client, ClientError};

impl Client {
    /// Sends `id` and decodes a code-0 reply as `T`.
    pub async fn request<B: Serialize + ?Sized, T: DeserializeOwned>(
        &mut self,
        id: u16,
        body: &B,
    ) -> Result<T, ClientError> {
        self.call(id, body).await?.ok()?.decode()
    }

    /// 100: the server's clock, Unix ms.
    pub async fn ping(&mut self) -> Result<u64, ClientError> {
        Ok(self.request::<_, PingReply>(msg::PING, &Empty {}).await?.ts)
    }

    /// 101: registers an account; its user id.
    pub async fn register(&mut self, username: &str, password: &str) -> Result<u64, ClientError> {
        let creds = Credentials { username: username.into(), password: password.into() };
        Ok(self.request::<_, RegisterReply>(msg::REGISTER, &creds).await?.user_id)
    }

    /// 102: logs in; the session (user id and token) is kept ([`Client::session`]).
    pub async fn login(&mut self, username: &str, password: &str) -> Result<SessionReply, ClientError> {
        let creds = Credentials { username: username.into(), password: password.into() };
        let reply: SessionReply = self.request(msg::LOGIN, &creds).await?;
        self.session = Some(Session { user_id: reply.user_id, token: reply.token.clone() });
        Ok(reply)
    }

    /// 103: resumes the session of `token` on this connection. The reply carries a NEW token (the
    /// one sent no longer resumes); it is kept ([`Client::token`]). A gone session is
    /// `Refused` with code 1008: log in again.
    pub async fn resume(&mut self, token: &str) -> Result<SessionReply, ClientError> {
        let reply: SessionReply = self.request(msg::RESUME, &ResumeRequest { token: token.into() }).await?;
        self.session = Some(Session { user_id: reply.user_id, token: reply.token.clone() });
        Ok(reply)
    }

    /// 104: ends the session (its token no longer resumes).
    pub async fn logout(&mut self) -> Result<(), ClientError> {
        self.call(msg::LOGOUT, &Empty {}).await?.ok()?;
        self.session = None;
        Ok(())
    }

    /// 201: the caller's profile.
    pub async fn profile(&mut self) -> Result<ProfileReply, ClientError> {
        self.request(msg::PROFILE, &Empty {}).await
    }

    /// 202: the caller's balance.
    pub async fn balance(&mut self) -> Result<i64, ClientError> {
        Ok(self.request::<_, BalanceReply>(msg::BALANCE, &Empty {}).await?.balance)
    }

    /// 301: matches, filtered and paged.
    pub async fn list_matches(&mut self, filter: &ListMatches) -> Result<Vec<MatchView>, ClientError> {
        Ok(self.request::<_, Items<MatchView>>(msg::LIST_MATCHES, filter).await?.items)
    }

    /// 302: one match.
    pub async fn match_detail(&mut self, match_id: u64) -> Result<MatchView, ClientError> {
        self.request(msg::MATCH_DETAIL, &MatchRef { match_id }).await
    }

    /// 304: watches match `match_id` (or stops, `watch` false): its changes arrive as 905 pushes.
    pub async fn watch_match(&mut self, match_id: u64, watch: bool) -> Result<(), ClientError> {
        self.request::<_, Empty>(msg::WATCH_MATCH, &WatchMatch { match_id, watch }).await.map(|_| ())
    }

    /// 401: places a bet. Sending the same `req_id` again is safe: the bet is placed once. An odds
    /// change is `Refused` with code 1005, whose body decodes as `protocol::body::OddsChanged`.
    pub async fn place_bet(&mut self, bet: &protocol::body::PlaceBet) -> Result<BetPlaced, ClientError> {
        self.request(msg::PLACE_BET, bet).await
    }

    /// 402: the caller's bets, newest first.
    pub async fn my_bets(&mut self, page: &Page) -> Result<Vec<BetView>, ClientError> {
        Ok(self.request::<_, Items<BetView>>(msg::MY_BETS, page).await?.items)
    }

    /// 403: one bet of the caller's.
    pub async fn bet_detail(&mut self, bet_id: u64) -> Result<BetView, ClientError> {
        self.request(msg::BET_DETAIL, &BetRef { bet_id }).await
    }
}
