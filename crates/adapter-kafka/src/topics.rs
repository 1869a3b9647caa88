//! Topic names: the original platform's composition rule (package + environment + name +
//! version, each topic overridable by its own variable) applied to the topics rtm writes
//! and reads.

use std::fmt;

use domain::model::{DomainEvent, ScheduleCommand};

/// Longest topic name Kafka accepts.
const MAX_TOPIC_NAME_LEN: usize = 249;

/// A topic rtm produces to or consumes from (or, for [`Topic::ActivePolicyUpdated`], both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// Audit trail of every change, read by the platform's audit service.
    Audit,
    /// A build was imported (`DomainEvent::BuildImported`).
    BuildImported,
    /// A build was created from a committed version (`DomainEvent::BuildCreated`).
    BuildCreated,
    /// A build was deleted (`DomainEvent::BuildDeleted`).
    BuildDeleted,
    /// Config overrides of an application changed (`DomainEvent::ConfigOverridesUpdated`).
    ConfigOverridesUpdated,
    /// The active policy of an application changed: every replica evicts its cache
    /// (`DomainEvent::ActivePolicyUpdated`).
    ActivePolicyUpdated,
    /// The scheduler is told to run a timer (`DomainEvent::Timer`, command SET).
    TimerSet,
    /// The scheduler is told to stop a timer (`DomainEvent::Timer`, command STOP).
    TimerStop,
    /// Requests to start a process by name on the user's active build (consumed).
    StartByNameIn,
    /// The answers to [`Topic::StartByNameIn`] (produced).
    StartByNameOut,
}

impl Topic {
    /// Every topic, in the order of the table in the crate documentation.
    pub const ALL: [Self; 10] = [
        Self::Audit,
        Self::BuildImported,
        Self::BuildCreated,
        Self::BuildDeleted,
        Self::ConfigOverridesUpdated,
        Self::ActivePolicyUpdated,
        Self::TimerSet,
        Self::TimerStop,
        Self::StartByNameIn,
        Self::StartByNameOut,
    ];

