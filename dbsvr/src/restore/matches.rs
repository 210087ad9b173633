//! Restoring matches: their hashes, indexes, external ids, and the delayed events and
//! settlement jobs that were pending.

use std::collections::BTreeMap;

use bytes::Bytes;
use common::events::{Event, SettleJob};
use common::shards::SHARDS;
use protocol::matches::{Index, MatchState};
use sqlx::{FromRow, MySqlPool};

use super::writer::Writer;
use super::{Options, ROWS, RestoreReport};

#[derive(FromRow)]
struct MatchRow {
    id: u64,
    parent_id: u64,
    market: String,
    stream_url: String,
    #[sqlx(rename = "type")]
    kind: String,
    title: String,
    team_a: String,
    team_b: String,
    start_at: u64,
    state: i8,
    live: i8,
    options: String,
    odds_ver: u64,
    min_stake: i64,
    max_stake: i64,
    result: String,
    external_id: String,
    created_at: u64,
    updated_at: u64,
    ver: u64,
}

pub(super) async fn matches(
    pool: &MySqlPool,
    w: &mut Writer<'_>,
    report: &mut RestoreReport,
    opts: &Options,
) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    let now = common::time::now_ms();
    let mut after = 0u64;
    // Each match's markets, in the order added (market_create.lua lists them in `markets`).
    let mut markets: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let pairs: Vec<(u64, u64)> =
        sqlx::query_as("SELECT parent_id, id FROM matches WHERE parent_id <> 0 ORDER BY id").fetch_all(pool).await?;
    for (parent, id) in pairs {
        markets.entry(parent).or_default().push(id.to_string());
    }
    loop {
        let page: Vec<MatchRow> = sqlx::query_as(
            "SELECT id, parent_id, market, stream_url, type, title, team_a, team_b, start_at, state, live, options, odds_ver, min_stake, max_stake, \
             result, external_id, created_at, updated_at, ver FROM matches WHERE id > ? ORDER BY id LIMIT ?",
        )
        .bind(after)
        .bind(ROWS)
        .fetch_all(pool)
        .await?;
        let (Some(first), Some(last)) = (page.first(), page.last()) else { return Ok(()) };
        // resultcenter's progress (`settled`, `paid`) counts the market's settled bets in each shard
        // (a user's shard is their id mod SHARDS); the match row only has the total as of the
        // match's last change, so it is taken from the bets.
        let progress: BTreeMap<(u64, u16), (i64, Option<i64>)> = sqlx::query_as::<_, (u64, u16, i64, Option<i64>)>(
            "SELECT market_id, CAST(uid % ? AS UNSIGNED), COUNT(*), CAST(SUM(payout) AS SIGNED) FROM bets \
             WHERE market_id BETWEEN ? AND ? AND state <> 'open' GROUP BY 1, 2",
        )
        .bind(SHARDS)
        .bind(first.id)
        .bind(last.id)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|(mid, shard, n, paid)| ((mid, shard), (n, paid)))
        .collect();
        for m in &page {
            let mut fields = vec![
                ("id", m.id.to_string()),
                ("type", m.kind.clone()),
                ("title", m.title.clone()),
                ("team_a", m.team_a.clone()),
                ("team_b", m.team_b.clone()),
                ("start_at", m.start_at.to_string()),
                ("state", m.state.to_string()),
                ("live", m.live.to_string()),
                ("options", m.options.clone()),
                ("odds_ver", m.odds_ver.to_string()),
                ("min_stake", m.min_stake.to_string()),
                ("max_stake", m.max_stake.to_string()),
                ("result", m.result.clone()),
                ("external_id", m.external_id.clone()),
                ("created_at", m.created_at.to_string()),
                ("updated_at", m.updated_at.to_string()),
                ("ver", m.ver.to_string()),
            ];
            if m.parent_id != 0 {
                fields.push(("parent", m.parent_id.to_string()));
            }
            if !m.market.is_empty() {
                fields.push(("market", m.market.clone()));
            }
            if !m.stream_url.is_empty() {
                fields.push(("stream_url", m.stream_url.clone()));
            }
            if let Some(ids) = markets.get(&m.id) {
                fields.push(("markets", ids.join(",")));
            }
            // The odds of each option as place_bet.lua reads them (match_create.lua writes them).
            let options: Vec<common::matches::MatchOption> = serde_json::from_str(&m.options)
                .map_err(|e| anyhow::anyhow!("match {}: options are not readable: {e}", m.id))?;
            let odds: Vec<(String, String)> =
                options.iter().map(|o| (format!("odds:{}", o.key), o.odds.to_string())).collect();
            fields.extend(odds.iter().map(|(k, v)| (k.as_str(), v.clone())));
            // Each shard's copy (match_copy.lua's fields) with its own progress (settle_batch.lua
            // creates both counters with the shard's first settled bet); the catalogue record
            // with the sums.
            let copied: Vec<(&str, String)> =
                fields.iter().filter(|(f, _)| common::matches::is_copied(f)).cloned().collect();
            let (mut settled, mut paid) = (0i64, 0i64);
            for shard in 0..SHARDS {
                let mut copy = copied.clone();
                if let Some((n, p)) = progress.get(&(m.id, shard)).filter(|(n, _)| *n > 0) {
                    copy.extend([("settled", n.to_string()), ("paid", p.unwrap_or(0).to_string())]);
                    settled += n;
                    paid += p.unwrap_or(0);
                }
                w.hset(k.match_copy(shard, m.id), copy).await?;
            }
            // match_finish.lua writes the sums when it finishes the match (zero too).
            let finished = [MatchState::Settled, MatchState::Credited, MatchState::Refunded, MatchState::Closed];
            if finished.iter().any(|s| i64::from(s.code()) == i64::from(m.state)) {
                fields.extend([("settled", settled.to_string()), ("paid", paid.to_string())]);
            }
            w.hset(k.match_(m.id), fields).await?;
            report.matches += 1;
            let member = m.id.to_string();
            let score = m.start_at as f64;
            // A market is in no index and has no delayed events of its own (its match's start
            // starts it); a settlement it was due is queued as a match's.
            let state = if m.parent_id == 0 { MatchState::from_code(m.state as i64) } else { None };
            match state {
                Some(state) => match state.index(m.live == 1) {
                    Index::Pending => w.zadd(k.matches_pending(), vec![(score, member.clone())]).await?,
                    family => {
                        for of in ["all", m.kind.as_str()] {
                            w.zadd(k.matches_index(family.name(), of), vec![(score, member.clone())]).await?;
                        }
                    }
                },
                None if m.parent_id != 0 => {}
                None => report.warnings.push(format!("match {}: unknown state {}; not indexed", m.id, m.state)),
            }
            if !m.external_id.is_empty() {
                w.set(k.match_ext(&m.external_id), member.clone()).await?;
            }
            // Delayed events of a match that has not started (as match_create.lua schedules them).
            if m.parent_id == 0 && m.live == 0 && (-1..=2).contains(&m.state) {
                let auto_start = Bytes::from(rmp_serde::to_vec_named(&Event::AutoStart { match_id: m.id })?);
                let mut due = vec![(score, auto_start)];
                let lead = opts.reminder_before_ms;
                if lead > 0 && m.start_at > lead && m.start_at - lead > now {
                    let reminder = Bytes::from(rmp_serde::to_vec_named(&Event::Reminder { match_id: m.id })?);
                    due.push(((m.start_at - lead) as f64, reminder));
                }
                report.delayed_events += due.len() as u64;
                w.zadd(k.sched(), due).await?;
            }
            // Settlement that was due or under way.
            let job = match m.state {
                3 => Some(("settle", m.result.clone())),
                6 | 7 => Some(("refund", String::new())),
                _ => None,
            };
            if let Some((kind, winner)) = job {
                let job =
                    SettleJob { kind: kind.into(), match_id: m.id, winner, ts: now, helper: false, part: 0, parts: 0 };
                w.lpush(k.settle(), Bytes::from(rmp_serde::to_vec_named(&job)?)).await?;
                report.settle_jobs += 1;
            }
        }
        if page.len() as u64 != ROWS {
            return Ok(());
        }
        after = last.id;
    }
}
