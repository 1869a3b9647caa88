//! `StartByNameService` over the fakes: the message's token decides who starts, the start
//! runs on that user's active build, and a refused token never reaches the engine.

use std::collections::BTreeMap;
use std::sync::Arc;

use adapter_memory::InMemoryProcessEngine;
use async_trait::async_trait;
use domain::model::{ApplicationId, PolicyTarget, Principal, RawJson, ResourceName, SubjectType};
use domain::ports::{TokenError, TokenVerifier};
use domain::runtime::{ProcessStartService, StartByName, StartByNameService, StartRetry};
use test_support::BuildFixture;

use crate::helpers::{Env, code_of, principal};

/// Tokens that are simply names of known principals; anything else is refused as the REST
/// API refuses a bad bearer token.
#[derive(Debug, Default)]
struct KnownTokens(BTreeMap<String, Principal>);

#[async_trait]
impl TokenVerifier for KnownTokens {
    async fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        self.0.get(token).cloned().ok_or_else(|| TokenError::Rejected {
            code: "invalid_token",
            message: "invalid token: signed with an unknown key".to_owned(),
        })
    }
}

struct Setup {
    env: Env,
    engine: Arc<InMemoryProcessEngine>,
    service: StartByNameService,
    application_id: ApplicationId,
}

/// An application with a global build and, for the group `ops`, a build of its own; both
/// have the process `onboarding`.
async fn setup() -> (Setup, domain::model::BuildId, domain::model::BuildId) {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let global = BuildFixture::new(application_id).resource("PROCESS", "onboarding").build();
    let for_ops = BuildFixture::new(application_id).resource("PROCESS", "onboarding").build();
    env.import(&global).await;
    env.import(&for_ops).await;
    env.set_policy(application_id, PolicyTarget::Build(global.id())).await;
    env.add_override(application_id, SubjectType::Group, "ops", PolicyTarget::Build(for_ops.id()))
        .await;
    let engine = Arc::new(InMemoryProcessEngine::new());
    let tokens = KnownTokens(BTreeMap::from([
        ("token-of-olga".to_owned(), principal("olga", &["/ops"], &[])),
        ("token-of-bob".to_owned(), principal("bob", &[], &[])),
    ]));
    let service = StartByNameService::new(
        ProcessStartService::new(env.fakes.ports(), Some(engine.clone())),
        Arc::new(tokens),
        StartRetry::default(),
    );
    (Setup { env, engine, service, application_id }, global.id(), for_ops.id())
}

fn request(application_id: ApplicationId, token: &str, process: &str) -> StartByName {
    StartByName {
        application_id,
        workspace_id: None,
        process_name: ResourceName::parse(process).expect("a valid process name"),
        token: token.to_owned(),
        body: RawJson::from_validated(r#"{"clientId":7}"#.to_owned()),
    }
}

#[tokio::test]
async fn the_tokens_user_starts_on_their_own_active_build_with_their_token_passed_on() {
    let (setup, global, for_ops) = setup().await;

    let olga =
        setup.service.start(&request(setup.application_id, "token-of-olga", "onboarding")).await;
    let bob =
        setup.service.start(&request(setup.application_id, "token-of-bob", "onboarding")).await;

    assert_eq!(olga.expect("olga starts").build_id, for_ops, "olga's group override");
    assert_eq!(bob.expect("bob starts").build_id, global, "bob has no override");
    let starts = setup.engine.starts();
    assert_eq!(starts.len(), 2);
    assert_eq!(starts[0].build_id, for_ops);
    assert_eq!(starts[0].credentials.expose(), "Bearer token-of-olga");
    assert_eq!(starts[0].body.as_str(), r#"{"clientId":7}"#);
    assert_eq!(starts[1].credentials.expose(), "Bearer token-of-bob");
    drop(setup.env);
}

#[tokio::test]
async fn a_refused_token_is_unauthenticated_with_its_code_and_the_engine_is_not_asked() {
    let (setup, _, _) = setup().await;

    let result = setup.service.start(&request(setup.application_id, "forged", "onboarding")).await;

    assert_eq!(code_of(result), "invalid_token");
    assert!(setup.engine.starts().is_empty());
}

#[tokio::test]
async fn an_unknown_application_or_process_is_refused_before_the_engine() {
    let (setup, _, _) = setup().await;

    let unknown_application =
        setup.service.start(&request(ApplicationId::random(), "token-of-bob", "onboarding")).await;
    let unknown_process =
        setup.service.start(&request(setup.application_id, "token-of-bob", "payments")).await;

    assert_eq!(code_of(unknown_application), "no_active_policy");
    assert_eq!(code_of(unknown_process), "process_not_found");
    assert!(setup.engine.starts().is_empty());
}
