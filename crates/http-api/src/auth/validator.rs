//! Validation of a bearer JWT: header, key by id, signature with the key's own algorithm
//! family, expiry, issuer and audience; then the claims become a [`Principal`].

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
#[cfg(test)]
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use domain::model::Principal;
use domain::ports::{TokenError, TokenVerifier};
use jsonwebtoken::Validation;
use serde::Deserialize;

use crate::auth::AuthError;
use crate::auth::keys::{KeySource, VerifyingKey};
use crate::auth::token_cache::{self, TokenCache};

/// What a token must say about itself to be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPolicy {
    /// Accepted `iss` values (a realm's issuer URL; several for a user and a service-account realm).
    pub issuers: Vec<String>,
    /// Required `aud`, when configured.
    pub audience: Option<String>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_seconds: u64,
}

/// Validates bearer tokens and turns them into principals. Clones share the key source and
/// the cache of verified tokens (the REST API and Kafka start-by-name use one validator).
#[derive(Debug, Clone)]
pub struct TokenValidator {
    keys: Arc<dyn KeySource>,
    policy: TokenPolicy,
    /// Verified tokens (see [`token_cache`]); `None`: every token is verified in full.
    cache: Option<TokenCache>,
    /// Signatures verified, for the tests that tell a cache hit from a verification.
    #[cfg(test)]
    verifications: Arc<AtomicU64>,
}

/// What a full check of a token found.
struct Checked {
    principal: Arc<Principal>,
    kid: Option<String>,
    key: Arc<VerifyingKey>,
    exp: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    realm_access: Option<Roles>,
    #[serde(default)]
    resource_access: HashMap<String, Roles>,
    /// The client the token was issued to; on every Keycloak access token.
    #[serde(default)]
    azp: Option<String>,
    /// What Keycloak's "Client ID" mapper adds to service-account tokens (`client_id` since
    /// Keycloak 20, `clientId` before).
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default, rename = "clientId")]
    legacy_client_id: Option<String>,
    /// Required and checked by `jsonwebtoken`; read here for the token cache. A float, as
    /// JWT's NumericDate may be one.
    #[serde(default)]
    exp: Option<f64>,
}

impl Claims {
    /// The client the token was issued to: `azp`, else the client-id mapper's claim.
    fn client(&self) -> Option<String> {
        self.azp
            .clone()
            .or_else(|| self.client_id.clone())
            .or_else(|| self.legacy_client_id.clone())
    }
}

#[derive(Debug, Default, Deserialize)]
struct Roles {
    #[serde(default)]
    roles: Vec<String>,
}

impl TokenValidator {
    /// A validator trusting `keys` under `policy`, verifying every token in full (see
    /// [`with_token_cache`](Self::with_token_cache)).
    pub fn new(keys: Arc<dyn KeySource>, policy: TokenPolicy) -> Self {
        Self {
            keys,
            policy,
            cache: None,
            #[cfg(test)]
            verifications: Arc::default(),
        }
    }

    /// The same validator keeping verified tokens for at most `ttl` (and never past their
    /// `exp`), in a cache of at most 10 000 tokens; a zero `ttl` keeps none
    /// (`RTM_TOKEN_CACHE_SECONDS`).
    #[must_use]
    pub fn with_token_cache(mut self, ttl: Duration) -> Self {
        self.cache = TokenCache::new(ttl);
        self
    }

    /// Checks `token` and returns who it is for.
    ///
    /// # Errors
    ///
    /// An [`AuthError`] saying why the token is refused: malformed, unknown key, algorithm
    /// not that of the key (so `alg: none` and HS256-with-the-public-key both fail), bad
    /// signature, expired, wrong issuer or audience.
    pub async fn validate(&self, token: &str) -> Result<Principal, AuthError> {
        self.validate_shared(token).await.map(Arc::unwrap_or_clone)
    }

    /// [`validate`](Self::validate), with the principal shared with the token cache (no
    /// copy per request).
    ///
    /// A token verified before, still before its `exp` and whose key the key source still
    /// holds unchanged, is answered from the cache; anything else is checked in full, and
    /// only a token that passes is cached.
    ///
    /// # Errors
    ///
    /// As [`validate`](Self::validate).
    pub async fn validate_shared(&self, token: &str) -> Result<Arc<Principal>, AuthError> {
        let Some(cache) = &self.cache else {
            return self.check(token).await.map(|checked| checked.principal);
        };
        let digest = token_cache::digest(token);
        if let Some(principal) = cache.get(&digest, self.keys.as_ref()) {
            return Ok(principal);
        }
        let checked = self.check(token).await?;
        cache.insert(digest, checked.principal.clone(), checked.kid, checked.key, checked.exp);
        Ok(checked.principal)
    }

