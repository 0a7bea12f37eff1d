//! Configuration: one typed struct loaded once — defaults, then the optional TOML file, then
//! environment variables and flags (clap reads both) — and passed down explicitly.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use automatrix_api::OidcConfig;

use crate::secret::Secret;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Config {
    pub bind: SocketAddr,
    /// Defaults to `sqlite://<data_dir>/automatrix.db`.
    pub database_url: Option<String>,
    pub workers: usize,
    pub data_dir: PathBuf,
    /// Signing and encryption master key; generated into the data dir when unset.
    pub secret_key: Option<Secret>,
    /// Let nodes call private, loopback and link-local addresses.
    pub http_allow_private: bool,
    /// Hosts nodes may call even when they resolve to private addresses.
    pub http_allow_hosts: Vec<String>,
    /// Log lines on stderr: `text` (one line per event), `pretty` (several lines per event,
    /// for reading at a terminal) or `json` (one object per line, with the span fields).
    pub log_format: String,
    /// How long a worker's claim on an execution lasts without a heartbeat (it heartbeats
    /// every third of it): after a crash, another worker resumes the execution this long after
    /// the last heartbeat at most.
    pub lease_secs: u64,
    /// On shutdown, how long running executions may go on before they are stopped and their
    /// jobs given back to the queue.
    pub drain_secs: u64,
    /// How often an idle worker looks for due work when nothing wakes it (the fallback for
    /// missed PostgreSQL notifications, and what resumes timers such as `flow.delay`).
    pub poll_ms: u64,
    /// Finished executions (with their step logs) are deleted this many days after they
    /// finished; `0` keeps them forever.
    pub retention_days: u32,
    /// The largest webhook body accepted; a larger one gets 413.
    pub webhook_max_bytes: u64,
    /// How many executions of webhooks answered on completion `serve` runs at once in the
    /// request's process, skipping the queue; more (or all, with `0`, or without workers) go
    /// through the queue.
    pub webhook_inline: u64,
    /// Origins (`https://crm.dealer.example`) whose web pages may call the API; empty: none.
    pub cors_origins: Vec<String>,
    /// Requests per authenticated caller (API key, else user) and process: `REQUESTS/SECONDS`,
    /// or `0` for none.
    pub api_rate_limit: String,
    /// The server sits behind a proxy that sets `X-Forwarded-For` (and strips what clients
    /// send): its first address is the client's for login rate limits. Off: the socket peer.
    pub trust_proxy: bool,
    /// Count failed logins in the database, so every API process sharing it sees the same
    /// counts; off: each process counts its own.
    pub login_limits_shared: bool,
    /// Single sign-on: the OpenID Connect issuer (`https://login.dealer.example/realms/x`);
    /// unset: no SSO. With it, `oidc_client_id` and `oidc_redirect_uri` are required.
    pub oidc_issuer: Option<String>,
    pub oidc_client_id: Option<String>,
    /// Unset: a public client (PKCE only).
    pub oidc_client_secret: Option<Secret>,
    /// This server's public callback URL, `https://…/api/auth/sso/callback`.
    pub oidc_redirect_uri: Option<String>,
    /// Accept a plain-http issuer that is not on a loopback address (development only).
    pub oidc_allow_insecure_http: bool,
    /// What `GET /metrics` requires as its bearer; unset: the route is public.
    pub metrics_token: Option<Secret>,
    /// A second listener serving only `GET /metrics` and the health probes (`host:port`);
    /// the way to scrape a `worker` process, which has no other listener.
    pub metrics_bind: Option<SocketAddr>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            workers: 32,
            data_dir: PathBuf::from("./data"),
            secret_key: None,
            http_allow_private: false,
            http_allow_hosts: Vec::new(),
            log_format: "text".into(),
            lease_secs: 30,
            drain_secs: 10,
            poll_ms: 500,
            retention_days: 30,
            webhook_max_bytes: 1024 * 1024,
            webhook_inline: 64,
            cors_origins: Vec::new(),
            api_rate_limit: "3000/60".into(),
            trust_proxy: false,
            login_limits_shared: false,
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_redirect_uri: None,
            oidc_allow_insecure_http: false,
            metrics_token: None,
            metrics_bind: None,
        }
    }
}

/// Values given on the command line or in the environment through clap.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

/// Environment variables read directly (those with no command-line flag).
#[derive(Debug, Default, Serialize)]
struct EnvOnly {
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_allow_private: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_allow_hosts: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lease_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    drain_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    poll_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retention_days: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_max_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_inline: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cors_origins: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_rate_limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trust_proxy: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    login_limits_shared: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oidc_issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oidc_client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oidc_client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oidc_redirect_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oidc_allow_insecure_http: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_bind: Option<String>,
}

