//! The script registry: every `redis-scripts/*.lua` is compiled into the binary, loaded with
//! SCRIPT LOAD at start, and called by SHA; a NOSCRIPT answer (Redis restarted, failed over or
//! flushed its cache) reloads the script and retries once.

use std::sync::Arc;

use fred::interfaces::LuaInterface;
use fred::prelude::Error;
use fred::types::scripts::Script;
use fred::types::{Key, MultipleKeys, MultipleValues, Value};

use super::StoreError;
use super::reply::Reply;

/// Every script, by name. One file per atomic operation, each with a header (KEYS, ARGV, reply, errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScriptName {
    Claim,
    Ack,
    DeadLetter,
    DeadRequeue,
    Requeue,
    Register,
    MatchCreate,
    MarketCreate,
    MatchTransition,
    MatchEdit,
    MatchOdds,
    MatchCopy,
    MatchFinish,
    WalletChange,
    OrderCreate,
    PasswordChange,
    ProfileSet,
    GrantBudget,
    GrantApproval,
    StaffSet,
    StaffToken,
    NoticePublish,
    NoticeWithdraw,
    AccountLink,
    AccountDelete,
    UnameClaim,
    UnameRelease,
    PlaceBet,
    MinBet,
    SettleBatch,
    SchedDue,
    InboxTake,
    PushUser,
    LoginGuard,
    RateLimit,
    SessionOpen,
    UserBan,
    UserUnban,
}

