-- Application data of the design role: applications, branches, versions, the resource
-- versions they link, dependencies, config defaults and idempotency keys. Every rule two
-- writers could break together is a constraint here, so that the database decides races
-- (see the crate's README.md). Text that the port orders or compares exactly is in the "C"
-- collation: byte order, as the domain's `Ord` of strings, whatever the database's default.

CREATE TABLE applications (
    id           uuid        PRIMARY KEY,
    workspace_id uuid,
    name         text        COLLATE "C" NOT NULL,
    kind         text        NOT NULL
        CONSTRAINT applications_kind_check CHECK (kind IN ('APPLICATION', 'LIBRARY')),
    description  text,
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_by   text        NOT NULL,
    updated_at   timestamptz NOT NULL,
    -- A soft delete: the builds of a deleted application keep serving.
    deleted_at   timestamptz
);

-- One name per workspace among live applications. Installations without workspaces store
-- NULL, which a plain unique index would treat as distinct from every other NULL.
CREATE UNIQUE INDEX applications_live_name_key
    ON applications (coalesce(workspace_id, '00000000-0000-0000-0000-000000000000'), name)
    WHERE deleted_at IS NULL;
-- Lists: live applications by name, then id.
CREATE INDEX applications_live_by_name ON applications (name, id) WHERE deleted_at IS NULL;

CREATE TABLE branches (
    application_id uuid        NOT NULL
        CONSTRAINT branches_application_fkey REFERENCES applications (id),
    name           text        COLLATE "C" NOT NULL,
    -- The committed version the branch started from (NULL for main); its foreign key is
    -- added below, once versions exist.
    created_from   uuid,
    created_by     text        NOT NULL,
    created_at     timestamptz NOT NULL,
    CONSTRAINT branches_pkey PRIMARY KEY (application_id, name)
);

CREATE TABLE versions (
    id              uuid        PRIMARY KEY,
    application_id  uuid        NOT NULL,
    branch          text        COLLATE "C" NOT NULL,
    status          text        NOT NULL
        CONSTRAINT versions_status_check CHECK (status IN ('WIP', 'COMMITTED')),
    -- Parents are COMMITTED and committed versions are never removed, so the reference
    -- never blocks a discard.
    parent_id       uuid
        CONSTRAINT versions_parent_fkey REFERENCES versions (id),
    commit_message  text,
    -- `BuildSettings` as one object: it is always read and written whole, never queried.
    settings        jsonb       NOT NULL,
    created_by      text        NOT NULL,
    created_at      timestamptz NOT NULL,
    committed_by    text,
    committed_at    timestamptz,
    last_changed_at timestamptz NOT NULL,
    CONSTRAINT versions_branch_fkey FOREIGN KEY (application_id, branch)
        REFERENCES branches (application_id, name)
);

-- At most one WIP per branch: of two racing starts, the second insert waits for the first
-- and then fails on this index.
CREATE UNIQUE INDEX versions_one_wip_per_branch
    ON versions (application_id, branch) WHERE status = 'WIP';
-- Lists newest first, per application and per branch; the latest committed of a branch.
CREATE INDEX versions_newest_first ON versions (application_id, created_at DESC, id DESC);
CREATE INDEX versions_newest_on_branch
    ON versions (application_id, branch, created_at DESC, id DESC);

ALTER TABLE branches ADD CONSTRAINT branches_created_from_fkey
    FOREIGN KEY (created_from) REFERENCES versions (id);

CREATE TABLE resource_versions (
    id              text        COLLATE "C" PRIMARY KEY,
    definition_id   text        COLLATE "C" NOT NULL,
    resource_type   text        COLLATE "C" NOT NULL,
    name            text        COLLATE "C" NOT NULL,
    -- `text`, not `jsonb`: jsonb re-spells what it stores (key order, white space,
    -- duplicate keys, number forms), and `RawJson` must read back byte for byte as written.
    -- Whoever built the `RawJson` has checked that it is a JSON object.
    content         text        NOT NULL,
    status          text        NOT NULL
        CONSTRAINT resource_versions_status_check CHECK (status IN ('WIP', 'COMMITTED')),
    revision        bigint      NOT NULL
        CONSTRAINT resource_versions_revision_check CHECK (revision >= 1),
    created_at      timestamptz NOT NULL,
    last_changed_at timestamptz NOT NULL,
    committed_at    timestamptz,
    -- What links reference, so that a link always carries its resource version's type,
    -- definition id and name.
    CONSTRAINT resource_versions_link_key UNIQUE (id, resource_type, definition_id, name)
);

-- The manifests: which resource version a version links for a type and definition id.
CREATE TABLE manifest_links (
    version_id          uuid NOT NULL
        CONSTRAINT manifest_links_version_fkey REFERENCES versions (id) ON DELETE CASCADE,
    resource_type       text COLLATE "C" NOT NULL,
    definition_id       text COLLATE "C" NOT NULL,
    -- The linked resource version's name, here so that the database itself keeps one name
    -- per (version, type); the foreign key below keeps it equal to the resource version's
    -- (a rename in place cascades here, and fails on the unique key if the name is taken).
    name                text COLLATE "C" NOT NULL,
    resource_version_id text COLLATE "C" NOT NULL,
    CONSTRAINT manifest_links_pkey PRIMARY KEY (version_id, resource_type, definition_id),
    CONSTRAINT manifest_links_name_key UNIQUE (version_id, resource_type, name),
    CONSTRAINT manifest_links_resource_version_fkey
        FOREIGN KEY (resource_version_id, resource_type, definition_id, name)
        REFERENCES resource_versions (id, resource_type, definition_id, name)
        ON UPDATE CASCADE ON DELETE CASCADE
);

-- The foreign key's checks and cascades, and the commit's join from a resource version.
CREATE INDEX manifest_links_resource_version ON manifest_links (resource_version_id);

CREATE TABLE version_dependencies (
    version_id uuid NOT NULL
        CONSTRAINT version_dependencies_version_fkey REFERENCES versions (id) ON DELETE CASCADE,
    -- No reference to applications or builds: a library may come from another installation.
    library_id uuid NOT NULL,
    build_id   uuid NOT NULL,
    CONSTRAINT version_dependencies_pkey PRIMARY KEY (version_id, library_id)
);

-- The delete of a library: who depends on it.
CREATE INDEX version_dependencies_library ON version_dependencies (library_id);

CREATE TABLE version_config_defaults (
    version_id  uuid NOT NULL
        CONSTRAINT version_config_defaults_version_fkey
        REFERENCES versions (id) ON DELETE CASCADE,
    key         text COLLATE "C" NOT NULL,
    param_type  text NOT NULL
        CONSTRAINT version_config_defaults_param_type_check
        CHECK (param_type IN ('VALUE', 'ENV', 'ENV_SECRET')),
    value       text NOT NULL,
    description text,
    CONSTRAINT version_config_defaults_pkey PRIMARY KEY (version_id, key)
);

-- The build an `Idempotency-Key` created first, per application.
CREATE TABLE idempotency_keys (
    application_id uuid        NOT NULL,
    key            text        COLLATE "C" NOT NULL,
    build_id       uuid        NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (application_id, key)
);
