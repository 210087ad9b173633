//! Real client addresses behind load balancers and reverse proxies (connect and gm). Only a peer
//! in the configured trusted networks (`connect.trusted_proxies`, `gm.trusted_proxies`) may speak
//! for a client: with `proxy_protocol` on, it starts each connection with a PROXY protocol header
//! (v1 text or v2 binary, HAProxy's, parsed by `ppp`); else its `Forwarded` / `X-Forwarded-For`
//! headers name the client. From any other peer nothing is read and such headers are ignored: its
//! own address is the client's (a spoofed header changes nothing).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;
use ipnet::IpNet;
use ppp::HeaderResult;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The networks whose peers are proxies the deployment runs.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `nets` (CIDRs like "10.0.0.0/8" or single addresses), naming `setting` in an error.
    pub fn parse(setting: &str, nets: &[String]) -> anyhow::Result<TrustedProxies> {
        let parsed = nets
            .iter()
            .map(|n| {
                n.parse::<IpNet>()
                    .or_else(|_| n.parse::<IpAddr>().map(IpNet::from))
                    .with_context(|| format!("{setting}: {n:?} is not a network (10.0.0.0/8) or an address"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(TrustedProxies(parsed))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind a request from `peer`: when `peer` is trusted, the address its
    /// `Forwarded` (RFC 7239, preferred) or `X-Forwarded-For` header gives — read right to left,
    /// the first that is not itself a trusted proxy (a client may send a forged header: the
    /// entries left of the last untrusted one are its own words). Else, or when the headers name
    /// nobody usable, `peer`.
    pub fn client(&self, peer: IpAddr, forwarded: Option<&str>, x_forwarded_for: Option<&str>) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<IpAddr> = match (forwarded, x_forwarded_for) {
            (Some(f), _) => forwarded_for(f),
            (None, Some(x)) => x.split(',').filter_map(|a| parse_node(a.trim())).collect(),
            (None, None) => return peer,
        };
        hops.into_iter().rev().find(|ip| !self.contains(*ip)).unwrap_or(peer)
    }
}

/// Who is at the other end of an HTTP connection (gm): the peer, the client its PROXY header
/// named (if any), and the proxies trusted to name one in a request's headers.
#[derive(Clone, Debug)]
pub struct Peer {
    pub addr: SocketAddr,
    pub told: Option<SocketAddr>,
    pub proxies: Arc<TrustedProxies>,
}

impl Peer {
    /// The client of a request with these forwarding headers ([`TrustedProxies::client`]).
    pub fn client(&self, forwarded: Option<&str>, x_forwarded_for: Option<&str>) -> IpAddr {
        match self.told {
            Some(addr) => addr.ip(),
            None => self.proxies.client(self.addr.ip(), forwarded, x_forwarded_for),
        }
    }
}

/// An IPv4 address mapped into IPv6 (a dual-stack listener's view) as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The `for=` addresses of a `Forwarded` header, in order (obfuscated or unknown ones skipped).
fn forwarded_for(header: &str) -> Vec<IpAddr> {
    header
        .split(',')
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.trim().split_once('=')?;
                key.trim().eq_ignore_ascii_case("for").then(|| parse_node(value.trim().trim_matches('"')))?
            })
        })
        .collect()
}

/// A node of a forwarding header: "192.0.2.1", "192.0.2.1:4711", "[2001:db8::1]:4711", "2001:db8::1".
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(addr) = node.parse::<SocketAddr>() {
        return Some(canonical(addr.ip()));
    }
    node.strip_prefix('[')?.strip_suffix(']')?.parse().ok().map(canonical)
}

/// The v2 header's fixed signature.
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// The longest v1 header (the spec's 107 bytes, CRLF included).
const V1_MAX: usize = 107;

