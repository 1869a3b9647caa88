//! Active policies: which build of an application is live, globally and per user or group.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{BuildHasher as _, RandomState};

use hashbrown::hash_table::{Entry, HashTable};

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
/// The overrides are indexed by subject when the snapshot is made, so that
/// [`PolicySnapshot::policy_for`] does the same work whether the application has one
/// override or a hundred thousand.
///
/// Its revision is the application's policy revision read *before* its content (see
/// `lookups::policy_snapshot`), so a snapshot is never labelled newer than what it holds:
/// the caches use it to refuse a snapshot older than an eviction they have seen.
#[derive(Clone)]
pub struct PolicySnapshot {
    /// The generation of the application's policies this snapshot was read at.
    revision: u64,
    /// The global policy, if one is set.
    pub global: Option<ActivePolicy>,
    /// Every override, deprecated ROLE ones included.
    overrides: Vec<PolicyOverride>,
    /// For each branch named by the global policy or an override: its newest build, if any.
    pub latest_by_branch: BTreeMap<BranchName, BuildId>,
    /// `overrides` by subject; derived from them, so neither compared nor shown.
    index: SubjectIndex,
}

impl PolicySnapshot {
    /// A snapshot at policy `revision` (0 when the application never had a policy change) of
    /// `overrides` (in the order the repository lists them), indexed once here.
    pub fn new(
        revision: u64,
        global: Option<ActivePolicy>,
        overrides: Vec<PolicyOverride>,
        latest_by_branch: BTreeMap<BranchName, BuildId>,
    ) -> Self {
        let index = SubjectIndex::new(&overrides);
        Self { revision, global, overrides, latest_by_branch, index }
    }

    /// The application's policy revision this snapshot was read at.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Every override, deprecated ROLE ones included, in the order they were given.
    pub fn overrides(&self) -> &[PolicyOverride] {
        &self.overrides
    }
}

impl PartialEq for PolicySnapshot {
    fn eq(&self, other: &Self) -> bool {
        // The index is a function of the overrides.
        self.revision == other.revision
            && self.global == other.global
            && self.overrides == other.overrides
            && self.latest_by_branch == other.latest_by_branch
    }
}

impl Eq for PolicySnapshot {}

impl fmt::Debug for PolicySnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicySnapshot")
            .field("revision", &self.revision)
            .field("global", &self.global)
            .field("overrides", &self.overrides)
            .field("latest_by_branch", &self.latest_by_branch)
            .finish_non_exhaustive()
    }
}

/// The overrides of a snapshot by subject, as positions in its list of overrides.
///
/// Hash tables of positions rather than maps from names: the names are the overrides' own
/// subject ids, so the index adds about nine bytes per USER or GROUP override and copies no
/// string (`hashbrown`'s `HashTable` looks entries up through the list, which a `HashMap`
/// keyed by borrowed names could not do inside the struct that owns the names).
#[derive(Clone)]
struct SubjectIndex {
    /// Random keys, so that chosen subject ids cannot pile up in one bucket.
    hasher: RandomState,
    /// For each subject id of a USER override: the first USER override with it.
    users: HashTable<usize>,
    /// For each group name (as [`Principal::group_name`] has it) of a GROUP override: the one
    /// resolution would take of those with that name, the smallest subject id and, among
    /// equal ones, the first.
    groups: HashTable<usize>,
}

impl SubjectIndex {
    fn new(overrides: &[PolicyOverride]) -> Self {
        let hasher = RandomState::new();
        // Sized once, so that a large snapshot is not rehashed as the tables grow.
        let count = |subject_type| {
            overrides.iter().filter(|candidate| candidate.subject_type == subject_type).count()
        };
        let mut users = HashTable::with_capacity(count(SubjectType::User));
        let mut groups = HashTable::with_capacity(count(SubjectType::Group));
        let subject = |position: usize| overrides[position].subject_id.as_str();
        let group = |position: usize| Principal::group_name(subject(position));
        for (position, candidate) in overrides.iter().enumerate() {
            match candidate.subject_type {
                SubjectType::User => {
                    let name = candidate.subject_id.as_str();
                    let entry = users.entry(
                        hasher.hash_one(name),
                        |&other| subject(other) == name,
                        |&other| hasher.hash_one(subject(other)),
                    );
                    // The first in list order wins, as a scan of the list finds it.
                    if let Entry::Vacant(vacant) = entry {
                        vacant.insert(position);
                    }
                }
                SubjectType::Group => {
                    let name = Principal::group_name(&candidate.subject_id);
                    let entry = groups.entry(
                        hasher.hash_one(name),
                        |&other| group(other) == name,
                        |&other| hasher.hash_one(group(other)),
                    );
                    match entry {
                        Entry::Vacant(vacant) => {
                            vacant.insert(position);
                        }
                        // Strictly smaller only: of equal subject ids the first stays.
                        Entry::Occupied(mut occupied) => {
                            if candidate.subject_id.as_str() < subject(*occupied.get()) {
                                *occupied.get_mut() = position;
                            }
                        }
                    }
                }
                SubjectType::Role => {}
            }
        }
        Self { hasher, users, groups }
    }

