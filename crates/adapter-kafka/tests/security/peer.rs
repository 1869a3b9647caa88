//! A Kafka-protocol peer that checks SASL OAUTHBEARER on the wire, since no broker here
//! validates it: a TCP proxy in front of a broker that answers SaslHandshake (API key 17)
//! and SaslAuthenticate (36) itself, verifies the bearer token of the client's first
//! message against the OIDC realm (RS256 signature by the realm's JWKS, issuer, `exp`,
//! through the REST API's own `TokenValidator` with no leeway), records it, and forwards
//! every other request to the broker.
//!
//! Like a broker with `connections.max.reauth.ms` (KIP-368), it tells the client how long
//! its session lasts (until the token's `exp`) and closes a connection whose session has
//! expired when it sends anything but a re-authentication; a request before authentication
//! closes the connection too. Each is recorded as a violation.
//!
//! The broker's ApiVersions answers are rewritten to offer exactly the SASL versions
//! implemented here (SaslHandshake v1, SaslAuthenticate v0–v2), whether or not the broker
//! lists them. Written by hand: no maintained crate parses and writes individual Kafka
//! frames as a proxy needs (the wire format is small and specified per API version).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use http_api::auth::TokenValidator;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

const SASL_HANDSHAKE: i16 = 17;
const API_VERSIONS: i16 = 18;
const SASL_AUTHENTICATE: i16 = 36;
/// Kafka's error codes used here.
const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
const SASL_AUTHENTICATION_FAILED: i16 = 58;
/// Largest frame accepted (Kafka's default `socket.request.max.bytes`).
const MAX_FRAME: usize = 100 * 1024 * 1024;

/// A token the client presented.
#[derive(Debug, Clone)]
pub(crate) struct Presented {
    /// The bearer token as sent.
    pub(crate) token: String,
    /// Its `exp` claim (seconds since the epoch), when it could be read.
    pub(crate) expires_at: Option<u64>,
    /// Whether the realm's validator accepted it (with the OAuth client it was issued to);
    /// else why not.
    pub(crate) verdict: Result<Option<String>, String>,
    /// Which connection (counted from 1) presented it, and whether it re-authenticated an
    /// already authenticated connection.
    pub(crate) connection: u64,
    pub(crate) reauthentication: bool,
    /// When it was presented.
    pub(crate) at: SystemTime,
}

#[derive(Debug, Default)]
struct Record {
    presented: Vec<Presented>,
    violations: Vec<String>,
    connections: u64,
}

/// The peer; stops serving when dropped.
pub(crate) struct SaslPeer {
    address: SocketAddr,
    record: Arc<Mutex<Record>>,
    changed: Arc<Notify>,
    accepting: JoinHandle<()>,
}

impl Drop for SaslPeer {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// What every connection shares.
struct Shared {
    broker: String,
    validator: TokenValidator,
    record: Arc<Mutex<Record>>,
    changed: Arc<Notify>,
}

impl SaslPeer {
    /// Serves on `listener`, forwarding to `broker` (`host:port`), accepting tokens that
    /// `validator` accepts.
    pub(crate) fn start(listener: TcpListener, broker: String, validator: TokenValidator) -> Self {
        let address = listener.local_addr().unwrap();
        let record = Arc::new(Mutex::new(Record::default()));
        let changed = Arc::new(Notify::new());
        let shared = Arc::new(Shared {
            broker,
            validator,
            record: Arc::clone(&record),
            changed: Arc::clone(&changed),
        });
        let accepting = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { continue };
                let connection = {
                    let mut record = shared.record.lock().unwrap_or_else(PoisonError::into_inner);
                    record.connections += 1;
                    record.connections
                };
                tokio::spawn(Connection::serve(Arc::clone(&shared), client, connection));
            }
        });
        Self { address, record, changed, accepting }
    }

    /// Where clients connect.
    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }

    /// Every token presented so far.
    pub(crate) fn presented(&self) -> Vec<Presented> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner).presented.clone()
    }

    /// Every violation so far.
    pub(crate) fn violations(&self) -> Vec<String> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner).violations.clone()
    }

    /// Waits until `condition` holds of the presented tokens, at most `patience`.
    pub(crate) async fn until(
        &self,
        what: &str,
        patience: Duration,
        condition: impl Fn(&[Presented]) -> bool,
    ) {
        let waited = tokio::time::timeout(patience, async {
            loop {
                let next = self.changed.notified();
                if condition(&self.presented()) {
                    return;
                }
                next.await;
            }
        })
        .await;
        assert!(
            waited.is_ok(),
            "timed out after {patience:?} waiting until {what}; presented: {:#?}; violations: {:#?}",
            self.presented(),
            self.violations()
        );
    }
}

