//! Cross-origin requests from browsers (`RTM_CORS_ALLOWED_ORIGINS`): which origins may call
//! the API, with the methods of the API and exactly the request headers the platform's
//! ingress allows. No origin configured (the default): no CORS header is ever sent, as when
//! an ingress in front of rtm answers CORS itself.

use actix_cors::Cors;
use actix_web::http::{Method, header};

/// The request headers a browser may send cross-origin: the seed's ingress list, verbatim.
const ALLOWED_HEADERS: [&str; 11] = [
    "DNT",
    "Keep-Alive",
    "User-Agent",
    "X-Requested-With",
    "If-Modified-Since",
    "Cache-Control",
    "Content-Type",
    "Range",
    "Authorization",
    "platform",
    "Flowx-Platform",
];

/// The methods of the API (the documented `Access-Control-Allow-Methods`; `OPTIONS` is the
/// preflight itself).
const ALLOWED_METHODS: [Method; 5] =
    [Method::GET, Method::PUT, Method::POST, Method::DELETE, Method::PATCH];

/// How long a browser may cache a preflight's answer: ingress-nginx's default `cors-max-age`.
const MAX_AGE_SECONDS: usize = 1_728_000;

/// The origins allowed to call the API cross-origin; empty (the default) turns CORS off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsOrigins(Vec<String>);

impl CorsOrigins {
    /// Parses a comma-separated list of origins (`https://designer.example.com,
    /// http://localhost:3000`): each a scheme `http` or `https`, a host and an optional port,
    /// nothing else. Blank entries are skipped.
    ///
    /// `*` is refused: the platform's documented CORS answers allow credentials, and browsers
    /// refuse `*` together with credentials; list the origins instead.
    ///
    /// # Errors
    ///
    /// A sentence naming the first entry that is not an origin.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut origins = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
            if entry == "*" {
                return Err(
                    "`*` is not accepted: list the origins (credentials are allowed, and browsers refuse `*` with them)"
                        .to_owned(),
                );
            }
            if !is_origin(entry) {
                return Err(format!(
                    "`{entry}` is not an origin such as https://designer.example.com or http://localhost:3000 \
                     (a scheme, a host and an optional port; no path, no trailing slash)"
                ));
            }
            if !origins.iter().any(|known: &String| known.eq_ignore_ascii_case(entry)) {
                origins.push(entry.to_ascii_lowercase());
            }
        }
        Ok(Self(origins))
    }

    /// Whether CORS is on.
    pub fn is_enabled(&self) -> bool {
        !self.0.is_empty()
    }

    /// The origins, as configured (lower case).
    pub fn origins(&self) -> &[String] {
        &self.0
    }

    /// The middleware: preflights of allowed origins are answered, other origins get no CORS
    /// header (the browser then blocks the response; non-browser clients are unaffected).
    pub(crate) fn middleware(&self) -> Cors {
        let mut cors = Cors::default()
            .allowed_methods(ALLOWED_METHODS)
            .allowed_headers(ALLOWED_HEADERS)
            .expose_headers([header::CONTENT_DISPOSITION, header::LOCATION, header::ETAG])
            .supports_credentials()
            .max_age(MAX_AGE_SECONDS);
        for origin in &self.0 {
            cors = cors.allowed_origin(origin);
        }
        cors
    }
}

/// `scheme://host[:port]`, as browsers send it in `Origin`: checked by hand because
/// actix-cors would only log an invalid origin and then panic when the app is built.
fn is_origin(entry: &str) -> bool {
    let Some((scheme, authority)) = entry.split_once("://") else {
        return false;
    };
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return false;
    }
    let (host, port) = match authority.rsplit_once(':') {
        // An IPv6 literal ends with `]`: its colons are not a port separator.
        Some((host, port)) if !port.ends_with(']') => (host, Some(port)),
        _ => (authority, None),
    };
    let host_ok = if let Some(ipv6) = host.strip_prefix('[') {
        ipv6.strip_suffix(']').is_some_and(|inner| inner.parse::<std::net::Ipv6Addr>().is_ok())
    } else {
        !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            })
    };
    let port_ok = port.is_none_or(|port| port.parse::<u16>().is_ok_and(|port| port > 0));
    host_ok && port_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        let parsed = CorsOrigins::parse(
            " https://Designer.example.com, http://localhost:3000,,http://[::1]:8080 ",
        )
        .expect("valid");
        assert_eq!(
            parsed.origins(),
            ["https://designer.example.com", "http://localhost:3000", "http://[::1]:8080"]
        );
        assert!(!CorsOrigins::parse("").expect("empty").is_enabled());
        for invalid in [
            "*",
            "designer.example.com",
            "ftp://example.com",
            "https://example.com/",
            "https://example.com/app",
            "https://example.com:0",
            "https://example.com:99999",
            "https://exa mple.com",
            "https://user@example.com",
        ] {
            let err = CorsOrigins::parse(invalid).expect_err(invalid);
            assert!(err.contains('`'), "{invalid}: {err}");
        }
    }
}
