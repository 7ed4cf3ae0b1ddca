//! The client's address as the proxy believes it: `X-Forwarded-For` read and written with
//! `server.trusted_proxy_hops` entries trusted from the right, the rest client-controlled.

use std::net::IpAddr;

use http::{HeaderMap, HeaderValue};

use super::names::X_FORWARDED_FOR;

/// `X-Forwarded-For`: the last `trusted_hops` entries a client sent (written by proxies we
/// trust), then the peer address. Everything further left is client-controlled and dropped.
pub fn forwarded_for(headers: &HeaderMap, trusted_hops: usize, peer: IpAddr) -> HeaderValue {
    if trusted_hops == 0 {
        return ip_value(peer);
    }
    let mut chain: Vec<&str> = Vec::new();
    if trusted_hops > 0 {
        let sent: Vec<&str> = headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        chain.extend(&sent[sent.len().saturating_sub(trusted_hops)..]);
    }
    let peer_text = peer.to_string();
    chain.push(&peer_text);
    // Every entry passed `to_str` (visible ASCII), so this cannot fail; if it did, the peer
    // alone is still the truth.
    HeaderValue::from_str(&chain.join(", ")).unwrap_or_else(|_| ip_value(peer))
}

/// RFC 7239's word for a node that cannot be named.
const UNKNOWN: HeaderValue = HeaderValue::from_static("unknown");

/// An address as a header value, formatted on the stack: one allocation, not two.
pub fn ip_value(ip: IpAddr) -> HeaderValue {
    use std::io::Write;
    // The longest textual IPv6 address is 45 bytes.
    let mut buf = [0u8; 64];
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    let written = write!(cursor, "{ip}").map(|()| cursor.position() as usize);
    match written {
        Ok(n) => HeaderValue::from_bytes(&buf[..n]).unwrap_or(UNKNOWN),
        // An address's text is ASCII and fits the buffer: neither arm is reachable.
        Err(_) => UNKNOWN,
    }
}

/// The client address as the proxy believes it: `trusted_hops` entries back from the end.
pub fn client_ip(headers: &HeaderMap, trusted_hops: usize, peer: IpAddr) -> IpAddr {
    if trusted_hops == 0 {
        return peer;
    }
    // Read from the right without collecting: every identified request calls this (the
    // Bink call budget is charged to the client), so it allocates nothing.
    headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .rev()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.rsplit(','))
        .map(str::trim)
        // Same entries as `forwarded_for`, so both agree on which one is trusted.
        .filter(|s| !s.is_empty())
        .nth(trusted_hops - 1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_static(value));
        }
        h
    }

    // ---- X-Forwarded-For and client IP ----------------------------------------------------

    #[test]
    fn forwarded_for_with_no_trusted_hops_ignores_client_xff() {
        let h = map(&[("x-forwarded-for", "6.6.6.6, 7.7.7.7")]);
        assert_eq!(forwarded_for(&h, 0, PEER), "10.0.0.9");
        assert_eq!(forwarded_for(&HeaderMap::new(), 0, PEER), "10.0.0.9");
    }

    #[test]
    fn forwarded_for_with_one_trusted_hop_keeps_the_last_entry() {
        let h = map(&[("x-forwarded-for", "6.6.6.6, 203.0.113.5")]);
        assert_eq!(forwarded_for(&h, 1, PEER), "203.0.113.5, 10.0.0.9");
    }

    #[test]
    fn forwarded_for_reads_entries_across_repeated_headers() {
        let h = map(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "198.51.100.1, 203.0.113.5"),
        ]);
        assert_eq!(
            forwarded_for(&h, 2, PEER),
            "198.51.100.1, 203.0.113.5, 10.0.0.9"
        );
    }

    #[test]
    fn forwarded_for_with_more_trusted_hops_than_entries_keeps_them_all() {
        let h = map(&[("x-forwarded-for", "203.0.113.5")]);
        assert_eq!(forwarded_for(&h, 3, PEER), "203.0.113.5, 10.0.0.9");
        assert_eq!(forwarded_for(&HeaderMap::new(), 3, PEER), "10.0.0.9");
    }

    #[test]
    fn forwarded_for_appends_an_ipv6_peer() {
        let peer: IpAddr = "2001:db8::1".parse().unwrap();
        let h = map(&[("x-forwarded-for", "203.0.113.5")]);
        assert_eq!(forwarded_for(&h, 1, peer), "203.0.113.5, 2001:db8::1");
    }

    #[test]
    fn client_ip_with_no_trusted_hops_is_the_peer() {
        let h = map(&[("x-forwarded-for", "6.6.6.6")]);
        assert_eq!(client_ip(&h, 0, PEER), PEER);
    }

    #[test]
    fn client_ip_counts_trusted_hops_from_the_right() {
        let h = map(&[("x-forwarded-for", "6.6.6.6, 198.51.100.1, 203.0.113.5")]);
        assert_eq!(
            client_ip(&h, 1, PEER),
            "203.0.113.5".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(&h, 2, PEER),
            "198.51.100.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn client_ip_falls_back_to_the_peer_when_xff_is_short_missing_or_garbage() {
        let short = map(&[("x-forwarded-for", "203.0.113.5")]);
        assert_eq!(client_ip(&short, 2, PEER), PEER);
        assert_eq!(client_ip(&HeaderMap::new(), 1, PEER), PEER);
        let garbage = map(&[("x-forwarded-for", "6.6.6.6, not-an-ip")]);
        assert_eq!(client_ip(&garbage, 1, PEER), PEER);
    }

    #[test]
    fn client_ip_agrees_with_forwarded_for_on_the_trusted_entry() {
        // forwarded_for skips empty entries; client_ip must pick the same address from them.
        let h = map(&[("x-forwarded-for", "6.6.6.6, 203.0.113.5,")]);
        assert_eq!(forwarded_for(&h, 1, PEER), "203.0.113.5, 10.0.0.9");
        assert_eq!(
            client_ip(&h, 1, PEER),
            "203.0.113.5".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn ip_value_formats_v4_v6_and_the_longest_v6_form() {
        for ip in [
            "127.0.0.1",
            "::1",
            "2001:db8::1",
            "::ffff:255.255.255.255",
            "1234:5678:9abc:def0:1234:5678:9abc:def0",
        ] {
            let parsed: IpAddr = ip.parse().unwrap();
            assert_eq!(ip_value(parsed), parsed.to_string().as_str(), "{ip}");
        }
    }

    #[test]
    fn client_ip_counts_across_several_forwarded_for_lines() {
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 198.51.100.1"),
        );
        h.append("x-forwarded-for", HeaderValue::from_static("203.0.113.5"));
        let at = |hops| client_ip(&h, hops, PEER);
        assert_eq!(at(1), "203.0.113.5".parse::<IpAddr>().unwrap());
        assert_eq!(at(2), "198.51.100.1".parse::<IpAddr>().unwrap());
        assert_eq!(at(3), "6.6.6.6".parse::<IpAddr>().unwrap());
        assert_eq!(at(4), PEER);
    }
}
