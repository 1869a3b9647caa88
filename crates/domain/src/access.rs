//! Who may do what: authorities and scopes of the original platform, the realm roles that
//! grant them, and the rule that higher scopes include lower ones.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::model::Principal;

/// An area of the API that permissions are granted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Authority {
    /// Applications (design time).
    Apps,
    /// Builds.
    Builds,
    /// Active policies and overrides.
    ActivePolicy,
    /// Config parameter defaults.
    AppConfig,
    /// Config parameter overrides.
    AppConfigOverrides,
    /// Library dependencies.
    AppDependencies,
}

impl Authority {
    /// Every authority.
    pub const ALL: [Self; 6] = [
        Self::Apps,
        Self::Builds,
        Self::ActivePolicy,
        Self::AppConfig,
        Self::AppConfigOverrides,
        Self::AppDependencies,
    ];

    /// The role stem, as in `ROLE_<STEM>_MANAGE_<SCOPE>`.
    pub fn role_stem(self) -> &'static str {
        match self {
            Self::Apps => "APPS",
            Self::Builds => "BUILDS",
            Self::ActivePolicy => "ACTIVE_POLICY",
            Self::AppConfig => "APP_CONFIG",
            Self::AppConfigOverrides => "APP_CONFIG_OVERRIDES",
            Self::AppDependencies => "APP_DEPENDENCIES",
        }
    }

    /// The name in `SECURITY_ACCESSAUTHORIZATIONS_<NAME>_SCOPES_<SCOPE>_ROLESALLOWED`.
    pub fn setting_name(self) -> &'static str {
        match self {
            Self::Apps => "MANAGEAPPS",
            Self::Builds => "MANAGEBUILDS",
            Self::ActivePolicy => "MANAGEACTIVEPOLICY",
            Self::AppConfig => "MANAGEAPPCONFIG",
            Self::AppConfigOverrides => "MANAGEAPPCONFIGOVERRIDES",
            Self::AppDependencies => "MANAGEAPPDEPENDENCIES",
        }
    }

    /// The scopes this authority has.
    pub fn scopes(self) -> &'static [Scope] {
        match self {
            Self::ActivePolicy => &[Scope::Read, Scope::Edit],
            Self::AppDependencies => &[Scope::Read, Scope::Edit, Scope::Admin],
            _ => &[Scope::Read, Scope::Import, Scope::Edit, Scope::Admin],
        }
    }
}

/// How much of an authority a permission grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// See.
    Read,
    /// Bring in from archives (includes read).
    Import,
    /// Change (includes read).
    Edit,
    /// Everything, deletion included.
    Admin,
}

impl Scope {
    /// Upper-case name, as in role names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "READ",
            Self::Import => "IMPORT",
            Self::Edit => "EDIT",
            Self::Admin => "ADMIN",
        }
    }

    /// The scopes whose holders may also act with `self`: itself and every higher scope.
    /// Admin includes all; edit and import include read.
    fn granted_by(self) -> &'static [Self] {
        match self {
            Self::Read => &[Self::Read, Self::Import, Self::Edit, Self::Admin],
            Self::Import => &[Self::Import, Self::Admin],
            Self::Edit => &[Self::Edit, Self::Admin],
            Self::Admin => &[Self::Admin],
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A permission: an authority at a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission {
    /// The area.
    pub authority: Authority,
    /// The level.
    pub scope: Scope,
}

impl Permission {
    /// Shorthand constructor.
    pub const fn new(authority: Authority, scope: Scope) -> Self {
        Self { authority, scope }
    }

    /// The role that grants exactly this permission by default.
    pub fn default_role(self) -> String {
        format!("ROLE_{}_MANAGE_{}", self.authority.role_stem(), self.scope)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            self.authority.role_stem().to_lowercase().replace('_', "-"),
            self.scope.as_str().to_lowercase()
        )
    }
}

/// Which roles grant which permission. By default `ROLE_<STEM>_MANAGE_<SCOPE>` grants its
/// own permission; operators may replace the roles of any one permission. Also who counts
/// as a service account, for the few answers only other platform services may have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRules {
    roles: BTreeMap<Permission, BTreeSet<String>>,
    service_account_clients: BTreeSet<String>,
}

impl Default for AccessRules {
    fn default() -> Self {
        let roles = Authority::ALL
            .iter()
            .flat_map(|authority| {
                authority.scopes().iter().map(move |scope| Permission::new(*authority, *scope))
            })
            .map(|permission| (permission, BTreeSet::from([permission.default_role()])))
            .collect();
        Self { roles, service_account_clients: BTreeSet::new() }
    }
}

impl AccessRules {
    /// Replaces the roles that grant `permission` (the `…_ROLESALLOWED` setting).
    pub fn set_roles(&mut self, permission: Permission, roles: BTreeSet<String>) {
        self.roles.insert(permission, roles);
    }

