//! Typed bodies of the messages that exist so far. Requests ignore unknown fields (clients may be
//! newer than the server); missing or mistyped fields are a code 7.

use serde::{Deserialize, Serialize};

/// Body of every error reply, `{ "msg": "..." }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ErrorBody {
    pub msg: String,
}

/// An empty map `{}`: the body of ping, logout, profile and balance requests and of the logout reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Empty {}

/// 100 ping reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PingReply {
    pub ts: u64,
}

/// 101 register and 102 login request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// 101 register reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct RegisterReply {
    pub user_id: u64,
}

/// 103 resume request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ResumeRequest {
    pub token: String,
}

/// 102 login and 103 resume reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct SessionReply {
    pub user_id: u64,
    pub token: String,
    pub balance: i64,
}

/// 105 guest login: the device's id, a secret the app keeps on the device (16 to 128 characters of
/// a-z, A-Z, 0-9, '-', '_', '.', ':'). The reply is 102's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct GuestLogin {
    pub device_id: String,
}

/// 106 reset password: the account's username, the one-time code staff gave the player (gm
/// `POST /api/users/{id}/password-reset`), and the new password (6 to 128 characters).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ResetPassword {
    pub username: String,
    pub code: String,
    pub new_password: String,
}

/// 106 reply: the password is changed and every session of the account ended (`revoked`); log in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PasswordReset {
    pub user_id: u64,
    pub revoked: u32,
}

/// 201 profile reply (and 205's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ProfileReply {
    pub user_id: u64,
    pub username: String,
    pub created_at: u64,
    /// The name shown to others instead of the username (205), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// The player's picture (205), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    /// A guest account (105) that has no username and password yet (209 gives it one).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub guest: bool,
}

/// 205 set profile: a field given changes (an empty string clears it), a field left out stays.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct SetProfile {
    /// 1 to 24 characters, no control characters; shown on leaderboards instead of the username.
    #[serde(default)]
    pub nickname: Option<String>,
    /// An https URL under one of the deployment's `logic.avatar_url_prefixes`.
    #[serde(default)]
    pub avatar_url: Option<String>,
}

/// 202 balance reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct BalanceReply {
    pub balance: i64,
}

/// Paging of list requests: `offset` (default 0) and `limit` (default 20, capped by the server).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Page {
    #[serde(default)]
    pub offset: Option<u32>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// 203 ledger reply item: one balance change, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct LedgerItem {
    pub delta: i64,
    pub balance: i64,
    pub reason: String,
    #[serde(rename = "ref")]
    pub reference: String,
    pub ts: u64,
}

/// A page of items (203, 301, 402 replies).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[cfg_attr(feature = "schema", schemars(rename = "ItemsOf{T}"))]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// 301 list matches request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ListMatches {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub state: Option<i8>,
    #[serde(default)]
    pub offset: Option<u32>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// 304 watch a match (or stop): while watched, every change staff make to it is pushed (905).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct WatchMatch {
    pub match_id: u64,
    /// false stops watching; default true.
    #[serde(default = "yes")]
    pub watch: bool,
}

fn yes() -> bool {
    true
}

/// 305 subscribe to a match (or stop): be told when it opens for bets, starts and has its result
/// (906), on the WebSocket while online and through the app's push service while not (211).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct SubscribeMatch {
    pub match_id: u64,
    /// false unsubscribes; default true.
    #[serde(default = "yes")]
    pub subscribe: bool,
}

/// 305 reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Subscribed {
    pub match_id: u64,
    pub subscribed: bool,
}

/// 211 register a device for pushes while the app is closed: the push service's token of this
/// install (`platform`: fcm, apns or webpush), or with `remove` forget it (at logout).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct RegisterDevice {
    pub platform: String,
    pub token: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remove: bool,
}

/// 211 reply: how many devices the player has registered now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Devices {
    pub devices: u32,
}

/// 906 push: a match the player subscribed to (305) opened for bets (`open`), started (`start`)
/// or has its result (`result`, with the `winner` option's key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct MatchEventPush {
    pub match_id: u64,
    pub event: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub winner: Option<String>,
}

/// 302 match detail request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct MatchRef {
    pub match_id: u64,
}

/// A betting option as clients see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct OptionView {
    pub key: String,
    pub label: String,
    /// Decimal odds in thousandths (1850 = 1.85).
    pub odds: i64,
}