/// One client connection and its broker connection.
struct Connection {
    shared: Arc<Shared>,
    number: u64,
    to_client: mpsc::UnboundedSender<Vec<u8>>,
    /// Correlation id → version of the ApiVersions requests forwarded to the broker.
    api_versions: Arc<Mutex<HashMap<i32, i16>>>,
    /// Until when the current authentication holds; `None` before the first one.
    session_until: Option<SystemTime>,
    /// The mechanism accepted by the last SaslHandshake.
    handshaken: bool,
}

impl Connection {
    async fn serve(shared: Arc<Shared>, client: TcpStream, number: u64) {
        let Ok(broker) = TcpStream::connect(&shared.broker).await else {
            shared.violation(number, format!("the broker {} is unreachable", shared.broker));
            return;
        };
        let (mut client_in, client_out) = client.into_split();
        let (broker_in, mut broker_out) = broker.into_split();
        let (to_client, outgoing) = mpsc::unbounded_channel();
        let api_versions = Arc::new(Mutex::new(HashMap::new()));
        let writer = tokio::spawn(write_frames(client_out, outgoing));
        let answers =
            tokio::spawn(relay_answers(broker_in, to_client.clone(), Arc::clone(&api_versions)));
        let mut connection = Self {
            shared,
            number,
            to_client,
            api_versions,
            session_until: None,
            handshaken: false,
        };
        while let Some(frame) = read_frame(&mut client_in).await {
            match connection.handle(frame).await {
                Some(forward) if broker_out.write_all(&forward).await.is_err() => break,
                None if connection.closing() => break,
                Some(_) | None => {}
            }
        }
        answers.abort();
        drop(connection);
        drop(writer.await);
    }

    fn closing(&self) -> bool {
        self.to_client.is_closed()
    }

    /// Answers a SASL request itself (`None`), or returns the framed request to forward.
    async fn handle(&mut self, frame: Vec<u8>) -> Option<Vec<u8>> {
        let mut header = Reader::new(&frame);
        let api_key = header.i16()?;
        let api_version = header.i16()?;
        let correlation_id = header.i32()?;
        match api_key {
            SASL_HANDSHAKE => {
                self.handshake(&frame, api_version, correlation_id);
                None
            }
            SASL_AUTHENTICATE => {
                self.authenticate(&frame, api_version, correlation_id).await;
                None
            }
            API_VERSIONS => {
                self.api_versions
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(correlation_id, api_version);
                Some(framed(&frame))
            }
            other => {
                let refusal = match self.session_until {
                    None => Some(format!("request {other} before authentication")),
                    Some(until) if until <= SystemTime::now() => Some(format!(
                        "request {other} {:?} after the session expired",
                        until.elapsed().unwrap_or_default()
                    )),
                    Some(_) => None,
                };
                if let Some(refusal) = refusal {
                    // What a broker does: close the connection.
                    self.shared.violation(self.number, refusal);
                    self.close();
                    return None;
                }
                Some(framed(&frame))
            }
        }
    }

    fn close(&mut self) {
        let (closed, _) = mpsc::unbounded_channel();
        self.to_client = closed;
    }

