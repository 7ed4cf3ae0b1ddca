//! `/integrations/ui` (a ready page: the caller's integrations, Connect per provider and
//! category, Disconnect) and `/integrations/connect.js` (what the page, or the app's own
//! button, calls).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use http::HeaderValue;

use super::caller::Member;
use super::providers::{bindbee, kombo};
use super::{flows, Integrations};
use crate::error::{html_escape, ProxyError};

const CONNECT_JS: &str = include_str!("assets/connect.js");

/// The configured providers' front ends (script, SRI, server URL) as a JS object literal;
/// an unconfigured provider is `null`. `</` is escaped so a URL can never close the
/// surrounding script element.
fn front_ends(i: &Integrations) -> String {
    let front_ends = serde_json::json!({
        "bindbee": i.bindbee.as_ref().and(Some(&i.bindbee_sdk)),
        "kombo": i.kombo.as_ref().and(Some(&i.kombo_sdk)),
    });
    front_ends.to_string().replace("</", "<\\/")
}

/// `GET /integrations/connect.js`.
pub async fn script(State(i): State<Arc<Integrations>>) -> Response {
    let js = CONNECT_JS.replace("/*FRONT_ENDS*/ {}", &front_ends(&i));
    let mut response = js.into_response();
    let h = response.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// `GET /integrations/ui`.
pub async fn page(
    State(i): State<Arc<Integrations>>,
    member: Result<Member, ProxyError>,
    method: http::Method,
    headers: http::HeaderMap,
) -> Response {
    // A page: refusals are negotiated (HTML for a browser), unlike the JSON routes.
    let refuse = |e: ProxyError| crate::error::error_response(e, &method, &headers);
    let m = match member {
        Ok(m) => m,
        Err(e) => return refuse(e),
    };
    let records = match flows::list(&i, &m).await {
        Ok(records) => records,
        Err(e) => return refuse(e),
    };
    let rows: String = records
        .iter()
        .map(|v| {
            format!(
                "<tr data-integration=\"{id}\"><td>{provider}</td><td>{category}</td><td>{tool}</td><td>{status}</td>\
                 <td><time datetime=\"{created}\">{created}</time></td>\
                 <td>{reconnect}<button type=\"button\" class=\"disconnect\" data-id=\"{id}\" aria-label=\"Disconnect {tool}\">Disconnect</button></td></tr>",
                // Kombo reconnects an integration in place (relink); Bindbee has no such
                // call, so its connections are disconnected and connected again.
                reconnect = if v.provider == "kombo" {
                    format!(
                        "<button type=\"button\" class=\"reconnect\" data-id=\"{id}\" aria-label=\"Reconnect {tool}\">Reconnect</button> ",
                        id = html_escape(&v.id),
                        tool = html_escape(&v.tool),
                    )
                } else {
                    String::new()
                },
                id = html_escape(&v.id),
                provider = html_escape(&v.provider),
                category = html_escape(&v.category),
                tool = html_escape(&v.tool),
                status = html_escape(&v.status),
                created = html_escape(&v.created_at),
            )
        })
        .collect();
    let empty = if records.is_empty() {
        "<p id=\"empty\">No integrations yet.</p>"
    } else {
        ""
    };
    let mut forms = String::new();
    if i.bindbee.is_some() {
        forms += &connect_form(
            "bindbee",
            "Bindbee",
            bindbee::CATEGORIES,
            "integration",
            "bamboohr",
        );
    }
    if i.kombo.is_some() {
        forms += &connect_form("kombo", "Kombo", kombo::CATEGORIES, "tool", "personio");
    }
    if forms.is_empty() {
        forms = "<p>No provider is configured.</p>".into();
    }
    let identity = &m.caller.identity;
    let who = identity.name.as_deref().unwrap_or(identity.user());
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Integrations</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}}
table{{border-collapse:collapse;width:100%}}th,td{{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #ddd}}
form.connect{{display:flex;gap:.5rem;align-items:end;flex-wrap:wrap;margin:.75rem 0;padding:.75rem;border:1px solid #ddd;border-radius:.5rem}}
label{{display:flex;flex-direction:column;font-size:.9rem;gap:.2rem}}button{{padding:.45rem .9rem;font-size:1rem;cursor:pointer}}
#status{{min-height:1.5rem}}.error{{color:#b00020}}
</style></head>
<body><main>
<h1>Integrations</h1>
<p>Signed in as {who}. Connections belong to your organization.</p>
<section aria-labelledby="connected"><h2 id="connected">Connected</h2>
{empty}<table aria-describedby="connected"><thead><tr><th>Provider</th><th>Category</th><th>Tool</th><th>Status</th><th>Connected</th><th></th></tr></thead>
<tbody id="integrations">{rows}</tbody></table></section>
<section aria-labelledby="add"><h2 id="add">Connect</h2>{forms}</section>
<p id="status" role="status" aria-live="polite"></p>
</main>
<script src="/integrations/connect.js"></script>
<script>
(function () {{
  var status = document.getElementById("status");
  function say(text, isError) {{ status.textContent = text; status.className = isError ? "error" : ""; }}
  document.querySelectorAll("form.connect").forEach(function (form) {{
    form.addEventListener("submit", function (e) {{
      e.preventDefault();
      var data = new FormData(form);
      var options = {{ provider: form.dataset.provider, category: data.get("category") }};
      var slug = (data.get("slug") || "").trim();
      if (slug) options[form.dataset.slugField] = slug;
      say("Connecting…");
      BinkIntegrations.connect(options).then(function (i) {{
        say("Connected " + i.tool + ".");
        location.reload();
      }}, function (err) {{ say(err.code === "cancelled" ? "Cancelled." : "Could not connect: " + err.message, err.code !== "cancelled"); }});
    }});
  }});
  document.querySelectorAll("button.reconnect").forEach(function (button) {{
    button.addEventListener("click", function () {{
      say("Reconnecting…");
      button.disabled = true;
      BinkIntegrations.reconnect(button.dataset.id).then(function (i) {{
        say("Reconnected " + i.tool + ".");
        location.reload();
      }}, function (err) {{
        button.disabled = false;
        say(err.code === "cancelled" ? "Cancelled." : "Could not reconnect: " + err.message, err.code !== "cancelled");
      }});
    }});
  }});
  document.querySelectorAll("button.disconnect").forEach(function (button) {{
    button.addEventListener("click", function () {{
      say("Disconnecting…");
      BinkIntegrations.disconnect(button.dataset.id).then(function () {{ location.reload(); }},
        function (err) {{ say("Could not disconnect: " + err.message, true); }});
    }});
  }});
}})();
</script>
</body></html>"#,
        who = html_escape(who),
    );
    let mut response = axum::response::Html(html).into_response();
    let h = response.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Vendor flows run in iframes from their own origins; our page only runs its own
    // scripts and the configured vendor scripts.
    h.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'self'; object-src 'none'; base-uri 'none'"),
    );
    response
}

fn connect_form(
    provider: &str,
    label: &str,
    categories: &[&str],
    slug_field: &str,
    example: &str,
) -> String {
    let options: String = categories
        .iter()
        .map(|c| format!("<option value=\"{c}\">{c}</option>"))
        .collect();
    format!(
        "<form class=\"connect\" data-provider=\"{provider}\" data-slug-field=\"{slug_field}\" aria-label=\"Connect with {label}\">\
         <strong>{label}</strong>\
         <label>Category<select name=\"category\">{options}</select></label>\
         <label>Tool<input name=\"slug\" placeholder=\"{example}\" value=\"{example}\" autocomplete=\"off\"></label>\
         <button type=\"submit\" id=\"connect-{provider}\">Connect with {label}</button></form>"
    )
}
