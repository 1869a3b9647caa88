//! USER overrides by the thousand on the resolution's application.
//!
//! Creating 100 000 overrides one request at a time would take the run's whole budget, so
//! the bench grows the count in three moves (docs/PERFORMANCE.md):
//!
//! 1. the first override, for the matching user, through the API (`POST …/overrides`);
//! 2. the bulk: one SQL `INSERT … SELECT` into the run's own PostgreSQL schema that copies
//!    that first row once per generated user (`bench-user-000001`, …), every column kept but
//!    `id` and `subject_id`. Copying a row the API wrote, column by column through `jsonb`,
//!    keeps the bulk rows exactly as rtm writes them, whatever columns the table has;
//! 3. one more override through the API, which records the change's event and evicts the
//!    caches, so that rtm reads the new set.
//!
//! Then it checks, through the API, that the count is right and that the matching user, a
//! sample of the bulk and a user without an override resolve to the builds they should.

use anyhow::{Context as _, bail};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};

use crate::stack::{Isolation, Stack};

/// The user whose override the build-info runs hit.
pub(crate) const MATCHING_USER: &str = "bench-user-match";
/// A user who has no override: the global policy applies.
pub(crate) const OTHER_USER: &str = "bench-user-none";

/// The generated user number `index`. Digits sort before the letters of the two users
/// above, so in byte order (the order the overrides are stored and listed in) the matching
/// user comes after every generated one: a scan would meet it last.
pub(crate) fn generated_user(index: usize) -> String {
    format!("bench-user-{index:06}")
}

/// The overrides of one application, grown step by step.
#[derive(Debug)]
pub(crate) struct Overrides<'a> {
    client: &'a reqwest::Client,
    base: String,
    operator: &'a SecretString,
    application_id: String,
    /// The build every override names (another than the global policy's).
    build_id: String,
    schema: String,
    postgres: String,
    /// The first override's id: the row the bulk copies.
    template: Option<String>,
    count: usize,
}

impl<'a> Overrides<'a> {
    pub(crate) fn new(
        client: &'a reqwest::Client,
        rtm_base: &str,
        operator: &'a SecretString,
        application_id: &str,
        build_id: &str,
        stack: &Stack,
        isolation: &Isolation,
    ) -> Self {
        Self {
            client,
            base: format!("{rtm_base}/api/build-mgmt/app/{application_id}/active-policy/overrides"),
            operator,
            application_id: application_id.to_owned(),
            build_id: build_id.to_owned(),
            schema: isolation.schema(),
            postgres: stack.postgres.clone(),
            template: None,
            count: 0,
        }
    }

    /// How many overrides the application has.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Grows the application's overrides to `target` (at least one more than now), as the
    /// module describes.
    pub(crate) async fn grow_to(&mut self, target: usize) -> anyhow::Result<()> {
        if target <= self.count {
            bail!("the override counts must grow: {target} after {}", self.count);
        }
        let template = match &self.template {
            Some(template) => template.clone(),
            None => {
                let id = self.create(MATCHING_USER).await?;
                self.count = 1;
                self.template = Some(id.clone());
                id
            }
        };
        if target == self.count {
            return Ok(());
        }
        // Generated users are numbered from 1; the last one goes through the API.
        let (first, last) = (self.count, target - 1);
        if last > first {
            self.bulk_copy(&template, first, last - 1).await?;
        }
        self.create(&generated_user(last)).await?;
        self.count = target;
        Ok(())
    }

    /// `POST` of a USER override for `user`; its id.
    async fn create(&self, user: &str) -> anyhow::Result<String> {
        let response = self
            .client
            .post(&self.base)
            .bearer_auth(self.operator.expose_secret())
            .json(&json!({"subjectType": "USER", "subjectId": user, "type": "BUILD", "buildId": self.build_id}))
            .send()
            .await
            .context("the override request failed")?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status != reqwest::StatusCode::CREATED {
            bail!("creating the override of {user} answered {status}: {body}");
        }
        body["id"].as_str().map(str::to_owned).with_context(|| format!("no id in {body}"))
    }

