//! The design-time rules under real concurrency, which the port contract's `join_all` on
//! one task cannot show: racers on a multi-thread runtime, each on its own pooled
//! connection, released together by a barrier, so that the database alone decides who
//! wins. Also: a failed multi-row write leaves nothing, and starting a WIP from a version
//! of ten thousand resources copies links only.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use adapter_postgres::PgAppDataRepository;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use domain::design::model::VersionDependency;
use domain::design::model::{
    Application, Branch, CommitMessage, ResourceChange, ResourceStatus, ResourceUpdate,
    ResourceVersion, Version, VersionStatus, default_settings,
};
use domain::design::ports::{
    ApplicationRepository, BranchRepository, DependencyRepository, ResourceRepository,
    VersionRepository,
};
use domain::model::{
    ApplicationId, ApplicationKind, ApplicationName, BranchName, BuildId, PageRequest, RawJson,
    ResourceDefinitionId, ResourceName, ResourceType, ResourceVersionId, VersionId, WorkspaceId,
};
use domain::ports::{PortError, PortResult};
use tokio::sync::Barrier;

use crate::support::{TestSchema, event, now};

/// How many writers each race sets against each other.
const RACERS: usize = 8;
/// How many times each race is run, so that a lucky interleaving cannot hide a broken rule.
const ROUNDS: usize = 10;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A repository whose pool holds a connection for every racer.
async fn racing_repository(schema: &TestSchema) -> Arc<PgAppDataRepository> {
    let mut config = schema.config();
    config.max_pool_size = RACERS;
    Arc::new(PgAppDataRepository::connect(&config).await.unwrap())
}

