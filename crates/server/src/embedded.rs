//! Embedded mode: every port in memory, and a local key that signs and validates tokens.
//! For trying rtm out and for API tests; the data is gone when the process stops.

use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use adapter_memory::Fakes;
use adapter_near_cache::{NearCache, NearCacheConfig};
use anyhow::Context as _;
use domain::access::{Authority, Permission, Scope};
use domain::ports::Ports;
use http_api::auth::{LocalIssuer, StaticKeys, TokenPolicy, TokenValidator};

const KEY_FILE: &str = "embedded-signing-key.pem";

/// The in-memory stores, with the near cache in front of them (as in real mode without
/// Redis) instead of the test fake's unbounded maps.
pub(crate) fn ports(near_cache: NearCacheConfig) -> (Ports, Arc<NearCache>) {
    let near = Arc::new(NearCache::new(near_cache, None));
    let mut ports = Fakes::new().ports();
    ports.cache = near.clone();
    (ports, near)
}

/// The signing key kept in `data_dir`, created (readable by the owner only) on first use,
/// so that `rtm dev-token` and `rtm serve` agree on it.
pub(crate) fn load_or_create_issuer(data_dir: &Path) -> anyhow::Result<LocalIssuer> {
    let path = data_dir.join(KEY_FILE);
    if path.exists() {
        let pem = fs::read_to_string(&path)
            .with_context(|| format!("could not read {}", path.display()))?;
        return LocalIssuer::from_pem(&pem).with_context(|| {
            format!("{} is not a usable signing key; delete it to get a new one", path.display())
        });
    }
    fs::create_dir_all(data_dir)
        .with_context(|| format!("could not create RTM_DATA_DIR {}", data_dir.display()))?;
    let issuer = LocalIssuer::generate().context("could not generate a signing key")?;
    let pem = issuer.to_pem().context("could not encode the signing key")?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut file) => {
            file.write_all(pem.as_bytes())
                .with_context(|| format!("could not write {}", path.display()))?;
            Ok(issuer)
        }
        // Another process (a dev-token beside a starting server) created it first: use theirs.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            load_or_create_issuer(data_dir)
        }
        Err(err) => Err(err).with_context(|| format!("could not create {}", path.display())),
    }
}

/// The validator that trusts exactly the embedded issuer.
pub(crate) fn token_validator(issuer: &LocalIssuer) -> TokenValidator {
    TokenValidator::new(
        Arc::new(StaticKeys::new(issuer.key_set())),
        TokenPolicy {
            issuers: vec![LocalIssuer::ISSUER.to_owned()],
            audience: None,
            leeway_seconds: 30,
        },
    )
}

/// An operator's roles: the highest scope of every authority.
pub(crate) fn operator_roles() -> Vec<String> {
    Authority::ALL
        .iter()
        .map(|authority| {
            let top =
                if authority.scopes().contains(&Scope::Admin) { Scope::Admin } else { Scope::Edit };
            Permission::new(*authority, top).default_role()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_created_once_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create_issuer(dir.path()).unwrap();
        let second = load_or_create_issuer(dir.path()).unwrap();
        assert_eq!(first.key_set().keys[0].common.key_id, second.key_set().keys[0].common.key_id);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(dir.path().join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the signing key must be readable by its owner only");
        }
    }

    #[test]
    fn a_damaged_key_file_is_reported_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(KEY_FILE), "not a key").unwrap();
        let err = load_or_create_issuer(dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("delete it"), "{err:#}");
        assert_eq!(fs::read_to_string(dir.path().join(KEY_FILE)).unwrap(), "not a key");
    }

    #[test]
    fn operator_roles_grant_every_authority() {
        let roles = operator_roles();
        assert!(roles.contains(&"ROLE_BUILDS_MANAGE_ADMIN".to_owned()));
        assert!(roles.contains(&"ROLE_ACTIVE_POLICY_MANAGE_EDIT".to_owned()));
        assert_eq!(roles.len(), Authority::ALL.len());
    }
}
