//! The embedded issuer: a P-256 key that signs tokens for a server running without an
//! identity provider, and the JWKS that such a server trusts. A server configured with a
//! real realm never trusts it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::SecretKey;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Who a token is for and what it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// `sub` (and `preferred_username`).
    pub subject: String,
    /// Groups (`groups`).
    pub groups: Vec<String>,
    /// Realm roles (`realm_access.roles`).
    pub roles: Vec<String>,
    /// Lifetime in seconds.
    pub ttl_seconds: u64,
    /// The client it is issued to (`azp`), as for a service account's token; `None` for a
    /// user's token of the embedded issuer.
    pub client_id: Option<String>,
}

/// A local signing key.
pub struct LocalIssuer {
    secret: SecretKey,
    encoding: EncodingKey,
    jwk: Jwk,
    kid: String,
}

impl std::fmt::Debug for LocalIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalIssuer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    preferred_username: &'a str,
    groups: &'a [String],
    realm_access: RealmAccess<'a>,
    iat: u64,
    exp: u64,
    typ: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    azp: Option<&'a str>,
}

#[derive(Serialize)]
struct RealmAccess<'a> {
    roles: &'a [String],
}

/// Why an issuer could not be built or could not sign.
#[derive(Debug, thiserror::Error)]
#[error("embedded signing key: {0}")]
pub struct IssuerError(String);

impl LocalIssuer {
    /// The `iss` of every token it signs.
    pub const ISSUER: &'static str = "rtm-embedded";

    /// A new random key.
    ///
    /// # Errors
    ///
    /// An [`IssuerError`] if the key cannot be encoded (never expected).
    pub fn generate() -> Result<Self, IssuerError> {
        Self::from_secret(SecretKey::random(&mut rand::rngs::OsRng))
    }

    /// The key stored by [`to_pem`](Self::to_pem).
    ///
    /// # Errors
    ///
    /// An [`IssuerError`] when `pem` is not a PKCS#8 P-256 private key.
    pub fn from_pem(pem: &str) -> Result<Self, IssuerError> {
        Self::from_secret(
            SecretKey::from_pkcs8_pem(pem).map_err(|err| IssuerError(err.to_string()))?,
        )
    }

    fn from_secret(secret: SecretKey) -> Result<Self, IssuerError> {
        let pem =
            secret.to_pkcs8_pem(LineEnding::LF).map_err(|err| IssuerError(err.to_string()))?;
        let encoding =
            EncodingKey::from_ec_pem(pem.as_bytes()).map_err(|err| IssuerError(err.to_string()))?;
        let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
            &secret.public_key(),
            false,
        );
        let (x, y) = match (point.x(), point.y()) {
            (Some(x), Some(y)) => (x.to_vec(), y.to_vec()),
            _ => return Err(IssuerError("public key has no affine coordinates".into())),
        };
        let kid = hex::encode(&Sha256::digest([x.as_slice(), y.as_slice()].concat())[..8]);
        let jwk: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&x), "y": URL_SAFE_NO_PAD.encode(&y),
        }))
        .map_err(|err| IssuerError(err.to_string()))?;
        Ok(Self { secret, encoding, jwk, kid })
    }

    /// The private key as PKCS#8 PEM, for storing in the data directory. A secret.
    ///
    /// # Errors
    ///
    /// An [`IssuerError`] if the key cannot be encoded (never expected).
    pub fn to_pem(&self) -> Result<String, IssuerError> {
        Ok(self
            .secret
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|err| IssuerError(err.to_string()))?
            .to_string())
    }

    /// The public key set that validates its tokens.
    pub fn key_set(&self) -> JwkSet {
        JwkSet { keys: vec![self.jwk.clone()] }
    }

    /// Signs a token for `request`, valid from now for `ttl_seconds`.
    ///
    /// # Errors
    ///
    /// An [`IssuerError`] if signing fails (never expected).
    pub fn issue(&self, request: &TokenRequest) -> Result<String, IssuerError> {
        let now = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
        self.issue_at(request, now)
    }

    /// Signs a token as if the time were `issued_at` (seconds since the epoch); for tests of expiry.
    ///
    /// # Errors
    ///
    /// An [`IssuerError`] if signing fails (never expected).
    pub fn issue_at(&self, request: &TokenRequest, issued_at: u64) -> Result<String, IssuerError> {
        let claims = Claims {
            iss: Self::ISSUER,
            sub: &request.subject,
            preferred_username: &request.subject,
            groups: &request.groups,
            realm_access: RealmAccess { roles: &request.roles },
            iat: issued_at,
            exp: issued_at + request.ttl_seconds,
            typ: "Bearer",
            azp: request.client_id.as_deref(),
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|err| IssuerError(err.to_string()))
    }
}