    /// The full check: header, key, algorithm, signature, expiry, issuer, audience.
    async fn check(&self, token: &str) -> Result<Checked, AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|err| AuthError::InvalidToken(err.to_string()))?;
        let kid = header.kid;
        // A known key is read without waiting; only an unknown one may wait on a fetch.
        let key = match self.keys.held(kid.as_deref()) {
            Some(key) => key,
            None => self
                .keys
                .key(kid.as_deref())
                .await?
                .ok_or_else(|| AuthError::InvalidToken("signed with an unknown key".into()))?,
        };
        if !key.fits(header.alg) {
            return Err(AuthError::InvalidToken(format!(
                "algorithm {:?} does not fit the signing key",
                header.alg
            )));
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.policy.leeway_seconds;
        validation.set_issuer(&self.policy.issuers);
        match &self.policy.audience {
            // jsonwebtoken checks `aud` only when the token has one: a configured audience
            // must also make the claim required, or a token without any `aud` would pass.
            Some(audience) => {
                validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
                validation.set_audience(&[audience]);
            }
            None => {
                validation.set_required_spec_claims(&["exp", "sub", "iss"]);
                validation.validate_aud = false;
            }
        }
        #[cfg(test)]
        self.verifications.fetch_add(1, Ordering::SeqCst);
        let data =
            jsonwebtoken::decode::<Claims>(token, key.decoding(), &validation).map_err(|err| {
                use jsonwebtoken::errors::ErrorKind;
                match err.kind() {
                    ErrorKind::ExpiredSignature => AuthError::Expired,
                    ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
                    ErrorKind::InvalidAudience => AuthError::WrongAudience,
                    ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => {
                        AuthError::WrongAudience
                    }
                    other => AuthError::InvalidToken(format!("{other:?}")),
                }
            })?;
        let claims = data.claims;
        let client_id = claims.client();
        let exp = claims.exp;
        let roles: BTreeSet<String> = claims
            .realm_access
            .unwrap_or_default()
            .roles
            .into_iter()
            .chain(claims.resource_access.into_values().flat_map(|client| client.roles))
            .collect();
        let principal = Principal {
            subject: claims.sub,
            username: claims.preferred_username,
            groups: claims.groups.into_iter().collect(),
            roles,
            client_id,
        };
        Ok(Checked { principal: Arc::new(principal), kid, key, exp })
    }
}

