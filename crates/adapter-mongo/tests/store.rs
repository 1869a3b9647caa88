//! What the contract cannot see: how builds, manifests and resources are stored in MongoDB
//! (field names, BSON types, indexes, manifest chunks and the older inline manifest), exact
//! content round trips, large builds, races, and failures to reach the server.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on any error")]

#[path = "support/scratch.rs"]
mod scratch;

use std::time::{Duration, Instant};

use adapter_mongo::{
    BUILDS_COLLECTION, MANIFESTS_COLLECTION, MongoConfig, MongoRuntimeDataStore,
    RESOURCES_COLLECTION,
};
use domain::model::{
    ApplicationId, Build, BuildId, BuildResource, BuildSettings, ConfigParam, ConfigParamType,
    ManifestEntry, NumberFormat, PageRequest, Platforms, RawJson, ResourceType, WorkspaceId,
};
use domain::ports::{PortError, RuntimeDataStore};
use futures_util::TryStreamExt;
use mongodb::bson::{Bson, DateTime, Document, RawBsonRef, RawDocumentBuf, doc};
use scratch::Scratch;
use secrecy::SecretString;
use test_support::BuildFixture;

fn resource(build_id: BuildId, resource_type: &str, name: &str, content: &str) -> BuildResource {
    BuildResource {
        content: RawJson::from_validated(content.to_owned()),
        ..test_support::resource(build_id, resource_type, name)
    }
}