/// Runs `RACERS` calls of `racer` on as many tasks, released at once; the results in
/// racer order.
async fn race<T, F>(
    repository: &Arc<PgAppDataRepository>,
    racer: impl Fn(Arc<PgAppDataRepository>, usize) -> F,
) -> Vec<PortResult<T>>
where
    T: Send + 'static,
    F: Future<Output = PortResult<T>> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|index| {
            let barrier = Arc::clone(&barrier);
            let call = racer(Arc::clone(repository), index);
            tokio::spawn(async move {
                barrier.wait().await;
                call.await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(RACERS);
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

/// Asserts that exactly one result is `Ok` and every other a `Conflict`.
fn assert_one_winner<T: std::fmt::Debug>(results: &[PortResult<T>], context: &str) {
    let wins = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!(wins, 1, "{context}: exactly one racer wins, got {results:?}");
    for result in results.iter().filter(|result| result.is_err()) {
        assert!(matches!(result, Err(PortError::Conflict(_))), "{context}: {result:?}");
    }
}

/// The `n` that `query` (with `$1` bound to `bind`) selects, read from outside the port.
async fn count(schema: &TestSchema, query: &str, bind: &str) -> i64 {
    let mut connection = schema.admin_connection().await;
    let row: Count =
        diesel::sql_query(query).bind::<Text, _>(bind).get_result(&mut connection).await.unwrap();
    row.n
}

/// The `n` that `query` selects from the whole schema.
async fn count_all(schema: &TestSchema, query: &str) -> i64 {
    let mut connection = schema.admin_connection().await;
    let row: Count = diesel::sql_query(query).get_result(&mut connection).await.unwrap();
    row.n
}

fn fresh_application() -> Application {
    let at = now();
    Application {
        id: ApplicationId::random(),
        workspace_id: Some(WorkspaceId::random()),
        name: ApplicationName::parse(&format!("pg-design-{}", uuid::Uuid::new_v4())).unwrap(),
        kind: ApplicationKind::Application,
        description: None,
        created_by: "tests".to_owned(),
        created_at: at,
        updated_by: "tests".to_owned(),
        updated_at: at,
        deleted_at: None,
    }
}

/// A stored application with its `main` branch and first WIP.
async fn stored(repository: &PgAppDataRepository) -> (Application, Branch, Version) {
    stored_application(repository, fresh_application()).await
}

/// `application` stored with its `main` branch and first WIP.
async fn stored_application(
    repository: &PgAppDataRepository,
    application: Application,
) -> (Application, Branch, Version) {
    let main = Branch {
        application_id: application.id,
        name: BranchName::parse("main").unwrap(),
        created_from: None,
        created_by: "tests".to_owned(),
        created_at: application.created_at,
    };
    let first = Version {
        id: VersionId::random(),
        application_id: application.id,
        branch: main.name.clone(),
        status: VersionStatus::Wip,
        parent_id: None,
        commit_message: None,
        settings: default_settings(),
        created_by: "tests".to_owned(),
        created_at: application.created_at,
        committed_by: None,
        committed_at: None,
        last_changed_at: application.created_at,
    };
    repository.create_application(&application, &main, &first, &[]).await.unwrap();
    (application, main, first)
}

fn committed(wip: &Version) -> Version {
    let at = now();
    Version {
        status: VersionStatus::Committed,
        commit_message: Some(CommitMessage::parse("pg test commit").unwrap()),
        committed_by: Some("tests".to_owned()),
        committed_at: Some(at),
        last_changed_at: at,
        ..wip.clone()
    }
}

fn wip_after(parent: &Version) -> Version {
    let at = parent.created_at + time::Duration::seconds(1);
    Version {
        id: VersionId::random(),
        status: VersionStatus::Wip,
        parent_id: Some(parent.id),
        commit_message: None,
        committed_by: None,
        committed_at: None,
        created_at: at,
        last_changed_at: at,
        ..parent.clone()
    }
}

fn resource(name: &str) -> ResourceVersion {
    let at = now();
    ResourceVersion {
        id: ResourceVersionId::parse(&uuid::Uuid::new_v4().to_string()).unwrap(),
        definition_id: ResourceDefinitionId::parse(&uuid::Uuid::new_v4().to_string()).unwrap(),
        resource_type: ResourceType::parse("PROCESS").unwrap(),
        name: ResourceName::parse(name).unwrap(),
        content: RawJson::from_validated(format!(r#"{{ "name": "{name}" }}"#)),
        status: ResourceStatus::Wip,
        revision: 1,
        created_at: at,
        last_changed_at: at,
        committed_at: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_racing_commits_of_one_wip_exactly_one_wins_and_the_others_conflict() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let repository = racing_repository(&schema).await;

    for _ in 0..ROUNDS {
        let (application, _, first) = stored(&repository).await;
        repository.create_resource(first.id, &resource("frozen"), &[]).await.unwrap();

        let results = race(&repository, |repository, _| {
            let committed = committed(&first);
            async move {
                repository.commit_version(&committed, &[event(committed.application_id)]).await
            }
        })
        .await;

        assert_one_winner(&results, "racing commits of one WIP");
        assert!(results.iter().any(|result| matches!(result, Ok(true))), "the winner found it");
        let stored = repository.find_version(first.id).await.unwrap().unwrap();
        assert_eq!(stored.status, VersionStatus::Committed);
        let manifest = repository.list_manifest(first.id).await.unwrap();
        assert_eq!(manifest[0].status, ResourceStatus::Committed, "its resource is committed");
        let events = count(
            &schema,
            "SELECT count(*) AS n FROM outbox_events WHERE application_id = $1::uuid",
            &application.id.to_string(),
        )
        .await;
        assert_eq!(events, 1, "only the winning commit recorded its event");
    }

    drop(repository);
    schema.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_racing_wip_starts_on_one_branch_exactly_one_wins() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let repository = racing_repository(&schema).await;

    for _ in 0..ROUNDS {
        let (application, _, first) = stored(&repository).await;
        repository.create_resource(first.id, &resource("shared"), &[]).await.unwrap();
        let parent = committed(&first);
        assert!(repository.commit_version(&parent, &[]).await.unwrap());

        let results = race(&repository, |repository, _| {
            let wip = wip_after(&parent);
            async move { repository.start_wip(&wip, &[]).await }
        })
        .await;

        assert_one_winner(&results, "racing WIP starts on one branch");
        let wips = count(
            &schema,
            "SELECT count(*) AS n FROM versions WHERE application_id = $1::uuid AND status = 'WIP'",
            &application.id.to_string(),
        )
        .await;
        assert_eq!(wips, 1, "one WIP stored");
        let links = count(
            &schema,
            "SELECT count(*) AS n FROM manifest_links l JOIN versions v ON v.id = l.version_id \
             WHERE v.application_id = $1::uuid",
            &application.id.to_string(),
        )
        .await;
        assert_eq!(links, 2, "the parent's link and the winner's copy, none of the losers'");
    }

    drop(repository);
    schema.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_racing_resource_creations_with_one_name_in_one_version_exactly_one_wins() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let repository = racing_repository(&schema).await;

    for _ in 0..ROUNDS {
        let (_, _, first) = stored(&repository).await;
        let racers: Vec<ResourceVersion> = (0..RACERS).map(|_| resource("contested")).collect();
        let racers = Arc::new(racers);

        let results = race(&repository, |repository, index| {
            let racers = Arc::clone(&racers);
            async move { repository.create_resource(first.id, &racers[index], &[]).await }
        })
        .await;

        assert_one_winner(&results, "racing creates with one name");
        assert_eq!(repository.list_manifest(first.id).await.unwrap().len(), 1, "one link");
        let ids: Vec<String> = racers.iter().map(|racer| racer.id.to_string()).collect();
        let stored = count(
            &schema,
            "SELECT count(*) AS n FROM resource_versions WHERE id = ANY(string_to_array($1, ','))",
            &ids.join(","),
        )
        .await;
        assert_eq!(stored, 1, "the losers' resource versions are rolled back with their links");
    }

    drop(repository);
    schema.drop().await;
}

/// Racers that all read one etag: one change goes through, every other is told the etag is
/// stale, both for a change in place and for a copy on write.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_racing_updates_with_one_etag_exactly_one_changes_the_resource() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let repository = racing_repository(&schema).await;

    for _ in 0..ROUNDS {
        let (_, _, first) = stored(&repository).await;
        let original = resource("guarded");
        repository.create_resource(first.id, &original, &[]).await.unwrap();
        let in_place = race(&repository, |repository, index| {
            let change = change(&original, index);
            async move { repository.update_resource(first.id, &change, &[]).await }
        })
        .await;
        let parent = committed(&first);
        assert!(repository.commit_version(&parent, &[]).await.unwrap());
        let wip = wip_after(&parent);
        repository.start_wip(&wip, &[]).await.unwrap();
        let frozen = repository
            .find_resource(wip.id, &original.resource_type, &original.definition_id)
            .await
            .unwrap()
            .unwrap();
        let copied = race(&repository, |repository, index| {
            let change = change(&frozen, index);
            async move { repository.update_resource(wip.id, &change, &[]).await }
        })
        .await;

        for (results, context) in [(in_place, "in place"), (copied, "copy on write")] {
            let updated: Vec<_> = results
                .iter()
                .filter(|result| matches!(result, Ok(ResourceUpdate::Updated(_))))
                .collect();
            assert_eq!(updated.len(), 1, "{context}: one change wins: {results:?}");
            for result in &results {
                assert!(
                    matches!(
                        result,
                        Ok(ResourceUpdate::Updated(_) | ResourceUpdate::StaleEtag { .. })
                    ),
                    "{context}: every other racer sees a stale etag: {result:?}"
                );
            }
        }
        let stored = count(
            &schema,
            "SELECT count(*) AS n FROM manifest_links WHERE version_id = $1::uuid",
            &wip.id.to_string(),
        )
        .await;
        assert_eq!(stored, 1, "the WIP links one copy");
    }

    drop(repository);
    schema.drop().await;
}

/// A change of `resource`'s content expecting its etag, with a copy id of its own.
fn change(resource: &ResourceVersion, index: usize) -> ResourceChange {
    ResourceChange {
        resource_type: resource.resource_type.clone(),
        definition_id: resource.definition_id.clone(),
        name: resource.name.clone(),
        content: RawJson::from_validated(format!(r#"{{"racer":{index}}}"#)),
        expected_etag: Some(resource.etag()),
        copy_id: ResourceVersionId::parse(&uuid::Uuid::new_v4().to_string()).unwrap(),
        at: now(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_library_deleted_while_a_dependency_on_it_is_added_never_ends_up_with_both() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let repository = racing_repository(&schema).await;

    for _ in 0..ROUNDS {
        let library = Application { kind: ApplicationKind::Library, ..fresh_application() };
        let (library, _, _) = stored_application(&repository, library).await;
        let dependents: Vec<Version> = {
            let mut dependents = Vec::new();
            for _ in 0..RACERS - 1 {
                dependents.push(stored(&repository).await.2);
            }
            dependents
        };

        // One racer deletes the library, the others add a dependency on it.
        let results = race(&repository, |repository, index| {
            let dependents = dependents.clone();
            let library_id = library.id;
            async move {
                if index == 0 {
                    repository.delete_application(library_id, now(), &[]).await.map(|_| "deleted")
                } else {
                    let dependency = VersionDependency { library_id, build_id: BuildId::random() };
                    repository
                        .put_dependency(dependents[index - 1].id, &dependency, &[])
                        .await
                        .map(|()| "depends")
                }
            }
        })
        .await;

        let deleted = matches!(results[0], Ok("deleted"));
        let dependencies = count(
            &schema,
            "SELECT count(*) AS n FROM version_dependencies WHERE library_id = $1::uuid",
            &library.id.to_string(),
        )
        .await;
        assert!(
            !(deleted && dependencies > 0),
            "a deleted library with {dependencies} dependents: {results:?}"
        );
        for result in &results {
            assert!(
                result.is_ok() || matches!(result, Err(PortError::Conflict(_))),
                "every loser is a conflict: {results:?}"
            );
        }
    }

    drop(repository);
    schema.drop().await;
}

#[tokio::test]
async fn a_branch_whose_wip_cannot_be_stored_is_not_stored_either() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let repository = schema.repository().await;
    let (application, _, first) = stored(&repository).await;
    let parent = committed(&first);
    assert!(repository.commit_version(&parent, &[]).await.unwrap());
    let branch = Branch {
        application_id: application.id,
        name: BranchName::parse("feature").unwrap(),
        created_from: Some(parent.id),
        created_by: "tests".to_owned(),
        created_at: now(),
    };
    // The WIP's id is the parent's: its insert fails after the branch's has succeeded.
    let wip = Version { id: parent.id, branch: branch.name.clone(), ..wip_after(&parent) };

    let refused = repository.create_branch(&branch, &wip, &[event(application.id)]).await;

    assert!(matches!(refused, Err(PortError::Conflict(_))), "{refused:?}");
    assert_eq!(repository.find_branch(application.id, &branch.name).await.unwrap(), None);
    let application_id = application.id.to_string();
    let branches = count(
        &schema,
        "SELECT count(*) AS n FROM branches WHERE application_id = $1::uuid",
        &application_id,
    )
    .await;
    assert_eq!(branches, 1, "main only");
    let events = count(
        &schema,
        "SELECT count(*) AS n FROM outbox_events WHERE application_id = $1::uuid",
        &application_id,
    )
    .await;
    assert_eq!(events, 0, "a refused write records nothing");

    // Same for the first write of an application whose first version's id is taken.
    let twin = fresh_application();
    let main = Branch { application_id: twin.id, created_at: twin.created_at, ..branch };
    let main = Branch { name: BranchName::parse("main").unwrap(), created_from: None, ..main };
    let taken = Version { application_id: twin.id, branch: main.name.clone(), ..first };
    let refused = repository.create_application(&twin, &main, &taken, &[event(twin.id)]).await;
    assert!(matches!(refused, Err(PortError::Conflict(_))), "{refused:?}");
    assert_eq!(repository.find_application(twin.id).await.unwrap(), None, "no application");
    assert!(repository.list_branches(twin.id).await.unwrap().is_empty(), "no branch");

    drop(repository);
    schema.drop().await;
}

/// Ten thousand resources, written straight into the tables (the port would take a round
/// trip each), then committed, then a WIP started from them, through the port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_a_wip_from_ten_thousand_resources_copies_links_only() {
    const RESOURCES: i64 = 10_000;
    let Some(schema) = TestSchema::migrated().await else { return };
    let repository = schema.repository().await;
    let (_, _, first) = stored(&repository).await;
    let first_id = first.id.to_string();
    let mut admin = schema.admin_connection().await;
    diesel::sql_query(
        "WITH made AS ( \
             INSERT INTO resource_versions (id, definition_id, resource_type, name, content, \
                 status, revision, created_at, last_changed_at) \
             SELECT 'rv-' || i, 'def-' || lpad(i::text, 5, '0'), 'PROCESS', 'process ' || i, \
                 '{\"i\": ' || i || ', \"body\": \"' || repeat('x', 200) || '\"}', \
                 'WIP', 1, now(), now() \
             FROM generate_series(1, $2) AS i \
             RETURNING id, definition_id, resource_type, name) \
         INSERT INTO manifest_links (version_id, resource_type, definition_id, name, \
             resource_version_id) \
         SELECT $1::uuid, resource_type, definition_id, name, id FROM made",
    )
    .bind::<Text, _>(&first_id)
    .bind::<BigInt, _>(RESOURCES)
    .execute(&mut admin)
    .await
    .unwrap();
    diesel::sql_query("ANALYZE").execute(&mut admin).await.unwrap();

    let started = Instant::now();
    let parent = committed(&first);
    assert!(repository.commit_version(&parent, &[]).await.unwrap());
    println!("committing a version of {RESOURCES} resources took {:?}", started.elapsed());
    let resource_versions = "SELECT count(*) AS n FROM resource_versions";
    let before = count_all(&schema, resource_versions).await;

    let wip = wip_after(&parent);
    let started = Instant::now();
    repository.start_wip(&wip, &[]).await.unwrap();
    println!("starting a WIP from {RESOURCES} resources took {:?}", started.elapsed());

    assert_eq!(count_all(&schema, resource_versions).await, before, "no content copied");
    assert_eq!(before, RESOURCES);
    let links = count(
        &schema,
        "SELECT count(*) AS n FROM manifest_links WHERE version_id = $1::uuid",
        &wip.id.to_string(),
    )
    .await;
    assert_eq!(links, RESOURCES, "every link copied");
    let wip_left =
        count_all(&schema, "SELECT count(*) AS n FROM resource_versions WHERE status = 'WIP'")
            .await;
    assert_eq!(wip_left, 0, "the commit froze every resource");

    let started = Instant::now();
    let mut read = 0;
    let size = PageRequest::MAX_SIZE;
    for number in 0.. {
        let page = repository
            .list_resource_contents(wip.id, PageRequest::new(number, size).unwrap())
            .await
            .unwrap();
        assert_eq!(page.total, u64::try_from(RESOURCES).unwrap());
        if page.items.is_empty() {
            break;
        }
        read += page.items.len();
    }
    println!("reading {read} contents in pages of {size} took {:?}", started.elapsed());
    assert_eq!(i64::try_from(read).unwrap(), RESOURCES);

    drop(admin);
    drop(repository);
    schema.drop().await;
}

/// What jsonb would re-spell (key order, white space, duplicate keys, number forms, escapes)
/// reads back byte for byte.
#[tokio::test]
async fn resource_content_reads_back_byte_for_byte() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let repository = schema.repository().await;
    let (_, _, first) = stored(&repository).await;
    let content = "{\"z\" : 1.50e0,\n\t\"a\":[1, 2 ],\"a\":\"\\u00e9\", \"n\": -0 }";
    let written = ResourceVersion {
        content: RawJson::from_validated(content.to_owned()),
        ..resource("verbatim")
    };

    repository.create_resource(first.id, &written, &[]).await.unwrap();

    let read = repository
        .find_resource(first.id, &written.resource_type, &written.definition_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.content.as_str(), content);
    let page = repository.list_resource_contents(first.id, PageRequest::default()).await.unwrap();
    assert_eq!(page.items[0].content.as_str(), content);

    drop(repository);
    schema.drop().await;
}
