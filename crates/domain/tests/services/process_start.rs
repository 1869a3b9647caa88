//! `ProcessStartService`: which build a start goes to, what is checked before anything
//! reaches the engine, and how each engine failure surfaces.

use std::sync::Arc;

use adapter_memory::{InMemoryProcessEngine, ScriptedAnswer};
use domain::DomainError;
use domain::model::{
    ApplicationId, Build, BuildId, PolicyTarget, Principal, RawJson, ResourceName, SubjectType,
    WorkspaceId,
};
use domain::ports::{Credentials, EngineError};
use domain::runtime::{ProcessStartService, StartOn, StartRequest};
use test_support::BuildFixture;

use crate::helpers::{Env, code_of, principal, user};

const PROCESS: &str = "loan_application";

/// The environment's services, a process start service over the same fakes, and its engine.
struct Starts {
    env: Env,
    service: ProcessStartService,
    engine: Arc<InMemoryProcessEngine>,
}

impl Starts {
    fn new() -> Self {
        let env = Env::new();
        let engine = Arc::new(InMemoryProcessEngine::new());
        let service = ProcessStartService::new(env.fakes.ports(), Some(engine.clone()));
        Self { env, service, engine }
    }

    fn without_engine() -> Self {
        let starts = Self::new();
        let service = ProcessStartService::new(starts.env.fakes.ports(), None);
        Self { service, ..starts }
    }

    /// An imported build of `application_id` holding the process and another resource.
    async fn build_with_process(&self, application_id: ApplicationId) -> Build {
        self.build_in(application_id, None).await
    }

    async fn build_in(
        &self,
        application_id: ApplicationId,
        workspace: Option<WorkspaceId>,
    ) -> Build {
        let mut fixture = BuildFixture::new(application_id)
            .resource("PROCESS", PROCESS)
            .resource("ENUMERATION", "loan_types");
        if let Some(workspace_id) = workspace {
            fixture = fixture.in_workspace(workspace_id);
        }
        let build = fixture.build();
        self.env.import(&build).await;
        build
    }

    /// The builds the engine was asked to start on, in order.
    fn started_builds(&self) -> Vec<BuildId> {
        self.engine.starts().iter().map(|start| start.build_id).collect()
    }
}

fn name(raw: &str) -> ResourceName {
    ResourceName::parse(raw).expect("a valid process name")
}

fn request(application_id: ApplicationId, on: StartOn, caller: &Principal) -> StartRequest {
    StartRequest {
        application_id,
        on,
        process_name: name(PROCESS),
        principal: caller.clone(),
        credentials: Credentials::bearer("caller-token"),
        body: RawJson::from_validated(r#"{"amount": 12000}"#.to_owned()),
    }
}

fn pinned(build_id: BuildId) -> StartOn {
    StartOn::Build { build_id, workspace_id: None }
}

fn active() -> StartOn {
    StartOn::Active { workspace_id: None }
}

#[tokio::test]
async fn a_start_on_a_pinned_build_reaches_the_engine_with_everything_it_needs() {
    let starts = Starts::new();
    let application_id = ApplicationId::random();
    let workspace_id = WorkspaceId::random();
    let build = starts.build_in(application_id, Some(workspace_id)).await;

    let started = starts
        .service
        .start(request(application_id, pinned(build.id()), &user("ana")))
        .await
        .expect("started");

    assert_eq!(started.build_id, build.id());
    assert_eq!(started.answer.status, 200);
    let sent = starts.engine.starts();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].process_name.as_str(), PROCESS);
    assert_eq!(sent[0].application_id, application_id);
    assert_eq!(sent[0].build_id, build.id());
    assert_eq!(sent[0].workspace_id, Some(workspace_id), "the build's own workspace");
    assert_eq!(sent[0].credentials, Credentials::bearer("caller-token"));
    assert_eq!(sent[0].body.as_str(), r#"{"amount": 12000}"#);
}

#[tokio::test]
async fn a_start_on_the_active_build_goes_to_the_build_of_the_user_override_the_group_override_or_the_global_policy()
 {
    let starts = Starts::new();
    let application_id = ApplicationId::random();
    let global = starts.build_with_process(application_id).await;
    let for_testers = starts.build_with_process(application_id).await;
    let for_carol = starts.build_with_process(application_id).await;
    let env = &starts.env;
    env.set_policy(application_id, PolicyTarget::Build(global.id())).await;
    env.add_override(
        application_id,
        SubjectType::Group,
        "testers",
        PolicyTarget::Build(for_testers.id()),
    )
    .await;
    env.add_override(
        application_id,
        SubjectType::User,
        "carol",
        PolicyTarget::Build(for_carol.id()),
    )
    .await;

    for caller in
        [user("ana"), principal("bob", &["/testers"], &[]), principal("carol", &["testers"], &[])]
    {
        let started = starts.service.start(request(application_id, active(), &caller)).await;
        assert!(started.is_ok(), "{caller:?}: {started:?}");
    }

    assert_eq!(
        starts.started_builds(),
        [global.id(), for_testers.id(), for_carol.id()],
        "ana: global policy; bob: his group's override; carol: her own override over her group's"
    );
}

