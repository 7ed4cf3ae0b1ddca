//! Bindbee Embed: create a link token, trade the front end's temporary token for the
//! connector token that authenticates unified-API calls, learn from Bindbee's connectors
//! endpoint whose connector that is, and delete it at Bindbee when it is disconnected.

use serde_json::{json, Value};

use super::{ApiClient, ProviderError};
use crate::integrations::status::Status;
use crate::integrations::EndUser;

pub const CATEGORIES: &[&str] = &["HRIS", "ATS", "LMS", "CUSTOM"];

/// What the connector-token exchange yields: exactly these two fields. It does not say
/// which organization the connector belongs to — [`Bindbee::connector`] does.
pub struct ConnectorToken {
    pub connector_token: String,
    pub connector_id: String,
}

/// A connector as Bindbee's connectors endpoint describes it.
pub struct Connector {
    pub id: String,
    /// The end user's organization; Bindbee documents it as nullable.
    pub origin_id: Option<String>,
    pub status: Status,
}

pub struct Bindbee {
    api: ApiClient,
}

impl Bindbee {
    pub fn new(api: ApiClient) -> Bindbee {
        Bindbee { api }
    }

    /// The API client, for the unified-API gateway.
    pub fn api(&self) -> &ApiClient {
        &self.api
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
    pub async fn connector_token(
        &self,
        temporary_token: &str,
    ) -> Result<ConnectorToken, ProviderError> {
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
        let text = |key: &str| {
            answer
                .get(key)
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .ok_or(ProviderError::Malformed)
        };
        Ok(ConnectorToken {
            connector_token: text("connector_token")?,
            connector_id: text("connector_id")?,
        })
    }

    /// `GET /api/{category}/v1/connectors?connector_token=…`: the connector this token
    /// belongs to, or `None` when Bindbee lists no connector with this id for it. The
    /// answer is a page (`{cursor, page_size, items}`); filtered by one token it holds at
    /// most that token's connector.
    pub async fn connector(
        &self,
        category: &str,
        token: &ConnectorToken,
    ) -> Result<Option<Connector>, ProviderError> {
        let category = category.to_ascii_lowercase();
        let answer = self
            .api
            .get_query(
                &["api", &category, "v1", "connectors"],
                &[("connector_token", &token.connector_token)],
            )
            .await?;
        let items = answer
            .get("items")
            .and_then(Value::as_array)
            .ok_or(ProviderError::Malformed)?;
        let found = items
            .iter()
            .find(|c| c.get("id").and_then(Value::as_str) == Some(&token.connector_id));
        let Some(connector) = found else {
            return Ok(None);
        };
        let text = |key: &str| connector.get(key).and_then(Value::as_str);
        Ok(Some(Connector {
            id: token.connector_id.clone(),
            origin_id: text("origin_id").map(str::to_string),
            status: Status::from_bindbee(text("status").unwrap_or_default()),
        }))
    }

    /// `DELETE /api/{category}/v1/connectors/{connector_id}/delete`: Bindbee stops syncing
    /// (and billing) the connector.
    pub async fn delete(&self, category: &str, connector_id: &str) -> Result<(), ProviderError> {
        let category = category.to_ascii_lowercase();
        self.api
            .delete(
                &["api", &category, "v1", "connectors", connector_id, "delete"],
                None,
            )
            .await
    }
}
