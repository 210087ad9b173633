//! Client addresses as limits see them. connect writes a client's address into every frame head as
//! "ip:port" (IPv6 as "[ip]:port"); limits count per *address group*: an IPv4 address alone, an IPv6
//! address by its /64 network (one subscriber's share of the address space: counting IPv6 addresses
//! one by one lets a single host walk past any limit).

use std::net::{IpAddr, Ipv6Addr};

/// The IP of `addr` ("ip:port", "[ip]:port", or a bare IP); `None` when it is not an address.
pub fn parse_ip(addr: &str) -> Option<IpAddr> {
    if let Ok(ip) = addr.parse::<IpAddr>() {
        return Some(ip);
    }
    let (host, port) = addr.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

/// The group `ip` is counted in: IPv4 as is, IPv6 as its /64 ("2001:db8:1:2::/64"). An IPv4
/// address mapped into IPv6 counts as the IPv4 address.
pub fn ip_group(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{}/64", Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The address group of `addr` as connect writes it; an address that does not parse is its own
/// group (it is then at least counted).
pub fn addr_group(addr: &str) -> String {
    parse_ip(addr).map_or_else(|| addr.to_owned(), ip_group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_counts_alone_and_ipv6_by_its_64() {
        assert_eq!(addr_group("203.0.113.7:5555"), "203.0.113.7");
        assert_eq!(addr_group("[2001:db8:1:2:aaaa::1]:443"), "2001:db8:1:2::/64");
        assert_eq!(addr_group("[2001:db8:1:2:ffff:ffff:ffff:ffff]:1"), "2001:db8:1:2::/64");
        assert_ne!(addr_group("[2001:db8:1:3::1]:1"), addr_group("[2001:db8:1:2::1]:1"));
        assert_eq!(addr_group("[::ffff:198.51.100.4]:80"), "198.51.100.4");
        assert_eq!(addr_group("198.51.100.4"), "198.51.100.4");
        assert_eq!(addr_group("not an address"), "not an address");
    }
}
