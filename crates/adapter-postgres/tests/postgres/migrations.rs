//! `migrate`: concurrent callers take turns and the schema ends up complete.

use adapter_postgres::migrate;
use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;

use crate::support::TestSchema;

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// How many migrations the crate embeds.
const MIGRATIONS: usize = 5;

const TABLES: [&str; 17] = [
    "active_policies",
    "applications",
    "branches",
    "build_headers",
    "build_timers",
    "config_overrides",
    "idempotency_keys",
    "import_claims",
    "manifest_links",
    "outbox_events",
    "policy_overrides",
    "policy_revisions",
    "resource_versions",
    "timer_schedules",
    "version_config_defaults",
    "version_dependencies",
    "versions",
];

const INDEXES: [&str; 10] = [
    "applications_live_name_key",
    "applications_live_by_name",
    "build_headers_newest_first",
    "build_headers_newest_on_branch",
    "manifest_links_resource_version",
    "outbox_events_pending",
    "policy_overrides_build",
    "version_dependencies_library",
    "versions_newest_on_branch",
    "versions_one_wip_per_branch",
];

async fn names(schema: &TestSchema, query: &str) -> Vec<String> {
    let mut connection = schema.admin_connection().await;
    let rows: Vec<Name> =
        diesel::sql_query(query).bind::<Text, _>(&schema.name).load(&mut connection).await.unwrap();
    rows.into_iter().map(|row| row.name).collect()
}

#[tokio::test]
async fn two_concurrent_migrations_of_a_fresh_schema_both_succeed_and_apply_it_once() {
    let Some(schema) = TestSchema::new() else { return };
    let config = schema.config();

    let (first, second) = tokio::join!(migrate(&config), migrate(&config));

    let first = first.expect("the first concurrent migrate");
    let second = second.expect("the second concurrent migrate");
    let mut applied = [first.applied.len(), second.applied.len()];
    applied.sort_unstable();
    assert_eq!(
        applied,
        [0, MIGRATIONS],
        "one call applies the migrations, the other finds them done"
    );

    let tables = names(
        &schema,
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = $1 AND table_name NOT LIKE '\\_\\_%' ORDER BY 1",
    )
    .await;
    assert_eq!(tables, TABLES, "every table exists in the schema");
    let indexes = names(
        &schema,
        "SELECT indexname::text AS name FROM pg_indexes WHERE schemaname = $1 ORDER BY 1",
    )
    .await;
    for index in INDEXES {
        assert!(indexes.iter().any(|found| found == index), "index {index} in {indexes:?}");
    }

    let again = migrate(&config).await.expect("migrating an up-to-date schema");
    assert!(again.applied.is_empty(), "nothing left to apply: {again:?}");
    schema.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrating_works_on_a_multi_thread_runtime_too() {
    let Some(schema) = TestSchema::new() else { return };

    let report = migrate(&schema.config()).await.expect("migrate");

    assert_eq!(report.applied.len(), MIGRATIONS, "{report:?}");
    schema.drop().await;
}