    fn handshake(&mut self, frame: &[u8], api_version: i16, correlation_id: i32) {
        let mut reader = Reader::new(frame);
        reader.skip_request_header(false);
        let mechanism = reader.string().unwrap_or_default();
        let error = if api_version == 1 && mechanism == "OAUTHBEARER" {
            0
        } else {
            UNSUPPORTED_SASL_MECHANISM
        };
        self.handshaken = error == 0;
        let mut body = correlation_id.to_be_bytes().to_vec();
        body.extend(error.to_be_bytes());
        body.extend(1_i32.to_be_bytes());
        put_string(&mut body, "OAUTHBEARER");
        self.send(body);
        if error != 0 {
            self.shared.violation(
                self.number,
                format!("SaslHandshake v{api_version} for mechanism `{mechanism}`"),
            );
        }
    }

    async fn authenticate(&mut self, frame: &[u8], api_version: i16, correlation_id: i32) {
        let flexible = api_version >= 2;
        let mut reader = Reader::new(frame);
        reader.skip_request_header(flexible);
        let auth_bytes =
            if flexible { reader.compact_bytes() } else { reader.bytes() }.unwrap_or_default();
        let reauthentication = self.session_until.is_some();
        let (verdict, token, expires_at) = match bearer_token(&auth_bytes) {
            _ if !self.handshaken => {
                (Err("SaslAuthenticate without a SaslHandshake".to_owned()), String::new(), None)
            }
            None => (
                Err(format!(
                    "not an OAUTHBEARER client first message: {:?}",
                    String::from_utf8_lossy(&auth_bytes)
                )),
                String::new(),
                None,
            ),
            Some(token) => {
                let verdict = self
                    .shared
                    .validator
                    .validate(&token)
                    .await
                    .map(|principal| principal.client_id)
                    .map_err(|err| err.to_string());
                let expires_at = expiry(&token);
                (verdict, token, expires_at)
            }
        };
        self.handshaken = false;
        let now = SystemTime::now();
        let session_ms = match (&verdict, expires_at) {
            (Ok(_), Some(exp)) => {
                let until = UNIX_EPOCH + Duration::from_secs(exp);
                self.session_until = Some(until);
                i64::try_from(until.duration_since(now).unwrap_or_default().as_millis())
                    .unwrap_or(i64::MAX)
            }
            _ => 0,
        };
        let (error, message) = match &verdict {
            Ok(_) => (0, None),
            Err(reason) => (
                SASL_AUTHENTICATION_FAILED,
                Some(format!("token refused by the test peer: {reason}")),
            ),
        };
        let mut body = correlation_id.to_be_bytes().to_vec();
        if flexible {
            body.push(0); // response header v1: no tagged fields
        }
        body.extend(error.to_be_bytes());
        match (&message, flexible) {
            (None, false) => body.extend((-1_i16).to_be_bytes()),
            (None, true) => body.push(0),
            (Some(message), false) => put_string(&mut body, message),
            (Some(message), true) => {
                put_uvarint(&mut body, message.len() as u64 + 1);
                body.extend(message.as_bytes());
            }
        }
        // No server-final message for OAUTHBEARER on success (RFC 7628).
        if flexible {
            body.push(1)
        } else {
            body.extend(0_i32.to_be_bytes())
        }
        if api_version >= 1 {
            body.extend(session_ms.to_be_bytes());
        }
        if flexible {
            body.push(0);
        }
        self.send(body);
        let mut record = self.shared.record.lock().unwrap_or_else(PoisonError::into_inner);
        record.presented.push(Presented {
            token,
            expires_at,
            verdict: verdict.clone(),
            connection: self.number,
            reauthentication,
            at: now,
        });
        drop(record);
        self.shared.changed.notify_waiters();
        if verdict.is_err() {
            self.close();
        }
    }

    fn send(&self, body: Vec<u8>) {
        let _closed = self.to_client.send(framed(&body));
    }
}

impl Shared {
    fn violation(&self, connection: u64, what: String) {
        self.record
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .violations
            .push(format!("connection {connection}: {what}"));
        self.changed.notify_waiters();
    }
}

