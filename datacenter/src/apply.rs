//! Applying one feed item through gm's API, as the staff member whose token datacenter holds (so
//! gm validates, audits and runs every change as it does a person's): import it (idempotent by
//! external id: a known one creates nothing), bring a known match's title, teams and start time to
//! the feed's, cancel it when the feed calls it off, and take the feed's winner — settled at once
//! with `auto_settle`, else kept as the match's `feed_result` for staff to confirm.

use common::config::FeedConfig;
use matchday_client::{Gm, GmError};
use serde_json::{Value, json};

use crate::feed::{Item, Status};

/// What one item changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    Created,
    Updated,
    Cancelled,
    /// The feed's winner kept for staff to confirm.
    ResultProposed,
    /// The feed's winner set as the result (auto_settle).
    Settled,
}

impl Applied {
    pub fn name(self) -> &'static str {
        match self {
            Applied::Created => "created",
            Applied::Updated => "updated",
            Applied::Cancelled => "cancelled",
            Applied::ResultProposed => "result_proposed",
            Applied::Settled => "settled",
        }
    }
}

/// Why an item was not (wholly) applied.
#[derive(Debug)]
pub enum Failure {
    /// gm refused it (400: it is malformed): nothing of it was applied; the next pull tries again.
    Rejected(String),
    /// gm did not answer, or answered 503: the pull stops here and is retried.
    Unavailable(GmError),
}

fn failure(e: GmError) -> Failure {
    match e {
        GmError::Api { status: 400, message, .. } => Failure::Rejected(message),
        e => Failure::Unavailable(e),
    }
}

/// A 409 (the match's state does not allow it now) is not a failure of the feed: skipped.
fn allowed(r: Result<Value, GmError>) -> Result<bool, Failure> {
    match r {
        Ok(_) => Ok(true),
        Err(GmError::Api { status: 409, message, .. }) => {
            tracing::debug!(%message, "the feed's change is not allowed in the match's state; skipped");
            Ok(false)
        }
        Err(e) => Err(failure(e)),
    }
}

/// Applies `item`; what it changed (nothing when the match is as the feed says).
pub async fn item(gm: &Gm, feed: &FeedConfig, item: &Item) -> Result<Vec<Applied>, Failure> {
    let imported: Value = gm.post("/api/matches/import", &item.import_body()).await.map_err(failure)?;
    let entry = &imported["items"][0];
    let mid =
        entry["match_id"].as_u64().ok_or_else(|| Failure::Rejected(format!("gm's import answered {imported}")))?;
    let mut done = Vec::new();
    if entry["created"] == true {
        done.push(Applied::Created);
    }
    let path = format!("/api/matches/{mid}");
    let mut view: Value = gm.get(&path).await.map_err(failure)?;
    let edit = changes(&view, item);
    if !edit.as_object().is_some_and(|o| o.is_empty()) && entry["created"] != true {
        let patch = matchday_client::gm::Request::new("PATCH", &path).json(&edit);
        if allowed(gm.fetch::<Value>(patch).await)? {
            done.push(Applied::Updated);
            view = gm.get(&path).await.map_err(failure)?;
        }
    }
    let can = |view: &Value, action: &str| view["actions"].as_array().is_some_and(|a| a.iter().any(|x| x == action));
    match (item.status, item.winner.as_deref()) {
        (Status::Cancelled, _) if can(&view, "cancel") => {
            done.extend(
                allowed(gm.post::<Value>(&format!("{path}/cancel"), &json!({})).await)?.then_some(Applied::Cancelled),
            );
        }
        (Status::Finished, Some(winner)) if feed.auto_settle => {
            if can(&view, "start") && allowed(gm.post::<Value>(&format!("{path}/start"), &json!({})).await)? {
                view = gm.get(&path).await.map_err(failure)?;
            }
            if can(&view, "result")
                && allowed(gm.post::<Value>(&format!("{path}/result"), &json!({ "winner": winner })).await)?
            {
                done.push(Applied::Settled);
            }
        }
        (Status::Finished, Some(winner))
            if view["feed_result"].as_str() != Some(winner) && view["result"].is_null() =>
        {
            let patch = matchday_client::gm::Request::new("PATCH", &path).json(&json!({ "feed_result": winner }));
            done.extend(allowed(gm.fetch::<Value>(patch).await)?.then_some(Applied::ResultProposed));
        }
        _ => {}
    }
    Ok(done)
}

/// The fields of gm's view of a match that differ from the feed's: title and teams; the start time
/// while the match has not started.
fn changes(view: &Value, item: &Item) -> Value {
    let mut edit = serde_json::Map::new();
    if view["title"].as_str() != Some(item.title.as_str()) {
        edit.insert("title".into(), json!(item.title));
    }
    if view["teams"] != json!(item.teams) {
        edit.insert("teams".into(), json!(item.teams));
    }
    let movable = view["live"] == false && view["state"].as_i64().is_some_and(|s| (-1..=2).contains(&s));
    if movable && view["start_at"].as_u64() != Some(item.start_at) {
        edit.insert("start_at".into(), json!(item.start_at));
    }
    Value::Object(edit)
}
