//! The Kafka publisher passes the `EventPublisher` contract against a real broker, writes
//! the documented payloads and headers, every replica's listener hears active-policy
//! changes, and an unreachable broker is a bounded `Unavailable`.
//!
//! The broker tests read `APP_TEST_KAFKA_BROKERS` (a bootstrap list, e.g. `127.0.0.1:9092`)
//! and work on topics of a random environment (`t<uuid>.`) that each test creates, so they
//! share one broker with anything else.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapter_kafka::{
    KafkaConfig, KafkaEventPublisher, PolicyUpdateListener, Topic, TopicNames, TopicNaming,
};
use domain::model::{
    ApplicationId, AuditAction, AuditRecord, BuildId, Checksum, ConfigKey, DomainEvent, EntityRef,
    OutboxRecord, WorkspaceId,
};
use domain::ports::{EventPublisher, PortError};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::message::{Headers as _, Message as _};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long a test waits for what it expects from the broker.
const PATIENCE: Duration = Duration::from_secs(60);

/// A configuration for `brokers` whose topics live in an environment no other test uses.
fn config(brokers: &str) -> KafkaConfig {
    let naming = TopicNaming {
        environment: format!("t{}.", Uuid::new_v4().simple()),
        ..TopicNaming::default()
    };
    let mut config = KafkaConfig::new(brokers);
    config.topics = TopicNames::new(&naming, []).unwrap();
    config.message_timeout = Duration::from_secs(20);
    config.client_id = "rtm-adapter-kafka-tests".to_owned();
    config
}

