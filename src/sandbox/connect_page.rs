//! The connect page both sandbox vendors serve in place of their hosted flows: a dialog
//! card in the vendor's colours, under a nonce-based CSP, whose script completes the link
//! and posts the result to the embedding window.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::common::random_token;
use crate::error::html_escape;

/// The look of a vendor's connect page.
pub(super) struct Brand {
    /// Prefix of element ids (`<prefix>-connect`, `<prefix>-dialog`, ...).
    pub prefix: &'static str,
    pub name: &'static str,
    /// The vendor's name in page titles (`Kombo` for `Kombo Connect`).
    pub vendor: &'static str,
    pub accent: &'static str,
    pub focus: &'static str,
    /// Id suffix and label of the button that gives up (`cancel`/`Cancel`, `close`/`Close`).
    pub dismiss_id: &'static str,
    pub dismiss_label: &'static str,
}

/// The connect page's script: on "Connect", POSTs `body_js` (`token` in scope) to the
/// complete URL and posts the messages of `success_js` (comma-separated expressions,
/// `body` in scope: the answer) to the embedding window, in order; on the secondary button
/// (or Escape) posts `close_js`.
pub(super) fn page_script(prefix: &str, body_js: &str, success_js: &str, close_js: &str) -> String {
    PAGE_JS
        .replace("__P__", prefix)
        .replace("__BODY__", body_js)
        .replace("__SUCCESS__", success_js)
        .replace("__CLOSE__", close_js)
}

const PAGE_JS: &str = include_str!("assets/connect-page.js");

/// A connect page: `body` (trusted markup, dynamic parts already escaped) in a dialog card,
/// then the buttons (the brand's dismiss button, and a Connect button labelled
/// `connect_label` unless `None`),
/// a live status line and `script`, all under a nonce-based CSP. `token` and
/// `complete_url` are handed to the script in (escaped) data attributes.
#[allow(clippy::too_many_arguments)]
pub(super) fn connect_page_response(
    status: StatusCode,
    brand: &Brand,
    title: &str,
    lang: &str,
    token: &str,
    complete_url: &str,
    body: &str,
    connect_label: Option<&str>,
    script: &str,
) -> Response {
    let nonce = random_token("");
    let p = brand.prefix;
    let dismiss_id = brand.dismiss_id;
    let connect = match connect_label {
        Some(label) => format!(
            "<button type=\"button\" class=\"primary\" id=\"{p}-connect\">{}</button>",
            html_escape(label)
        ),
        None => String::new(),
    };
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><link rel=\"icon\" href=\"data:,\">\
         <title>{title}</title><style nonce=\"{nonce}\">{css}</style></head><body>\
         <main><div class=\"card\" id=\"{p}-dialog\" role=\"dialog\" aria-modal=\"true\" \
         aria-labelledby=\"{p}-title\" aria-describedby=\"{p}-desc\" data-token=\"{token}\" \
         data-complete=\"{complete}\" data-dismiss=\"{dismiss_id}\">\
         <p class=\"brand\">{name} <span>Sandbox</span></p>{body}\
         <div class=\"actions\"><button type=\"button\" id=\"{p}-{dismiss_id}\">{dismiss_label}</button>{connect}</div>\
         <p class=\"status\" id=\"{p}-status\" role=\"status\" aria-live=\"polite\"></p>\
         </div></main><script nonce=\"{nonce}\">{script}</script></body></html>",
        lang = html_escape(lang),
        title = html_escape(title),
        css = PAGE_CSS
            .replace("__ACCENT__", brand.accent)
            .replace("__FOCUS__", brand.focus),
        token = html_escape(token),
        complete = html_escape(complete_url),
        name = html_escape(brand.name),
        dismiss_label = html_escape(brand.dismiss_label),
    );
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; \
         connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'"
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::REFERRER_POLICY, "no-referrer".to_string()),
            (header::CONTENT_SECURITY_POLICY, csp),
        ],
        html,
    )
        .into_response()
}

const PAGE_CSS: &str = include_str!("assets/connect-page.css");

/// The page for a link token the vendor does not know (never issued, or expired).
pub(super) fn link_not_found(brand: &Brand, complete_url: &str, script: &str) -> Response {
    let p = brand.prefix;
    connect_page_response(
        StatusCode::NOT_FOUND,
        brand,
        &format!("Link not found — {}", brand.vendor),
        "en",
        "",
        complete_url,
        &format!(
            "<h1 id=\"{p}-title\">This link is invalid or has expired</h1>\
             <p id=\"{p}-desc\" class=\"note\">Close this window and start the connection \
             again.</p>"
        ),
        None,
        script,
    )
}
