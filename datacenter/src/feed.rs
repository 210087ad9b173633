//! The feed document (docs/gm.md "Data feeds"): `{"matches": [item, ...]}`, each item a match as
//! gm's import takes it, plus what the feed knows of its fate (`status`, `winner`). An item that
//! does not read as one is rejected alone; the others are applied.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the feed says of a match now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Coming (or under way): create it, keep it up to date.
    #[default]
    Scheduled,
    /// Called off: cancel it (every stake refunded).
    Cancelled,
    /// Over: `winner` names the winning option.
    Finished,
}

/// One option of an item.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct FeedOption {
    pub key: String,
    pub label: String,
    pub odds: i64,
}

/// One match of a feed.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Item {
    /// The feed's id of the match: the same match in every pull.
    pub external_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub teams: Vec<String>,
    /// Unix ms.
    pub start_at: u64,
    pub options: Vec<FeedOption>,
    pub min_stake: i64,
    pub max_stake: i64,
    #[serde(default)]
    pub status: Status,
    /// The winning option's key, with `status: finished`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub winner: Option<String>,
}

impl Item {
    /// The body gm's import takes for this item.
    pub fn import_body(&self) -> Value {
        serde_json::json!({ "matches": [{
            "external_id": self.external_id, "type": self.kind, "title": self.title, "teams": self.teams,
            "start_at": self.start_at, "options": self.options, "min_stake": self.min_stake, "max_stake": self.max_stake,
        }] })
    }
}

/// The items of a feed document, each read on its own: an item that does not read is an Err with
/// the reason (and its external id when it has one). Err for the whole document when it is not one.
pub fn items(doc: &Value) -> Result<Vec<Result<Item, String>>, String> {
    let list = doc.get("matches").and_then(Value::as_array).ok_or("not a feed document: no `matches` list")?;
    Ok(list
        .iter()
        .map(|v| {
            serde_json::from_value::<Item>(v.clone()).map_err(|e| {
                let id = v.get("external_id").and_then(Value::as_str).unwrap_or("?");
                format!("item {id}: {e}")
            })
        })
        .map(|r| {
            r.and_then(|item| match (item.status, &item.winner) {
                (Status::Finished, None) => Err(format!("item {}: finished without a winner", item.external_id)),
                _ => Ok(item),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_read_item_by_item() {
        let doc = serde_json::json!({"matches": [
            {"external_id": "m1", "type": "lol", "title": "A vs B", "teams": ["A", "B"], "start_at": 1,
             "options": [{"key": "a", "label": "A", "odds": 1500}], "min_stake": 1, "max_stake": 10},
            {"external_id": "m2", "title": "no type"},
            {"external_id": "m3", "type": "lol", "title": "C vs D", "teams": ["C", "D"], "start_at": 1,
             "options": [], "min_stake": 1, "max_stake": 10, "status": "finished"},
        ]});
        let items = items(&doc).unwrap();
        assert_eq!(items[0].as_ref().unwrap().status, Status::Scheduled);
        assert!(items[1].as_ref().unwrap_err().starts_with("item m2: missing field"));
        assert_eq!(items[2].as_ref().unwrap_err(), "item m3: finished without a winner");
        assert!(super::items(&serde_json::json!({"games": []})).is_err());
    }
}
