//! Kafka start-by-name against a real broker: the consumer answers each request on the reply
//! topic with the request's headers and the engine's answer (or an error object), commits
//! the request's offset with the reply, answers poison messages without blocking their
//! partition, retries an unreachable engine within its bound and nothing else, and never
//! answers a request twice when a replica that answered it died before its commit.
//!
//! The use case runs over the in-memory fakes with a recording engine; tokens are signed
//! by a local key and checked by the REST API's own `TokenValidator`. Each test works on
//! topics of a random environment and a consumer group of its own, created here, on the
//! broker named by `APP_TEST_KAFKA_BROKERS` (`cargo xtask services up`).

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use adapter_kafka::{KafkaConfig, StartByNameConsumer, Topic, TopicNames, TopicNaming};
use adapter_memory::{Fakes, InMemoryProcessEngine, ScriptedAnswer};
use domain::builds::{BuildService, ImportOutcome, ImportRequest};
use domain::model::{ApplicationId, Build, BuildId, PolicyTarget, Principal, SubjectType};
use domain::runtime::{
    OverrideInput, PolicyService, ProcessStartService, StartByNameService, StartRetry,
};
use http_api::auth::{LocalIssuer, StaticKeys, TokenPolicy, TokenRequest, TokenValidator};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer as _, StreamConsumer};
use rdkafka::message::{Header, Headers as _, Message as _, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::{Value, json};
use test_support::BuildFixture;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long a test waits for what it expects from the broker.
const PATIENCE: Duration = Duration::from_secs(60);
/// The process every test build has.
const PROCESS: &str = "onboarding";

/// Message headers as the test writes them.
type Headers = Vec<(String, String)>;

/// One test's topics, group, stores, engine and signing key.
struct Env {
    brokers: String,
    config: KafkaConfig,
    fakes: Fakes,
    engine: Arc<InMemoryProcessEngine>,
    issuer: LocalIssuer,
    application_id: ApplicationId,
    /// The build of the global policy.
    global_build: BuildId,
    /// The build of alice's USER override.
    alice_build: BuildId,
}

impl Env {
    /// Topics with `partitions` partitions, an application with a global build and a build
    /// for alice, both with the process [`PROCESS`].
    async fn new(brokers: &str, partitions: i32) -> Self {
        let naming = TopicNaming {
            environment: format!("t{}.", Uuid::new_v4().simple()),
            ..TopicNaming::default()
        };
        let mut config = KafkaConfig::new(brokers);
        config.topics = TopicNames::new(&naming, []).unwrap();
        config.message_timeout = Duration::from_secs(20);
        config.client_id = "rtm-start-by-name-tests".to_owned();
        config.process_start_group_id = format!("startGroup-{}", Uuid::new_v4().simple());
        create_topics(&config, partitions).await;

        let fakes = Fakes::new();
        let ports = fakes.ports();
        let builds = BuildService::new(ports.clone());
        let policies = PolicyService::new(ports);
        let application_id = ApplicationId::random();
        let global = BuildFixture::new(application_id).resource("PROCESS", PROCESS).build();
        let alice = BuildFixture::new(application_id).resource("PROCESS", PROCESS).build();
        for build in [&global, &alice] {
            match builds.import(&admin(), import_request(build)).await.unwrap() {
                ImportOutcome::Created(_) => {}
                other => panic!("a new build should be created, got {other:?}"),
            }
        }
        policies.set(&admin(), application_id, PolicyTarget::Build(global.id())).await.unwrap();
        policies
            .add_override(
                &admin(),
                application_id,
                OverrideInput {
                    subject_type: SubjectType::User,
                    subject_id: "alice".to_owned(),
                    target: PolicyTarget::Build(alice.id()),
                },
            )
            .await
            .unwrap();
        Self {
            brokers: brokers.to_owned(),
            config,
            fakes,
            engine: Arc::new(InMemoryProcessEngine::new()),
            issuer: LocalIssuer::generate().unwrap(),
            application_id,
            global_build: global.id(),
            alice_build: alice.id(),
        }
    }

    fn request_topic(&self) -> &str {
        self.config.topics.get(Topic::StartByNameIn)
    }

    fn reply_topic(&self) -> &str {
        self.config.topics.get(Topic::StartByNameOut)
    }

    /// The use case over this test's fakes, retrying for at most `retry_bound`.
    fn service(&self, retry_bound: Duration) -> StartByNameService {
        let tokens = TokenValidator::new(
            Arc::new(StaticKeys::new(self.issuer.key_set())),
            TokenPolicy {
                issuers: vec![LocalIssuer::ISSUER.to_owned()],
                audience: None,
                leeway_seconds: 0,
            },
        );
        StartByNameService::new(
            ProcessStartService::new(self.fakes.ports(), Some(self.engine.clone())),
            Arc::new(tokens),
            StartRetry::within(retry_bound),
        )
    }

    /// A consumer (a replica) until `cancel` fires.
    fn replica(
        &self,
        retry_bound: Duration,
        cancel: &CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        StartByNameConsumer::spawn(&self.config, self.service(retry_bound), cancel.clone())
    }

    /// A token for `user`, valid for an hour.
    fn token(&self, user: &str) -> String {
        self.issuer.issue(&token_request(user)).unwrap()
    }

    /// The headers of a well-formed request by `user` carrying `correlation`.
    fn headers(&self, user: &str, correlation: &str) -> Vec<(String, String)> {
        vec![
            ("Fx-ProcessName".to_owned(), PROCESS.to_owned()),
            ("Fx-AppId".to_owned(), self.application_id.to_string()),
            ("jwt".to_owned(), self.token(user)),
            ("correlation".to_owned(), correlation.to_owned()),
        ]
    }

    /// Sends a request to `partition`; returns its offset.
    async fn send(&self, partition: i32, headers: &[(String, String)], body: &[u8]) -> i64 {
        let producer: FutureProducer =
            ClientConfig::new().set("bootstrap.servers", &self.brokers).create().unwrap();
        let mut owned = OwnedHeaders::new();
        for (key, value) in headers {
            owned = owned.insert(Header { key, value: Some(value.as_bytes()) });
        }
        let record = FutureRecord::<str, [u8]>::to(self.request_topic())
            .partition(partition)
            .key("request-key")
            .payload(body)
            .headers(owned);
        let delivered = producer.send(record, Duration::from_secs(20)).await.unwrap();
        assert_eq!(delivered.partition, partition);
        delivered.offset
    }

    /// Reads the reply topic from the start until `count` replies came.
    async fn replies(&self, count: usize) -> Vec<Consumed> {
        read_committed(&self.brokers, self.reply_topic(), count).await
    }

    /// The offset the group has committed on partition 0 of the request topic.
    fn committed(&self) -> Option<i64> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .set("group.id", &self.config.process_start_group_id)
            .create()
            .unwrap();
        let mut partitions = TopicPartitionList::new();
        partitions.add_partition(self.request_topic(), 0);
        let committed = consumer.committed_offsets(partitions, Duration::from_secs(10)).unwrap();
        match committed.find_partition(self.request_topic(), 0).unwrap().offset() {
            Offset::Offset(offset) => Some(offset),
            _ => None,
        }
    }
}

