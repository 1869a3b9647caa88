DROP TABLE idempotency_keys;
DROP TABLE version_config_defaults;
DROP TABLE version_dependencies;
DROP TABLE manifest_links;
DROP TABLE resource_versions;
ALTER TABLE branches DROP CONSTRAINT branches_created_from_fkey;
DROP TABLE versions;
DROP TABLE branches;
DROP TABLE applications;
