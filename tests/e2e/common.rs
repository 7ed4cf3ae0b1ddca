//! The stack every end-to-end test runs against: sandbox Bink, the demo upstream and the
//! proxy, each on an ephemeral loopback port, talking over real sockets.

use std::net::SocketAddr;
use std::time::Duration;

use bink_proxy::config::{Config, NoEnv};
use bink_proxy::sandbox::{self, SandboxBink, Sandboxes};
use bink_proxy::Running;

pub const ADA: &str = "bink_pat_sandbox_ada_free";
pub const BEN: &str = "bink_pat_sandbox_ben_verified";
pub const CLEO: &str = "bink_pat_sandbox_cleo_business";
pub const ZOE: &str = "bink_pat_sandbox_zoe_unicode";
pub const GHOST: &str = "bink_pat_sandbox_ghost_noemail";

/// Extra lines for each config section.
#[derive(Default, Clone)]
pub struct Opts {
    pub server: String,
    pub bink: String,
    pub tokens: String,
    pub access: String,
    pub headers: String,
    pub session: String,
    /// Enables browser sign-in against the sandbox client (cookie_secure = false unless
    /// `session` says otherwise).
    pub sign_in: bool,
    /// Replaces the demo upstream's URL.
    pub upstream: Option<String>,
    /// Enables `/integrations` against the sandbox vendors, with these extra
    /// `[integrations]` lines (a fresh SQLite file and a test key unless given).
    pub integrations: Option<String>,
}

/// The current integrations key of every test stack.
pub const ENCRYPTION_KEY: &str = "aW50ZWdyYXRpb25zLWVuY3J5cHRpb24ta2V5LTMyISE=";

/// A fresh SQLite database URL in the temp dir.
pub fn temp_sqlite_url() -> String {
    let path = std::env::temp_dir().join(format!(
        "bink-test-{}-{}.db",
        std::process::id(),
        rand::random::<u64>()
    ));
    format!("sqlite://{}", path.display())
}

pub struct Stack {
    pub proxy: Running,
    pub bink: SandboxBink,
    pub sandboxes: Sandboxes,
    pub upstream_addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub async fn spawn_bink() -> (SandboxBink, SocketAddr) {
    let bink = SandboxBink::new();
    let addr = sandbox::spawn(bink.router(), ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    (bink, addr)
}

pub async fn spawn_upstream() -> SocketAddr {
    sandbox::spawn(sandbox::upstream::router(), ([127, 0, 0, 1], 0).into())
        .await
        .unwrap()
}

/// A loopback address nothing listens on.
pub async fn closed_port() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

/// The cookie secret every test stack shares (so two instances can share sessions).
pub const COOKIE_SECRET: &str = "c2FuZGJveC1jb29raWUtc2VjcmV0LTMyLWJ5dGVzISE=";

pub fn config_toml(opts: &Opts, bink: SocketAddr, upstream: &str) -> String {
    config_toml_with(opts, bink, upstream, None)
}

pub fn config_toml_with(
    opts: &Opts,
    bink: SocketAddr,
    upstream: &str,
    vendors: Option<&Sandboxes>,
) -> String {
    let integrations = match (&opts.integrations, vendors) {
        (Some(extra), Some(vendors)) => {
            let key = if extra.contains("encryption_key =") {
                String::new()
            } else {
                format!("encryption_key = \"{ENCRYPTION_KEY}\"\n")
            };
            let db = if extra.contains("database_url") {
                String::new()
            } else {
                format!("database_url = \"{}\"\n", temp_sqlite_url())
            };
            // Lines that configure a provider themselves replace the sandbox providers.
            let providers = if extra.contains("[integrations.kombo]")
                || extra.contains("[integrations.bindbee]")
            {
                String::new()
            } else {
                vendors.integrations_toml()
            };
            format!("\n[integrations]\nenabled = true\n{key}{db}{extra}\n\n{providers}")
        }
        _ => String::new(),
    };
    let timeout = if opts.bink.contains("timeout") {
        ""
    } else {
        "timeout = \"2s\""
    };
    let (client, session_defaults) = if opts.sign_in {
        let secure = if opts.session.contains("cookie_secure") {
            ""
        } else {
            "cookie_secure = false\n"
        };
        let secret = if opts.session.contains("cookie_secret") {
            String::new()
        } else {
            format!("cookie_secret = \"{COOKIE_SECRET}\"\n")
        };
        (
            format!(
                "client_id = \"{}\"\nclient_secret = \"{}\"\n",
                bink_proxy::sandbox::bink::SANDBOX_CLIENT_ID,
                bink_proxy::sandbox::bink::SANDBOX_CLIENT_SECRET
            ),
            format!("{secret}{secure}"),
        )
    } else {
        (String::new(), String::new())
    };
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nupstream = \"{upstream}\"\n{}\n\
         [bink]\nbase_url = \"http://{bink}\"\n{timeout}\n{client}{}\n\
         [session]\n{session_defaults}{}\n\
         [tokens]\n{}\n[access]\n{}\n[headers]\n{}\n{integrations}",
        opts.server, opts.bink, opts.session, opts.tokens, opts.access, opts.headers
    )
}

impl Stack {
    pub async fn start(opts: Opts) -> Stack {
        let sandboxes = Sandboxes::spawn(([127, 0, 0, 1], 0).into()).await.unwrap();
        let upstream_addr = spawn_upstream().await;
        Stack::start_with(opts, sandboxes, upstream_addr).await
    }

