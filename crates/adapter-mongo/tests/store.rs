//! What the contract cannot see: how builds and resources are stored in MongoDB (field
//! names, BSON types, indexes), exact content round trips, large builds, and failures to
//! reach the server.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on any error")]

#[path = "support/scratch.rs"]
mod scratch;

use std::time::{Duration, Instant};

use adapter_mongo::{BUILDS_COLLECTION, MongoConfig, MongoRuntimeDataStore, RESOURCES_COLLECTION};
use domain::model::{
    ApplicationId, Build, BuildId, BuildResource, BuildSettings, ConfigParam, ConfigParamType,
    NumberFormat, PageRequest, Platforms, RawJson, ResourceType, WorkspaceId,
};
use domain::ports::{PortError, RuntimeDataStore};
use futures_util::TryStreamExt;
use mongodb::bson::{Bson, Document, RawBsonRef, RawDocumentBuf, doc};
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
    let manifest = complete.get_array("manifest").unwrap();
    let Some(Bson::Document(line)) = manifest.first() else {
        panic!("a manifest line: {complete}")
    };
    assert_eq!(line.get_str("resourceDefinitionId").unwrap(), form.entry.definition_id.as_str());
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
    for collection in [BUILDS_COLLECTION, RESOURCES_COLLECTION] {
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
