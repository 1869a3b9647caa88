//! SASL OAUTHBEARER tokens, fetched off librdkafka's threads.
//!
//! librdkafka asks for a token from its poll path through a synchronous callback, which
//! must not block on HTTP (it may run on a tokio worker). So a tokio task fetches tokens by
//! a client-credentials grant, keeps the newest in a [`TokenCache`], and refreshes it at
//! three quarters of its lifetime (librdkafka asks again at 80 %, so the fresh token is
//! ready by then); on failure it retries with exponential backoff while the cached token
//! stays in use until it expires. The callback only reads the cache.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, EndpointNotSet, EndpointSet, TokenResponse as _, TokenUrl};
use secrecy::{ExposeSecret as _, SecretString};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::error::KafkaError;

/// Lifetime assumed when the token endpoint does not say (`expires_in` is optional).
const ASSUMED_LIFETIME: Duration = Duration::from_secs(60);
/// Never refresh more often than this, whatever the token's lifetime.
const MIN_REFRESH_DELAY: Duration = Duration::from_millis(500);
/// First retry delay after a failed fetch; doubles up to [`MAX_BACKOFF`].
const INITIAL_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Bound of one token request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

type TokenClient =
    BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Where to get tokens from.
#[derive(Clone)]
pub(crate) struct TokenSourceSettings {
    pub(crate) token_endpoint: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
}

/// A token as cached.
#[derive(Clone)]
pub(crate) struct CachedToken {
    pub(crate) value: SecretString,
    pub(crate) expires_at: SystemTime,
}

impl CachedToken {
    /// Expiry in milliseconds since the Unix epoch, as librdkafka wants it.
    pub(crate) fn expires_at_unix_ms(&self) -> i64 {
        self.expires_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since_epoch| i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
    }
}

/// The newest token, shared by the refresher (which writes) and the librdkafka callback
/// (which reads). Cloning shares the cache.
#[derive(Clone)]
pub(crate) struct TokenCache {
    latest: watch::Receiver<Option<CachedToken>>,
}

impl TokenCache {
    /// The cached token if it has not expired.
    pub(crate) fn current(&self) -> Option<CachedToken> {
        self.latest.borrow().as_ref().filter(|token| token.expires_at > SystemTime::now()).cloned()
    }

    /// Waits until a first token is cached, at most `timeout`; whether one is.
    pub(crate) async fn wait_for_first(&self, timeout: Duration) -> bool {
        let mut latest = self.latest.clone();
        matches!(tokio::time::timeout(timeout, latest.wait_for(Option::is_some)).await, Ok(Ok(_)))
    }
}

/// Starts the refresher task; it stops when `cancel` is cancelled.
///
/// # Errors
///
/// [`KafkaError::TokenEndpoint`] when the endpoint is not a URL,
/// [`KafkaError::HttpClient`] when no HTTP client can be built.
pub(crate) fn start(
    settings: &TokenSourceSettings,
    cancel: CancellationToken,
) -> Result<TokenCache, KafkaError> {
    let token_url =
        TokenUrl::new(settings.token_endpoint.clone()).map_err(KafkaError::TokenEndpoint)?;
    let client = BasicClient::new(ClientId::new(settings.client_id.clone()))
        .set_client_secret(ClientSecret::new(settings.client_secret.expose_secret().to_owned()))
        .set_token_uri(token_url);
    let http = oauth2::reqwest::Client::builder()
        // Following redirects from a token endpoint would leak the credentials (RFC 6749 §3.2).
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(KafkaError::HttpClient)?;
    let (sender, latest) = watch::channel(None);
    let endpoint = settings.token_endpoint.clone();
    tokio::spawn(refresh(client, http, sender, endpoint, cancel));
    Ok(TokenCache { latest })
}

