//! HTTP proxies: where the client tunnels through (an option, or `HTTPS_PROXY`), with which
//! credentials, and which hosts bypass it (`NO_PROXY`).

use std::fmt;

use crate::error::Error;

/// An HTTP proxy the client reaches the service through, with an HTTP CONNECT tunnel (as
/// the official SDKs do, a proxy implies AMQP over WebSockets: proxies commonly let
/// CONNECT through to port 443 only).
///
/// Without [`ClientOptions::proxy`](crate::ClientOptions::proxy), `HTTPS_PROXY` (or
/// `https_proxy`, then `ALL_PROXY`/`all_proxy`) is used, except for hosts `NO_PROXY`
/// (`no_proxy`) names and for loopback hosts. `Debug` never shows the password.
///
/// ```
/// use eventhubs::{ClientOptions, ProxyOptions};
/// let proxy = ProxyOptions::new("http://alice:secret@proxy.corp:3128")?
///     .no_proxy(["internal.corp"]);
/// let options = ClientOptions::default().proxy(proxy);
/// # let _ = options;
/// # Ok::<(), eventhubs::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyOptions {
    address: String,
    credentials: Option<(String, String)>,
    no_proxy: Vec<String>,
}

impl fmt::Debug for ProxyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyOptions")
            .field("address", &self.address)
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .field("password", &self.credentials.as_ref().map(|_| "<redacted>"))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl ProxyOptions {
    /// A proxy from its URL, `http://[user:password@]host[:port]` (port 80 by default; the
    /// user and password may be percent-encoded). Errors never repeat the password.
    pub fn new(url: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::invalid(format!("proxy URL {}: {why}", redact(url)));
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| bad("only http:// proxies are supported"))?;
        let rest = rest.trim_end_matches('/');
        let (credentials, host_port) = match rest.rsplit_once('@') {
            Some((userinfo, host_port)) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                (
                    Some((percent_decode(user), percent_decode(password))),
                    host_port,
                )
            }
            None => (None, rest),
        };
        if host_port.is_empty() || host_port.contains('/') {
            return Err(bad("expected http://[user:password@]host[:port]"));
        }
        // A port follows the last ':' unless that ':' is inside an IPv6 literal (`[::1]`).
        let port_split = host_port
            .rsplit_once(':')
            .filter(|(host, _)| !host.contains('[') || host.ends_with(']'));
        let address = match port_split {
            Some((host, port)) => {
                port.parse::<u16>()
                    .map_err(|_| bad("the port is not a number"))?;
                if host.is_empty() {
                    return Err(bad("no host"));
                }
                host_port.to_owned()
            }
            _ => format!("{host_port}:80"),
        };
        Ok(Self {
            address,
            credentials,
            no_proxy: Vec::new(),
        })
    }

    /// Authenticates to the proxy with Basic auth (instead of the URL's user and password).
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// Hosts reached directly: `*` (all), a host name (and its subdomains), `.suffix`, an
    /// IP address, or a CIDR range (`10.0.0.0/8`, `fd00::/8`).
    pub fn no_proxy<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.no_proxy.extend(hosts.into_iter().map(Into::into));
        self
    }

    /// The proxy's `host:port`.
    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    pub(crate) fn basic_credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// Whether connections to `host` go through this proxy.
    pub(crate) fn applies_to(&self, host: &str) -> bool {
        let host = host
            .trim_end_matches('.')
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let ip: Option<std::net::IpAddr> = host.parse().ok();
        !self.no_proxy.iter().any(|entry| {
            let entry = entry.trim().trim_start_matches("*.").to_ascii_lowercase();
            let entry = entry
                .trim_start_matches('.')
                .trim_start_matches('[')
                .trim_end_matches(']');
            if let (Some(ip), Ok(range)) = (ip, entry.parse::<ipnet::IpNet>()) {
                return range.contains(&ip);
            }
            entry == "*"
                || (!entry.is_empty() && (host == entry || host.ends_with(&format!(".{entry}"))))
        })
    }

    /// The proxy the environment names for `host`: `HTTPS_PROXY`, `https_proxy`,
    /// `ALL_PROXY`, `all_proxy` (the first set), unless `NO_PROXY`/`no_proxy` or loopback
    /// exempts the host.
    pub(crate) fn from_env(host: &str) -> Result<Option<Self>, Error> {
        Self::from_vars(host, |name| std::env::var(name).ok())
    }

    fn from_vars(host: &str, var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, Error> {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let Some((name, url)) = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
            .into_iter()
            .find_map(|n| set(n).map(|v| (n, v)))
        else {
            return Ok(None);
        };
        if is_loopback(host) {
            return Ok(None);
        }
        let no_proxy = set("NO_PROXY")
            .or_else(|| set("no_proxy"))
            .unwrap_or_default();
        let proxy = Self::new(url.trim())
            .map_err(|e| Error::invalid(format!("{name}: {e}")))?
            .no_proxy(no_proxy.split(',').map(str::trim).filter(|s| !s.is_empty()));
        Ok(proxy.applies_to(host).then_some(proxy))
    }
}

