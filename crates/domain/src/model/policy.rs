//! Active policies: which build of an application is live, globally and per user or group.

use std::collections::BTreeMap;

use crate::model::{
    ApplicationId, BranchName, BuildId, PolicyOverrideId, Principal, ValidationError,
};
use time::OffsetDateTime;

/// What a policy points at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PolicyTarget {
    /// One fixed build (4.x "fixed version").
    Build(BuildId),
    /// The newest build of a branch (4.x "draft").
    LatestOnBranch(BranchName),
}

impl PolicyTarget {
    /// The kind of target, without its build or branch.
    pub fn kind(&self) -> PolicyKind {
        match self {
            Self::Build(_) => PolicyKind::Build,
            Self::LatestOnBranch(_) => PolicyKind::LatestOnBranch,
        }
    }
}

/// The kind of a [`PolicyTarget`]: the `type` of a policy on every edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// A fixed build.
    Build,
    /// The newest build of a branch.
    LatestOnBranch,
}

crate::vocabulary!(PolicyKind, field = "type", {
    Build => "BUILD",
    LatestOnBranch => "LATEST_ON_BRANCH",
});

/// The global policy of an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivePolicy {
    /// The application.
    pub application_id: ApplicationId,
    /// What it points at.
    pub target: PolicyTarget,
    /// Who set it.
    pub updated_by: String,
    /// When.
    pub updated_at: OffsetDateTime,
}

/// Kind of subject an override applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubjectType {
    /// One user, by username or subject.
    User,
    /// Everybody in a group.
    Group,
    /// Deprecated: stored and listed, ignored by resolution.
    Role,
}

crate::vocabulary!(SubjectType, field = "subjectType", {
    User => "USER",
    Group => "GROUP",
    Role => "ROLE",
});

/// A policy for one user, group or (deprecated) role that takes precedence over the
/// global policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyOverride {
    /// Id.
    pub id: PolicyOverrideId,
    /// The application.
    pub application_id: ApplicationId,
    /// User, group or role.
    pub subject_type: SubjectType,
    /// Username or subject, group name, or role name.
    pub subject_id: String,
    /// What it points at.
    pub target: PolicyTarget,
    /// Who set it.
    pub updated_by: String,
    /// When.
    pub updated_at: OffsetDateTime,
}

impl PolicyOverride {
    /// Checks the subject id.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `subjectId` when it is empty, too long or has control characters.
    pub fn validate_subject(subject_id: &str) -> Result<(), ValidationError> {
        if subject_id.trim().is_empty()
            || subject_id.len() > 255
            || subject_id.chars().any(char::is_control)
        {
            return Err(ValidationError::new(
                "subjectId",
                "must be 1 to 255 characters without control characters",
            ));
        }
        Ok(())
    }
}

/// Everything resolution needs for one application, read together so that it can be
/// cached as one value and evicted as one value.
///
/// Its revision is the application's policy revision read *before* its content (see
/// `lookups::policy_snapshot`), so a snapshot is never labelled newer than what it holds:
/// the caches use it to refuse a snapshot older than an eviction they have seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySnapshot {
    revision: u64,
    /// The global policy, if one is set.
    pub global: Option<ActivePolicy>,
    /// Every override, deprecated ROLE ones included.
    overrides: Vec<PolicyOverride>,
    /// For each branch named by the global policy or an override: its newest build, if any.
    pub latest_by_branch: BTreeMap<BranchName, BuildId>,
}

/// Which rule of resolution chose a caller's policy: the `source` the runtime-internal API
/// reports with an active build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicySource {
    /// The caller's USER override.
    User,
    /// One of the caller's GROUP overrides.
    Group,
    /// The global policy.
    Global,
}

crate::vocabulary!(PolicySource, field = "source", {
    User => "USER",
    Group => "GROUP",
    Global => "GLOBAL",
});

/// The rule that chose a caller's policy, with the override it took when it took one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyRule {
    /// The caller's USER override.
    UserOverride(PolicyOverrideId),
    /// A GROUP override of one of the caller's groups.
    GroupOverride(PolicyOverrideId),
    /// The global policy.
    Global,
}

impl PolicyRule {
    /// The kind of rule, without the override.
    pub fn source(self) -> PolicySource {
        match self {
            Self::UserOverride(_) => PolicySource::User,
            Self::GroupOverride(_) => PolicySource::Group,
            Self::Global => PolicySource::Global,
        }
    }

    /// The override that chose, for USER and GROUP.
    pub fn override_id(self) -> Option<PolicyOverrideId> {
        match self {
            Self::UserOverride(id) | Self::GroupOverride(id) => Some(id),
            Self::Global => None,
        }
    }
}

/// The policy that applies to a caller, and the rule that chose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChosenPolicy<'a> {
    /// What the policy points at.
    pub target: &'a PolicyTarget,
    /// Which rule chose it.
    pub rule: PolicyRule,
}

impl PolicySnapshot {
    /// A snapshot at policy `revision` (0 when the application never had a policy change).
    pub fn new(
        revision: u64,
        global: Option<ActivePolicy>,
        overrides: Vec<PolicyOverride>,
        latest_by_branch: BTreeMap<BranchName, BuildId>,
    ) -> Self {
        Self { revision, global, overrides, latest_by_branch }
    }

    /// The application's policy revision this snapshot was read at.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Every override, deprecated ROLE ones included.
    pub fn overrides(&self) -> &[PolicyOverride] {
        &self.overrides
    }

    /// The policy that applies to `principal`: its USER override, else the first of its
    /// GROUP overrides (in subject order, so the choice is stable), else the global policy.
    /// ROLE overrides are never chosen.
    pub fn policy_for(&self, principal: &Principal) -> Option<ChosenPolicy<'_>> {
        let user = self
            .overrides
            .iter()
            .find(|candidate| {
                candidate.subject_type == SubjectType::User
                    && principal.is_user(&candidate.subject_id)
            })
            .map(|chosen| (chosen, PolicyRule::UserOverride(chosen.id)));
        let group = || {
            self.overrides
                .iter()
                .filter(|candidate| {
                    candidate.subject_type == SubjectType::Group
                        && principal.in_group(&candidate.subject_id)
                })
                .min_by(|a, b| a.subject_id.cmp(&b.subject_id))
                .map(|chosen| (chosen, PolicyRule::GroupOverride(chosen.id)))
        };
        user.or_else(group)
            .map(|(chosen, rule)| ChosenPolicy { target: &chosen.target, rule })
            .or_else(|| {
                self.global
                    .as_ref()
                    .map(|global| ChosenPolicy { target: &global.target, rule: PolicyRule::Global })
            })
    }

    /// The branches the snapshot must know the newest build of.
    pub fn branches(
        global: Option<&ActivePolicy>,
        overrides: &[PolicyOverride],
    ) -> Vec<BranchName> {
        let mut branches: Vec<BranchName> = global
            .map(|policy| &policy.target)
            .into_iter()
            .chain(overrides.iter().map(|candidate| &candidate.target))
            .filter_map(|target| match target {
                PolicyTarget::LatestOnBranch(branch) => Some(branch.clone()),
                PolicyTarget::Build(_) => None,
            })
            .collect();
        branches.sort();
        branches.dedup();
        branches
    }
}
