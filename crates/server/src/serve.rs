//! `rtm serve`: wires the adapters, starts the API and management servers and the outbox
//! relay, and shuts them down in order on SIGTERM or Ctrl-C.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix_web::HttpServer;
use adapter_kafka::StartByNameConsumer;
use anyhow::Context as _;
use domain::relay::OutboxRelay;
use http_api::{AppInfo, Health, PolicyRevisionSource, Readiness};

use tokio_util::sync::CancellationToken;

use crate::observability::{self, Pools};
use crate::roles::{self, Served};
use crate::settings::{Role, Settings};
use crate::{embedded, health, real};

/// How often the relay looks for undelivered events.
const RELAY_INTERVAL: Duration = Duration::from_millis(200);
/// How many events the relay delivers per round.
const RELAY_BATCH: usize = 500;

/// Serves until a shutdown signal. The management server listens first, so that probes
/// are answered while the backends connect (liveness UP, readiness DOWN); readiness turns
/// UP once every required backend is connected and the API server listens, and then
/// follows the background health check.
pub(crate) async fn serve(settings: Settings) -> anyhow::Result<()> {
    let metrics = observability::install()?;
    let cancel = CancellationToken::new();
    // The pools' gauges are scraped from the start; the pools exist once connected.
    let pools: Arc<OnceLock<Pools>> = Arc::default();
    let mode = if settings.backends.is_some() { "real" } else { "embedded" };
    let served =
        if settings.backends.is_some() { Served::One(settings.role) } else { Served::Both };
    let readiness = Readiness::default();
    let health = Health::default();
    health::register(
        &health,
        match &settings.backends {
            Some(backends) => health::Backends::Real { redis: backends.redis.is_some() },
            None => health::Backends::Embedded,
        },
    );
    // The near cache exists once connected; `/actuator/info` shows its revision from then.
    let policy_revision = PolicyRevisionSource::default();
    let management = HttpServer::new({
        let (readiness, health) = (readiness.clone(), health.clone());
        let info = AppInfo {
            role: served.describe().to_owned(),
            mode: mode.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            commit: env!("RTM_GIT_COMMIT").to_owned(),
            policy_revision: policy_revision.clone(),
        };
        let scrape = metrics.scrape(pools.clone());
        move || {
            http_api::management_app(readiness.clone(), health.clone(), info.clone())
                .configure(http_api::prometheus_endpoint(scrape.clone()))
        }
    })
    .bind((settings.bind_address.as_str(), settings.management_port))
    .with_context(|| {
        format!("could not listen on MANAGEMENT_SERVER_PORT {}", settings.management_port)
    })?
    .disable_signals()
    .shutdown_timeout(settings.shutdown_timeout_seconds)
    .run();
    let management_handle = management.handle();
    let mut management = tokio::spawn(management);

    let connect = async {
        anyhow::Ok(match &settings.backends {
            Some(backends) => {
                let real =
                    real::connect(backends, settings.near_cache, &health, cancel.clone()).await?;
                let _ = pools.set(real.pools);
                let near = real.near_cache;
                policy_revision.set(Arc::new(move || near.applied_revision()));
                (real.ports, real.tokens, vec![real.listener, real.key_refresh])
            }
            None => {
                tracing::warn!(
                    data_dir = %settings.data_dir.display(),
                    "EMBEDDED MODE: every store is in memory and is lost when the process stops; tokens are signed by a local key \
                     (rtm dev-token). Not for production."
                );
                if let Some(host) = &settings.ignored_redis {
                    tracing::warn!(redis.host = %host, "SPRING_REDIS_HOST is set, but embedded mode caches in memory and does not use it");
                }
                let issuer = embedded::load_or_create_issuer(&settings.data_dir)?;
                let (ports, near) = embedded::ports(settings.near_cache);
                policy_revision.set(Arc::new(move || near.applied_revision()));
                (ports, embedded::token_validator(&issuer), Vec::new())
            }
        })
    };
    let (ports, tokens, mut background) = tokio::select! {
        connected = connect => connected?,
        result = &mut management => return stopped_unexpectedly("the management server", result),
    };
    // One cache of verified tokens, shared by the REST API and Kafka start-by-name (clones).
    let tokens = tokens.with_token_cache(settings.token_cache);
    // One engine client for the REST starts and the Kafka ones (one connection pool).
    let engine = roles::process_engine(&settings)?;
    // Start-by-name is the runtime role's Kafka channel; embedded mode has no Kafka.
    let stop_consuming = CancellationToken::new();
    let start_by_name = match &settings.backends {
        Some(backends) if served == Served::One(Role::RuntimeManager) => {
            let service = roles::start_by_name(
                &ports,
                engine.clone(),
                tokens.clone(),
                backends.start_by_name_retry,
            );
            Some(StartByNameConsumer::spawn(&backends.kafka, service, stop_consuming.clone()))
        }
        _ => None,
    };
    let apis = roles::apis(served, &ports, &settings, tokens, engine);
    let document = http_api::openapi_document(apis.roles());
    let api_options = http_api::ApiOptions { cors: settings.cors.clone() };

    let api = HttpServer::new(move || {
        http_api::api_app(apis.clone(), document.clone(), api_options.clone())
    })
    .bind((settings.bind_address.as_str(), settings.server_port))
    .with_context(|| format!("could not listen on SERVER_PORT {}", settings.server_port))?
    .disable_signals()
    .shutdown_timeout(settings.shutdown_timeout_seconds)
    .run();
    let api_handle = api.handle();

    // One round before declaring the service ready, then every few seconds in the background.
    health::check_once(&health, &ports).await;
    background.push(tokio::spawn(health::check_periodically(
        health.clone(),
        ports.clone(),
        cancel.clone(),
    )));
    let relay = OutboxRelay::new(ports);
    let relay_task = tokio::spawn(relay_loop(relay.clone()));
    readiness.set_ready(true);
    tracing::info!(
        role = served.describe(),
        mode,
        server.port = settings.server_port,
        management.port = settings.management_port,
        "rtm is ready"
    );

    // The servers run as tasks of their own: a server must be polled to act on `stop`.
    let mut api = tokio::spawn(api);
    tokio::select! {
        result = &mut api => return stopped_unexpectedly("the API server", result),
        result = &mut management => return stopped_unexpectedly("the management server", result),
        () = shutdown_signal() => {}
    }
    tracing::info!("shutting down: no new requests, finishing the ones under way");
    readiness.set_ready(false);
    // The consumer finishes the start-by-name request in hand while the servers finish theirs.
    stop_consuming.cancel();
    let consumer_stopped = async {
        if let Some(consumer) = start_by_name {
            let _ = consumer.await;
        }
    };
    tokio::join!(api_handle.stop(true), management_handle.stop(true), consumer_stopped);
    for (name, server) in [("API", api), ("management", management)] {
        server
            .await
            .with_context(|| format!("the {name} server task failed"))?
            .with_context(|| format!("the {name} server failed while stopping"))?;
    }
    relay_task.abort();
    cancel.cancel();
    for task in background {
        let _ = task.await;
    }
    // Events recorded by the last requests still leave before the process ends.
    while let Ok(n) = relay.deliver_pending(RELAY_BATCH).await {
        if n == 0 {
            break;
        }
    }
    tracing::info!("stopped");
    Ok(())
}