fn token_request(user: &str) -> TokenRequest {
    TokenRequest {
        subject: user.to_owned(),
        groups: Vec::new(),
        roles: Vec::new(),
        client_id: None,
        ttl_seconds: 3600,
    }
}

fn admin() -> Principal {
    Principal {
        subject: "admin".to_owned(),
        username: Some("admin".to_owned()),
        groups: Default::default(),
        roles: Default::default(),
        client_id: None,
    }
}

fn import_request(build: &Build) -> ImportRequest {
    ImportRequest {
        build: build.clone(),
        resources: test_support::resources_of(build),
        binaries: Vec::new(),
        timers: Vec::new(),
        archive: bytes::Bytes::from(format!("archive of {}", build.id())),
        expected_application: None,
    }
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

/// A reply as the test reads it.
#[derive(Debug, Clone)]
struct Consumed {
    partition: i32,
    key: Option<String>,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Consumed {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    fn error_code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }
}

/// Reads `topic` from the start, as a `read_committed` reader, until `count` messages came.
async fn read_committed(brokers: &str, topic: &str, count: usize) -> Vec<Consumed> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("rtm-test-reader-{}", Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut consumed = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while consumed.len() < count {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(remaining, consumer.recv())
            .await
            .unwrap_or_else(|_| {
                panic!("only {} of {count} replies arrived: {consumed:#?}", consumed.len())
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
                            String::from_utf8(header.value.unwrap_or_default().to_vec()).unwrap(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        consumed.push(Consumed {
            partition: message.partition(),
            key: message.key().map(|key| String::from_utf8(key.to_vec()).unwrap()),
            headers,
            body: serde_json::from_slice(message.payload().unwrap()).unwrap(),
        });
    }
    consumed
}

/// Polls `check` until it holds or [`PATIENCE`] runs out.
async fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_answered_with_the_engine_answer_under_its_own_headers_on_the_users_build() {
    test_support::init_tracing();
    let Some(brokers) = test_support::backend_url("APP_TEST_KAFKA_BROKERS") else { return };
    let env = Env::new(&brokers, 1).await;
    let cancel = CancellationToken::new();
    let replica = env.replica(Duration::from_secs(5), &cancel);
    let headers = env.headers("alice", "req-1");
    let token = headers.iter().find(|(key, _)| key == "jwt").unwrap().1.clone();

    let offset = env.send(0, &headers, br#"{"clientId": 42}"#).await;

    let reply = env.replies(1).await.remove(0);
    let starts = env.engine.starts();
    assert_eq!(starts.len(), 1, "one start");
    let start = &starts[0];
    assert_eq!(start.build_id, env.alice_build, "alice's override build, not the global one");
    assert_ne!(start.build_id, env.global_build);
    assert_eq!(start.application_id, env.application_id);
    assert_eq!(start.process_name.as_str(), PROCESS);
    assert_eq!(start.body.as_str(), r#"{"clientId": 42}"#, "the start data as sent");
    assert_eq!(
        start.credentials.expose(),
        format!("Bearer {token}"),
        "the user's token, passed on"
    );
    assert_eq!(
        reply.body,
        json!({
            "uuid": "00000000-0000-4000-8000-000000000000",
            "state": "STARTED",
            "buildId": env.alice_build.to_string(),
            "applicationId": env.application_id.to_string(),
            "processDefinitionName": PROCESS,
        }),
        "the engine's answer, as it gave it"
    );
    let mut expected_headers = headers.clone();
    expected_headers
        .push(("rtm-request-id".to_owned(), format!("{}/0/{offset}", env.request_topic())));
    assert_eq!(reply.headers, expected_headers, "the request's headers, then the request id");
    assert_eq!(reply.key.as_deref(), Some("request-key"));
    assert_eq!(reply.partition, 0);
    eventually("the offset is committed with the reply", || env.committed() == Some(offset + 1))
        .await;

    cancel.cancel();
    tokio::time::timeout(PATIENCE, replica).await.expect("a cancelled consumer stops").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_messages_are_answered_in_order_committed_and_do_not_block_the_next_request() {
    test_support::init_tracing();
    let Some(brokers) = test_support::backend_url("APP_TEST_KAFKA_BROKERS") else { return };
    let env = Env::new(&brokers, 1).await;
    let without = |name: &str, correlation: &str| {
        let mut headers = env.headers("bob", correlation);
        headers.retain(|(key, _)| key != name);
        headers
    };
    let with = |name: &str, value: String, correlation: &str| {
        let mut headers = without(name, correlation);
        headers.push((name.to_owned(), value));
        headers
    };
    let an_hour_ago =
        u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap() - 7200;
    let expired = env.issuer.issue_at(&token_request("bob"), an_hour_ago).unwrap();
    let stranger = LocalIssuer::generate().unwrap().issue(&token_request("bob")).unwrap();
    // (expected code, headers, body)
    let poison: Vec<(&str, Headers, &[u8])> = vec![
        ("missing_header", without("Fx-ProcessName", "p1"), b"{}"),
        ("missing_token", without("jwt", "p2"), b"{}"),
        ("invalid_token", with("jwt", "not-a-jwt".to_owned(), "p3"), b"{}"),
        ("invalid_token", with("jwt", stranger, "p4"), b"{}"),
        ("token_expired", with("jwt", expired, "p5"), b"{}"),
        ("malformed_json", env.headers("bob", "p6"), b"{not json"),
        ("malformed_json", env.headers("bob", "p7"), b"[1, 2]"),
        ("invalid_request", with("Fx-AppId", "not-a-uuid".to_owned(), "p8"), b"{}"),
        ("no_active_policy", with("Fx-AppId", Uuid::new_v4().to_string(), "p9"), b"{}"),
        ("process_not_found", with("Fx-ProcessName", "payments".to_owned(), "p10"), b"{}"),
    ];
    let mut last_offset = 0;
    for (_, headers, body) in &poison {
        last_offset = env.send(0, headers, body).await;
    }
    last_offset = env.send(0, &env.headers("bob", "good"), b"{}").await.max(last_offset);
    let cancel = CancellationToken::new();
    let replica = env.replica(Duration::from_secs(5), &cancel);

    let replies = env.replies(poison.len() + 1).await;

    let answered: Vec<(&str, Option<&str>)> = replies
        .iter()
        .map(|reply| (reply.header("correlation").unwrap(), reply.error_code()))
        .collect();
    let mut expected: Vec<(String, Option<&str>)> = poison
        .iter()
        .enumerate()
        .map(|(i, (code, _, _))| (format!("p{}", i + 1), Some(*code)))
        .collect();
    expected.push(("good".to_owned(), None));
    let expected: Vec<(&str, Option<&str>)> =
        expected.iter().map(|(correlation, code)| (correlation.as_str(), *code)).collect();
    assert_eq!(answered, expected, "each answered, in the order sent");
    for reply in &replies[..poison.len()] {
        assert!(
            reply.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{reply:?}"
        );
        assert!(!reply.body.to_string().contains("eyJ"), "no reply echoes a token: {reply:?}");
    }
    assert_eq!(replies.last().unwrap().body["buildId"], json!(env.global_build.to_string()));
    assert_eq!(env.engine.starts().len(), 1, "only the good request reached the engine");
    eventually("every offset is committed", || env.committed() == Some(last_offset + 1)).await;

    // Another replica of the group starts after the committed offsets: it answers only
    // what is new.
    cancel.cancel();
    tokio::time::timeout(PATIENCE, replica).await.expect("a cancelled consumer stops").unwrap();
    let cancel = CancellationToken::new();
    let next_replica = env.replica(Duration::from_secs(5), &cancel);
    env.send(0, &env.headers("bob", "after"), b"{}").await;
    let replies = env.replies(poison.len() + 2).await;
    assert_eq!(replies.last().unwrap().header("correlation"), Some("after"));
    assert_eq!(env.engine.starts().len(), 2, "nothing before it was started again");
    cancel.cancel();
    tokio::time::timeout(PATIENCE, next_replica)
        .await
        .expect("a cancelled consumer stops")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_engine_is_retried_up_to_the_bound_and_a_refusal_is_answered_at_once() {
    test_support::init_tracing();
    let Some(brokers) = test_support::backend_url("APP_TEST_KAFKA_BROKERS") else { return };
    let env = Env::new(&brokers, 1).await;
    // Unreachable for longer than the bound; then a refusal, then acceptance.
    for _ in 0..200 {
        env.engine.answer_next(ScriptedAnswer::Unreachable);
    }
    let bound = Duration::from_secs(3);
    let cancel = CancellationToken::new();
    let replica = env.replica(bound, &cancel);

    let sent = Instant::now();
    env.send(0, &env.headers("bob", "unreachable"), b"{}").await;
    let reply = env.replies(1).await.remove(0);
    let took = sent.elapsed();

    assert_eq!(reply.error_code(), Some("process_engine_unavailable"), "{reply:?}");
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("gave up after"), "{message}");
    assert!(took >= bound, "answered after {took:?}, before the {bound:?} bound");
    assert!(env.engine.starts().is_empty(), "an unreachable engine received nothing");

    // Drain what is left of the script, then refuse once: answered at once, not retried.
    let refusal =
        ScriptedAnswer::Refuse { status: 422, message: "clientId is required".to_owned() };
    let probe = env.service(bound);
    let request = domain::runtime::StartByName {
        application_id: env.application_id,
        workspace_id: None,
        process_name: domain::model::ResourceName::parse(PROCESS).unwrap(),
        token: env.token("bob"),
        body: domain::model::RawJson::from_validated("{}".to_owned()),
    };
    while env.engine.starts().is_empty() {
        // Each call takes one scripted answer; the unreachable ones record nothing.
        let _ = probe.start(&request).await;
    }
    let before = env.engine.starts().len();
    env.engine.answer_next(refusal);
    let sent = Instant::now();
    env.send(0, &env.headers("bob", "refused"), b"{}").await;
    let reply = env.replies(2).await.remove(1);
    assert_eq!(reply.error_code(), Some("process_engine_refused"), "{reply:?}");
    assert!(reply.body["error"]["message"].as_str().unwrap().contains("clientId is required"));
    assert_eq!(env.engine.starts().len(), before + 1, "one start asked, never again");
    assert!(sent.elapsed() < bound, "a refusal is not retried");

    cancel.cancel();
    tokio::time::timeout(PATIENCE, replica).await.expect("a cancelled consumer stops").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_answered_by_a_replica_that_died_before_its_commit_is_not_answered_again() {
    test_support::init_tracing();
    let Some(brokers) = test_support::backend_url("APP_TEST_KAFKA_BROKERS") else { return };
    let env = Env::new(&brokers, 1).await;
    let first = env.send(0, &env.headers("bob", "answered-by-the-dead"), b"{}").await;
    let second = env.send(0, &env.headers("bob", "not-answered-yet"), b"{}").await;
    // What a replica killed between its reply and its commit leaves: the reply on the reply
    // partition, no committed offset.
    let dead_reply = {
        let mut headers = env.headers("bob", "answered-by-the-dead");
        headers.push(("rtm-request-id".to_owned(), format!("{}/0/{first}", env.request_topic())));
        headers
    };
    let producer: FutureProducer =
        ClientConfig::new().set("bootstrap.servers", &env.brokers).create().unwrap();
    let mut owned = OwnedHeaders::new();
    for (key, value) in &dead_reply {
        owned = owned.insert(Header { key, value: Some(value.as_bytes()) });
    }
    producer
        .send(
            FutureRecord::<str, str>::to(env.reply_topic())
                .partition(0)
                .payload(r#"{"uuid":"from-the-dead-replica"}"#)
                .headers(owned),
            Duration::from_secs(20),
        )
        .await
        .unwrap();
    assert_eq!(env.committed(), None);

    let cancel = CancellationToken::new();
    let replica = env.replica(Duration::from_secs(5), &cancel);
    env.send(0, &env.headers("bob", "sentinel"), b"{}").await;

    let replies = env.replies(3).await;
    let correlations: Vec<&str> =
        replies.iter().map(|reply| reply.header("correlation").unwrap()).collect();
    assert_eq!(correlations, ["answered-by-the-dead", "not-answered-yet", "sentinel"]);
    assert_eq!(replies[0].body["uuid"], json!("from-the-dead-replica"));
    assert_eq!(env.engine.starts().len(), 2, "the answered request was not started again");
    assert!(second > first);
    eventually("every offset is committed", || env.committed() == Some(second + 2)).await;

    cancel.cancel();
    tokio::time::timeout(PATIENCE, replica).await.expect("a cancelled consumer stops").unwrap();
}
