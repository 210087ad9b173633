//! Dead letters: frames a queue's consumers could never handle (`q:dead:{queue}`, capped and
//! expiring), listed, read — decoded, with passwords, password hashes and session tokens shown as
//! "***" — and given another chance once the cause is fixed (dead_requeue.lua). Admin only: dead
//! client frames hold what players sent.

use axum::extract::State;
use bytes::Bytes;
use common::store::dead_requeue;
use fred::prelude::*;
use serde_json::Value;

use crate::AppState;
use crate::audit;
use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody, JsonBody, QueryParams};
use crate::model::*;

/// Field names whose values are never shown.
const SECRET: &[&str] = &["password", "pw", "token", "secret"];

/// Every dead list with frames, and the queue each belongs to.
#[utoipa::path(get, path = "/api/dead", operation_id = "list_dead", tag = "ops",
    responses((status = 200, body = DeadLists), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn lists(State(st): State<AppState>, Admin(_staff): Admin) -> Result<axum::Json<DeadLists>, ApiError> {
    let prefix = st.redis.keys.prefix().to_owned();
    let mut keys = st.redis.scan("q:dead:*").await?;
    keys.sort();
    let mut items = Vec::new();
    for key in keys {
        let kind: String = st.redis.pool.r#type(&key).await?;
        if kind != "list" {
            continue;
        }
        let depth: i64 = st.redis.pool.llen(&key).await?;
        let name = key.strip_prefix(&prefix).unwrap_or(&key).to_owned();
        let queue = name.strip_prefix("q:dead:").unwrap_or(&name).to_owned();
        items.push(DeadList { name, queue, depth });
    }
    Ok(axum::Json(DeadLists { items }))
}

/// The frames of one dead list, newest first, decoded (secrets shown as "***").
#[utoipa::path(get, path = "/api/dead/entries", operation_id = "dead_entries", tag = "ops", params(DeadQuery),
    responses((status = 200, body = DeadEntries), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn entries(
    State(st): State<AppState>,
    Admin(_staff): Admin,
    QueryParams(q): QueryParams<DeadQuery>,
) -> Result<axum::Json<DeadEntries>, ApiError> {
    let key = dead_key(&st, &q.list).await?;
    let limit = q.limit.unwrap_or(20).clamp(1, 200) as i64;
    let start = q.offset as i64;
    let raw: Vec<bytes::Bytes> = st.redis.pool.lrange(&key, start, start + limit - 1).await?;
    let depth: i64 = st.redis.pool.llen(&key).await?;
    let items = raw
        .iter()
        .enumerate()
        .map(|(i, b)| DeadEntry { index: q.offset + i, size: b.len(), frame: decode(b) })
        .collect();
    Ok(axum::Json(DeadEntries { list: q.list, depth, items }))
}

/// Move the oldest `count` frames of a dead list back to their queue (dbsvr's dead records: the
/// change record they hold), to be handled again; a frame another requeue moved meanwhile is not
/// moved twice. Audited.
#[utoipa::path(post, path = "/api/dead/requeue", operation_id = "requeue_dead", tag = "ops", request_body = DeadRequeue,
    responses((status = 200, body = DeadRequeued), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn requeue(
    State(st): State<AppState>,
    Admin(staff): Admin,
    JsonBody(body): JsonBody<DeadRequeue>,
) -> Result<axum::Json<DeadRequeued>, ApiError> {
    let count = body.count.unwrap_or(1);
    if !(1..=1000).contains(&count) {
        return Err(ApiError::invalid("count", "1 to 1000"));
    }
    let dead = dead_key(&st, &body.list).await?;
    let queue = full_key(&st, body.list.strip_prefix("q:dead:").unwrap_or(&body.list));
    // The oldest first (the newest are at the left); dbsvr's dead records go back as the change
    // record they hold.
    let oldest: Vec<Bytes> = st.redis.pool.lrange(&dead, -(count as i64), -1).await?;
    let frames: Vec<(Bytes, Bytes)> = oldest
        .into_iter()
        .rev()
        .map(|raw| {
            let push = rmp_serde::from_slice::<DeadRecord>(&raw)
                .map_or_else(|_| raw.clone(), |d| Bytes::from(d.record.into_vec()));
            (raw, push)
        })
        .collect();
    let args = dead_requeue::Args { dead: &dead, queue: &queue, frames: &frames };
    let dead_requeue::Outcome::Moved { moved } = dead_requeue::call(&st.redis, &args).await?;
    let target = format!("dead:{}", body.list);
    let record = audit::record(&staff, "dead.requeue", &target, &serde_json::json!({ "count": count, "moved": moved }));
    st.redis
        .pool
        .lpush::<(), _, _>(st.redis.keys.outbox(common::shards::Home::Global), bytes::Bytes::from(record))
        .await?;
    audit::log(&staff, "dead.requeue", &target);
    Ok(axum::Json(DeadRequeued { list: body.list, moved }))
}

/// The full key of dead list `list` (a name as `GET /api/dead` gives it), or 404.
async fn dead_key(st: &AppState, list: &str) -> Result<String, ApiError> {
    if !list.starts_with("q:dead:") || list.contains(char::is_whitespace) {
        return Err(ApiError::invalid("list", "a dead list's name from GET /api/dead (q:dead:…)"));
    }
    let key = full_key(st, list);
    let kind: String = st.redis.pool.r#type(&key).await?;
    if kind != "list" {
        return Err(ApiError::NotFound(format!("no dead list {list}")));
    }
    Ok(key)
}

/// A list's key from its name as `GET /api/dead` shows it (the key Redis listed, without the
/// deployment's prefix): the key module builds every dead list and queue; these names come back
/// from a SCAN of them.
fn full_key(st: &AppState, name: &str) -> String {
    format!("{}{name}", st.redis.keys.prefix())
}

/// dbsvr's dead record (dbsvr/src/flush.rs): why, the change record, when.
#[derive(serde::Deserialize)]
struct DeadRecord {
    reason: String,
    record: serde_bytes::ByteBuf,
    #[serde(default)]
    ts: u64,
}

/// A dead frame as JSON: MessagePack decoded (dbsvr's dead record with the change record it
/// holds decoded too), secrets hidden; else the bytes as hex.
fn decode(bytes: &[u8]) -> Value {
    let mut v = if let Ok(d) = rmp_serde::from_slice::<DeadRecord>(bytes) {
        let record = rmp_serde::from_slice::<Value>(&d.record)
            .unwrap_or_else(|_| serde_json::json!({ "undecodable": hex::encode(&d.record) }));
        serde_json::json!({ "reason": d.reason, "record": record, "ts": d.ts })
    } else if let Ok(v) = rmp_serde::from_slice::<Value>(bytes) {
        v
    } else {
        return serde_json::json!({ "undecodable": hex::encode(bytes) });
    };
    hide(&mut v);
    v
}

fn hide(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if SECRET.contains(&k.as_str()) {
                    *val = Value::String("***".into());
                } else {
                    hide(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(hide),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hidden_at_any_depth_and_a_dead_record_is_read_inside() {
        let frame =
            rmp_serde::to_vec(&serde_json::json!([{"id": 101}, {"username": "neo", "password": "s3cret"}])).unwrap();
        assert_eq!(decode(&frame), serde_json::json!([{"id": 101}, {"username": "neo", "password": "***"}]));
        let record = rmp_serde::to_vec_named(
            &serde_json::json!({"table": "user", "fields": {"pw": "$argon2id$x", "username": "neo"}}),
        )
        .unwrap();
        #[derive(serde::Serialize)]
        struct Dead<'a> {
            reason: &'a str,
            #[serde(with = "serde_bytes")]
            record: &'a [u8],
        }
        let dead = rmp_serde::to_vec_named(&Dead { reason: "too long", record: &record }).unwrap();
        assert_eq!(
            decode(&dead),
            serde_json::json!({"reason": "too long", "record": {"table": "user", "fields": {"pw": "***", "username": "neo"}}, "ts": 0})
        );
        assert!(decode(&[0xc1]).get("undecodable").is_some());
    }
}
