//! The local Redis Cluster (`scripts/cluster.sh`, docs/scaling.md): the shard tags hash where the
//! cluster says they do, spread evenly over its primaries, and the one Redis client reaches it from
//! its `redis-cluster://` URL.

use std::collections::HashMap;

use common::shards::{self, SHARDS};
use fred::prelude::*;
use fred::types::{ClusterHash, CustomCommand};
use test_support::TestEnv;
use test_support::redis_server::cluster_url;

#[tokio::test]
async fn the_shard_tags_hash_where_the_cluster_says_and_its_primaries_hold_them_evenly() {
    let env = TestEnv::new().await;
    let mut cfg = env.cfg.redis.clone();
    cfg.url = cluster_url().await;
    let redis = common::Redis::new(&cfg).expect("a clustered client from the URL");
    redis.ready().await.expect("the cluster answers");

    // Which primary serves each slot, as the cluster itself says (CLUSTER SHARDS would do too).
    let nodes: String = redis
        .pool
        .custom(CustomCommand::new_static("CLUSTER", ClusterHash::FirstKey, false), vec!["NODES"])
        .await
        .unwrap();
    let mut ranges: Vec<(String, u16, u16)> = Vec::new();
    for line in nodes.lines().filter(|l| l.contains("master") && !l.contains("fail")) {
        let fields: Vec<&str> = line.split(' ').collect();
        for range in &fields[8..] {
            let (a, b) = range.split_once('-').unwrap_or((range, range));
            ranges.push((fields[1].to_owned(), a.parse().unwrap(), b.parse().unwrap()));
        }
    }
    let mut per_primary: HashMap<String, u32> = HashMap::new();
    for s in 0..SHARDS {
        let key = format!("{{{}}}:wallet:7", shards::tag(s));
        let slot: u16 = redis
            .pool
            .custom(CustomCommand::new_static("CLUSTER", ClusterHash::FirstKey, false), vec!["KEYSLOT", key.as_str()])
            .await
            .unwrap();
        assert_eq!(slot, shards::slot(&key), "{key}: the cluster and matchday agree on its slot");
        let (primary, _, _) = ranges.iter().find(|(_, a, b)| (*a..=*b).contains(&slot)).expect("every slot is served");
        *per_primary.entry(primary.clone()).or_default() += 1;
    }
    let even = f64::from(SHARDS) / per_primary.len() as f64;
    assert_eq!(per_primary.len(), 3, "{per_primary:?}");
    for (primary, n) in &per_primary {
        assert!((f64::from(*n) - even).abs() <= 0.2 * even, "{primary} holds {n} of {SHARDS} shards: {per_primary:?}");
    }
    redis.close().await;
}