/// A comma-separated list, items trimmed, empty ones dropped.
fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .collect()
}

/// Whether `origin` is what a browser sends as `Origin`: `http(s)://host[:port]`, nothing more.
fn is_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

impl EnvOnly {
    fn read() -> anyhow::Result<Self> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let flag = |k: &str| -> anyhow::Result<Option<bool>> {
            var(k)
                .map(|v| match v.as_str() {
                    "1" | "true" | "yes" => Ok(true),
                    "0" | "false" | "no" => Ok(false),
                    other => anyhow::bail!("{k} must be 1 or 0, got `{other}`"),
                })
                .transpose()
        };
        let number = |k: &str| -> anyhow::Result<Option<u64>> {
            var(k)
                .map(|v| {
                    v.parse()
                        .with_context(|| format!("{k} must be a whole number, got `{v}`"))
                })
                .transpose()
        };
        Ok(Self {
            secret_key: var("AUTOMATRIX_SECRET_KEY"),
            http_allow_private: flag("AUTOMATRIX_HTTP_ALLOW_PRIVATE")?,
            http_allow_hosts: var("AUTOMATRIX_HTTP_ALLOW_HOSTS").map(|v| list(&v)),
            log_format: var("AUTOMATRIX_LOG_FORMAT"),
            lease_secs: number("AUTOMATRIX_LEASE_SECS")?,
            drain_secs: number("AUTOMATRIX_DRAIN_SECS")?,
            poll_ms: number("AUTOMATRIX_POLL_MS")?,
            retention_days: number("AUTOMATRIX_RETENTION_DAYS")?,
            webhook_max_bytes: number("AUTOMATRIX_WEBHOOK_MAX_BYTES")?,
            webhook_inline: number("AUTOMATRIX_WEBHOOK_INLINE")?,
            cors_origins: var("AUTOMATRIX_CORS_ORIGINS").map(|v| list(&v)),
            api_rate_limit: var("AUTOMATRIX_API_RATE_LIMIT"),
            trust_proxy: flag("AUTOMATRIX_TRUST_PROXY")?,
            login_limits_shared: flag("AUTOMATRIX_LOGIN_LIMITS_SHARED")?,
            oidc_issuer: var("AUTOMATRIX_OIDC_ISSUER"),
            oidc_client_id: var("AUTOMATRIX_OIDC_CLIENT_ID"),
            oidc_client_secret: var("AUTOMATRIX_OIDC_CLIENT_SECRET"),
            oidc_redirect_uri: var("AUTOMATRIX_OIDC_REDIRECT_URI"),
            oidc_allow_insecure_http: flag("AUTOMATRIX_OIDC_ALLOW_INSECURE_HTTP")?,
            metrics_token: var("AUTOMATRIX_METRICS_TOKEN"),
            metrics_bind: var("AUTOMATRIX_METRICS_BIND"),
        })
    }
}

