//! Kafka start-by-name with two `rtm` replicas in one consumer group on the local service
//! stack: one replica is killed (SIGKILL) while requests stream in and is started again,
//! as Kubernetes restarts a pod, and every request is still answered, exactly once, in
//! order per partition.
//!
//! The restart is what lets the test pass on tansu 0.6: when a member of a group dies,
//! tansu drops it after the session timeout but keeps answering the survivors' `SyncGroup`
//! with the generation's old assignment, so the dead member's partitions stay unread until
//! a member joins (Apache Kafka hands them to the survivors).
//!
//! The replicas point `RTM_PROCESS_ENGINE_URL` at a recording HTTP server of this test.
//! Whether they start processes through it (an engine adapter is wired) or answer
//! `process_engine_not_configured` (none is), the delivery checked here is the same.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adapter_kafka::{Topic, TopicNames, TopicNaming};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::message::{Header, Headers as _, Message as _, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::real_backends::{
    Isolated, LOAN_APP, LOAN_BUILD_1, Rtm, Stack, import_examples, operator, rtm_env, set_policy,
    token,
};

/// Requests sent while the replicas run; one replica dies among them.
const REQUESTS: usize = 80;
/// Partitions of the request and reply topics: one per replica.
const PARTITIONS: i32 = 2;
/// How long the test waits for every reply (a dead member leaves the group after 10 s).
const PATIENCE: Duration = Duration::from_secs(120);

