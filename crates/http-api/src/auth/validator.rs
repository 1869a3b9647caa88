//! Validation of a bearer JWT: header, key by id, signature with the key's own algorithm
//! family, expiry, issuer and audience; then the claims become a [`Principal`].

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use domain::model::Principal;
use domain::ports::{TokenError, TokenVerifier};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::auth::AuthError;

/// Where the trusted public keys come from: a fixed set (embedded mode, tests) or, in
/// production, a realm's JWKS endpoint with a cache.
#[async_trait]
pub trait KeySource: fmt::Debug + Send + Sync + 'static {
    /// The key with id `kid` (or the only key, for a token without `kid`); `Ok(None)`
    /// when it is unknown.
    ///
    /// # Errors
    ///
    /// [`AuthError::KeysUnavailable`] when the keys cannot be obtained at all.
    async fn key(&self, kid: Option<&str>) -> Result<Option<Jwk>, AuthError>;
}

/// A fixed set of keys.
#[derive(Debug, Clone)]
pub struct StaticKeys(JwkSet);

impl StaticKeys {
    /// Trusts exactly the keys of `set`.
    pub fn new(set: JwkSet) -> Self {
        Self(set)
    }
}

#[async_trait]
impl KeySource for StaticKeys {
    async fn key(&self, kid: Option<&str>) -> Result<Option<Jwk>, AuthError> {
        Ok(match kid {
            Some(kid) => self.0.find(kid).cloned(),
            None if self.0.keys.len() == 1 => self.0.keys.first().cloned(),
            None => None,
        })
    }
}

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

/// Validates bearer tokens and turns them into principals.
#[derive(Debug, Clone)]
pub struct TokenValidator {
    keys: Arc<dyn KeySource>,
    policy: TokenPolicy,
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
    /// A validator trusting `keys` under `policy`.
    pub fn new(keys: Arc<dyn KeySource>, policy: TokenPolicy) -> Self {
        Self { keys, policy }
    }

    /// Checks `token` and returns who it is for.
    ///
    /// # Errors
    ///
    /// An [`AuthError`] saying why the token is refused: malformed, unknown key, algorithm
    /// not that of the key (so `alg: none` and HS256-with-the-public-key both fail), bad
    /// signature, expired, wrong issuer or audience.
    pub async fn validate(&self, token: &str) -> Result<Principal, AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|err| AuthError::InvalidToken(err.to_string()))?;
        let jwk = self
            .keys
            .key(header.kid.as_deref())
            .await?
            .ok_or_else(|| AuthError::InvalidToken("signed with an unknown key".into()))?;
        if !algorithm_fits_key(header.alg, &jwk) {
            return Err(AuthError::InvalidToken(format!(
                "algorithm {:?} does not fit the signing key",
                header.alg
            )));
        }
        let key =
            DecodingKey::from_jwk(&jwk).map_err(|err| AuthError::InvalidToken(err.to_string()))?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.policy.leeway_seconds;
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.set_issuer(&self.policy.issuers);
        match &self.policy.audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|err| {
            use jsonwebtoken::errors::ErrorKind;
            match err.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
                ErrorKind::InvalidAudience => AuthError::WrongAudience,
                other => AuthError::InvalidToken(format!("{other:?}")),
            }
        })?;
        let claims = data.claims;
        let client_id = claims.client();
        let roles: BTreeSet<String> = claims
            .realm_access
            .unwrap_or_default()
            .roles
            .into_iter()
            .chain(claims.resource_access.into_values().flat_map(|client| client.roles))
            .collect();
        Ok(Principal {
            subject: claims.sub,
            username: claims.preferred_username,
            groups: claims.groups.into_iter().collect(),
            roles,
            client_id,
        })
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

/// Only asymmetric algorithms of the key's own family: a symmetric `alg` (HS256 with the
/// public key as secret) or `none` never passes.
fn algorithm_fits_key(alg: Algorithm, jwk: &Jwk) -> bool {
    let family_fits = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(_) => matches!(alg, Algorithm::ES256 | Algorithm::ES384),
        AlgorithmParameters::RSA(_) => matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        AlgorithmParameters::OctetKeyPair(_) => matches!(alg, Algorithm::EdDSA),
        AlgorithmParameters::OctetKey(_) => false,
    };
    let declared_fits = jwk
        .common
        .key_algorithm
        .is_none_or(|declared| format!("{declared:?}") == format!("{alg:?}"));
    family_fits && declared_fits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{LocalIssuer, TokenRequest};

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
        let verifier: Arc<dyn TokenVerifier> = Arc::new(validator(&issuer));

        let principal = verifier.verify(&issuer.issue(&request("olga")).unwrap()).await.unwrap();
        assert_eq!(principal.name(), "olga");
        assert!(principal.in_group("ops"));

        let long_ago =
            u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap() - 7200;
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
