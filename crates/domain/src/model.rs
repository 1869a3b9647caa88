//! Validated domain types. Everything here is built at the edge (from a request, an archive
//! or a storage row) through a constructor that checks it, so the services can trust it.

mod build;
mod config;
mod event;
mod ids;
mod page;
mod policy;
mod principal;
mod timer;
mod validation;
mod vocabulary;

pub use crate::model::build::{
    ApplicationKind, Build, BuildDependency, BuildHeader, BuildOrigin, BuildResource,
    BuildSettings, BuildSummary, Checksum, ManifestEntry, NumberFormat, Platforms, RawJson,
};
pub use crate::model::config::{ConfigOverride, ConfigParam, ConfigParamType, ResolvedConfigParam};
pub use crate::model::event::{
    AuditAction, AuditRecord, AuditVerb, DomainEvent, EntityKind, EntityRef, OutboxBacklog,
    OutboxRecord,
};
pub use crate::model::ids::{
    ApplicationId, ApplicationName, BranchName, BuildId, ConfigKey, ImportOwner, PolicyOverrideId,
    ResourceDefinitionId, ResourceName, ResourceType, ResourceVersionId, VersionId, WorkspaceId,
};
pub use crate::model::page::{Page, PageRequest};
pub use crate::model::policy::{
    ActivePolicy, ChosenPolicy, PolicyKind, PolicyOverride, PolicyRule, PolicySnapshot,
    PolicySource, PolicyTarget, SubjectType,
};
pub use crate::model::principal::Principal;
pub use crate::model::timer::{
    BuildTimer, ScheduleCommand, ScheduleMove, ScheduledTimer, TimerExpression, TimerId,
    TimerNodeId, TimerSchedule, TimerType,
};
pub use crate::model::validation::ValidationError;
pub use crate::model::vocabulary::Vocabulary;
