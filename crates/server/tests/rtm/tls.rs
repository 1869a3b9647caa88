//! `rtm` over TLS to its stores, configured with the documented variables (docs/OPERATIONS.md,
//! "TLS to the backends"): PostgreSQL with `sslmode=require` (the shared cluster runs with
//! `ssl=on`), and Redis, S3 and MongoDB each behind test-support's TLS proxy with a
//! certificate of a throwaway CA that only the CA files trust. And a TLS setting that
//! cannot be honoured stops the start, naming its variable.

use std::process::Stdio;
use std::time::Duration;

use adapter_redis::{RedisCache, RedisConfig};
use domain::model::BuildId;
use domain::ports::Cache as _;
use secrecy::SecretString;
use test_support::tls::{TestCa, TlsProxy};

use crate::real_backends::{
    Isolated, LOAN_APP, LOAN_BUILD_1, Rtm, Stack, import_examples, operator, rtm_env, set_policy,
    token,
};
use crate::{rtm, wait_for_exit};

/// `host:port` of a `scheme://host:port[/…]` URL.
fn address(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn rtm_imports_and_resolves_with_tls_to_every_store() {
    let Some(stack) = Stack::from_env() else { return };
    let isolated = Isolated::new();
    let ca = TestCa::new();
    let cert = ca.issue(&["localhost", "127.0.0.1"]);
    let ca_file = ca.ca_file().display().to_string();
    let redis = TlsProxy::start(&cert, &address(&stack.redis));
    let s3 = TlsProxy::start(&cert, &address(&stack.s3));
    let mongo = TlsProxy::start(&cert, &address(&stack.mongo));

    let mut env = rtm_env(&stack, &isolated, Some(&stack.redis));
    let postgres = env.get_mut("SPRING_DATASOURCE_URL").unwrap();
    postgres.push_str("&sslmode=require");
    for (name, value) in [
        ("SPRING_REDIS_HOST", "localhost".to_owned()),
        ("SPRING_REDIS_PORT", redis.port().to_string()),
        ("SPRING_DATA_REDIS_SSL_ENABLED", "true".to_owned()),
        ("RTM_REDIS_SSL_CA_FILE", ca_file.clone()),
        ("APPLICATION_FILESTORAGE_S3_SERVERURL", format!("https://localhost:{}", s3.port())),
        ("RTM_S3_CA_FILE", ca_file.clone()),
        (
            "SPRING_DATA_MONGODB_URI",
            format!(
                "mongodb://localhost:{}/${{DB_NAME}}?directConnection=true&tls=true&tlsCAFile={ca_file}",
                mongo.port()
            ),
        ),
    ] {
        env.insert(name.to_owned(), value);
    }
    let rtm = Rtm::start(&env).await;
    let admin = operator(&stack).await;
    import_examples(&rtm, &admin).await;
    set_policy(&rtm, &admin, LOAN_BUILD_1).await;
    let user = token(&stack, "alice", &[], &[]).await;
    let response = reqwest::Client::new()
        .get(format!("{}/api/runtime/app/{LOAN_APP}/build/info", rtm.base))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", rtm.log_text());
    let info: serde_json::Value = response.json().await.unwrap();
    assert_eq!(info["buildId"], LOAN_BUILD_1);

    // The resolution went into Redis through the TLS proxy: it is in the plaintext Redis
    // behind it.
    let mut plain = RedisConfig::new(SecretString::from(stack.redis.clone()));
    plain.key_prefix = isolated.redis_prefix();
    let cache = RedisCache::connect(&plain).await.unwrap();
    let cached = cache.get_build_summary(BuildId::parse(LOAN_BUILD_1).unwrap()).await.unwrap();
    assert!(cached.is_some(), "resolution filled Redis over TLS\n{}", rtm.log_text());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tls_setting_that_cannot_be_honoured_stops_the_start_naming_its_variable() {
    let Some(stack) = Stack::from_env() else { return };
    let isolated = Isolated::new();
    let mut env = rtm_env(&stack, &isolated, Some(&stack.redis));
    // A CA file for Redis while TLS towards it is off.
    let ca = TestCa::new();
    env.insert("RTM_REDIS_SSL_CA_FILE".to_owned(), ca.ca_file().display().to_string());
    let mut child = rtm().envs(&env).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let status = wait_for_exit(&mut child, Duration::from_secs(30));
    let output = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!status.success(), "{text}");
    assert!(text.contains("RTM_REDIS_SSL_CA_FILE"), "{text}");
    assert!(text.contains("TLS towards Redis is off"), "{text}");
}