    /// The first USER override for `name`.
    fn user(&self, overrides: &[PolicyOverride], name: &str) -> Option<usize> {
        self.users
            .find(self.hasher.hash_one(name), |&position| overrides[position].subject_id == name)
            .copied()
    }

    /// The GROUP override resolution takes of those for `group` (any spelling).
    fn group(&self, overrides: &[PolicyOverride], group: &str) -> Option<usize> {
        let name = Principal::group_name(group);
        self.groups
            .find(self.hasher.hash_one(name), |&position| {
                Principal::group_name(&overrides[position].subject_id) == name
            })
            .copied()
    }
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
    /// The policy that applies to `principal`: its USER override, else the first of its
    /// GROUP overrides (in subject order, so the choice is stable), else the global policy.
    /// ROLE overrides are never chosen.
    ///
    /// Precisely: the first USER override (in list order) whose subject id is the caller's
    /// subject or username; else, of the GROUP overrides of the caller's groups (compared
    /// without leading slashes), the one with the smallest subject id, the first of equal
    /// ones. A lookup by name and one per group of the caller, whatever the number of
    /// overrides.
    pub fn policy_for(&self, principal: &Principal) -> Option<ChosenPolicy<'_>> {
        let overrides = self.overrides.as_slice();
        let by_subject = self.index.user(overrides, &principal.subject);
        let by_username =
            principal.username.as_deref().and_then(|name| self.index.user(overrides, name));
        // Both names may have an override: the scan would meet the earlier one first.
        let user = match (by_subject, by_username) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
        .map(|position| (position, PolicyRule::UserOverride(overrides[position].id)));
        let group = || {
            principal
                .groups
                .iter()
                .filter_map(|group| self.index.group(overrides, group))
                .min_by_key(|&position| (overrides[position].subject_id.as_str(), position))
                .map(|position| (position, PolicyRule::GroupOverride(overrides[position].id)))
        };
        user.or_else(group)
            .map(|(position, rule)| ChosenPolicy { target: &overrides[position].target, rule })
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;
    use time::OffsetDateTime;
    use uuid::Uuid;

    use super::*;

