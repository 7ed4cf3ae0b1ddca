//! What the demo application does with a connected HRIS: it asks the proxy which
//! integrations the signed-in user's organization has, then reads the first HRIS's
//! employees through the proxy's unified-API gateway — with the user's own token, never a
//! vendor key or credential.

use serde_json::Value;

use crate::error::html_escape;

/// How many employees the demo page shows.
const SHOWN: usize = 10;

/// An HTML section: the organization's employees, or why there are none to show.
pub async fn employees_section(proxy: &str, token: &str) -> String {
    let body = match employees(proxy, token).await {
        Ok(Some((provider, tool, rows))) => format!(
            "<p>Read just now from <strong>{}</strong> ({}) through the proxy's gateway — \
             this application holds no vendor key and no credential:</p>\
             <table><thead><tr><th>Name</th><th>Job title</th><th>Work email</th></tr></thead>\
             <tbody>{}</tbody></table>",
            html_escape(&tool),
            html_escape(&provider),
            rows
        ),
        Ok(None) => "<p>No HRIS is connected yet: connect one at \
                     <a href=\"/integrations/ui\">/integrations/ui</a>, then reload.</p>"
            .to_string(),
        Err(why) => format!("<p>The gateway did not answer: {}</p>", html_escape(&why)),
    };
    format!("<section aria-labelledby=\"hr\"><h2 id=\"hr\">Your organization's employees</h2>{body}</section>")
}

/// The first connected HRIS's employees as table rows: (provider, tool, rows).
async fn employees(proxy: &str, token: &str) -> Result<Option<(String, String, String)>, String> {
    let client = reqwest::Client::new();
    let get = |url: String| client.get(url).bearer_auth(token);
    let listed = json(get(format!("{proxy}/integrations")).send().await).await?;
    let Some(hris) = listed["integrations"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["category"] == "HRIS")
    else {
        return Ok(None);
    };
    let provider = hris["provider"].as_str().unwrap_or_default().to_string();
    let (path, id) = match provider.as_str() {
        "kombo" => ("kombo/api/hris/employees", &hris["remote_id"]),
        _ => ("bindbee/api/hris/v1/employees", &hris["id"]),
    };
    let page = json(
        get(format!("{proxy}/integrations/{path}?page_size={SHOWN}"))
            .header("X-Integration-Id", id.as_str().unwrap_or_default())
            .send()
            .await,
    )
    .await?;
    // Kombo: {data: {results}}; Bindbee: {items}.
    let people = page["data"]["results"]
        .as_array()
        .or(page["items"].as_array())
        .cloned()
        .unwrap_or_default();
    let rows = people
        .iter()
        .take(SHOWN)
        .map(|p| {
            let text = |k: &str| p[k].as_str().unwrap_or("").to_string();
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                html_escape(&text("display_full_name")),
                html_escape(&if p["job_title"].is_string() {
                    text("job_title")
                } else {
                    text("designation")
                }),
                html_escape(&text("work_email")),
            )
        })
        .collect();
    let tool = hris["tool"].as_str().unwrap_or_default().to_string();
    Ok(Some((provider, tool, rows)))
}

/// A 2xx answer's JSON, or why not.
async fn json(sent: reqwest::Result<reqwest::Response>) -> Result<Value, String> {
    let answer = sent.map_err(|e| e.to_string())?;
    if !answer.status().is_success() {
        return Err(format!("HTTP {}", answer.status().as_u16()));
    }
    let bytes = answer.bytes().await.map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}
