//! Caching never serves a replaced build once the change is acknowledged: two replicas
//! (near caches over one Redis, kept in step through Kafka) answer build info under load
//! while the global policy flips between two builds through the first one.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::real_backends::{
    Isolated, LOAN_APP, LOAN_BUILD_1, LOAN_BUILD_2, Rtm, Stack, import_examples, operator, rtm_env,
    set_policy, token,
};

/// Policy changes made in the test.
const FLIPS: usize = 8;
/// Concurrent readers per replica.
const READERS: usize = 4;
/// How long a replica may take to hear a change through Kafka.
const PATIENCE: Duration = Duration::from_secs(30);

/// One build info answer: which replica, when the request left and came back, which build.
struct Answer {
    replica: &'static str,
    sent: Instant,
    received: Instant,
    build: String,
}

/// From `acknowledged` on (until the next change starts), `replica` must answer `build`.
struct Window {
    replica: &'static str,
    acknowledged: Instant,
    until: Instant,
    build: &'static str,
    revision: u64,
}

/// The policy revision a replica shows on `/actuator/info`.
async fn applied_revision(client: &reqwest::Client, rtm: &Rtm) -> u64 {
    let info: Value = client
        .get(format!("{}/actuator/info", rtm.management))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    info["policy"]["revision"].as_u64().unwrap_or_else(|| panic!("no policy revision in {info}"))
}

/// Build info from `rtm` until `stop`, each answer recorded.
fn hammer(
    replica: &'static str,
    base: String,
    user: String,
    answers: Arc<Mutex<Vec<Answer>>>,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let url = format!("{base}/api/runtime/app/{LOAN_APP}/build/info");
        while !stop.is_cancelled() {
            let sent = Instant::now();
            let response = client.get(&url).bearer_auth(&user).send().await.unwrap();
            assert_eq!(response.status(), 200, "{replica}");
            let body: Value = response.json().await.unwrap();
            let build = body["buildId"].as_str().unwrap().to_owned();
            answers.lock().unwrap().push(Answer { replica, sent, received: Instant::now(), build });
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn no_replica_answers_a_replaced_build_after_it_acknowledged_the_change() {
    let Some(stack) = Stack::from_env() else { return };
    let redis = stack.redis.clone();
    flips(&stack, Some(&redis)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_redis_no_replica_answers_a_replaced_build_after_it_acknowledged_the_change() {
    let Some(stack) = Stack::from_env() else { return };
    // Each replica's near cache alone: only the Kafka event tells the second one.
    flips(&stack, None).await;
}

async fn flips(stack: &Stack, redis: Option<&str>) {
    let isolated = Isolated::new();
    let env = rtm_env(stack, &isolated, redis);
    let first = Rtm::start(&env).await;
    let second = Rtm::start(&env).await;
    let admin = operator(stack).await;
    import_examples(&first, &admin).await;
    set_policy(&first, &admin, LOAN_BUILD_1).await;
    let user = token(stack, "carol", &[], &[]).await;
    let client = reqwest::Client::new();

    let answers = Arc::new(Mutex::new(Vec::new()));
    let stop = CancellationToken::new();
    let mut readers = Vec::new();
    for _ in 0..READERS {
        for (name, rtm) in [("first", &first), ("second", &second)] {
            readers.push(hammer(
                name,
                rtm.base.clone(),
                user.clone(),
                answers.clone(),
                stop.clone(),
            ));
        }
    }

    let mut windows: Vec<Window> = Vec::new();
    for flip in 0..FLIPS {
        let build = if flip % 2 == 0 { LOAN_BUILD_2 } else { LOAN_BUILD_1 };
        let changing = Instant::now();
        for window in windows.iter_mut().filter(|window| window.until > changing) {
            window.until = changing;
        }
        set_policy(&first, &admin, build).await;
        // The writer evicted its own cache with the revision it read after the write.
        let written = Instant::now();
        let revision = applied_revision(&client, &first).await;
        let deadline = Instant::now() + PATIENCE;
        while applied_revision(&client, &second).await < revision {
            assert!(
                Instant::now() < deadline,
                "flip {flip}: the second replica did not apply revision {revision} within {PATIENCE:?}:\n{}",
                second.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let acknowledged = Instant::now();
        let far = acknowledged + Duration::from_secs(3600);
        windows.push(Window {
            replica: "first",
            acknowledged: written,
            until: far,
            build,
            revision,
        });
        windows.push(Window { replica: "second", acknowledged, until: far, build, revision });
        // Let the readers work on the new state (and race the next change) for a moment.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    stop.cancel();
    for reader in readers {
        reader.await.unwrap();
    }

    let answers = answers.lock().unwrap();
    let mut checked = 0;
    for window in &windows {
        let inside = answers.iter().filter(|answer| {
            answer.replica == window.replica
                && answer.sent >= window.acknowledged
                && answer.received <= window.until
        });
        for answer in inside {
            checked += 1;
            assert_eq!(
                answer.build, window.build,
                "the {} replica answered {} after it acknowledged revision {} (which set {})",
                window.replica, answer.build, window.revision, window.build
            );
        }
    }
    assert!(checked > FLIPS * 2, "only {checked} answers fell after acknowledgements");
}