    /// The rule as it was before the index: a scan of every override. The index must answer
    /// exactly this, ties included.
    fn linear_scan<'a>(
        snapshot: &'a PolicySnapshot,
        principal: &Principal,
    ) -> Option<ChosenPolicy<'a>> {
        let user = snapshot
            .overrides()
            .iter()
            .find(|candidate| {
                candidate.subject_type == SubjectType::User
                    && principal.is_user(&candidate.subject_id)
            })
            .map(|chosen| (chosen, PolicyRule::UserOverride(chosen.id)));
        let group = || {
            snapshot
                .overrides()
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
                snapshot
                    .global
                    .as_ref()
                    .map(|global| ChosenPolicy { target: &global.target, rule: PolicyRule::Global })
            })
    }

    /// Names that collide once leading slashes go, differ only in case, nest, or are empty
    /// after the slashes.
    const NAMES: &[&str] =
        &["a", "A", "/a", "//a", "/A", "b", "/b", "a/b", "/a/b", "ops", "/ops", "é", "/", ""];

    fn application() -> ApplicationId {
        ApplicationId::from_uuid(Uuid::from_u128(1))
    }

    fn policy_override(
        number: u128,
        subject_type: SubjectType,
        subject_id: &str,
    ) -> PolicyOverride {
        PolicyOverride {
            id: PolicyOverrideId::from_uuid(Uuid::from_u128(number)),
            application_id: application(),
            subject_type,
            subject_id: subject_id.to_owned(),
            target: PolicyTarget::Build(BuildId::from_uuid(Uuid::from_u128(number))),
            updated_by: "admin".to_owned(),
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn global() -> ActivePolicy {
        ActivePolicy {
            application_id: application(),
            target: PolicyTarget::Build(BuildId::from_uuid(Uuid::from_u128(u128::MAX))),
            updated_by: "admin".to_owned(),
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn snapshot(overrides: Vec<PolicyOverride>, with_global: bool) -> PolicySnapshot {
        PolicySnapshot::new(7, with_global.then(global), overrides, BTreeMap::new())
    }

    fn principal(subject: &str, username: Option<&str>, groups: &[&str]) -> Principal {
        Principal {
            subject: subject.to_owned(),
            username: username.map(str::to_owned),
            groups: groups.iter().map(|group| (*group).to_owned()).collect(),
            roles: BTreeSet::from(["a".to_owned()]),
            client_id: None,
        }
    }

    fn name() -> impl Strategy<Value = &'static str> {
        proptest::sample::select(NAMES)
    }

    fn subject_type() -> impl Strategy<Value = SubjectType> {
        prop_oneof![Just(SubjectType::User), Just(SubjectType::Group), Just(SubjectType::Role)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn the_index_chooses_what_the_scan_of_every_override_chooses(
            // Duplicates of one subject and type too, which the stores refuse but the
            // snapshot must not depend on.
            subjects in proptest::collection::vec((subject_type(), name()), 0..24),
            with_global in any::<bool>(),
            caller in name(),
            username in proptest::option::of(name()),
            groups in proptest::collection::vec(name(), 0..5),
        ) {
            let overrides = subjects
                .iter()
                .enumerate()
                .map(|(number, (subject_type, subject_id))| {
                    policy_override(number as u128, *subject_type, subject_id)
                })
                .collect();
            let snapshot = snapshot(overrides, with_global);
            let principal = principal(caller, username, &groups);

            prop_assert_eq!(snapshot.policy_for(&principal), linear_scan(&snapshot, &principal));
            let copy = snapshot.clone();
            prop_assert_eq!(copy.policy_for(&principal), linear_scan(&snapshot, &principal));
        }
    }

    fn chosen(snapshot: &PolicySnapshot, principal: &Principal) -> Option<PolicyRule> {
        snapshot.policy_for(principal).map(|chosen| chosen.rule)
    }

    fn id(number: u128) -> PolicyOverrideId {
        PolicyOverrideId::from_uuid(Uuid::from_u128(number))
    }

    #[test]
    fn of_two_user_overrides_for_the_subject_and_the_username_the_first_listed_wins() {
        let snapshot = snapshot(
            vec![policy_override(1, SubjectType::User, "bob"), {
                policy_override(2, SubjectType::User, "sub-1")
            }],
            true,
        );

        let rule = chosen(&snapshot, &principal("sub-1", Some("bob"), &[]));

        assert_eq!(rule, Some(PolicyRule::UserOverride(id(1))));
    }

    #[test]
    fn a_group_override_matches_with_or_without_leading_slashes_and_the_smallest_name_wins() {
        let snapshot = snapshot(
            vec![
                policy_override(1, SubjectType::Group, "ops"),
                policy_override(2, SubjectType::Group, "/ops"),
                policy_override(3, SubjectType::Group, "/ops"),
                policy_override(4, SubjectType::Group, "OPS"),
            ],
            false,
        );

        // `/ops` sorts before `ops`; of the two `/ops` the first listed stays.
        assert_eq!(
            chosen(&snapshot, &principal("x", None, &["ops"])),
            Some(PolicyRule::GroupOverride(id(2)))
        );
        assert_eq!(
            chosen(&snapshot, &principal("x", None, &["//ops"])),
            Some(PolicyRule::GroupOverride(id(2)))
        );
        assert_eq!(
            chosen(&snapshot, &principal("x", None, &["OPS"])),
            Some(PolicyRule::GroupOverride(id(4)))
        );
        assert_eq!(chosen(&snapshot, &principal("x", None, &["Ops"])), None);
    }

    #[test]
    fn a_role_override_is_never_chosen_and_the_global_policy_answers() {
        let snapshot = snapshot(vec![policy_override(1, SubjectType::Role, "a")], true);

        assert_eq!(chosen(&snapshot, &principal("a", Some("a"), &["a"])), Some(PolicyRule::Global));
    }

    #[test]
    fn snapshots_of_the_same_policies_are_equal_whatever_their_index() {
        let overrides =
            || (0..100).map(|number| policy_override(number, SubjectType::User, "u")).collect();

        assert_eq!(snapshot(overrides(), true), snapshot(overrides(), true));
        assert_ne!(
            snapshot(overrides(), true),
            PolicySnapshot::new(8, Some(global()), overrides(), BTreeMap::new())
        );
    }
}
