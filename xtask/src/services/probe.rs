//! Is a service answering on its port, and is it the service we expect there?
//!
//! Each probe opens a TCP connection and, where it is cheap, exchanges one message of the
//! service's own protocol: PostgreSQL's `SSLRequest`, Redis's `PING`, a MongoDB `hello`
//! (`OP_MSG`), a Kafka `ApiVersions` request, and an HTTP GET for S3 and the OIDC realm.
//! Only std: xtask stays light. Also holds the tiny HTTP/1.0 client `services token` uses.

use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
const IO_TIMEOUT: Duration = Duration::from_secs(3);
/// Answers are read up to this size; probes need the first bytes only.
const MAX_ANSWER: u64 = 1 << 20;

/// What is on a port.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Probe {
    /// Nothing accepts connections there.
    Closed,
    /// The expected service answered.
    Answering,
    /// Something accepted the connection but did not answer as the expected service (yet).
    Foreign(String),
}

/// The protocol check a probe makes after connecting.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Check<'a> {
    Postgres,
    Redis,
    Mongo,
    Kafka,
    /// An S3 error document in answer to an unsigned `GET /`.
    S3,
    /// `GET path` answers 200 with a body holding `needle`.
    HttpBody {
        path: &'a str,
        needle: &'a str,
    },
}

pub(crate) fn probe(address: SocketAddr, check: Check<'_>) -> Probe {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) else {
        return Probe::Closed;
    };
    match speak(&mut stream, address, check) {
        Ok(()) => Probe::Answering,
        Err(error) => Probe::Foreign(error.to_string()),
    }
}

fn speak(stream: &mut TcpStream, address: SocketAddr, check: Check<'_>) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    match check {
        Check::Postgres => {
            stream.write_all(&POSTGRES_SSL_REQUEST)?;
            let answer = read_exact::<1>(stream)?;
            expect(matches!(&answer, b"S" | b"N"), "no answer to a PostgreSQL SSLRequest")
        }
        Check::Redis => {
            stream.write_all(b"*1\r\n$4\r\nPING\r\n")?;
            let answer = read_exact::<5>(stream)?;
            // A Redis that requires a password still answers, with `-NOAUTH`.
            expect(&answer == b"+PONG" || &answer == b"-NOAU", "no answer to a Redis PING")
        }
        Check::Mongo => {
            stream.write_all(&mongo_hello())?;
            let header = read_exact::<16>(stream)?;
            expect(is_mongo_reply(&header), "no answer to a MongoDB hello")
        }
        Check::Kafka => {
            stream.write_all(&kafka_api_versions())?;
            let header = read_exact::<8>(stream)?;
            expect(
                header[4..8] == KAFKA_CORRELATION_ID.to_be_bytes(),
                "no Kafka ApiVersions answer",
            )
        }
        Check::S3 => {
            // Unsigned, so refused: the refusal is S3's own XML error document.
            let (_, body) = exchange(stream, address, &Request::get("/"))?;
            expect(body.contains("<Code>"), "GET / was not answered with an S3 error document")
        }
        Check::HttpBody { path, needle } => {
            let (status, body) = exchange(stream, address, &Request::get(path))?;
            expect(status == 200, &format!("GET {path} answered {status}"))?;
            expect(body.contains(needle), &format!("GET {path} does not mention {needle}"))
        }
    }
}

fn expect(condition: bool, otherwise: &str) -> io::Result<()> {
    if condition { Ok(()) } else { Err(io::Error::new(io::ErrorKind::InvalidData, otherwise)) }
}

fn read_exact<const N: usize>(stream: &mut TcpStream) -> io::Result<[u8; N]> {
    let mut buffer = [0; N];
    stream.read_exact(&mut buffer)?;
    Ok(buffer)
}

/// Length 8, then the magic request code 80877103.
const POSTGRES_SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

const MONGO_REQUEST_ID: i32 = 0x7274_6d01;
const OP_MSG: i32 = 2013;
const OP_REPLY: i32 = 1;

