//! The binary itself: exit codes, config errors, logs, signals, memory under a big upload,
//! and the `dev` demo.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bink_proxy::sandbox::bink::Fault;

use crate::common::*;

const BIN: &str = env!("CARGO_BIN_EXE_bink-proxy");

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("BINK_PROXY_CONFIG")
        .envs(env.iter().copied())
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "bink-{}-{}-{name}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn config_errors_exit_2_and_name_every_key() {
    let path = temp_file(
        "bad.toml",
        "[server]\nupstream = \"http://127.0.0.1:1\"\nlisten = \"nowhere\"\nupstream_timeout = \"soon\"\n\
         [access]\nallowed_plans = [\"GOLD\"]\nskip_auth = [\"^/(\"]\n",
    );
    let (code, _, err) = run(&["check-config", "--config", path.to_str().unwrap()], &[]);
    assert_eq!(code, 2, "{err}");
    for key in [
        "server.listen",
        "server.upstream_timeout",
        "access.allowed_plans",
        "access.skip_auth[0]",
    ] {
        assert!(err.contains(key), "{key} missing from: {err}");
    }
    let path = temp_file(
        "typo.toml",
        "[server]\nupstream = \"http://127.0.0.1:1\"\nlisen = \"x\"\n",
    );
    let (code, _, err) = run(&["serve", "--config", path.to_str().unwrap()], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("server.lisen") && err.contains("unknown field"),
        "{err}"
    );
    let (code, _, err) = run(
        &["check-config"],
        &[
            ("BINK_PROXY_SERVER__UPSTREAM", "http://127.0.0.1:1"),
            ("BINK_PROXY_SERVER__TRUSTED_PROXY_HOPS", "many"),
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("server.trusted_proxy_hops"), "{err}");
    let (code, _, err) = run(&["serve", "--config", "/nonexistent/bink.toml"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/bink.toml"), "{err}");
}

#[test]
fn bad_usage_exits_2_and_help_exits_0() {
    assert_eq!(run(&["frobnicate"], &[]).0, 2);
    assert_eq!(run(&["serve", "--no-such-flag"], &[]).0, 2);
    assert_eq!(run(&["--help"], &[]).0, 0);
}

#[test]
fn check_config_prints_the_effective_config_with_secrets_redacted() {
    let secret_file = temp_file("secret", "file-secret-value\n");
    let (code, out, err) = run(
        &["check-config"],
        &[
            ("BINK_PROXY_SERVER__UPSTREAM", "http://127.0.0.1:9000"),
            ("BINK_PROXY_BINK__CLIENT_ID", "client-123"),
            (
                "BINK_PROXY_BINK__CLIENT_SECRET_FILE",
                secret_file.to_str().unwrap(),
            ),
            ("BINK_PROXY_SESSION__COOKIE_SECRET", COOKIE_SECRET),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains(COOKIE_SECRET), "{out}");
    assert!(
        out.contains("upstream = \"http://127.0.0.1:9000/\""),
        "{out}"
    );
    assert!(out.contains("client_id = \"client-123\""));
    assert!(out.contains("[redacted]"));
    assert!(!out.contains("file-secret-value") && !err.contains("file-secret-value"));
}

#[test]
fn gen_secret_prints_32_random_bytes_in_base64() {
    use base64::Engine;
    let (code, a, _) = run(&["gen-secret"], &[]);
    let (_, b, _) = run(&["gen-secret"], &[]);
    assert_eq!(code, 0);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(a.trim())
        .unwrap();
    assert_eq!(bytes.len(), 32);
    assert_ne!(a, b);
}

/// A `serve` child process with its stderr collected.
struct Served {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Served {
    fn start(env: &[(&str, &str)]) -> Served {
        let mut child = Command::new(BIN)
            .args(["--log-format", "json", "serve"])
            .env_remove("BINK_PROXY_CONFIG")
            .env("RUST_LOG", "debug")
            .env("BINK_PROXY_SERVER__LISTEN", "127.0.0.1:0")
            .envs(env.iter().copied())
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("bink-proxy listening") {
                    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
                    let _ = tx.send(v["addr"].as_str().unwrap().parse::<SocketAddr>().unwrap());
                }
                sink.lock().unwrap().push_str(&line);
                sink.lock().unwrap().push('\n');
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("proxy did not start");
        Served { child, addr, log }
    }

    fn terminate(&mut self) -> i32 {
        unsafe_kill(self.child.id());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "proxy did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn unsafe_kill(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_from_the_environment_alone_and_never_logs_a_token() {
    let (bink, bink_addr) = spawn_bink().await;
    let upstream = spawn_upstream().await;
    let bink_url = format!("http://{bink_addr}");
    let upstream_url = format!("http://{upstream}");
    let mut served = Served::start(&[
        ("BINK_PROXY_SERVER__UPSTREAM", &upstream_url),
        ("BINK_PROXY_BINK__BASE_URL", &bink_url),
        ("BINK_PROXY_HEADERS__PASS_ACCESS_TOKEN", "true"),
    ]);
    let c = client();
    let base = format!("http://{}", served.addr);
    let invalid = "bink_pat_this_one_is_invalid_0123456789";
    let malformed = "Bearer bad token with spaces";
    assert_eq!(
        c.get(format!("{base}/a?token={ADA}"))
            .bearer_auth(ADA)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.get(format!("{base}/b"))
            .bearer_auth(invalid)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        c.get(format!("{base}/c"))
            .header("authorization", malformed)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    bink.set_fault(bink_proxy::sandbox::bink::Fault::Status(500));
    assert_eq!(
        c.get(format!("{base}/d"))
            .bearer_auth(BEN)
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    assert_eq!(served.terminate(), 0, "SIGTERM is a clean exit");

    let log = served.log.lock().unwrap().clone();
    assert!(
        log.contains("\"path\":\"/a\""),
        "one line per request, path without query: {log}"
    );
    assert!(log.contains("\"user\":\"usr_ada\""));
    for secret in [
        ADA,
        invalid,
        "bad token with spaces",
        BEN,
        "this_one_is_invalid",
    ] {
        assert!(
            !log.contains(secret),
            "token {secret} leaked into the log:\n{log}"
        );
    }
    assert!(
        log.contains("bink…("),
        "tokens are identified by fingerprint only: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_256_mib_upload_streams_with_peak_rss_under_64_mib() {
    let (_bink, bink_addr) = spawn_bink().await;
    let upstream = spawn_upstream().await;
    let bink_url = format!("http://{bink_addr}");
    let upstream_url = format!("http://{upstream}");
    let mut served = Served::start(&[
        ("BINK_PROXY_SERVER__UPSTREAM", &upstream_url),
        ("BINK_PROXY_BINK__BASE_URL", &bink_url),
        ("RUST_LOG", "info"),
    ]);
    const CHUNK: usize = 256 * 1024;
    const TOTAL: usize = 256 * 1024 * 1024;
    let chunk = bytes::Bytes::from(vec![0x5au8; CHUNK]);
    let body = futures_util::stream::iter(
        (0..TOTAL / CHUNK).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
    );
    let r = client()
        .post(format!("http://{}/__demo/upload", served.addr))
        .bearer_auth(ADA)
        .header("content-length", TOTAL.to_string())
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let echo: serde_json::Value = r.json().await.unwrap();
    assert_eq!(echo["bytes"], TOTAL as u64);
    let peak = served.peak_rss_kib();
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB");
    eprintln!("proxy peak RSS during a 256 MiB upload: {} KiB", peak);
    served.terminate();
}

#[test]
fn dev_prints_a_url_and_a_pat_that_work_with_curl_like_clients() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BIN)
        .args(["dev", "--port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let curl = lines
        .find(|l| l.trim_start().starts_with("curl "))
        .expect("a curl line");
    let _ = Command::new("kill")
        .arg("-0")
        .arg(child.id().to_string())
        .status();
    let pat = curl
        .split("Bearer ")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_string();
    let url = curl.split_whitespace().last().unwrap().to_string();
    assert!(
        url.starts_with(&format!("http://127.0.0.1:{port}/")),
        "{curl}"
    );
    let out = Command::new("curl")
        .args(["-s", "-H", &format!("Authorization: Bearer {pat}"), &url])
        .output();
    let body = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        // No curl binary: do the same request with a blocking socket.
        _ => blocking_get(port, &url, &pat),
    };
    let _ = child.kill();
    let _ = child.wait();
    let echo: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(header_values(&echo, "x-auth-request-user"), ["ada"]);
    assert!(!header_values(&echo, "x-bink-assertion").is_empty());
}

fn blocking_get(port: u16, url: &str, pat: &str) -> String {
    use std::io::{Read, Write};
    let path = url.splitn(4, '/').nth(3).unwrap_or("");
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET /{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {pat}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split("\r\n\r\n").nth(1).unwrap_or("").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sign_in_logs_no_secret_code_cookie_or_token() {
    use crate::signin::{browser, decide, location};
    use reqwest::cookie::CookieStore;
    let (bink, bink_addr) = spawn_bink().await;
    let upstream = spawn_upstream().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (listen, public) = (
        format!("127.0.0.1:{port}"),
        format!("http://127.0.0.1:{port}"),
    );
    let (bink_url, upstream_url) = (format!("http://{bink_addr}"), format!("http://{upstream}"));
    let mut served = Served::start(&[
        ("BINK_PROXY_SERVER__LISTEN", &listen),
        ("BINK_PROXY_SERVER__PUBLIC_URL", &public),
        ("BINK_PROXY_SERVER__UPSTREAM", &upstream_url),
        ("BINK_PROXY_BINK__BASE_URL", &bink_url),
        (
            "BINK_PROXY_BINK__CLIENT_ID",
            bink_proxy::sandbox::bink::SANDBOX_CLIENT_ID,
        ),
        (
            "BINK_PROXY_BINK__CLIENT_SECRET",
            bink_proxy::sandbox::bink::SANDBOX_CLIENT_SECRET,
        ),
        ("BINK_PROXY_SESSION__COOKIE_SECRET", COOKIE_SECRET),
        ("BINK_PROXY_SESSION__COOKIE_SECURE", "false"),
    ]);
    let (b, jar) = browser();
    let r = b
        .get(format!("{public}/oauth2/start?rd=/after"))
        .send()
        .await
        .unwrap();
    let authorize = location(&r);
    let csrf_cookie = jar
        .cookies(&public.parse().unwrap())
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let callback = decide(&b, &authorize, "ada", true).await;
    let code = reqwest::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let session_cookie = jar
        .cookies(&public.parse().unwrap())
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        b.get(format!("{public}/x")).send().await.unwrap().status(),
        200
    );
    b.get(format!("{public}/oauth2/sign_out"))
        .send()
        .await
        .unwrap();
    assert_eq!(served.terminate(), 0);
    assert!(bink.token_calls() == 1);

    let log = served.log.lock().unwrap().clone();
    assert!(
        log.contains("/oauth2/callback"),
        "the callback is logged, without its query: {log}"
    );
    let csrf_value = csrf_cookie.split('=').nth(1).unwrap().to_string();
    let session_value = session_cookie
        .split("_bink_session=")
        .nth(1)
        .unwrap()
        .to_string();
    for (what, secret) in [
        (
            "client secret",
            bink_proxy::sandbox::bink::SANDBOX_CLIENT_SECRET.to_string(),
        ),
        ("cookie secret", COOKIE_SECRET.to_string()),
        ("authorization code", code),
        ("csrf cookie", csrf_value),
        ("session cookie", session_value),
        ("access token", "bink_oauth_".to_string()),
        ("pkce verifier", "code_verifier".to_string()),
    ] {
        assert!(!log.contains(&secret), "{what} leaked into the log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integration_credentials_never_reach_the_log() {
    use bink_proxy::sandbox::{Sandboxes, BINDBEE_API_KEY, KOMBO_API_KEY};
    let sandboxes = Sandboxes::spawn(([127, 0, 0, 1], 0).into()).await.unwrap();
    let upstream = format!("http://{}", spawn_upstream().await);
    let db = temp_sqlite_url();
    let (bink, bindbee, kombo) = (
        sandboxes.bink_url(),
        sandboxes.bindbee_url(),
        sandboxes.kombo_url(),
    );
    let sdk = format!("http://{}/kombo/sdk.js", sandboxes.addr);
    let mut served = Served::start(&[
        ("BINK_PROXY_SERVER__UPSTREAM", &upstream),
        ("BINK_PROXY_BINK__BASE_URL", &bink),
        ("BINK_PROXY_INTEGRATIONS__ENABLED", "true"),
        ("BINK_PROXY_INTEGRATIONS__DATABASE_URL", &db),
        ("BINK_PROXY_INTEGRATIONS__ENCRYPTION_KEY", ENCRYPTION_KEY),
        ("BINK_PROXY_INTEGRATIONS__BINDBEE__API_KEY", BINDBEE_API_KEY),
        ("BINK_PROXY_INTEGRATIONS__BINDBEE__BASE_URL", &bindbee),
        ("BINK_PROXY_INTEGRATIONS__BINDBEE__SDK_URL", &sdk),
        ("BINK_PROXY_INTEGRATIONS__KOMBO__API_KEY", KOMBO_API_KEY),
        ("BINK_PROXY_INTEGRATIONS__KOMBO__BASE_URL", &kombo),
    ]);
    let c = client();
    let base = format!("http://{}", served.addr);
    let link: serde_json::Value = c
        .post(format!("{base}/integrations/bindbee/link-token"))
        .bearer_auth(CLEO)
        .json(&serde_json::json!({"category": "HRIS", "integration": "bamboohr"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let temporary = sandboxes
        .bindbee
        .complete_link(link["link_token"].as_str().unwrap())
        .unwrap();
    let r = c
        .post(format!("{base}/integrations/bindbee/connect"))
        .bearer_auth(CLEO)
        .json(&serde_json::json!({"temporary_token": temporary}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let init: serde_json::Value = c
        .post(format!("{base}/integrations/kombo/init"))
        .bearer_auth(CLEO)
        .json(&serde_json::json!({"category": "HRIS"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let activation = sandboxes
        .kombo
        .complete_link(init["link"].as_str().unwrap())
        .unwrap();
    let r = c
        .post(format!("{base}/integrations/kombo/activate"))
        .bearer_auth(CLEO)
        .json(&serde_json::json!({"token": activation}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // A failing vendor call is logged, without its secrets either.
    sandboxes.bindbee.set_fault(Fault::Status(500));
    c.post(format!("{base}/integrations/bindbee/connect"))
        .bearer_auth(CLEO)
        .json(&serde_json::json!({"temporary_token": "tt_failing_token_value"}))
        .send()
        .await
        .unwrap();
    assert_eq!(served.terminate(), 0);
    let log = served.log.lock().unwrap().clone();
    assert!(log.contains("/integrations/bindbee/connect"), "{log}");
    let connector_token = sandboxes.bindbee.connector_tokens_issued().pop().unwrap();
    for (what, secret) in [
        ("connector token", connector_token.as_str()),
        ("temporary token", temporary.as_str()),
        ("failing temporary token", "tt_failing_token_value"),
        ("activation token", activation.as_str()),
        ("bindbee api key", BINDBEE_API_KEY),
        ("kombo api key", KOMBO_API_KEY),
        ("encryption key", ENCRYPTION_KEY),
        ("bearer token", CLEO),
    ] {
        assert!(!log.contains(secret), "{what} leaked into the log");
    }
}
