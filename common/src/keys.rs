//! Every Redis key name is built here, and nowhere else (DESIGN.md §5). A deployment-wide prefix
//! namespaces everything, so one Redis can host several deployments, and each test its own.
//!
//! Queue keys put the group in a hash tag (`q:c2l:{1}`) so a queue and its inflight lists share a
//! Redis Cluster slot, which lets one script move frames between them. Queues that every shard
//! writes (the outbox, the events) have one lane per [`Home`] (docs/scaling.md).

use crate::shards::Home;

/// Builds key names under one prefix. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: impl Into<String>) -> Keys {
        Keys { prefix: prefix.into() }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn k(&self, rest: std::fmt::Arguments<'_>) -> String {
        format!("{}{}", self.prefix, rest)
    }

    /// The hash tag of user `uid`'s shard (docs/scaling.md): every key of one user shares it, so
    /// the scripts that change a user touch one slot.
    fn of(uid: u64) -> &'static str {
        Home::of_uid(uid).tag()
    }

    /// Client frames for group `g`.
    pub fn c2l(&self, group: u32) -> String {
        self.k(format_args!("q:c2l:{{{group}}}"))
    }

    /// Pattern (for `Redis::scan`, which adds the prefix) matching every group's client queue
    /// and its inflight lists.
    pub fn c2l_pattern(&self) -> &'static str {
        "q:c2l:*"
    }

    /// The group whose client queue `key` (a full key) is; None for anything else (an inflight list).
    pub fn c2l_group(&self, key: &str) -> Option<u32> {
        let name = key.strip_prefix(&self.prefix)?;
        name.strip_prefix("q:c2l:{")?.strip_suffix('}')?.parse().ok()
    }

    /// Replies for connect node `node` from the logic processes of `group` (the node's group): in
    /// the group queue's slot, as ack.lua pushes a reply in the same call that acks its frame.
    pub fn l2c(&self, group: u32, node: &str) -> String {
        self.k(format_args!("q:l2c:{{{group}}}:{node}"))
    }

    /// Pushes for connect node `node`.
    pub fn push(&self, node: &str) -> String {
        self.k(format_args!("q:push:{{{node}}}"))
    }

    /// The inflight list of consumer `worker` of `queue` (a full queue key from this module).
    pub fn inflight(&self, queue: &str, worker: &str) -> String {
        format!("{queue}:inflight:{worker}")
    }

    /// Consumers of `queue`: hash inflight key -> heartbeat key of its owner (read by the reaper).
    pub fn consumers(&self, queue: &str) -> String {
        format!("{queue}:consumers")
    }

    /// Delivery counts of frames the reaper has returned to `queue` (hash sha1(frame) -> count).
    pub fn deliveries(&self, queue: &str) -> String {
        format!("{queue}:deliveries")
    }

    /// The reaper's lease on `queue`, so one reaper at a time acts on it.
    pub fn reaper_lease(&self, queue: &str) -> String {
        format!("{queue}:reaper")
    }

    /// Frames of `queue` that failed too often (poison), kept for inspection.
    /// `queue` is a full key from this module; the dead list keeps its hash tag.
    pub fn dead(&self, queue: &str) -> String {
        let name = queue.strip_prefix(&self.prefix).unwrap_or(queue);
        self.k(format_args!("q:dead:{name}"))
    }

    /// Durable change records for dbsvr, written by the scripts of `home` (a shard's, or the
    /// global keys'): one lane per home, so a script appends its records in its own slot on a
    /// Redis Cluster. Every queue's name carries a hash tag, so that its inflight lists,
    /// consumers, deliveries, lease and dead list share its slot.
    pub fn outbox(&self, home: Home) -> String {
        self.k(format_args!("q:outbox:{{{}}}", home.tag()))
    }

    /// Every lane of the outbox (dbsvr consumes them all).
    pub fn outboxes(&self) -> Vec<String> {
        Home::all().map(|h| self.outbox(h)).collect()
    }

    /// Live process heartbeat.
    pub fn node(&self, role: &str, id: &str) -> String {
        self.k(format_args!("node:{role}:{id}"))
    }

    /// Pattern matching every heartbeat key (for listings).
    pub fn node_pattern(&self) -> String {
        self.k(format_args!("node:*"))
    }

    /// Connections of a logged-in user: hash conn id -> node id.
    pub fn online(&self, uid: u64) -> String {
        self.k(format_args!("{{{}}}:online:{uid}", Keys::of(uid)))
    }

    /// The user id counter of shard `shard`: its n-th user is `shards::id_in(shard, n)`.
    pub fn user_seq(&self, shard: u16) -> String {
        self.k(format_args!("{{{}}}:seq:user", crate::shards::tag(shard)))
    }

    pub fn user(&self, uid: u64) -> String {
        self.k(format_args!("{{{}}}:user:{uid}", Keys::of(uid)))
    }

    /// Username index: hash { uid, reg } (reg = trace id of the registering frame), in the shard of
    /// the (lowercased) name, where a new user of that name is created (`shards::of_name`).
    pub fn uname(&self, username: &str) -> String {
        self.k(format_args!("{{{}}}:uname:{username}", crate::shards::tag(crate::shards::of_name(username))))
    }

    /// Guest index (105): hash { uid, reg } keyed by the SHA-256 (hex) of a device id, in the shard
    /// of that digest, where the guest's user is created (`shards::of_name` of the digest).
    pub fn device(&self, digest: &str) -> String {
        self.k(format_args!("{{{}}}:device:{digest}", crate::shards::tag(crate::shards::of_name(digest))))
    }

    /// A password reset code staff issued (gm), until used or an hour passes: hash { digest
    /// (SHA-256 of the code), by, at }.
    pub fn pw_reset(&self, uid: u64) -> String {
        self.k(format_args!("{{{}}}:pw_reset:{uid}", Keys::of(uid)))
    }

    /// A session, keyed by the session id (SHA-256 of the token, so Redis never holds a usable token),
    /// in the shard its id falls in (`shards::of_sid`) — its user's, as logic draws tokens so.
    pub fn session(&self, sid: &str) -> String {
        self.k(format_args!("{{{}}}:session:{sid}", crate::shards::tag(crate::shards::of_sid(sid))))
    }

    /// A user's sessions: zset sid -> expiry (Unix ms), so a ban can revoke them all. Expired
    /// members are pruned whenever a session is opened; the key expires with its latest member.
    pub fn sessions(&self, uid: u64) -> String {
        self.k(format_args!("{{{}}}:sessions:{uid}", Keys::of(uid)))
    }

    // The sign-in limits (login_guard.lua, rate_limit.lua) check several counters in one script: they
    // share the tag `{auth}`, one slot, apart from the users' shards and the global catalogue.

    /// Failed logins of an account (by lowercased username) from every address, in the current window.
    pub fn login_failures_user(&self, username: &str) -> String {
        self.k(format_args!("{{auth}}:loginfail:user:{username}"))
    }

    /// Failed logins from a client address group (`common::net::addr_group`) in the current window.
    pub fn login_failures_addr(&self, group: &str) -> String {
        self.k(format_args!("{{auth}}:loginfail:addr:{group}"))
    }

    /// Failed logins of an account from one address group in the current window.
    pub fn login_failures_pair(&self, group: &str, username: &str) -> String {
        self.k(format_args!("{{auth}}:loginfail:pair:{group}:{username}"))
    }

    /// Marker (with a TTL) that an account logged in successfully from an address group: the address
    /// and account failure limits do not apply to that pair (`login_guard.lua`).
    pub fn login_known(&self, group: &str, username: &str) -> String {
        self.k(format_args!("{{auth}}:loginok:{group}:{username}"))
    }

    /// A fixed-window rate counter (`rate_limit.lua`): `kind` names the limit ("register:addr",
    /// "hash:all", ...), `subject` what it counts (an address group, or "" for deployment-wide).
    pub fn rate(&self, kind: &str, subject: &str) -> String {
        self.k(format_args!("{{auth}}:rate:{kind}:{subject}"))
    }

    /// A user's wallet: balance, version, exposure, the `banned` mirror and each bet request's
    /// first reply (`r:{req_id}`), all read by place_bet.lua in one HMGET.
    pub fn wallet(&self, uid: u64) -> String {
        self.k(format_args!("{{{}}}:wallet:{uid}", Keys::of(uid)))
    }

    /// A user's ledger, newest first (list of MessagePack records).
    pub fn ledger(&self, uid: u64) -> String {
        self.k(format_args!("{{{}}}:ledger:{uid}", Keys::of(uid)))
    }

    // The match catalogue and what staff drive with it (match records, indexes, the match id
    // counter, delayed events, settlement jobs) share the global tag `{g}`: the gm scripts that
    // change a match, its indexes, its events and its jobs run in one slot (docs/scaling.md).

    /// Settlement jobs for resultcenter.
    pub fn settle(&self) -> String {
        self.k(format_args!("q:settle:{{g}}"))
    }

    /// Events for pushsvr from the scripts of `home`: one lane per home, as [`Keys::outbox`].
    pub fn notify(&self, home: Home) -> String {
        self.k(format_args!("q:notify:{{{}}}", home.tag()))
    }

    /// Every lane of the event queue (pushsvr consumes them all).
    pub fn notifies(&self) -> Vec<String> {
        Home::all().map(|h| self.notify(h)).collect()
    }

    /// Delayed events (zset, score = due time in ms).
    pub fn sched(&self) -> String {
        self.k(format_args!("{{g}}:sched"))
    }

    // The notice board (gm publishes, 214 lists, pushsvr pushes when due): staff's content, rare,
    // all in the global slot `{g}` so one script publishes a notice with its indexes.

    /// A notice: hash { id, title, text, target (all|user|match), target_id, publish_at,
    /// created_at, created_by, state (live|withdrawn), withdrawn_at, withdrawn_by }.
    pub fn notice(&self, id: &str) -> String {
        self.k(format_args!("{{g}}:notice:{id}"))
    }

    /// Every notice, withdrawn ones included (gm lists them): zset id -> publish_at (ms).
    pub fn notices(&self) -> String {
        self.k(format_args!("{{g}}:notices"))
    }

    /// The live notices of one audience: `all`, `user:{uid}` or `match` (every notice to some
    /// match's bettors, each checked against the reader's bets): zset id -> publish_at (ms).
    pub fn notices_for(&self, audience: &str) -> String {
        self.k(format_args!("{{g}}:notices:{audience}"))
    }

    /// The notices a user marked read (215): set of ids, in the user's shard.
    pub fn notices_read(&self, uid: u64) -> String {
        self.k(format_args!("{{{}}}:notices_read:{uid}", Keys::of(uid)))
    }

    /// Coins staff member `who` granted on `day` (Unix days; gm's daily limit): string + TTL.
    pub fn grant_budget(&self, who: &str, day: u64) -> String {
        self.k(format_args!("{{g}}:grant_budget:{day}:{who}"))
    }

    /// A large grant waiting for a second admin, or decided (grant_approval.lua): hash + TTL.
    pub fn approval(&self, id: &str) -> String {
        self.k(format_args!("{{g}}:approval:{id}"))
    }

    /// The grant approval requests, id -> asked at (ms): zset.
    pub fn approvals(&self) -> String {
        self.k(format_args!("{{g}}:approvals"))
    }

    /// A personal staff account (staff_set.lua): hash.
    pub fn staff(&self, name: &str) -> String {
        self.k(format_args!("{{g}}:staff:{name}"))
    }

    /// The staff accounts, name -> created at (ms): zset.
    pub fn staff_names(&self) -> String {
        self.k(format_args!("{{g}}:staff_names"))
    }

    /// A staff console session, by the SHA-256 (hex) of its token: hash { name, expires_at } whose
    /// TTL is the idle timeout, renewed on use.
    pub fn staff_session(&self, digest: &str) -> String {
        self.k(format_args!("{{g}}:staff_session:{digest}"))
    }

    /// An API token, by the SHA-256 (hex) of the token (staff_token.lua): hash, expiring with it.
    pub fn staff_token(&self, digest: &str) -> String {
        self.k(format_args!("{{g}}:staff_token:{digest}"))
    }

    /// The API tokens, id -> the SHA-256 of the token: hash.
    pub fn staff_token_ids(&self) -> String {
        self.k(format_args!("{{g}}:staff_token_ids"))
    }

    /// A staff member's TOTP code once used (each code is taken once): string + TTL.
    pub fn staff_totp_used(&self, name: &str, code: &str) -> String {
        self.k(format_args!("{{g}}:staff_totp_used:{name}:{code}"))
    }

    /// The match id counter.
    pub fn match_seq(&self) -> String {
        self.k(format_args!("{{g}}:seq:match"))
    }

    pub fn match_(&self, mid: u64) -> String {
        self.k(format_args!("{{g}}:match:{mid}"))
    }

    /// Import index: external id (from a data feed) -> match id.
    pub fn match_ext(&self, external_id: &str) -> String {
        self.k(format_args!("{{g}}:match:ext:{external_id}"))
    }

    /// Shard `shard`'s copy of match `mid`: the fields a bet and a settlement batch read (state,
    /// odds, limits, result; match_copy.lua), and the shard's settlement counters.
    pub fn match_copy(&self, shard: u16, mid: u64) -> String {
        self.k(format_args!("{{{}}}:match:{mid}", crate::shards::tag(shard)))
    }

    /// Stake totals per option of a match's bets in shard `shard`.
    pub fn match_pool(&self, shard: u16, mid: u64) -> String {
        self.k(format_args!("{{{}}}:match:{mid}:pool", crate::shards::tag(shard)))
    }

    /// Open (unsettled) bets of a match in shard `shard`: hash bid -> the bet's terms
    /// (`crate::bets::Terms`); resultcenter's work list.
    pub fn match_open(&self, shard: u16, mid: u64) -> String {
        self.k(format_args!("{{{}}}:match:{mid}:open", crate::shards::tag(shard)))
    }

    /// Users of shard `shard` who subscribed to a match (305; set of uids, expiring a while after
    /// the last subscription): told when it opens, starts and has its result (906).
    pub fn match_subscribers(&self, shard: u16, mid: u64) -> String {
        self.k(format_args!("{{{}}}:match:{mid}:subscribers", crate::shards::tag(shard)))
    }

    /// A user's devices for pushes while the app is closed (211): hash push token -> "platform:registered ms".
    pub fn devices(&self, uid: u64) -> String {
        self.k(format_args!("{{{}}}:devices:{uid}", Keys::of(uid)))
    }

    /// One push to a user for one event (`{mid}:{event}`), claimed before it is sent so a repeated
    /// event sends it once (string + TTL).
    pub fn push_sent(&self, uid: u64, event: &str) -> String {
        self.k(format_args!("{{{}}}:push_sent:{uid}:{event}", Keys::of(uid)))
    }

    /// Pushes sent to a user's closed app this hour (`hour` = Unix hours): the per-user limit.
    pub fn push_rate(&self, uid: u64, hour: u64) -> String {
        self.k(format_args!("{{{}}}:push_rate:{uid}:{hour}", Keys::of(uid)))
    }

    /// Users of shard `shard` who bet on a match (set of uids; match events go to them).
    pub fn match_bettors(&self, shard: u16, mid: u64) -> String {
        self.k(format_args!("{{{}}}:match:{mid}:bettors", crate::shards::tag(shard)))
    }

    /// Users watching a match (set of uids; every change of the match is pushed to them: 905).
    pub fn match_watchers(&self, mid: u64) -> String {
        self.k(format_args!("{{g}}:match:{mid}:watchers"))
    }

    /// Pushes kept for an offline user (list of client frames, newest first, capped).
    pub fn inbox(&self, uid: u64) -> String {
        self.k(format_args!("{{{}}}:inbox:{uid}", Keys::of(uid)))
    }

    /// Matches awaiting approval.
    pub fn matches_pending(&self) -> String {
        self.k(format_args!("{{g}}:matches:pending"))
    }

    /// Every index a match of type `kind` can be in, in the order the match scripts take them:
    /// pending, then list, doing and finished each for all types and for `kind`.
    pub fn match_indexes(&self, kind: &str) -> [String; 7] {
        [
            self.matches_pending(),
            self.matches_index("list", "all"),
            self.matches_index("list", kind),
            self.matches_index("doing", "all"),
            self.matches_index("doing", kind),
            self.matches_index("finished", "all"),
            self.matches_index("finished", kind),
        ]
    }

    /// A match index: `family` is list / doing / finished, `of` a type or "all".
    pub fn matches_index(&self, family: &str, of: &str) -> String {
        self.k(format_args!("{{g}}:matches:{family}:{of}"))
    }

    /// Shard `shard`'s bet id counter: its n-th bet is `shards::id_in(shard, n)`.
    pub fn bet_seq(&self, shard: u16) -> String {
        self.k(format_args!("{{{}}}:seq:bet", crate::shards::tag(shard)))
    }

    /// A user's bets: hash bid -> the bet's latest change record (place_bet.lua's "placed",
    /// settle_batch.lua's "settled"; read by `crate::bets::Stored`). A bet's id names its shard
    /// (`shards::of_uid(bid)`), which is its bettor's.
    pub fn user_bets(&self, uid: u64) -> String {
        self.k(format_args!("{{{}}}:user:{uid}:bets", Keys::of(uid)))
    }

    /// Shard `shard`'s part of a leaderboard (zset uid -> score; `crate::leaderboard`): kept by
    /// settle_batch.lua with the payouts, in the shard's slot; a board is its 64 parts merged.
    pub fn leaderboard(
        &self,
        shard: u16,
        board: crate::leaderboard::Board,
        period: crate::leaderboard::Period,
    ) -> String {
        self.k(format_args!("{{{}}}:lb:{}:{}", crate::shards::tag(shard), board.name(), period.label()))
    }

    /// A player's deposit order (order_create.lua: uid, amount, channel, state, created_at, and once
    /// paid paid_at and balance), in the user's shard: the payment callback completes it in the
    /// script that credits the user.
    pub fn order(&self, uid: u64, order_id: &str) -> String {
        self.k(format_args!("{{{}}}:order:{order_id}", Keys::of(uid)))
    }

    /// A user's newest orders: zset order id -> created_at (ms).
    pub fn orders(&self, uid: u64) -> String {
        self.k(format_args!("{{{}}}:orders:{uid}", Keys::of(uid)))
    }

    /// The record of a payment order to user `uid` (idempotency of the provider's callbacks), in
    /// the user's shard: checked in the same script as the credit.
    pub fn payment(&self, uid: u64, order_id: &str) -> String {
        self.k(format_args!("{{{}}}:payment:{order_id}", Keys::of(uid)))
    }

    /// The record of a staff grant to user `uid` sent with a request id (a retried grant happens
    /// once), in the user's shard.
    pub fn grant(&self, uid: u64, request_id: &str) -> String {
        self.k(format_args!("{{{}}}:grant:{request_id}", Keys::of(uid)))
    }

    /// The user an idempotency id (`kind` = payment or grant, `id` = its order or request id) was
    /// first used for: user `uid`'s own record (`payment`, `grant`) lives in that user's shard, so
    /// this one global claim is what refuses the same id for another user (gm, before the credit).
    pub fn once_owner(&self, kind: &str, id: &str) -> String {
        self.k(format_args!("{{g}}:owner:{kind}:{id}"))
    }

    /// Control commands for the `role` service of process `node` (common::control). The role is
    /// part of the key because `matchday up` runs every role under one node id.
    pub fn control(&self, role: &str, node: &str) -> String {
        self.k(format_args!("ctl:{role}:{node}"))
    }

    /// The answers to control command `id`.
    pub fn control_reply(&self, id: &str) -> String {
        self.k(format_args!("ctl:reply:{id}"))
    }

    /// Written before a WAIT on the primary of `slot`, so the WAIT covers every write made there
    /// before it (see `Redis::replicated`); its tag ([`crate::written::tag_of_slot`]) puts it in `slot`.
    pub fn replication_marker(&self, slot: u16) -> String {
        self.k(format_args!("{{{}}}:replication:marker", crate::written::tag_of_slot(slot)))
    }

    /// A daily counter kept by dbsvr (`what` = bets, volume), `day` = days since the Unix epoch (UTC).
    pub fn stats_day(&self, what: &str, day: u64) -> String {
        self.k(format_args!("stats:{what}:{day}"))
    }

    /// Registrations on `day` in shard `shard` (counted by register.lua where the user is created;
    /// gm sums the shards).
    pub fn stats_reg(&self, shard: u16, day: u64) -> String {
        self.k(format_args!("{{{}}}:stats:reg:{day}", crate::shards::tag(shard)))
    }

    /// The keys of place_bet.lua, in its KEYS order, for user `uid` betting on match `mid`.
    pub fn place_bet(&self, uid: u64, mid: u64) -> Vec<String> {
        let shard = crate::shards::of_uid(uid);
        vec![
            self.match_copy(shard, mid),
            self.wallet(uid),
            self.user_bets(uid),
            self.match_pool(shard, mid),
            self.ledger(uid),
            self.outbox(Home::Shard(shard)),
            self.match_open(shard, mid),
            self.match_bettors(shard, mid),
        ]
    }

    /// The index keys a settling match can be in or move to, in match_finish.lua's KEYS[4..9]
    /// order: doing, finished and list, each for all types and for `kind`.
    pub fn settle_indexes(&self, kind: &str) -> Vec<String> {
        ["doing", "finished", "list"]
            .into_iter()
            .flat_map(|family| [self.matches_index(family, "all"), self.matches_index(family, kind)])
            .collect()
    }

    /// A key of the Lua handler modules' own (docs/lua.md): `{g}:ext:{name}`, where `name` is what
    /// a module passed (checked by logic: letters, digits, `_ - . :` only). Module-shipped Redis
    /// scripts may touch these keys and no others; they share the global tag, so a module's script
    /// runs in one slot on a Redis Cluster (docs/scaling.md).
    pub fn ext(&self, name: &str) -> String {
        self.k(format_args!("{{g}}:ext:{name}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let k = Keys::new("md:");
        let q = k.c2l(3);
        assert_eq!(q, "md:q:c2l:{3}");
        assert_eq!(k.inflight(&q, "n1.0"), "md:q:c2l:{3}:inflight:n1.0");
        assert_eq!(k.dead(&q), "md:q:dead:q:c2l:{3}");
        for queue in [q.clone(), k.outbox(Home::Shard(3)), k.outbox(Home::Global), k.notify(Home::Shard(9)), k.settle()]
        {
            let slot = crate::shards::slot(&queue);
            for derived in [
                k.inflight(&queue, "w"),
                k.consumers(&queue),
                k.deliveries(&queue),
                k.reaper_lease(&queue),
                k.dead(&queue),
            ] {
                assert_eq!(crate::shards::slot(&derived), slot, "{derived} shares {queue}'s slot");
            }
        }
        assert_eq!(k.outbox(Home::Global), "md:q:outbox:{g}");
        assert_eq!(k.notify(Home::Shard(0)), format!("md:q:notify:{{{}}}", crate::shards::tag(0)));
        assert_eq!(k.outboxes().len(), usize::from(crate::shards::SHARDS) + 1);
        assert_eq!(k.l2c(3, "n1"), "md:q:l2c:{3}:n1");
        assert_eq!(
            crate::shards::slot(&k.l2c(3, "n1")),
            crate::shards::slot(&q),
            "replies share the group queue's slot"
        );
        assert_eq!(k.node("logic", "n1"), "md:node:logic:n1");
        assert_eq!(k.session("ab"), format!("md:{{{}}}:session:ab", crate::shards::tag(crate::shards::of_sid("ab"))));
        assert_eq!(k.sessions(7), format!("md:{{{}}}:sessions:7", crate::shards::tag(7)));
        let one_user = [
            k.user(70),
            k.wallet(70),
            k.ledger(70),
            k.sessions(70),
            k.online(70),
            k.inbox(70),
            k.user_bets(70),
            k.payment(70, "o"),
            k.grant(70, "r"),
        ];
        for key in &one_user {
            assert_eq!(crate::shards::slot(key), crate::shards::slot(&one_user[0]), "{key}: one user, one slot");
        }
        assert_ne!(crate::shards::slot(&k.wallet(70)), crate::shards::slot(&k.wallet(71)), "users spread over shards");
        assert_eq!(k.ext("signin:board"), "md:{g}:ext:signin:board");
        assert_eq!(k.control("logic", "n1"), "md:ctl:logic:n1");
    }

    #[test]
    fn client_queues_are_told_from_their_inflight_lists() {
        let k = Keys::new("md:");
        assert_eq!(k.c2l_group(&k.c2l(12)), Some(12));
        assert_eq!(k.c2l_group(&k.inflight(&k.c2l(12), "n1.0")), None);
        assert_eq!(k.c2l_group("other:q:c2l:{1}"), None);
    }
}
