//! The foreign keys of policies hold under concurrency: a build being deleted while a
//! policy starts naming it ends either deleted or named, never both.

use std::sync::Arc;

use domain::model::{ActivePolicy, ApplicationId, PolicyTarget};
use domain::ports::{BuildCatalog, PortError, TimerRegistry};
use domain::runtime::ports::PolicyRepository;
use test_support::BuildFixture;

use crate::support::{TestSchema, event, now, store_header};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_racing_a_policy_that_names_the_build_never_leaves_a_dangling_policy() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let repository = Arc::new(schema.repository().await);

    for _ in 0..20 {
        let application_id = ApplicationId::random();
        let build = BuildFixture::new(application_id).header();
        store_header(&repository, &build).await;
        // Both writes move the timer schedule from the revision they read, as the services
        // do: the schedule's row lock serialises them, and the loser is Outdated or, where
        // the foreign keys decide, a Conflict.
        let schedule = repository.find_timer_schedule(application_id).await.unwrap();
        let schedule = schedule.move_to(None);
        let policy = ActivePolicy {
            application_id,
            target: PolicyTarget::Build(build.id),
            updated_by: "tests".to_owned(),
            updated_at: now(),
        };

        let put = tokio::spawn({
            let repository = Arc::clone(&repository);
            async move {
                repository.put_active_policy(&policy, &schedule, &[event(application_id)]).await
            }
        });
        let delete = tokio::spawn({
            let repository = Arc::clone(&repository);
            async move {
                repository.delete_build_header(build.id, &schedule, &[event(application_id)]).await
            }
        });
        let (put, delete) = (put.await.unwrap(), delete.await.unwrap());

        let policy = repository.find_active_policy(application_id).await.unwrap();
        let stored = repository.find_build_header(build.id).await.unwrap();
        match (put, delete) {
            (Ok(()), Err(PortError::Conflict(_) | PortError::Outdated(_))) => {
                assert!(policy.is_some() && stored.is_some(), "the policy won: build kept");
            }
            (Err(PortError::Conflict(_) | PortError::Outdated(_)), Ok(true)) => {
                assert!(policy.is_none() && stored.is_none(), "the delete won: no policy");
            }
            other => panic!("one of the two must win, the other conflict: {other:?}"),
        }
    }

    drop(repository);
    schema.drop().await;
}
