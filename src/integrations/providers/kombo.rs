//! Kombo Connect: create an embedded link, then exchange the activation token the front
//! end returns for the integration (`integration-by-token`, falling back to the
//! deprecated `activate-integration` only when the former answers 404).

use serde_json::{json, Value};

use super::{ApiClient, ProviderError};
use crate::integrations::EndUser;

pub const CATEGORIES: &[&str] = &["HRIS", "ATS", "ASSESSMENT", "LMS"];

/// The integration Kombo created.
pub struct KomboIntegration {
    pub id: String,
    pub tool: String,
    pub end_user_origin_id: String,
    pub setup_status: Option<String>,
}

pub struct Kombo {
    api: ApiClient,
}

impl Kombo {
    pub fn new(api: ApiClient) -> Kombo {
        Kombo { api }
    }

    /// `POST /connect/create-link` with `link_type: EMBEDDED`.
    pub async fn create_link(
        &self,
        user: &EndUser,
        category: &str,
        tool: Option<&str>,
        language: Option<&str>,
    ) -> Result<String, ProviderError> {
        let mut body = json!({
            "end_user_email": user.email,
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
        answer["data"]["link"]
            .as_str()
            .filter(|l| l.starts_with("https://") || l.starts_with("http://"))
            .map(str::to_string)
            .ok_or(ProviderError::Malformed)
    }

    /// Exchanges an activation token for the integration.
    pub async fn exchange(&self, token: &str) -> Result<KomboIntegration, ProviderError> {
        let answer = match self
            .api
            .get(&["connect", "integration-by-token", token])
            .await
        {
            Err(e) if e.is_not_found() => {
                self.api
                    .post(
                        &["connect", "activate-integration"],
                        &json!({ "token": token }),
                    )
                    .await?
            }
            other => other?,
        };
        let data = &answer["data"];
        let text = |key: &str| data.get(key).and_then(Value::as_str).map(str::to_string);
        Ok(KomboIntegration {
            id: text("id")
                .filter(|s| !s.is_empty())
                .ok_or(ProviderError::Malformed)?,
            tool: text("tool").unwrap_or_default(),
            end_user_origin_id: text("end_user_origin_id").ok_or(ProviderError::Malformed)?,
            setup_status: text("setup_status"),
        })
    }
}
