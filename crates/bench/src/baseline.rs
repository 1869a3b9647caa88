//! The raw baseline of an import: the same archive bytes in one S3 PUT and the same
//! resource documents in one MongoDB `insert_many`, straight through the drivers rtm's
//! adapters use (`rust-s3`, `mongodb`), into the run's own bucket and database. Also the
//! clean-up of those two at the end of a run.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use mongodb::bson::{self, Document, doc};
use s3::creds::Credentials;
use s3::{Bucket, Region};
use secrecy::ExposeSecret as _;

use crate::archive::Resource;
use crate::stack::{Isolation, Stack};

/// rtm's collection of staged and published resources: the raw insert pays for the same
/// indexes as the import.
const RESOURCES_COLLECTION: &str = "build_resources";
const S3_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The bucket of the run.
fn bucket(stack: &Stack, isolation: &Isolation) -> anyhow::Result<Box<Bucket>> {
    let credentials = Credentials::new(
        Some(&stack.s3_access_key),
        Some(stack.s3_secret_key.expose_secret()),
        None,
        None,
        None,
    )
    .context("invalid S3 credentials")?;
    let region = Region::Custom {
        region: "us-east-1".to_owned(),
        endpoint: stack.s3.trim_end_matches('/').to_owned(),
    };
    let mut bucket = Bucket::new(&isolation.bucket(), region, credentials)
        .and_then(|bucket| bucket.with_request_timeout(S3_REQUEST_TIMEOUT))
        .context("cannot make an S3 client")?;
    bucket.set_path_style();
    Ok(bucket)
}

/// One PUT of `bytes` into the run's bucket (which rtm created); how long it took.
pub(crate) async fn s3_put(
    stack: &Stack,
    isolation: &Isolation,
    bytes: &[u8],
) -> anyhow::Result<Duration> {
    let bucket = bucket(stack, isolation)?;
    let started = Instant::now();
    let response =
        bucket.put_object("bench/raw-archive.zip", bytes).await.context("the raw S3 PUT failed")?;
    let took = started.elapsed();
    if !(200..300).contains(&response.status_code()) {
        bail!("the raw S3 PUT answered {}", response.status_code());
    }
    Ok(took)
}

/// The documents of `resources` as rtm's `build_resources` holds them, filed under
/// `build_id` (another id than the imported build's, so that no unique index refuses them).
pub(crate) fn resource_documents(
    build_id: &str,
    resources: &[Resource],
) -> anyhow::Result<Vec<Document>> {
    resources
        .iter()
        .map(|resource| {
            Ok(doc! {
                "buildId": build_id,
                "resourceType": resource.resource_type,
                "resourceDefinitionId": &resource.definition_id,
                "resourceVersionId": &resource.version_id,
                "name": &resource.name,
                "content": bson::to_bson(&resource.content).context("content to BSON")?,
            })
        })
        .collect()
}

/// One unordered `insert_many` of `documents` into the run's database; how long it took.
pub(crate) async fn mongo_insert(
    stack: &Stack,
    isolation: &Isolation,
    documents: &[Document],
) -> anyhow::Result<Duration> {
    let client =
        mongodb::Client::with_uri_str(&stack.mongo).await.context("cannot reach MongoDB")?;
    let collection =
        client.database(&isolation.database()).collection::<Document>(RESOURCES_COLLECTION);
    let started = Instant::now();
    let inserted = collection
        .insert_many(documents)
        .ordered(false)
        .await
        .context("the raw MongoDB insert_many failed")?;
    let took = started.elapsed();
    if inserted.inserted_ids.len() != documents.len() {
        bail!(
            "insert_many stored {} of {} documents",
            inserted.inserted_ids.len(),
            documents.len()
        );
    }
    Ok(took)
}

/// Drops the run's MongoDB database and empties and deletes its bucket: the bulk of what a
/// run writes. Best effort; what could not be removed is returned for the report.
pub(crate) async fn clean_up(stack: &Stack, isolation: &Isolation) -> Vec<String> {
    let mut left = Vec::new();
    let mongo = async {
        let client = mongodb::Client::with_uri_str(&stack.mongo).await?;
        client.database(&isolation.database()).drop().await
    };
    match tokio::time::timeout(Duration::from_secs(60), mongo).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => left.push(format!("MongoDB database {}: {err}", isolation.database())),
        Err(_) => left.push(format!("MongoDB database {}: timed out", isolation.database())),
    }
    let s3 = async {
        let bucket = bucket(stack, isolation)?;
        for page in bucket.list(String::new(), None).await? {
            for object in page.contents {
                bucket.delete_object(&object.key).await?;
            }
        }
        bucket.delete().await?;
        anyhow::Ok(())
    };
    match tokio::time::timeout(Duration::from_secs(60), s3).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => left.push(format!("S3 bucket {}: {err:#}", isolation.bucket())),
        Err(_) => left.push(format!("S3 bucket {}: timed out", isolation.bucket())),
    }
    left
}
