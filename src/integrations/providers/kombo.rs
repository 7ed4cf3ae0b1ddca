//! Kombo Connect: create an embedded link, exchange the activation token the front end
//! returns for the integration (`integration-by-token`), and — for the rest of the
//! connection's life — relink it and delete it at Kombo.

use serde_json::{json, Value};

use super::{ApiClient, ProviderError};
use crate::integrations::status::Status;
use crate::integrations::EndUser;

pub const CATEGORIES: &[&str] = &["HRIS", "ATS", "ASSESSMENT", "LMS"];
/// The languages Kombo's connection flow is offered in (`language` of create-link).
pub const LANGUAGES: &[&str] = &["en", "de", "fr", "it", "es"];

/// The integration Kombo created (or relinked).
pub struct KomboIntegration {
    pub id: String,
    pub tool: String,
    pub end_user_origin_id: String,
    pub status: Status,
}

pub struct Kombo {
    api: ApiClient,
}

impl Kombo {
    pub fn new(api: ApiClient) -> Kombo {
        Kombo { api }
    }

    /// The API client, for the unified-API gateway.
    pub fn api(&self) -> &ApiClient {
        &self.api
    }

    /// `POST /connect/create-link` with `link_type: EMBEDDED`. Kombo requires the end
    /// user's email: the caller checks there is one before calling.
    pub async fn create_link(
        &self,
        user: &EndUser,
        email: &str,
        category: &str,
        tool: Option<&str>,
        language: Option<&str>,
    ) -> Result<String, ProviderError> {
        let mut body = json!({
            "end_user_email": email,
            "end_user_organization_name": user.org_name,
            "end_user_origin_id": user.origin_id,
            "integration_category": category,
            "link_type": "EMBEDDED",
        });
        if let Some(tool) = tool {
            body["integration_tool"] = tool.into();
        }
        if let Some(language) = language {
            body["language"] = language.into();
        }
        let answer = self.api.post(&["connect", "create-link"], &body).await?;
        link_of(&answer)
    }

    /// `GET /connect/integration-by-token/{token}`: the integration an activation token
    /// stands for. A 404 means the token is unknown or expired (there is no other
    /// endpoint to try: `activate-integration` is gone from Kombo's API).
    pub async fn exchange(&self, token: &str) -> Result<KomboIntegration, ProviderError> {
        let answer = self
            .api
            .get(&["connect", "integration-by-token", token])
            .await?;
        let data = &answer["data"];
        let text = |key: &str| data.get(key).and_then(Value::as_str).map(str::to_string);
        Ok(KomboIntegration {
            id: text("id")
                .filter(|s| !s.is_empty())
                .ok_or(ProviderError::Malformed)?,
            tool: text("tool").unwrap_or_default(),
            end_user_origin_id: text("end_user_origin_id").ok_or(ProviderError::Malformed)?,
            status: Status::from_kombo(text("setup_status").as_deref().unwrap_or_default()),
        })
    }

    /// `POST /integrations/{id}/relink`: a link that reconnects this integration (the
    /// same id comes back from the exchange), where running create-link again would
    /// create a second integration.
    pub async fn relink(
        &self,
        integration_id: &str,
        language: Option<&str>,
    ) -> Result<String, ProviderError> {
        let mut body = json!({ "link_type": "EMBEDDED" });
        if let Some(language) = language {
            body["language"] = language.into();
        }
        let answer = self
            .api
            .post(&["integrations", integration_id, "relink"], &body)
            .await?;
        link_of(&answer)
    }

    /// `DELETE /integrations/{id}`: Kombo stops syncing (and billing) the integration.
    pub async fn delete(&self, integration_id: &str) -> Result<(), ProviderError> {
        self.api
            .delete(&["integrations", integration_id], Some(&json!({})))
            .await
    }
}

/// `data.link` of a Kombo answer, which must be an http(s) URL.
fn link_of(answer: &Value) -> Result<String, ProviderError> {
    answer["data"]["link"]
        .as_str()
        .filter(|l| l.starts_with("https://") || l.starts_with("http://"))
        .map(str::to_string)
        .ok_or(ProviderError::Malformed)
}
