//! 100 ping → `{ ts }`, the server time in Unix ms. Allowed before login.

use protocol::body::PingReply;

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

pub async fn handle(_ctx: &Ctx, _req: &Request) -> Result<Reply, AppError> {
    Reply::new(&PingReply { ts: common::time::now_ms() })
}
