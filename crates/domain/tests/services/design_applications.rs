//! `ApplicationService`: names per workspace, `main` and its first WIP, lists, soft delete.

use domain::design::model::{ApplicationFilter, VersionStatus, default_settings};
use domain::model::{ApplicationKind, ApplicationName, DomainEvent, PageRequest};
use test_support::BuildFixture;

use crate::design_helpers::{DesignEnv, new_application};
use crate::helpers::{admin, code_of};

#[tokio::test]
async fn a_new_application_has_main_with_a_wip_of_default_settings_and_an_audit_record() {
    let design = DesignEnv::new();

    let created = design.create("loans", ApplicationKind::Application).await;

    let id = created.application.id;
    assert_eq!(created.branches.len(), 1);
    assert_eq!(created.branches[0].name.as_str(), "main");
    let versions = design.versions.list(id, None, PageRequest::default()).await.expect("list");
    assert_eq!(versions.items.len(), 1);
    assert_eq!(versions.items[0].status, VersionStatus::Wip);
    assert_eq!(versions.items[0].settings, default_settings());
    let events = design.env.pending_for(id).await;
    assert!(matches!(events.as_slice(), [DomainEvent::Audit(_)]), "one audit record: {events:?}");
}

#[tokio::test]
async fn a_name_taken_in_the_workspace_is_application_name_taken() {
    let design = DesignEnv::new();
    design.create("loans", ApplicationKind::Application).await;

    let again = design
        .applications
        .create(&admin(), new_application("loans", ApplicationKind::Library))
        .await;

    assert_eq!(code_of(again), "application_name_taken");
}

#[tokio::test]
async fn applications_are_found_by_a_case_insensitive_part_of_their_name_and_by_type() {
    let design = DesignEnv::new();
    design.create("Retail Loans", ApplicationKind::Application).await;
    design.create("loan-lib", ApplicationKind::Library).await;
    design.create("cards", ApplicationKind::Application).await;
    let filter = |name: &str, kind| ApplicationFilter {
        name_contains: Some(name.to_owned()),
        kind,
        workspace_id: None,
    };

    let loans = design.applications.list(&filter("LOAN", None), PageRequest::default()).await;
    let libraries = design
        .applications
        .list(&filter("loan", Some(ApplicationKind::Library)), PageRequest::default())
        .await;

    let names = |page: domain::model::Page<domain::design::model::Application>| {
        page.items.into_iter().map(|a| a.name.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(names(loans.expect("list")), ["Retail Loans", "loan-lib"]);
    assert_eq!(names(libraries.expect("list")), ["loan-lib"]);
}

#[tokio::test]
async fn a_rename_to_a_taken_name_is_refused_and_a_free_one_is_stored() {
    let design = DesignEnv::new();
    let loans = design.create("loans", ApplicationKind::Application).await.application;
    design.create("cards", ApplicationKind::Application).await;
    let name = |raw: &str| Some(ApplicationName::parse(raw).expect("valid"));

    let clash = design.applications.update(&admin(), loans.id, name("cards"), None).await;
    let renamed = design
        .applications
        .update(&admin(), loans.id, name("mortgages"), Some(Some("home loans".to_owned())))
        .await
        .expect("rename");

    assert_eq!(code_of(clash), "application_name_taken");
    assert_eq!(renamed.name.as_str(), "mortgages");
    let read = design.applications.get(loans.id).await.expect("get").application;
    assert_eq!(read, renamed);
}

#[tokio::test]
async fn a_deleted_application_is_not_found_and_its_name_is_free() {
    let design = DesignEnv::new();
    let loans = design.create("loans", ApplicationKind::Application).await.application;

    design.applications.delete(&admin(), loans.id).await.expect("delete");

    assert_eq!(code_of(design.applications.get(loans.id).await), "application_not_found");
    assert_eq!(
        code_of(design.applications.delete(&admin(), loans.id).await),
        "application_not_found"
    );
    design.create("loans", ApplicationKind::Application).await;
}

#[tokio::test]
async fn a_library_another_application_depends_on_is_library_in_use() {
    let design = DesignEnv::new();
    let library = design.create("shared", ApplicationKind::Library).await.application;
    let library_build = BuildFixture::new(library.id).library().resources(1).build();
    design.env.import(&library_build).await;
    let project = design.create("loans", ApplicationKind::Application).await.application;
    let wip = design.main_wip(project.id).await;
    design
        .dependencies
        .put(&admin(), project.id, wip, library.id, library_build.id())
        .await
        .expect("depend on the library");

    let refused = design.applications.delete(&admin(), library.id).await;

    assert_eq!(code_of(refused), "library_in_use");
    design.dependencies.delete(&admin(), project.id, wip, library.id).await.expect("undepend");
    design.applications.delete(&admin(), library.id).await.expect("delete once unused");
}