/// An `OP_MSG` carrying `{hello: 1, $db: "admin"}` as its body section.
fn mongo_hello() -> Vec<u8> {
    let mut document = Vec::new();
    document.push(0x10); // int32
    document.extend_from_slice(b"hello\0");
    document.extend_from_slice(&1_i32.to_le_bytes());
    document.push(0x02); // string
    document.extend_from_slice(b"$db\0");
    document.extend_from_slice(&6_i32.to_le_bytes());
    document.extend_from_slice(b"admin\0");
    document.push(0);
    let mut body = Vec::new();
    body.extend_from_slice(&0_u32.to_le_bytes()); // flag bits
    body.push(0); // section kind 0: the body document
    body.extend_from_slice(&length(document.len() + 4).to_le_bytes());
    body.extend_from_slice(&document);
    let mut message = Vec::new();
    message.extend_from_slice(&length(body.len() + 16).to_le_bytes());
    message.extend_from_slice(&MONGO_REQUEST_ID.to_le_bytes());
    message.extend_from_slice(&0_i32.to_le_bytes()); // responseTo
    message.extend_from_slice(&OP_MSG.to_le_bytes());
    message.extend_from_slice(&body);
    message
}

/// A reply's header: length, request id, the id it responds to, the op code.
fn is_mongo_reply(header: &[u8; 16]) -> bool {
    let field = |at: usize| {
        i32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    field(8) == MONGO_REQUEST_ID && matches!(field(12), OP_MSG | OP_REPLY)
}

const KAFKA_CORRELATION_ID: i32 = 0x7274_6d02;
const KAFKA_API_VERSIONS: i16 = 18;

/// An `ApiVersions` v0 request: api key, api version, correlation id, client id.
fn kafka_api_versions() -> Vec<u8> {
    let client_id = b"rtm-xtask";
    let mut request = Vec::new();
    request.extend_from_slice(&KAFKA_API_VERSIONS.to_be_bytes());
    request.extend_from_slice(&0_i16.to_be_bytes());
    request.extend_from_slice(&KAFKA_CORRELATION_ID.to_be_bytes());
    request.extend_from_slice(&i16::try_from(client_id.len()).unwrap_or(0).to_be_bytes());
    request.extend_from_slice(client_id);
    let mut message = length(request.len()).to_be_bytes().to_vec();
    message.extend_from_slice(&request);
    message
}

fn length(len: usize) -> i32 {
    i32::try_from(len).expect("a probe message is a few bytes long")
}

/// An HTTP/1.0 request: the answer then has no chunked encoding and ends when the server
/// closes the connection.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    method: &'a str,
    path: &'a str,
    form: Option<String>,
    bearer: Option<&'a str>,
}

impl<'a> Request<'a> {
    pub(crate) fn get(path: &'a str) -> Self {
        Self { method: "GET", path, form: None, bearer: None }
    }

    /// The same request with `Authorization: Bearer {token}`.
    pub(crate) fn bearer(self, token: &'a str) -> Self {
        Self { bearer: Some(token), ..self }
    }

    /// A POST of `application/x-www-form-urlencoded` fields.
    pub(crate) fn post_form(path: &'a str, fields: &[(&str, &str)]) -> Self {
        let form = fields
            .iter()
            .map(|(name, value)| format!("{}={}", form_encode(name), form_encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        Self { method: "POST", path, form: Some(form), bearer: None }
    }

    fn to_bytes(&self, address: SocketAddr) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.0\r\nHost: {address}\r\nUser-Agent: rtm-xtask\r\n",
            self.method, self.path
        );
        if let Some(token) = self.bearer {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        if let Some(form) = &self.form {
            head.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
            head.push_str(&format!("Content-Length: {}\r\n\r\n{form}", form.len()));
        } else {
            head.push_str("\r\n");
        }
        head.into_bytes()
    }
}

/// Sends `request` and returns the answer's status and body.
pub(crate) fn http(address: SocketAddr, request: &Request<'_>) -> io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, CONNECT_TIMEOUT)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    exchange(&mut stream, address, request)
}

fn exchange(
    stream: &mut TcpStream,
    address: SocketAddr,
    request: &Request<'_>,
) -> io::Result<(u16, String)> {
    stream.write_all(&request.to_bytes(address))?;
    let mut answer = Vec::new();
    stream.take(MAX_ANSWER).read_to_end(&mut answer)?;
    parse_http_answer(&String::from_utf8_lossy(&answer))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an HTTP answer"))
}

/// The status and body of an HTTP answer.
fn parse_http_answer(answer: &str) -> Option<(u16, String)> {
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((answer, ""));
    let status_line = head.lines().next()?;
    let mut parts = status_line.split_whitespace();
    parts.next().filter(|version| version.starts_with("HTTP/"))?;
    let status = parts.next()?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// Percent-encodes a form field (`application/x-www-form-urlencoded`).
fn form_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                encoded.push(char::from(byte));
            }
            b' ' => encoded.push('+'),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::thread;

