//! Kafka adapter of rtm, on `rdkafka` (librdkafka built from source, bundled): the
//! `EventPublisher` port ([`KafkaEventPublisher`]), the listener through which every
//! replica hears active-policy changes ([`PolicyUpdateListener`]), the original platform's
//! topic naming ([`TopicNames`]) and SASL OAUTHBEARER with client-credentials tokens.
//!
//! It depends on `domain` and its own drivers (`rdkafka`, and `oauth2` for the tokens)
//! only; it never names another adapter, `http-api`, `server` or `build-archive`.
//!
//! # Topics
//!
//! A topic name is `KAFKA_TOPIC_NAMING_PACKAGE` (default `ai.flowx.`) +
//! `KAFKA_TOPIC_NAMING_ENVIRONMENT` (default empty, e.g. `dev.`) + name +
//! `KAFKA_TOPIC_NAMING_VERSION` (default `.v1`), concatenated as given, like the original;
//! each topic's override variable replaces the whole name. Where the original has a topic
//! for the event (audit, build import, build creation) rtm uses it and its variable; the others are rtm's
//! own and get `RTM_` variables.
//!
//! | Event | Topic | Default name | Override variable |
//! |---|---|---|---|
//! | `Audit` | `core.trigger.save.audit` | `ai.flowx.core.trigger.save.audit.v1` | `KAFKA_TOPIC_AUDIT_OUT` (original; 4.6 called it `KAFKA_TOPIC_AUDIT_OUTPUT`) |
//! | `BuildImported` | `build.import` | `ai.flowx.build.import.v1` | `KAFKA_TOPIC_BUILD_RESOURCE_IMPORT` (original) |
//! | `BuildCreated` | `build.create` | `ai.flowx.build.create.v1` | `KAFKA_TOPIC_BUILD_CREATE` (original) |
//! | `BuildDeleted` | `build.delete` | `ai.flowx.build.delete.v1` | `RTM_KAFKA_TOPIC_BUILD_DELETE` |
//! | `ConfigOverridesUpdated` | `runtime.config-overrides.updated` | `ai.flowx.runtime.config-overrides.updated.v1` | `RTM_KAFKA_TOPIC_CONFIG_OVERRIDES_UPDATED` |
//! | `ActivePolicyUpdated` | `runtime.active-policy.updated` | `ai.flowx.runtime.active-policy.updated.v1` | `RTM_KAFKA_TOPIC_ACTIVE_POLICY_UPDATED` |
//! | `Timer` (SET) | `core.trigger.set.timer-event-schedule` | `ai.flowx.core.trigger.set.timer-event-schedule.v1` | `KAFKA_TOPIC_PROCESS_SCHEDULEDTIMEREVENTS_OUT_SET` (original) |
//! | `Timer` (STOP) | `core.trigger.stop.timer-event-schedule` | `ai.flowx.core.trigger.stop.timer-event-schedule.v1` | `KAFKA_TOPIC_PROCESS_SCHEDULEDTIMEREVENTS_OUT_STOP` (original) |
//!
//! [`ensure_topics`] creates the missing ones at start where the brokers allow it.
//!
//! # Messages
//!
//! Key: the application id (every event of an application on one topic stays in order);
//! for timer events the scheduler's `scheduleId` (`{appId}:{processName}:{timerNodeId}`).
//! Headers: `Fx-AppId` always, `Fx-WorkspaceId` when the event knows the workspace,
//! `Fx-Organization-Id` when [`KafkaConfig::organization_id`] is set. Payload: JSON,
//! camelCase; `sequence` is the outbox position (consumers can drop repeats, since delivery
//! is at least once), `timestamp` RFC 3339.
//!
//! ```text
//! BuildImported           {"eventType":"BUILD_IMPORTED","sequence":7,"timestamp":"…","appId":"…","workspaceId":"…"?,"buildId":"…","checksum":"<sha-256 hex>"}
//! BuildCreated            {"eventType":"BUILD_CREATED","sequence":7,"timestamp":"…","appId":"…","workspaceId":"…"?,"buildId":"…","versionId":"…","checksum":"<sha-256 hex>"}
//! BuildDeleted            {"eventType":"BUILD_DELETED","sequence":7,"timestamp":"…","appId":"…","buildId":"…"}
//! ConfigOverridesUpdated  {"eventType":"CONFIG_OVERRIDES_UPDATED","sequence":7,"timestamp":"…","appId":"…","keys":["api.url"]}
//! ActivePolicyUpdated     {"eventType":"ACTIVE_POLICY_UPDATED","sequence":7,"timestamp":"…","appId":"…"}
//! Timer (SET and STOP)    {"scheduleId":"…","applicationId":"…","buildId":"…","workspaceId":"…"?,
//!                          "processDefinitionName":"…","timerNodeId":"…","timerType":"CRON","expression":"…"}
//!                          (the scheduler's shape: no eventType, sequence or timestamp)
//! Audit                   {"eventType":"AUDIT","sequence":7,"timestamp":"<when it was done>","user":"alice",
//!                          "subject":{"type":"BUILD","id":"…"},"action":"IMPORT","appId":"…","workspaceId":"…"?,
//!                          "buildId":"…"? (when the subject is a build),"status":"SUCCESS",
//!                          "details":{"operation":"IMPORT_BUILD"}}
//! ```
//!
//! The audit message follows the fields of the original's audit log (timestamp, user,
//! subject with type and identifier, event/action, status); `action` is the original's
//! coarse verb (`IMPORT`, `EXPORT`, `DELETE`, `ACTIVATE`, `CREATE`, `UPDATE`, `COMMIT`,
//! `BUILD`) and
//! `details.operation` rtm's exact one.
//!
//! # Security
//!
//! [`KafkaSecurity`] is Kafka's `security.protocol`: `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or
//! `SASL_SSL`. TLS ([`KafkaTls`]) verifies the broker's certificate against the configured
//! CAs ([`KafkaTrust`]: a PEM file, PEM text, or the system's bundle) and its host name
//! (`ssl.endpoint.identification.algorithm=https`, never off), and presents a client
//! certificate when one is configured ([`KafkaIdentity`]: PKCS#12 or PEM).
//!
//! SASL is OAUTHBEARER ([`OAuthBearer`]), the original's `kafka-auth` profile: a token from
//! a client-credentials grant at `KAFKA_OAUTH_TOKEN_ENDPOINT_URI`. A tokio task fetches it
//! (with the `oauth2` crate), refreshes it at three quarters of its lifetime and retries
//! with backoff on failure; the librdkafka callback only reads the cached token, so no
//! HTTP call ever runs on librdkafka's threads. librdkafka re-authenticates its broker
//! connections with the fresh token before their sessions end (KIP-368).
//!
//! A TLS handshake that fails or credentials a broker refuses make [`ensure_topics`] and
//! [`KafkaEventPublisher::connect`] fail at once (the client context records librdkafka's
//! `_SSL` and authentication errors), so a misconfigured start stops with the reason
//! instead of waiting. rdkafka's admin client serves no librdkafka events (errors,
//! OAUTHBEARER tokens), so the brokers are first reached through a producer, and with
//! OAUTHBEARER no topic is created.
//!
//! # Tests
//!
//! `tests/contracts.rs` runs the port's contract suite and this adapter's own checks
//! against a broker named by `APP_TEST_KAFKA_BROKERS` (e.g. `127.0.0.1:9092`), on topics
//! of a random environment created by each test. `tests/security/` proves TLS and
//! OAUTHBEARER on the wire: brokers of its own behind `stunnel4` with a throwaway CA, and
//! behind a test-side Kafka-protocol peer that answers the SASL exchange itself and checks
//! the token against the local OIDC realm.
//!
//! Do not restart a tansu broker with `memory://` storage under running clients: it comes
//! back without its topics, the recreated topics get new ids, and librdkafka 2.12.1
//! (bundled by `rdkafka` 0.38) was seen to crash the process with SIGSEGV in
//! `rd_kafka_metadata_update_op` on tansu's answers (a topic with neither name nor id).
//! A broker that keeps its state (a connection cut, a real Kafka restart) is survived: the
//! producer and the listener reconnect and the listener resumes at its position.

mod config;
mod context;
mod error;
mod listener;
mod oauth;
mod payload;
mod provision;
mod publisher;
mod start_by_name;
pub mod telemetry;
mod topics;

pub use crate::config::{
    KafkaConfig, KafkaIdentity, KafkaSecurity, KafkaTls, KafkaTrust, OAuthBearer,
};
pub use crate::listener::{PolicyUpdateCallback, PolicyUpdateListener};
pub use crate::provision::ensure_topics;
pub use crate::publisher::KafkaEventPublisher;
pub use crate::start_by_name::StartByNameConsumer;
pub use crate::topics::{InvalidTopicName, Topic, TopicNames, TopicNaming};
