//! Bindbee Embed: create a link token, then trade the front end's temporary token for the
//! connector token that authenticates unified-API calls.

use serde_json::{json, Value};

use super::{ApiClient, ProviderError};
use crate::integrations::EndUser;

pub const CATEGORIES: &[&str] = &["HRIS", "ATS", "LMS", "CUSTOM"];

/// What the connector-token exchange yields.
pub struct Connector {
    pub connector_token: String,
    pub connector_id: Option<String>,
    pub origin_id: Option<String>,
    pub status: Option<String>,
}

pub struct Bindbee {
    api: ApiClient,
}

impl Bindbee {
    pub fn new(api: ApiClient) -> Bindbee {
        Bindbee { api }
    }

    /// `POST /api/embedded/v1/link/create-link-token`.
    pub async fn create_link_token(
        &self,
        user: &EndUser,
        category: &str,
        integration: &str,
    ) -> Result<String, ProviderError> {
        let body = json!({
            "end_user_data": { "org_name": user.org_name, "origin_id": user.origin_id, "email": user.email },
            "category": category,
            "integration": integration,
        });
        let answer = self
            .api
            .post(
                &["api", "embedded", "v1", "link", "create-link-token"],
                &body,
            )
            .await?;
        answer["link_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or(ProviderError::Malformed)
    }

    /// `GET /api/embedded/v1/connectors/connector_token/{temporary_token}`.
    pub async fn connector_token(&self, temporary_token: &str) -> Result<Connector, ProviderError> {
        let answer = self
            .api
            .get(&[
                "api",
                "embedded",
                "v1",
                "connectors",
                "connector_token",
                temporary_token,
            ])
            .await?;
        let text = |key: &str| answer.get(key).and_then(Value::as_str).map(str::to_string);
        Ok(Connector {
            connector_token: text("connector_token")
                .filter(|t| !t.is_empty())
                .ok_or(ProviderError::Malformed)?,
            connector_id: text("connector_id").or_else(|| text("id")),
            origin_id: text("origin_id"),
            status: text("status"),
        })
    }
}
