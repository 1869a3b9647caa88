-- Application data of the runtime role: build headers, the policies that pick a build,
-- config overrides, import claims and the outbox. See the crate's README.md.

CREATE TABLE build_headers (
    id                     uuid        PRIMARY KEY,
    application_id         uuid        NOT NULL,
    application_name       text        NOT NULL,
    application_kind       text        NOT NULL
        CONSTRAINT build_headers_application_kind_check
        CHECK (application_kind IN ('APPLICATION', 'LIBRARY')),
    workspace_id           uuid,
    application_version_id uuid        NOT NULL,
    branch                 text        NOT NULL,
    name                   text        NOT NULL,
    version_tag            text,
    description            text,
    checksum               text        NOT NULL,
    origin                 text        NOT NULL
        CONSTRAINT build_headers_origin_check CHECK (origin IN ('CREATED', 'IMPORTED')),
    created_at             timestamptz NOT NULL,
    created_by             text        NOT NULL,
    stored_at              timestamptz NOT NULL,
    -- What policies reference: a build of one application, so that a policy can never name
    -- a build of another application.
    CONSTRAINT build_headers_application_build_key UNIQUE (application_id, id)
);

-- Listing newest first, and the application's kind (from its newest build).
CREATE INDEX build_headers_newest_first
    ON build_headers (application_id, created_at DESC, stored_at DESC, id DESC);
-- The newest build of a branch.
CREATE INDEX build_headers_newest_on_branch
    ON build_headers (application_id, branch, created_at DESC, stored_at DESC, id DESC);

-- The global policy: one per application.
CREATE TABLE active_policies (
    application_id uuid        PRIMARY KEY,
    target_type    text        NOT NULL,
    build_id       uuid,
    branch         text,
    updated_by     text        NOT NULL,
    updated_at     timestamptz NOT NULL,
    CONSTRAINT active_policies_target_check CHECK (
        (target_type = 'BUILD' AND build_id IS NOT NULL AND branch IS NULL)
        OR (target_type = 'LATEST_ON_BRANCH' AND build_id IS NULL AND branch IS NOT NULL)
    ),
    -- A BUILD target is a build of the same application; a build in use cannot be deleted.
    CONSTRAINT active_policies_build_fkey FOREIGN KEY (application_id, build_id)
        REFERENCES build_headers (application_id, id) ON DELETE RESTRICT
);

-- Per-subject overrides of the global policy.
CREATE TABLE policy_overrides (
    id             uuid        PRIMARY KEY,
    application_id uuid        NOT NULL,
    subject_type   text        NOT NULL
        CONSTRAINT policy_overrides_subject_type_check
        CHECK (subject_type IN ('USER', 'GROUP', 'ROLE')),
    -- Byte order, as the port orders subjects, whatever the database's collation.
    subject_id     text        COLLATE "C" NOT NULL,
    target_type    text        NOT NULL,
    build_id       uuid,
    branch         text,
    updated_by     text        NOT NULL,
    updated_at     timestamptz NOT NULL,
    CONSTRAINT policy_overrides_subject_key UNIQUE (application_id, subject_type, subject_id),
    CONSTRAINT policy_overrides_target_check CHECK (
        (target_type = 'BUILD' AND build_id IS NOT NULL AND branch IS NULL)
        OR (target_type = 'LATEST_ON_BRANCH' AND build_id IS NULL AND branch IS NOT NULL)
    ),
    CONSTRAINT policy_overrides_build_fkey FOREIGN KEY (application_id, build_id)
        REFERENCES build_headers (application_id, id) ON DELETE RESTRICT
);

-- The foreign-key check of a build delete.
CREATE INDEX policy_overrides_build
    ON policy_overrides (application_id, build_id) WHERE build_id IS NOT NULL;

CREATE TABLE config_overrides (
    application_id uuid        NOT NULL,
    key            text        COLLATE "C" NOT NULL,
    param_type     text        NOT NULL
        CONSTRAINT config_overrides_param_type_check
        CHECK (param_type IN ('VALUE', 'ENV', 'ENV_SECRET')),
    value          text        NOT NULL,
    updated_by     text        NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (application_id, key)
);

-- Leases on build ids while their import is under way.
CREATE TABLE import_claims (
    build_id   uuid        PRIMARY KEY,
    checksum   text        NOT NULL,
    claimed_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

-- Events recorded in the transaction of the change they describe.
CREATE TABLE outbox_events (
    sequence       bigserial   PRIMARY KEY,
    application_id uuid        NOT NULL,
    event          jsonb       NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz
);

-- What the relay reads: undelivered events in order.
CREATE INDEX outbox_events_pending ON outbox_events (sequence) WHERE sent_at IS NULL;