    /// The part between the environment and the version, e.g. `core.trigger.save.audit`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Audit => "core.trigger.save.audit",
            Self::BuildImported => "build.import",
            Self::BuildCreated => "build.create",
            Self::BuildDeleted => "build.delete",
            Self::ConfigOverridesUpdated => "runtime.config-overrides.updated",
            Self::ActivePolicyUpdated => "runtime.active-policy.updated",
            Self::TimerSet => "core.trigger.set.timer-event-schedule",
            Self::TimerStop => "core.trigger.stop.timer-event-schedule",
            Self::StartByNameIn => "core.trigger.start-by-name.process",
            Self::StartByNameOut => "core.trigger.start-by-name.process.out",
        }
    }

    /// The variable that replaces the whole composed name: the original platform's name
    /// where it has one, an `RTM_` name for topics the original lacks.
    pub const fn override_variable(self) -> &'static str {
        match self {
            Self::Audit => "KAFKA_TOPIC_AUDIT_OUT",
            Self::BuildImported => "KAFKA_TOPIC_BUILD_RESOURCE_IMPORT",
            Self::BuildCreated => "KAFKA_TOPIC_BUILD_CREATE",
            Self::BuildDeleted => "RTM_KAFKA_TOPIC_BUILD_DELETE",
            Self::ConfigOverridesUpdated => "RTM_KAFKA_TOPIC_CONFIG_OVERRIDES_UPDATED",
            Self::ActivePolicyUpdated => "RTM_KAFKA_TOPIC_ACTIVE_POLICY_UPDATED",
            Self::TimerSet => "KAFKA_TOPIC_PROCESS_SCHEDULEDTIMEREVENTS_OUT_SET",
            Self::TimerStop => "KAFKA_TOPIC_PROCESS_SCHEDULEDTIMEREVENTS_OUT_STOP",
            Self::StartByNameIn => "KAFKA_TOPIC_PROCESS_STARTBYNAME_IN",
            Self::StartByNameOut => "KAFKA_TOPIC_PROCESS_STARTBYNAME_OUT",
        }
    }

    /// The topic an event is written to.
    pub const fn of(event: &DomainEvent) -> Self {
        match event {
            DomainEvent::Audit(_) => Self::Audit,
            DomainEvent::BuildImported { .. } => Self::BuildImported,
            DomainEvent::BuildCreated { .. } => Self::BuildCreated,
            DomainEvent::BuildDeleted { .. } => Self::BuildDeleted,
            DomainEvent::ConfigOverridesUpdated { .. } => Self::ConfigOverridesUpdated,
            DomainEvent::ActivePolicyUpdated { .. } => Self::ActivePolicyUpdated,
            DomainEvent::Timer { command: ScheduleCommand::Set, .. } => Self::TimerSet,
            DomainEvent::Timer { command: ScheduleCommand::Stop, .. } => Self::TimerStop,
        }
    }

    const fn index(self) -> usize {
        match self {
            Self::Audit => 0,
            Self::BuildImported => 1,
            Self::BuildCreated => 2,
            Self::BuildDeleted => 3,
            Self::ConfigOverridesUpdated => 4,
            Self::ActivePolicyUpdated => 5,
            Self::TimerSet => 6,
            Self::TimerStop => 7,
            Self::StartByNameIn => 8,
            Self::StartByNameOut => 9,
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The pieces every topic name is composed of: `package + environment + name + version`,
/// concatenated as they are, like the original (so the environment carries its own trailing
/// dot: `dev.`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicNaming {
    /// `KAFKA_TOPIC_NAMING_PACKAGE`, default `ai.flowx.`.
    pub package: String,
    /// `KAFKA_TOPIC_NAMING_ENVIRONMENT`, default empty; e.g. `dev.`.
    pub environment: String,
    /// `KAFKA_TOPIC_NAMING_VERSION`, default `.v1`.
    pub version: String,
}

impl TopicNaming {
    /// Variable of [`Self::package`].
    pub const PACKAGE_VARIABLE: &'static str = "KAFKA_TOPIC_NAMING_PACKAGE";
    /// Variable of [`Self::environment`].
    pub const ENVIRONMENT_VARIABLE: &'static str = "KAFKA_TOPIC_NAMING_ENVIRONMENT";
    /// Variable of [`Self::version`].
    pub const VERSION_VARIABLE: &'static str = "KAFKA_TOPIC_NAMING_VERSION";

    /// The composed name of `topic`.
    pub fn compose(&self, topic: Topic) -> String {
        format!("{}{}{}{}", self.package, self.environment, topic.name(), self.version)
    }
}

impl Default for TopicNaming {
    fn default() -> Self {
        Self {
            package: "ai.flowx.".to_owned(),
            environment: String::new(),
            version: ".v1".to_owned(),
        }
    }
}

/// The full name of every [`Topic`], checked against Kafka's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicNames {
    names: [String; Topic::ALL.len()],
}

impl TopicNames {
    /// Composes every name from `naming`, then applies `overrides` (a whole topic name per
    /// topic, as set in the topic's [`Topic::override_variable`]).
    ///
    /// # Errors
    ///
    /// [`InvalidTopicName`] naming the variable at fault when a piece or an override holds a
    /// character Kafka refuses (only `A-Z a-z 0-9 . _ -` are allowed), when a name is
    /// empty, `.` or `..`, or longer than 249 characters.
    pub fn new(
        naming: &TopicNaming,
        overrides: impl IntoIterator<Item = (Topic, String)>,
    ) -> Result<Self, InvalidTopicName> {
        for (variable, piece) in [
            (TopicNaming::PACKAGE_VARIABLE, &naming.package),
            (TopicNaming::ENVIRONMENT_VARIABLE, &naming.environment),
            (TopicNaming::VERSION_VARIABLE, &naming.version),
        ] {
            check_charset(piece)
                .map_err(|reason| InvalidTopicName::new(variable, piece, reason))?;
        }
        let mut names = Topic::ALL.map(|topic| naming.compose(topic));
        for topic in Topic::ALL {
            check_topic_name(&names[topic.index()]).map_err(|reason| {
                InvalidTopicName::new(
                    "KAFKA_TOPIC_NAMING_PACKAGE + KAFKA_TOPIC_NAMING_ENVIRONMENT + KAFKA_TOPIC_NAMING_VERSION",
                    &names[topic.index()],
                    reason,
                )
            })?;
        }
        for (topic, name) in overrides {
            check_topic_name(&name).map_err(|reason| {
                InvalidTopicName::new(topic.override_variable(), &name, reason)
            })?;
            names[topic.index()] = name;
        }
        Ok(Self { names })
    }