    /// A proxy in front of existing sandboxes and upstream (several instances, one Bink).
    pub async fn start_with(opts: Opts, sandboxes: Sandboxes, upstream_addr: SocketAddr) -> Stack {
        Stack::try_start_with(opts, sandboxes, upstream_addr)
            .await
            .unwrap()
    }

    pub async fn try_start_with(
        opts: Opts,
        sandboxes: Sandboxes,
        upstream_addr: SocketAddr,
    ) -> Result<Stack, String> {
        let upstream = opts
            .upstream
            .clone()
            .unwrap_or_else(|| format!("http://{upstream_addr}"));
        let mut toml = config_toml_with(&opts, sandboxes.addr, &upstream, Some(&sandboxes));
        if opts.sign_in {
            // public_url must be the address the test client uses; pick the port first.
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            toml = toml.replace(
                "listen = \"127.0.0.1:0\"",
                &format!("listen = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\""),
            );
        }
        let config = Config::from_toml(&toml, &NoEnv).map_err(|e| e.to_string())?;
        let proxy = bink_proxy::start(config, false)
            .await
            .map_err(|e| e.to_string())?;
        let base = format!("http://{}", proxy.addr);
        Ok(Stack {
            proxy,
            bink: sandboxes.bink.clone(),
            sandboxes,
            upstream_addr,
            base,
            client: client(),
        })
    }

    pub async fn default() -> Stack {
        Stack::start(Opts::default()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// What the demo upstream received, as (lower-case name, value) pairs.
    pub async fn upstream_view(
        &self,
        request: reqwest::RequestBuilder,
    ) -> (u16, serde_json::Value) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }
}

/// Every value of header `name` in an echo body.
pub fn header_values(echo: &serde_json::Value, name: &str) -> Vec<String> {
    echo["headers"]
        .as_array()
        .map(|hs| {
            hs.iter()
                .filter(|h| h[0].as_str() == Some(name))
                .filter_map(|h| h[1].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

pub fn header_names(echo: &serde_json::Value) -> Vec<String> {
    echo["headers"]
        .as_array()
        .map(|hs| {
            hs.iter()
                .filter_map(|h| h[0].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Sends raw bytes and returns whatever the server answered before closing or `wait`.
pub async fn raw_exchange(addr: SocketAddr, bytes: &[u8], wait: Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