    /// Copies the `template` row for the generated users `first..=last`.
    async fn bulk_copy(&self, template: &str, first: usize, last: usize) -> anyhow::Result<()> {
        let (client, connection) = tokio_postgres::connect(&self.postgres, tokio_postgres::NoTls)
            .await
            .with_context(|| format!("cannot connect to PostgreSQL at {}", self.postgres))?;
        let connection = tokio::spawn(connection);
        // The schema name is the run's own (`bench_` and hex digits), never input.
        client.batch_execute(&format!("SET search_path TO {}", self.schema)).await?;
        let (first, last) = (i32::try_from(first)?, i32::try_from(last)?);
        let inserted = client
            .execute(
                "INSERT INTO policy_overrides \
                 SELECT (jsonb_populate_record(NULL::policy_overrides, to_jsonb(t) || jsonb_build_object( \
                     'id', gen_random_uuid(), \
                     'subject_id', 'bench-user-' || lpad(g::text, 6, '0')))).* \
                 FROM policy_overrides t, generate_series($2::int, $3::int) g \
                 WHERE t.id = $1::text::uuid",
                &[&template, &first, &last],
            )
            .await
            .context("the bulk insert of overrides failed")?;
        let expected = u64::try_from(last - first + 1)?;
        if inserted != expected {
            bail!("the bulk insert wrote {inserted} overrides, not {expected}");
        }
        drop(client);
        let _ = connection.await;
        Ok(())
    }

    /// Checks the count in the database, and through the API that the matching user, the
    /// first generated user (a bulk row) and the other user resolve as they should.
    pub(crate) async fn verify(&self, global_build_id: &str) -> anyhow::Result<()> {
        let (client, connection) =
            tokio_postgres::connect(&self.postgres, tokio_postgres::NoTls).await?;
        let connection = tokio::spawn(connection);
        client.batch_execute(&format!("SET search_path TO {}", self.schema)).await?;
        let row = client
            .query_one(
                "SELECT count(*) FROM policy_overrides WHERE application_id = $1::text::uuid",
                &[&self.application_id],
            )
            .await?;
        let stored: i64 = row.get(0);
        drop(client);
        let _ = connection.await;
        if usize::try_from(stored)? != self.count {
            bail!("the application has {stored} overrides, not {}", self.count);
        }
        let mut checks = vec![(MATCHING_USER.to_owned(), self.build_id.as_str(), "USER")];
        if self.count > 1 {
            checks.push((generated_user(1), self.build_id.as_str(), "USER"));
        }
        checks.push((OTHER_USER.to_owned(), global_build_id, "GLOBAL"));
        let url = self
            .base
            .replace("/api/build-mgmt/", "/api/runtime-internal/")
            .replace("/active-policy/overrides", "/active-build");
        for (user, build_id, source) in checks {
            let response = self
                .client
                .get(&url)
                .query(&[("user", user.as_str())])
                .bearer_auth(self.operator.expose_secret())
                .send()
                .await
                .context("the active-build request failed")?;
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if status != reqwest::StatusCode::OK
                || body["buildId"] != build_id
                || body["policy"]["source"] != source
            {
                bail!(
                    "with {} overrides, {user} resolves to {status} {body}, not build {build_id} ({source})",
                    self.count
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_users_sort_before_the_two_named_users() {
        let mut users = vec![
            MATCHING_USER.to_owned(),
            OTHER_USER.to_owned(),
            generated_user(99_999),
            generated_user(1),
        ];
        users.sort();
        assert_eq!(
            users,
            [
                generated_user(1),
                generated_user(99_999),
                MATCHING_USER.to_owned(),
                OTHER_USER.to_owned()
            ]
        );
        assert_eq!(generated_user(42), "bench-user-000042");
    }
}
