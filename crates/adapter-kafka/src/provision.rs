//! Creates rtm's topics at start when they are missing, so a fresh cluster (or one without
//! `auto.create.topics.enable`) works at once. Where topics are provisioned by the cluster's
//! operators (Strimzi `KafkaTopic`s, ACLs that forbid creation), the refusal is logged and
//! the start goes on: the topics are expected to exist.
//!
//! First the brokers are reached with a client that serves librdkafka's events (errors,
//! OAUTHBEARER tokens): rdkafka's `AdminClient` serves neither, so through it a failed TLS
//! handshake would only show as a timeout, and it cannot authenticate with OAUTHBEARER at
//! all. Hence with SASL OAUTHBEARER no topic is created: they are expected to exist, as on
//! the clusters that require it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use domain::ports::PortError;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::producer::{FutureProducer, Producer as _};
use rdkafka::types::RDKafkaErrorCode;
use tokio_util::sync::CancellationToken;

use crate::config::KafkaConfig;
use crate::context::{self, RtmContext};
use crate::error::KafkaError;
use crate::topics::Topic;

/// How long one create request may take, and reaching the brokers before it.
const CREATE_TIMEOUT: Duration = Duration::from_secs(15);
/// One metadata request while reaching the brokers.
const PROBE_STEP: Duration = Duration::from_millis(500);

/// Tells the probe's blocking task to stop asking when dropped.
struct GiveUp(Arc<AtomicBool>);

impl Drop for GiveUp {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Makes sure every topic rtm writes or reads exists; returns the names it created.
///
/// # Errors
///
/// [`PortError::Unavailable`] when the broker cannot be reached; [`PortError::Backend`]
/// when the client cannot be built, or at once when a broker's TLS handshake fails or it
/// refuses the SASL credentials. A topic the broker refuses to create (not authorized,
/// policy) is logged, not an error.
pub async fn ensure_topics(config: &KafkaConfig) -> Result<Vec<String>, PortError> {
    let cancel = CancellationToken::new();
    let _stop_token_refresh = cancel.clone().drop_guard();
    let context = context::for_config(config, cancel).await.map_err(PortError::from)?;
    reach(config, &context).await?;
    if config.security.oauthbearer().is_some() {
        tracing::info!(
            "kafka topics are not created with SASL OAUTHBEARER (the admin client cannot authenticate with it); \
             they are expected to exist"
        );
        return Ok(Vec::new());
    }
    let admin: AdminClient<RtmContext> = config
        .client_config()
        .map_err(PortError::from)?
        .create_with_context(context)
        .map_err(|err| PortError::from(KafkaError::Client(err)))?;
    provision(&admin, config).await
}

/// Asks the brokers for their metadata through a producer, whose polling thread serves
/// librdkafka's events: fails at once on a refused handshake, else after [`CREATE_TIMEOUT`].
async fn reach(config: &KafkaConfig, context: &RtmContext) -> Result<(), PortError> {
    let refusals = context.refusals().clone();
    let probe: FutureProducer<RtmContext> = config
        .client_config()
        .map_err(PortError::from)?
        .create_with_context(context.clone())
        .map_err(|err| PortError::from(KafkaError::Client(err)))?;
    // Asked in short steps, so that the blocking task ends soon after a refusal returned
    // (a runtime waits for its blocking tasks when it shuts down, as after a failed start).
    let given_up = Arc::new(AtomicBool::new(false));
    let _give_up_on_return = GiveUp(Arc::clone(&given_up));
    let fetched = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + CREATE_TIMEOUT;
        let fetched = loop {
            match probe.client().fetch_metadata(None, PROBE_STEP) {
                Ok(_) => break Ok(()),
                Err(err) if given_up.load(Ordering::Relaxed) || Instant::now() >= deadline => {
                    break Err(err);
                }
                Err(_) => {}
            }
        };
        // Dropping the producer waits for its threads: here, off the async runtime.
        drop(probe);
        fetched
    });
    tokio::select! {
        fetched = fetched => match fetched {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(PortError::Unavailable(Box::new(err))),
            Err(err) => Err(PortError::Unavailable(Box::new(err))),
        },
        refusal = refusals.first() => Err(KafkaError::Refused(refusal).into()),
    }
}

async fn provision(
    admin: &AdminClient<RtmContext>,
    config: &KafkaConfig,
) -> Result<Vec<String>, PortError> {
    let names: Vec<String> =
        Topic::ALL.iter().map(|topic| config.topics.get(*topic).to_owned()).collect();
    // -1: the broker's default partitions and replication; brokers older than 2.4 refuse
    // that, and then one partition with replication 1 is asked for instead.
    let mut created = create(admin, &names, -1, -1).await?;
    if created.iter().any(|(_, outcome)| {
        matches!(
            outcome,
            Err(RDKafkaErrorCode::InvalidPartitions | RDKafkaErrorCode::InvalidReplicationFactor)
        )
    }) {
        created = create(admin, &names, 1, 1).await?;
    }
    let mut made = Vec::new();
    for (name, outcome) in created {
        match outcome {
            Ok(()) => {
                tracing::info!(kafka.topic = %name, "topic created");
                made.push(name);
            }
            Err(RDKafkaErrorCode::TopicAlreadyExists) => {}
            Err(code) => {
                tracing::warn!(kafka.topic = %name, error = ?code, "could not create the topic; it is expected to exist")
            }
        }
    }
    Ok(made)
}

async fn create(
    admin: &AdminClient<RtmContext>,
    names: &[String],
    partitions: i32,
    replication: i32,
) -> Result<Vec<(String, Result<(), RDKafkaErrorCode>)>, PortError> {
    let topics: Vec<NewTopic<'_>> = names
        .iter()
        .map(|name| NewTopic::new(name, partitions, TopicReplication::Fixed(replication)))
        .collect();
    let options = AdminOptions::new()
        .operation_timeout(Some(CREATE_TIMEOUT))
        .request_timeout(Some(CREATE_TIMEOUT));
    let results = admin
        .create_topics(&topics, &options)
        .await
        .map_err(|err| PortError::Unavailable(Box::new(err)))?;
    Ok(results
        .into_iter()
        .map(|result| match result {
            Ok(name) => (name, Ok(())),
            Err((name, code)) => (name, Err(code)),
        })
        .collect())
}
