//! The caller of an API, as established from a verified token.

use std::collections::BTreeSet;

/// Who is calling: names, groups and roles from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's `sub`.
    pub subject: String,
    /// The token's `preferred_username`, when it has one.
    pub username: Option<String>,
    /// Group names and paths (the `groups` claim).
    pub groups: BTreeSet<String>,
    /// Realm and client roles.
    pub roles: BTreeSet<String>,
    /// The OAuth client the token was issued to (`azp`, else `client_id` / `clientId`): for
    /// a service account, the client that authenticated itself.
    pub client_id: Option<String>,
}

impl Principal {
    /// Someone a service asks about by name rather than by token (the runtime-internal API's
    /// active build): `user` matches a USER override by either name, as a token's
    /// `preferred_username` and `sub` do; `groups` match as a token's `groups` do. No roles,
    /// no client: such a principal is only ever resolved for, never authorised.
    pub fn named(user: &str, groups: impl IntoIterator<Item = String>) -> Self {
        Self {
            subject: user.to_owned(),
            username: Some(user.to_owned()),
            groups: groups.into_iter().collect(),
            roles: BTreeSet::new(),
            client_id: None,
        }
    }

    /// The name the platform shows and records: the username, else the subject.
    pub fn name(&self) -> &str {
        self.username.as_deref().unwrap_or(&self.subject)
    }

    /// Whether a USER override for `subject_id` applies: it may name either the username
    /// or the subject.
    pub fn is_user(&self, subject_id: &str) -> bool {
        self.subject == subject_id || self.username.as_deref() == Some(subject_id)
    }

    /// Whether the caller is in `group`. Keycloak writes groups as paths (`/ops/team`) or
    /// bare names depending on the mapper, so both spellings match.
    pub fn in_group(&self, group: &str) -> bool {
        let bare = Self::group_name(group);
        self.groups.iter().any(|mine| Self::group_name(mine) == bare)
    }

    /// A group as [`Principal::in_group`] compares it: without its leading slashes, so that
    /// `/ops`, `ops` and `//ops` are one group (and `/ops/team` is `ops/team`). Case matters.
    pub fn group_name(group: &str) -> &str {
        group.trim_start_matches('/')
    }
}
