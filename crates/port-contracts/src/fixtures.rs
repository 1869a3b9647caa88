//! Fresh, valid values for the checks: random ids, millisecond timestamps.
//!
//! Builds, headers and build resources come from `test_support::BuildFixture` and its
//! companions, re-exported here beside the policies, overrides and events of the checks.

use bytes::Bytes;
use domain::model::{
    ActivePolicy, ApplicationId, ConfigOverride, ConfigParamType, DomainEvent, PolicyOverride,
    PolicyOverrideId, PolicyTarget, SubjectType,
};
pub(crate) use test_support::{branch, checksum, config_key as key, now, resource, resource_type};
use time::{Duration, OffsetDateTime};

/// A moment `seconds` from now (negative: in the past), in whole milliseconds.
pub(crate) fn seconds_from_now(seconds: i64) -> OffsetDateTime {
    now() + Duration::seconds(seconds)
}

pub(crate) fn policy(application_id: ApplicationId, target: PolicyTarget) -> ActivePolicy {
    ActivePolicy { application_id, target, updated_by: "contracts".to_owned(), updated_at: now() }
}

pub(crate) fn policy_override(
    application_id: ApplicationId,
    subject_type: SubjectType,
    subject_id: &str,
    target: PolicyTarget,
) -> PolicyOverride {
    PolicyOverride {
        id: PolicyOverrideId::random(),
        application_id,
        subject_type,
        subject_id: subject_id.to_owned(),
        target,
        updated_by: "contracts".to_owned(),
        updated_at: now(),
    }
}

pub(crate) fn config_override(
    application_id: ApplicationId,
    key_name: &str,
    value: &str,
) -> ConfigOverride {
    ConfigOverride {
        application_id,
        key: key(key_name),
        param_type: ConfigParamType::Value,
        value: value.to_owned(),
        updated_by: "contracts".to_owned(),
        updated_at: now(),
    }
}

/// One event about `application_id`, to tell which outbox records a check wrote.
pub(crate) fn event(application_id: ApplicationId) -> DomainEvent {
    DomainEvent::ActivePolicyUpdated { application_id }
}

/// `len` bytes of a repeating pattern.
pub(crate) fn bytes(len: usize) -> Bytes {
    (0..len).map(|i| (i % 251) as u8).collect::<Vec<u8>>().into()
}
