//! The SSRF guard of `http.request`: workflow authors must not be able to reach the machine
//! the engine runs on, its private network or the cloud metadata service (169.254.169.254).
//!
//! An address is checked at three places, because each one alone has a hole
//! (DEPENDENCIES.md §6 item 5):
//! - **IP-literal URLs** (`http://127.0.0.1/`, `http://[::ffff:10.0.0.1]/`) are checked before
//!   the request is sent: reqwest never asks the resolver about them.
//! - **Host names** are checked by [`GuardedResolver`] on the addresses they resolve to, at
//!   connect time, so a name that resolves to a private address is caught, and a DNS answer
//!   cannot change between the check and the connection (DNS rebinding).
//! - **Redirects** go through [`redirect_policy`], which checks every hop like the first URL
//!   (host names on a redirect also go through the resolver).
//!
//! Proxies are disabled on the client: through a proxy the target's name is resolved by the
//! proxy, out of this guard's sight.

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;
use serde::Deserialize;

/// The most redirects one request follows.
pub const MAX_REDIRECTS: usize = 5;

/// Which hosts `http.request` may reach.
///
/// The default refuses every private, loopback, link-local, shared (CGNAT), multicast and
/// reserved address, for IPv4 and IPv6 (including IPv4-mapped forms).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpPolicy {
    /// Allow every address (`AUTOMATRIX_HTTP_ALLOW_PRIVATE=1`); for local development and tests
    /// against local mocks.
    pub allow_private: bool,
    /// Hosts that may be reached even though they are, or resolve to, refused addresses: a
    /// host name (`crm.dealer.internal`), `*.` and a domain for all its subdomains
    /// (`*.dealer.internal`), an IP address (`10.0.0.5`, `::1`) or a network in CIDR notation
    /// (`10.20.0.0/16`, `fd00:12::/32`) for the on-premise DMS. Names are case-insensitive. A
    /// network also admits host names that resolve into it; a bare address only itself as
    /// the URL's host.
    pub allow_hosts: Vec<String>,
}

impl HttpPolicy {
    /// Refuses every private address, with no exceptions (the default).
    pub fn strict() -> Self {
        Self::default()
    }

    /// Allows every address, private ones included.
    pub fn allow_all() -> Self {
        Self {
            allow_private: true,
            allow_hosts: Vec::new(),
        }
    }

    /// This policy, with `hosts` added to [`HttpPolicy::allow_hosts`].
    pub fn with_allowed_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allow_hosts.extend(hosts.into_iter().map(Into::into));
        self
    }

    /// Whether `host` (a name or an IP address, as in a URL) is exempt from the address checks.
    pub fn allows_host(&self, host: &str) -> bool {
        if self.allow_private {
            return true;
        }
        let host = normalize_host(host);
        self.allow_hosts.iter().any(|entry| {
            let entry = normalize_host(entry);
            match entry.strip_prefix("*.") {
                Some(domain) => {
                    host.len() > domain.len()
                        && host.ends_with(domain)
                        && host[..host.len() - domain.len()].ends_with('.')
                }
                None => host == entry,
            }
        })
    }

    /// Whether `ip` is inside an allow-listed network.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        self.allow_hosts
            .iter()
            .filter_map(|entry| network(entry))
            .any(|(net, bits)| in_network(ip, net, bits))
    }

    /// Checks an address `host` was given or resolved to.
    fn check_addr(&self, host: &str, ip: IpAddr) -> Result<(), Refusal> {
        if self.allows_host(host) || self.allows_ip(ip) {
            return Ok(());
        }
        match refused_range(ip) {
            None => Ok(()),
            Some(range) => {
                let via = (normalize_host(host) != ip.to_string()).then(|| host.to_owned());
                Err(Refusal::Address {
                    ip,
                    range,
                    host: via,
                })
            }
        }
    }
}

/// An allow-list entry in CIDR notation (`10.20.0.0/16`) as a network. A bare address is not
/// one: it allows that URL host only, not names resolving to it.
fn network(entry: &str) -> Option<(IpAddr, u8)> {
    let entry = normalize_host(entry);
    let (addr, bits) = entry.split_once('/')?;
    let (addr, bits) = (addr.parse::<IpAddr>().ok()?, bits.parse::<u8>().ok()?);
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((addr, bits))
}