    use super::*;

    #[test]
    fn form_fields_are_percent_encoded() {
        assert_eq!(form_encode("ROLE_A,ROLE_B"), "ROLE_A%2CROLE_B");
        assert_eq!(form_encode("a b/é"), "a+b%2F%C3%A9");
        let request =
            Request::post_form("/t", &[("grant_type", "client_credentials"), ("sub", "al ice")]);
        assert_eq!(request.form.as_deref(), Some("grant_type=client_credentials&sub=al+ice"));
    }

    #[test]
    fn a_bearer_token_goes_in_the_authorization_header() {
        let address = SocketAddr::from(([127, 0, 0, 1], 8080));
        let request = String::from_utf8(Request::get("/api").bearer("abc.def").to_bytes(address))
            .expect("an ASCII request");
        assert_eq!(
            request,
            "GET /api HTTP/1.0\r\nHost: 127.0.0.1:8080\r\nUser-Agent: rtm-xtask\r\n\
             Authorization: Bearer abc.def\r\n\r\n"
        );
    }

    #[test]
    fn an_http_answer_gives_its_status_and_body() {
        let answer = "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\n\r\n<Error/>";
        assert_eq!(parse_http_answer(answer), Some((403, "<Error/>".to_owned())));
        assert_eq!(
            parse_http_answer("HTTP/1.0 204 No Content\r\n\r\n"),
            Some((204, String::new()))
        );
        assert_eq!(parse_http_answer("+PONG\r\n"), None);
    }

    #[test]
    fn the_mongo_hello_is_a_well_formed_op_msg() {
        let message = mongo_hello();
        let total = i32::from_le_bytes([message[0], message[1], message[2], message[3]]);
        assert_eq!(usize::try_from(total).ok(), Some(message.len()));
        let document = &message[21..];
        let document_length =
            i32::from_le_bytes([document[0], document[1], document[2], document[3]]);
        assert_eq!(usize::try_from(document_length).ok(), Some(document.len()));
        assert_eq!(document.last(), Some(&0));
    }

    #[test]
    fn the_kafka_request_is_length_prefixed() {
        let message = kafka_api_versions();
        let length = i32::from_be_bytes([message[0], message[1], message[2], message[3]]);
        assert_eq!(usize::try_from(length).ok(), Some(message.len() - 4));
        assert_eq!(message[4..6], KAFKA_API_VERSIONS.to_be_bytes());
    }

    #[test]
    fn a_closed_port_is_closed_and_a_silent_server_is_foreign() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let address = listener.local_addr().expect("bound");
        // Answers every connection with a line that is no protocol of ours.
        let server = thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("one connection");
            stream.write_all(b"hello, I am an SMTP server\r\n").expect("writable");
        });
        assert!(matches!(probe(address, Check::Redis), Probe::Foreign(_)));
        server.join().expect("the fake server ends");
        assert_eq!(probe(address, Check::Redis), Probe::Closed);
    }

    #[test]
    fn an_http_server_answering_the_expected_body_is_answering() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let address = listener.local_addr().expect("bound");
        let server = thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("one connection");
            let mut request = [0; 512];
            let read = stream.read(&mut request).expect("a request");
            assert!(
                String::from_utf8_lossy(&request[..read]).starts_with("GET /realm HTTP/1.0\r\n")
            );
            stream.write_all(b"HTTP/1.1 200 OK\r\n\r\n{\"issuer\":\"x\"}").expect("writable");
        });
        assert_eq!(
            probe(address, Check::HttpBody { path: "/realm", needle: "\"x\"" }),
            Probe::Answering
        );
        server.join().expect("the fake server ends");
    }
}