/// The same check for tokens that arrive in a message (Kafka start-by-name's `jwt` header):
/// one validator, one set of rules, the REST API's codes.
#[async_trait]
impl TokenVerifier for TokenValidator {
    async fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        self.validate(token).await.map_err(|err| match err {
            AuthError::KeysUnavailable => TokenError::KeysUnavailable,
            refused => TokenError::Rejected { code: refused.code(), message: refused.to_string() },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{LocalIssuer, StaticKeys, TokenRequest};

    fn validator(issuer: &LocalIssuer) -> TokenValidator {
        TokenValidator::new(
            Arc::new(StaticKeys::new(issuer.key_set())),
            TokenPolicy {
                issuers: vec![LocalIssuer::ISSUER.to_owned()],
                audience: None,
                leeway_seconds: 0,
            },
        )
    }

    /// A validator of `issuer`'s tokens with the production cache settings.
    fn cached(issuer: &LocalIssuer) -> TokenValidator {
        validator(issuer).with_token_cache(Duration::from_secs(60))
    }

    impl TokenValidator {
        fn verifications(&self) -> u64 {
            self.verifications.load(Ordering::SeqCst)
        }

        fn cached_tokens(&self) -> u64 {
            self.cache.as_ref().map_or(0, TokenCache::len)
        }
    }

    fn now() -> u64 {
        u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap()
    }

    /// A token of `issuer`'s key with exactly `claims` and the header's `alg` ES256.
    fn signed(issuer: &LocalIssuer, claims: &serde_json::Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = issuer.key_set().keys[0].common.key_id.clone();
        let key = jsonwebtoken::EncodingKey::from_ec_pem(issuer.to_pem().unwrap().as_bytes());
        jsonwebtoken::encode(&header, claims, &key.unwrap()).unwrap()
    }

    /// `token` with one character of its signature changed.
    fn with_another_signature(token: &str) -> String {
        let (message, signature) = token.rsplit_once('.').unwrap();
        let mut signature = signature.as_bytes().to_vec();
        signature[10] = if signature[10] == b'A' { b'B' } else { b'A' };
        format!("{message}.{}", String::from_utf8(signature).unwrap())
    }

    #[tokio::test]
    async fn a_repeated_token_is_answered_from_the_cache_without_verifying_it_again() {
        let issuer = LocalIssuer::generate().unwrap();
        let validator = cached(&issuer);
        let token = issuer.issue(&request("olga")).unwrap();
        let first = validator.validate_shared(&token).await.unwrap();
        for _ in 0..3 {
            let again = validator.validate_shared(&token).await.unwrap();
            assert!(Arc::ptr_eq(&first, &again), "the cached principal itself");
        }
        assert_eq!(validator.verifications(), 1);
        assert_eq!(first.name(), "olga");
        assert!(first.in_group("ops"));

        let other = issuer.issue(&request("piotr")).unwrap();
        assert_eq!(validator.validate(&other).await.unwrap().name(), "piotr");
        assert_eq!(validator.verifications(), 2, "another token is verified");
        assert_eq!(validator.cached_tokens(), 2);
    }

    #[tokio::test]
    async fn with_the_cache_off_every_presentation_is_verified() {
        let issuer = LocalIssuer::generate().unwrap();
        let validator = validator(&issuer).with_token_cache(Duration::ZERO);
        let token = issuer.issue(&request("olga")).unwrap();
        for _ in 0..3 {
            validator.validate(&token).await.unwrap();
        }
        assert_eq!(validator.verifications(), 3);
    }

    #[tokio::test]
    async fn a_cached_token_is_refused_as_expired_once_its_exp_has_passed() {
        let issuer = LocalIssuer::generate().unwrap();
        let validator = cached(&issuer);
        let short = TokenRequest { ttl_seconds: 2, ..request("olga") };
        let token = issuer.issue(&short).unwrap();
        validator.validate(&token).await.unwrap();
        validator.validate(&token).await.unwrap();
        assert_eq!(validator.verifications(), 1, "served from the cache while valid");

        // The cache's 60 s would outlive the token: its `exp` ends the entry.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match validator.validate(&token).await {
                Ok(_) => {
                    assert!(std::time::Instant::now() < deadline, "still accepted after 10 s");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(err) => {
                    assert_eq!(err, AuthError::Expired);
                    break;
                }
            }
        }
        assert_eq!(validator.validate(&token).await.unwrap_err(), AuthError::Expired);
        assert_eq!(validator.cached_tokens(), 0, "an expired token is never cached again");
    }

    #[tokio::test]
    async fn a_cached_token_with_one_signature_byte_changed_is_verified_again_and_refused() {
        let issuer = LocalIssuer::generate().unwrap();
        let validator = cached(&issuer);
        let token = issuer.issue(&request("olga")).unwrap();
        validator.validate(&token).await.unwrap();
        let forged = with_another_signature(&token);
        for _ in 0..2 {
            let err = validator.validate(&forged).await.unwrap_err();
            assert_eq!(err.code(), "invalid_token", "{err}");
        }
        assert_eq!(validator.verifications(), 3, "the forged token is checked each time");
        validator.validate(&token).await.unwrap();
        assert_eq!(validator.verifications(), 3, "the genuine one is still cached");
        assert_eq!(validator.cached_tokens(), 1);
    }

    #[tokio::test]
    async fn alg_none_and_hs256_with_the_public_key_are_refused_and_never_cached() {
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;

        let issuer = LocalIssuer::generate().unwrap();
        let validator = cached(&issuer);
        let genuine = issuer.issue(&request("olga")).unwrap();
        validator.validate(&genuine).await.unwrap();
        let claims = serde_json::json!({
            "sub": "mallory", "iss": LocalIssuer::ISSUER, "exp": now() + 600,
        });
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(serde_json::json!({"alg": "none", "typ": "JWT"}).to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        // The genuine token's header and claims, unsigned.
        let (genuine_message, _) = genuine.rsplit_once('.').unwrap();
        let (_, genuine_claims) = genuine_message.split_once('.').unwrap();
        let genuine_unsigned = format!(
            "{}.{genuine_claims}.",
            URL_SAFE_NO_PAD.encode(serde_json::json!({"alg": "none"}).to_string())
        );
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = issuer.key_set().keys[0].common.key_id.clone();
        let public_key = serde_json::to_vec(&issuer.key_set().keys[0]).unwrap();
        let hs256 = jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&public_key),
        )
        .unwrap();
        for token in [&none, &genuine_unsigned, &hs256] {
            for _ in 0..2 {
                let err = validator.validate(token).await.unwrap_err();
                assert_eq!(err.code(), "invalid_token", "{err}");
            }
        }
        assert_eq!(validator.cached_tokens(), 1, "only the genuine token");
    }