impl ScriptName {
    pub const ALL: &'static [ScriptName] = &[
        ScriptName::Claim,
        ScriptName::Ack,
        ScriptName::DeadLetter,
        ScriptName::DeadRequeue,
        ScriptName::Requeue,
        ScriptName::Register,
        ScriptName::MatchCreate,
        ScriptName::MarketCreate,
        ScriptName::MatchTransition,
        ScriptName::MatchEdit,
        ScriptName::MatchOdds,
        ScriptName::MatchCopy,
        ScriptName::MatchFinish,
        ScriptName::WalletChange,
        ScriptName::OrderCreate,
        ScriptName::PasswordChange,
        ScriptName::ProfileSet,
        ScriptName::GrantBudget,
        ScriptName::GrantApproval,
        ScriptName::StaffSet,
        ScriptName::StaffToken,
        ScriptName::NoticePublish,
        ScriptName::NoticeWithdraw,
        ScriptName::AccountLink,
        ScriptName::AccountDelete,
        ScriptName::UnameClaim,
        ScriptName::UnameRelease,
        ScriptName::PlaceBet,
        ScriptName::MinBet,
        ScriptName::SettleBatch,
        ScriptName::SchedDue,
        ScriptName::InboxTake,
        ScriptName::PushUser,
        ScriptName::LoginGuard,
        ScriptName::RateLimit,
        ScriptName::SessionOpen,
        ScriptName::UserBan,
        ScriptName::UserUnban,
    ];

    /// The file name under redis-scripts/.
    pub fn file(self) -> &'static str {
        match self {
            ScriptName::Claim => "claim.lua",
            ScriptName::Ack => "ack.lua",
            ScriptName::DeadLetter => "dead_letter.lua",
            ScriptName::DeadRequeue => "dead_requeue.lua",
            ScriptName::Requeue => "requeue.lua",
            ScriptName::Register => "register.lua",
            ScriptName::MatchCreate => "match_create.lua",
            ScriptName::MarketCreate => "market_create.lua",
            ScriptName::MatchTransition => "match_transition.lua",
            ScriptName::MatchEdit => "match_edit.lua",
            ScriptName::MatchOdds => "match_odds.lua",
            ScriptName::MatchCopy => "match_copy.lua",
            ScriptName::MatchFinish => "match_finish.lua",
            ScriptName::WalletChange => "wallet_change.lua",
            ScriptName::OrderCreate => "order_create.lua",
            ScriptName::PasswordChange => "password_change.lua",
            ScriptName::GrantBudget => "grant_budget.lua",
            ScriptName::GrantApproval => "grant_approval.lua",
            ScriptName::StaffSet => "staff_set.lua",
            ScriptName::StaffToken => "staff_token.lua",
            ScriptName::NoticePublish => "notice_publish.lua",
            ScriptName::NoticeWithdraw => "notice_withdraw.lua",
            ScriptName::AccountLink => "account_link.lua",
            ScriptName::AccountDelete => "account_delete.lua",
            ScriptName::UnameClaim => "uname_claim.lua",
            ScriptName::UnameRelease => "uname_release.lua",
            ScriptName::ProfileSet => "profile_set.lua",
            ScriptName::PlaceBet => "place_bet.lua",
            ScriptName::MinBet => "min_bet.lua",
            ScriptName::SettleBatch => "settle_batch.lua",
            ScriptName::SchedDue => "sched_due.lua",
            ScriptName::InboxTake => "inbox_take.lua",
            ScriptName::PushUser => "push_user.lua",
            ScriptName::LoginGuard => "login_guard.lua",
            ScriptName::RateLimit => "rate_limit.lua",
            ScriptName::SessionOpen => "session_open.lua",
            ScriptName::UserBan => "user_ban.lua",
            ScriptName::UserUnban => "user_unban.lua",
        }
    }

    /// The names of the replies its binding's `Outcome` knows (each listed in the script's header,
    /// which tests/it/store/contract.rs checks).
    pub fn outcomes(self) -> &'static [&'static str] {
        use strum::VariantNames;
        match self {
            ScriptName::Claim => super::claim::Outcome::VARIANTS,
            ScriptName::Ack => super::ack::Outcome::VARIANTS,
            ScriptName::DeadLetter => super::dead_letter::Outcome::VARIANTS,
            ScriptName::DeadRequeue => super::dead_requeue::Outcome::VARIANTS,
            ScriptName::Requeue => super::requeue::Outcome::VARIANTS,
            ScriptName::Register => super::register::Outcome::VARIANTS,
            ScriptName::MatchCreate => super::match_create::Outcome::VARIANTS,
            ScriptName::MarketCreate => super::market_create::Outcome::VARIANTS,
            ScriptName::MatchTransition => super::match_transition::Outcome::VARIANTS,
            ScriptName::MatchEdit => super::match_edit::Outcome::VARIANTS,
            ScriptName::MatchOdds => super::match_odds::Outcome::VARIANTS,
            ScriptName::MatchCopy => super::match_copy::Outcome::VARIANTS,
            ScriptName::MatchFinish => super::match_finish::Outcome::VARIANTS,
            ScriptName::WalletChange => super::wallet_change::Outcome::VARIANTS,
            ScriptName::OrderCreate => super::order_create::Outcome::VARIANTS,
            ScriptName::PasswordChange => super::password_change::Outcome::VARIANTS,
            ScriptName::GrantBudget => super::grant_budget::Outcome::VARIANTS,
            ScriptName::GrantApproval => super::grant_approval::Outcome::VARIANTS,
            ScriptName::StaffSet => super::staff_set::Outcome::VARIANTS,
            ScriptName::StaffToken => super::staff_token::Outcome::VARIANTS,
            ScriptName::NoticePublish => super::notice_publish::Outcome::VARIANTS,
            ScriptName::NoticeWithdraw => super::notice_withdraw::Outcome::VARIANTS,
            ScriptName::AccountLink => super::account_link::Outcome::VARIANTS,
            ScriptName::AccountDelete => super::account_delete::Outcome::VARIANTS,
            ScriptName::UnameClaim => super::uname_claim::Outcome::VARIANTS,
            ScriptName::UnameRelease => super::uname_release::Outcome::VARIANTS,
            ScriptName::ProfileSet => super::profile_set::Outcome::VARIANTS,
            ScriptName::PlaceBet => super::place_bet::Outcome::VARIANTS,
            ScriptName::MinBet => super::min_bet::Outcome::VARIANTS,
            ScriptName::SettleBatch => super::settle_batch::Outcome::VARIANTS,
            ScriptName::SchedDue => super::sched_due::Outcome::VARIANTS,
            ScriptName::InboxTake => super::inbox_take::Outcome::VARIANTS,
            ScriptName::PushUser => super::push_user::Outcome::VARIANTS,
            ScriptName::LoginGuard => super::login_guard::Outcome::VARIANTS,
            ScriptName::RateLimit => super::rate_limit::Outcome::VARIANTS,
            ScriptName::SessionOpen => super::session_open::Outcome::VARIANTS,
            ScriptName::UserBan => super::user_ban::Outcome::VARIANTS,
            ScriptName::UserUnban => super::user_unban::Outcome::VARIANTS,
        }
    }

    pub fn source(self) -> &'static str {
        match self {
            ScriptName::Claim => include_str!("../../../redis-scripts/claim.lua"),
            ScriptName::Ack => include_str!("../../../redis-scripts/ack.lua"),
            ScriptName::DeadLetter => include_str!("../../../redis-scripts/dead_letter.lua"),
            ScriptName::DeadRequeue => include_str!("../../../redis-scripts/dead_requeue.lua"),
            ScriptName::Requeue => include_str!("../../../redis-scripts/requeue.lua"),
            ScriptName::Register => include_str!("../../../redis-scripts/register.lua"),
            ScriptName::MatchCreate => include_str!("../../../redis-scripts/match_create.lua"),
            ScriptName::MarketCreate => include_str!("../../../redis-scripts/market_create.lua"),
            ScriptName::MatchTransition => include_str!("../../../redis-scripts/match_transition.lua"),
            ScriptName::MatchEdit => include_str!("../../../redis-scripts/match_edit.lua"),
            ScriptName::MatchOdds => include_str!("../../../redis-scripts/match_odds.lua"),
            ScriptName::MatchCopy => include_str!("../../../redis-scripts/match_copy.lua"),
            ScriptName::MatchFinish => include_str!("../../../redis-scripts/match_finish.lua"),
            ScriptName::WalletChange => include_str!("../../../redis-scripts/wallet_change.lua"),
            ScriptName::OrderCreate => include_str!("../../../redis-scripts/order_create.lua"),
            ScriptName::PasswordChange => include_str!("../../../redis-scripts/password_change.lua"),
            ScriptName::GrantBudget => include_str!("../../../redis-scripts/grant_budget.lua"),
            ScriptName::GrantApproval => include_str!("../../../redis-scripts/grant_approval.lua"),
            ScriptName::StaffSet => include_str!("../../../redis-scripts/staff_set.lua"),
            ScriptName::StaffToken => include_str!("../../../redis-scripts/staff_token.lua"),
            ScriptName::NoticePublish => include_str!("../../../redis-scripts/notice_publish.lua"),
            ScriptName::NoticeWithdraw => include_str!("../../../redis-scripts/notice_withdraw.lua"),
            ScriptName::AccountLink => include_str!("../../../redis-scripts/account_link.lua"),
            ScriptName::AccountDelete => include_str!("../../../redis-scripts/account_delete.lua"),
            ScriptName::UnameClaim => include_str!("../../../redis-scripts/uname_claim.lua"),
            ScriptName::UnameRelease => include_str!("../../../redis-scripts/uname_release.lua"),
            ScriptName::ProfileSet => include_str!("../../../redis-scripts/profile_set.lua"),
            ScriptName::PlaceBet => include_str!("../../../redis-scripts/place_bet.lua"),
            ScriptName::MinBet => include_str!("../../../redis-scripts/min_bet.lua"),
            ScriptName::SettleBatch => include_str!("../../../redis-scripts/settle_batch.lua"),
            ScriptName::SchedDue => include_str!("../../../redis-scripts/sched_due.lua"),
            ScriptName::InboxTake => include_str!("../../../redis-scripts/inbox_take.lua"),
            ScriptName::PushUser => include_str!("../../../redis-scripts/push_user.lua"),
            ScriptName::LoginGuard => include_str!("../../../redis-scripts/login_guard.lua"),
            ScriptName::RateLimit => include_str!("../../../redis-scripts/rate_limit.lua"),
            ScriptName::SessionOpen => include_str!("../../../redis-scripts/session_open.lua"),
            ScriptName::UserBan => include_str!("../../../redis-scripts/user_ban.lua"),
            ScriptName::UserUnban => include_str!("../../../redis-scripts/user_unban.lua"),
        }
    }
}