/// `n,,\x01auth=Bearer <token>\x01…\x01` → the token (RFC 7628 §3.1).
fn bearer_token(message: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(message).ok()?;
    let mut parts = text.split('\x01');
    let gs2 = parts.next()?;
    if !gs2.starts_with("n,") {
        return None;
    }
    parts.find_map(|part| part.strip_prefix("auth=Bearer ")).map(str::to_owned)
}

/// The `exp` claim of a JWT, read without verification (the validator verified it).
fn expiry(token: &str) -> Option<u64> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes).ok()?["exp"].as_u64()
}

async fn read_frame(stream: &mut OwnedReadHalf) -> Option<Vec<u8>> {
    let length = usize::try_from(stream.read_i32().await.ok()?).ok()?;
    if length > MAX_FRAME {
        return None;
    }
    let mut frame = vec![0; length];
    stream.read_exact(&mut frame).await.ok()?;
    Some(frame)
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut frame = i32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
    frame.extend(body);
    frame
}

async fn write_frames(mut client: OwnedWriteHalf, mut outgoing: mpsc::UnboundedReceiver<Vec<u8>>) {
    while let Some(frame) = outgoing.recv().await {
        if client.write_all(&frame).await.is_err() {
            return;
        }
    }
    drop(client.shutdown().await);
}

/// Copies the broker's answers to the client, rewriting ApiVersions answers.
async fn relay_answers(
    mut broker: OwnedReadHalf,
    to_client: mpsc::UnboundedSender<Vec<u8>>,
    api_versions: Arc<Mutex<HashMap<i32, i16>>>,
) {
    while let Some(frame) = read_frame(&mut broker).await {
        let correlation_id = Reader::new(&frame).i32().unwrap_or(-1);
        let version =
            api_versions.lock().unwrap_or_else(PoisonError::into_inner).remove(&correlation_id);
        let frame = match version {
            Some(version) => with_sasl_versions(&frame, version).unwrap_or(frame),
            None => frame,
        };
        if to_client.send(framed(&frame)).is_err() {
            return;
        }
    }
}

/// The ApiVersions answer `frame` (of request version `version`) offering SaslHandshake v1
/// and SaslAuthenticate v0–v2 instead of whatever the broker offers for them; `None` when
/// it is an error answer (left as it is).
fn with_sasl_versions(frame: &[u8], version: i16) -> Option<Vec<u8>> {
    let flexible = version >= 3;
    let mut reader = Reader::new(frame);
    reader.i32()?; // correlation id: ApiVersions answers always have response header v0
    let error = reader.i16()?;
    if error != 0 {
        return None;
    }
    let count = if flexible {
        usize::try_from(reader.uvarint()?.checked_sub(1)?).ok()?
    } else {
        usize::try_from(reader.i32()?).ok()?
    };
    let mut keys: Vec<(i16, i16, i16, Vec<u8>)> = Vec::with_capacity(count + 2);
    for _ in 0..count {
        let (key, min, max) = (reader.i16()?, reader.i16()?, reader.i16()?);
        let tags = if flexible { reader.tagged_fields()? } else { Vec::new() };
        if key != SASL_HANDSHAKE && key != SASL_AUTHENTICATE {
            keys.push((key, min, max, tags));
        }
    }
    let empty_tags = if flexible { vec![0] } else { Vec::new() };
    keys.push((SASL_HANDSHAKE, 1, 1, empty_tags.clone()));
    keys.push((SASL_AUTHENTICATE, 0, 2, empty_tags));
    let rest = reader.rest();
    let mut out = frame[..6].to_vec(); // correlation id + error code
    if flexible {
        put_uvarint(&mut out, keys.len() as u64 + 1);
    } else {
        out.extend(i32::try_from(keys.len()).ok()?.to_be_bytes());
    }
    for (key, min, max, tags) in keys {
        out.extend(key.to_be_bytes());
        out.extend(min.to_be_bytes());
        out.extend(max.to_be_bytes());
        out.extend(tags);
    }
    out.extend(rest);
    Some(out)
}