    /// The full name of `topic`.
    pub fn get(&self, topic: Topic) -> &str {
        &self.names[topic.index()]
    }

    /// The full name of the topic `event` is written to.
    pub fn of(&self, event: &DomainEvent) -> &str {
        self.get(Topic::of(event))
    }

    /// Every topic with its full name.
    pub fn iter(&self) -> impl Iterator<Item = (Topic, &str)> {
        Topic::ALL.into_iter().map(|topic| (topic, self.get(topic)))
    }
}

impl Default for TopicNames {
    /// The defaults: `ai.flowx.` + no environment + name + `.v1`, no overrides.
    fn default() -> Self {
        let naming = TopicNaming::default();
        Self { names: Topic::ALL.map(|topic| naming.compose(topic)) }
    }
}

/// A topic name, or a piece of one, that Kafka would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable} = `{value}` cannot make a kafka topic name: {reason}")]
pub struct InvalidTopicName {
    /// The variable (or variables) the value came from.
    pub variable: &'static str,
    /// The refused value.
    pub value: String,
    /// Why it is refused.
    pub reason: String,
}

impl InvalidTopicName {
    fn new(variable: &'static str, value: &str, reason: String) -> Self {
        Self { variable, value: value.to_owned(), reason }
    }
}

fn check_charset(piece: &str) -> Result<(), String> {
    match piece.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        Some(bad) => {
            Err(format!("character {bad:?} is not allowed; use A-Z, a-z, 0-9, ., _ and -"))
        }
        None => Ok(()),
    }
}

