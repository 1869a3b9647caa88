//! `ConfigOverrideService`, and the parameters the runtime sees.

use domain::model::{ApplicationId, ConfigParamType, DomainEvent, ResolvedConfigParam};
use domain::runtime::ConfigOverrideInput;
use test_support::{BuildFixture, param};

use crate::helpers::{Env, admin, code_of};

fn input(key: &str, param_type: ConfigParamType, value: &str) -> ConfigOverrideInput {
    ConfigOverrideInput {
        key: key.parse().expect("valid key"),
        param_type,
        value: value.to_owned(),
    }
}

fn resolved(
    key: &str,
    param_type: ConfigParamType,
    value: &str,
    overridden: bool,
    from_library: Option<ApplicationId>,
) -> ResolvedConfigParam {
    ResolvedConfigParam {
        key: key.parse().expect("valid key"),
        param_type,
        value: value.to_owned(),
        overridden,
        from_library,
    }
}

#[tokio::test]
async fn parameters_are_library_defaults_overlaid_by_build_defaults_overlaid_by_overrides() {
    use ConfigParamType::{Env as EnvVar, EnvSecret, Value};
    let env = Env::new();
    let library_id = ApplicationId::random();
    let library = BuildFixture::new(library_id)
        .library()
        .resources(1)
        .param(param("shared", Value, "from library"))
        .param(param("library.only", Value, "1"))
        .param(param("library.secret", EnvSecret, "LIB_TOKEN"))
        .build();
    env.import(&library).await;
    let application_id = ApplicationId::random();
    let project = BuildFixture::new(application_id)
        .resources(1)
        .depending_on(&library)
        .param(param("shared", Value, "from build"))
        .param(param("own", EnvVar, "OWN_URL"))
        .param(param("db.password", EnvSecret, "DB_PASSWORD"))
        .build();
    env.import(&project).await;
    env.config
        .set_many(
            &admin(),
            application_id,
            vec![input("own", Value, "overridden"), input("library.only", Value, "2")],
        )
        .await
        .expect("overrides");

    let visible =
        env.runtime.config_params(application_id, project.id(), false).await.expect("params");
    let with_secrets = env
        .runtime
        .config_params(application_id, project.id(), true)
        .await
        .expect("params with secrets");

    assert_eq!(
        visible,
        [
            resolved("library.only", Value, "2", true, Some(library_id)),
            resolved("own", Value, "overridden", true, None),
            resolved("shared", Value, "from build", false, None),
        ],
        "by key, secrets left out"
    );
    let secret_keys: Vec<&str> =
        with_secrets.iter().filter(|p| p.param_type == EnvSecret).map(|p| p.key.as_str()).collect();
    assert_eq!(
        secret_keys,
        ["db.password", "library.secret"],
        "service accounts see the ENV_SECRET parameters"
    );
    assert_eq!(with_secrets.len(), 5);
    assert_eq!(
        env.runtime.build_config_params(project.id(), true).await.expect("by build id alone"),
        with_secrets,
        "a build's parameters by its id alone are the same"
    );
}

#[tokio::test]
async fn parameters_of_a_build_of_another_application_are_not_found() {
    let env = Env::new();
    let foreign = BuildFixture::new(ApplicationId::random()).resources(1).build();
    env.import(&foreign).await;

    assert_eq!(
        code_of(env.runtime.config_params(ApplicationId::random(), foreign.id(), false).await),
        "build_not_found"
    );
    assert_eq!(
        code_of(env.runtime.build_config_params(domain::model::BuildId::random(), true).await),
        "build_not_found",
        "an unknown build by id alone"
    );
}

#[tokio::test]
async fn overrides_are_set_replaced_listed_by_key_and_announced() {
    let env = Env::new();
    let application_id = ApplicationId::random();

    let stored = env
        .config
        .set(&admin(), application_id, input("zeta", ConfigParamType::Value, "1"))
        .await
        .expect("set");
    env.config
        .set_many(
            &admin(),
            application_id,
            vec![
                input("alpha", ConfigParamType::Env, "ALPHA"),
                input("zeta", ConfigParamType::Value, "2"),
            ],
        )
        .await
        .expect("set many");

    assert_eq!(stored.updated_by, "admin");
    let listed = env.config.list(application_id).await.expect("list");
    let pairs: Vec<(&str, &str)> =
        listed.iter().map(|o| (o.key.as_str(), o.value.as_str())).collect();
    assert_eq!(pairs, [("alpha", "ALPHA"), ("zeta", "2")]);
    let events = env.pending_for(application_id).await;
    let announced: Vec<Vec<&str>> = events
        .iter()
        .filter_map(|event| match event {
            DomainEvent::ConfigOverridesUpdated { keys, .. } => {
                Some(keys.iter().map(|key| key.as_str()).collect())
            }
            _ => None,
        })
        .collect();
    assert_eq!(announced, [vec!["zeta"], vec!["alpha", "zeta"]], "each change announces its keys");
}

#[tokio::test]
async fn a_library_takes_no_overrides() {
    let env = Env::new();
    let library_id = ApplicationId::random();
    env.import(&BuildFixture::new(library_id).library().resources(1).build()).await;

    let result =
        env.config.set(&admin(), library_id, input("key", ConfigParamType::Value, "v")).await;

    assert_eq!(code_of(result), "library_overrides_forbidden");
    assert!(env.config.list(library_id).await.expect("list").is_empty());
}

#[tokio::test]
async fn one_bad_value_stores_none_of_the_overrides() {
    let env = Env::new();
    let application_id = ApplicationId::random();

    let result = env
        .config
        .set_many(
            &admin(),
            application_id,
            vec![
                input("good", ConfigParamType::Value, "fine"),
                input("bad", ConfigParamType::Env, "1-not-a-variable"),
            ],
        )
        .await;

    assert_eq!(code_of(result), "invalid_request");
    assert!(env.config.list(application_id).await.expect("list").is_empty(), "all or nothing");
    assert!(env.pending_for(application_id).await.is_empty(), "nothing is announced");
}

#[tokio::test]
async fn a_key_given_twice_or_no_key_at_all_is_invalid() {
    let env = Env::new();
    let application_id = ApplicationId::random();

    let twice = env
        .config
        .set_many(
            &admin(),
            application_id,
            vec![
                input("key", ConfigParamType::Value, "1"),
                input("key", ConfigParamType::Value, "2"),
            ],
        )
        .await;
    let empty = env.config.set_many(&admin(), application_id, Vec::new()).await;

    assert_eq!(code_of(twice), "invalid_request");
    assert_eq!(code_of(empty), "invalid_request");
    assert!(env.config.list(application_id).await.expect("list").is_empty());
}

#[tokio::test]
async fn an_override_is_deleted_once() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    env.config
        .set_many(
            &admin(),
            application_id,
            vec![
                input("kept", ConfigParamType::Value, "1"),
                input("doomed", ConfigParamType::Value, "2"),
            ],
        )
        .await
        .expect("set many");
    let doomed = "doomed".parse().expect("valid key");

    env.config.delete(&admin(), application_id, &doomed).await.expect("delete");
    let again = env.config.delete(&admin(), application_id, &doomed).await;

    assert_eq!(code_of(again), "config_override_not_found");
    let keys: Vec<String> = env
        .config
        .list(application_id)
        .await
        .expect("list")
        .into_iter()
        .map(|o| o.key.to_string())
        .collect();
    assert_eq!(keys, ["kept"]);
}