#[tokio::test]
async fn the_active_build_is_checked_against_the_workspace_the_request_names() {
    let starts = Starts::new();
    let application_id = ApplicationId::random();
    let workspace_id = WorkspaceId::random();
    let build = starts.build_in(application_id, Some(workspace_id)).await;
    starts.env.set_policy(application_id, PolicyTarget::Build(build.id())).await;
    let in_workspace = |workspace_id| StartOn::Active { workspace_id: Some(workspace_id) };

    let elsewhere = starts
        .service
        .start(request(application_id, in_workspace(WorkspaceId::random()), &user("ana")))
        .await;
    assert_eq!(code_of(elsewhere), "build_not_found");
    assert!(starts.engine.starts().is_empty(), "nothing reached the engine");

    let started = starts
        .service
        .start(request(application_id, in_workspace(workspace_id), &user("ana")))
        .await
        .expect("started in its workspace");
    assert_eq!(started.build_id, build.id());
}

#[tokio::test]
async fn a_build_of_another_application_or_workspace_is_build_not_found_and_nothing_reaches_the_engine()
 {
    let starts = Starts::new();
    let application_id = ApplicationId::random();
    let workspace_id = WorkspaceId::random();
    let build = starts.build_in(application_id, Some(workspace_id)).await;
    let other_application = starts.build_with_process(ApplicationId::random()).await;

    let of_another_application = starts
        .service
        .start(request(application_id, pinned(other_application.id()), &user("ana")))
        .await;
    let unknown = starts
        .service
        .start(request(application_id, pinned(BuildId::random()), &user("ana")))
        .await;
    let in_another_workspace = starts
        .service
        .start(request(
            application_id,
            StartOn::Build { build_id: build.id(), workspace_id: Some(WorkspaceId::random()) },
            &user("ana"),
        ))
        .await;

    assert_eq!(code_of(of_another_application), "build_not_found");
    assert_eq!(code_of(unknown), "build_not_found");
    assert_eq!(code_of(in_another_workspace), "build_not_found");
    assert!(starts.engine.starts().is_empty(), "nothing reached the engine");
}

#[tokio::test]
async fn a_process_the_build_does_not_hold_is_process_not_found_and_nothing_reaches_the_engine() {
    let starts = Starts::new();
    let application_id = ApplicationId::random();
    let build = starts.build_with_process(application_id).await;
    let mut unknown = request(application_id, pinned(build.id()), &user("ana"));
    unknown.process_name = name("no_such_process");
    let mut not_a_process = request(application_id, pinned(build.id()), &user("ana"));
    not_a_process.process_name = name("loan_types");

    assert_eq!(code_of(starts.service.start(unknown).await), "process_not_found");
    assert_eq!(code_of(starts.service.start(not_a_process).await), "process_not_found");
    assert!(starts.engine.starts().is_empty(), "nothing reached the engine");
}

#[tokio::test]
async fn target_names_the_build_a_start_would_run_on_without_reaching_the_engine() {
    let starts = Starts::new();
    let application_id = ApplicationId::random();
    let build = starts.build_with_process(application_id).await;
    starts.env.set_policy(application_id, PolicyTarget::Build(build.id())).await;

    let target = starts
        .service
        .target(application_id, &active(), &user("ana"), &name(PROCESS))
        .await
        .expect("a target");

    assert_eq!(target.id(), build.id());
    assert!(starts.engine.starts().is_empty());
}

#[tokio::test]
async fn without_an_engine_every_start_is_process_engine_not_configured() {
    let starts = Starts::without_engine();
    let application_id = ApplicationId::random();
    let build = starts.build_with_process(application_id).await;

    let result =
        starts.service.start(request(application_id, pinned(build.id()), &user("ana"))).await;

    let err = result.expect_err("no engine");
    assert_eq!(err.code(), "process_engine_not_configured");
    assert!(err.to_string().contains("RTM_PROCESS_ENGINE_URL"), "{err}");
}

#[tokio::test]
async fn each_engine_failure_keeps_its_kind_and_code() {
    let starts = Starts::new();
    let application_id = ApplicationId::random();
    let build = starts.build_with_process(application_id).await;
    let cases = [
        (
            ScriptedAnswer::Refuse { status: 422, message: "amount must be positive".to_owned() },
            "process_engine_refused",
        ),
        (ScriptedAnswer::Fail { status: 500 }, "process_engine_unavailable"),
        (ScriptedAnswer::Unreachable, "process_engine_unavailable"),
        (ScriptedAnswer::TimeOut, "process_engine_unavailable"),
    ];

    for (scripted, code) in cases {
        starts.engine.answer_next(scripted.clone());
        let err = starts
            .service
            .start(request(application_id, pinned(build.id()), &user("ana")))
            .await
            .expect_err("the engine did not start it");
        assert_eq!(err.code(), code, "{scripted:?}");
        let DomainError::ProcessEngine(engine_error) = &err else {
            panic!("{scripted:?} should be an engine error, got {err:?}");
        };
        let kept = match (&scripted, engine_error) {
            (
                ScriptedAnswer::Refuse { status, message },
                EngineError::Refused { status: s, message: m },
            ) => status == s && message == m,
            (ScriptedAnswer::Fail { status }, EngineError::Failed { status: s }) => status == s,
            (ScriptedAnswer::Unreachable, EngineError::Unreachable(_))
            | (ScriptedAnswer::TimeOut, EngineError::TimedOut) => true,
            _ => false,
        };
        assert!(kept, "{scripted:?} became {engine_error:?}");
    }
    assert_eq!(starts.engine.starts().len(), 3, "the unreachable engine received nothing");
}
