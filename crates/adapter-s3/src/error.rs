//! Errors of this adapter and their translation into `PortError`.

use std::fmt;
use std::time::Duration;

use domain::ports::PortError;

/// Why an S3 operation failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BlobError {
    /// The driver failed before or after talking to the service (a URL it cannot use, an
    /// answer it cannot read).
    #[error("the s3 client failed")]
    Client(#[source] s3::error::S3Error),
    /// The request did not get an answer: refused, reset, or timed out in the driver.
    #[error("s3 could not be reached at {endpoint}")]
    Transport {
        endpoint: String,
        #[source]
        source: s3::error::S3Error,
    },
    /// The operation took longer than the configured bound.
    #[error("s3 did not answer within {0:?}")]
    Timeout(Duration),
    /// The configured root certificates hold no PEM certificate.
    #[error("the s3 root certificates (RTM_S3_CA_FILE) hold no PEM certificate")]
    Roots,
    /// The service answered with an error status.
    #[error("{0}")]
    Refused(Refusal),
}

/// An error answer of the service, with what its XML body says.
#[derive(Debug)]
pub(crate) struct Refusal {
    /// What was attempted, for the message (`a put`, `listing the bucket`, …).
    pub(crate) operation: &'static str,
    /// The HTTP status.
    pub(crate) status: u16,
    /// `<Code>` of the body, such as `NoSuchKey` or `SignatureDoesNotMatch`.
    pub(crate) code: Option<String>,
    /// `<Message>` of the body.
    pub(crate) message: Option<String>,
}

impl Refusal {
    /// Reads `body`, the error document S3 sends with a failure status.
    pub(crate) fn new(operation: &'static str, status: u16, body: &[u8]) -> Self {
        let body = String::from_utf8_lossy(body);
        Self {
            operation,
            status,
            code: xml_element(&body, "Code"),
            message: xml_element(&body, "Message"),
        }
    }

    /// Whether the service refused the credentials (not just one object).
    pub(crate) fn is_auth_failure(&self) -> bool {
        self.status == 403
            || matches!(
                self.code.as_deref(),
                Some(
                    "SignatureDoesNotMatch"
                        | "InvalidAccessKeyId"
                        | "AccessDenied"
                        | "InvalidSecurity"
                        | "ExpiredToken"
                )
            )
    }

    /// Whether the body names `code`.
    pub(crate) fn has_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3 refused {} with HTTP {}", self.operation, self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        if self.is_auth_failure() {
            f.write_str(" (check the s3 access key, secret key and region, and the key's rights on the bucket)")?;
        }
        Ok(())
    }
}

/// The text of the first `<name>…</name>` in `xml`, unescaped for the five XML entities.
/// S3 error documents are flat, so this is enough and needs no XML crate.
fn xml_element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    let text = xml[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    Some(text).filter(|text| !text.is_empty())
}

impl From<BlobError> for PortError {
    fn from(err: BlobError) -> Self {
        let unavailable = match &err {
            BlobError::Transport { .. } | BlobError::Timeout(_) => true,
            // Throttling and server trouble pass; a retry may well succeed.
            BlobError::Refused(refusal) => matches!(refusal.status, 500 | 502 | 503 | 504),
            BlobError::Client(_) | BlobError::Roots => false,
        };
        if unavailable {
            PortError::Unavailable(err.into())
        } else {
            PortError::Backend(err.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNATURE_MISMATCH: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>"#;

    #[test]
    fn a_refusal_names_the_code_and_says_what_to_check_on_auth_failures() {
        let refusal = Refusal::new("a get", 403, SIGNATURE_MISMATCH.as_bytes());

        let text = refusal.to_string();

        assert!(refusal.is_auth_failure());
        assert!(
            text.starts_with(
                "s3 refused a get with HTTP 403 SignatureDoesNotMatch: The request signature"
            ),
            "{text}"
        );
        assert!(text.contains("check the s3 access key, secret key"), "{text}");
    }

    #[test]
    fn a_body_without_an_error_document_still_gives_the_status() {
        let refusal = Refusal::new("a put", 500, b"");

        assert_eq!(refusal.to_string(), "s3 refused a put with HTTP 500");
        assert!(matches!(PortError::from(BlobError::Refused(refusal)), PortError::Unavailable(_)));
    }

    #[test]
    fn escaped_text_is_unescaped() {
        assert_eq!(
            xml_element("<Message>a &lt;b&gt; &amp; c</Message>", "Message").as_deref(),
            Some("a <b> & c")
        );
        assert_eq!(xml_element("<Code></Code>", "Code"), None);
        assert_eq!(xml_element("<Code>x", "Code"), None);
    }

    #[test]
    fn auth_failures_are_backend_failures_not_outages() {
        let refusal = Refusal::new("a get", 403, SIGNATURE_MISMATCH.as_bytes());

        assert!(matches!(PortError::from(BlobError::Refused(refusal)), PortError::Backend(_)));
    }
}
