//! `S3Config`: where the S3 service is, which bucket, and with which keys.

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;

/// How to reach the S3 service and which bucket to keep blobs in.
///
/// Build it with [`S3Config::new`] and change the fields that differ from the defaults.
#[derive(Clone)]
pub struct S3Config {
    /// The service's base URL, such as `http://minio:9000` or `https://s3.eu-west-1.amazonaws.com`
    /// (`APPLICATION_FILE_STORAGE_S3_SERVER_URL`). Buckets are addressed path-style
    /// (`{server_url}/{bucket}/{key}`).
    pub server_url: String,
    /// Access key id.
    pub access_key: SecretString,
    /// Secret access key.
    pub secret_key: SecretString,
    /// Signing region. Default `us-east-1`.
    pub region: String,
    /// The bucket; created at connect when it is missing. Default `applications-bucket`,
    /// the original's bucket prefix.
    pub bucket: String,
    /// Prepended, with a `/`, to every key: `builds/x/build.zip` is stored as
    /// `{key_prefix}/builds/x/build.zip`. Default none. Tests use it to share one bucket.
    pub key_prefix: Option<String>,
    /// The longest one operation may take, retries and the transfer of the whole object
    /// included; past it the operation fails with `Unavailable`. Default 60 s.
    pub request_timeout: Duration,
    /// The root certificates (PEM) an `https://` server's certificate must chain up to,
    /// instead of the built-in (webpki) roots. Default none.
    pub tls_root_certs_pem: Option<Vec<u8>>,
}

impl S3Config {
    /// Default signing region.
    pub const DEFAULT_REGION: &str = "us-east-1";
    /// Default bucket: the original's bucket prefix.
    pub const DEFAULT_BUCKET: &str = "applications-bucket";
    /// Default bound of one operation.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

    /// The configuration for `server_url` and these keys, every other field at its default.
    pub fn new(
        server_url: impl Into<String>,
        access_key: SecretString,
        secret_key: SecretString,
    ) -> Self {
        Self {
            server_url: server_url.into(),
            access_key,
            secret_key,
            region: Self::DEFAULT_REGION.to_owned(),
            bucket: Self::DEFAULT_BUCKET.to_owned(),
            key_prefix: None,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            tls_root_certs_pem: None,
        }
    }
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("server_url", &self.server_url)
            .field("access_key", &"[redacted]")
            .field("secret_key", &"[redacted]")
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("key_prefix", &self.key_prefix)
            .field("request_timeout", &self.request_timeout)
            .field("tls_root_certs_pem", &self.tls_root_certs_pem.as_ref().map(Vec::len))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_debug_form_hides_both_keys() {
        let config = S3Config::new(
            "http://127.0.0.1:9000",
            SecretString::from("AKIA-visible-nowhere"),
            SecretString::from("hunter2"),
        );

        let printed = format!("{config:?}");

        assert!(!printed.contains("AKIA-visible-nowhere"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("applications-bucket"), "{printed}");
    }
}
