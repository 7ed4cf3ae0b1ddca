//! The proxy's memory while the gateway streams a large vendor answer to a slow client:
//! sandbox Kombo (in this process) answers `GET hris/employees?page_size=1` 256 MiB
//! larger (`SandboxKombo::set_padding`), `target/release/bink-proxy serve` runs as a child
//! process with a generated config (SQLite in a temp dir, a service key), the integration
//! is created through it as an application would (init with a PAT, the connect page's
//! completion, activate), and the answer is read at a fixed rate while the child's
//! `VmRSS` and `VmHWM` (`/proc/<pid>/status`) are sampled every 50 ms. The same answer read
//! straight from the sandbox at the same rate is the reference (this process's own
//! memory then: the sandbox and the reading client).
//!
//! ```sh
//! cargo bench --bench gateway_stream            # builds target/release/bink-proxy too
//! PADDING_MIB=256 RATE_MIB=8 cargo bench --bench gateway_stream
//! BIN=path/to/bink-proxy cargo bench --bench gateway_stream
//! ```
//!
//! Exits 1 when the proxy's peak RSS (`VmHWM`, since its start) reaches `LIMIT_MIB` (64).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use bink_proxy::sandbox::{self, Sandboxes, SAMPLE_USERS};
use serde_json::{json, Value};

const MIB: u64 = 1024 * 1024;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn secret() -> String {
    base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>())
}

/// `VmRSS` and `VmHWM` of a process, in KiB.
fn memory_kib(pid: &str) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Samples a process's memory every 50 ms until stopped.
struct Sampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<(Duration, u64)>>,
}

impl Sampler {
    fn start(pid: String) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut samples = Vec::new();
            while !flag.load(Ordering::SeqCst) {
                if let Some((rss, _)) = memory_kib(&pid) {
                    samples.push((started.elapsed(), rss));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            samples
        });
        Sampler { stop, thread }
    }

    fn finish(self) -> Vec<(Duration, u64)> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().expect("sampler")
    }
}

/// The proxy child, killed when dropped.
struct Proxy {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_proxy(bin: &Path, config: &Path, dir: &Path) -> Proxy {
    let mut child = Command::new(bin)
        .args(["--log-format", "json", "serve", "--config"])
        .arg(config)
        .env_remove("BINK_PROXY_CONFIG")
        .env("RUST_LOG", "warn,bink_proxy::app=info")
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("bink-proxy listening") {
                let addr = serde_json::from_str::<Value>(&line)
                    .ok()
                    .and_then(|v| v["addr"].as_str()?.parse::<SocketAddr>().ok());
                if let Some(addr) = addr {
                    let _ = tx.send(addr);
                }
            } else {
                eprintln!("proxy: {line}");
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the proxy did not start");
    Proxy { child, addr }
}

/// Reads `request`'s answer at `rate` bytes/s while `pid`'s memory is sampled; the body's
/// length, how long it took and the samples.
async fn read_slowly(
    request: reqwest::RequestBuilder,
    rate: u64,
    pid: String,
) -> (u64, Duration, Vec<(Duration, u64)>) {
    let sampler = Sampler::start(pid);
    let mut answer = request.send().await.expect("request");
    assert_eq!(answer.status(), 200, "{:?}", answer.headers());
    let started = tokio::time::Instant::now();
    let mut got = 0u64;
    let mut last = 0u8;
    while let Some(chunk) = answer.chunk().await.expect("body") {
        got += chunk.len() as u64;
        last = chunk.last().copied().unwrap_or(last);
        tokio::time::sleep_until(started + Duration::from_secs_f64(got as f64 / rate as f64)).await;
    }
    assert_eq!(last, b'}', "the answer is whole JSON");
    (got, started.elapsed(), sampler.finish())
}

/// One line of the report: bytes, time, rate, memory before, during and after.
fn report(what: &str, pid: &str, before: (u64, u64), read: &(u64, Duration, Vec<(Duration, u64)>)) {
    let (bytes, took, samples) = read;
    let after = memory_kib(pid).expect("memory");
    let max_rss = samples.iter().map(|s| s.1).max().unwrap_or(0);
    println!(
        "{what}: {:.1} MiB in {:.1} s ({:.1} MiB/s); VmRSS before {:.1} MiB, max while streaming {:.1} MiB \
         ({} samples), after {:.1} MiB; VmHWM before {:.1} MiB, after {:.1} MiB",
        *bytes as f64 / MIB as f64,
        took.as_secs_f64(),
        *bytes as f64 / MIB as f64 / took.as_secs_f64(),
        mib(before.0),
        mib(max_rss),
        samples.len(),
        mib(after.0),
        mib(before.1),
        mib(after.1),
    );
    let every = Duration::from_secs(2);
    let mut next = Duration::ZERO;
    let mut line = String::new();
    for (at, rss) in samples {
        if *at >= next {
            line.push_str(&format!(" {:.1}", mib(*rss)));
            next += every;
        }
    }
    println!("  VmRSS every 2 s (MiB):{line}");
}

fn main() {
    let padding = env_u64("PADDING_MIB", 256) * MIB;
    let rate = env_u64("RATE_MIB", 8) * MIB;
    let limit_kib = env_u64("LIMIT_MIB", 64) * 1024;
    let bin = std::env::var_os("BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_bink-proxy")));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let peak = runtime.block_on(run(&bin, padding, rate));
    if peak >= limit_kib {
        println!(
            "FAIL: the proxy's peak RSS {:.1} MiB reached {} MiB",
            mib(peak),
            limit_kib / 1024
        );
        std::process::exit(1);
    }
    println!(
        "PASS: the proxy's peak RSS {:.1} MiB < {} MiB",
        mib(peak),
        limit_kib / 1024
    );
}

