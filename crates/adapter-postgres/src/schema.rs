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
