DROP TABLE outbox_events;
DROP TABLE import_claims;
DROP TABLE config_overrides;
DROP TABLE policy_overrides;
DROP TABLE active_policies;
DROP TABLE build_headers;
