-- Timer start events of builds and which build's timers the scheduler runs. See the
-- crate's README.md.

-- The timers of a build, written with its header (the import's commit point) and gone
-- with it.
CREATE TABLE build_timers (
    build_id              uuid    NOT NULL REFERENCES build_headers (id) ON DELETE CASCADE,
    -- The process's resourceDefinitionId and the node's id: the timer's id in the API.
    process_definition_id text    COLLATE "C" NOT NULL,
    node_id               text    COLLATE "C" NOT NULL,
    process_name          text    NOT NULL,
    name                  text,
    swimlane              text,
    timer_type            text    NOT NULL
        CONSTRAINT build_timers_timer_type_check CHECK (timer_type IN ('DATE', 'CYCLE', 'CRON')),
    expression            text    NOT NULL,
    activated             boolean NOT NULL,
    PRIMARY KEY (build_id, process_definition_id, node_id),
    -- A process has at most one timer start event.
    CONSTRAINT build_timers_one_per_process UNIQUE (build_id, process_definition_id)
);

-- Per application, the build whose activated timers the scheduler was told to run, and a
-- revision that every write which may change it moves by compare-and-set.
CREATE TABLE timer_schedules (
    application_id uuid   PRIMARY KEY,
    build_id       uuid,
    revision       bigint NOT NULL,
    -- The scheduled build exists. Checked at commit: every write that moves the schedule
    -- locks this row first (one lock order, no deadlock with the policies' foreign keys),
    -- before it inserts the header the schedule may name.
    CONSTRAINT timer_schedules_build_fkey FOREIGN KEY (application_id, build_id)
        REFERENCES build_headers (application_id, id) ON DELETE RESTRICT
        DEFERRABLE INITIALLY DEFERRED
);
