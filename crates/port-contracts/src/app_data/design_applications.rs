//! `ApplicationRepository`: one name per workspace, the first write that makes `main` and
//! its WIP, lists, and a soft delete that a dependent refuses.

use domain::design::model::{Application, ApplicationFilter};
use domain::model::{ApplicationKind, PageRequest};
use domain::ports::AppDataRepository;

use crate::app_data::design_fixtures::{self, Stored};
use crate::app_data::{assert_conflict, assert_no_events, pending_for};
use crate::fixtures;

/// Runs every check of the role.
pub async fn run_all(repo: &dyn AppDataRepository) {
    creating_an_application_stores_it_with_main_and_a_first_wip(repo).await;
    a_name_taken_in_the_workspace_is_a_conflict_and_stores_nothing(repo).await;
    applications_are_listed_by_name_filtered_and_paged(repo).await;
    an_update_renames_unless_the_name_is_taken(repo).await;
    a_deleted_application_is_not_found_and_frees_its_name(repo).await;
    a_library_another_application_depends_on_cannot_be_deleted(repo).await;
}

/// The application reads back as stored; `main` and its WIP exist; the events are recorded.
pub async fn creating_an_application_stores_it_with_main_and_a_first_wip(
    repo: &dyn AppDataRepository,
) {
    let application = design_fixtures::application(ApplicationKind::Library);
    let (main, first) = design_fixtures::main_and_first(&application);
    let events = [fixtures::event(application.id)];

    repo.create_application(&application, &main, &first, &events)
        .await
        .expect("create_application");

    let found = repo.find_application(application.id).await.expect("find_application");
    assert_eq!(found.as_ref(), Some(&application), "an application reads back as stored");
    let branches = repo.list_branches(application.id).await.expect("list_branches");
    assert_eq!(
        branches,
        std::slice::from_ref(&main),
        "a new application has exactly its branch main"
    );
    let wip = repo.find_wip(application.id, &main.name).await.expect("find_wip");
    assert_eq!(wip.as_ref(), Some(&first), "main starts with the first WIP");
    let recorded: Vec<_> =
        pending_for(repo, application.id).await.into_iter().map(|record| record.event).collect();
    assert_eq!(recorded, events, "the create records its events");
}

/// Same workspace and name (another id): `Conflict`, and neither the application nor its
/// branch or version is stored. Another workspace may use the name.
pub async fn a_name_taken_in_the_workspace_is_a_conflict_and_stores_nothing(
    repo: &dyn AppDataRepository,
) {
    let Stored { application: first, .. } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let twin = Application { id: domain::model::ApplicationId::random(), ..first.clone() };
    let (main, version) = design_fixtures::main_and_first(&twin);

    let refused =
        repo.create_application(&twin, &main, &version, &[fixtures::event(twin.id)]).await;

    assert_conflict(refused, "creating an application with a name taken in the workspace");
    assert_eq!(repo.find_application(twin.id).await.expect("find_application"), None);
    assert!(repo.list_branches(twin.id).await.expect("list_branches").is_empty(), "no branch");
    assert_eq!(repo.find_version(version.id).await.expect("find_version"), None, "no version");
    assert_no_events(repo, twin.id, "a refused create").await;

    let elsewhere = Application {
        id: domain::model::ApplicationId::random(),
        workspace_id: Some(domain::model::WorkspaceId::random()),
        ..first
    };
    let (main, version) = design_fixtures::main_and_first(&elsewhere);
    repo.create_application(&elsewhere, &main, &version, &[])
        .await
        .expect("another workspace may use the name");
}

/// Only applications that pass the filter, ordered by name; the name filter ignores case;
/// pages carry the total.
pub async fn applications_are_listed_by_name_filtered_and_paged(repo: &dyn AppDataRepository) {
    let workspace_id = Some(domain::model::WorkspaceId::random());
    let token = uuid::Uuid::new_v4().simple().to_string();
    let mut stored = Vec::new();
    for (name, kind) in [
        (format!("c-{token}-loans"), ApplicationKind::Application),
        (format!("a-{token}-LOANS"), ApplicationKind::Library),
        (format!("b-{token}-cards"), ApplicationKind::Application),
    ] {
        let application = Application {
            workspace_id,
            name: domain::model::ApplicationName::parse(&name).expect("valid name"),
            kind,
            ..design_fixtures::application(kind)
        };
        let (main, first) = design_fixtures::main_and_first(&application);
        repo.create_application(&application, &main, &first, &[]).await.expect("create");
        stored.push(application);
    }
    let names = |page: &domain::model::Page<Application>| {
        page.items.iter().map(|application| application.name.to_string()).collect::<Vec<_>>()
    };
    let in_workspace = ApplicationFilter { workspace_id, ..ApplicationFilter::default() };

    let all = repo.list_applications(&in_workspace, PageRequest::default()).await.expect("list");
    let loans = repo
        .list_applications(
            &ApplicationFilter { name_contains: Some("Loans".to_owned()), ..in_workspace.clone() },
            PageRequest::default(),
        )
        .await
        .expect("list by name");
    let libraries = repo
        .list_applications(
            &ApplicationFilter { kind: Some(ApplicationKind::Library), ..in_workspace.clone() },
            PageRequest::default(),
        )
        .await
        .expect("list by kind");
    let second_page = repo
        .list_applications(&in_workspace, PageRequest::new(1, 2).expect("valid page"))
        .await
        .expect("list page 1");

    let expected = [&stored[1], &stored[2], &stored[0]].map(|a| a.name.to_string());
    assert_eq!(names(&all), expected, "the workspace's applications, by name");
    assert_eq!(all.total, 3, "the total counts the filtered list");
    assert_eq!(
        names(&loans),
        [expected[0].clone(), expected[2].clone()],
        "the name filter ignores case"
    );
    assert_eq!(names(&libraries), [expected[0].clone()], "the kind filter keeps libraries only");
    assert_eq!(names(&second_page), [expected[2].clone()], "page 1 of size 2");
    assert_eq!(second_page.total, 3, "every page carries the total");
}

