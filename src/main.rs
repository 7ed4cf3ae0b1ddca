//! The `bink-proxy` command line: serve, dev, sandbox, check-config, gen-secret.

/// mimalloc rather than glibc malloc: a proxied request allocates and frees dozens of
/// small buffers, and glibc's free-list consolidation showed up in the profile (see
/// benches/README.md for the measurement).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "sandbox")]
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[cfg(feature = "sandbox")]
use anyhow::Context;
use base64::Engine;
#[cfg(feature = "sandbox")]
use bink_proxy::config::NoEnv;
use bink_proxy::config::{Config, ProcessEnv, Source};
#[cfg(feature = "sandbox")]
use bink_proxy::sandbox::bink::{SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET};
#[cfg(feature = "sandbox")]
use bink_proxy::sandbox::{self, Sandboxes, SAMPLE_USERS};
use bink_proxy::telemetry::{self, LogFormat};
use bink_proxy::StartError;
use clap::{Parser, Subcommand};

/// Exit code for bad usage or an invalid configuration.
const EXIT_CONFIG: u8 = 2;
/// Exit code for any other failure.
const EXIT_FAILURE: u8 = 1;

#[derive(Parser)]
#[command(
    name = "bink-proxy",
    version,
    about = "Identity-aware reverse proxy: sign in with Bink"
)]
struct Cli {
    /// Log format: human-readable text or JSON lines. RUST_LOG sets the filter.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the proxy (the default).
    Serve {
        /// Config file; defaults to $BINK_PROXY_CONFIG, then ./config.toml (optional).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// A self-contained demo on loopback: proxy, sandbox Bink and a demo upstream.
    #[cfg(feature = "sandbox")]
    Dev {
        #[arg(long, default_value_t = 4180)]
        port: u16,
    },
    /// Only the sandbox services (Bink on PORT, the demo upstream on PORT+1).
    #[cfg(feature = "sandbox")]
    Sandbox {
        #[arg(long, default_value_t = 4190)]
        port: u16,
    },
    /// Validate the config and print it with every secret redacted.
    CheckConfig {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print a new random 32-byte key, base64.
    GenSecret,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_CONFIG } else { 0 });
        }
    };
    let _log_guard = telemetry::init_logging(cli.log_format);
    let command = cli.command.unwrap_or(Command::Serve { config: None });
    match command {
        Command::GenSecret => {
            let key: [u8; 32] = rand::random();
            println!("{}", base64::engine::general_purpose::STANDARD.encode(key));
            ExitCode::SUCCESS
        }
        Command::CheckConfig { config } => match load_config(config) {
            Ok(config) => {
                print!("{}", config.redacted_toml());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Serve { config } => {
            let config = match load_config(config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            run_async(serve(config))
        }
        #[cfg(feature = "sandbox")]
        Command::Dev { port } => run_async(dev(port)),
        #[cfg(feature = "sandbox")]
        Command::Sandbox { port } => run_async(sandbox_only(port)),
    }
}

fn load_config(flag: Option<PathBuf>) -> Result<Config, ExitCode> {
    let source = Source::resolve(
        flag,
        std::env::var_os("BINK_PROXY_CONFIG").map(PathBuf::from),
    );
    Config::load(&source, &ProcessEnv).map_err(|e| {
        eprint!("{e}");
        ExitCode::from(EXIT_CONFIG)
    })
}

/// The runtime: one worker per CPU this process may use (affinity mask and cgroup quota,
/// as `available_parallelism` reads them). With one CPU, a single-threaded runtime: the
/// multi-threaded one with one worker still pays for work-stealing queues, atomics and a
/// cross-thread wake-up per I/O event (measured in benches/README.md).
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut builder = if cpus == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build()
}

fn run_async(fut: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    match runtime.block_on(fut) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let running = bink_proxy::start(config, true)
        .await
        .map_err(|e: StartError| anyhow::anyhow!(e.to_string()))?;
    running.wait().await;
    Ok(())
}

#[cfg(feature = "sandbox")]
async fn dev(port: u16) -> anyhow::Result<()> {
    // The demo application reads HR data back through this proxy's gateway.
    // (Port 0 picks the proxy's port only once it listens: no demo of the gateway then.)
    let proxy = (port != 0).then(|| format!("http://127.0.0.1:{port}"));
    let (sandboxes, upstream_url) = start_sandbox(0, proxy.as_deref()).await?;
    let bink_url = sandboxes.bink_url();
    // A fresh cookie secret, encryption key and database per run: the demo starts clean.
    let cookie_secret =
        base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
    let encryption_key =
        base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
    let db_path = std::env::temp_dir().join(format!("bink-proxy-dev-{port}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db_path.display()));
    }
    // The sandbox vendors sign webhooks with these; the proxy verifies them and forwards
    // them to the demo application, which shows the latest.
    let webhook_secret = |vendor: &str| format!("dev-{vendor}-{}", rand::random::<u64>());
    let (kombo_secret, bindbee_secret) = (webhook_secret("kombo"), webhook_secret("bindbee"));
    let providers = ["kombo", "bindbee"].iter().zip([&kombo_secret, &bindbee_secret]).fold(
        sandboxes.integrations_toml(),
        |toml, (vendor, secret)| {
            let table = format!("[integrations.{vendor}]\n");
            toml.replace(
                &table,
                &format!("{table}webhook_secret = \"{secret}\"\nwebhook_forward_path = \"/__demo/webhooks\"\n"),
            )
        },
    );
    let toml = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\nupstream = \"{upstream_url}\"\n\n\
         [bink]\nbase_url = \"{bink_url}\"\nclient_id = \"{SANDBOX_CLIENT_ID}\"\nclient_secret = \"{SANDBOX_CLIENT_SECRET}\"\n\n\
         [session]\ncookie_secret = \"{cookie_secret}\"\ncookie_secure = false\n\n\
         [access]\nskip_auth = [\"GET ^/public/\"]\n\n[headers]\nidentity_jwt = true\npass_access_token = true\n\n\
         [integrations]\nenabled = true\ndatabase_url = \"sqlite://{}\"\nencryption_key = \"{encryption_key}\"\n\n{}",
        db_path.display(),
        providers
    );
    let config = Config::from_toml(&toml, &NoEnv).map_err(|e| anyhow::anyhow!("{e}"))?;
    let running = bink_proxy::start(config, true)
        .await
        .map_err(|e: StartError| anyhow::anyhow!(e.to_string()))?;
    let url = format!("http://{}", running.addr);
    sandboxes
        .kombo
        .set_webhook_target(&format!("{url}/integrations/kombo/webhook"), &kombo_secret);
    sandboxes.bindbee.set_webhook_target(
        &format!("{url}/integrations/bindbee/webhook"),
        &bindbee_secret,
    );
    let ada = &SAMPLE_USERS[0];
    println!("bink-proxy dev is running (Ctrl-C to stop)\n");
    println!("Open {url}/ in a browser to sign in with the sandbox Bink.\n");
    println!("  proxy:            {url}/");
    println!("  integrations:     {url}/integrations/ui  (Bindbee and Kombo sandboxes)");
    println!("  sandbox Bink:     {bink_url}");
    println!("  demo upstream:    {upstream_url}  (what the app behind the proxy sees)");
    println!("  database:         {}\n", db_path.display());
    println!("Try it with a sample personal access token:\n");
    println!(
        "  curl -H 'Authorization: Bearer {}' {url}/hello\n",
        ada.pat
    );
    println!("Sample tokens:");
    for user in SAMPLE_USERS {
        let who = user.username.unwrap_or(user.id);
        let email = user.email.unwrap_or("(no email)");
        println!(
            "  {:<34} {who:<6} {email:<18} {} level {}",
            user.pat,
            user.plan.as_str(),
            user.verification_level
        );
    }
    println!("\nBrowsers without a session are sent to sign in; scripts without a token get 401.");
    println!("/public/ is a skip_auth route; sign out at {url}/oauth2/sign_out; forward-auth is at {url}/oauth2/auth.");
    running.wait().await;
    Ok(())
}

#[cfg(feature = "sandbox")]
async fn sandbox_only(port: u16) -> anyhow::Result<()> {
    let (sandboxes, upstream_url) = start_sandbox(port, None).await?;
    println!("sandbox Bink:    {}  (bink.base_url)", sandboxes.bink_url());
    println!("OAuth client:    client_id = {SANDBOX_CLIENT_ID}, client_secret = {SANDBOX_CLIENT_SECRET} (any loopback redirect URI)");
    println!(
        "sandbox Bindbee: {}  (api_key = {}, sdk_url = {}/initialize.min.js)",
        sandboxes.bindbee_url(),
        sandbox::BINDBEE_API_KEY,
        sandboxes.bindbee_url()
    );
    println!(
        "sandbox Kombo:   {}  (api_key = {}, sdk_url = http://{}/kombo/sdk.js)",
        sandboxes.kombo_url(),
        sandbox::KOMBO_API_KEY,
        sandboxes.addr
    );
    println!("demo upstream:   {upstream_url}");
    println!("sample tokens:");
    for user in SAMPLE_USERS {
        println!("  {}  ({})", user.pat, user.username.unwrap_or(user.id));
    }
    bink_proxy::server::shutdown_signal().await;
    Ok(())
}

/// Starts the sandboxes on `port` (0 = any) and the demo upstream on the next port.
#[cfg(feature = "sandbox")]
async fn start_sandbox(port: u16, proxy: Option<&str>) -> anyhow::Result<(Sandboxes, String)> {
    let sandboxes = Sandboxes::spawn(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .context("cannot start the sandboxes")?;
    let upstream_port = if port == 0 { 0 } else { port.saturating_add(1) };
    let upstream = match proxy {
        Some(proxy) => sandbox::upstream::router_for(proxy, &sandboxes.bink_url()),
        None => sandbox::upstream::router(),
    };
    let upstream_addr = sandbox::spawn(upstream, SocketAddr::from(([127, 0, 0, 1], upstream_port)))
        .await
        .context("cannot start the demo upstream")?;
    Ok((sandboxes, format!("http://{upstream_addr}")))
}
