//! The lists the port serves most are answered from their indexes.

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};

use crate::support::TestSchema;

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

async fn plan(connection: &mut diesel_async::AsyncPgConnection, query: &str) -> String {
    let lines: Vec<PlanLine> =
        diesel::sql_query(format!("EXPLAIN {query}")).load(connection).await.unwrap();
    lines.into_iter().map(|line| line.line).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn builds_pending_events_the_newest_of_a_branch_and_overrides_are_read_through_their_indexes()
{
    let Some(schema) = TestSchema::migrated().await else { return };
    let mut connection = schema.admin_connection().await;
    // An empty table is cheapest to scan; forbid that to see whether an index serves the
    // filter and the order.
    connection
        .batch_execute("SET enable_seqscan = off; SET enable_bitmapscan = off")
        .await
        .unwrap();
    let application = "'0b6c3b0e-9f5e-4f57-9a39-6a8f0e1d2c3b'::uuid";

    let listing = plan(
        &mut connection,
        &format!(
            "SELECT * FROM build_headers WHERE application_id = {application} \
             ORDER BY created_at DESC, stored_at DESC, id DESC LIMIT 20 OFFSET 0"
        ),
    )
    .await;
    let latest = plan(
        &mut connection,
        &format!(
            "SELECT * FROM build_headers WHERE application_id = {application} AND branch = 'main' \
             ORDER BY created_at DESC, stored_at DESC, id DESC LIMIT 1"
        ),
    )
    .await;
    let pending = plan(
        &mut connection,
        "SELECT sequence, event, recorded_at FROM outbox_events WHERE sent_at IS NULL \
         ORDER BY sequence LIMIT 100",
    )
    .await;
    // Every override of an application, for its resolution snapshot: possibly 100 000.
    let overrides = plan(
        &mut connection,
        &format!(
            "SELECT * FROM policy_overrides WHERE application_id = {application} \
             ORDER BY subject_type, subject_id"
        ),
    )
    .await;

    assert!(
        listing.contains("build_headers_newest_first") && !listing.contains("Sort"),
        "{listing}"
    );
    assert!(
        latest.contains("build_headers_newest_on_branch") && !latest.contains("Sort"),
        "{latest}"
    );
    assert!(pending.contains("outbox_events_pending") && !pending.contains("Sort"), "{pending}");
    assert!(
        overrides.contains("policy_overrides_subject_key") && !overrides.contains("Sort"),
        "{overrides}"
    );
    drop(connection);
    schema.drop().await;
}

#[tokio::test]
async fn pages_of_contents_versions_of_a_branch_and_applications_are_read_through_their_indexes() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let mut connection = schema.admin_connection().await;
    connection
        .batch_execute("SET enable_seqscan = off; SET enable_bitmapscan = off")
        .await
        .unwrap();
    let id = "'0b6c3b0e-9f5e-4f57-9a39-6a8f0e1d2c3b'::uuid";

    // What `list_resource_contents` asks for its last page of a 10 000-resource version.
    let contents = plan(
        &mut connection,
        &format!(
            "SELECT r.* FROM manifest_links l JOIN resource_versions r \
             ON r.id = l.resource_version_id WHERE l.version_id = {id} \
             ORDER BY l.resource_type, l.definition_id LIMIT 500 OFFSET 9500"
        ),
    )
    .await;
    let versions = plan(
        &mut connection,
        &format!(
            "SELECT * FROM versions WHERE application_id = {id} AND branch = 'main' \
             ORDER BY created_at DESC, id DESC LIMIT 20"
        ),
    )
    .await;
    let applications = plan(
        &mut connection,
        "SELECT * FROM applications WHERE deleted_at IS NULL ORDER BY name, id LIMIT 20",
    )
    .await;

    assert!(contents.contains("manifest_links_pkey") && !contents.contains("Sort"), "{contents}");
    assert!(
        versions.contains("versions_newest_on_branch") && !versions.contains("Sort"),
        "{versions}"
    );
    assert!(
        applications.contains("applications_live_by_name") && !applications.contains("Sort"),
        "{applications}"
    );
    drop(connection);
    schema.drop().await;
}
