//! Reading both stores a chunk of ids at a time, and their values in one comparable form.

use std::collections::HashMap;
use std::fmt;

use common::Redis;
use fred::prelude::*;
use sqlx::mysql::MySqlRow;
use sqlx::{FromRow, MySql, MySqlPool, QueryBuilder};

/// HGETALL of every key, in one pipeline.
pub(super) async fn hashes(
    redis: &Redis,
    keys: impl Iterator<Item = String>,
) -> anyhow::Result<Vec<HashMap<String, String>>> {
    let pipe = redis.pool.next().pipeline();
    for key in keys {
        let _: () = pipe.hgetall(key).await?;
    }
    Ok(Redis::each(pipe).await?)
}

/// The named `fields` of each hash (those it lacks left out): for hashes that hold more than a
/// check reads (a wallet keeps every bet request's reply).
pub(super) async fn hash_fields(
    redis: &Redis,
    keys: impl Iterator<Item = String>,
    fields: &[&str],
) -> anyhow::Result<Vec<HashMap<String, String>>> {
    let pipe = redis.pool.next().pipeline();
    for key in keys {
        let _: () = pipe.hmget(key, fields.to_vec()).await?;
    }
    let values: Vec<Vec<Option<String>>> = Redis::each(pipe).await?;
    Ok(values
        .into_iter()
        .map(|vs| fields.iter().zip(vs).filter_map(|(f, v)| v.map(|v| ((*f).to_owned(), v))).collect())
        .collect())
}

/// Rows of `select` (which ends in `… IN (`) for `ids`, then `tail`.
pub(super) async fn rows<T>(pool: &MySqlPool, select: &str, ids: &[u64], tail: &str) -> anyhow::Result<Vec<T>>
where
    T: for<'r> FromRow<'r, MySqlRow> + Send + Unpin,
{
    let mut q = QueryBuilder::<MySql>::new(select);
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    list.push_unseparated(")");
    q.push(tail);
    Ok(q.build_query_as::<T>().fetch_all(pool).await?)
}

/// A Redis hash field as compared: the integer it holds, `none` when missing, or the raw text
/// (quoted) when it is not an integer.
pub(super) fn rnum(h: &HashMap<String, String>, k: &str) -> String {
    match h.get(k) {
        None => "none".into(),
        Some(v) => v.trim().parse::<i64>().map_or_else(|_| format!("{v:?}"), |n| n.to_string()),
    }
}

/// A Redis hash field as compared when it is text: quoted, or `none`.
pub(super) fn rstr(h: &HashMap<String, String>, k: &str) -> String {
    h.get(k).map_or_else(|| "none".into(), |v| format!("{v:?}"))
}

pub(super) fn num(v: impl fmt::Display) -> String {
    v.to_string()
}

pub(super) fn text(v: &str) -> String {
    format!("{v:?}")
}

pub(super) fn missing(in_redis: bool, in_mysql: bool) -> Option<&'static str> {
    match (in_redis, in_mysql) {
        (true, false) => Some("missing in mysql"),
        (false, true) => Some("missing in redis"),
        _ => None,
    }
}
