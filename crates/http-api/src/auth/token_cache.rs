//! The cache of verified tokens: a client presents the same token for many requests, so a
//! token seen again costs a SHA-256 and a lookup instead of a signature verification.
//!
//! - Keyed by the SHA-256 of the whole token string, never the token itself: an entry is 32
//!   bytes of key however long the token, no credential is kept in memory, and a token that
//!   differs in any byte (another signature) is another key, verified again in full.
//! - Only what passed every check is stored: a refused token is never cached, so every
//!   refusal is decided by the full check each time.
//! - An entry lives until the token's `exp` or `RTM_TOKEN_CACHE_SECONDS` after it was
//!   verified, whichever comes first (moka's per-entry expiry), and is checked against the
//!   wall clock again on each hit.
//! - An entry remembers the key it was verified with (its `Arc`, see [`crate::auth::keys`]):
//!   on a hit that key must still be the one the key source holds for the token's `kid`, so
//!   a key the realm rotated away, or replaced under the same `kid`, drops the entry at once
//!   after the refetch that noticed it.
//! - Bounded: at most [`MAX_ENTRIES`] tokens (moka evicts the least useful ones).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use domain::model::Principal;
use domain::telemetry::names;
use moka::Expiry;
use moka::sync::Cache;
use sha2::{Digest as _, Sha256};

use crate::auth::keys::{KeySource, VerifyingKey};

/// Most tokens held at once: each entry is a principal (its groups and roles, usually well
/// under a kilobyte), so the cache stays within a few megabytes.
pub(crate) const MAX_ENTRIES: u64 = 10_000;

/// The value of the `cache` label of `rtm_cache_gets_total` for this cache.
const CACHE_LABEL: &str = "token";

/// The SHA-256 of a token.
pub(crate) type TokenDigest = [u8; 32];

/// The digest `token` is cached under.
pub(crate) fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

/// What a verification found, kept for the token's next presentation.
#[derive(Debug)]
struct Verified {
    principal: Arc<Principal>,
    /// The `kid` the token named (`None`: it named none and used the only key).
    kid: Option<String>,
    /// The key it was verified with.
    key: Arc<VerifyingKey>,
    /// The token's `exp`.
    expires: SystemTime,
    /// How long the cache keeps it from its insertion.
    lifetime: Duration,
}

impl Verified {
    /// Still before `exp`, and verified with the key `keys` holds now for its `kid`.
    fn is_current(&self, keys: &dyn KeySource) -> bool {
        SystemTime::now() < self.expires
            && keys.held(self.kid.as_deref()).is_some_and(|held| Arc::ptr_eq(&held, &self.key))
    }
}

/// Each entry expires after its own lifetime.
struct UntilExpiry;

impl Expiry<TokenDigest, Arc<Verified>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _digest: &TokenDigest,
        verified: &Arc<Verified>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(verified.lifetime)
    }

    fn expire_after_update(
        &self,
        _digest: &TokenDigest,
        verified: &Arc<Verified>,
        _updated_at: std::time::Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(verified.lifetime)
    }
}

/// Verified tokens by digest; clones share the entries.
#[derive(Debug, Clone)]
pub(crate) struct TokenCache {
    entries: Cache<TokenDigest, Arc<Verified>>,
    /// The longest an entry is kept (`RTM_TOKEN_CACHE_SECONDS`).
    ttl: Duration,
}

impl TokenCache {
    /// A cache keeping tokens at most `ttl`; `None` when `ttl` is zero (no cache).
    pub(crate) fn new(ttl: Duration) -> Option<Self> {
        if ttl.is_zero() {
            return None;
        }
        let entries = Cache::builder().max_capacity(MAX_ENTRIES).expire_after(UntilExpiry).build();
        Some(Self { entries, ttl })
    }

    /// The principal of the token with `digest`, when it was verified before and is still
    /// current (see [`Verified::is_current`]); a stale entry is dropped. Counted in
    /// `rtm_cache_gets_total{cache="token"}`.
    pub(crate) fn get(&self, digest: &TokenDigest, keys: &dyn KeySource) -> Option<Arc<Principal>> {
        let found = self.entries.get(digest);
        let current = match found {
            Some(verified) if verified.is_current(keys) => Some(verified.principal.clone()),
            Some(_) => {
                self.entries.invalidate(digest);
                None
            }
            None => None,
        };
        let result = if current.is_some() { "hit" } else { "miss" };
        metrics::counter!(names::CACHE_GETS_TOTAL, names::CACHE => CACHE_LABEL, names::RESULT => result)
            .increment(1);
        current
    }

    /// Keeps what verifying the token with `digest` found: its principal, and the `kid` it
    /// named and `key` it was verified with; until `exp` (seconds since the epoch) or the
    /// cache's time to live. Nothing is kept for a token without `exp` or at its end.
    pub(crate) fn insert(
        &self,
        digest: TokenDigest,
        principal: Arc<Principal>,
        kid: Option<String>,
        key: Arc<VerifyingKey>,
        exp: Option<f64>,
    ) {
        let Some(expires) = exp
            .filter(|exp| exp.is_finite() && *exp > 0.0)
            .and_then(|exp| Duration::try_from_secs_f64(exp).ok())
            .and_then(|exp| UNIX_EPOCH.checked_add(exp))
        else {
            return;
        };
        let Ok(left) = expires.duration_since(SystemTime::now()) else { return };
        if left.is_zero() {
            return;
        }
        let lifetime = left.min(self.ttl);
        self.entries.insert(digest, Arc::new(Verified { principal, kid, key, expires, lifetime }));
    }

    /// How many tokens it holds (after pending evictions ran); for tests.
    #[cfg(test)]
    pub(crate) fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }
}
