//! A WebSocket client written by hand over a plain TCP socket, for hostile-input tests: it sends
//! whatever bytes a test builds (frames split at every byte, many continuation fragments, lying
//! length headers, unmasked frames, invalid UTF-8) and reads the server's frames one by one, close
//! frames included. [`crate::Client`] is the well-behaved client; this one is not.

use std::net::SocketAddr;

use protocol::ReplyHead;
use protocol::codec::frame_to_json;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::client::{Frame, REPLY_TIMEOUT};

/// WebSocket opcodes (RFC 6455 §5.2).
pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xa;

/// The masking key of every frame this client writes (any key will do; clients must mask).
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// What reading the socket gave.
#[derive(Debug)]
pub enum Read {
    /// A server frame: opcode, FIN bit, payload.
    Frame { opcode: u8, fin: bool, payload: Vec<u8> },
    /// The server closed the TCP connection (or reset it).
    Eof,
}

pub struct RawWs {
    pub tcp: TcpStream,
    /// Bytes read but not yet parsed into a frame.
    buf: Vec<u8>,
}

/// The upgrade request for `/ws`.
pub fn handshake_request(addr: SocketAddr) -> Vec<u8> {
    format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

/// One client frame: FIN bit, opcode, and the payload masked with [`MASK`]. The length is encoded
/// in the shortest form (7 bits, 16 bits, 64 bits).
pub fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = frame_header(fin, opcode, payload.len() as u64);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    out
}

/// The header of a masked client frame declaring `len` payload bytes (which need not follow).
pub fn frame_header(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    match len {
        0..=125 => out.push(0x80 | len as u8),
        126..=0xffff => {
            out.push(0x80 | 126);
            out.extend((len as u16).to_be_bytes());
        }
        _ => {
            out.push(0x80 | 127);
            out.extend(len.to_be_bytes());
        }
    }
    out.extend(MASK);
    out
}

impl RawWs {
    /// Connects and upgrades, writing the request in one go.
    pub async fn connect(addr: SocketAddr) -> RawWs {
        Self::connect_with(addr, None, false).await
    }

    /// Connects with an optional receive buffer size (SO_RCVBUF, set before connecting so the TCP
    /// window stays small) and upgrades, the request written one byte per write when `dribble`.
    pub async fn connect_with(addr: SocketAddr, recv_buffer: Option<u32>, dribble: bool) -> RawWs {
        let socket = TcpSocket::new_v4().expect("socket");
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).expect("SO_RCVBUF");
        }
        let tcp = socket.connect(addr).await.expect("tcp connect");
        tcp.set_nodelay(true).expect("TCP_NODELAY");
        let mut ws = RawWs { tcp, buf: Vec::new() };
        let request = handshake_request(addr);
        if dribble {
            ws.write_dribbled(&request).await;
        } else {
            ws.write(&request).await;
        }
        let response = ws.read_http_head().await;
        assert!(response.starts_with("HTTP/1.1 101"), "upgrade refused: {response}");
        ws
    }

    /// Reads up to the end of an HTTP response head; what follows stays buffered.
    pub async fn read_http_head(&mut self) -> String {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end + 4]).into_owned();
                self.buf.drain(..end + 4);
                return head;
            }
            assert!(self.fill().await > 0, "connection closed during the handshake: {:?}", self.buf);
        }
    }

    /// Writes `bytes` in one write.
    pub async fn write(&mut self, bytes: &[u8]) {
        self.tcp.write_all(bytes).await.expect("write");
        self.tcp.flush().await.expect("flush");
    }

    /// Writes `bytes` one byte per write (each its own TCP segment: TCP_NODELAY is on), letting the
    /// runtime run between bytes so the server reads them as they come.
    pub async fn write_dribbled(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.tcp.write_all(std::slice::from_ref(b)).await.expect("write");
            self.tcp.flush().await.expect("flush");
            tokio::task::yield_now().await;
        }
    }

    /// Sends one masked frame.
    pub async fn send(&mut self, fin: bool, opcode: u8, payload: &[u8]) {
        self.write(&frame(fin, opcode, payload)).await;
    }

    /// Reads more bytes into the buffer; 0 at end of stream (or on a reset).
    async fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 16 * 1024];
        let n = tokio::time::timeout(REPLY_TIMEOUT, self.tcp.read(&mut chunk))
            .await
            .expect("nothing from the server in time")
            .unwrap_or(0);
        self.buf.extend_from_slice(&chunk[..n]);
        n
    }

    /// The next server frame (server frames are not masked), or the end of the connection.
    pub async fn read(&mut self) -> Read {
        loop {
            if let Some((opcode, fin, payload, used)) = parse_server_frame(&self.buf) {
                self.buf.drain(..used);
                return Read::Frame { opcode, fin, payload };
            }
            if self.fill().await == 0 {
                return Read::Eof;
            }
        }
    }

    /// The next reply or push, skipping pings; panics on a close or the end of the connection.
    pub async fn recv(&mut self) -> Frame {
        loop {
            match self.read().await {
                Read::Frame { opcode: BINARY, payload, .. } => return decode_reply(&payload),
                Read::Frame { opcode: TEXT, payload, .. } => {
                    let (head, body) = serde_json::from_slice::<(ReplyHead, Value)>(&payload).expect("[head, body]");
                    return Frame { head, body };
                }
                Read::Frame { opcode: PING | PONG, .. } => continue,
                other => panic!("expected a reply, got {other:?}"),
            }
        }
    }

    /// Reads until the server's close frame and returns its code (None: a close frame without a
    /// code, or the connection ended without one). Replies before it are skipped.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            match self.read().await {
                Read::Frame { opcode: CLOSE, payload, .. } => {
                    return (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                }
                Read::Frame { .. } => continue,
                Read::Eof => return None,
            }
        }
    }
}

/// Decodes a MessagePack reply or push as the client sees it.
pub fn decode_reply(bytes: &[u8]) -> Frame {
    let text = frame_to_json(bytes).expect("a valid MessagePack frame");
    let (head, body) = serde_json::from_str::<(ReplyHead, Value)>(&text).expect("[head, body]");
    Frame { head, body }
}

/// Parses one unmasked frame at the start of `buf`: (opcode, fin, payload, bytes used), or None if
/// it is not all there yet.
fn parse_server_frame(buf: &[u8]) -> Option<(u8, bool, Vec<u8>, usize)> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let (mut at, len) = match b1 & 0x7f {
        126 => (4, u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?) as usize),
        127 => (10, u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?) as usize),
        n => (2, n as usize),
    };
    assert_eq!(b1 & 0x80, 0, "server frames are not masked");
    let payload = buf.get(at..at + len)?.to_vec();
    at += len;
    Some((b0 & 0x0f, b0 & 0x80 != 0, payload, at))
}
