-- Each application's policy revision: the outbox sequence of its last ActivePolicyUpdated
-- event, upserted in the transaction that records the event (see record_events). The caches
-- label resolution snapshots with it and refuse one older than an eviction they have seen.
CREATE TABLE policy_revisions (
    application_id uuid   PRIMARY KEY,
    revision       bigint NOT NULL
);

-- Applications that already have policy events start at their last one.
INSERT INTO policy_revisions (application_id, revision)
SELECT application_id, max(sequence)
FROM outbox_events
WHERE event ->> 'type' = 'ACTIVE_POLICY_UPDATED'
GROUP BY application_id;
