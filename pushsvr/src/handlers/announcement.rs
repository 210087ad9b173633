//! `announcement` (from gm, now or scheduled) → 903 `{ text }` to every connection of every live
//! connect node. Users who are offline do not get it later.

use protocol::body::AnnouncementPush;
use protocol::msg::PUSH_ANNOUNCEMENT;

use crate::deliver::{self, Push};
use crate::{Ctx, Stats};

pub async fn handle(ctx: &Ctx, id: &str, text: &str) -> anyhow::Result<()> {
    let push = Push::new(
        PUSH_ANNOUNCEMENT,
        &AnnouncementPush { text: text.to_owned(), match_id: None, notice_id: None, title: None },
    )?;
    let nodes = deliver::broadcast(ctx, &push).await?;
    Stats::add(&ctx.stats.broadcasts, 1);
    tracing::info!(announcement.id = %id, nodes, "announcement broadcast");
    Ok(())
}
