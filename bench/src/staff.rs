//! What `bench bets` asks of gm, over its HTTP API like any staff tool: make one match and open it
//! for betting, fund the bench's players, and read the match's bet count and pool back.

use std::collections::HashMap;

use anyhow::Context;
use serde::Deserialize;
use serde_json::{Value, json};

/// gm at `base` (e.g. `http://127.0.0.1:7002`), as a staff member holding an admin `token`.
pub struct Staff {
    base: String,
    token: String,
    http: reqwest::Client,
}

/// The part of gm's match view the bench checks.
#[derive(Debug, Deserialize)]
pub struct MatchView {
    pub bet_count: u64,
    pub pool: HashMap<String, i64>,
}

impl Staff {
    pub fn new(base: &str, token: &str) -> Staff {
        Staff { base: base.trim_end_matches('/').to_owned(), token: token.to_owned(), http: reqwest::Client::new() }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.with_context(|| format!("gm {method} {path}: no answer from {}", self.base))?;
        let status = res.status();
        let text = res.text().await?;
        anyhow::ensure!(status.is_success(), "gm {method} {path}: {status}: {text}");
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
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
        let created = self.call(reqwest::Method::POST, "/api/matches", Some(spec)).await?;
        let mid = created["match_id"].as_u64().context("gm's match has no match_id")?;
        self.call(reqwest::Method::POST, &format!("/api/matches/{mid}/approve"), None).await?;
        let opened = self.call(reqwest::Method::POST, &format!("/api/matches/{mid}/open"), None).await?;
        let odds_ver = opened["odds_ver"].as_u64().context("gm's match has no odds_ver")?;
        Ok((mid, odds_ver))
    }

    /// Grants `amount` coins to `uid` once per `request_id`; returns the balance after.
    pub async fn grant(&self, uid: u64, amount: i64, request_id: &str) -> anyhow::Result<i64> {
        let body = json!({"amount": amount, "reason": "matchday bench", "request_id": request_id});
        let res = self.call(reqwest::Method::POST, &format!("/api/users/{uid}/grant"), Some(body)).await?;
        res["balance"].as_i64().context("gm's grant reply has no balance")
    }

    pub async fn match_view(&self, mid: u64) -> anyhow::Result<MatchView> {
        let v = self.call(reqwest::Method::GET, &format!("/api/matches/{mid}"), None).await?;
        Ok(serde_json::from_value(v)?)
    }
}
