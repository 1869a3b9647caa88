//! The production key source: a realm's signing keys, found through its OIDC discovery
//! document and cached.
//!
//! Discovery and the key set go through the `openidconnect` crate (its provider-metadata
//! discovery checks that the document names the configured issuer, and its key-set type skips
//! keys it cannot read instead of failing the whole set); its requests go through our own
//! reqwest client, with bounded timeouts, no redirects and a size cap. The keys that may
//! verify a signature are then handed to the validator as `jsonwebtoken` keys.
//!
//! The keys are refetched on a timer ([`JwksKeySource::refresh_periodically`], so a key the
//! realm removed stops being trusted within one period) and when a token names an unknown key
//! id, at most once per `min_refetch_interval` (key rotation works at once, and a flood of
//! forged key ids cannot hammer the identity provider; timed refreshes do not count). When
//! the provider is down, the last good keys keep working, and one warning is logged per
//! outage, not one per attempt.
//!
//! Each fetch parses the keys once into an immutable [`KeySet`] (keeping the keys that did
//! not change, see [`crate::auth::keys`]), swapped in whole with `arc-swap`: a request naming
//! a known key reads it without a lock and never waits on a fetch.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use async_trait::async_trait;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use openidconnect::core::{CoreJsonWebKey, CoreJsonWebKeyType, CoreProviderMetadata};
use openidconnect::{
    AsyncHttpClient, HttpRequest, HttpResponse, IssuerUrl, JsonWebKey as _, JsonWebKeyAlgorithm,
    JsonWebKeyUse as _,
};
use tokio::sync::Mutex;
use tokio::time::MissedTickBehavior;

use crate::auth::AuthError;
use crate::auth::keys::{KeySet, KeySource, VerifyingKey};

/// Largest discovery document or key set accepted: Keycloak's are a few kilobytes, and a
/// misbehaving endpoint must not make every replica buffer without end.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// Where and how to fetch the keys.
#[derive(Debug, Clone)]
pub struct JwksSettings {
    /// The realm's issuer URL (`<base>/realms/<realm>`); discovery is at
    /// `<issuer>/.well-known/openid-configuration`, and the document must name this issuer.
    pub issuer: String,
    /// Timeout of one HTTP request to the provider (connecting included).
    pub request_timeout: Duration,
    /// Least time between two fetches caused by unknown key ids.
    pub min_refetch_interval: Duration,
    /// Time between two fetches of [`JwksKeySource::refresh_periodically`]; not zero.
    pub refresh_interval: Duration,
}

/// Why a [`JwksKeySource`] cannot be built: a configuration mistake, found at start.
#[derive(Debug, thiserror::Error)]
pub enum JwksSetupError {
    /// The issuer is not an absolute URL.
    #[error("the issuer `{issuer}` is not a URL: {reason}")]
    InvalidIssuer {
        /// The configured issuer.
        issuer: String,
        /// What the URL parser said.
        reason: String,
    },
    /// The refresh interval is zero.
    #[error("the signing keys' refresh interval must be longer than zero")]
    ZeroRefreshInterval,
    /// The HTTP client cannot be built (no TLS roots).
    #[error("the HTTP client for the identity provider cannot be built: {0}")]
    HttpClient(String),
}

/// What the fetches remember between them; only read and written by the one fetch under way.
#[derive(Debug, Default)]
struct FetchState {
    /// The last fetch caused by an unknown key id. Timed refreshes do not count: a refresh
    /// just before the realm adds a key must not delay trusting it by `min_refetch_interval`.
    last_on_demand: Option<Instant>,
    /// The last fetch failed: the next failure is not warned about again.
    failing: bool,
}

/// The cached signing keys of one realm.
#[derive(Debug)]
pub struct JwksKeySource {
    settings: JwksSettings,
    issuer: IssuerUrl,
    client: IdpClient,
    /// The keys of the last good fetch; `None` before the first one.
    keys: ArcSwapOption<KeySet>,
    /// One fetch at a time; waiters then read what it fetched.
    fetching: Mutex<FetchState>,
}

