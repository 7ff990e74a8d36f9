//! The client's address behind trusted reverse proxies (`PASSERELLE_TRUSTED_PROXIES`).
//!
//! Without trusted proxies the TCP peer is the client. When the peer is a trusted proxy, `X-Forwarded-For` is read
//! from the right (each proxy appends the address it received from), skipping trusted hops: the first untrusted
//! hop is the client. Anything left of it was written by the client itself and is never believed.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// A network in CIDR notation (`10.0.0.0/8`, `fd00::/8`; a bare address is a /32 or /128).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = ();
    fn from_str(s: &str) -> Result<Cidr, ()> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let net: IpAddr = addr.parse().map_err(|_| ())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| ())?
            }
            Some(_) => return Err(()),
            None => max,
        };
        if prefix > max {
            return Err(());
        }
        Ok(Cidr { net, prefix })
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Parses a comma-separated list of CIDRs; `Err` names the first bad entry.
pub fn parse_list(s: &str) -> Result<Vec<Cidr>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().map_err(|_| p.to_string()))
        .collect()
}

/// The client's address: the peer itself unless it is a trusted proxy, else the rightmost untrusted hop of
/// `X-Forwarded-For` (or the leftmost hop when every one is trusted).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // A hop that is not an address ends the walk: what lies left of it cannot be trusted.
        let Ok(ip) = hop.parse::<IpAddr>() else { break };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn cidrs_parse_and_match_v4_and_v6() {
        let list = parse_list("10.0.0.0/8, 192.168.1.7 ,fd00::/8").unwrap();
        assert!(list[0].contains("10.2.3.4".parse().unwrap()));
        assert!(!list[0].contains("11.2.3.4".parse().unwrap()));
        assert!(list[1].contains("192.168.1.7".parse().unwrap()));
        assert!(!list[1].contains("192.168.1.8".parse().unwrap()));
        assert!(list[2].contains("fd12::1".parse().unwrap()));
        assert!(list[0].contains("::ffff:10.0.0.1".parse().unwrap()));
        assert!("0.0.0.0/0"
            .parse::<Cidr>()
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        for bad in [
            "10.0.0.0/33",
            "10.0.0/8",
            "abc",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "::/129",
        ] {
            assert!(parse_list(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_list("").unwrap(), vec![]);
    }

    #[test]
    fn the_forwarded_address_counts_only_behind_a_trusted_proxy() {
        let trusted = parse_list("10.0.0.0/8").unwrap();
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let outsider: IpAddr = "203.0.113.9".parse().unwrap();
        // Behind the proxy: the rightmost untrusted hop, whatever the client wrote on the left.
        assert_eq!(
            client_ip(proxy, &xff("1.1.1.1, 198.51.100.4"), &trusted).to_string(),
            "198.51.100.4"
        );
        assert_eq!(
            client_ip(proxy, &xff("198.51.100.4, 10.0.0.3"), &trusted).to_string(),
            "198.51.100.4"
        );
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
        // A client talking directly cannot choose its address.
        assert_eq!(
            client_ip(outsider, &xff("198.51.100.4"), &trusted),
            outsider
        );
        assert_eq!(client_ip(proxy, &xff("198.51.100.4"), &[]), proxy);
        // Garbage stops the walk at the last good hop.
        assert_eq!(
            client_ip(proxy, &xff("pas-une-ip, 198.51.100.4"), &trusted).to_string(),
            "198.51.100.4"
        );
        assert_eq!(
            client_ip(proxy, &xff("198.51.100.4, pas-une-ip"), &trusted),
            proxy
        );
    }
}
