//! Connections per client address group (`common::net`: an IPv4 address alone, an IPv6 address by
//! its /64), so that one host cannot take every slot of `connect.max_connections`. A slot is taken
//! at accept (handshakes in progress count) and given back when its [`AddrSlot`] is dropped, i.e.
//! when the connection has closed.
//!
//! The cost per connection is one `Arc` of the group's name, shared by all connections of the group
//! (and the map entry, which goes with the group's last connection).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The open connections of each address group.
#[derive(Debug)]
pub struct PerAddr {
    max: u32,
    open: Mutex<HashMap<Arc<str>, u32>>,
}

/// One connection's place in its address group's count; given back on drop.
#[derive(Debug)]
pub struct AddrSlot {
    limits: Arc<PerAddr>,
    group: Arc<str>,
}

impl PerAddr {
    pub fn new(max: u32) -> Arc<PerAddr> {
        Arc::new(PerAddr { max, open: Mutex::new(HashMap::new()) })
    }

    /// A slot for a connection from `ip`, or None when its group already holds `max`.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<AddrSlot> {
        let name = common::net::ip_group(ip);
        let mut open = self.open.lock().expect("per-address lock");
        let group = match open.get_key_value(name.as_str()) {
            Some((group, n)) if *n >= self.max => {
                tracing::debug!(client.group = %group, open = n, "per-address connection cap reached");
                return None;
            }
            Some((group, _)) => group.clone(),
            None => Arc::from(name),
        };
        *open.entry(group.clone()).or_insert(0) += 1;
        Some(AddrSlot { limits: self.clone(), group })
    }

    /// Connections open from the group of `ip` (tests).
    #[cfg(test)]
    fn open(&self, ip: IpAddr) -> u32 {
        self.open.lock().expect("per-address lock").get(common::net::ip_group(ip).as_str()).copied().unwrap_or(0)
    }

    /// Address groups with a connection open (tests).
    #[cfg(test)]
    fn groups(&self) -> usize {
        self.open.lock().expect("per-address lock").len()
    }
}

impl Drop for AddrSlot {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().expect("per-address lock");
        if let Some(n) = open.get_mut(&self.group) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.group);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_holds_at_most_max_and_a_closed_slot_is_given_back() {
        let limits = PerAddr::new(2);
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        let (s1, s2) = (limits.try_acquire(a).unwrap(), limits.try_acquire(a).unwrap());
        assert!(limits.try_acquire(a).is_none(), "a third from the same address");
        assert!(limits.try_acquire("203.0.113.8".parse().unwrap()).is_some(), "another address is not limited");
        drop(s1);
        assert_eq!(limits.open(a), 1);
        let s3 = limits.try_acquire(a).expect("a slot once one was given back");
        drop((s2, s3));
        assert_eq!(limits.groups(), 0, "an empty group leaves the map");
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let limits = PerAddr::new(1);
        let _held = limits.try_acquire("2001:db8:1:2::1".parse().unwrap()).unwrap();
        assert!(limits.try_acquire("2001:db8:1:2:ffff::9".parse().unwrap()).is_none(), "same /64");
        assert!(limits.try_acquire("2001:db8:1:3::1".parse().unwrap()).is_some(), "another /64");
    }
}
