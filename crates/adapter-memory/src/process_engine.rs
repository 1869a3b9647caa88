//! A process engine that records every start it is asked for and answers as it is told:
//! the fake of the service and HTTP tests. Embedded mode does not use it (with no engine
//! configured, starts are refused with `process_engine_not_configured`).

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use domain::ports::{EngineAnswer, EngineError, EngineStart, ProcessEngine};

use crate::lock;

/// What the fake answers to the next start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptedAnswer {
    /// A 2xx with this status and JSON body.
    Accept {
        /// The status (2xx).
        status: u16,
        /// The JSON body.
        body: String,
    },
    /// A 4xx refusal with this message.
    Refuse {
        /// The status (4xx).
        status: u16,
        /// What the engine says.
        message: String,
    },
    /// A 5xx.
    Fail {
        /// The status (5xx).
        status: u16,
    },
    /// No connection.
    Unreachable,
    /// No answer in time.
    TimeOut,
}

/// Records starts; answers each with the next scripted answer, else with a start DTO in the
/// original's shape (`uuid`, `state`, `buildId`, `processDefinitionName`, `applicationId`).
#[derive(Debug, Default)]
pub struct InMemoryProcessEngine {
    starts: Mutex<Vec<EngineStart>>,
    script: Mutex<VecDeque<ScriptedAnswer>>,
}

impl InMemoryProcessEngine {
    /// An engine that accepts every start.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues the answer to a coming start (answers are used in the order queued).
    pub fn answer_next(&self, answer: ScriptedAnswer) {
        lock(&self.script).push_back(answer);
    }

    /// Every start received, oldest first, the refused ones included.
    pub fn starts(&self) -> Vec<EngineStart> {
        lock(&self.starts).clone()
    }
}

#[async_trait]
impl ProcessEngine for InMemoryProcessEngine {
    async fn start(&self, start: EngineStart) -> Result<EngineAnswer, EngineError> {
        let scripted = lock(&self.script).pop_front();
        let default_body = format!(
            r#"{{"uuid":"{}","state":"STARTED","buildId":"{}","applicationId":"{}","processDefinitionName":"{}"}}"#,
            uuid_like(lock(&self.starts).len()),
            start.build_id,
            start.application_id,
            start.process_name,
        );
        if !matches!(scripted, Some(ScriptedAnswer::Unreachable)) {
            // An unreachable engine never received the request.
            lock(&self.starts).push(start);
        }
        match scripted {
            None => Ok(EngineAnswer {
                status: 200,
                content_type: Some("application/json".to_owned()),
                body: default_body.into_bytes(),
            }),
            Some(ScriptedAnswer::Accept { status, body }) => Ok(EngineAnswer {
                status,
                content_type: Some("application/json".to_owned()),
                body: body.into_bytes(),
            }),
            Some(ScriptedAnswer::Refuse { status, message }) => {
                Err(EngineError::Refused { status, message })
            }
            Some(ScriptedAnswer::Fail { status }) => Err(EngineError::Failed { status }),
            Some(ScriptedAnswer::Unreachable) => Err(EngineError::Unreachable(
                std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into(),
            )),
            Some(ScriptedAnswer::TimeOut) => Err(EngineError::TimedOut),
        }
    }
}

/// A process instance id that is unique per fake and readable in test failures.
fn uuid_like(sequence: usize) -> String {
    format!("00000000-0000-4000-8000-{sequence:012}")
}
