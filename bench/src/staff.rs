//! What `bench bets` asks of gm, over its HTTP API like any staff tool (through the SDK's
//! [`matchday_client::Gm`]): make one match and open it for betting, fund the bench's players, and
//! read the match's bet count and pool back.

use std::collections::HashMap;

use matchday_client::Gm;
use serde::Deserialize;
use serde_json::json;

/// gm at `base` (e.g. `http://127.0.0.1:7002`), as a staff member holding an admin `token`.
pub struct Staff {
    gm: Gm,
}

/// The part of gm's match view the bench checks.
#[derive(Debug, Deserialize)]
pub struct MatchView {
    pub bet_count: u64,
    pub pool: HashMap<String, i64>,
}

impl Staff {
    pub fn new(base: &str, token: &str) -> Staff {
        Staff { gm: Gm::new(base).with_token(token) }
    }

    /// Creates a match (options `a` 1.85 and `b` 2.133, stakes 1..=max_stake), approves it and
    /// opens betting; returns its id and odds version.
    pub async fn open_match(&self, title: &str, max_stake: i64) -> anyhow::Result<(u64, u64)> {
        let start_at = common::time::now_ms() + 86_400_000;
        let spec = json!({
            "type": "lol", "title": title, "teams": ["Bench Blue", "Bench Red"], "start_at": start_at,
            "options": [{"key": "a", "label": "Blue", "odds": 1850}, {"key": "b", "label": "Red", "odds": 2133}],
            "min_stake": 1, "max_stake": max_stake,
        });
        let mid = self.gm.create_match(&spec).await?;
        self.gm.approve_match(mid).await?;
        let odds_ver = self.gm.open_match(mid).await?;
        Ok((mid, odds_ver))
    }

    /// Grants `amount` coins to `uid` once per `request_id`; returns the balance after.
    pub async fn grant(&self, uid: u64, amount: i64, request_id: &str) -> anyhow::Result<i64> {
        Ok(self.gm.grant(uid, amount, "matchday bench", request_id).await?)
    }

    pub async fn match_view(&self, mid: u64) -> anyhow::Result<MatchView> {
        Ok(self.gm.get(&format!("/api/matches/{mid}")).await?)
    }
}