/// A reply as the test reads it.
#[derive(Debug, Clone)]
struct Reply {
    partition: i32,
    correlation: String,
    request_id: String,
    body: Value,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_killed_mid_stream_loses_no_request_and_none_is_answered_twice() {
    test_support::init_tracing();
    let Some(stack) = Stack::from_env() else { return };
    let isolated = Isolated::new();
    let engine = RecordingEngine::start().await;
    let mut env = rtm_env(&stack, &isolated, None);
    let group = format!("processStartGroup-{}", uuid::Uuid::new_v4().simple());
    env.insert("KAFKA_CONSUMER_GROUPID_PROCESS_START".into(), group);
    env.insert("RTM_PROCESS_ENGINE_URL".into(), engine.url.clone());
    let naming = TopicNaming {
        environment: env["KAFKA_TOPIC_NAMING_ENVIRONMENT"].clone(),
        ..TopicNaming::default()
    };
    let topics = TopicNames::new(&naming, []).unwrap();
    let (request_topic, reply_topic) =
        (topics.get(Topic::StartByNameIn).to_owned(), topics.get(Topic::StartByNameOut).to_owned());
    create_topics(&stack_brokers(&env), &[&request_topic, &reply_topic]).await;

    // The survivor joins the group first, so that the replica killed is not the group's
    // leader (tansu keeps a dead leader as the leader of its group).
    let survivor = Rtm::start(&env).await;
    wait_until(&Mutex::new(Vec::new()), &survivor, |_| {
        survivor.log_text().contains("start-by-name partitions change hands")
    })
    .await;
    let mut doomed = Rtm::start(&env).await;
    // The stream starts once the second replica holds a partition: on a loaded machine the
    // rebalance can outlast the whole stream, which would leave it nothing to answer.
    wait_until(&Mutex::new(Vec::new()), &doomed, |_| partition_changes(&doomed) >= 1).await;
    let admin = operator(&stack).await;
    import_examples(&survivor, &admin).await;
    set_policy(&survivor, &admin, LOAN_BUILD_1).await;
    let user = token(&stack, "alice", &[], &[]).await;

    let replies = Arc::new(Mutex::new(Vec::new()));
    let reader =
        tokio::spawn(read_replies(stack_brokers(&env), reply_topic.clone(), replies.clone()));
    let sender = {
        let (brokers, topic, user) = (stack_brokers(&env), request_topic.clone(), user.clone());
        tokio::spawn(async move {
            let producer = producer(&brokers);
            for i in 0..REQUESTS {
                let partition = i32::try_from(i).unwrap() % PARTITIONS;
                send(&producer, &topic, partition, &format!("c-{i}"), &user).await;
                // A steady stream, so that the kill lands while requests are under way.
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        })
    };

    // Both replicas answer requests (each has a partition), then one dies.
    wait_for(&replies, REQUESTS / 5, &survivor).await;
    for replica in [&doomed, &survivor] {
        wait_until(&replies, replica, |_| answers_requests(replica)).await;
    }
    let changes_before = partition_changes(&survivor);
    doomed.kill();
    // The group notices the death after its session timeout (a revocation and an
    // assignment on the survivor); only then does the replacement join, so that tansu forms
    // the next generation from live members.
    wait_until(&replies, &survivor, |_| partition_changes(&survivor) >= changes_before + 2).await;
    let restarted = Rtm::start(&env).await;
    sender.await.unwrap();
    // One last request per partition: a reply to it means every earlier request of its
    // partition is answered for good (each reply partition has one writer, in order).
    let producer = producer(&stack_brokers(&env));
    for partition in 0..PARTITIONS {
        send(&producer, &request_topic, partition, &format!("last-{partition}"), &user).await;
    }
    wait_until(&replies, &survivor, |replies| {
        (0..PARTITIONS).all(|partition| {
            replies.iter().any(|reply| reply.correlation == format!("last-{partition}"))
        })
    })
    .await;
    reader.abort();
    // What the kill left to recover from differs from run to run; the log says which.
    let skipped = [&survivor, &restarted]
        .iter()
        .map(|rtm| rtm.log_text().matches("committed without a second reply").count())
        .sum::<usize>();
    eprintln!("take-overs that found replies written but not committed: {skipped}");

    let replies = replies.lock().unwrap().clone();
    let mut per_correlation: BTreeMap<&str, usize> = BTreeMap::new();
    let mut per_request_id: BTreeMap<&str, usize> = BTreeMap::new();
    for reply in &replies {
        *per_correlation.entry(&reply.correlation).or_default() += 1;
        *per_request_id.entry(&reply.request_id).or_default() += 1;
    }
    let twice: Vec<_> = per_request_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "answered more than once: {twice:?}\n{}", survivor.log_text());
    let lost: Vec<String> = (0..REQUESTS)
        .map(|i| format!("c-{i}"))
        .filter(|correlation| !per_correlation.contains_key(correlation.as_str()))
        .collect();
    assert!(lost.is_empty(), "never answered: {lost:?}\n{}", survivor.log_text());
    assert_eq!(replies.len(), REQUESTS + usize::try_from(PARTITIONS).unwrap());
    for partition in 0..PARTITIONS {
        let order: Vec<i64> = replies
            .iter()
            .filter(|reply| reply.partition == partition)
            .map(|reply| reply.request_id.rsplit('/').next().unwrap().parse().unwrap())
            .collect();
        assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "in request order: {order:?}");
        assert!(
            replies.iter().filter(|reply| reply.partition == partition).all(|reply| reply
                .request_id
                .starts_with(&format!("{request_topic}/{partition}/"))),
            "replies to request partition {partition} are on reply partition {partition}"
        );
    }
    // Every reply is of one kind: the engine's answer (an engine is wired; then it saw a
    // start for every request) or, without an engine, the same refusal for all.
    let codes: std::collections::BTreeSet<Option<&str>> =
        replies.iter().map(|reply| reply.body["error"]["code"].as_str()).collect();
    match codes.iter().next().copied().flatten() {
        None => {
            assert_eq!(codes.len(), 1, "every start succeeded: {codes:?}");
            let started = engine.starts();
            for reply in &replies {
                assert!(
                    started.iter().any(|body| body.contains(&reply.correlation)),
                    "the engine saw {}",
                    reply.correlation
                );
            }
        }
        Some(code) => {
            assert_eq!(code, "process_engine_not_configured", "{codes:?}");
            assert_eq!(codes.len(), 1, "{codes:?}");
        }
    }
}

/// How many partition assignments and revocations `rtm` has logged.
fn partition_changes(rtm: &Rtm) -> usize {
    rtm.log_text().matches("start-by-name partitions change hands").count()
}

/// Whether `rtm` has answered a start-by-name request (its log says so for each one).
fn answers_requests(rtm: &Rtm) -> bool {
    let log = rtm.log_text();
    log.contains("process started") || log.contains("start-by-name refused")
}

