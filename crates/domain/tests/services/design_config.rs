//! `ConfigDefaultsService`: defaults of a WIP, validated, imported all or nothing.

use domain::model::{ApplicationKind, ConfigParamType};
use test_support::param;

use crate::design_helpers::DesignEnv;
use crate::helpers::{admin, code_of};

#[tokio::test]
async fn an_import_with_one_bad_value_stores_none_of_it() {
    let design = DesignEnv::new();
    let app = design.create("loans", ApplicationKind::Application).await.application;
    let wip = design.main_wip(app.id).await;

    let refused = design
        .config_defaults
        .import(
            &admin(),
            app.id,
            wip,
            vec![
                param("good", ConfigParamType::Value, "1"),
                param("bad", ConfigParamType::Env, "not an env name"),
            ],
        )
        .await;

    assert_eq!(code_of(refused), "invalid_request");
    assert!(design.config_defaults.list(app.id, wip).await.expect("list").is_empty());
}

#[tokio::test]
async fn defaults_are_put_listed_by_key_and_deleted_on_a_wip_only() {
    let design = DesignEnv::new();
    let app = design.create("loans", ApplicationKind::Application).await.application;
    let wip = design.main_wip(app.id).await;
    let zeta = param("zeta", ConfigParamType::Value, "1");
    let alpha = param("alpha", ConfigParamType::EnvSecret, "DB_PASSWORD");

    design.config_defaults.put(&admin(), app.id, wip, zeta.clone()).await.expect("put");
    design.config_defaults.put(&admin(), app.id, wip, alpha.clone()).await.expect("put");
    let listed = design.config_defaults.list(app.id, wip).await.expect("list");
    design.config_defaults.delete(&admin(), app.id, wip, &zeta.key).await.expect("delete");
    let missing = design.config_defaults.delete(&admin(), app.id, wip, &zeta.key).await;
    design.commit(app.id, wip).await;
    let committed = design.config_defaults.put(&admin(), app.id, wip, zeta).await;

    assert_eq!(listed, [alpha.clone(), param("zeta", ConfigParamType::Value, "1")]);
    assert_eq!(code_of(missing), "config_param_not_found");
    assert_eq!(code_of(committed), "version_committed");
    assert_eq!(design.config_defaults.list(app.id, wip).await.expect("list"), [alpha]);
}