/// A failed request to the identity provider, below what `openidconnect` checks.
#[derive(Debug, thiserror::Error)]
enum IdpHttpError {
    #[error("request failed")]
    Request(#[from] reqwest::Error),
    #[error("the answer is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
    #[error("the answer cannot be represented")]
    Response(#[from] openidconnect::http::Error),
}

impl JwksKeySource {
    /// A key source for the realm of `settings.issuer`; nothing is fetched yet.
    ///
    /// # Errors
    ///
    /// A [`JwksSetupError`] when the issuer is not a URL, the refresh interval is zero, or
    /// the HTTP client cannot be built.
    pub fn new(settings: JwksSettings) -> Result<Self, JwksSetupError> {
        let issuer = IssuerUrl::new(settings.issuer.clone()).map_err(|err| {
            JwksSetupError::InvalidIssuer {
                issuer: settings.issuer.clone(),
                reason: err.to_string(),
            }
        })?;
        if settings.refresh_interval.is_zero() {
            return Err(JwksSetupError::ZeroRefreshInterval);
        }
        let client = reqwest::Client::builder()
            .connect_timeout(settings.request_timeout)
            .timeout(settings.request_timeout)
            // A redirect could lead the fetch anywhere the provider's network can reach
            // (SSRF); Keycloak's discovery and certs endpoints never redirect.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| JwksSetupError::HttpClient(err.to_string()))?;
        Ok(Self {
            settings,
            issuer,
            client: IdpClient(client),
            keys: ArcSwapOption::empty(),
            fetching: Mutex::default(),
        })
    }

    /// Fetches the keys now (at start, so the first request does not wait for them; and on
    /// each tick of [`refresh_periodically`](Self::refresh_periodically)).
    ///
    /// # Errors
    ///
    /// [`AuthError::KeysUnavailable`] when discovery or the key set cannot be fetched; the
    /// last good keys stay, and the source fetches again on its next tick or when a token
    /// needs it.
    pub async fn refresh(&self) -> Result<usize, AuthError> {
        let mut state = self.fetching.lock().await;
        self.fetch(&mut state).await
    }

    /// Refetches the keys every `refresh_interval` until `stop` completes (the server passes
    /// its shutdown signal), so that a key the realm removed stops being trusted without a
    /// restart. A failed refresh keeps the last good keys. `stop` ends the loop at once, even
    /// in the middle of a fetch (nothing is half-written: the keys are replaced in one step).
    /// Requests never wait for it, except one naming an unknown key id while a fetch is under
    /// way, which then reads what that fetch found.
    pub async fn refresh_periodically(&self, stop: impl Future<Output = ()>) {
        let period = self.settings.refresh_interval;
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut stop = std::pin::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = ticks.tick() => {}
            }
            tokio::select! {
                () = &mut stop => return,
                // A failure is logged by `fetch`, once per outage.
                _ = self.refresh() => {}
            }
        }
    }

    /// One fetch; the caller holds `fetching` (its `state`).
    async fn fetch(&self, state: &mut FetchState) -> Result<usize, AuthError> {
        let issuer = self.issuer.as_str();
        match self.download().await {
            Ok(set) => {
                let previous = self.keys.load_full();
                // Parsed once here, not per request; unchanged keys keep their identity.
                let keys = KeySet::parse(&set, previous.as_deref());
                let n_keys = keys.len();
                let ids = keys.ids();
                let recovered = std::mem::take(&mut state.failing);
                let changed =
                    previous.as_ref().map(|previous| previous.ids()).as_ref() != Some(&ids);
                if changed || recovered {
                    tracing::info!(issuer, n_keys, key_ids = ?ids, recovered, "signing keys fetched");
                } else {
                    tracing::debug!(issuer, n_keys, "signing keys fetched, unchanged");
                }
                self.keys.store(Some(Arc::new(keys)));
                Ok(n_keys)
            }
            Err(reason) => {
                if std::mem::replace(&mut state.failing, true) {
                    tracing::debug!(issuer, error = %reason, "signing keys still unavailable");
                } else {
                    tracing::warn!(
                        issuer,
                        error = %reason,
                        keeping_last_good_keys = self.keys.load().is_some(),
                        "could not fetch the realm's signing keys; trying again on the next refresh \
                         (not warned again until they are fetched)"
                    );
                }
                Err(AuthError::KeysUnavailable)
            }
        }
    }

    /// The discovery document, then the key set it names, reduced to the signing keys.
    async fn download(&self) -> Result<JwkSet, String> {
        let metadata = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.client)
            .await
            .map_err(|err| domain::ports::error_chain(&err))?;
        Ok(signing_keys(metadata.jwks().keys()))
    }
}

/// openidconnect's transport: our reqwest client (timeouts, no redirects) and [`send`].
#[derive(Debug)]
struct IdpClient(reqwest::Client);

impl<'c> AsyncHttpClient<'c> for IdpClient {
    type Error = IdpHttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, IdpHttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(send(&self.0, request))
    }
}