fn stopped_unexpectedly(
    name: &str,
    result: Result<std::io::Result<()>, tokio::task::JoinError>,
) -> anyhow::Result<()> {
    match result {
        Ok(Ok(())) => Err(anyhow::anyhow!("{name} stopped unexpectedly")),
        Ok(Err(err)) => Err(err).with_context(|| format!("{name} failed")),
        Err(err) => Err(err).with_context(|| format!("{name} task failed")),
    }
}

async fn relay_loop(relay: OutboxRelay) {
    let mut interval = tokio::time::interval(RELAY_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The outbox gauges are sampled here, on a period, never per scrape: a slow database
    // cannot pile reads up behind scrapes.
    let mut next_sample = tokio::time::Instant::now();
    loop {
        interval.tick().await;
        if tokio::time::Instant::now() >= next_sample {
            next_sample += observability::OUTBOX_SAMPLE_INTERVAL;
            if let Err(err) = relay.record_backlog().await {
                tracing::debug!(error = %err, "could not read the outbox backlog for its gauges");
            }
        }
        loop {
            match relay.deliver_pending(RELAY_BATCH).await {
                Ok(n) if n == RELAY_BATCH => continue,
                Ok(_) => break,
                Err(err) => {
                    tracing::warn!(error = %err, "event delivery failed; retrying");
                    break;
                }
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