/// A match as clients see it (301 items, 302 reply).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct MatchView {
    pub match_id: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    #[cfg_attr(test, proptest(strategy = "proptest::collection::vec(proptest::arbitrary::any::<String>(), 0..4)"))]
    pub teams: Vec<String>,
    pub start_at: u64,
    pub state: i8,
    pub state_name: String,
    #[cfg_attr(test, proptest(strategy = "proptest::collection::vec(proptest::arbitrary::any::<OptionView>(), 0..8)"))]
    pub options: Vec<OptionView>,
    pub odds_ver: u64,
    pub min_stake: i64,
    pub max_stake: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// Where the match is streamed, when staff gave a link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_url: Option<String>,
    /// The match's version: every change staff make to it (an edit, a state, odds) raises it; a
    /// 905 push carries the match at its new version.
    #[serde(default)]
    pub ver: u64,
    /// Every market of the match, its default market first (`market_id` = `match_id`: the
    /// top-level options, odds, limits, state and result above are that market's). A market is
    /// opened, suspended, settled or voided on its own.
    #[serde(default)]
    #[cfg_attr(test, proptest(strategy = "proptest::collection::vec(proptest::arbitrary::any::<MarketView>(), 0..4)"))]
    pub markets: Vec<MarketView>,
}

/// One market of a match (match winner, map 1 winner, first blood, ...): its own options, odds
/// version, limits, state and result. A bet names it by `market_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct MarketView {
    pub market_id: u64,
    /// What the market is about, as staff named it ("Map 1 winner").
    pub name: String,
    /// A match state code: 2 open; 0 or 1 not open (suspended, or closed once the match started);
    /// 3 settling, 4 and 9 settled; 6, 7 and 8 void (every stake refunded).
    pub state: i8,
    pub state_name: String,
    #[cfg_attr(test, proptest(strategy = "proptest::collection::vec(proptest::arbitrary::any::<OptionView>(), 0..8)"))]
    pub options: Vec<OptionView>,
    pub odds_ver: u64,
    pub min_stake: i64,
    pub max_stake: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

/// A client's idempotency key: a string (a UUID, say) or a number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(untagged)]
pub enum ReqId {
    Number(u64),
    Text(String),
}

impl ReqId {
    pub fn as_key(&self) -> String {
        match self {
            ReqId::Number(n) => n.to_string(),
            ReqId::Text(s) => s.clone(),
        }
    }
}

/// 401 place bet request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PlaceBet {
    pub match_id: u64,
    /// The market of the match (a `market_id` of its `markets`); absent: the match's default
    /// market (`match_id` itself), as before markets existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_id: Option<u64>,
    pub option: String,
    pub stake: i64,
    /// The market's `odds_ver`.
    pub odds_ver: u64,
    pub req_id: ReqId,
}

/// 401 place bet reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct BetPlaced {
    pub bet_id: u64,
    pub balance: i64,
    /// The odds the bet was taken at.
    pub odds: i64,
}

/// 1005 odds changed: the error body carries the current odds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct OddsChanged {
    pub msg: String,
    pub odds_ver: u64,
    pub options: Vec<OptionView>,
}

/// 5 rate limited: the error body may say how long to wait.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct RateLimited {
    pub msg: String,
    /// Seconds to wait before trying again, when the server knows (logins, sign-ups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
}

/// 403 bet detail request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct BetRef {
    pub bet_id: u64,
}

/// A bet as its owner sees it (402 items, 403 reply).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct BetView {
    pub bet_id: u64,
    pub match_id: u64,
    /// The market bet on (`match_id` for the match's default market).
    pub market_id: u64,
    pub option: String,
    pub stake: i64,
    pub odds: i64,
    /// open, won, lost or refunded.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout: Option<i64>,
    pub ts: u64,
}

/// 901 push: one of the user's bets was settled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct BetSettledPush {
    pub bet_id: u64,
    pub match_id: u64,
    /// The market bet on (`match_id` for the match's default market).
    pub market_id: u64,
    /// won, lost or refunded.
    pub result: String,
    /// Coins credited by the settlement (0 for a lost bet).
    pub payout: i64,
    /// The balance after the credit.
    pub balance: i64,
}

/// 902 push: a match the user bet on changed state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct MatchStatePush {
    pub match_id: u64,
    /// The market whose state changed (`match_id`: the match's default market, whose state is the
    /// match's).
    pub market_id: u64,
    /// The new state code (the `state` of `match`, or of the market).
    pub state: i8,
}

/// 903 push: a staff notice (with its `notice_id`; it is on the board, 214), or a reminder that a
/// match the user bet on starts soon (then `match_id` names it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct AnnouncementPush {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_id: Option<u64>,
    /// The notice on the board (214) this push announces, when it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// 904 push: the user's balance changed outside a request of theirs (payout, refund, grant, payment).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct BalancePush {
    pub balance: i64,
    /// payout, refund, grant, payment, ...
    pub reason: String,
}

