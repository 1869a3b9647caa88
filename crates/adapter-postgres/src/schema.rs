//! Diesel's view of the tables that `migrations/` creates; keep the two in step.

diesel::table! {
    build_headers (id) {
        id -> Uuid,
        application_id -> Uuid,
        application_name -> Text,
        application_kind -> Text,
        workspace_id -> Nullable<Uuid>,
        application_version_id -> Uuid,
        branch -> Text,
        name -> Text,
        version_tag -> Nullable<Text>,
        description -> Nullable<Text>,
        checksum -> Text,
        origin -> Text,
        created_at -> Timestamptz,
        created_by -> Text,
        stored_at -> Timestamptz,
    }
}

diesel::table! {
    active_policies (application_id) {
        application_id -> Uuid,
        target_type -> Text,
        build_id -> Nullable<Uuid>,
        branch -> Nullable<Text>,
        updated_by -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    policy_overrides (id) {
        id -> Uuid,
        application_id -> Uuid,
        subject_type -> Text,
        subject_id -> Text,
        target_type -> Text,
        build_id -> Nullable<Uuid>,
        branch -> Nullable<Text>,
        updated_by -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    config_overrides (application_id, key) {
        application_id -> Uuid,
        key -> Text,
        param_type -> Text,
        value -> Text,
        updated_by -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    import_claims (build_id) {
        build_id -> Uuid,
        checksum -> Text,
        claimed_at -> Timestamptz,
        expires_at -> Timestamptz,
        owner -> Uuid,
    }
}

diesel::table! {
    outbox_events (sequence) {
        sequence -> Int8,
        application_id -> Uuid,
        event -> Jsonb,
        recorded_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    applications (id) {
        id -> Uuid,
        workspace_id -> Nullable<Uuid>,
        name -> Text,
        kind -> Text,
        description -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamptz,
        updated_by -> Text,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    branches (application_id, name) {
        application_id -> Uuid,
        name -> Text,
        created_from -> Nullable<Uuid>,
        created_by -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    versions (id) {
        id -> Uuid,
        application_id -> Uuid,
        branch -> Text,
        status -> Text,
        parent_id -> Nullable<Uuid>,
        commit_message -> Nullable<Text>,
        settings -> Jsonb,
        created_by -> Text,
        created_at -> Timestamptz,
        committed_by -> Nullable<Text>,
        committed_at -> Nullable<Timestamptz>,
        last_changed_at -> Timestamptz,
    }
}

diesel::table! {
    resource_versions (id) {
        id -> Text,
        definition_id -> Text,
        resource_type -> Text,
        name -> Text,
        content -> Text,
        status -> Text,
        revision -> Int8,
        created_at -> Timestamptz,
        last_changed_at -> Timestamptz,
        committed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    manifest_links (version_id, resource_type, definition_id) {
        version_id -> Uuid,
        resource_type -> Text,
        definition_id -> Text,
        name -> Text,
        resource_version_id -> Text,
    }
}

diesel::table! {
    version_dependencies (version_id, library_id) {
        version_id -> Uuid,
        library_id -> Uuid,
        build_id -> Uuid,
    }
}

diesel::table! {
    version_config_defaults (version_id, key) {
        version_id -> Uuid,
        key -> Text,
        param_type -> Text,
        value -> Text,
        description -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (application_id, key) {
        application_id -> Uuid,
        key -> Text,
        build_id -> Uuid,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    build_timers (build_id, process_definition_id, node_id) {
        build_id -> Uuid,
        process_definition_id -> Text,
        node_id -> Text,
        process_name -> Text,
        name -> Nullable<Text>,
        swimlane -> Nullable<Text>,
        timer_type -> Text,
        expression -> Text,
        activated -> Bool,
    }
}

diesel::table! {
    timer_schedules (application_id) {
        application_id -> Uuid,
        build_id -> Nullable<Uuid>,
        revision -> Int8,
    }
}

diesel::table! {
    policy_revisions (application_id) {
        application_id -> Uuid,
        revision -> Int8,
    }
}

diesel::joinable!(manifest_links -> resource_versions (resource_version_id));
diesel::joinable!(manifest_links -> versions (version_id));
diesel::joinable!(version_dependencies -> versions (version_id));
diesel::joinable!(versions -> applications (application_id));

diesel::allow_tables_to_appear_in_same_query!(
    applications,
    branches,
    versions,
    resource_versions,
    manifest_links,
    version_dependencies,
    version_config_defaults,
);
