//! A bot: signs up (or logs in), lists the open matches, bets 10 coins on the first option of the
//! first one, then prints the pushes that arrive for a while. It resumes its session on a new
//! connection once, as a mobile client does after a drop.
//!
//! ```text
//! cargo run -p matchday-client --example bot -- ws://127.0.0.1:7001/ws botty s3cret-pass
//! ```

use std::time::Duration;

use matchday_client::protocol::body::{ListMatches, PlaceBet, ReqId};
use matchday_client::protocol::matches::MatchState;
use matchday_client::{Client, ClientError};

#[tokio::main]
async fn main() -> Result<(), ClientError> {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "ws://127.0.0.1:7001/ws".into());
    let username = args.next().unwrap_or_else(|| "botty".into());
    let password = args.next().unwrap_or_else(|| "s3cret-pass".into());

    let mut client = Client::connect(&url).await?;
    match client.register(&username, &password).await {
        Ok(uid) => println!("registered {username} as user {uid}"),
        Err(e) if e.code() == Some(1002) => println!("{username} exists; logging in"),
        Err(e) => return Err(e),
    }
    let session = client.login(&username, &password).await?;
    println!("logged in as user {}, balance {}", session.user_id, session.balance);

    // A dropped connection: connect again and resume. The reply carries a new token.
    let token = client.token().unwrap_or_default().to_owned();
    client = Client::connect(&url).await?;
    client.resume(&token).await?;

    let open = ListMatches { state: Some(MatchState::Open as i8), ..ListMatches::default() };
    let matches = client.list_matches(&open).await?;
    println!("{} open matches", matches.len());
    if let Some(m) = matches.first() {
        let option = m.options.first().map(|o| o.key.clone()).unwrap_or_default();
        let bet = PlaceBet {
            match_id: m.match_id,
            market_id: None,
            option,
            stake: 10,
            odds_ver: m.odds_ver,
            req_id: ReqId::Text(format!("{username}-{}", client.ping().await?)),
        };
        match client.place_bet(&bet).await {
            Ok(placed) => println!("bet {} placed on {:?}, balance {}", placed.bet_id, m.title, placed.balance),
            Err(e) => println!("no bet: {e}"),
        }
    }

    // Pushes (settlements, balance changes, announcements) for ten seconds.
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Ok(push) = tokio::time::timeout_at(until, client.next_push()).await {
        let push = push?;
        println!("push {}: {}", push.head.id, push.json()?);
    }
    client.close().await
}