fn check_topic_name(name: &str) -> Result<(), String> {
    check_charset(name)?;
    if name.is_empty() || name == "." || name == ".." {
        return Err("a topic name must not be empty, `.` or `..`".to_owned());
    }
    if name.len() > MAX_TOPIC_NAME_LEN {
        return Err(format!(
            "a topic name is at most {MAX_TOPIC_NAME_LEN} characters, this one has {}",
            name.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use domain::model::ApplicationId;

    use super::*;

    #[test]
    fn default_names_follow_the_original_composition_without_an_environment() {
        let names = TopicNames::default();
        assert_eq!(names.get(Topic::Audit), "ai.flowx.core.trigger.save.audit.v1");
        assert_eq!(names.get(Topic::BuildImported), "ai.flowx.build.import.v1");
        assert_eq!(names.get(Topic::BuildCreated), "ai.flowx.build.create.v1");
        assert_eq!(names.get(Topic::BuildDeleted), "ai.flowx.build.delete.v1");
        assert_eq!(
            names.get(Topic::ConfigOverridesUpdated),
            "ai.flowx.runtime.config-overrides.updated.v1"
        );
        assert_eq!(
            names.get(Topic::ActivePolicyUpdated),
            "ai.flowx.runtime.active-policy.updated.v1"
        );
        assert_eq!(
            names.get(Topic::StartByNameIn),
            "ai.flowx.core.trigger.start-by-name.process.v1"
        );
        assert_eq!(
            names.get(Topic::StartByNameOut),
            "ai.flowx.core.trigger.start-by-name.process.out.v1"
        );
        assert_eq!(TopicNames::new(&TopicNaming::default(), []).unwrap(), names);
    }

    #[test]
    fn timer_schedules_go_to_the_original_scheduler_topics() {
        let naming = TopicNaming { environment: "dev.".to_owned(), ..TopicNaming::default() };
        let names = TopicNames::new(&naming, []).unwrap();
        assert_eq!(
            names.get(Topic::TimerSet),
            "ai.flowx.dev.core.trigger.set.timer-event-schedule.v1"
        );
        assert_eq!(
            names.get(Topic::TimerStop),
            "ai.flowx.dev.core.trigger.stop.timer-event-schedule.v1"
        );
        assert_eq!(
            Topic::TimerSet.override_variable(),
            "KAFKA_TOPIC_PROCESS_SCHEDULEDTIMEREVENTS_OUT_SET"
        );
        let names =
            TopicNames::new(&naming, [(Topic::TimerStop, "scheduler-stop".to_owned())]).unwrap();
        assert_eq!(names.get(Topic::TimerStop), "scheduler-stop");
        assert_eq!(
            names.get(Topic::TimerSet),
            "ai.flowx.dev.core.trigger.set.timer-event-schedule.v1"
        );
    }

    #[test]
    fn the_environment_goes_between_package_and_name_as_given() {
        let naming = TopicNaming { environment: "dev.".to_owned(), ..TopicNaming::default() };
        let names = TopicNames::new(&naming, []).unwrap();
        assert_eq!(names.get(Topic::Audit), "ai.flowx.dev.core.trigger.save.audit.v1");
        assert_eq!(names.get(Topic::BuildImported), "ai.flowx.dev.build.import.v1");
        assert_eq!(
            names.get(Topic::StartByNameIn),
            "ai.flowx.dev.core.trigger.start-by-name.process.v1"
        );

        let naming = TopicNaming {
            package: "acme.".to_owned(),
            environment: "uat.".to_owned(),
            version: ".v2".to_owned(),
        };
        let names = TopicNames::new(&naming, []).unwrap();
        assert_eq!(
            names.get(Topic::ActivePolicyUpdated),
            "acme.uat.runtime.active-policy.updated.v2"
        );
    }

    #[test]
    fn an_override_replaces_the_whole_name_of_its_topic_only() {
        let naming = TopicNaming { environment: "dev.".to_owned(), ..TopicNaming::default() };
        let names = TopicNames::new(&naming, [(Topic::Audit, "audit-events".to_owned())]).unwrap();
        assert_eq!(names.get(Topic::Audit), "audit-events");
        assert_eq!(names.get(Topic::BuildDeleted), "ai.flowx.dev.build.delete.v1");
    }

    #[test]
    fn a_bad_piece_is_refused_naming_its_variable() {
        let naming = TopicNaming { environment: "dev/".to_owned(), ..TopicNaming::default() };
        let err = TopicNames::new(&naming, []).unwrap_err();
        assert_eq!(err.variable, "KAFKA_TOPIC_NAMING_ENVIRONMENT");
        assert!(err.to_string().contains("'/'"), "{err}");
    }

    #[test]
    fn a_bad_override_is_refused_naming_its_variable() {
        let naming = TopicNaming::default();
        for bad in ["", "..", "with space", &"x".repeat(250)] {
            let err = TopicNames::new(&naming, [(Topic::ActivePolicyUpdated, bad.to_owned())])
                .unwrap_err();
            assert_eq!(err.variable, "RTM_KAFKA_TOPIC_ACTIVE_POLICY_UPDATED", "{bad:?}");
        }
        assert!(TopicNames::new(&naming, [(Topic::Audit, "x".repeat(249))]).is_ok());
    }

    #[test]
    fn a_composed_name_longer_than_kafka_allows_is_refused() {
        let naming =
            TopicNaming { environment: format!("{}.", "e".repeat(240)), ..TopicNaming::default() };
        let err = TopicNames::new(&naming, []).unwrap_err();
        assert!(err.variable.contains("KAFKA_TOPIC_NAMING_ENVIRONMENT"), "{err}");
    }

    #[test]
    fn every_event_has_its_topic() {
        let names = TopicNames::default();
        let application_id = ApplicationId::random();
        let event = DomainEvent::ActivePolicyUpdated { application_id };
        assert_eq!(names.of(&event), "ai.flowx.runtime.active-policy.updated.v1");
        assert_eq!(Topic::of(&event), Topic::ActivePolicyUpdated);
    }

    #[test]
    fn every_topic_has_its_own_name_and_override_variable() {
        let mut names: Vec<&str> = Topic::ALL.iter().map(|topic| topic.name()).collect();
        let mut variables: Vec<&str> =
            Topic::ALL.iter().map(|topic| topic.override_variable()).collect();
        names.sort_unstable();
        names.dedup();
        variables.sort_unstable();
        variables.dedup();
        assert_eq!(names.len(), Topic::ALL.len());
        assert_eq!(variables.len(), Topic::ALL.len());
        for (index, topic) in Topic::ALL.into_iter().enumerate() {
            assert_eq!(topic.index(), index);
        }
    }
}
