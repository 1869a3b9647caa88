//! TLS for the tests of TLS towards the backends: a throwaway certificate authority and a
//! TLS-terminating proxy in front of a plaintext service.
//!
//! * [`TestCa::new`] makes a CA (its certificate in [`TestCa::ca_file`]); [`TestCa::issue`]
//!   signs a server certificate for some host names or IP addresses, [`TestCa::issue_expired`]
//!   one whose validity ended yesterday, and [`TestCa::issue_for_another_host`] one for a
//!   name no test connects to. Every file lives in the CA's temporary directory and is
//!   removed with it.
//! * [`TlsProxy::start`] runs `stunnel4` (Debian package `stunnel4`, installed by
//!   `cargo xtask services up`) on a free local port, terminating TLS with a certificate of
//!   the CA and forwarding the plaintext to `host:port`; it is killed on drop.
//!
//! ```no_run
//! use test_support::tls::{TestCa, TlsProxy};
//!
//! let ca = TestCa::new();
//! let proxy = TlsProxy::start(&ca.issue(&["localhost", "127.0.0.1"]), "127.0.0.1:9000");
//! // Connect to `proxy.address()` trusting `ca.ca_file()`; a client trusting another CA
//! // (`TestCa::new().ca_file()`) must refuse the connection.
//! # drop(proxy);
//! ```

use std::fs;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tempfile::TempDir;
use time::OffsetDateTime;

/// The host name of [`TestCa::issue_for_another_host`]'s certificates.
pub const ANOTHER_HOST: &str = "another-host.invalid";

/// How long [`TlsProxy::start`] waits for the proxy to accept connections.
const PROXY_READY: Duration = Duration::from_secs(10);

/// A certificate authority made for one test, with its files in a temporary directory.
pub struct TestCa {
    dir: TempDir,
    issuer: Issuer<'static, KeyPair>,
    pem: String,
    ca_file: PathBuf,
    issued: AtomicU32,
}

/// A server certificate and its private key, as PEM and as files in the CA's directory.
#[derive(Debug, Clone)]
pub struct ServerCert {
    /// The certificate (PEM), signed by the CA.
    pub cert_pem: String,
    /// Its private key (PKCS#8 PEM).
    pub key_pem: String,
    /// The file holding `cert_pem`.
    pub cert_file: PathBuf,
    /// The file holding `key_pem` (mode 0600).
    pub key_file: PathBuf,
}

impl TestCa {
    /// A new CA, valid from yesterday for a year.
    ///
    /// # Panics
    /// When the key cannot be generated or the temporary directory written.
    #[must_use]
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("rtm-test-ca")
            .tempdir()
            .expect("a temporary directory");
        let key = KeyPair::generate().expect("a CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.distinguished_name.push(DnType::CommonName, "rtm throwaway test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(365);
        let pem = params.self_signed(&key).expect("the CA certificate").pem();
        let ca_file = dir.path().join("ca.pem");
        fs::write(&ca_file, &pem).expect("the CA file");
        let issuer = Issuer::new(params, key);
        Self { dir, issuer, pem, ca_file, issued: AtomicU32::new(0) }
    }

    /// The CA's certificate (PEM): what a client trusts.
    #[must_use]
    pub fn ca_pem(&self) -> &str {
        &self.pem
    }

    /// The file holding [`TestCa::ca_pem`].
    #[must_use]
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The CA's temporary directory (where every file it writes lives).
    #[must_use]
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A server certificate for `hosts` (DNS names or IP addresses), valid from yesterday
    /// for a year.
    ///
    /// # Panics
    /// When a host is not a valid name, or the files cannot be written.
    #[must_use]
    pub fn issue(&self, hosts: &[&str]) -> ServerCert {
        let now = OffsetDateTime::now_utc();
        self.sign(hosts, now - time::Duration::days(1), now + time::Duration::days(365))
    }

    /// A server certificate for `hosts` whose validity ended yesterday.
    ///
    /// # Panics
    /// As [`TestCa::issue`].
    #[must_use]
    pub fn issue_expired(&self, hosts: &[&str]) -> ServerCert {
        let now = OffsetDateTime::now_utc();
        self.sign(hosts, now - time::Duration::days(30), now - time::Duration::days(1))
    }

    /// A valid server certificate for [`ANOTHER_HOST`] only: a client checking the host name
    /// of `localhost` or `127.0.0.1` must refuse it.
    ///
    /// # Panics
    /// As [`TestCa::issue`].
    #[must_use]
    pub fn issue_for_another_host(&self) -> ServerCert {
        self.issue(&[ANOTHER_HOST])
    }

