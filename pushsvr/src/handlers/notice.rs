//! `notice` (gm published one, now or at its scheduled time) → 903 `{ text, title?, notice_id,
//! match_id? }` to its audience online: every connection (for everyone), the user's, or those of
//! the match's bettors (of any of its markets). Offline players find it on their board (214), so
//! nothing is kept for them. A notice withdrawn (or expired) before it was due is not pushed.

use common::notices::{Notice, Target};
use protocol::body::AnnouncementPush;
use protocol::msg::PUSH_ANNOUNCEMENT;

use crate::deliver::{self, Offline, Push};
use crate::{Ctx, Stats};

pub async fn handle(ctx: &Ctx, id: &str) -> anyhow::Result<()> {
    let Some(notice) = common::notices::load_many(&ctx.redis, &[id.to_owned()]).await?.pop() else {
        tracing::debug!(notice.id = %id, "notice due but gone; not pushed");
        return Ok(());
    };
    if notice.withdrawn.is_some() {
        tracing::info!(notice.id = %id, "notice withdrawn before it was due; not pushed");
        return Ok(());
    }
    let push = Push::new(PUSH_ANNOUNCEMENT, &body(&notice))?;
    let reached = match notice.target {
        Target::All => {
            Stats::add(&ctx.stats.broadcasts, 1);
            deliver::broadcast(ctx, &push).await?
        }
        Target::User(uid) => deliver::to_user(ctx, uid, &[push], Offline::Drop).await?.connections as u64,
        Target::Match(mid) => {
            let markets = match common::matches::load(&ctx.redis, mid).await? {
                Some(m) => std::iter::once(mid).chain(m.markets).collect(),
                None => vec![mid],
            };
            deliver::to_bettors(ctx, &markets, &[push], Offline::Drop).await?
        }
    };
    tracing::info!(notice.id = %id, target = notice.target.kind(), reached, "notice pushed");
    Ok(())
}

fn body(n: &Notice) -> AnnouncementPush {
    AnnouncementPush {
        text: n.text.clone(),
        match_id: match n.target {
            Target::Match(mid) => Some(mid),
            _ => None,
        },
        notice_id: Some(n.id.clone()),
        title: n.title.clone(),
    }
}