fn put_string(out: &mut Vec<u8>, text: &str) {
    out.extend(i16::try_from(text.len()).unwrap().to_be_bytes());
    out.extend(text.as_bytes());
}

fn put_uvarint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads Kafka's primitive types from a frame.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let taken = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(taken)
    }

    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn uvarint(&mut self) -> Option<u64> {
        let mut value = 0_u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.take(1)?.first()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    /// A nullable string (i16 length, -1 for null), as text.
    fn string(&mut self) -> Option<String> {
        let length = self.i16()?;
        if length < 0 {
            return Some(String::new());
        }
        let bytes = self.take(usize::try_from(length).ok()?)?;
        Some(String::from_utf8_lossy(bytes).into_owned())
    }

    fn bytes(&mut self) -> Option<Vec<u8>> {
        let length = usize::try_from(self.i32()?).ok()?;
        Some(self.take(length)?.to_vec())
    }

    fn compact_bytes(&mut self) -> Option<Vec<u8>> {
        let length = usize::try_from(self.uvarint()?.checked_sub(1)?).ok()?;
        Some(self.take(length)?.to_vec())
    }

    /// Tagged fields, returned as their raw bytes (count included).
    fn tagged_fields(&mut self) -> Option<Vec<u8>> {
        let start = self.at;
        let count = self.uvarint()?;
        for _ in 0..count {
            self.uvarint()?;
            let size = usize::try_from(self.uvarint()?).ok()?;
            self.take(size)?;
        }
        Some(self.bytes[start..self.at].to_vec())
    }

    /// Skips a request header after api key, version and correlation id: the client id,
    /// and the tagged fields of a flexible (v2) header.
    fn skip_request_header(&mut self, flexible: bool) {
        self.at = 8;
        let _client_id = self.string();
        if flexible {
            let _tags = self.tagged_fields();
        }
    }

    fn rest(&self) -> &'a [u8] {
        &self.bytes[self.at..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_the_client_first_message() {
        assert_eq!(
            bearer_token(b"n,,\x01auth=Bearer abc.def.ghi\x01\x01").as_deref(),
            Some("abc.def.ghi")
        );
        assert_eq!(
            bearer_token(b"n,a=me,\x01host=x\x01auth=Bearer t\x01\x01").as_deref(),
            Some("t")
        );
        assert_eq!(bearer_token(b"y,,\x01auth=Bearer t\x01\x01"), None);
        assert_eq!(bearer_token(b"n,,\x01\x01"), None);
    }

    #[test]
    fn api_versions_answers_offer_the_sasl_versions_of_the_peer() {
        // v3 (flexible): produce 0..9, SaslHandshake 0..1 from the broker, throttle, no tags.
        let mut answer = 7_i32.to_be_bytes().to_vec();
        answer.extend(0_i16.to_be_bytes());
        put_uvarint(&mut answer, 3);
        for (key, min, max) in [(0_i16, 0_i16, 9_i16), (17, 0, 1)] {
            answer.extend(key.to_be_bytes());
            answer.extend(min.to_be_bytes());
            answer.extend(max.to_be_bytes());
            answer.push(0);
        }
        answer.extend(0_i32.to_be_bytes());
        answer.push(0);
        let rewritten = with_sasl_versions(&answer, 3).unwrap();
        let mut reader = Reader::new(&rewritten);
        assert_eq!((reader.i32(), reader.i16(), reader.uvarint()), (Some(7), Some(0), Some(4)));
        let mut keys = Vec::new();
        for _ in 0..3 {
            keys.push((reader.i16().unwrap(), reader.i16().unwrap(), reader.i16().unwrap()));
            reader.tagged_fields().unwrap();
        }
        assert_eq!(keys, [(0, 0, 9), (17, 1, 1), (36, 0, 2)]);
        assert_eq!(reader.rest(), [0, 0, 0, 0, 0]);
    }
}