/// The loaded scripts. Cheap to clone.
#[derive(Clone)]
pub struct Scripts {
    scripts: Arc<Vec<Script>>,
}

impl Default for Scripts {
    fn default() -> Self {
        Scripts::new()
    }
}

impl Scripts {
    pub fn new() -> Scripts {
        Scripts { scripts: Arc::new(ScriptName::ALL.iter().map(|n| Script::from_lua(n.source())).collect()) }
    }

    fn get(&self, name: ScriptName) -> &Script {
        let i = ScriptName::ALL.iter().position(|n| *n == name).expect("every name is in ALL");
        &self.scripts[i]
    }

    /// The SHA-1 the script is called by.
    pub fn sha(&self, name: ScriptName) -> &str {
        self.get(name).sha1()
    }

    /// SCRIPT LOAD every script (on every primary of a cluster).
    pub async fn load_all<C: LuaInterface + Sync>(&self, client: &C) -> Result<(), Error> {
        for name in ScriptName::ALL {
            let _: String = client.script_load_cluster(name.source()).await?;
        }
        Ok(())
    }

    /// EVALSHA `name` for a binding: its reply as a [`Reply`], its failure as a [`StoreError`].
    pub(crate) async fn eval<C, K, V>(
        &self,
        client: &C,
        name: ScriptName,
        keys: K,
        args: V,
    ) -> Result<Reply, StoreError>
    where
        C: LuaInterface + Send + Sync,
        K: Into<MultipleKeys> + Send,
        V: TryInto<MultipleValues> + Send,
        V::Error: Into<Error> + Send,
    {
        let value: Value = self.evalsha(client, name, keys, args).await?;
        Ok(Reply::new(name.file(), value))
    }