    /// The roles that grant exactly `permission`.
    pub fn roles_for(&self, permission: Permission) -> impl Iterator<Item = &str> {
        self.roles.get(&permission).into_iter().flatten().map(String::as_str)
    }

    /// The OAuth clients whose tokens are service accounts (`RTM_SERVICE_ACCOUNT_CLIENTS`).
    pub fn set_service_account_clients(&mut self, clients: BTreeSet<String>) {
        self.service_account_clients = clients;
    }

    /// Whether `principal` is a service account: its token was issued to a listed client,
    /// or it holds the app-config admin permission (`ROLE_APP_CONFIG_MANAGE_ADMIN` by
    /// default), which may read every parameter anyway.
    pub fn is_service_account(&self, principal: &Principal) -> bool {
        principal
            .client_id
            .as_ref()
            .is_some_and(|client| self.service_account_clients.contains(client))
            || self.allows(principal, Permission::new(Authority::AppConfig, Scope::Admin))
    }

    /// Whether `principal` holds `permission`, directly or through a higher scope.
    pub fn allows(&self, principal: &Principal, permission: Permission) -> bool {
        permission.scope.granted_by().iter().any(|scope| {
            self.roles_for(Permission::new(permission.authority, *scope))
                .any(|role| principal.roles.contains(role))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_roles(roles: &[&str]) -> Principal {
        Principal {
            subject: "s".into(),
            username: None,
            groups: BTreeSet::new(),
            roles: roles.iter().map(|role| (*role).to_owned()).collect(),
            client_id: None,
        }
    }

    fn of_client(client: &str) -> Principal {
        Principal { client_id: Some(client.to_owned()), ..with_roles(&[]) }
    }

    #[test]
    fn a_service_account_is_a_listed_client_or_an_app_config_admin() {
        let mut rules = AccessRules::default();
        rules.set_service_account_clients(BTreeSet::from(["flowx-process-engine".to_owned()]));
        assert!(rules.is_service_account(&of_client("flowx-process-engine")));
        assert!(!rules.is_service_account(&of_client("flowx-designer")), "a client not listed");
        assert!(!rules.is_service_account(&with_roles(&[])), "a token without a client");
        assert!(rules.is_service_account(&with_roles(&["ROLE_APP_CONFIG_MANAGE_ADMIN"])));
        assert!(
            !rules.is_service_account(&with_roles(&["ROLE_APP_CONFIG_MANAGE_EDIT"])),
            "edit is not admin"
        );
        assert!(
            !AccessRules::default().is_service_account(&of_client("flowx-process-engine")),
            "no client is listed by default"
        );
    }

    #[test]
    fn higher_scopes_include_lower_ones() {
        let rules = AccessRules::default();
        let admin = with_roles(&["ROLE_BUILDS_MANAGE_ADMIN"]);
        for scope in [Scope::Read, Scope::Import, Scope::Edit, Scope::Admin] {
            assert!(
                rules.allows(&admin, Permission::new(Authority::Builds, scope)),
                "admin ⊇ {scope}"
            );
        }
        let edit = with_roles(&["ROLE_BUILDS_MANAGE_EDIT"]);
        assert!(rules.allows(&edit, Permission::new(Authority::Builds, Scope::Read)));
        assert!(!rules.allows(&edit, Permission::new(Authority::Builds, Scope::Import)));
        assert!(!rules.allows(&edit, Permission::new(Authority::Builds, Scope::Admin)));
        let import = with_roles(&["ROLE_BUILDS_MANAGE_IMPORT"]);
        assert!(rules.allows(&import, Permission::new(Authority::Builds, Scope::Read)));
        assert!(!rules.allows(&import, Permission::new(Authority::Builds, Scope::Edit)));
    }

    #[test]
    fn a_role_grants_nothing_on_another_authority() {
        let rules = AccessRules::default();
        let admin = with_roles(&["ROLE_BUILDS_MANAGE_ADMIN"]);
        assert!(!rules.allows(&admin, Permission::new(Authority::ActivePolicy, Scope::Read)));
    }

    #[test]
    fn configured_roles_replace_the_default_ones() {
        let mut rules = AccessRules::default();
        let read = Permission::new(Authority::ActivePolicy, Scope::Read);
        rules.set_roles(read, BTreeSet::from(["ROLE_AUDITOR".to_owned()]));
        assert!(rules.allows(&with_roles(&["ROLE_AUDITOR"]), read));
        assert!(!rules.allows(&with_roles(&["ROLE_ACTIVE_POLICY_MANAGE_READ"]), read));
        assert!(
            rules.allows(&with_roles(&["ROLE_ACTIVE_POLICY_MANAGE_EDIT"]), read),
            "edit still includes read"
        );
    }
}
