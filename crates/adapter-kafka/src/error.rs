//! Errors of this adapter and their translation into `PortError`.

use domain::ports::PortError;
use rdkafka::error::{KafkaError as DriverError, RDKafkaErrorCode};

use crate::payload::EncodeError;

/// Why setting up a client or delivering an event failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KafkaError {
    /// A configuration value librdkafka or we refuse.
    #[error("invalid kafka configuration: {0}")]
    Config(String),
    /// librdkafka refused to create the client.
    #[error("the kafka client could not be created")]
    Client(#[source] DriverError),
    /// A broker's TLS handshake failed or it refused our credentials: the connection can
    /// never succeed as configured.
    #[error("the TLS or SASL handshake with the Kafka broker failed: {0}")]
    Refused(String),
    /// The OAuth token endpoint is not a URL.
    #[error("the kafka oauth token endpoint is not a valid url")]
    TokenEndpoint(#[source] oauth2::url::ParseError),
    /// The HTTP client for the token endpoint could not be built.
    #[error("the http client for the kafka oauth token endpoint could not be built")]
    HttpClient(#[source] oauth2::reqwest::Error),
    /// The record could not be put into its wire form.
    #[error("event {sequence} could not be encoded")]
    Encode {
        /// Outbox sequence of the record.
        sequence: u64,
        #[source]
        source: EncodeError,
    },
    /// The broker did not take the record.
    #[error("event {sequence} was not delivered to topic `{topic}`")]
    Delivery {
        /// Outbox sequence of the record.
        sequence: u64,
        /// Where it was going.
        topic: String,
        #[source]
        source: DriverError,
    },
}

impl From<KafkaError> for PortError {
    fn from(err: KafkaError) -> Self {
        let unavailable = match &err {
            KafkaError::Delivery { source, .. } => is_unavailable(source),
            KafkaError::Config(_)
            | KafkaError::Client(_)
            | KafkaError::Refused(_)
            | KafkaError::TokenEndpoint(_)
            | KafkaError::HttpClient(_)
            | KafkaError::Encode { .. } => false,
        };
        if unavailable { Self::Unavailable(err.into()) } else { Self::Backend(err.into()) }
    }
}

/// Whether the broker could not be reached in time (retrying may help), as opposed to a
/// refusal (unknown topic, record too large, authorization, a fatal producer state).
fn is_unavailable(err: &DriverError) -> bool {
    if matches!(err, DriverError::Canceled) {
        // The delivery future was dropped: the producer is going away.
        return true;
    }
    err.rdkafka_error_code().is_some_and(|code| {
        matches!(
            code,
            RDKafkaErrorCode::MessageTimedOut
                | RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::Resolve
                | RDKafkaErrorCode::QueueFull
                | RDKafkaErrorCode::OperationTimedOut
                | RDKafkaErrorCode::TimedOutQueue
                | RDKafkaErrorCode::RequestTimedOut
                | RDKafkaErrorCode::NetworkException
                | RDKafkaErrorCode::LeaderNotAvailable
                | RDKafkaErrorCode::NotLeaderForPartition
                | RDKafkaErrorCode::NotEnoughReplicas
                | RDKafkaErrorCode::NotEnoughReplicasAfterAppend
                | RDKafkaErrorCode::NotCoordinator
                | RDKafkaErrorCode::CoordinatorNotAvailable
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(code: RDKafkaErrorCode) -> PortError {
        KafkaError::Delivery {
            sequence: 1,
            topic: "t".to_owned(),
            source: DriverError::MessageProduction(code),
        }
        .into()
    }

    #[test]
    fn timeouts_and_unreachable_brokers_are_unavailable() {
        for code in [
            RDKafkaErrorCode::MessageTimedOut,
            RDKafkaErrorCode::AllBrokersDown,
            RDKafkaErrorCode::BrokerTransportFailure,
            RDKafkaErrorCode::QueueFull,
        ] {
            assert!(matches!(delivery(code), PortError::Unavailable(_)), "{code:?}");
        }
    }

    #[test]
    fn refusals_are_backend_failures() {
        for code in [
            RDKafkaErrorCode::MessageSizeTooLarge,
            RDKafkaErrorCode::TopicAuthorizationFailed,
            RDKafkaErrorCode::UnknownTopicOrPartition,
            RDKafkaErrorCode::Fatal,
        ] {
            assert!(matches!(delivery(code), PortError::Backend(_)), "{code:?}");
        }
        assert!(matches!(
            PortError::from(KafkaError::Config("x".to_owned())),
            PortError::Backend(_)
        ));
    }
}