/// 404 leaderboard request: one page of a board, and the player's own place on it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct LeaderboardQuery {
    /// "net" (net winnings: payouts minus stakes of settled bets; the default) or "picks" (bets won).
    #[serde(default)]
    pub board: Option<String>,
    /// "day" (a UTC day), "week" (an ISO week, Monday to Sunday, UTC; the default) or "all".
    #[serde(default)]
    pub period: Option<String>,
    /// A date (`YYYY-MM-DD`, UTC) in the day or week to show; default today. Days are kept 35 days,
    /// weeks 15 weeks.
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub offset: Option<u32>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A place on a leaderboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct LeaderboardEntry {
    /// 1 + the number of players with a higher score (equal scores share a rank).
    pub rank: u64,
    pub user_id: u64,
    /// The player's nickname, else their username.
    pub name: String,
    /// Net winnings in coins, or bets won.
    pub score: i64,
}

/// 404 leaderboard reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct LeaderboardReply {
    pub board: String,
    /// The period shown: `2026-12-05`, `2026-W49` or `all`.
    pub period: String,
    /// Best first.
    pub items: Vec<LeaderboardEntry>,
    /// The player's own place (absent when they have no settled bet in the period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub me: Option<LeaderboardEntry>,
}

/// 212 create a deposit order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct CreateOrder {
    /// Coins to buy (the deployment's `orders.min_amount` to `max_amount`).
    pub amount: i64,
    /// One of the deployment's payment channels (`orders.channels`).
    pub channel: String,
}

/// A deposit order (212 reply, 213 items).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct OrderView {
    pub order_id: String,
    pub amount: i64,
    /// The currency it is paid in (ISO 4217, e.g. `USD`); empty for orders made before orders had one.
    #[serde(default)]
    pub currency: String,
    pub channel: String,
    /// `created` (waiting for payment), `paid` (credited: `paid_at`, `balance`) or `expired` (not
    /// paid within the deployment's pay window; a late payment still completes it).
    pub state: String,
    pub created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<u64>,
    /// The balance right after the credit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<i64>,
    /// Where the app sends the player to pay (while `created`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_url: Option<String>,
}

/// 204 change password: the current one (checked as a login is) and the new one (6 to 128 characters).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ChangePassword {
    pub old_password: String,
    pub new_password: String,
}

/// 204 and 208 reply: how many sessions were ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct SessionsRevoked {
    pub revoked: u32,
}

/// 209 link account reply: the guest account now logs in with this username (its id, coins and bets
/// are the guest's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Linked {
    pub user_id: u64,
    pub username: String,
}

/// 210 delete account: proof that it is the player: the password, or for a guest account the
/// device id it logs in with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct DeleteAccount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
}

/// 210 reply: the account is closed; `forfeited` coins were its balance (docs/protocol.md
/// "Deleting an account").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct AccountDeleted {
    pub forfeited: i64,
}

/// A notice on the board (214): staff's word to everyone, to this player, or to the bettors of a
/// match (`match_id`), newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct NoticeView {
    pub notice_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub text: String,
    /// For the bettors of this match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_id: Option<u64>,
    /// Unix ms.
    pub published_at: u64,
    /// Marked read by this player (215).
    pub read: bool,
}

/// 214 reply: a page of the player's notices, and how many of all of them are unread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Notices {
    pub items: Vec<NoticeView>,
    pub unread: u32,
}

/// 215 mark notices read: these ids (at most 100), or with `all` every notice listed now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct MarkNoticesRead {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notice_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
}

/// 215 reply: the notices still unread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Unread {
    pub unread: u32,
}

/// 206 upload avatar: a picture (`image/png`, `image/jpeg` or `image/webp`, at most the deployment's
/// `logic.avatar_max_bytes`) as bytes (MessagePack bin; a JSON frame sends an array of byte values).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct UploadAvatar {
    pub content_type: String,
    #[serde(with = "serde_bytes")]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<u8>"))]
    pub data: Vec<u8>,
}

/// One of the player's sessions (207): a device or app logged in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct SessionView {
    /// Names the session for 208 (not a token: it cannot log in).
    pub session_id: String,
    /// When it logged in (Unix ms).
    pub created_at: u64,
    /// When it expires unless resumed (Unix ms).
    pub expires_at: u64,
    /// The session of the connection asking.
    pub current: bool,
}

/// 208 revoke one session (`session_id` from 207), or with `others` every session but this one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct RevokeSession {
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub others: bool,
}
