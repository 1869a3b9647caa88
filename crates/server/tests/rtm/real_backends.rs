//! End to end over the local service stack (`cargo xtask services up`): the `rtm` binary
//! started with the original platform's variable names, checked through its API and in
//! each backend. Each test isolates itself: its own PostgreSQL schema, MongoDB database,
//! Kafka topic environment, S3 bucket and Redis key prefix.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use adapter_mongo::{MongoConfig, MongoRuntimeDataStore};
use adapter_postgres::{PgAppDataRepository, PgConfig};
use adapter_redis::{RedisCache, RedisConfig};
use adapter_s3::{S3BlobStore, S3Config};
use domain::model::BuildId;
use domain::ports::{
    BlobKey, BlobStore as _, BuildCatalog as _, Cache as _, RuntimeDataStore as _,
};
use rdkafka::Message as _;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::{free_port, rtm};

pub(crate) const LOAN_APP: &str = "7a3e5c1d-2b4f-4e8a-9c6d-1f2e3a4b5c6d";
pub(crate) const LOAN_BUILD_1: &str = "b1a1e001-0000-4000-8000-000000000001";
pub(crate) const LOAN_BUILD_2: &str = "b1a1e001-0000-4000-8000-000000000002";
const LIBRARY_BUILD: &str = "11b0a001-0000-4000-8000-000000000001";

/// The stack's addresses, from the `APP_TEST_*` variables that `cargo xtask ci` sets.
pub(crate) struct Stack {
    postgres: String,
    pub(crate) mongo: String,
    kafka: String,
    pub(crate) redis: String,
    pub(crate) s3: String,
    s3_access_key: String,
    s3_secret_key: String,
    oidc: String,
    realm: String,
}

impl Stack {
    pub(crate) fn from_env() -> Option<Self> {
        let var = |name: &str| {
            std::env::var(name)
                .unwrap_or_else(|_| panic!("{name} is not set (cargo xtask services env)"))
        };
        Some(Self {
            postgres: test_support::backend_url("APP_TEST_POSTGRES_URL")?,
            mongo: test_support::backend_url("APP_TEST_MONGO_URL")?,
            kafka: test_support::backend_url("APP_TEST_KAFKA_BROKERS")?,
            redis: test_support::backend_url("APP_TEST_REDIS_URL")?,
            s3: test_support::backend_url("APP_TEST_S3_URL")?,
            s3_access_key: var("APP_TEST_S3_ACCESS_KEY"),
            s3_secret_key: var("APP_TEST_S3_SECRET_KEY"),
            oidc: test_support::backend_url("APP_TEST_OIDC_URL")?,
            realm: std::env::var("APP_TEST_OIDC_REALM").unwrap_or_else(|_| "flowx".to_owned()),
        })
    }
}

/// One test's corner of the stack.
pub(crate) struct Isolated {
    id: String,
}

impl Isolated {
    pub(crate) fn new() -> Self {
        Self { id: uuid::Uuid::new_v4().simple().to_string()[..12].to_owned() }
    }
    fn schema(&self) -> String {
        format!("e2e_{}", self.id)
    }
    fn database(&self) -> String {
        format!("e2e_{}", self.id)
    }
    fn topic_environment(&self) -> String {
        format!("e2e{}.", self.id)
    }
    fn bucket(&self) -> String {
        format!("rtm-e2e-{}", self.id)
    }
    pub(crate) fn redis_prefix(&self) -> String {
        format!("e2e:{}:", self.id)
    }
}

/// `postgres://user@host:port/db` → (user, host:port/db).
fn split_postgres(url: &str) -> (String, String) {
    let rest = url.trim_start_matches("postgres://").trim_start_matches("postgresql://");
    let (user, location) = rest.split_once('@').unwrap_or(("root", rest));
    (user.split(':').next().unwrap_or("root").to_owned(), location.to_owned())
}