/// Whether `ip` is in `net`/`bits` (an IPv4-mapped IPv6 address counts as its IPv4 one).
fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// Lower-case, without IPv6 brackets or a trailing dot, so `[::1]`, `LocalHost.` and the
/// allow-list entries compare equal to what the resolver and the URL parser produce.
fn normalize_host(host: &str) -> String {
    let host = host.trim();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

/// Why the guard refused a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The URL's host is, or resolves to, a refused address.
    Address {
        ip: IpAddr,
        /// What kind of address it is (`loopback`, `private`, ...).
        range: &'static str,
        /// The host name that resolved to `ip`, when the URL did not hold `ip` itself.
        host: Option<String>,
    },
    /// Only `http` and `https` URLs are fetched (also after a redirect).
    Scheme(String),
    /// A URL without a host.
    NoHost,
    /// More than [`MAX_REDIRECTS`] redirects.
    TooManyRedirects,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address { ip, range, host } => {
                write!(f, "refusing to connect to private address {ip} ({range})")?;
                if let Some(host) = host {
                    write!(f, " of host {host}")?;
                }
                write!(
                    f,
                    "; set AUTOMATRIX_HTTP_ALLOW_PRIVATE=1 to allow, \
                     or add the host to the HTTP allow-list"
                )
            }
            Self::Scheme(s) => write!(
                f,
                "refusing the URL scheme `{s}`; only http and https are allowed"
            ),
            Self::NoHost => f.write_str("the URL has no host"),
            Self::TooManyRedirects => write!(f, "more than {MAX_REDIRECTS} redirects"),
        }
    }
}

impl StdError for Refusal {}

/// Checks a URL before it is requested or a redirect to it is followed. Host names pass here;
/// [`GuardedResolver`] checks what they resolve to.
pub fn check_url(policy: &HttpPolicy, url: &Url) -> Result<(), Refusal> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refusal::Scheme(url.scheme().to_owned()));
    }
    let host = url.host_str().ok_or(Refusal::NoHost)?;
    // The URL parser has already normalized IPv4 spellings (`0x7f.1`, `2130706433`) to dotted
    // quads, so parsing the host finds every IP literal.
    match normalize_host(host).parse::<IpAddr>() {
        Ok(ip) => policy.check_addr(host, ip),
        Err(_) => Ok(()),
    }
}

/// The first [`Refusal`] in an error's source chain: the guard's verdict, wrapped by the
/// resolver or redirect machinery of reqwest and hyper.
pub fn refusal_in<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a Refusal> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(refusal) = e.downcast_ref::<Refusal>() {
            return Some(refusal);
        }
        current = e.source();
    }
    None
}

/// Follows at most [`MAX_REDIRECTS`] redirects, each to a URL that passes [`check_url`].
pub fn redirect_policy(policy: Arc<HttpPolicy>) -> redirect::Policy {
    redirect::Policy::custom(move |attempt| {
        // `previous` starts with the original URL: one more than the redirects followed so far.
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(Refusal::TooManyRedirects);
        }
        match check_url(&policy, attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(refusal) => attempt.error(refusal),
        }
    })
}

/// Resolves host names with the system resolver and drops refused addresses; a name with
/// only refused addresses fails with a [`Refusal`].
#[derive(Clone, Debug)]
pub struct GuardedResolver {
    policy: Arc<HttpPolicy>,
}