fn stack_brokers(env: &BTreeMap<String, String>) -> String {
    env["SPRING_KAFKA_BOOTSTRAPSERVERS"].clone()
}

async fn create_topics(brokers: &str, names: &[&str]) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", brokers).create().unwrap();
    let topics: Vec<NewTopic<'_>> = names
        .iter()
        .map(|name| NewTopic::new(name, PARTITIONS, TopicReplication::Fixed(1)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    for result in admin.create_topics(&topics, &options).await.unwrap() {
        result.unwrap_or_else(|(topic, code)| panic!("creating topic {topic}: {code:?}"));
    }
}

fn producer(brokers: &str) -> FutureProducer {
    ClientConfig::new().set("bootstrap.servers", brokers).create().unwrap()
}

async fn send(
    producer: &FutureProducer,
    topic: &str,
    partition: i32,
    correlation: &str,
    user: &str,
) {
    let headers = OwnedHeaders::new()
        .insert(Header { key: "Fx-ProcessName", value: Some("loan_application") })
        .insert(Header { key: "Fx-AppId", value: Some(LOAN_APP) })
        .insert(Header { key: "jwt", value: Some(user) })
        .insert(Header { key: "correlation", value: Some(correlation) });
    let body = format!(r#"{{"correlation":"{correlation}"}}"#);
    producer
        .send(
            FutureRecord::<str, str>::to(topic)
                .partition(partition)
                .key(correlation)
                .payload(&body)
                .headers(headers),
            Duration::from_secs(20),
        )
        .await
        .unwrap();
}

/// Reads every reply, as a `read_committed` reader, into `replies`.
async fn read_replies(brokers: String, topic: String, replies: Arc<Mutex<Vec<Reply>>>) {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", format!("rtm-test-reader-{}", uuid::Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()
        .unwrap();
    consumer.subscribe(&[&topic]).unwrap();
    loop {
        let message = consumer.recv().await.unwrap();
        let header = |name: &str| {
            message.headers().and_then(|headers| {
                headers.iter().filter(|header| header.key == name).last().and_then(|header| {
                    header.value.map(|value| String::from_utf8(value.to_vec()).unwrap())
                })
            })
        };
        let reply = Reply {
            partition: message.partition(),
            correlation: header("correlation").unwrap_or_default(),
            request_id: header("rtm-request-id").unwrap_or_default(),
            body: serde_json::from_slice(message.payload().unwrap_or_default())
                .unwrap_or(Value::Null),
        };
        replies.lock().unwrap().push(reply);
    }
}

async fn wait_for(replies: &Mutex<Vec<Reply>>, count: usize, rtm: &Rtm) {
    wait_until(replies, rtm, |replies| replies.len() >= count).await;
}

async fn wait_until(replies: &Mutex<Vec<Reply>>, rtm: &Rtm, done: impl Fn(&[Reply]) -> bool) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        {
            let replies = replies.lock().unwrap();
            if done(&replies) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} replies after {PATIENCE:?}: {:#?}\n{}",
                replies.len(),
                replies.iter().map(|reply| &reply.correlation).collect::<Vec<_>>(),
                rtm.log_text()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A process engine that records every request body and answers each with a start DTO.
struct RecordingEngine {
    url: String,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl RecordingEngine {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let recorded = bodies.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                tokio::spawn(answer(stream, recorded.clone()));
            }
        });
        Self { url, bodies }
    }

    fn starts(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

/// Serves one connection: reads requests (head, then `Content-Length` bytes of body),
/// records each body and answers 200 with a start DTO.
async fn answer(mut stream: tokio::net::TcpStream, bodies: Arc<Mutex<Vec<String>>>) {
    let mut buffer = Vec::new();
    loop {
        let head_end = loop {
            if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0_u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
        while buffer.len() < head_end + length {
            let mut chunk = [0_u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        let body = String::from_utf8_lossy(&buffer[head_end..head_end + length]).into_owned();
        buffer.drain(..head_end + length);
        let n = {
            let mut bodies = bodies.lock().unwrap();
            bodies.push(body);
            bodies.len()
        };
        let answer = format!(r#"{{"uuid":"00000000-0000-4000-8000-{n:012}","state":"STARTED"}}"#);
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}
