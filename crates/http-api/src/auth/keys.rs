//! The trusted public keys, parsed once: a [`VerifyingKey`] is built when a key set is
//! fetched (or, for a fixed set, when the validator is made), never per request, and a
//! [`KeySet`] is the immutable set a [`KeySource`] swaps in whole.
//!
//! A key's identity is its `Arc`: a refetch that finds a key unchanged (same JWK) keeps the
//! same `Arc`, and a key replaced under the same `kid` gets a new one. The token cache relies
//! on this to drop a token verified with a key the source no longer holds.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};

use crate::auth::AuthError;

/// One trusted public key, with the `jsonwebtoken` key built from it.
pub struct VerifyingKey {
    jwk: Jwk,
    decoding: DecodingKey,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey").field("kid", &self.kid()).finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// Parses `jwk` (decodes its parameters) once.
    ///
    /// # Errors
    ///
    /// `jsonwebtoken`'s error when the parameters cannot be decoded.
    pub fn parse(jwk: Jwk) -> Result<Self, jsonwebtoken::errors::Error> {
        let decoding = DecodingKey::from_jwk(&jwk)?;
        Ok(Self { jwk, decoding })
    }

    /// The key's id (`kid`), when it has one.
    pub fn kid(&self) -> Option<&str> {
        self.jwk.common.key_id.as_deref()
    }

    /// The key to check a signature with.
    pub(crate) fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    /// Only asymmetric algorithms of the key's own family: a symmetric `alg` (HS256 with the
    /// public key as secret) or `none` never passes.
    pub(crate) fn fits(&self, alg: Algorithm) -> bool {
        let family_fits = match &self.jwk.algorithm {
            AlgorithmParameters::EllipticCurve(_) => {
                matches!(alg, Algorithm::ES256 | Algorithm::ES384)
            }
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
        let declared_fits = self
            .jwk
            .common
            .key_algorithm
            .is_none_or(|declared| format!("{declared:?}") == format!("{alg:?}"));
        family_fits && declared_fits
    }
}

/// An immutable set of parsed keys.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    keys: Vec<Arc<VerifyingKey>>,
    /// The set as published had exactly one key: a token without `kid` may use it.
    single: bool,
}

impl KeySet {
    /// Parses the keys of `set`, keeping from `previous` every key whose JWK is unchanged
    /// (so its identity, and the tokens verified with it, survive the refetch). A key that
    /// cannot be parsed is left out (logged): it could verify nothing, and the others still
    /// work.
    pub(crate) fn parse(set: &JwkSet, previous: Option<&KeySet>) -> Self {
        let keys = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let unchanged = previous
                    .and_then(|previous| previous.keys.iter().find(|known| known.jwk == *jwk));
                if let Some(known) = unchanged {
                    return Some(known.clone());
                }
                match VerifyingKey::parse(jwk.clone()) {
                    Ok(key) => Some(Arc::new(key)),
                    Err(err) => {
                        tracing::debug!(kid = ?jwk.common.key_id, error = %err, "signing key left out: its parameters cannot be decoded");
                        None
                    }
                }
            })
            .collect();
        Self { keys, single: set.keys.len() == 1 }
    }

    /// The key with id `kid` (the first one, as `JwkSet::find`), or the only key for a token
    /// without `kid`. A linear search: a realm publishes a handful of keys.
    pub(crate) fn find(&self, kid: Option<&str>) -> Option<&Arc<VerifyingKey>> {
        match kid {
            Some(kid) => self.keys.iter().find(|key| key.kid() == Some(kid)),
            None if self.single => self.keys.first(),
            None => None,
        }
    }

    /// How many keys it holds.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The keys' ids, for logs (`""` for a key without one).
    pub(crate) fn ids(&self) -> Vec<String> {
        self.keys.iter().map(|key| key.kid().unwrap_or_default().to_owned()).collect()
    }
}

/// Where the trusted public keys come from: a fixed set (embedded mode, tests) or, in
/// production, a realm's JWKS endpoint with a cache.
#[async_trait]
pub trait KeySource: fmt::Debug + Send + Sync + 'static {
    /// The key held now for `kid` (or the only key, for a token without `kid`), without
    /// fetching anything: what a request naming a known key uses, and what the token cache
    /// checks a cached token's key against.
    fn held(&self, kid: Option<&str>) -> Option<Arc<VerifyingKey>>;

    /// [`held`](Self::held), else what a fetch may bring (a source that fetches decides
    /// when it may); `Ok(None)` when the key is unknown.
    ///
    /// # Errors
    ///
    /// [`AuthError::KeysUnavailable`] when the keys cannot be obtained at all.
    async fn key(&self, kid: Option<&str>) -> Result<Option<Arc<VerifyingKey>>, AuthError> {
        Ok(self.held(kid))
    }
}

/// A fixed set of keys, parsed once.
#[derive(Debug, Clone)]
pub struct StaticKeys(Arc<KeySet>);

impl StaticKeys {
    /// Trusts exactly the keys of `set`.
    pub fn new(set: JwkSet) -> Self {
        Self(Arc::new(KeySet::parse(&set, None)))
    }
}

#[async_trait]
impl KeySource for StaticKeys {
    fn held(&self, kid: Option<&str>) -> Option<Arc<VerifyingKey>> {
        self.0.find(kid).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::LocalIssuer;

    fn set_of(issuers: &[&LocalIssuer]) -> JwkSet {
        JwkSet { keys: issuers.iter().flat_map(|issuer| issuer.key_set().keys).collect() }
    }

    #[test]
    fn a_refetch_keeps_an_unchanged_key_and_replaces_one_changed_under_the_same_kid() {
        let (kept, replaced) = (LocalIssuer::generate().unwrap(), LocalIssuer::generate().unwrap());
        let first = KeySet::parse(&set_of(&[&kept, &replaced]), None);
        let kept_kid = first.ids()[0].clone();
        let replaced_kid = first.ids()[1].clone();

        // The realm republishes `kept` as it was, and another key under `replaced`'s kid.
        let mut republished = set_of(&[&kept, &LocalIssuer::generate().unwrap()]);
        republished.keys[1].common.key_id = Some(replaced_kid.clone());
        let second = KeySet::parse(&republished, Some(&first));

        let held = |set: &KeySet, kid: &str| set.find(Some(kid)).unwrap().clone();
        assert!(Arc::ptr_eq(&held(&first, &kept_kid), &held(&second, &kept_kid)), "same key");
        assert!(
            !Arc::ptr_eq(&held(&first, &replaced_kid), &held(&second, &replaced_kid)),
            "a new key under an old kid is another key"
        );
    }

    #[test]
    fn a_token_without_kid_uses_the_key_only_when_the_set_has_one() {
        let (one, two) = (LocalIssuer::generate().unwrap(), LocalIssuer::generate().unwrap());
        assert!(KeySet::parse(&set_of(&[&one]), None).find(None).is_some());
        assert!(KeySet::parse(&set_of(&[&one, &two]), None).find(None).is_none());
        assert!(KeySet::parse(&set_of(&[&one]), None).find(Some("other")).is_none());
    }
}