impl GuardedResolver {
    pub fn new(policy: Arc<HttpPolicy>) -> Self {
        Self { policy }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: reqwest puts in the URL's port.
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let mut allowed = Vec::with_capacity(resolved.len());
            for addr in resolved {
                match policy.check_addr(&host, addr.ip()) {
                    Ok(()) => allowed.push(addr),
                    Err(refusal) => {
                        refused.get_or_insert(refusal);
                    }
                }
            }
            match (allowed.is_empty(), refused) {
                (true, Some(refusal)) => Err(refusal.into()),
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

/// The kind of a refused address, or `None` for a public one.
pub fn refused_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, _, _) => "\"this network\", 0.0.0.0/8",
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => "private network",
        (100, 64..=127, _) => "shared address space (CGNAT), 100.64.0.0/10",
        (127, _, _) => "loopback",
        (169, 254, 169) if ip.octets()[3] == 254 => "cloud metadata service",
        (169, 254, _) => "link-local",
        (192, 0, 0) => "IETF protocol assignments, 192.0.0.0/24",
        (198, 18..=19, _) => "benchmarking network, 198.18.0.0/15",
        (224..=239, _, _) => "multicast",
        (255, 255, 255) if ip.is_broadcast() => "broadcast",
        (240..=255, _, _) => "reserved, 240.0.0.0/4",
        _ => return None,
    })
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    // Forms that carry an IPv4 address: the address they reach is the IPv4 one.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return refused_v4(v4); // ::ffff:a.b.c.d
    }
    if s[..6] == [0; 6] {
        return refused_v4(embedded_v4(s[6], s[7])); // ::a.b.c.d (deprecated IPv4-compatible)
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return refused_v4(embedded_v4(s[6], s[7])); // NAT64 64:ff9b::/96
    }
    if s[0] == 0x2002 {
        return refused_v4(embedded_v4(s[1], s[2])); // 6to4 2002::/16
    }
    Some(match s[0] {
        x if x & 0xfe00 == 0xfc00 => "unique local, fc00::/7",
        x if x & 0xffc0 == 0xfe80 => "link-local, fe80::/10",
        x if x & 0xffc0 == 0xfec0 => "site-local, fec0::/10",
        x if x & 0xff00 == 0xff00 => "multicast",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(ip: &str) -> bool {
        refused_range(ip.parse().unwrap()).is_some()
    }

    #[test]
    fn private_loopback_link_local_and_special_ipv4_ranges_are_refused() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.8.9.10",
            "169.254.169.254",
            "169.254.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.170",
            "192.168.1.1",
            "198.18.0.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(refused(ip), "{ip} should be refused");
        }
    }

    #[test]
    fn public_ipv4_addresses_next_to_refused_ranges_are_allowed() {
        for ip in [
            "1.1.1.1",
            "9.255.255.255",
            "11.0.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "128.0.0.1",
            "169.253.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.167.1.1",
            "192.169.1.1",
            "198.20.0.1",
            "223.255.255.255",
            "93.184.216.34",
        ] {
            assert!(!refused(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn ipv6_loopback_unique_local_link_local_and_ipv4_embedding_forms_are_refused() {
        for ip in [
            "::",
            "::1",
            "fc00::1",
            "fd12:3456:789a::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::ffff:0.0.0.0",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
        ] {
            assert!(refused(ip), "{ip} should be refused");
        }
    }

    #[test]
    fn public_ipv6_addresses_and_mapped_public_ipv4_are_allowed() {
        for ip in [
            "2606:4700:4700::1111",
            "2001:db8::1",
            "::ffff:1.1.1.1",
            "64:ff9b::101:101",
        ] {
            assert!(!refused(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn metadata_address_is_named_in_the_refusal() {
        let url = Url::parse("http://169.254.169.254/latest/meta-data/").unwrap();

        let refusal = check_url(&HttpPolicy::strict(), &url).unwrap_err();

        assert_eq!(
            refusal.to_string(),
            "refusing to connect to private address 169.254.169.254 (cloud metadata service); \
             set AUTOMATRIX_HTTP_ALLOW_PRIVATE=1 to allow, or add the host to the HTTP allow-list"
        );
    }

    #[test]
    fn ip_literals_are_checked_in_every_spelling_the_url_parser_accepts() {
        for url in [
            "http://127.0.0.1:8080/",
            "http://2130706433/",
            "http://0x7f.0.0.1/",
            "http://127.1/",
            "http://[::1]/",
            "http://[::ffff:7f00:1]/",
            "https://[fe80::1%25eth0]/",
            "http://0/",
        ] {
            let Ok(parsed) = Url::parse(url) else {
                continue;
            };

            assert!(
                check_url(&HttpPolicy::strict(), &parsed).is_err(),
                "{url} passed"
            );
        }
    }

    #[test]
    fn host_names_and_public_literals_pass_the_url_check() {
        for url in [
            "https://api.example.com/leads",
            "http://1.1.1.1/",
            "http://[2606:4700::1]/",
        ] {
            let parsed = Url::parse(url).unwrap();

            assert_eq!(check_url(&HttpPolicy::strict(), &parsed), Ok(()), "{url}");
        }
    }

    #[test]
    fn only_http_and_https_urls_are_fetched() {
        let url = Url::parse("file:///etc/passwd").unwrap();

        assert_eq!(
            check_url(&HttpPolicy::allow_all(), &url),
            Err(Refusal::Scheme("file".into()))
        );
    }

    #[test]
    fn allow_all_and_allow_listed_hosts_skip_the_address_check() {
        let listed =
            HttpPolicy::strict().with_allowed_hosts(["crm.dealer.internal", "10.0.0.5", "::1"]);
        let check = |policy: &HttpPolicy, url: &str| check_url(policy, &Url::parse(url).unwrap());

        assert_eq!(check(&HttpPolicy::allow_all(), "http://127.0.0.1/"), Ok(()));
        assert_eq!(check(&listed, "http://10.0.0.5:8443/"), Ok(()));
        assert_eq!(check(&listed, "http://[::1]/"), Ok(()));
        assert!(check(&listed, "http://10.0.0.6/").is_err());
        assert!(listed.allows_host("CRM.dealer.internal."));
        assert!(!listed.allows_host("evil-crm.dealer.internal"));
    }

    #[test]
    fn cidr_entries_allow_addresses_inside_their_network_only() {
        let policy = HttpPolicy::strict().with_allowed_hosts([
            "10.20.0.0/16",
            "fd00:12::/32",
            "192.168.1.7",
        ]);
        for (host, ip) in [
            ("10.20.0.1", "10.20.0.1"),
            ("dms.dealer.internal", "10.20.255.254"),
            ("[::ffff:10.20.3.4]", "::ffff:10.20.3.4"),
            ("dms6", "fd00:12::5"),
            ("192.168.1.7", "192.168.1.7"),
        ] {
            assert!(
                policy.check_addr(host, ip.parse().unwrap()).is_ok(),
                "{host} {ip}"
            );
        }
        for (host, ip) in [
            ("10.21.0.1", "10.21.0.1"),
            ("metadata", "169.254.169.254"),
            ("dms6", "fd00:13::5"),
            ("printer", "192.168.1.7"),
        ] {
            assert!(
                policy.check_addr(host, ip.parse().unwrap()).is_err(),
                "{host} {ip}"
            );
        }
        // Nonsense entries allow nothing.
        let odd = HttpPolicy::strict().with_allowed_hosts(["10.0.0.0/40", "10.0.0.0/x"]);
        assert!(
            odd.check_addr("10.0.0.1", "10.0.0.1".parse().unwrap())
                .is_err()
        );
        let everything = HttpPolicy::strict().with_allowed_hosts(["0.0.0.0/0"]);
        assert!(
            everything
                .check_addr("10.0.0.1", "10.0.0.1".parse().unwrap())
                .is_ok()
        );
    }

    #[test]
    fn wildcard_entries_allow_subdomains_but_not_the_bare_domain_or_lookalikes() {
        let policy = HttpPolicy::strict().with_allowed_hosts(["*.dealer.internal"]);

        assert!(policy.allows_host("crm.dealer.internal"));
        assert!(policy.allows_host("a.b.dealer.internal"));
        assert!(!policy.allows_host("dealer.internal"));
        assert!(!policy.allows_host("evildealer.internal"));
    }

    #[tokio::test]
    async fn resolver_refuses_a_name_that_resolves_only_to_loopback() {
        let resolver = GuardedResolver::new(Arc::new(HttpPolicy::strict()));

        let err = match resolver.resolve("localhost".parse().unwrap()).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(e) => e,
        };

        let refusal = refusal_in(&*err).expect("a refusal");
        assert!(
            matches!(refusal, Refusal::Address { range: "loopback", host: Some(h), .. } if h == "localhost"),
            "{refusal:?}"
        );
    }

    #[tokio::test]
    async fn resolver_returns_the_addresses_of_an_allow_listed_name() {
        let policy = HttpPolicy::strict().with_allowed_hosts(["localhost"]);
        let resolver = GuardedResolver::new(Arc::new(policy));

        let addrs: Vec<SocketAddr> = match resolver.resolve("localhost".parse().unwrap()).await {
            Ok(addrs) => addrs.collect(),
            Err(e) => panic!("{e}"),
        };

        assert!(
            addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty(),
            "{addrs:?}"
        );
    }
}
