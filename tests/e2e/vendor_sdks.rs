//! The vendors' own SDKs as an independent check of the sandbox: Kombo's official Python
//! SDK (`kombo` on PyPI, which validates every answer against Kombo's schemas) runs
//! `tests/sdk/kombo_sdk_check.py` against a sandbox Kombo on a loopback port: the
//! Connect API and the integration lifecycle, then the unified API (every page of
//! employees, jobs, Kombo's errors, the rate-limit mode). Under CI a
//! missing SDK fails the test (`.ci/run` installs it); elsewhere it is skipped with a note.

use std::process::Command;

use std::time::Duration;

use bink_proxy::sandbox::bink::Fault;
use bink_proxy::sandbox::{RateLimit, Sandboxes, KOMBO_API_KEY, SAMPLE_EMPLOYEES, SAMPLE_JOBS};

/// The Python that can `import kombo`, or `None` (skip) outside CI.
pub(crate) fn python_with_kombo() -> Option<String> {
    let python = std::env::var("BINK_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let found = Command::new(&python)
        .args(["-c", "import kombo"])
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(python);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{python} cannot import kombo: `pip install kombo==1.4.0` (.ci/run does)"
    );
    eprintln!("skipped: {python} cannot import kombo (pip install kombo==1.4.0)");
    None
}

/// Runs one phase of the check; its JSON summary.
fn kombo_check(python: &str, sandboxes: &Sandboxes, phase: &str) -> serde_json::Value {
    let out = Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/sdk/kombo_sdk_check.py"
        ))
        .args([&sandboxes.kombo_url(), KOMBO_API_KEY, phase])
        .output()
        .expect("run the Kombo SDK check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{phase}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).expect("one JSON line")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kombos_official_sdk_parses_every_sandbox_answer() {
    let Some(python) = python_with_kombo() else {
        return;
    };
    let sandboxes = Sandboxes::spawn(([127, 0, 0, 1], 0).into()).await.unwrap();
    // The SDK is blocking: run it off the runtime that serves the sandbox.
    let (py, sb) = (python.clone(), sandboxes.clone());
    let seen = tokio::task::spawn_blocking(move || kombo_check(&py, &sb, "lifecycle"))
        .await
        .unwrap();
    assert!(
        seen["integration_id"]
            .as_str()
            .unwrap()
            .starts_with("personio:"),
        "{seen}"
    );
    assert_eq!(seen["relinked_to_same_id"], true);
    assert_eq!(seen["errors_parse"], true);
    assert_eq!(sandboxes.kombo.relink_calls(), 1);
    assert_eq!(sandboxes.kombo.delete_calls(), 2);

    sandboxes.kombo.set_fault(Fault::RateLimited(9));
    let sb = sandboxes.clone();
    let seen = tokio::task::spawn_blocking(move || kombo_check(&python, &sb, "rate-limited"))
        .await
        .unwrap();
    assert_eq!(seen["retry_after"], "9");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kombos_official_sdk_reads_every_page_of_the_unified_api() {
    let Some(python) = python_with_kombo() else {
        return;
    };
    let sandboxes = Sandboxes::spawn(([127, 0, 0, 1], 0).into()).await.unwrap();
    let (py, sb) = (python.clone(), sandboxes.clone());
    let seen = tokio::task::spawn_blocking(move || kombo_check(&py, &sb, "unified"))
        .await
        .unwrap();
    // 120 employees in pages of 50; 30 jobs in one default page of 100.
    assert_eq!(seen["employees"], SAMPLE_EMPLOYEES, "{seen}");
    assert_eq!(seen["employee_pages"], 3, "{seen}");
    assert_eq!(seen["jobs"], SAMPLE_JOBS, "{seen}");
    assert_eq!(seen["job_pages"], 1, "{seen}");
    // Three employee pages, one more full listing, one job page, and the three errors.
    assert_eq!(sandboxes.kombo.unified_calls(), 8);

    // Two calls a minute: the SDK's third call is Kombo's 429, Retry-After included.
    sandboxes.kombo.set_rate_limit(Some(RateLimit {
        per_window: 2,
        window: Duration::from_secs(60),
    }));
    let seen = tokio::task::spawn_blocking(move || {
        kombo_check(&python, &sandboxes, "unified-rate-limited")
    })
    .await
    .unwrap();
    let retry_after: u64 = seen["retry_after"].as_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{seen}");
    assert_eq!(seen["remaining"], "0");
}
