//! The integration tests: one binary, one module per area (each test builds its own world with
//! test-support: its own Redis prefix and MySQL database). `cargo test --test it` runs them all;
//! `scripts/test.sh --fast` the fast tier (docs/testing.md).

mod auth;
mod ban;
mod bench;
mod betting;
mod chaos;
mod columns;
mod connect_guard;
mod console;
mod dbsvr;
mod docs;
mod drain;
mod e2e;
mod gm;
mod gm_guard;
mod hostile;
mod lua;
mod metrics;
mod openapi;
mod outage;
mod protocol_doc;
mod push;
mod python_client;
mod queue;
mod recovery;
mod replication;
mod scaling;
mod settle;
mod store;