/// The original platform's variables pointing rtm at the stack, isolated for one test.
pub(crate) fn rtm_env(
    stack: &Stack,
    isolated: &Isolated,
    redis: Option<&str>,
) -> BTreeMap<String, String> {
    let (user, location) = split_postgres(&stack.postgres);
    let mut env: BTreeMap<String, String> = [
        ("SPRING_APPLICATION_NAME", "runtime-manager".to_owned()),
        (
            "SPRING_DATASOURCE_URL",
            format!("jdbc:postgresql://{location}?currentSchema={}", isolated.schema()),
        ),
        ("SPRING_DATASOURCE_USERNAME", user),
        ("SPRING_DATA_MONGODB_URI", format!("{}/${{DB_NAME}}", stack.mongo.trim_end_matches('/'))),
        ("DB_NAME", isolated.database()),
        ("SPRING_KAFKA_BOOTSTRAPSERVERS", stack.kafka.clone()),
        ("KAFKA_TOPIC_NAMING_ENVIRONMENT", isolated.topic_environment()),
        ("APPLICATION_FILESTORAGE_S3_SERVERURL", stack.s3.clone()),
        ("APPLICATION_FILE_STORAGE_S3_ACCESS_KEY", stack.s3_access_key.clone()),
        ("APPLICATION_FILE_STORAGE_S3_SECRET_KEY", stack.s3_secret_key.clone()),
        ("APPLICATION_FILE_STORAGE_S3_BUCKET_PREFIX", isolated.bucket()),
        ("SECURITY_OAUTH2_BASE_SERVER_URL", stack.oidc.clone()),
        ("SECURITY_OAUTH2_REALM", stack.realm.clone()),
        ("RTM_IMPORT_LEASE_SECONDS", "6".to_owned()),
        ("RUST_LOG", "info".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    if let Some(redis) = redis {
        let (host, port) =
            redis.trim_start_matches("redis://").trim_end_matches('/').rsplit_once(':').unwrap();
        env.insert("SPRING_REDIS_HOST".into(), host.into());
        env.insert("SPRING_REDIS_PORT".into(), port.into());
        env.insert("RTM_REDIS_KEY_PREFIX".into(), isolated.redis_prefix());
    }
    env
}

/// A running `rtm` with real backends.
pub(crate) struct Rtm {
    child: Child,
    pub(crate) base: String,
    pub(crate) management: String,
    log: std::path::PathBuf,
    _log_dir: tempfile::TempDir,
}

impl Rtm {
    pub(crate) async fn start(env: &BTreeMap<String, String>) -> Self {
        let (api, management) = (free_port(), free_port());
        let log_dir = tempfile::tempdir().unwrap();
        let log = log_dir.path().join("rtm.log");
        let child = rtm()
            .envs(env)
            .env("SERVER_PORT", api.to_string())
            .env("MANAGEMENT_SERVER_PORT", management.to_string())
            .env("SERVER_ADDRESS", "127.0.0.1")
            .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
            .stderr(Stdio::from(std::fs::File::options().append(true).open(&log).unwrap()))
            .spawn()
            .unwrap();
        let mut started = Self {
            child,
            base: format!("http://127.0.0.1:{api}"),
            management: format!("http://127.0.0.1:{management}"),
            log,
            _log_dir: log_dir,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Ok(response) =
                client.get(format!("{}/actuator/health/readiness", started.management)).send().await
                && response.status() == 200
            {
                return started;
            }
            if let Some(status) = started.child.try_wait().unwrap() {
                panic!("rtm exited with {status} before it was ready:\n{}", started.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "rtm was not ready within 90 s:\n{}",
                started.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Rtm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn token(stack: &Stack, subject: &str, roles: &[&str], groups: &[&str]) -> String {
    let url = format!(
        "{}/realms/{}/protocol/openid-connect/token",
        stack.oidc.trim_end_matches('/'),
        stack.realm
    );
    let response: Value = reqwest::Client::new()
        .post(url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "rtm-e2e"),
            ("client_secret", "rtm-e2e-secret"),
            ("sub", subject),
            ("roles", &roles.join(",")),
            ("groups", &groups.join(",")),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["access_token"].as_str().unwrap_or_else(|| panic!("no token: {response}")).to_owned()
}

pub(crate) async fn operator(stack: &Stack) -> String {
    token(stack, "operator", &["ROLE_BUILDS_MANAGE_ADMIN", "ROLE_ACTIVE_POLICY_MANAGE_EDIT"], &[])
        .await
}

fn example(name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/builds").join(name);
    build_archive::pack_directory(&dir).unwrap().bytes
}

async fn import(rtm: &Rtm, token: &str, archive: Vec<u8>) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(archive).file_name("build.zip"));
    reqwest::Client::new()
        .post(format!("{}/api/build-mgmt/builds/import", rtm.base))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn set_policy(rtm: &Rtm, token: &str, build: &str) {
    let response = reqwest::Client::new()
        .put(format!("{}/api/build-mgmt/app/{LOAN_APP}/active-policy", rtm.base))
        .bearer_auth(token)
        .json(&json!({"type": "BUILD", "buildId": build}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

async fn build_info(rtm: &Rtm, token: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}/api/runtime/app/{LOAN_APP}/build/info", rtm.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn import_examples(rtm: &Rtm, token: &str) {
    for name in ["shared-library-1", "loan-origination-1", "loan-origination-2"] {
        let response = import(rtm, token, example(name)).await;
        assert_eq!(
            response.status(),
            201,
            "import {name}: {}\n{}",
            response.text().await.unwrap(),
            rtm.log_text()
        );
    }
}

fn pg_config(stack: &Stack, isolated: &Isolated) -> PgConfig {
    let mut config = PgConfig::new(SecretString::from(stack.postgres.clone()));
    config.schema = Some(isolated.schema());
    config
}

fn mongo_config(stack: &Stack, isolated: &Isolated) -> MongoConfig {
    let mut config = MongoConfig::new(SecretString::from(stack.mongo.clone()));
    config.database = isolated.database();
    config
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_lands_in_every_store_is_audited_on_kafka_and_fills_the_cache() {
    let Some(stack) = Stack::from_env() else { return };
    let isolated = Isolated::new();
    let rtm = Rtm::start(&rtm_env(&stack, &isolated, Some(&stack.redis))).await;
    let admin = operator(&stack).await;
    let archive = example("shared-library-1");
    let response = import(&rtm, &admin, archive.clone()).await;
    assert_eq!(response.status(), 201, "{}", rtm.log_text());
    let build_id = BuildId::parse(LIBRARY_BUILD).unwrap();

    let mut s3 = S3Config::new(
        stack.s3.clone(),
        stack.s3_access_key.clone().into(),
        stack.s3_secret_key.clone().into(),
    );
    s3.bucket = isolated.bucket();
    let blobs = S3BlobStore::connect(&s3).await.unwrap();
    let stored =
        blobs.get(&BlobKey::build_archive(build_id)).await.unwrap().expect("the archive is in S3");
    assert_eq!(stored.as_ref(), archive.as_slice());

    let runtime = MongoRuntimeDataStore::connect(&mongo_config(&stack, &isolated)).await.unwrap();
    let build = runtime.find_build(build_id).await.unwrap().expect("the build is in MongoDB");
    assert_eq!(build.manifest.len(), 3);

    let app_data = PgAppDataRepository::connect(&pg_config(&stack, &isolated)).await.unwrap();
    assert!(
        app_data.find_build_header(build_id).await.unwrap().is_some(),
        "the header is in PostgreSQL"
    );

    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &stack.kafka)
        .set("group.id", format!("e2e-{}", isolated.id))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    let topic = format!("ai.flowx.{}core.trigger.save.audit.v1", isolated.topic_environment());
    consumer.subscribe(&[&topic]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let audit = loop {
        assert!(Instant::now() < deadline, "no audit event on {topic} within 30 s");
        match tokio::time::timeout(Duration::from_secs(2), consumer.recv()).await {
            Ok(Ok(message)) => {
                let payload =
                    String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned();
                if payload.contains(LIBRARY_BUILD) {
                    break payload;
                }
            }
            Ok(Err(err)) => panic!("kafka: {err}"),
            Err(_) => {}
        }
    };
    assert!(audit.contains("operator"), "the audit names who imported: {audit}");

    let mut redis = RedisConfig::new(SecretString::from(stack.redis.clone()));
    redis.key_prefix = isolated.redis_prefix();
    let cache = RedisCache::connect(&redis).await.unwrap();
    import_examples_rest(&rtm, &admin).await;
    set_policy(&rtm, &admin, LOAN_BUILD_1).await;
    let user = token(&stack, "alice", &[], &[]).await;
    assert_eq!(build_info(&rtm, &user).await.1["buildId"], LOAN_BUILD_1);
    let loan_build = BuildId::parse(LOAN_BUILD_1).unwrap();
    assert!(
        cache.get_build_summary(loan_build).await.unwrap().is_some(),
        "resolution filled the Redis cache"
    );

    // The metrics of what just happened, and of the pools and consumers behind it
    // (librdkafka hands out consumer statistics every 15 s).
    let audit_topic = format!(r#"rtm_kafka_events_published_total{{topic="{topic}"}}"#);
    let scrape = scrape_until(
        &rtm,
        &[
            r#"hikaricp_connections_max{pool="rtm-postgres"} "#,
            r#"hikaricp_connections_active{pool="rtm-postgres"} "#,
            r#"rtm_redis_pool_connections_max{pool="rtm-redis"} "#,
            "rtm_redis_breaker_open 0",
            &audit_topic,
            "rtm_outbox_pending_events ",
            "rtm_outbox_oldest_pending_age_seconds ",
            r#"rtm_cache_gets_total{cache="build",result="miss"}"#,
            r#"rtm_build_import_seconds_count{outcome="created"}"#,
            r#"rtm_kafka_consumer_lag{consumer="policy-listener","#,
        ],
        Duration::from_secs(40),
    )
    .await;
    let log = rtm.log_text();
    for (what, secret) in [
        ("a token", admin.as_str()),
        ("a token", user.as_str()),
        ("the S3 secret", &stack.s3_secret_key),
    ] {
        assert!(!scrape.contains(secret), "{what} is in the metrics");
        assert!(!log.contains(secret), "{what} is in the log");
    }
}

/// Scrapes `/actuator/prometheus` until every one of `expected` is in it, or fails after
/// `within` showing the last scrape.
async fn scrape_until(rtm: &Rtm, expected: &[&str], within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let response =
            reqwest::get(format!("{}/actuator/prometheus", rtm.management)).await.unwrap();
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        let missing: Vec<&&str> = expected.iter().filter(|line| !text.contains(**line)).collect();
        if missing.is_empty() {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{missing:?} not in the scrape after {within:?}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn import_examples_rest(rtm: &Rtm, token: &str) {
    for name in ["loan-origination-1", "loan-origination-2"] {
        let response = import(rtm, token, example(name)).await;
        assert_eq!(response.status(), 201, "import {name}: {}", response.text().await.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_change_reaches_a_second_replica_through_kafka() {
    let Some(stack) = Stack::from_env() else { return };
    let isolated = Isolated::new();
    // No Redis: each replica caches in memory, so only the Kafka event can tell the second one.
    let env = rtm_env(&stack, &isolated, None);
    let first = Rtm::start(&env).await;
    let second = Rtm::start(&env).await;
    let admin = operator(&stack).await;
    import_examples(&first, &admin).await;
    set_policy(&first, &admin, LOAN_BUILD_1).await;
    let user = token(&stack, "bob", &[], &[]).await;
    assert_eq!(
        build_info(&second, &user).await.1["buildId"],
        LOAN_BUILD_1,
        "the second replica has it cached now"
    );

    set_policy(&first, &admin, LOAN_BUILD_2).await;
    let started = Instant::now();
    loop {
        if build_info(&second, &user).await.1["buildId"] == LOAN_BUILD_2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the second replica still serves build 1 after 15 s:\n{}",
            second.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_redis_stopped_mid_test_requests_still_succeed_and_readiness_stays_up() {
    let Some(stack) = Stack::from_env() else { return };
    let isolated = Isolated::new();
    let redis_port = free_port();
    let mut redis = std::process::Command::new("redis-server")
        .args([
            "--port",
            &redis_port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server (Debian package redis-server; cargo xtask services up installs it)");
    let rtm =
        Rtm::start(&rtm_env(&stack, &isolated, Some(&format!("redis://127.0.0.1:{redis_port}"))))
            .await;
    let admin = operator(&stack).await;
    import_examples(&rtm, &admin).await;
    set_policy(&rtm, &admin, LOAN_BUILD_2).await;
    let user = token(&stack, "carol", &[], &[]).await;
    assert_eq!(build_info(&rtm, &user).await.1["buildId"], LOAN_BUILD_2);

    let body = health_until(&rtm, Duration::from_secs(15), |_, body| {
        body["components"]["redis"]["status"] == "UP"
    })
    .await;
    assert_eq!(body["components"]["redis"]["details"]["backend"], "Redis", "{body}");

    redis.kill().unwrap();
    redis.wait().unwrap();
    for _ in 0..5 {
        let started = Instant::now();
        let (status, body) = build_info(&rtm, &user).await;
        assert_eq!((status, body["buildId"].clone()), (200, json!(LOAN_BUILD_2)));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "a dead Redis costs a bounded timeout, took {:?}",
            started.elapsed()
        );
    }
    scrape_until(&rtm, &["rtm_redis_breaker_open 1"], Duration::from_secs(5)).await;
    set_policy(&rtm, &admin, LOAN_BUILD_1).await;
    assert_eq!(
        build_info(&rtm, &user).await.1["buildId"],
        LOAN_BUILD_1,
        "changes still take effect"
    );
    let readiness =
        reqwest::get(format!("{}/actuator/health/readiness", rtm.management)).await.unwrap();
    assert_eq!(readiness.status(), 200, "Redis never makes the service unready");
    // The background check sees Redis gone: its component is DOWN, the service still UP.
    let body = health_until(&rtm, Duration::from_secs(30), |_, body| {
        body["components"]["redis"]["status"] == "DOWN"
    })
    .await;
    assert_eq!(body["status"], "UP", "{body}");
    assert!(body["components"]["redis"]["details"]["error"].is_string(), "{body}");
}

/// A build of the library's application with `n` resources of about 4 KB each.
fn big_build(n: usize) -> (String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let build_id = uuid::Uuid::new_v4().to_string();
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/builds/shared-library-1");
    let mut build: Value =
        serde_json::from_slice(&std::fs::read(source.join("build.json")).unwrap()).unwrap();
    build["buildId"] = json!(build_id);
    std::fs::write(dir.path().join("build.json"), serde_json::to_vec(&build).unwrap()).unwrap();
    let resources = dir.path().join("resources/ENUMERATION");
    std::fs::create_dir_all(&resources).unwrap();
    for index in 0..n {
        let id = format!("e2e-{index:06}");
        let values: Vec<Value> = (0..40).map(|value| json!({"code": format!("V{value}"), "label": format!("value {value} of {index} with some text")})).collect();
        let resource = json!({"resourceDefinitionId": id, "resourceVersionId": "v1", "name": format!("enum_{index:06}"), "content": {"values": values}});
        std::fs::write(
            resources.join(format!("{id}.json")),
            serde_json::to_vec(&resource).unwrap(),
        )
        .unwrap();
    }
    (build_id, build_archive::pack_directory(dir.path()).unwrap().bytes)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_importer_killed_midway_leaves_no_half_build_and_the_import_can_be_repeated() {
    let Some(stack) = Stack::from_env() else { return };
    let isolated = Isolated::new();
    let env = rtm_env(&stack, &isolated, None);
    let n_resources = 4_000;
    let (build_id, archive) =
        tokio::task::spawn_blocking(move || big_build(n_resources)).await.unwrap();
    let mut rtm = Rtm::start(&env).await;
    let admin = operator(&stack).await;

    let mongo = mongodb::Client::with_uri_str(&stack.mongo).await.unwrap();
    let resources = mongo
        .database(&isolated.database())
        .collection::<mongodb::bson::Document>("build_resources");
    let upload = tokio::spawn({
        let (base, admin, archive) = (rtm.base.clone(), admin.clone(), archive.clone());
        async move {
            let form = reqwest::multipart::Form::new()
                .part("file", reqwest::multipart::Part::bytes(archive).file_name("build.zip"));
            reqwest::Client::new()
                .post(format!("{base}/api/build-mgmt/builds/import"))
                .bearer_auth(admin)
                .multipart(form)
                .send()
                .await
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let staged =
            resources.count_documents(mongodb::bson::doc! {"buildId": &build_id}).await.unwrap();
        if staged > 0 {
            break;
        }
        assert!(
            !upload.is_finished(),
            "the import ended before any resource was staged: make the build bigger"
        );
        assert!(
            Instant::now() < deadline,
            "no resource was staged within 60 s:\n{}",
            rtm.log_text()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    rtm.kill();
    assert!(upload.await.unwrap().is_err(), "the killed importer never answered");

    let rtm = Rtm::start(&env).await;
    let path = format!(
        "{}/api/build-mgmt/app/5e1f0c2a-7d3b-4a9e-8f6c-2b1a3c4d5e6f/builds/{build_id}",
        rtm.base
    );
    let response = reqwest::Client::new().get(&path).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(response.status(), 404, "no half build is visible");
    let runtime = MongoRuntimeDataStore::connect(&mongo_config(&stack, &isolated)).await.unwrap();
    assert!(
        runtime.find_build(BuildId::parse(&build_id).unwrap()).await.unwrap().is_none(),
        "nothing published"
    );
    let staged_only = format!(
        "{}/api/runtime/app/5e1f0c2a-7d3b-4a9e-8f6c-2b1a3c4d5e6f/build/{build_id}/resources/ENUMERATION",
        rtm.base
    );
    let response =
        reqwest::Client::new().get(&staged_only).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(response.status(), 404, "the staged resources are not served");
    // An importer that died after publishing in MongoDB, before the header: the build is
    // complete there, and still invisible, the header being the commit point.
    let published = test_support::BuildFixture::new(domain::model::ApplicationId::random())
        .resources(1)
        .build();
    let resources = test_support::resources_of(&published);
    runtime.stage_resources(published.id(), &resources).await.unwrap();
    runtime.publish_build(&published).await.unwrap();
    let entry = &published.manifest[0];
    for path in [
        format!(
            "/api/runtime/app/{}/build/{}/resources/{}/{}",
            published.header.application_id,
            published.id(),
            entry.resource_type,
            entry.definition_id
        ),
        format!("/api/runtime-internal/build/{}", published.id()),
    ] {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", rtm.base))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path} of a build published without its header");
    }

    // The dead importer's claim expires (RTM_IMPORT_LEASE_SECONDS=6); then the import goes through.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let response = import(&rtm, &admin, archive.clone()).await;
        match response.status().as_u16() {
            201 => break,
            409 => {
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["code"], "import_in_progress", "{body}");
                assert!(Instant::now() < deadline, "the dead importer's claim never expired");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            other => panic!("re-import answered {other}: {}", response.text().await.unwrap()),
        }
    }
    let listed: Value = reqwest::Client::new()
        .get(format!("{}/api/runtime/app/5e1f0c2a-7d3b-4a9e-8f6c-2b1a3c4d5e6f/build/{build_id}/resources/ENUMERATION?size=1", rtm.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["totalElements"], n_resources, "every resource, once");
}

/// A TCP proxy the test can cut: while cut, it drops every connection it carries and every
/// new one, as a network partition would.
struct CutProxy {
    port: u16,
    /// Cancelled to cut; replaced by a fresh token to restore.
    open: std::sync::Arc<std::sync::Mutex<tokio_util::sync::CancellationToken>>,
    accept: tokio::task::JoinHandle<()>,
}

impl CutProxy {
    async fn start(upstream: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open =
            std::sync::Arc::new(std::sync::Mutex::new(tokio_util::sync::CancellationToken::new()));
        let accept = tokio::spawn({
            let open = open.clone();
            async move {
                loop {
                    let Ok((mut inbound, _)) = listener.accept().await else { return };
                    let token = open.lock().unwrap().clone();
                    if token.is_cancelled() {
                        continue; // dropped: the connection is closed at once
                    }
                    let upstream = upstream.clone();
                    tokio::spawn(async move {
                        let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await
                        else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            () = token.cancelled() => {}
                        }
                    });
                }
            }
        });
        Self { port, open, accept }
    }

    fn cut(&self) {
        self.open.lock().unwrap().cancel();
    }

    fn restore(&self) {
        *self.open.lock().unwrap() = tokio_util::sync::CancellationToken::new();
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

async fn health(rtm: &Rtm) -> (u16, Value) {
    let response = reqwest::get(format!("{}/actuator/health", rtm.management)).await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Polls `/actuator/health` until `done` holds, within `within`.
async fn health_until(rtm: &Rtm, within: Duration, done: impl Fn(u16, &Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (status, body) = health(rtm).await;
        if done(status, &body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "health did not change within {within:?}: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_follows_mongodb_through_the_background_check() {
    let Some(stack) = Stack::from_env() else { return };
    let isolated = Isolated::new();
    let upstream = stack.mongo.trim_start_matches("mongodb://").trim_end_matches('/').to_owned();
    assert!(!upstream.contains('@') && !upstream.contains('/'), "a plain host:port: {upstream}");
    let proxy = CutProxy::start(upstream).await;
    let mut env = rtm_env(&stack, &isolated, None);
    env.insert(
        "SPRING_DATA_MONGODB_URI".into(),
        format!("mongodb://127.0.0.1:{}/${{DB_NAME}}?directConnection=true", proxy.port),
    );
    let rtm = Rtm::start(&env).await;
    let body = health_until(&rtm, Duration::from_secs(15), |status, _| status == 200).await;
    for component in ["db", "mongo", "kafka", "redis", "s3", "livenessState", "readinessState"] {
        assert_eq!(body["components"][component]["status"], "UP", "{component}: {body}");
    }

    proxy.cut();
    // The background check runs every 5 s and gives a ping 2 s.
    let body = health_until(&rtm, Duration::from_secs(30), |status, _| status == 503).await;
    assert_eq!(body["status"], "DOWN", "{body}");
    assert_eq!(body["components"]["mongo"]["status"], "DOWN", "{body}");
    assert!(body["components"]["mongo"]["details"]["error"].is_string(), "{body}");
    assert_eq!(body["components"]["db"]["status"], "UP", "{body}");
    let readiness =
        reqwest::get(format!("{}/actuator/health/readiness", rtm.management)).await.unwrap();
    assert_eq!(readiness.status(), 503);
    let liveness =
        reqwest::get(format!("{}/actuator/health/liveness", rtm.management)).await.unwrap();
    assert_eq!(liveness.status(), 200, "a backend outage never fails liveness");

    proxy.restore();
    let body = health_until(&rtm, Duration::from_secs(60), |status, _| status == 200).await;
    assert_eq!(body["components"]["mongo"]["status"], "UP", "{body}");
}
