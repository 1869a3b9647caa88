//! The production key source: a realm's JWKS, found through its OIDC discovery document and
//! cached. A token signed with an unknown key id triggers one refetch, at most once per
//! `min_refetch_interval` (key rotation works without a restart, and a flood of forged key
//! ids cannot hammer the identity provider); when the provider is down, the last good keys
//! keep working.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

use crate::auth::{AuthError, KeySource};

/// Where and how to fetch the keys.
#[derive(Debug, Clone)]
pub struct JwksSettings {
    /// The realm's issuer URL (`<base>/realms/<realm>`); discovery is at
    /// `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// Timeout of one HTTP request to the provider.
    pub request_timeout: Duration,
    /// Least time between two fetches caused by unknown key ids.
    pub min_refetch_interval: Duration,
}

#[derive(Debug, Default)]
struct Cached {
    keys: Option<JwkSet>,
    last_attempt: Option<Instant>,
}

/// A cached JWKS of one realm.
#[derive(Debug)]
pub struct JwksKeySource {
    settings: JwksSettings,
    client: reqwest::Client,
    cached: RwLock<Cached>,
    /// One fetch at a time; waiters then read what it fetched.
    fetching: Mutex<()>,
}

#[derive(Debug, Deserialize)]
struct Discovery {
    jwks_uri: String,
}

impl JwksKeySource {
    /// A key source for the realm of `settings.issuer`; nothing is fetched yet.
    ///
    /// # Errors
    ///
    /// [`AuthError::KeysUnavailable`] if the HTTP client cannot be built (no TLS roots).
    pub fn new(settings: JwksSettings) -> Result<Self, AuthError> {
        let client = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .build()
            .map_err(|_| AuthError::KeysUnavailable)?;
        Ok(Self { settings, client, cached: RwLock::default(), fetching: Mutex::new(()) })
    }

    /// Fetches the keys now (at start, so the first request does not wait for them).
    ///
    /// # Errors
    ///
    /// [`AuthError::KeysUnavailable`] when discovery or the JWKS cannot be fetched; the
    /// source still works and fetches again when a token needs it.
    pub async fn refresh(&self) -> Result<usize, AuthError> {
        let _one_at_a_time = self.fetching.lock().await;
        self.fetch().await
    }

    async fn fetch(&self) -> Result<usize, AuthError> {
        self.cached.write().await.last_attempt = Some(Instant::now());
        match self.download().await {
            Ok(keys) => {
                let n_keys = keys.keys.len();
                tracing::info!(issuer = %self.settings.issuer, n_keys, "signing keys fetched");
                self.cached.write().await.keys = Some(keys);
                Ok(n_keys)
            }
            Err(err) => {
                tracing::warn!(issuer = %self.settings.issuer, error = %err, "could not fetch signing keys; keeping the last good ones");
                Err(AuthError::KeysUnavailable)
            }
        }
    }

    async fn download(&self) -> Result<JwkSet, reqwest::Error> {
        let discovery_url = format!("{}/.well-known/openid-configuration", self.settings.issuer);
        let discovery: Discovery =
            self.client.get(&discovery_url).send().await?.error_for_status()?.json().await?;
        self.client.get(&discovery.jwks_uri).send().await?.error_for_status()?.json().await
    }

    fn find(keys: &JwkSet, kid: Option<&str>) -> Option<Jwk> {
        match kid {
            Some(kid) => keys.find(kid).cloned(),
            None if keys.keys.len() == 1 => keys.keys.first().cloned(),
            None => None,
        }
    }
}

#[async_trait]
impl KeySource for JwksKeySource {
    async fn key(&self, kid: Option<&str>) -> Result<Option<Jwk>, AuthError> {
        {
            let cached = self.cached.read().await;
            if let Some(key) = cached.keys.as_ref().and_then(|keys| Self::find(keys, kid)) {
                return Ok(Some(key));
            }
        }
        let _one_at_a_time = self.fetching.lock().await;
        // Another request may have fetched while this one waited.
        let (have_keys, may_fetch) = {
            let cached = self.cached.read().await;
            if let Some(key) = cached.keys.as_ref().and_then(|keys| Self::find(keys, kid)) {
                return Ok(Some(key));
            }
            let may_fetch = cached
                .last_attempt
                .is_none_or(|at| at.elapsed() >= self.settings.min_refetch_interval);
            (cached.keys.is_some(), may_fetch)
        };
        if may_fetch && let Err(err) = self.fetch().await {
            if !have_keys {
                return Err(err);
            }
        } else if !may_fetch && !have_keys {
            return Err(AuthError::KeysUnavailable);
        }
        let cached = self.cached.read().await;
        Ok(cached.keys.as_ref().and_then(|keys| Self::find(keys, kid)))
    }
}