    fn sign(
        &self,
        hosts: &[&str],
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> ServerCert {
        let names: Vec<String> = hosts.iter().map(|host| (*host).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("valid host names");
        params
            .distinguished_name
            .push(DnType::CommonName, hosts.first().copied().unwrap_or("server"));
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages =
            vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = not_before;
        params.not_after = not_after;
        let key = KeyPair::generate().expect("a server key");
        let cert_pem = params.signed_by(&key, &self.issuer).expect("a server certificate").pem();
        let key_pem = key.serialize_pem();
        let number = self.issued.fetch_add(1, Ordering::Relaxed);
        let cert_file = self.dir.path().join(format!("server-{number}.pem"));
        let key_file = self.dir.path().join(format!("server-{number}.key"));
        fs::write(&cert_file, &cert_pem).expect("the certificate file");
        write_private(&key_file, &key_pem);
        ServerCert { cert_pem, key_pem, cert_file, key_file }
    }
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").field("dir", &self.dir.path()).finish_non_exhaustive()
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes a private key readable by its owner only (servers such as PostgreSQL refuse
/// a key others can read).
fn write_private(path: &Path, contents: &str) {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .expect("the key file");
    file.write_all(contents.as_bytes()).expect("the key written");
}

/// A free TCP port on 127.0.0.1 (bound and released: a process started next binds it).
///
/// # Panics
/// When no port can be bound.
#[must_use]
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free local port")
        .port()
}

/// `stunnel4` terminating TLS on a local port and forwarding to a plaintext address; killed
/// on drop.
#[derive(Debug)]
pub struct TlsProxy {
    child: Child,
    port: u16,
    _dir: TempDir,
}

impl TlsProxy {
    /// Starts the proxy on `127.0.0.1:<free port>` with `cert`, forwarding to `target`
    /// (`host:port`), and returns once it accepts connections.
    ///
    /// # Panics
    /// When `stunnel4` is missing (it says how to install it), exits early (with its log),
    /// or does not accept connections within 10 seconds.
    #[must_use]
    #[allow(
        clippy::disallowed_methods,
        reason = "a pause between readiness probes; blocking is fine while a test sets up"
    )]
    pub fn start(cert: &ServerCert, target: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("rtm-tls-proxy")
            .tempdir()
            .expect("a temporary directory");
        let port = free_port();
        let log = dir.path().join("stunnel.log");
        let config = dir.path().join("stunnel.conf");
        fs::write(
            &config,
            format!(
                "foreground = yes\npid =\noutput = {log}\ndebug = 5\n\n[proxy]\naccept = 127.0.0.1:{port}\nconnect = {target}\ncert = {cert}\nkey = {key}\n",
                log = log.display(),
                cert = cert.cert_file.display(),
                key = cert.key_file.display(),
            ),
        )
        .expect("the stunnel configuration");
        let mut child = match Command::new("stunnel4")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(err) => panic!(
                "cannot run stunnel4 ({err}): install it with `cargo xtask services up` (or `apt-get install -y stunnel4`)"
            ),
        };
        let deadline = Instant::now() + PROXY_READY;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "stunnel4 exited ({status}) before accepting connections:\n{}",
                    fs::read_to_string(&log).unwrap_or_default()
                );
            }
            if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                drop(child.kill());
                drop(child.wait());
                panic!(
                    "stunnel4 did not accept connections on 127.0.0.1:{port} within {PROXY_READY:?}:\n{}",
                    fs::read_to_string(&log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, port, _dir: dir }
    }

    /// The port the proxy accepts TLS connections on (on 127.0.0.1).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`.
    #[must_use]
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_writes_its_certificate_and_the_issued_ones_into_its_directory() {
        let ca = TestCa::new();
        assert!(
            fs::read_to_string(ca.ca_file()).unwrap().starts_with("-----BEGIN CERTIFICATE-----")
        );
        let cert = ca.issue(&["localhost", "127.0.0.1"]);
        let expired = ca.issue_expired(&["localhost"]);
        assert_ne!(cert.cert_file, expired.cert_file);
        assert_eq!(fs::read_to_string(&cert.cert_file).unwrap(), cert.cert_pem);
        assert!(cert.key_pem.contains("PRIVATE KEY"));
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(fs::metadata(&cert.key_file).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(cert.cert_file.starts_with(ca.dir()));
    }

    /// The proxy terminates TLS with the CA's certificate and forwards the plaintext:
    /// `openssl s_client` trusting the CA reads what a plain TCP server behind it writes,
    /// and one trusting another CA fails verification.
    #[test]
    fn the_proxy_serves_the_plaintext_service_over_tls_with_the_cas_certificate() {
        use std::io::Write as _;
        let server = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let target = server.local_addr().unwrap().to_string();
        let accepting = std::thread::spawn(move || {
            // The proxy's readiness probe connects first; answer every connection.
            for stream in server.incoming().take(3) {
                drop(stream.unwrap().write_all(b"hello through tls\n"));
            }
        });
        let ca = TestCa::new();
        let proxy = TlsProxy::start(&ca.issue(&["localhost", "127.0.0.1"]), &target);
        let s_client = |ca_file: &Path| {
            Command::new("openssl")
                .args(["s_client", "-connect", &proxy.address(), "-verify_return_error", "-CAfile"])
                .arg(ca_file)
                .stdin(Stdio::null())
                .output()
                .expect("openssl runs")
        };
        let trusted = s_client(ca.ca_file());
        let stdout = String::from_utf8_lossy(&trusted.stdout);
        assert!(stdout.contains("hello through tls"), "{stdout}");
        let other = TestCa::new();
        let untrusted = s_client(other.ca_file());
        assert!(!String::from_utf8_lossy(&untrusted.stdout).contains("hello through tls"));
        assert!(!untrusted.status.success());
        drop(proxy);
        drop(accepting);
    }
}