/// Creates every topic of `config` with `partitions` partitions.
async fn create_topics(config: &KafkaConfig, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", &config.bootstrap_servers).create().unwrap();
    let new_topics: Vec<NewTopic<'_>> = config
        .topics
        .iter()
        .map(|(_, name)| NewTopic::new(name, partitions, TopicReplication::Fixed(1)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    for result in admin.create_topics(&new_topics, &options).await.unwrap() {
        result.unwrap_or_else(|(topic, code)| panic!("creating topic {topic}: {code:?}"));
    }
}

/// A message as a consumer sees it.
#[derive(Debug)]
struct Consumed {
    topic: String,
    key: String,
    headers: BTreeMap<String, String>,
    payload: Value,
}

/// Reads `topics` from the beginning until `count` messages came, or panics after
/// [`PATIENCE`].
async fn consume(brokers: &str, topics: &[&str], count: usize) -> Vec<Consumed> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("rtm-test-reader-{}", Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(topics).unwrap();
    let mut consumed = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while consumed.len() < count {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(remaining, consumer.recv())
            .await
            .unwrap_or_else(|_| {
                panic!("only {} of {count} messages arrived: {consumed:#?}", consumed.len())
            })
            .unwrap();
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|header| {
                        (
                            header.key.to_owned(),
                            String::from_utf8(header.value.unwrap().to_vec()).unwrap(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        consumed.push(Consumed {
            topic: message.topic().to_owned(),
            key: String::from_utf8(message.key().unwrap().to_vec()).unwrap(),
            headers,
            payload: serde_json::from_slice(message.payload().unwrap()).unwrap(),
        });
    }
    consumed
}

/// The outbox record a (non-audit) payload was made from, read back by the documented
/// wire format.
fn decode(payload: &Value) -> OutboxRecord {
    let text =
        |field: &str| payload[field].as_str().unwrap_or_else(|| panic!("no {field} in {payload}"));
    let application_id = ApplicationId::parse(text("appId")).unwrap();
    let event = match text("eventType") {
        "BUILD_IMPORTED" => DomainEvent::BuildImported {
            application_id,
            workspace_id: payload
                .get("workspaceId")
                .map(|id| WorkspaceId::parse(id.as_str().unwrap()).unwrap()),
            build_id: BuildId::parse(text("buildId")).unwrap(),
            checksum: Checksum::parse(text("checksum")).unwrap(),
        },
        "BUILD_DELETED" => DomainEvent::BuildDeleted {
            application_id,
            build_id: BuildId::parse(text("buildId")).unwrap(),
        },
        "ACTIVE_POLICY_UPDATED" => DomainEvent::ActivePolicyUpdated { application_id },
        "CONFIG_OVERRIDES_UPDATED" => DomainEvent::ConfigOverridesUpdated {
            application_id,
            keys: payload["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|key| ConfigKey::parse(key.as_str().unwrap()).unwrap())
                .collect(),
        },
        other => panic!("unexpected event type {other}"),
    };
    OutboxRecord {
        sequence: payload["sequence"].as_u64().unwrap(),
        event,
        recorded_at: OffsetDateTime::parse(text("timestamp"), &Rfc3339).unwrap(),
    }
}

/// Kafka orders messages per partition, so the order is checked topic by topic (each
/// application's records of one topic share a partition through their key).
fn assert_published_in_order_per_topic(
    config: &KafkaConfig,
    consumed: &[Consumed],
    sent: &[OutboxRecord],
) {
    for (_, topic) in config.topics.iter() {
        let delivered: Vec<OutboxRecord> = consumed
            .iter()
            .filter(|message| message.topic == topic)
            .map(|message| decode(&message.payload))
            .collect();
        let sent_here: Vec<OutboxRecord> = sent
            .iter()
            .filter(|record| config.topics.of(&record.event) == topic)
            .cloned()
            .collect();
        port_contracts::events::assert_published_in_order(&delivered, &sent_here);
    }
}

fn all_topics(config: &KafkaConfig) -> Vec<&str> {
    config.topics.iter().map(|(_, name)| name).collect()
}

fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_millisecond(now.millisecond()).unwrap()
}

#[tokio::test]
async fn the_kafka_publisher_honours_the_event_publisher_contract() {
    test_support::init_tracing();
    let Some(brokers) = test_support::backend_url("APP_TEST_KAFKA_BROKERS") else { return };
    let config = config(&brokers);
    create_topics(&config, 2).await;
    let publisher = KafkaEventPublisher::connect(&config).await.unwrap();

    let sent = port_contracts::events::run_all(&publisher).await;

    let consumed = consume(&brokers, &all_topics(&config), sent.len()).await;
    assert_published_in_order_per_topic(&config, &consumed, &sent);
    for message in &consumed {
        let record = decode(&message.payload);
        assert_eq!(message.key, record.event.application_id().to_string(), "keyed by application");
        assert_eq!(message.topic, config.topics.of(&record.event));
    }
}

#[tokio::test]
async fn records_of_one_application_arrive_in_the_order_given_on_each_topic() {
    test_support::init_tracing();
    let Some(brokers) = test_support::backend_url("APP_TEST_KAFKA_BROKERS") else { return };
    let config = config(&brokers);
    create_topics(&config, 2).await;
    let publisher = KafkaEventPublisher::connect(&config).await.unwrap();
    let application_id = ApplicationId::random();
    let records: Vec<OutboxRecord> = (1..=40)
        .map(|sequence| OutboxRecord {
            sequence,
            event: if sequence % 3 == 0 {
                DomainEvent::BuildDeleted { application_id, build_id: BuildId::random() }
            } else {
                DomainEvent::ActivePolicyUpdated { application_id }
            },
            recorded_at: now(),
        })
        .collect();

    // In two calls, as the relay would send two batches.
    publisher.publish(&records[..25]).await.unwrap();
    publisher.publish(&records[25..]).await.unwrap();

    let consumed = consume(&brokers, &all_topics(&config), records.len()).await;
    assert_published_in_order_per_topic(&config, &consumed, &records);
}

#[tokio::test]
async fn an_audit_event_is_consumed_with_its_payload_and_headers() {
    test_support::init_tracing();
    let Some(brokers) = test_support::backend_url("APP_TEST_KAFKA_BROKERS") else { return };
    let mut config = config(&brokers);
    config.organization_id = Some("00000000-0000-4000-8000-0000000000aa".to_owned());
    create_topics(&config, 2).await;
    let publisher = KafkaEventPublisher::connect(&config).await.unwrap();
    let application_id = ApplicationId::random();
    let workspace_id = WorkspaceId::random();
    let build_id = BuildId::random();
    let at = OffsetDateTime::parse("2026-11-24T10:15:30.250Z", &Rfc3339).unwrap();
    let record = OutboxRecord {
        sequence: 9,
        event: DomainEvent::Audit(AuditRecord {
            action: AuditAction::DeleteBuild,
            entity: EntityRef::Build(build_id),
            application_id,
            workspace_id: Some(workspace_id),
            username: "alice".to_owned(),
            at,
        }),
        recorded_at: now(),
    };

    publisher.publish(std::slice::from_ref(&record)).await.unwrap();

    let audit_topic = config.topics.get(Topic::Audit);
    assert!(
        audit_topic.ends_with(".core.trigger.save.audit.v1")
            && audit_topic.starts_with("ai.flowx.t")
    );
    let consumed = consume(&brokers, &[audit_topic], 1).await;
    let message = &consumed[0];
    assert_eq!(message.key, application_id.to_string());
    assert_eq!(
        message.headers,
        BTreeMap::from([
            ("Fx-AppId".to_owned(), application_id.to_string()),
            ("Fx-WorkspaceId".to_owned(), workspace_id.to_string()),
            ("Fx-Organization-Id".to_owned(), "00000000-0000-4000-8000-0000000000aa".to_owned()),
        ])
    );
    assert_eq!(
        message.payload,
        json!({
            "eventType": "AUDIT",
            "sequence": 9,
            "timestamp": "2026-11-24T10:15:30.25Z",
            "user": "alice",
            "subject": { "type": "BUILD", "id": build_id.to_string() },
            "action": "DELETE",
            "appId": application_id.to_string(),
            "workspaceId": workspace_id.to_string(),
            "buildId": build_id.to_string(),
            "status": "SUCCESS",
            "details": { "operation": "DELETE_BUILD" },
        })
    );
}

/// A listener whose callback forwards what it hears.
fn listener(
    config: &KafkaConfig,
    cancel: &CancellationToken,
) -> (tokio::task::JoinHandle<()>, mpsc::UnboundedReceiver<(ApplicationId, u64)>) {
    let (heard, hearing) = mpsc::unbounded_channel();
    let handle = PolicyUpdateListener::spawn(
        config,
        Arc::new(move |application_id, revision| {
            // The test may have stopped listening already.
            let _ = heard.send((application_id, revision));
        }),
        cancel.clone(),
    );
    (handle, hearing)
}

#[tokio::test]
async fn every_replica_hears_an_active_policy_update_and_skips_malformed_messages() {
    test_support::init_tracing();
    let Some(brokers) = test_support::backend_url("APP_TEST_KAFKA_BROKERS") else { return };
    let config = config(&brokers);
    // One partition: the garbage below is certainly read before the update that follows it.
    create_topics(&config, 1).await;
    let publisher = KafkaEventPublisher::connect(&config).await.unwrap();
    let cancel = CancellationToken::new();
    let (first_replica, mut first_heard) = listener(&config, &cancel);
    let (second_replica, mut second_heard) = listener(&config, &cancel);
    let update = |application_id, sequence| OutboxRecord {
        sequence,
        event: DomainEvent::ActivePolicyUpdated { application_id },
        recorded_at: now(),
    };

    // The listeners start at the end of the topic once they have joined their groups, which
    // takes a moment: send the update again until both have heard it.
    let joined = ApplicationId::random();
    let deadline = Instant::now() + PATIENCE;
    let (mut first, mut second) = (false, false);
    while !(first && second) {
        assert!(
            Instant::now() < deadline,
            "heard by the first replica: {first}, by the second: {second}"
        );
        publisher.publish(&[update(joined, 1)]).await.unwrap();
        let round = tokio::time::sleep(Duration::from_secs(1));
        tokio::pin!(round);
        while !(first && second) {
            tokio::select! {
                Some(heard) = first_heard.recv() => { assert_eq!(heard, (joined, 1)); first = true; }
                Some(heard) = second_heard.recv() => { assert_eq!(heard, (joined, 1)); second = true; }
                () = &mut round => break,
            }
        }
    }

    // Both are reading now: garbage, then an update of another application.
    let raw: FutureProducer =
        ClientConfig::new().set("bootstrap.servers", &brokers).create().unwrap();
    let topic = config.topics.get(Topic::ActivePolicyUpdated);
    for garbage in [
        &b"not json"[..],
        br#"{"eventType":"ACTIVE_POLICY_UPDATED","appId":"not-a-uuid"}"#,
        br#"{"appId":"3f1c2d9e-0000-4000-8000-000000000001"}"#,
    ] {
        raw.send(FutureRecord::<str, [u8]>::to(topic).payload(garbage), Duration::from_secs(10))
            .await
            .unwrap();
    }
    let changed = ApplicationId::random();
    publisher.publish(&[update(changed, 2)]).await.unwrap();

    for heard in [&mut first_heard, &mut second_heard] {
        // Repeats of the first update may still be on their way.
        let got = loop {
            let got = tokio::time::timeout(PATIENCE, heard.recv())
                .await
                .expect("the replica hears the update after the garbage")
                .unwrap();
            if got.0 != joined {
                break got;
            }
        };
        assert_eq!(
            got,
            (changed, 2),
            "nothing but the updates reaches the callback, with its sequence"
        );
    }

    cancel.cancel();
    for replica in [first_replica, second_replica] {
        tokio::time::timeout(PATIENCE, replica).await.expect("a cancelled listener stops").unwrap();
    }
}

#[tokio::test]
async fn a_publisher_to_a_closed_port_fails_unavailable_within_its_timeout() {
    test_support::init_tracing();
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut config = config(&format!("127.0.0.1:{port}"));
    config.message_timeout = Duration::from_secs(2);
    let publisher = KafkaEventPublisher::connect(&config).await.unwrap();
    let record = OutboxRecord {
        sequence: 1,
        event: DomainEvent::ActivePolicyUpdated { application_id: ApplicationId::random() },
        recorded_at: now(),
    };

    let started = Instant::now();
    let err = publisher.publish(&[record]).await.unwrap_err();
    let took = started.elapsed();

    assert!(matches!(err, PortError::Unavailable(_)), "{err:?}");
    assert!(took < Duration::from_secs(4), "gave up after {took:?}, the timeout is 2 s");
}