/// Reads the PROXY header a trusted proxy sends first (v1 or v2), and nothing more: the stream is
/// then at the client's first byte. Returns the client's address, or None for a connection of the
/// proxy's own (v2 LOCAL, v1 UNKNOWN: a health check). A stream without a valid header is an error.
pub async fn read_header(stream: &mut TcpStream) -> io::Result<Option<SocketAddr>> {
    let invalid = |why: String| io::Error::new(io::ErrorKind::InvalidData, why);
    // 15 bytes: the shortest header (v1 "PROXY UNKNOWN\r\n"), and never more than a v2 header's
    // fixed part, so no byte of the client's is read.
    let mut buf = vec![0u8; 15];
    stream.read_exact(&mut buf).await?;
    if buf.starts_with(V2_SIGNATURE) {
        buf.resize(16, 0);
        stream.read_exact(&mut buf[15..]).await?;
        let len = u16::from_be_bytes([buf[14], buf[15]]) as usize;
        buf.resize(16 + len, 0);
        stream.read_exact(&mut buf[16..]).await?;
    } else if buf.starts_with(b"PROXY ") {
        while !buf.ends_with(b"\r\n") {
            if buf.len() >= V1_MAX {
                return Err(invalid("a PROXY v1 header longer than 107 bytes".into()));
            }
            buf.push(stream.read_u8().await?);
        }
    } else {
        return Err(invalid("no PROXY protocol header from a trusted proxy".into()));
    }
    let addr = match HeaderResult::parse(&buf) {
        HeaderResult::V2(Ok(h)) => match h.addresses {
            ppp::v2::Addresses::IPv4(a) => Some(SocketAddr::new(a.source_address.into(), a.source_port)),
            ppp::v2::Addresses::IPv6(a) => Some(SocketAddr::new(a.source_address.into(), a.source_port)),
            _ => None,
        },
        HeaderResult::V1(Ok(h)) => match h.addresses {
            ppp::v1::Addresses::Tcp4(a) => Some(SocketAddr::new(a.source_address.into(), a.source_port)),
            ppp::v1::Addresses::Tcp6(a) => Some(SocketAddr::new(a.source_address.into(), a.source_port)),
            ppp::v1::Addresses::Unknown => None,
        },
        HeaderResult::V2(Err(e)) => return Err(invalid(format!("bad PROXY v2 header: {e}"))),
        HeaderResult::V1(Err(e)) => return Err(invalid(format!("bad PROXY v1 header: {e}"))),
    };
    Ok(addr.map(|a| SocketAddr::new(canonical(a.ip()), a.port())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted() -> TrustedProxies {
        TrustedProxies::parse("connect.trusted_proxies", &["10.0.0.0/8".into(), "192.168.1.5".into()]).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_trusted_peer_names_the_client_and_an_untrusted_one_does_not() {
        let t = trusted();
        let proxy = ip("10.1.2.3");
        assert_eq!(t.client(proxy, None, Some("203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(t.client(ip("198.51.100.7"), None, Some("203.0.113.9")), ip("198.51.100.7"), "spoofed");
        // Right to left: the client's own forged entry (left) is not believed; proxies are skipped.
        assert_eq!(t.client(proxy, None, Some("6.6.6.6, 203.0.113.9, 10.9.9.9")), ip("203.0.113.9"));
        // Forwarded wins over X-Forwarded-For; quoted IPv6 with a port.
        let f = r#"for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711""#;
        assert_eq!(t.client(proxy, Some(f), Some("203.0.113.9")), ip("2001:db8:cafe::17"));
        assert_eq!(t.client(ip("192.168.1.5"), Some("for=unknown"), None), ip("192.168.1.5"), "nobody named");
        assert_eq!(t.client(proxy, None, None), proxy);
        // A dual-stack listener's mapped IPv4 peer is the IPv4 address.
        assert!(t.contains(ip("::ffff:10.0.0.1")));
    }

    #[test]
    fn a_network_that_does_not_parse_is_refused_naming_the_setting() {
        let err = TrustedProxies::parse("gm.trusted_proxies", &["10.0.0.0/33".into()]).unwrap_err().to_string();
        assert!(err.contains("gm.trusted_proxies") && err.contains("10.0.0.0/33"), "{err}");
    }

    async fn parsed(header: Vec<u8>, then: &[u8]) -> (io::Result<Option<SocketAddr>>, Vec<u8>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let then = then.to_vec();
        let sender = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(&header).await.unwrap();
            s.write_all(&then).await.unwrap();
        });
        let (mut stream, _) = listener.accept().await.unwrap();
        let result = read_header(&mut stream).await;
        sender.await.unwrap();
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await.unwrap();
        (result, rest)
    }

    #[tokio::test]
    async fn v1_and_v2_headers_give_the_client_and_leave_its_bytes_unread() {
        let (got, rest) = parsed(b"PROXY TCP4 203.0.113.9 10.0.0.1 51000 7001\r\n".to_vec(), b"GET /ws").await;
        assert_eq!(got.unwrap(), Some("203.0.113.9:51000".parse().unwrap()));
        assert_eq!(rest, b"GET /ws");
        let v2 = ppp::v2::Builder::with_addresses(
            ppp::v2::Version::Two | ppp::v2::Command::Proxy,
            ppp::v2::Protocol::Stream,
            (
                SocketAddr::from(([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], 4711)),
                SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, 1], 7001)),
            ),
        );
        let (got, rest) = parsed(v2.build().unwrap(), b"\x16\x03\x01").await;
        assert_eq!(got.unwrap(), Some("[2001:db8::1]:4711".parse().unwrap()));
        assert_eq!(rest, b"\x16\x03\x01");
        let (got, _) = parsed(b"PROXY UNKNOWN\r\n".to_vec(), b"").await;
        assert_eq!(got.unwrap(), None, "the proxy's own connection");
        let (got, _) = parsed(b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), b"").await;
        assert!(got.is_err(), "no header from a peer that must send one");
    }
}