/// One request to the identity provider, its answer read up to [`MAX_DOCUMENT_BYTES`].
async fn send(
    client: &reqwest::Client,
    request: HttpRequest,
) -> Result<HttpResponse, IdpHttpError> {
    let mut response = client.execute(reqwest::Request::try_from(request)?).await?;
    let mut answer = openidconnect::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        answer = answer.header(name, value);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(IdpHttpError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(answer.body(body)?)
}

/// The keys of `keys` that may verify a token's signature, as the validator's keys: RSA, EC
/// and OKP keys whose `use` (when given) is `sig` and whose `alg` (when given) is a signing
/// algorithm. Keycloak also publishes its encryption key (`use: enc`, `alg: RSA-OAEP`) in the
/// same set: it must never verify a token. A key `jsonwebtoken` cannot read (an algorithm it
/// lacks, such as ES512) is left out; the others still work.
fn signing_keys(keys: &[CoreJsonWebKey]) -> JwkSet {
    let keys = keys
        .iter()
        .filter(|key| key.key_use().is_none_or(|key_use| key_use.allows_signature()))
        .filter(|key| {
            matches!(
                key.key_type(),
                CoreJsonWebKeyType::RSA
                    | CoreJsonWebKeyType::EllipticCurve
                    | CoreJsonWebKeyType::OctetKeyPair
            )
        })
        .filter(|key| !matches!(key.signing_alg(), JsonWebKeyAlgorithm::Unsupported))
        .filter_map(|key| {
            // openidconnect keeps a key's parameters private; its serde form is the JWK itself.
            let converted = serde_json::to_value(key).and_then(serde_json::from_value::<Jwk>);
            match converted {
                Ok(jwk) => Some(jwk),
                Err(err) => {
                    tracing::debug!(kid = ?key.key_id().map(|kid| kid.as_str()), error = %err, "signing key left out: not usable for token validation");
                    None
                }
            }
        })
        .collect();
    JwkSet { keys }
}

#[async_trait]
impl KeySource for JwksKeySource {
    fn held(&self, kid: Option<&str>) -> Option<Arc<VerifyingKey>> {
        self.keys.load().as_ref().and_then(|keys| keys.find(kid).cloned())
    }

    async fn key(&self, kid: Option<&str>) -> Result<Option<Arc<VerifyingKey>>, AuthError> {
        if let Some(key) = self.held(kid) {
            return Ok(Some(key));
        }
        let mut state = self.fetching.lock().await;
        // Another request, or the timer, may have fetched while this one waited.
        if let Some(key) = self.held(kid) {
            return Ok(Some(key));
        }
        let have_keys = self.keys.load().is_some();
        let may_fetch = state
            .last_on_demand
            .is_none_or(|at| at.elapsed() >= self.settings.min_refetch_interval);
        if may_fetch {
            state.last_on_demand = Some(Instant::now());
            if let Err(err) = self.fetch(&mut state).await
                && !have_keys
            {
                return Err(err);
            }
        } else if !have_keys {
            return Err(AuthError::KeysUnavailable);
        }
        Ok(self.held(kid))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key_ids(keys: &JwkSet) -> Vec<String> {
        keys.keys.iter().map(|key| key.common.key_id.clone().unwrap_or_default()).collect()
    }

    fn core_keys(keys: serde_json::Value) -> Vec<CoreJsonWebKey> {
        serde_json::from_value::<openidconnect::core::CoreJsonWebKeySet>(json!({ "keys": keys }))
            .unwrap()
            .keys()
            .clone()
    }

    const N: &str = "pAs3-98HmNLH367sMrac00EgzTMFgkPa1jZ55h8YitQQrYkkTqH91lAwAZ_Syn2HGPdqvYIF9LuuDk9Mlysda_MvAw9KkP45XK_nvV_aODKAyhbG7P6GI0fOPdSOLm6_H-C_IeGfZtmROXwCVRyQVa_JuuatTFOT7TVGOoPzib6XYrOCCKg-rS3OFwmFMOwvtRc-_5uPm958HJ8TTViPPFb0tUINxiVJhn-_hypbhi17tQqaAxR_dzaL9P-Z6DHp6HTHY5PAMsP3bK4rQTZRYbWr0AqBX3gi9xWHM63GLSoD53JcB0N1d73YVuprhW-BYaEwa-9otTk_QbJmKWs8Bw";

    #[test]
    fn only_keys_that_may_verify_a_signature_are_kept() {
        let keys = core_keys(json!([
            { "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "rsa-sig", "n": N, "e": "AQAB",
              "x5c": ["MIIC"], "x5t": "abc", "x5t#S256": "def" },
            { "kty": "RSA", "use": "enc", "alg": "RSA-OAEP", "kid": "rsa-enc", "n": N, "e": "AQAB" },
            { "kty": "RSA", "use": "enc", "kid": "rsa-enc-no-alg", "n": N, "e": "AQAB" },
            { "kty": "RSA", "kid": "rsa-no-use-no-alg", "n": N, "e": "AQAB" },
            { "kty": "oct", "kid": "secret", "k": "c2VjcmV0" },
            { "kty": "EC", "use": "sig", "alg": "ES256", "kid": "ec", "crv": "P-256",
              "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
              "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" },
            { "kty": "EC", "use": "sig", "alg": "ES512", "kid": "ec-p521", "crv": "P-521",
              "x": "ANp5tmRTGf2bP3yNCyJAY6xW8N3yiTQ_VVxjT2iecMrYnvh_Ev8MGwB64gwH17UbhHRBCaBJkMebwhNyvCstIbXq",
              "y": "AQXJSQ4h068iJ9zUZo8X0zyhsV8jGnSyFzP4K_w9FW2TeReMPJsKH4jA4D6v0E0pueu_21o4GfsitsXEthQBz6DG" },
            { "kty": "XYZ", "kid": "unknown-type" },
        ]));
        let kept: Vec<String> = key_ids(&signing_keys(&keys));
        assert_eq!(kept, ["rsa-sig", "rsa-no-use-no-alg", "ec"]);
    }
}