    #[tokio::test]
    async fn a_token_for_another_issuer_or_audience_is_refused_and_never_cached() {
        let issuer = LocalIssuer::generate().unwrap();
        let keys: Arc<dyn KeySource> = Arc::new(StaticKeys::new(issuer.key_set()));
        let policy = TokenPolicy {
            issuers: vec![LocalIssuer::ISSUER.to_owned()],
            audience: Some("rtm".to_owned()),
            leeway_seconds: 0,
        };
        let validator = TokenValidator::new(keys, policy).with_token_cache(Duration::from_secs(60));
        let claims = |iss: &str, aud: &str| serde_json::json!({ "sub": "olga", "iss": iss, "aud": aud, "exp": now() + 600 });
        let elsewhere = signed(&issuer, &claims("https://idp.example.com/realms/other", "rtm"));
        let not_for_us = signed(&issuer, &claims(LocalIssuer::ISSUER, "another-service"));
        let for_nobody = signed(
            &issuer,
            &serde_json::json!({ "sub": "olga", "iss": LocalIssuer::ISSUER, "exp": now() + 600 }),
        );
        for _ in 0..2 {
            assert_eq!(
                validator.validate(&for_nobody).await.unwrap_err(),
                AuthError::WrongAudience,
                "a token without `aud` when an audience is configured"
            );
            assert_eq!(validator.validate(&elsewhere).await.unwrap_err(), AuthError::WrongIssuer);
            assert_eq!(
                validator.validate(&not_for_us).await.unwrap_err(),
                AuthError::WrongAudience
            );
        }
        assert_eq!(validator.verifications(), 6, "each presentation checked in full");
        assert_eq!(validator.cached_tokens(), 0);

        let for_us = signed(&issuer, &claims(LocalIssuer::ISSUER, "rtm"));
        validator.validate(&for_us).await.unwrap();
        validator.validate(&for_us).await.unwrap();
        assert_eq!(validator.verifications(), 7);
        assert_eq!(validator.cached_tokens(), 1);
    }

    #[tokio::test]
    async fn a_message_s_token_shares_the_cache_of_the_rest_api() {
        let issuer = LocalIssuer::generate().unwrap();
        let rest = cached(&issuer);
        let token = issuer.issue(&request("olga")).unwrap();
        rest.validate(&token).await.unwrap();
        let verifier: Arc<dyn TokenVerifier> = Arc::new(rest.clone());
        assert_eq!(verifier.verify(&token).await.unwrap().name(), "olga");
        assert_eq!(rest.verifications(), 1, "the clone answered from the shared cache");
        let err = verifier.verify(&with_another_signature(&token)).await.unwrap_err();
        assert_eq!(err.code(), "invalid_token");
    }

    fn request(subject: &str) -> TokenRequest {
        TokenRequest {
            subject: subject.to_owned(),
            groups: vec!["/ops".to_owned()],
            roles: Vec::new(),
            client_id: None,
            ttl_seconds: 600,
        }
    }

    #[tokio::test]
    async fn a_token_in_a_message_is_judged_by_the_bearer_check_with_its_codes() {
        let issuer = LocalIssuer::generate().unwrap();
        let verifier: Arc<dyn TokenVerifier> = Arc::new(cached(&issuer));

        let principal = verifier.verify(&issuer.issue(&request("olga")).unwrap()).await.unwrap();
        assert_eq!(principal.name(), "olga");
        assert!(principal.in_group("ops"));

        let long_ago = now() - 7200;
        let expired = issuer.issue_at(&request("olga"), long_ago).unwrap();
        let stranger = LocalIssuer::generate().unwrap().issue(&request("olga")).unwrap();
        for (token, code) in [
            (expired.as_str(), "token_expired"),
            (stranger.as_str(), "invalid_token"),
            ("x", "invalid_token"),
        ] {
            let err = verifier.verify(token).await.unwrap_err();
            assert_eq!(err.code(), code, "{err}");
            assert!(matches!(err, TokenError::Rejected { .. }));
            assert!(token.len() < 8 || !err.to_string().contains(token), "never echoes the token");
        }
    }

    fn client_of(claims: serde_json::Value) -> Option<String> {
        serde_json::from_value::<Claims>(claims).expect("claims").client()
    }

    #[test]
    fn the_client_is_azp_else_the_client_id_mappers_claim() {
        assert_eq!(
            client_of(serde_json::json!({"sub": "s", "azp": "engine", "client_id": "other"})),
            Some("engine".to_owned())
        );
        assert_eq!(
            client_of(serde_json::json!({"sub": "s", "client_id": "engine"})),
            Some("engine".to_owned()),
            "Keycloak 20 and later"
        );
        assert_eq!(
            client_of(serde_json::json!({"sub": "s", "clientId": "engine"})),
            Some("engine".to_owned()),
            "Keycloak before 20"
        );
        assert_eq!(client_of(serde_json::json!({"sub": "s"})), None);
    }
}