/// Both reads; the proxy's `VmHWM` at the end.
async fn run(bin: &Path, padding: u64, rate: u64) -> u64 {
    let sandboxes = Sandboxes::spawn(([127, 0, 0, 1], 0).into())
        .await
        .expect("sandboxes");
    let upstream = sandbox::spawn(sandbox::upstream::router(), ([127, 0, 0, 1], 0).into())
        .await
        .expect("upstream");
    let dir = std::env::temp_dir().join(format!("bink-gateway-stream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let service_key = secret();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nupstream = \"http://{upstream}\"\n\n\
             [bink]\nbase_url = \"{}\"\n\n\
             [integrations]\nenabled = true\ndatabase_url = \"sqlite://{}\"\nencryption_key = \"{}\"\n\n\
             [integrations.gateway]\nservice_keys = [\"{service_key}\"]\n\n{}",
            sandboxes.bink_url(),
            dir.join("integrations.db").display(),
            secret(),
            sandboxes.integrations_toml(),
        ),
    )
    .expect("config");
    let proxy = start_proxy(bin, &config, &dir);
    let pid = proxy.child.id().to_string();
    let base = format!("http://{}", proxy.addr);
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");

    // The integration, created through the proxy.
    let pat = SAMPLE_USERS
        .iter()
        .find(|u| u.pat.contains("cleo"))
        .expect("a sample user")
        .pat;
    let post = |path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(pat)
            .json(&body)
            .send()
    };
    let init: Value = post("/integrations/kombo/init", json!({"category": "HRIS"}))
        .await
        .expect("init")
        .json()
        .await
        .expect("init answer");
    let link = init["link"].as_str().expect("a link");
    let activation = sandboxes
        .kombo
        .complete_link(link)
        .expect("the link completes");
    let integration = post("/integrations/kombo/activate", json!({"token": activation}))
        .await
        .expect("activate");
    assert_eq!(integration.status(), 201);
    let integration: Value = integration.json().await.expect("the integration");
    let remote_id = integration["remote_id"]
        .as_str()
        .expect("remote_id")
        .to_string();

    sandboxes.kombo.set_padding(padding as usize);
    println!(
        "bink-proxy {} (pid {pid}), {} MiB of padding, read at {} MiB/s, nproc {}",
        bin.display(),
        padding / MIB,
        rate / MIB,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // The reference: straight from the sandbox, into this process.
    let me = std::process::id().to_string();
    let before = memory_kib(&me).expect("memory");
    let direct = read_slowly(
        client
            .get(format!(
                "{}/hris/employees?page_size=1",
                sandboxes.kombo_url()
            ))
            .bearer_auth(sandboxes.kombo.api_key())
            .header("X-Integration-Id", &remote_id),
        rate,
        me.clone(),
    )
    .await;
    report(
        "direct, this process (sandbox + client)",
        &me,
        before,
        &direct,
    );

    let before = memory_kib(&pid).expect("memory");
    let gateway = read_slowly(
        client
            .get(format!(
                "{base}/integrations/kombo/api/hris/employees?page_size=1"
            ))
            .bearer_auth(&service_key)
            .header("X-Integration-Id", &remote_id),
        rate,
        pid.clone(),
    )
    .await;
    report("gateway, the proxy", &pid, before, &gateway);
    assert_eq!(direct.0, gateway.0, "the same answer both ways");

    let (_, peak) = memory_kib(&pid).expect("memory");
    drop(proxy);
    let _ = std::fs::remove_dir_all(&dir);
    peak
}
