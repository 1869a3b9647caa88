//! `DependencyService`: builds of libraries only, one per library, no cycles, WIP only.

use domain::model::{ApplicationKind, BuildId};
use test_support::BuildFixture;

use crate::design_helpers::DesignEnv;
use crate::helpers::{admin, code_of};

#[tokio::test]
async fn a_put_replaces_the_build_of_a_library() {
    let design = DesignEnv::new();
    let library = design.create("shared", ApplicationKind::Library).await.application;
    let (old, new) = (
        BuildFixture::new(library.id).library().resources(1).build(),
        BuildFixture::new(library.id).library().resources(1).build(),
    );
    design.env.import(&old).await;
    design.env.import(&new).await;
    let app = design.create("loans", ApplicationKind::Application).await.application;
    let wip = design.main_wip(app.id).await;

    design.dependencies.put(&admin(), app.id, wip, library.id, old.id()).await.expect("put");
    design.dependencies.put(&admin(), app.id, wip, library.id, new.id()).await.expect("put again");

    let listed = design.dependencies.list(app.id, wip).await.expect("list");
    assert_eq!(listed.len(), 1, "one build per library");
    assert_eq!(listed[0].build_id, new.id());
}

#[tokio::test]
async fn a_build_of_a_project_or_of_another_library_is_refused() {
    let design = DesignEnv::new();
    let project = design.create("other", ApplicationKind::Application).await.application;
    let project_build = BuildFixture::new(project.id).resources(1).build();
    design.env.import(&project_build).await;
    let library = design.create("shared", ApplicationKind::Library).await.application;
    let app = design.create("loans", ApplicationKind::Application).await.application;
    let wip = design.main_wip(app.id).await;

    let of_project =
        design.dependencies.put(&admin(), app.id, wip, project.id, project_build.id()).await;
    let mismatched =
        design.dependencies.put(&admin(), app.id, wip, library.id, project_build.id()).await;
    let unknown =
        design.dependencies.put(&admin(), app.id, wip, library.id, BuildId::random()).await;

    assert_eq!(code_of(of_project), "dependency_not_a_library");
    assert_eq!(code_of(mismatched), "build_not_found");
    assert_eq!(code_of(unknown), "build_not_found");
}

#[tokio::test]
async fn a_library_whose_build_depends_back_on_the_application_is_dependency_cycle() {
    let design = DesignEnv::new();
    let base = design.create("base", ApplicationKind::Library).await.application;
    let top = design.create("top", ApplicationKind::Library).await.application;
    let top_build = BuildFixture::new(top.id).library().resources(1).build();
    design.env.import(&top_build).await;
    // A build of `base` that depends on `top`, imported from elsewhere.
    let base_build =
        BuildFixture::new(base.id).library().resources(1).depending_on(&top_build).build();
    design.env.import(&base_build).await;
    let top_wip = design.main_wip(top.id).await;

    let refused =
        design.dependencies.put(&admin(), top.id, top_wip, base.id, base_build.id()).await;
    let onto_itself =
        design.dependencies.put(&admin(), top.id, top_wip, top.id, top_build.id()).await;

    assert_eq!(code_of(refused), "dependency_cycle");
    assert_eq!(code_of(onto_itself), "dependency_cycle");
}

#[tokio::test]
async fn dependencies_of_a_committed_version_cannot_change() {
    let design = DesignEnv::new();
    let library = design.create("shared", ApplicationKind::Library).await.application;
    let library_build = BuildFixture::new(library.id).library().resources(1).build();
    design.env.import(&library_build).await;
    let app = design.create("loans", ApplicationKind::Application).await.application;
    let first = design.main_wip(app.id).await;
    design.commit(app.id, first).await;

    let put =
        design.dependencies.put(&admin(), app.id, first, library.id, library_build.id()).await;
    let deleted = design.dependencies.delete(&admin(), app.id, first, library.id).await;

    assert_eq!(code_of(put), "version_committed");
    assert_eq!(code_of(deleted), "version_committed");
}
