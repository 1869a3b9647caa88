//! The few HTTP calls the run makes outside the load: tokens from the OIDC mock, and rtm's
//! import, active-policy and build-info routes.

use std::time::Duration;

use anyhow::{Context as _, bail};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};

/// The roles an operator needs to import builds and set the active policy.
pub(crate) const OPERATOR_ROLES: &[&str] =
    &["ROLE_BUILDS_MANAGE_ADMIN", "ROLE_ACTIVE_POLICY_MANAGE_EDIT"];

/// An import of tens of megabytes on a busy 2-core machine may take a while, not forever.
const IMPORT_WITHIN: Duration = Duration::from_secs(600);
/// The longest single call: a build of 10 000 resources is made in one request.
const CALL_WITHIN: Duration = Duration::from_secs(600);

/// A client for one run.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    client: reqwest::Client,
}

impl Api {
    pub(crate) fn new() -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(CALL_WITHIN)
            .build()
            .context("cannot build an HTTP client")?;
        Ok(Self { client })
    }

    /// The HTTP client, for calls this module has no helper for.
    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// A client-credentials token of the OIDC mock for `subject` with `roles`.
    pub(crate) async fn token(
        &self,
        token_url: &str,
        subject: &str,
        roles: &[&str],
    ) -> anyhow::Result<SecretString> {
        self.token_in_groups(token_url, subject, roles, &[]).await
    }

    /// A token as [`Self::token`], with a `groups` claim.
    pub(crate) async fn token_in_groups(
        &self,
        token_url: &str,
        subject: &str,
        roles: &[&str],
        groups: &[&str],
    ) -> anyhow::Result<SecretString> {
        let (roles, groups) = (roles.join(","), groups.join(","));
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", "rtm-bench"),
            ("client_secret", "rtm-bench-secret"),
            ("sub", subject),
            ("roles", roles.as_str()),
        ];
        if !groups.is_empty() {
            form.push(("groups", groups.as_str()));
        }
        let response: Value = self
            .client
            .post(token_url)
            .form(&form)
            .send()
            .await
            .with_context(|| format!("the OIDC mock at {token_url} did not answer"))?
            .error_for_status()
            .context("the OIDC mock refused a token")?
            .json()
            .await
            .context("the OIDC mock's answer is not JSON")?;
        let token = response["access_token"].as_str().context("no access_token in the answer")?;
        Ok(SecretString::from(token.to_owned()))
    }

    /// Imports `archive`; the answer's status and body.
    pub(crate) async fn import(
        &self,
        base: &str,
        token: &SecretString,
        archive: Vec<u8>,
    ) -> anyhow::Result<(u16, String)> {
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(archive).file_name("build.zip"));
        let response = self
            .client
            .post(format!("{base}/api/build-mgmt/builds/import"))
            .bearer_auth(token.expose_secret())
            .multipart(form)
            .timeout(IMPORT_WITHIN)
            .send()
            .await
            .context("the import request failed")?;
        let status = response.status().as_u16();
        Ok((status, response.text().await.unwrap_or_default()))
    }

    /// Imports `archive` and insists on `201 Created`.
    pub(crate) async fn import_new(
        &self,
        base: &str,
        token: &SecretString,
        archive: Vec<u8>,
    ) -> anyhow::Result<()> {
        match self.import(base, token, archive).await? {
            (201, _) => Ok(()),
            (status, body) => bail!("the import answered {status}, not 201: {body}"),
        }
    }

    /// Makes `build_id` the active build of `application_id` for everyone.
    pub(crate) async fn set_policy(
        &self,
        base: &str,
        token: &SecretString,
        application_id: &str,
        build_id: &str,
    ) -> anyhow::Result<()> {
        let response = self
            .client
            .put(format!("{base}/api/build-mgmt/app/{application_id}/active-policy"))
            .bearer_auth(token.expose_secret())
            .json(&json!({"type": "BUILD", "buildId": build_id}))
            .send()
            .await
            .context("the active-policy request failed")?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            bail!("setting the active policy answered {status}: {}", response.text().await?);
        }
        Ok(())
    }

    /// The build id that `GET …/build/info` resolves for the caller.
    pub(crate) async fn resolved_build(
        &self,
        url: &str,
        token: &SecretString,
    ) -> anyhow::Result<String> {
        let response = self
            .client
            .get(url)
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .context("the build-info request failed")?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status != reqwest::StatusCode::OK {
            bail!("build info answered {status}: {body}");
        }
        body["buildId"].as_str().map(str::to_owned).with_context(|| format!("no buildId in {body}"))
    }
}