async fn refresh(
    client: TokenClient,
    http: oauth2::reqwest::Client,
    sender: watch::Sender<Option<CachedToken>>,
    endpoint: String,
    cancel: CancellationToken,
) {
    let mut backoff = INITIAL_BACKOFF;
    loop {
        let fetched = tokio::select! {
            () = cancel.cancelled() => return,
            fetched = fetch(&client, &http) => fetched,
        };
        let delay = match fetched {
            Ok((token, lifetime)) => {
                tracing::debug!(kafka.oauth.lifetime = ?lifetime, "kafka oauth token refreshed");
                sender.send_replace(Some(token));
                backoff = INITIAL_BACKOFF;
                (lifetime * 3 / 4).max(MIN_REFRESH_DELAY)
            }
            Err(err) => {
                let still_valid =
                    sender.borrow().as_ref().is_some_and(|t| t.expires_at > SystemTime::now());
                tracing::warn!(
                    kafka.oauth.token_endpoint = %endpoint,
                    error = %err,
                    retry_in = ?backoff,
                    cached_token_still_valid = still_valid,
                    "could not fetch a kafka oauth token"
                );
                let delay = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                delay
            }
        };
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// One client-credentials grant; the token and its lifetime.
async fn fetch(
    client: &TokenClient,
    http: &oauth2::reqwest::Client,
) -> Result<(CachedToken, Duration), String> {
    let requested_at = SystemTime::now();
    let response = client
        .exchange_client_credentials()
        .request_async(http)
        .await
        .map_err(|err| domain::ports::error_chain(&err))?;
    let lifetime = response.expires_in().unwrap_or(ASSUMED_LIFETIME);
    // Counted from the request, not the answer, so the cached expiry is never late.
    let token = CachedToken {
        value: SecretString::from(response.access_token().secret().clone()),
        expires_at: requested_at + lifetime,
    };
    Ok((token, lifetime))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Instant;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::Notify;

    use super::*;

    /// A token endpoint on a random local port: answers `token-<n>` with `expires_in: 2`,
    /// or 503 while `down`, and records when each request came.
    #[derive(Default)]
    struct TokenEndpoint {
        down: AtomicBool,
        issued: AtomicUsize,
        refused: AtomicUsize,
        issued_at: std::sync::Mutex<Vec<Instant>>,
        requests: Notify,
        bad_requests: AtomicUsize,
    }

    impl TokenEndpoint {
        async fn start() -> (Arc<Self>, String) {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!(
                "http://{}/realms/kafka-authz/protocol/openid-connect/token",
                listener.local_addr().unwrap()
            );
            let endpoint = Arc::new(Self::default());
            let serving = Arc::clone(&endpoint);
            tokio::spawn(async move {
                loop {
                    let (stream, _) = listener.accept().await.unwrap();
                    let serving = Arc::clone(&serving);
                    tokio::spawn(async move { serving.answer(stream).await });
                }
            });
            (endpoint, url)
        }

        async fn answer(&self, mut stream: TcpStream) {
            let request = read_request(&mut stream).await;
            let lower = request.to_ascii_lowercase();
            if !(lower.starts_with("post ")
                && lower.contains("grant_type=client_credentials")
                && lower.contains("authorization: basic "))
            {
                self.bad_requests.fetch_add(1, Ordering::SeqCst);
            }
            let (status, body) = if self.down.load(Ordering::SeqCst) {
                self.refused.fetch_add(1, Ordering::SeqCst);
                ("503 Service Unavailable", r#"{"error":"temporarily_unavailable"}"#.to_owned())
            } else {
                let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
                self.issued_at.lock().unwrap().push(Instant::now());
                (
                    "200 OK",
                    format!(
                        r#"{{"access_token": "token-{n}", "token_type": "bearer", "expires_in": 2}}"#
                    ),
                )
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(response.as_bytes()).await.unwrap();
            stream.shutdown().await.unwrap();
            self.requests.notify_waiters();
        }

        /// Waits (bounded) until `condition` holds, re-checking after every request.
        async fn until(&self, what: &str, condition: impl Fn(&Self) -> bool) {
            let deadline = Duration::from_secs(10);
            tokio::time::timeout(deadline, async {
                loop {
                    let next_request = self.requests.notified();
                    if condition(self) {
                        return;
                    }
                    next_request.await;
                }
            })
            .await
            .unwrap_or_else(|_| panic!("timed out waiting until {what}"));
        }
    }

    async fn read_request(stream: &mut TcpStream) -> String {
        let mut buffer = Vec::new();
        let mut chunk = [0_u8; 1024];
        loop {
            let n = stream.read(&mut chunk).await.unwrap();
            buffer.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buffer).into_owned();
            if let Some(end_of_headers) = text.find("\r\n\r\n") {
                let content_length = text[..end_of_headers]
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        if name.eq_ignore_ascii_case("content-length") {
                            value.trim().parse::<usize>().ok()
                        } else {
                            None
                        }
                    })
                    .unwrap_or(0);
                if buffer.len() >= end_of_headers + 4 + content_length || n == 0 {
                    return text;
                }
            } else if n == 0 {
                return text;
            }
        }
    }

    fn settings(url: String) -> TokenSourceSettings {
        TokenSourceSettings {
            token_endpoint: url,
            client_id: "kafka-client".to_owned(),
            client_secret: SecretString::from("s3cret"),
        }
    }

    fn value(token: &CachedToken) -> String {
        token.value.expose_secret().to_owned()
    }

    #[tokio::test]
    async fn the_token_is_fetched_refreshed_before_expiry_and_kept_while_the_endpoint_is_down() {
        let (endpoint, url) = TokenEndpoint::start().await;
        let cancel = CancellationToken::new();
        let cache = start(&settings(url), cancel.clone()).unwrap();

        assert!(cache.wait_for_first(Duration::from_secs(10)).await, "a first token is fetched");
        let first = cache.current().expect("the first token is served");
        assert_eq!(value(&first), "token-1");
        let remaining = first.expires_at.duration_since(SystemTime::now()).unwrap();
        assert!(remaining <= Duration::from_secs(2), "expiry follows expires_in: {remaining:?}");

        endpoint.until("the token is refreshed", |e| e.issued.load(Ordering::SeqCst) >= 2).await;
        let issued_at = endpoint.issued_at.lock().unwrap().clone();
        let refreshed_after = issued_at[1] - issued_at[0];
        assert!(
            refreshed_after < Duration::from_secs(2),
            "refreshed before the first token expired, after {refreshed_after:?}"
        );
        // The refresher stores the answer right after the endpoint sent it.
        let mut latest = cache.latest.clone();
        tokio::time::timeout(
            Duration::from_secs(5),
            latest.wait_for(|token| token.as_ref().is_some_and(|t| value(t) == "token-2")),
        )
        .await
        .expect("the refreshed token is cached")
        .unwrap();
        assert_eq!(cache.current().map(|t| value(&t)).as_deref(), Some("token-2"));

        endpoint.down.store(true, Ordering::SeqCst);
        endpoint.until("a refresh is refused", |e| e.refused.load(Ordering::SeqCst) >= 1).await;
        let served =
            cache.current().expect("the cached token is served while the endpoint is down");
        assert_eq!(value(&served), "token-2");

        endpoint.down.store(false, Ordering::SeqCst);
        endpoint.until("the refresher recovers", |e| e.issued.load(Ordering::SeqCst) >= 3).await;
        assert_eq!(
            endpoint.bad_requests.load(Ordering::SeqCst),
            0,
            "every request is a client-credentials grant"
        );
        cancel.cancel();
    }

    #[tokio::test]
    async fn an_expired_token_is_not_served() {
        let (sender, latest) = watch::channel(Some(CachedToken {
            value: SecretString::from("old"),
            expires_at: SystemTime::now() - Duration::from_secs(1),
        }));
        let cache = TokenCache { latest };
        assert!(cache.current().is_none());
        sender.send_replace(Some(CachedToken {
            value: SecretString::from("new"),
            expires_at: SystemTime::now() + Duration::from_secs(60),
        }));
        assert_eq!(cache.current().map(|t| value(&t)).as_deref(), Some("new"));
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_gives_no_token_and_connect_does_not_hang() {
        // A port that was just free: nothing listens there.
        let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
        let cancel = CancellationToken::new();
        let cache =
            start(&settings(format!("http://127.0.0.1:{port}/token")), cancel.clone()).unwrap();
        assert!(!cache.wait_for_first(Duration::from_millis(300)).await);
        assert!(cache.current().is_none());
        cancel.cancel();
    }

    #[test]
    fn a_token_endpoint_that_is_not_a_url_is_refused() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let _guard = runtime.enter();
        let err = start(&settings("not a url".to_owned()), CancellationToken::new()).err().unwrap();
        assert!(matches!(err, KafkaError::TokenEndpoint(_)), "{err}");
    }
}