    /// EVALSHA `name`; on NOSCRIPT (a restarted or promoted node, a flushed cache), SCRIPT LOAD it
    /// on every primary and try once more.
    async fn evalsha<C, K, V>(&self, client: &C, name: ScriptName, keys: K, args: V) -> Result<Value, Error>
    where
        C: LuaInterface + Send + Sync,
        K: Into<MultipleKeys> + Send,
        V: TryInto<MultipleValues> + Send,
        V::Error: Into<Error> + Send,
    {
        let keys: Vec<Key> = keys.into().inner();
        note_slots(name.file(), &keys);
        if let Some(key) = keys.first() {
            crate::written::note(key.as_bytes());
        }
        let args: MultipleValues = args.try_into().map_err(Into::into)?;
        let sha = self.sha(name).to_owned();
        match client.evalsha(sha.clone(), keys.clone(), args.clone()).await {
            Err(e) if e.details().starts_with("NOSCRIPT") => {
                tracing::info!(script = name.file(), "script missing from Redis's cache; reloading");
                let _: String = client.script_load_cluster(name.source()).await?;
                client.evalsha(sha, keys, args).await
            }
            other => other,
        }
    }
}

/// A script call whose keys hash to more than one slot: it runs on one Redis, and a Redis Cluster
/// refuses it (CROSSSLOT). The first [`CROSS_SLOT_KEPT`] such calls are kept ([`cross_slot_calls`]).
#[derive(Clone, Debug)]
pub struct CrossSlot {
    /// The script's file name (a Lua handler folder's script: "module script" and its SHA).
    pub script: String,
    /// Each key with its slot.
    pub keys: Vec<(String, u16)>,
}

/// How many cross-slot calls are kept: enough for every test of a run to find its own (each test
/// has its own key prefix), bounded for a process that makes them all day (a Lua module's script).
pub const CROSS_SLOT_KEPT: usize = 1024;

static CROSS_SLOT: std::sync::Mutex<Vec<CrossSlot>> = std::sync::Mutex::new(Vec::new());

/// Notes a call of `name` whose keys span slots: a CRC16 per key and no allocation on the way of
/// every call; a lock only for such a call.
pub(super) fn note_slots(name: &str, keys: &[Key]) {
    let slot = |k: &Key| fred::util::redis_keyslot(k.as_bytes());
    let Some(first) = keys.first().map(slot) else { return };
    if keys[1..].iter().all(|k| slot(k) == first) {
        return;
    }
    let mut kept = CROSS_SLOT.lock().expect("the cross-slot record");
    if kept.len() >= CROSS_SLOT_KEPT {
        return;
    }
    let keys = keys.iter().map(|k| (String::from_utf8_lossy(k.as_bytes()).into_owned(), slot(k))).collect();
    tracing::debug!(script = name, "a script call touched keys of more than one slot (refused on a Redis Cluster)");
    kept.push(CrossSlot { script: name.to_owned(), keys });
}

/// The first cross-slot calls this process has made (docs/scaling.md: every script
/// must touch one slot to run on a Redis Cluster; tests check the ones that do).
pub fn cross_slot_calls() -> Vec<CrossSlot> {
    CROSS_SLOT.lock().expect("the cross-slot record").clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_whose_keys_span_slots_is_recorded_and_a_single_slot_one_never() {
        let one_slot: Vec<Key> = vec!["md:{s1}:wallet:1".into(), "md:{s1}:ledger:1".into()];
        note_slots("user_unban.lua", &one_slot);
        assert!(cross_slot_calls().iter().all(|c| c.script != "user_unban.lua"), "one slot: nothing recorded");
        let spanning: Vec<Key> = vec!["md:user:1".into(), "md:wallet:1".into()];
        note_slots("user_unban.lua", &spanning);
        let recorded: Vec<CrossSlot> =
            cross_slot_calls().into_iter().filter(|c| c.script == "user_unban.lua").collect();
        assert_eq!(recorded.len(), 1, "{recorded:?}");
        let slots: Vec<u16> = recorded[0].keys.iter().map(|(_, s)| *s).collect();
        assert_eq!(slots, vec![crate::shards::slot("md:user:1"), crate::shards::slot("md:wallet:1")]);
        assert_ne!(slots[0], slots[1]);
    }
}
