//! The client's IP address, for rate limits: the socket peer, or, only when the server is
//! configured to sit behind a trusted proxy (`AUTOMATRIX_TRUST_PROXY=1`), the first address of
//! `X-Forwarded-For`. IPv6 addresses count per /64 (what one subscriber usually gets).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::state::AppState;

/// See the module documentation. Never rejects: without a peer address (a router driven
/// without a socket) it is the unspecified address.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let forwarded = state
            .config
            .trust_proxy
            .then(|| forwarded_for(parts))
            .flatten();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let ip = forwarded
            .or(peer)
            .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        Ok(Self(normalize(ip)))
    }
}

/// The first (client-most) address of `X-Forwarded-For`, with or without a port.
fn forwarded_for(parts: &Parts) -> Option<IpAddr> {
    let value = parts.headers.get("x-forwarded-for")?.to_str().ok()?;
    let first = value.split(',').next()?.trim();
    first
        .parse::<IpAddr>()
        .ok()
        .or_else(|| first.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// IPv4-mapped IPv6 as IPv4; other IPv6 cut to its /64.
fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut seg = v6.segments();
                seg[4..].fill(0);
                IpAddr::V6(Ipv6Addr::from(seg))
            }
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(normalize(a), normalize(b));
        assert_eq!(normalize(a).to_string(), "2001:db8:1:2::");
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(normalize(mapped).to_string(), "192.0.2.7");
    }

    #[test]
    fn the_first_forwarded_address_counts() {
        let parts = |v: &str| {
            axum::http::Request::builder()
                .header("x-forwarded-for", v)
                .body(())
                .unwrap()
                .into_parts()
                .0
        };
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        assert_eq!(
            forwarded_for(&parts("203.0.113.9, 10.0.0.1")),
            ip("203.0.113.9")
        );
        assert_eq!(forwarded_for(&parts("203.0.113.9:4711")), ip("203.0.113.9"));
        assert_eq!(
            forwarded_for(&parts("[2001:db8::1]:443, 10.0.0.1")),
            ip("2001:db8::1")
        );
        assert_eq!(forwarded_for(&parts("unknown")), None);
    }
}
