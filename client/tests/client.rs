//! The WebSocket client against a scripted fake server (no services needed): seq matching with
//! replies out of order, the push queue, JSON frames, refusals, closes, and the resilient client's
//! reconnect + resume.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use matchday_client::{Client, ClientError, Format, Options, Resilient};
use protocol::codec::{decode_body, decode_client_frame, encode_frame};
use protocol::{ClientHead, ReplyHead, msg};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

type Ws = WebSocketStream<tokio::net::TcpStream>;

/// A server that runs `script` on each connection it accepts; returns its `ws://` URL.
async fn fake<F, Fut>(script: F) -> String
where
    F: Fn(Ws) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let script = std::sync::Arc::new(script);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let script = script.clone();
            tokio::spawn(async move {
                let ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
                script(ws).await;
            });
        }
    });
    format!("ws://{addr}/ws")
}

/// The next request: head and body (as JSON), whatever its format.
async fn request(ws: &mut Ws) -> Option<(ClientHead, Value)> {
    loop {
        match ws.next().await?.ok()? {
            Message::Binary(b) => {
                let (head, body) = decode_client_frame(&b).unwrap();
                return Some((head, decode_body::<Value>(body).unwrap()));
            }
            Message::Text(t) => return Some(serde_json::from_str(t.as_str()).unwrap()),
            _ => continue,
        }
    }
}

async fn reply(ws: &mut Ws, id: u16, seq: u32, code: u16, body: Value) {
    let frame = encode_frame(&ReplyHead { id, seq, code }, &body).unwrap();
    ws.send(Message::Binary(frame.into())).await.unwrap();
}

#[tokio::test]
async fn pipelined_replies_are_matched_by_seq_and_pushes_queued() {
    let url = fake(|mut ws| async move {
        let mut heads = Vec::new();
        for _ in 0..3 {
            heads.push(request(&mut ws).await.unwrap().0);
        }
        reply(&mut ws, msg::PUSH_BALANCE, 0, 0, json!({"balance": 5, "reason": "grant"})).await;
        for h in heads.iter().rev() {
            reply(&mut ws, h.id, h.seq, 0, json!({"seq": h.seq})).await;
        }
        while request(&mut ws).await.is_some() {}
    })
    .await;
    let mut c = Client::connect(&url).await.unwrap();
    let a = c.send(msg::PING, &json!({})).await.unwrap();
    let b = c.send(msg::BALANCE, &json!({})).await.unwrap();
    let d = c.send(msg::PROFILE, &json!({})).await.unwrap();
    c.flush().await.unwrap();
    assert_eq!((a, b, d), (1, 2, 3));
    // The reply to 2 arrives second (after 3): 3 is kept meanwhile.
    let r = c.reply_to(2).await.unwrap();
    assert_eq!((r.head.id, r.json().unwrap()["seq"].as_u64()), (msg::BALANCE, Some(2)));
    assert_eq!(c.next_reply().await.unwrap().head.seq, 3);
    assert_eq!(c.next_reply().await.unwrap().head.seq, 1);
    let push = c.take_push().expect("the push was queued");
    assert_eq!(push.decode::<protocol::body::BalancePush>().unwrap().balance, 5);
    assert!(c.take_push().is_none());
}

#[tokio::test]
async fn json_frames_refusals_and_the_session_token() {
    let url = fake(|mut ws| async move {
        let mut live = 0; // the token that resumes: t{live}
        while let Some((head, body)) = request(&mut ws).await {
            let (code, out) = match (head.id, body["password"].as_str(), body["token"].as_str()) {
                (msg::LOGIN, Some("right-pass"), _) => {
                    live = 1;
                    (0, json!({"user_id": 7, "token": "t1", "balance": 10}))
                }
                (msg::LOGIN, _, _) => (1001, json!({"msg": "wrong username or password"})),
                (msg::RESUME, _, Some(t)) if live > 0 && t == format!("t{live}") => {
                    live += 1;
                    (0, json!({"user_id": 7, "token": format!("t{live}"), "balance": 10}))
                }
                _ => (1008, json!({"msg": "session expired"})),
            };
            let text = serde_json::to_string(&(ReplyHead { id: head.id, seq: head.seq, code }, out)).unwrap();
            ws.send(Message::Text(text.into())).await.unwrap();
        }
    })
    .await;
    let opts = Options { format: Format::Json, ..Options::default() };
    let mut c = Client::connect_with(&url, opts).await.unwrap();
    let err = c.login("neo", "wrong").await.unwrap_err();
    assert_eq!(err.code(), Some(1001), "{err}");
    assert!(err.to_string().contains("wrong username or password"), "{err}");
    assert!(c.token().is_none());
    assert_eq!(c.login("neo", "right-pass").await.unwrap().user_id, 7);
    assert_eq!(c.token(), Some("t1"));
    // A resume rotates the token: the new one is kept, the old one no longer resumes.
    c.resume("t1").await.unwrap();
    assert_eq!(c.token(), Some("t2"));
    assert_eq!(c.resume("t1").await.unwrap_err().code(), Some(1008));
}

#[tokio::test]
async fn a_close_and_a_silent_server_are_errors_not_panics() {
    let url = fake(|mut ws| async move {
        let (head, _) = request(&mut ws).await.unwrap();
        if head.id == msg::PING {
            let close = CloseFrame { code: 1008u16.into(), reason: "banned".into() };
            ws.send(Message::Close(Some(close))).await.unwrap();
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let mut c = Client::connect(&url).await.unwrap();
    match c.ping().await {
        Err(ClientError::Closed { code: Some(1008), reason }) => assert_eq!(reason, "banned"),
        other => panic!("{other:?}"),
    }
    let opts = Options { reply_timeout: Duration::from_millis(200), ..Options::default() };
    let mut c = Client::connect_with(&url, opts).await.unwrap();
    let err = c.balance().await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout(_)) && err.is_transient(), "{err}");
}

#[tokio::test]
async fn resilient_reconnects_resumes_and_resends() {
    // A connection answers a balance read only after a resume with the login's token; otherwise
    // it drops. So the first read is lost, and answered after a reconnect and a resume.
    let url = fake(|mut ws| async move {
        let mut resumed = false;
        while let Some((head, body)) = request(&mut ws).await {
            let out = match head.id {
                msg::LOGIN => json!({"user_id": 7, "token": "t1", "balance": 10}),
                msg::RESUME if body["token"] == "t1" => {
                    resumed = true;
                    json!({"user_id": 7, "token": "t2", "balance": 10})
                }
                msg::BALANCE if resumed => json!({"balance": 10}),
                _ => return, // drop the connection
            };
            reply(&mut ws, head.id, head.seq, 0, out).await;
        }
    })
    .await;
    let mut r = Resilient::new("neo", "right-pass", Box::new(move || Some(url.clone())));
    assert_eq!(r.log_in().await.unwrap(), 7);
    let f = r.call(msg::BALANCE, &json!({})).await.unwrap();
    assert_eq!(f.json().unwrap()["balance"], 10);
    let t = r.trouble();
    assert_eq!((t.reconnects, t.resends, t.relogins), (1, 1, 0), "{t:?}");
}