/// The new name and description are stored; a name another application of the workspace
/// has is a `Conflict` that changes nothing; an unknown application is `Ok(false)`.
pub async fn an_update_renames_unless_the_name_is_taken(repo: &dyn AppDataRepository) {
    let Stored { application, .. } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let other = Application {
        id: domain::model::ApplicationId::random(),
        name: design_fixtures::unique_name("other"),
        ..application.clone()
    };
    let (main, first) = design_fixtures::main_and_first(&other);
    repo.create_application(&other, &main, &first, &[]).await.expect("create another");

    let renamed = Application {
        name: design_fixtures::unique_name("renamed"),
        description: None,
        updated_by: "someone else".to_owned(),
        updated_at: fixtures::seconds_from_now(5),
        ..application.clone()
    };
    let found = repo
        .update_application(&renamed, &[fixtures::event(application.id)])
        .await
        .expect("update_application");
    assert!(found, "updating a stored application answers true");
    let read = repo.find_application(application.id).await.expect("find_application");
    assert_eq!(read.as_ref(), Some(&renamed), "the update is stored");

    let clash = Application { name: other.name.clone(), ..renamed.clone() };
    assert_conflict(
        repo.update_application(&clash, &[]).await,
        "renaming to a name taken in the workspace",
    );
    let read = repo.find_application(application.id).await.expect("find_application");
    assert_eq!(read.as_ref(), Some(&renamed), "a refused update changes nothing");
    assert_eq!(pending_for(repo, application.id).await.len(), 1, "only the update recorded");

    let unknown = design_fixtures::application(ApplicationKind::Application);
    assert!(
        !repo.update_application(&unknown, &[]).await.expect("update_application"),
        "updating an unknown application answers false"
    );
}

/// After the delete: not found, not listed, its name free in the workspace, and a second
/// delete is `Ok(false)`.
pub async fn a_deleted_application_is_not_found_and_frees_its_name(repo: &dyn AppDataRepository) {
    let Stored { application, .. } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;

    let deleted = repo
        .delete_application(application.id, fixtures::now(), &[fixtures::event(application.id)])
        .await
        .expect("delete_application");

    assert!(deleted, "deleting a stored application answers true");
    assert_eq!(repo.find_application(application.id).await.expect("find"), None, "not found");
    let listed = repo
        .list_applications(
            &ApplicationFilter {
                workspace_id: application.workspace_id,
                ..ApplicationFilter::default()
            },
            PageRequest::default(),
        )
        .await
        .expect("list_applications");
    assert!(listed.items.is_empty(), "a deleted application is not listed");
    let again = repo.delete_application(application.id, fixtures::now(), &[]).await;
    assert!(!again.expect("delete_application again"), "a second delete answers false");
    let successor =
        Application { id: domain::model::ApplicationId::random(), ..application.clone() };
    let (main, first) = design_fixtures::main_and_first(&successor);
    repo.create_application(&successor, &main, &first, &[])
        .await
        .expect("the name of a deleted application is free");
}

/// `Conflict` while a version of another live application depends on the library; once the
/// dependency is gone, the delete goes through.
pub async fn a_library_another_application_depends_on_cannot_be_deleted(
    repo: &dyn AppDataRepository,
) {
    let library = design_fixtures::stored(repo, ApplicationKind::Library).await;
    let project = design_fixtures::stored(repo, ApplicationKind::Application).await;
    let dependency = domain::design::model::VersionDependency {
        library_id: library.application.id,
        build_id: domain::model::BuildId::random(),
    };
    repo.put_dependency(project.first.id, &dependency, &[]).await.expect("put_dependency");

    let refused = repo
        .delete_application(
            library.application.id,
            fixtures::now(),
            &[fixtures::event(library.application.id)],
        )
        .await;

    assert_conflict(refused, "deleting a library another application depends on");
    let kept = repo.find_application(library.application.id).await.expect("find_application");
    assert!(kept.is_some(), "a refused delete changes nothing");
    assert_no_events(repo, library.application.id, "a refused delete").await;

    repo.delete_dependency(project.first.id, library.application.id, &[])
        .await
        .expect("delete_dependency");
    let deleted = repo
        .delete_application(library.application.id, fixtures::now(), &[])
        .await
        .expect("delete once nothing depends on it");
    assert!(deleted, "a library nothing depends on can be deleted");
}