/// Loopback and link-local hosts (the emulator, instance metadata) are never proxied from
/// the environment.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.to_string().starts_with("169.254."))
}

/// `url` with any password replaced, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:<redacted>{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let p = ProxyOptions::new("http://al%40ice:p%3Ass@proxy.corp:3128/").unwrap();
        assert_eq!(p.address(), "proxy.corp:3128");
        assert_eq!(p.basic_credentials(), Some(("al@ice", "p:ss")));
        assert_eq!(
            ProxyOptions::new("http://proxy").unwrap().address(),
            "proxy:80"
        );
        for (url, address) in [
            ("http://[::1]:8080", "[::1]:8080"),
            ("http://[::1]", "[::1]:80"),
        ] {
            assert_eq!(ProxyOptions::new(url).unwrap().address(), address, "{url}");
        }
        assert!(!format!("{p:?}").contains("p:ss"));
        for bad in [
            "https://proxy:1",
            "http://",
            "http://u:secret@proxy:port",
            "socks5://p:1",
        ] {
            let err = ProxyOptions::new(bad).unwrap_err().to_string();
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn no_proxy_matching() {
        let p = ProxyOptions::new("http://p:1").unwrap().no_proxy([
            "corp.example",
            ".internal",
            "10.0.0.7",
        ]);
        assert!(!p.applies_to("corp.example"));
        assert!(!p.applies_to("ns.corp.example"));
        assert!(!p.applies_to("a.internal"));
        assert!(!p.applies_to("10.0.0.7"));
        assert!(p.applies_to("notcorp.example"));
        assert!(p.applies_to("ns.servicebus.windows.net"));
        assert!(!ProxyOptions::new("http://p:1")
            .unwrap()
            .no_proxy(["*"])
            .applies_to("x"));
    }

    /// CIDR ranges (IPv4 and IPv6) and bracketed IPv6 literals in the no-proxy list.
    #[test]
    fn no_proxy_cidr_ranges() {
        let p = ProxyOptions::new("http://p:1").unwrap().no_proxy([
            "10.0.0.0/8",
            "fd00::/8",
            "[2001:db8::1]",
            "not/a/range",
        ]);
        assert!(!p.applies_to("10.1.2.3"));
        assert!(!p.applies_to("fd12::7"));
        assert!(!p.applies_to("[fd12::7]"));
        assert!(!p.applies_to("2001:db8::1"));
        assert!(p.applies_to("11.0.0.1"));
        assert!(p.applies_to("2001:db8::2"));
        assert!(p.applies_to("ns.servicebus.windows.net"));
    }

    #[test]
    fn environment() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let host = "ns.servicebus.windows.net";
        assert_eq!(ProxyOptions::from_vars(host, vars(&[])).unwrap(), None);
        let p = ProxyOptions::from_vars(host, vars(&[("https_proxy", "http://p:3128")]))
            .unwrap()
            .unwrap();
        assert_eq!(p.address(), "p:3128");
        let all = ProxyOptions::from_vars(host, vars(&[("ALL_PROXY", "http://q:1")])).unwrap();
        assert_eq!(all.unwrap().address(), "q:1");
        let bypassed = ProxyOptions::from_vars(
            host,
            vars(&[
                ("HTTPS_PROXY", "http://p:1"),
                ("NO_PROXY", "example.com, .windows.net"),
            ]),
        );
        assert_eq!(bypassed.unwrap(), None);
        let local = ProxyOptions::from_vars("localhost", vars(&[("HTTPS_PROXY", "http://p:1")]));
        assert_eq!(local.unwrap(), None);
        let bad = ProxyOptions::from_vars(host, vars(&[("HTTPS_PROXY", "http://u:hunter2@p:x")]))
            .unwrap_err()
            .to_string();
        assert!(
            bad.contains("HTTPS_PROXY") && !bad.contains("hunter2"),
            "{bad}"
        );
    }
}
