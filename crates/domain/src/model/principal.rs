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
}

impl Principal {
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
        let bare = group.trim_start_matches('/');
        self.groups.iter().any(|mine| mine == group || mine.trim_start_matches('/') == bare)
    }
}
