//! [`Writer`]: the pipelined Redis writes a restore is made of.

use anyhow::Context;
use bytes::Bytes;
use common::Redis;
use fred::clients::Pipeline;
use fred::prelude::*;

use super::{PIPELINE, VALUES};

/// Queues commands on a pipeline and sends them [`PIPELINE`] at a time, failing on any error.
pub(super) struct Writer<'a> {
    pub(super) redis: &'a Redis,
    pipe: Pipeline<Client>,
    queued: usize,
    pub(super) sent: u64,
}

impl<'a> Writer<'a> {
    pub(super) fn new(redis: &'a Redis) -> Writer<'a> {
        Writer { redis, pipe: redis.pool.next().pipeline(), queued: 0, sent: 0 }
    }

    async fn queued(&mut self) -> anyhow::Result<()> {
        self.queued += 1;
        if self.queued >= PIPELINE {
            self.flush().await?;
        }
        Ok(())
    }

    pub(super) async fn flush(&mut self) -> anyhow::Result<()> {
        if self.queued == 0 {
            return Ok(());
        }
        let pipe = std::mem::replace(&mut self.pipe, self.redis.pool.next().pipeline());
        let replies: Vec<Result<fred::types::Value, fred::error::Error>> = pipe.try_all().await;
        for r in replies {
            r.context("a Redis write failed; the prefix is partly restored (delete its keys and run restore again)")?;
        }
        self.sent += self.queued as u64;
        self.queued = 0;
        Ok(())
    }

    pub(super) async fn hset(&mut self, key: String, fields: Vec<(&str, String)>) -> anyhow::Result<()> {
        let _: () = self.pipe.hset(key, fields).await?;
        self.queued().await
    }

    /// HSET of binary values (records), in parts of [`VALUES`] fields.
    pub(super) async fn hset_bytes(&mut self, key: String, fields: Vec<(String, Bytes)>) -> anyhow::Result<()> {
        for part in fields.chunks(VALUES) {
            let _: () = self.pipe.hset(key.clone(), part.to_vec()).await?;
            self.queued().await?;
        }
        Ok(())
    }

    pub(super) async fn set(&mut self, key: String, value: String) -> anyhow::Result<()> {
        let _: () = self.pipe.set(key, value, None, None, false).await?;
        self.queued().await
    }

    pub(super) async fn expire(&mut self, key: String, seconds: u64) -> anyhow::Result<()> {
        let _: () = self.pipe.expire(key, seconds as i64, None).await?;
        self.queued().await
    }

    pub(super) async fn hincrby(&mut self, key: String, field: &str, by: i64) -> anyhow::Result<()> {
        let _: () = self.pipe.hincrby(key, field, by).await?;
        self.queued().await
    }

    pub(super) async fn rpush(&mut self, key: String, values: Vec<Bytes>) -> anyhow::Result<()> {
        for part in values.chunks(VALUES) {
            let _: () = self.pipe.rpush(key.clone(), part.to_vec()).await?;
            self.queued().await?;
        }
        Ok(())
    }

    pub(super) async fn lpush(&mut self, key: String, value: Bytes) -> anyhow::Result<()> {
        let _: () = self.pipe.lpush(key, value).await?;
        self.queued().await
    }

    pub(super) async fn zadd<V>(&mut self, key: String, members: Vec<(f64, V)>) -> anyhow::Result<()>
    where
        V: Into<fred::types::Value> + Clone + Send,
    {
        for part in members.chunks(VALUES) {
            let values: Vec<(f64, fred::types::Value)> = part.iter().map(|(s, m)| (*s, m.clone().into())).collect();
            let _: () = self.pipe.zadd(key.clone(), None, None, false, false, values).await?;
            self.queued().await?;
        }
        Ok(())
    }

    pub(super) async fn sadd(&mut self, key: String, members: Vec<String>) -> anyhow::Result<()> {
        for part in members.chunks(VALUES) {
            let _: () = self.pipe.sadd(key.clone(), part.to_vec()).await?;
            self.queued().await?;
        }
        Ok(())
    }
}
