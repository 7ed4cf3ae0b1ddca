//! Browser sign-in over real sockets with a cookie jar: the authorization-code flow with
//! PKCE against sandbox Bink, CSRF and replay protection, open redirects, cookie
//! handling, revalidation and sign-out.

use std::sync::Arc;
use std::time::Duration;

use bink_proxy::sandbox::bink::Fault;
use reqwest::cookie::CookieStore;
use reqwest::header::{LOCATION, SET_COOKIE};

use crate::common::*;

/// A browser: a cookie jar, no automatic redirects.
pub fn browser() -> (reqwest::Client, Arc<reqwest::cookie::Jar>) {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    (client, jar)
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()[LOCATION].to_str().unwrap().to_string()
}

pub fn sign_in_stack(extra: Opts) -> Opts {
    Opts {
        sign_in: true,
        ..extra
    }
}

/// `/oauth2/start?rd=...` → the Bink authorize URL.
pub async fn start(s: &Stack, browser: &reqwest::Client, rd: &str) -> String {
    let r = browser
        .get(s.url("/oauth2/start"))
        .query(&[("rd", rd)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["cache-control"], "no-store");
    location(&r)
}

/// Approves (as `user`) or denies at sandbox Bink the way a browser does: by submitting
/// the form the authorize page renders (only its fields); returns the callback URL.
pub async fn decide(
    browser: &reqwest::Client,
    authorize_url: &str,
    user: &str,
    approve: bool,
) -> String {
    let page = browser
        .get(authorize_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = if approve {
        format!("data-user=\"{user}\"")
    } else {
        "value=\"deny\"".to_string()
    };
    let form = page
        .split("<form")
        .skip(1)
        .map(|f| f.split("</form>").next().unwrap_or(""))
        .find(|f| f.contains(&marker))
        .unwrap_or_else(|| panic!("no form for {marker} on the authorize page"));
    let mut fields: Vec<(String, String)> = form
        .split("<input ")
        .skip(1)
        .filter_map(|input| {
            let attr = |name: &str| {
                let start = input.find(&format!("{name}=\""))? + name.len() + 2;
                let len = input[start..].find('"')?;
                Some(html_escape::decode_html_entities(&input[start..start + len]).into_owned())
            };
            Some((attr("name")?, attr("value")?))
        })
        .collect();
    fields.push((
        "decision".into(),
        if approve { "approve" } else { "deny" }.into(),
    ));
    let mut action = reqwest::Url::parse(authorize_url).unwrap();
    action.set_query(None);
    let r = browser.post(action).form(&fields).send().await.unwrap();
    assert_eq!(r.status(), 302, "{}", r.text().await.unwrap_or_default());
    location(&r)
}

/// The whole dance; returns the callback's response.
pub async fn login(
    s: &Stack,
    browser: &reqwest::Client,
    rd: &str,
    user: &str,
) -> reqwest::Response {
    let authorize = start(s, browser, rd).await;
    let callback = decide(browser, &authorize, user, true).await;
    browser.get(callback).send().await.unwrap()
}

fn html_get(browser: &reqwest::Client, url: String) -> reqwest::RequestBuilder {
    browser
        .get(url)
        .header("accept", "text/html")
        .header("sec-fetch-mode", "navigate")
}

#[tokio::test]
async fn full_login_lands_on_the_requested_page_with_the_identity() {
    let s = Stack::start(sign_in_stack(Opts::default())).await;
    let (b, _) = browser();
    // A navigation without a session is sent to sign in, remembering where it was going.
    let r = html_get(&b, s.url("/reports/q3?year=2026&x=%2F"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let start_url = location(&r);
    assert!(
        start_url.starts_with(&s.url("/oauth2/start?rd=")),
        "{start_url}"
    );
    let r = b.get(&start_url).send().await.unwrap();
    let authorize = location(&r);
    let params: std::collections::HashMap<String, String> = reqwest::Url::parse(&authorize)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["redirect_uri"], s.url("/oauth2/callback"));
    assert!(params["state"].len() >= 16);
    let callback = decide(&b, &authorize, "cleo", true).await;
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(location(&r), s.url("/reports/q3?year=2026&x=%2F"));
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let cookies: Vec<_> = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("_bink_session=")),
        "{cookies:?}"
    );
    let session_cookie = cookies
        .iter()
        .find(|c| c.starts_with("_bink_session="))
        .unwrap();
    let value_len = session_cookie.split(';').next().unwrap().len();
    eprintln!("session cookie for a typical user: {value_len} bytes (name=value)");
    assert!(value_len < 1500);

    let (status, echo) = s.upstream_view(b.get(s.url("/reports/q3?year=2026"))).await;
    assert_eq!(status, 200);
    assert_eq!(header_values(&echo, "x-auth-request-user"), ["cleo"]);
    assert_eq!(header_values(&echo, "x-bink-auth-method"), ["session"]);
    let userinfo: serde_json::Value = b
        .get(s.url("/oauth2/userinfo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["auth"], "session");
    assert_eq!(userinfo["id"], "usr_cleo");
    assert_eq!(s.bink.token_calls(), 1);
}

#[tokio::test]
async fn the_proxy_cookies_never_reach_the_upstream_but_the_apps_do() {
    let s = Stack::start(sign_in_stack(Opts::default())).await;
    let (b, jar) = browser();
    login(&s, &b, "/", "ada").await;
    jar.add_cookie_str("app_pref=dark", &s.url("/").parse().unwrap());
    let (_, echo) = s.upstream_view(b.get(s.url("/x"))).await;
    let cookie = header_values(&echo, "cookie").join("; ");
    assert!(cookie.contains("app_pref=dark"), "{cookie}");
    assert!(!cookie.contains("_bink_session"), "{cookie}");
}

#[tokio::test]
async fn a_bad_state_never_reaches_the_token_endpoint() {
    let s = Stack::start(sign_in_stack(Opts::default())).await;
    let (b, _) = browser();
    let authorize = start(&s, &b, "/").await;
    let callback = decide(&b, &authorize, "ada", true).await;
    let mut tampered = reqwest::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = tampered.query_pairs().into_owned().collect();
    tampered.query_pairs_mut().clear();
    for (k, v) in &pairs {
        let v = if k == "state" {
            format!("{v}x")
        } else {
            v.clone()
        };
        tampered.query_pairs_mut().append_pair(k, &v);
    }
    let r = b.get(tampered.as_str()).send().await.unwrap();
    assert_eq!(r.status(), 400);
    // A browser without the CSRF cookie (e.g. a link planted by an attacker).
    let (other, _) = browser();
    let r = other.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 400);
    // Duplicated parameters.
    let r = b
        .get(format!("{callback}&state=again"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = b
        .get(format!("{callback}&code=again"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        s.bink.token_calls(),
        0,
        "no bad state reached Bink's token endpoint"
    );
    assert_eq!(
        b.get(s.url("/oauth2/userinfo"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn a_replayed_callback_is_refused_without_a_token_call() {
    let s = Stack::start(sign_in_stack(Opts::default())).await;
    let (b, jar) = browser();
    let authorize = start(&s, &b, "/").await;
    let callback = decide(&b, &authorize, "ada", true).await;
    // The attacker copied the CSRF cookie before it was cleared.
    let csrf = jar.cookies(&s.url("/").parse().unwrap()).unwrap();
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(s.bink.token_calls(), 1);
    let (replayer, _) = browser();
    let r = replayer
        .get(&callback)
        .header("cookie", csrf.to_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        s.bink.token_calls(),
        1,
        "the replay never reached the token endpoint"
    );
}

#[tokio::test]
async fn parallel_tabs_all_complete_and_pending_logins_are_capped() {
    let s = Stack::start(sign_in_stack(Opts::default())).await;
    let (b, jar) = browser();
    let first = start(&s, &b, "/tab-one").await;
    let second = start(&s, &b, "/tab-two").await;
    let cb_two = decide(&b, &second, "ben", true).await;
    let cb_one = decide(&b, &first, "ben", true).await;
    let r = b.get(&cb_two).send().await.unwrap();
    assert_eq!(location(&r), s.url("/tab-two"));
    let r = b.get(&cb_one).send().await.unwrap();
    assert_eq!(location(&r), s.url("/tab-one"));

    for i in 0..9 {
        start(&s, &b, &format!("/t{i}")).await;
    }
    let cookies = jar.cookies(&s.url("/").parse().unwrap()).unwrap();
    let pending = cookies
        .to_str()
        .unwrap()
        .matches("_bink_session_csrf_")
        .count();
    assert!(pending <= 5, "{pending} pending logins kept");
}

#[tokio::test]
async fn denial_at_bink_is_a_403_page_and_no_session() {
    let s = Stack::start(sign_in_stack(Opts::default())).await;
    let (b, _) = browser();
    let authorize = start(&s, &b, "/").await;
    let callback = decide(&b, &authorize, "ada", false).await;
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(s.bink.token_calls(), 0);
    assert_eq!(
        b.get(s.url("/oauth2/userinfo"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn token_or_user_endpoint_failure_is_a_502_page() {
    let s = Stack::start(sign_in_stack(Opts::default())).await;
    let (b, _) = browser();
    s.bink.set_token_fault(Some(500));
    let r = login(&s, &b, "/", "ada").await;
    assert_eq!(r.status(), 502);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    s.bink.set_token_fault(None);
    s.bink.set_fault(Fault::Status(503));
    let r = login(&s, &b, "/", "ada").await;
    assert_eq!(r.status(), 502);
    s.bink.set_fault(Fault::None);
    let r = login(&s, &b, "/", "ada").await;
    assert_eq!(r.status(), 302, "recovers at once");
}

#[tokio::test]
async fn access_policy_applies_at_login() {
    let s = Stack::start(sign_in_stack(Opts {
        access: "allowed_email_domains = [\"acme.com\"]".into(),
        ..Opts::default()
    }))
    .await;
    let (b, _) = browser();
    assert_eq!(
        login(&s, &b, "/", "ada").await.status(),
        403,
        "ada@example.com is not in acme.com"
    );
    assert_eq!(
        b.get(s.url("/oauth2/userinfo"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(login(&s, &b, "/", "ben").await.status(), 302);
}

#[tokio::test]
async fn open_redirect_corpus_never_leaves_the_origin() {
    let s = Stack::start(sign_in_stack(Opts::default())).await;
    let (b, _) = browser();
    let corpus = include_str!("../data/openredirects.txt");
    let origin = s.url("");
    let mut checked = 0;
    for line in corpus.lines() {
        let r = b
            .get(s.url("/oauth2/sign_out"))
            .query(&[("rd", line)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302);
        let target = location(&r);
        assert!(
            target.starts_with(&format!("{origin}/")),
            "{line:?} -> {target}"
        );
        let resolved = reqwest::Url::parse(&target).unwrap();
        assert_eq!(
            resolved.origin().ascii_serialization(),
            origin,
            "{line:?} -> {target}"
        );
        checked += 1;
    }
    assert!(checked >= 558);
    // And through a whole sign-in, for a sample of the worst.
    for rd in [
        "//evil.com",
        "/\\evil.com",
        "/%2F%2Fevil.com",
        "https://evil.com/",
        "/%09/evil.com",
    ] {
        let r = login(&s, &b, rd, "ada").await;
        assert_eq!(location(&r), s.url("/"), "{rd}");
    }
}

#[tokio::test]
async fn secure_cookies_have_the_host_prefix_and_every_flag() {
    let s = Stack::start(sign_in_stack(Opts {
        session: "cookie_secure = true".into(),
        ..Opts::default()
    }))
    .await;
    let (b, _) = browser();
    let r = b.get(s.url("/oauth2/start?rd=/")).send().await.unwrap();
    let csrf = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(csrf.starts_with("__Host-_bink_session_csrf_"), "{csrf}");
    for flag in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=600",
    ] {
        assert!(csrf.contains(flag), "{flag}: {csrf}");
    }
    // The jar will not send a Secure cookie over http, so hand it over explicitly.
    let authorize = location(&r);
    let callback = decide(&b, &authorize, "ada", true).await;
    let pair = csrf.split(';').next().unwrap();
    let r = b
        .get(&callback)
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let session = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("__Host-_bink_session="))
        .expect("session cookie")
        .to_string();
    for flag in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(session.contains(flag), "{flag}: {session}");
    }
    assert!(!session.contains("Domain="));
}

async fn session_cookie_value(
    s: &Stack,
    b: &reqwest::Client,
    jar: &reqwest::cookie::Jar,
    user: &str,
) -> String {
    login(s, b, "/", user).await;
    let header = jar.cookies(&s.url("/").parse().unwrap()).unwrap();
    header
        .to_str()
        .unwrap()
        .split("; ")
        .find_map(|c| c.strip_prefix("_bink_session="))
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn tampered_truncated_foreign_and_expired_cookies_are_ignored_and_cleared() {
    let s = Stack::start(sign_in_stack(Opts::default())).await;
    let (b, jar) = browser();
    let good = session_cookie_value(&s, &b, &jar, "ada").await;
    let mut flipped = good.clone().into_bytes();
    let mid = flipped.len() / 2;
    flipped[mid] = if flipped[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(flipped).unwrap();
    let truncated = good[..good.len() - 10].to_string();

    // The same session sealed under another proxy's secret.
    let other = Stack::start(sign_in_stack(Opts {
        session: "cookie_secret = \"b3RoZXItcHJveHktY29va2llLXNlY3JldC0zMmJ5dGU=\"".into(),
        ..Opts::default()
    }))
    .await;
    let (ob, ojar) = browser();
    let foreign = session_cookie_value(&other, &ob, &ojar, "ada").await;

    for value in [&tampered, &truncated, &foreign, &"garbage".to_string()] {
        let (fresh, _) = browser();
        let r = fresh
            .get(s.url("/x"))
            .header("cookie", format!("_bink_session={value}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{value:.20}");
        let clear = r.headers()[SET_COOKIE].to_str().unwrap();
        assert!(
            clear.starts_with("_bink_session=;") && clear.contains("Max-Age=0"),
            "{clear}"
        );
        let r = html_get(&fresh, s.url("/x"))
            .header("cookie", format!("_bink_session={value}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302, "a browser is sent to sign in again");
    }
    let r = b.get(s.url("/x")).send().await.unwrap();
    assert_eq!(r.status(), 200, "the genuine cookie still works");
}

#[tokio::test]
async fn a_session_never_outlives_the_token_lifetime() {
    let s = Stack::start(sign_in_stack(Opts::default())).await;
    s.bink.set_token_lifetime(2);
    let (b, jar) = browser();
    let value = session_cookie_value(&s, &b, &jar, "ada").await;
    assert_eq!(b.get(s.url("/x")).send().await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    // The browser would have dropped it (Max-Age); a client that keeps it gets nothing.
    let r = client()
        .get(s.url("/x"))
        .header("cookie", format!("_bink_session={value}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn revocation_ends_the_session_at_revalidation_but_an_outage_does_not() {
    let s = Stack::start(sign_in_stack(Opts {
        session: "revalidate_after = \"0s\"".into(),
        tokens: "cache_ttl = \"300ms\"".into(),
        ..Opts::default()
    }))
    .await;
    let (b, _) = browser();
    login(&s, &b, "/", "ben").await;
    assert_eq!(b.get(s.url("/x")).send().await.unwrap().status(), 200);
    // Bink down: the session carries on.
    tokio::time::sleep(Duration::from_millis(400)).await;
    s.bink.set_fault(Fault::Status(503));
    assert_eq!(b.get(s.url("/x")).send().await.unwrap().status(), 200);
    s.bink.set_fault(Fault::None);
    // Revoked at Bink: the session ends once the cache entry expires.
    s.bink.revoke_user("usr_ben");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = b.get(s.url("/x")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
}

#[tokio::test]
async fn sign_out_clears_the_session_and_redirects() {
    let s = Stack::start(sign_in_stack(Opts::default())).await;
    let (b, _) = browser();
    login(&s, &b, "/", "zoe").await;
    assert_eq!(
        b.get(s.url("/oauth2/userinfo"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = b
        .post(s.url("/oauth2/sign_out?rd=/bye"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(location(&r), s.url("/bye"));
    assert_eq!(
        b.get(s.url("/oauth2/userinfo"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let r = b.get(s.url("/oauth2/sign_out")).send().await.unwrap();
    assert_eq!(location(&r), s.url("/"));
}

#[tokio::test]
async fn bearer_still_wins_over_a_session() {
    let s = Stack::start(sign_in_stack(Opts::default())).await;
    let (b, _) = browser();
    login(&s, &b, "/", "zoe").await;
    let (_, echo) = s.upstream_view(b.get(s.url("/x")).bearer_auth(ADA)).await;
    assert_eq!(header_values(&echo, "x-auth-request-user"), ["ada"]);
    assert_eq!(header_values(&echo, "x-bink-auth-method"), ["bearer"]);
}