/// A build with every optional part filled in, listing `resources` in its manifest.
fn build(build_id: BuildId, resources: &[BuildResource]) -> Build {
    BuildFixture::new(ApplicationId::random())
        .id(build_id)
        .in_workspace(WorkspaceId::random())
        .version_tag("1.4.0")
        .description("spring release")
        .settings(BuildSettings {
            platforms: Platforms::Web,
            theme_id: Some("dark".to_owned()),
            number_format: NumberFormat::new(1, 3).unwrap(),
            currency_format: "symbol".to_owned(),
            languages: vec!["en".to_owned(), "ro".to_owned()],
            default_language_code: "ro".to_owned(),
            ..test_support::settings()
        })
        .dependency(ApplicationId::random(), BuildId::random())
        .param(ConfigParam {
            description: Some("where the API is".to_owned()),
            ..test_support::param("api.baseUrl", ConfigParamType::EnvSecret, "API_BASE_URL")
        })
        .manifest_of(resources)
        .build()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

/// `count` manifest lines like a large real build's: uuids as ids, names of a few dozen
/// characters, four types, in an order unlike any sorted one (7 919 is prime, so `i * 7 919`
/// modulo a count it does not divide visits every number once).
fn manifest_lines(count: usize) -> Vec<ManifestEntry> {
    const TYPES: [&str; 4] = ["PROCESS", "FORM", "ENUMERATION", "INTEGRATION"];
    (0..count)
        .map(|i| {
            let n = i * 7_919 % count;
            test_support::entry(
                TYPES[n % TYPES.len()],
                &uuid::Uuid::new_v4().to_string(),
                &format!("customer-onboarding-step-{n:06}"),
            )
        })
        .collect()
}

/// A build of a fresh application whose manifest is `manifest`.
fn build_with_manifest(manifest: Vec<ManifestEntry>) -> Build {
    Build { manifest, ..BuildFixture::new(ApplicationId::random()).build() }
}

/// A manifest line as MongoDB holds it, in a chunk or in an older inline manifest.
fn manifest_line(entry: &ManifestEntry) -> Document {
    doc! {
        "resourceType": entry.resource_type.as_str(),
        "resourceDefinitionId": entry.definition_id.as_str(),
        "resourceVersionId": entry.version_id.as_str(),
        "name": entry.name.as_str(),
    }
}

/// A `build_manifests` chunk in the documented shape.
fn manifest_chunk(
    build_id: BuildId,
    checksum: &str,
    seq: i32,
    entries: &[ManifestEntry],
) -> Document {
    doc! {
        "_id": format!("{build_id}:{checksum}:{seq}"),
        "buildId": build_id.to_string(),
        "checksum": checksum,
        "seq": seq,
        "entries": entries.iter().map(manifest_line).collect::<Vec<_>>(),
    }
}

fn manifests(scratch: &Scratch) -> mongodb::Collection<Document> {
    scratch.database().collection(MANIFESTS_COLLECTION)
}

/// The `_id`s of the stored manifest chunks of `build_id`, sorted.
async fn chunks_of(scratch: &Scratch, build_id: BuildId) -> Vec<String> {
    let chunks: Vec<Document> = manifests(scratch)
        .find(doc! { "buildId": build_id.to_string() })
        .projection(doc! { "_id": 1 })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut ids: Vec<String> =
        chunks.iter().map(|chunk| chunk.get_str("_id").unwrap().to_owned()).collect();
    ids.sort();
    ids
}

/// The `manifestChunks` of the stored build document of `build_id`.
async fn manifest_chunk_count(scratch: &Scratch, build_id: BuildId) -> i32 {
    let builds = scratch.database().collection::<Document>(BUILDS_COLLECTION);
    let document = builds.find_one(doc! { "_id": build_id.to_string() }).await.unwrap().unwrap();
    document.get_i32("manifestChunks").unwrap()
}

/// The stored `build_resources` document of `resource`, bytes as the server keeps them.
async fn stored_resource(scratch: &Scratch, resource: &BuildResource) -> RawDocumentBuf {
    scratch
        .database()
        .collection::<RawDocumentBuf>(RESOURCES_COLLECTION)
        .find_one(doc! {
            "buildId": resource.build_id.to_string(),
            "resourceDefinitionId": resource.entry.definition_id.as_str(),
        })
        .await
        .unwrap()
        .expect("the resource document")
}

const ORDERED_CONTENT: &str = r#"{"zeta":1,"alpha":{"nested":[1,[2,{"deep":true}],null,"x"],"empty":{},"list":[]},"numbers":{"int":42,"negative":-7,"i64":9007199254740993,"min":-9223372036854775808,"u64":18446744073709551615,"float":1.5,"whole":2.0,"huge":1e+300,"tiny":-2.5e-300},"text":"żółć 😀 \"quoted\" \\ end","$date":"not a date","when":{"$numberLong":"7"},"dotted.key":"ok","kind":"form"}"#;

const SPACED_CONTENT: &str =
    "{ \"b\" : [ 1 , 2.50 , 1E3 ] ,\n  \"a\" : \"tab\\tcontrol\\u0001\\u00e9\" }";

#[tokio::test]
async fn content_reads_back_exactly_and_is_stored_as_typed_bson() {
    let Some(scratch) = Scratch::new().await else { return };
    let store = scratch.store().await;
    let build_id = BuildId::random();
    let ordered = resource(build_id, "FORM", "ordered", ORDERED_CONTENT);
    let spaced = resource(build_id, "FORM", "spaced", SPACED_CONTENT);
    let build = build(build_id, &[ordered.clone(), spaced.clone()]);

    store.stage_resources(build_id, &[ordered.clone(), spaced.clone()]).await.unwrap();
    store.publish_build(&build).await.unwrap();

    let entry = &ordered.entry;
    let found = store
        .find_resource(build_id, &entry.resource_type, &entry.definition_id)
        .await
        .unwrap()
        .expect("the resource");
    assert_eq!(
        found.content.as_str(),
        ORDERED_CONTENT,
        "compact JSON reads back byte for byte: key order, numbers, unicode, $-keys"
    );
    let found = store
        .find_resource_by_name(build_id, &spaced.entry.resource_type, &spaced.entry.name)
        .await
        .unwrap()
        .expect("the resource");
    assert_eq!(json(found.content.as_str()), json(SPACED_CONTENT), "the same JSON value");

    let stored = stored_resource(&scratch, &ordered).await;
    let content = stored.get_document("content").expect("content is a BSON document, not a string");
    let numbers = content.get_document("numbers").unwrap();
    assert_eq!(numbers.get("int").unwrap(), Some(RawBsonRef::Int32(42)));
    assert_eq!(numbers.get("i64").unwrap(), Some(RawBsonRef::Int64(9_007_199_254_740_993)));
    assert!(matches!(numbers.get("u64").unwrap(), Some(RawBsonRef::Decimal128(_))));
    assert_eq!(numbers.get("whole").unwrap(), Some(RawBsonRef::Double(2.0)));
    let keys: Vec<&str> = content.iter().map(|element| element.unwrap().0).collect();
    assert_eq!(
        keys,
        ["zeta", "alpha", "numbers", "text", "$date", "when", "dotted.key", "kind"],
        "keys keep the order they were given in"
    );
    let resources = scratch.database().collection::<Document>(RESOURCES_COLLECTION);
    let matching = resources
        .count_documents(doc! { "buildId": build_id.to_string(), "content.kind": "form", "content.numbers.int": { "$gt": 40 } })
        .await
        .unwrap();
    assert_eq!(matching, 1, "other services can query inside the content");
    scratch.drop_database().await;
}

#[tokio::test]
async fn a_build_is_stored_with_the_platform_field_names_and_a_status() {
    let Some(scratch) = Scratch::new().await else { return };
    let store = scratch.store().await;
    let build_id = BuildId::random();
    let form = resource(build_id, "FORM", "signup", r#"{"a":1}"#);
    let build = build(build_id, std::slice::from_ref(&form));
    let builds = scratch.database().collection::<Document>(BUILDS_COLLECTION);
    let by_id = doc! { "_id": build_id.to_string() };

    store.stage_resources(build_id, std::slice::from_ref(&form)).await.unwrap();
    let staging = builds.find_one(by_id.clone()).await.unwrap().expect("a staging marker");
    store.publish_build(&build).await.unwrap();
    let complete = builds.find_one(by_id.clone()).await.unwrap().expect("the build document");

    assert_eq!(staging.get_str("status").unwrap(), "STAGING");
    assert!(staging.get_datetime("stagedAt").is_ok(), "{staging}");
    assert_eq!(complete.get_str("status").unwrap(), "COMPLETE");
    assert_eq!(complete.get_str("applicationId").unwrap(), build.header.application_id.to_string());
    assert_eq!(complete.get_str("applicationType").unwrap(), "APPLICATION");
    assert_eq!(complete.get_str("checksum").unwrap(), build.header.checksum.as_str());
    assert_eq!(
        complete.get_datetime("createdAt").unwrap().timestamp_millis(),
        i64::try_from(build.header.created_at.unix_timestamp_nanos() / 1_000_000).unwrap(),
        "dates are BSON dates"
    );
    let settings = complete.get_document("buildSettings").unwrap();
    assert_eq!(settings.get_str("platforms").unwrap(), "WEB");
    assert_eq!(
        settings.get_document("numberDisplayFormat").unwrap().get_i32("maxDecimals").unwrap(),
        3
    );
    assert!(!complete.contains_key("manifest"), "the manifest is not inline: {complete}");
    assert_eq!(complete.get_i32("manifestChunks").unwrap(), 1);
    let chunk_id = format!("{build_id}:{}:0", build.header.checksum.as_str());
    let chunk = manifests(&scratch)
        .find_one(doc! { "_id": &chunk_id })
        .await
        .unwrap()
        .expect("the manifest chunk");
    assert_eq!(chunk.get_str("buildId").unwrap(), build_id.to_string());
    assert_eq!(chunk.get_str("checksum").unwrap(), build.header.checksum.as_str());
    assert_eq!(chunk.get_i32("seq").unwrap(), 0);
    let entries = chunk.get_array("entries").unwrap();
    let [Bson::Document(line)] = entries.as_slice() else { panic!("one manifest line: {chunk}") };
    for (field, value) in [
        ("resourceType", "FORM"),
        ("resourceDefinitionId", form.entry.definition_id.as_str()),
        ("resourceVersionId", form.entry.version_id.as_str()),
        ("name", "signup"),
    ] {
        assert_eq!(line.get_str(field).unwrap(), value, "{field}");
    }
    let params = complete.get_array("configParams").unwrap();
    let Some(Bson::Document(param)) = params.first() else { panic!("a parameter: {complete}") };
    assert_eq!(param.get_str("type").unwrap(), "ENV_SECRET");
    assert_eq!(store.find_build(build_id).await.unwrap(), Some(build), "and it reads back");

    let stored = stored_resource(&scratch, &form).await;
    for (field, value) in [
        ("buildId", build_id.to_string()),
        ("resourceType", "FORM".to_owned()),
        ("resourceVersionId", form.entry.version_id.to_string()),
        ("name", "signup".to_owned()),
    ] {
        assert_eq!(stored.get_str(field).unwrap(), value, "{field}");
    }

    store.discard_build(build_id).await.unwrap();
    assert_eq!(builds.count_documents(by_id).await.unwrap(), 0, "discard removes the document");
    assert_eq!(chunks_of(&scratch, build_id).await, Vec::<String>::new(), "and the manifest");
    scratch.drop_database().await;
}

#[tokio::test]
async fn connecting_creates_the_indexes_and_connecting_again_keeps_them() {
    let Some(scratch) = Scratch::new().await else { return };
    let _first = scratch.store().await;
    let _second = scratch.store().await;

    let resources = scratch.database().collection::<Document>(RESOURCES_COLLECTION);
    let indexes: Vec<_> = resources.list_indexes().await.unwrap().try_collect().await.unwrap();
    for keys in [
        doc! { "buildId": 1, "resourceType": 1, "resourceDefinitionId": 1 },
        doc! { "buildId": 1, "resourceType": 1, "name": 1 },
    ] {
        let index = indexes.iter().find(|index| index.keys == keys);
        let unique = index.and_then(|index| index.options.as_ref()).and_then(|o| o.unique);
        assert_eq!(unique, Some(true), "a unique index on {keys}: {indexes:?}");
    }
    assert_eq!(indexes.len(), 3, "_id and the two unique indexes: {indexes:?}");
    let builds = scratch.database().collection::<Document>(BUILDS_COLLECTION);
    let indexes: Vec<_> = builds.list_indexes().await.unwrap().try_collect().await.unwrap();
    assert!(
        indexes.iter().any(|index| index.keys == doc! { "applicationId": 1, "createdAt": 1 }),
        "builds are indexed by application and creation time: {indexes:?}"
    );
    let indexes: Vec<_> =
        manifests(&scratch).list_indexes().await.unwrap().try_collect().await.unwrap();
    assert!(
        indexes.iter().any(|index| index.keys == doc! { "buildId": 1, "checksum": 1, "seq": 1 }),
        "manifest chunks are indexed in reading order: {indexes:?}"
    );
    scratch.drop_database().await;
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_within_the_selection_timeout() {
    test_support::init_tracing();
    let config = MongoConfig::new(SecretString::from(
        "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500".to_owned(),
    ));
    let started = Instant::now();

    let result = MongoRuntimeDataStore::connect(&config).await;

    assert!(
        matches!(result, Err(PortError::Unavailable(_))),
        "expected Unavailable, got {result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_malformed_uri_is_a_backend_error_that_does_not_show_the_password() {
    test_support::init_tracing();
    let config = MongoConfig::new(SecretString::from(
        "mongodb://alice:s3cret@127.0.0.1:27017/db?maxPoolSize=lots".to_owned(),
    ));

    let result = MongoRuntimeDataStore::connect(&config).await;

    let Err(err @ PortError::Backend(_)) = result else {
        panic!("expected Backend, got {result:?}")
    };
    let mut chain = format!("{err:?}");
    let mut source: Option<&dyn std::error::Error> = Some(&err);
    while let Some(current) = source {
        chain.push_str(&current.to_string());
        source = current.source();
    }
    assert!(!chain.contains("s3cret"), "{chain}");
}

#[tokio::test]
async fn a_build_of_two_thousand_resources_stages_in_batches_and_lists_by_name() {
    let Some(scratch) = Scratch::new().await else { return };
    let store = scratch.store().await;
    let build_id = BuildId::random();
    // Names in an order unlike their sorted one, some upper case and non-ASCII, whose byte
    // order differs from a case-insensitive one.
    let resources: Vec<BuildResource> = (0..2000)
        .rev()
        .map(|i| {
            let name = match i % 3 {
                0 => format!("step-{i:04}"),
                1 => format!("Step-{i:04}"),
                _ => format!("étape-{i:04}"),
            };
            resource(build_id, "PROCESS", &name, &format!(r#"{{"index":{i},"nodes":[{i},{i}]}}"#))
        })
        .collect();
    let build = build(build_id, &resources);
    let process = ResourceType::parse("PROCESS").unwrap();
    let started = Instant::now();

    for batch in resources.chunks(500) {
        store.stage_resources(build_id, batch).await.unwrap();
    }
    let before = store.list_resources(build_id, &process, PageRequest::default()).await.unwrap();
    // A re-import after a crash stages a batch again, with other content: it replaces.
    let mut again: Vec<BuildResource> = resources[..500].to_vec();
    for resource in &mut again {
        resource.content = RawJson::from_validated(r#"{"again":true}"#.to_owned());
    }
    store.stage_resources(build_id, &again).await.unwrap();
    store.publish_build(&build).await.unwrap();
    let mut listed = Vec::new();
    let mut total = 0;
    for page in 0..4 {
        let page = store
            .list_resources(build_id, &process, PageRequest::new(page, 500).unwrap())
            .await
            .unwrap();
        total = page.total;
        listed.extend(page.items);
    }
    let elapsed = started.elapsed();

    assert!(before.items.is_empty() && before.total == 0, "nothing shows before publication");
    assert_eq!(total, 2000, "every page counts the whole type");
    let mut expected: Vec<BuildResource> =
        again.into_iter().chain(resources[500..].iter().cloned()).collect();
    expected.sort_by(|a, b| a.entry.name.cmp(&b.entry.name));
    let listed_names: Vec<&str> = listed.iter().map(|r| r.entry.name.as_str()).collect();
    let expected_names: Vec<&str> = expected.iter().map(|r| r.entry.name.as_str()).collect();
    assert_eq!(listed_names, expected_names, "ordered by name, byte order");
    assert!(listed == expected, "the staged-again batch replaced the first one");
    let stored = scratch
        .database()
        .collection::<Document>(RESOURCES_COLLECTION)
        .count_documents(doc! { "buildId": build_id.to_string() })
        .await
        .unwrap();
    assert_eq!(stored, 2000, "staged again, stored once");
    tracing::info!(?elapsed, "2000 resources staged, published and listed");
    scratch.drop_database().await;
}

#[tokio::test]
async fn a_resource_staged_again_under_a_new_definition_id_takes_over_its_name() {
    let Some(scratch) = Scratch::new().await else { return };
    let store = scratch.store().await;
    let build_id = BuildId::random();
    let old = resource(build_id, "ENUMERATION", "colours", r#"{"v":1}"#);
    let new = resource(build_id, "ENUMERATION", "colours", r#"{"v":2}"#);
    let build = build(build_id, std::slice::from_ref(&new));
    let enumeration = &old.entry.resource_type;

    store.stage_resources(build_id, std::slice::from_ref(&old)).await.unwrap();
    store.stage_resources(build_id, std::slice::from_ref(&new)).await.unwrap();
    store.publish_build(&build).await.unwrap();

    let by_name =
        store.find_resource_by_name(build_id, enumeration, &new.entry.name).await.unwrap();
    assert_eq!(by_name, Some(new), "the last staging of a name wins");
    let by_id = store.find_resource(build_id, enumeration, &old.entry.definition_id).await.unwrap();
    assert_eq!(by_id, None, "the resource that held the name is gone");
    let page = store.list_resources(build_id, enumeration, PageRequest::default()).await.unwrap();
    assert_eq!(page.total, 1);
    scratch.drop_database().await;
}

#[tokio::test]
async fn content_that_is_not_a_json_object_is_refused_before_anything_is_written() {
    let Some(scratch) = Scratch::new().await else { return };
    let store = scratch.store().await;
    let build_id = BuildId::random();
    let good = resource(build_id, "FORM", "good", r#"{"ok":true}"#);
    let bad = resource(build_id, "FORM", "bad", "[1,2]");

    let result = store.stage_resources(build_id, &[good, bad]).await;

    assert!(matches!(result, Err(PortError::Backend(_))), "expected Backend, got {result:?}");
    for collection in [BUILDS_COLLECTION, MANIFESTS_COLLECTION, RESOURCES_COLLECTION] {
        let count = scratch
            .database()
            .collection::<Document>(collection)
            .count_documents(doc! {})
            .await
            .unwrap();
        assert_eq!(count, 0, "nothing written to {collection}");
    }
    scratch.drop_database().await;
}

#[tokio::test]
async fn concurrent_publications_of_one_id_agree_on_one_build() {
    let Some(scratch) = Scratch::new().await else { return };
    let store = scratch.store().await;
    let build_id = BuildId::random();
    let form = resource(build_id, "FORM", "signup", r#"{"a":1}"#);
    let build = build(build_id, std::slice::from_ref(&form));
    let mut other = build.clone();
    other.header.checksum = test_support::checksum();
    store.stage_resources(build_id, std::slice::from_ref(&form)).await.unwrap();

    let (same_a, same_b, different) = tokio::join!(
        store.publish_build(&build),
        store.publish_build(&build),
        store.publish_build(&other),
    );

    let found = store.find_build(build_id).await.unwrap().expect("a published build");
    if found == build {
        assert!(same_a.is_ok() && same_b.is_ok(), "{same_a:?} {same_b:?}");
        assert!(matches!(different, Err(PortError::Conflict(_))), "{different:?}");
    } else {
        assert_eq!(found, other);
        assert!(different.is_ok(), "{different:?}");
        for refused in [same_a, same_b] {
            assert!(matches!(refused, Err(PortError::Conflict(_))), "{refused:?}");
        }
    }
    scratch.drop_database().await;
}

#[tokio::test]
async fn a_manifest_too_large_for_one_document_is_stored_in_chunks_and_reads_back_in_order() {
    let Some(scratch) = Scratch::new().await else { return };
    let store = scratch.store().await;
    let build = build_with_manifest(manifest_lines(100_000));
    let build_id = build.id();
    let inline: Vec<Document> = build.manifest.iter().map(manifest_line).collect();
    let inline_bytes = mongodb::bson::to_vec(&doc! { "manifest": inline }).unwrap().len();
    assert!(
        inline_bytes > 16 * 1024 * 1024,
        "inline, the manifest alone would pass MongoDB's 16 MiB: {inline_bytes} bytes"
    );
    let started = Instant::now();

    store.publish_build(&build).await.unwrap();
    let found = store.find_build(build_id).await.unwrap().expect("the published build");
    let elapsed = started.elapsed();

    assert_eq!(found.manifest.len(), 100_000);
    let first_difference =
        found.manifest.iter().zip(&build.manifest).position(|(found, sent)| found != sent);
    assert_eq!(first_difference, None, "every line reads back, in the manifest's order");
    assert!(found == build, "and so does the rest of the build");
    let stored = scratch
        .database()
        .collection::<RawDocumentBuf>(BUILDS_COLLECTION)
        .find_one(doc! { "_id": build_id.to_string() })
        .await
        .unwrap()
        .unwrap();
    assert!(stored.as_bytes().len() < 16 * 1024, "the build document holds no manifest");
    let count = manifest_chunk_count(&scratch, build_id).await;
    // More than ten, so that reading them in `_id` order ("…:10" before "…:2") would fail.
    assert!(count > 10, "{count} chunks");
    let chunks: Vec<RawDocumentBuf> = scratch
        .database()
        .collection::<RawDocumentBuf>(MANIFESTS_COLLECTION)
        .find(doc! { "buildId": build_id.to_string() })
        .sort(doc! { "seq": 1 })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let seqs: Vec<i32> = chunks.iter().map(|chunk| chunk.get_i32("seq").unwrap()).collect();
    assert_eq!(seqs, (0..count).collect::<Vec<_>>(), "chunks 0 to manifestChunks - 1");
    let sizes: Vec<usize> = chunks
        .iter()
        .map(|chunk| chunk.get_array("entries").unwrap().into_iter().count())
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), 100_000);
    assert!(sizes[..sizes.len() - 1].iter().all(|size| *size == sizes[0]), "{sizes:?}");
    let largest = chunks.iter().map(|chunk| chunk.as_bytes().len()).max().unwrap();
    assert!(largest < 2 * 1024 * 1024, "a chunk is far below the limit: {largest} bytes");
    tracing::info!(
        ?elapsed,
        inline_bytes,
        count,
        largest,
        "100 000-entry manifest published and read"
    );
    scratch.drop_database().await;
}

#[tokio::test]
async fn manifest_chunks_of_an_unfinished_publication_are_invisible_and_replaced() {
    let Some(scratch) = Scratch::new().await else { return };
    let store = scratch.store().await;
    let build = build_with_manifest(manifest_lines(12_000));
    let build_id = build.id();
    let checksum = build.header.checksum.as_str();
    let other_checksum = test_support::checksum();
    let stale = manifest_lines(3);
    // What importers that died before their commit left: chunks under this checksum, one
    // of them stale and one past the end, and chunks of other content under this id.
    let leftovers = [
        manifest_chunk(build_id, checksum, 0, &stale),
        manifest_chunk(build_id, checksum, 7, &stale),
        manifest_chunk(build_id, other_checksum.as_str(), 0, &stale),
        manifest_chunk(build_id, other_checksum.as_str(), 1, &stale),
    ];
    manifests(&scratch).insert_many(leftovers).await.unwrap();
    let form = resource(build_id, "FORM", "signup", r#"{"a":1}"#);
    store.stage_resources(build_id, &[form]).await.unwrap();

    let before = store.find_build(build_id).await.unwrap();
    store.publish_build(&build).await.unwrap();
    let after = store.find_build(build_id).await.unwrap();

    assert_eq!(before, None, "chunks alone are no build");
    assert!(after.as_ref() == Some(&build), "the published manifest replaced the stale chunk");
    let count = manifest_chunk_count(&scratch, build_id).await;
    let mut expected: Vec<String> =
        (0..count).map(|seq| format!("{build_id}:{checksum}:{seq}")).collect();
    expected.sort();
    assert_eq!(count, 3);
    assert_eq!(chunks_of(&scratch, build_id).await, expected, "only the build's own chunks stay");
    scratch.drop_database().await;
}

#[tokio::test]
async fn a_missing_manifest_chunk_is_a_backend_error_not_a_shorter_manifest() {
    let Some(scratch) = Scratch::new().await else { return };
    let store = scratch.store().await;
    let middle = build_with_manifest(manifest_lines(12_000));
    let last = build_with_manifest(manifest_lines(12_000));
    store.publish_build(&middle).await.unwrap();
    store.publish_build(&last).await.unwrap();
    let count = manifest_chunk_count(&scratch, last.id()).await;
    assert!(count >= 3, "{count} chunks");

    for (build, seq) in [(&middle, 1), (&last, count - 1)] {
        let chunk = format!("{}:{}:{seq}", build.id(), build.header.checksum.as_str());
        let deleted = manifests(&scratch).delete_one(doc! { "_id": chunk }).await.unwrap();
        assert_eq!(deleted.deleted_count, 1);

        let result = store.find_build(build.id()).await;

        let Err(err @ PortError::Backend(_)) = result else {
            panic!("chunk {seq} missing: expected Backend, got {:?}", result.map(|_| "a build"))
        };
        let chain = test_support::error_chain(&err);
        let reason = format!("lacks chunk {seq} of its {count} manifest chunks");
        assert!(chain.contains(&reason), "{chain}");
    }
    scratch.drop_database().await;
}

/// `build` as a `builds` document written before the manifest moved to `build_manifests`:
/// inline, without `manifestChunks`. Only for a build with every optional part, as
/// [`build`] makes.
fn inline_build_document(build: &Build) -> Document {
    let header = &build.header;
    let settings = &build.settings;
    let date = |at: time::OffsetDateTime| {
        DateTime::from_millis(i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap())
    };
    doc! {
        "_id": header.id.to_string(),
        "status": "COMPLETE",
        "applicationId": header.application_id.to_string(),
        "applicationName": header.application_name.clone(),
        "applicationType": header.application_kind.as_str(),
        "workspaceId": header.workspace_id.unwrap().to_string(),
        "applicationVersionId": header.application_version_id.to_string(),
        "branch": header.branch.to_string(),
        "name": header.name.clone(),
        "versionTag": header.version_tag.clone().unwrap(),
        "description": header.description.clone().unwrap(),
        "checksum": header.checksum.as_str(),
        "origin": header.origin.as_str(),
        "createdAt": date(header.created_at),
        "createdBy": header.created_by.clone(),
        "storedAt": date(header.stored_at),
        "publishedAt": DateTime::now(),
        "buildSettings": {
            "platforms": settings.platforms.as_str(),
            "themeId": settings.theme_id.clone().unwrap(),
            "dateDisplayFormat": { "format": settings.date_format.clone() },
            "numberDisplayFormat": {
                "minDecimals": i32::from(settings.number_format.min_decimals()),
                "maxDecimals": i32::from(settings.number_format.max_decimals()),
            },
            "currencyDisplayFormat": { "format": settings.currency_format.clone() },
            "languages": settings.languages.clone(),
            "defaultLanguageCode": settings.default_language_code.clone(),
        },
        "dependencies": build
            .dependencies
            .iter()
            .map(|dependency| doc! {
                "applicationId": dependency.application_id.to_string(),
                "buildId": dependency.build_id.to_string(),
            })
            .collect::<Vec<_>>(),
        "configParams": build
            .config_params
            .iter()
            .map(|param| doc! {
                "key": param.key.to_string(),
                "type": param.param_type.as_str(),
                "value": param.value.clone(),
                "description": param.description.clone().unwrap(),
            })
            .collect::<Vec<_>>(),
        "manifest": build.manifest.iter().map(manifest_line).collect::<Vec<_>>(),
    }
}

#[tokio::test]
async fn a_build_document_with_the_manifest_inline_still_reads() {
    let Some(scratch) = Scratch::new().await else { return };
    let store = scratch.store().await;
    let build_id = BuildId::random();
    let resources = [
        resource(build_id, "PROCESS", "onboarding", r#"{"a":1}"#),
        resource(build_id, "FORM", "signup", r#"{"b":2}"#),
        resource(build_id, "ENUMERATION", "colours", r#"{"c":3}"#),
    ];
    let build = build(build_id, &resources);
    store.stage_resources(build_id, &resources).await.unwrap();
    let builds = scratch.database().collection::<Document>(BUILDS_COLLECTION);
    builds
        .replace_one(doc! { "_id": build_id.to_string() }, inline_build_document(&build))
        .await
        .unwrap();

    let found = store.find_build(build_id).await.unwrap();
    let again = store.publish_build(&build).await;
    let form = &resources[1].entry;
    let resource = store.find_resource(build_id, &form.resource_type, &form.definition_id).await;

    assert_eq!(found, Some(build), "the older document reads, its manifest in order");
    assert!(again.is_ok(), "publishing it again is a no-op: {again:?}");
    assert_eq!(chunks_of(&scratch, build_id).await, Vec::<String>::new(), "and writes no chunk");
    assert_eq!(resource.unwrap(), Some(resources[1].clone()), "its resources read too");
    store.discard_build(build_id).await.unwrap();
    assert_eq!(store.find_build(build_id).await.unwrap(), None, "and it can be discarded");
    scratch.drop_database().await;
}

#[tokio::test]
async fn racing_publications_of_different_manifests_leave_the_winners_chunks_only() {
    let Some(scratch) = Scratch::new().await else { return };
    let store = scratch.store().await;
    let build = build_with_manifest(manifest_lines(12_000));
    let build_id = build.id();
    let mut other = build.clone();
    other.header.checksum = test_support::checksum();
    other.manifest = manifest_lines(12_000);

    let (first, second) = tokio::join!(store.publish_build(&build), store.publish_build(&other));

    let found = store.find_build(build_id).await.unwrap().expect("a published build");
    let (winner, won, lost) = if found == build {
        (&build, first, second)
    } else {
        assert!(found == other, "the build read back is one of the two, whole");
        (&other, second, first)
    };
    assert!(won.is_ok(), "{won:?}");
    assert!(matches!(lost, Err(PortError::Conflict(_))), "{lost:?}");
    let checksum = winner.header.checksum.as_str();
    let count = manifest_chunk_count(&scratch, build_id).await;
    let mut expected: Vec<String> =
        (0..count).map(|seq| format!("{build_id}:{checksum}:{seq}")).collect();
    expected.sort();
    assert_eq!(chunks_of(&scratch, build_id).await, expected, "the loser removed its chunks");
    scratch.drop_database().await;
}

/// Readers that race a discard find the whole build or none, never an error: the discard
/// removes the build document before the chunks. (With the order reversed, readers find a
/// complete document whose chunks are going, and this test often fails.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_racing_a_discard_finds_the_whole_build_or_none() {
    let Some(scratch) = Scratch::new().await else { return };
    let store = scratch.store().await;
    let build = build_with_manifest(manifest_lines(12_000));
    let build_id = build.id();
    store.publish_build(&build).await.unwrap();

    let reader = |delay: u64| {
        let (store, build) = (store.clone(), build.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            let mut whole = 0;
            loop {
                match store.find_build(build_id).await {
                    Ok(Some(found)) => {
                        assert!(found == build, "a build read while it is discarded is whole");
                        whole += 1;
                    }
                    Ok(None) => return whole,
                    Err(err) => panic!("a read racing a discard failed: {err:?}"),
                }
            }
        })
    };
    let readers: Vec<_> = (0..8).map(|i| reader(i * 7)).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    store.discard_build(build_id).await.unwrap();
    let mut whole = 0;
    for reader in readers {
        whole += reader.await.unwrap();
    }

    assert!(whole > 0, "the build was read before the discard");
    assert_eq!(chunks_of(&scratch, build_id).await, Vec::<String>::new());
    scratch.drop_database().await;
}