impl Config {
    pub fn load(file: Option<&Path>, overrides: Overrides) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            anyhow::ensure!(
                path.exists(),
                "config file {} does not exist",
                path.display()
            );
            fig = fig.merge(Toml::file(path));
        }
        fig = fig
            .merge(Serialized::defaults(EnvOnly::read()?))
            .merge(Serialized::defaults(overrides));
        let config: Config = fig.extract().context("invalid configuration")?;
        anyhow::ensure!(
            crate::telemetry::LOG_FORMATS.contains(&config.log_format.as_str()),
            "log_format (AUTOMATRIX_LOG_FORMAT) must be one of {}, got `{}`",
            crate::telemetry::LOG_FORMATS.join(", "),
            config.log_format
        );
        anyhow::ensure!(config.lease_secs >= 1, "lease_secs must be at least 1");
        anyhow::ensure!(config.poll_ms >= 1, "poll_ms must be at least 1");
        anyhow::ensure!(
            config.webhook_max_bytes >= 1,
            "webhook_max_bytes must be at least 1"
        );
        config.api_rate()?;
        if let Some(bad) = config.cors_origins.iter().find(|o| !is_origin(o)) {
            anyhow::bail!(
                "cors_origins: `{bad}` is not an origin (scheme://host[:port], no path or trailing slash)"
            );
        }
        if let Some(oidc) = config.oidc()? {
            oidc.validate().map_err(anyhow::Error::msg)?;
        }
        Ok(config)
    }

    /// `api_rate_limit` as (requests, seconds); `None` when it is `0` (no limit).
    pub fn api_rate(&self) -> anyhow::Result<Option<(u32, u32)>> {
        let v = self.api_rate_limit.trim();
        if v == "0" {
            return Ok(None);
        }
        let parsed = v.split_once('/').and_then(|(r, s)| {
            Some((r.trim().parse::<u32>().ok()?, s.trim().parse::<u32>().ok()?))
        });
        match parsed {
            Some((r, s)) if r > 0 && s > 0 => Ok(Some((r, s))),
            _ => anyhow::bail!(
                "api_rate_limit must be REQUESTS/SECONDS (e.g. 3000/60) or 0, got `{v}`"
            ),
        }
    }

    /// The single sign-on settings; `None` without an issuer. The client id and redirect URI
    /// are required with an issuer, and meaningless without one.
    pub fn oidc(&self) -> anyhow::Result<Option<OidcConfig>> {
        let Some(issuer) = self.oidc_issuer.clone() else {
            anyhow::ensure!(
                self.oidc_client_id.is_none()
                    && self.oidc_client_secret.is_none()
                    && self.oidc_redirect_uri.is_none(),
                "oidc_client_id, oidc_client_secret and oidc_redirect_uri need oidc_issuer                  (AUTOMATRIX_OIDC_ISSUER)"
            );
            return Ok(None);
        };
        let client_id = self
            .oidc_client_id
            .clone()
            .context("oidc_issuer needs oidc_client_id (AUTOMATRIX_OIDC_CLIENT_ID)")?;
        let redirect_uri = self
            .oidc_redirect_uri
            .clone()
            .context("oidc_issuer needs oidc_redirect_uri (AUTOMATRIX_OIDC_REDIRECT_URI)")?;
        Ok(Some(OidcConfig {
            issuer,
            client_id,
            client_secret: self
                .oidc_client_secret
                .as_ref()
                .map(|s| s.as_str().to_owned()),
            redirect_uri,
            allow_insecure_http: self.oidc_allow_insecure_http,
        }))
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!("sqlite://{}", self.data_dir.join("automatrix.db").display())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cors_origin_is_scheme_host_and_port_only() {
        for ok in [
            "https://crm.dealer.example",
            "http://localhost:5173",
            "http://[::1]:8080",
        ] {
            assert!(is_origin(ok), "{ok}");
        }
        for bad in [
            "crm.dealer.example",
            "https://crm.dealer.example/",
            "https://x/path",
            "*",
            "https://",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
        assert_eq!(list(" a, ,b ,"), ["a", "b"]);
    }

    #[test]
    fn the_api_rate_limit_is_requests_per_seconds_or_off() {
        let with = |v: &str| Config {
            api_rate_limit: v.into(),
            ..Config::default()
        };
        assert_eq!(with("3000/60").api_rate().unwrap(), Some((3000, 60)));
        assert_eq!(with(" 10 / 1 ").api_rate().unwrap(), Some((10, 1)));
        assert_eq!(with("0").api_rate().unwrap(), None);
        for bad in ["", "10", "0/60", "10/0", "x/y", "-1/60"] {
            assert!(with(bad).api_rate().is_err(), "{bad}");
        }
    }

    #[test]
    fn sso_settings_come_together_and_the_secret_is_redacted() {
        let mut c = Config {
            oidc_issuer: Some("https://login.dealer.example".into()),
            oidc_client_secret: Some(
                serde_json::from_str::<Secret>("\"client-secret-value\"").expect("secret"),
            ),
            ..Config::default()
        };
        assert!(c.oidc().is_err(), "an issuer without a client id");
        c.oidc_client_id = Some("automatrix".into());
        c.oidc_redirect_uri = Some("https://amx.dealer.example/api/auth/sso/callback".into());
        let oidc = c.oidc().expect("complete").expect("configured");
        assert_eq!(oidc.client_secret.as_deref(), Some("client-secret-value"));
        assert!(oidc.validate().is_ok());
        assert!(!format!("{c:?}").contains("client-secret-value"));
        assert!(!format!("{oidc:?}").contains("client-secret-value"));
        c.oidc_issuer = Some("http://login.dealer.example".into());
        assert!(
            c.oidc()
                .expect("complete")
                .expect("configured")
                .validate()
                .is_err()
        );
        c.oidc_issuer = None;
        assert!(c.oidc().is_err(), "client settings without an issuer");
    }
}
