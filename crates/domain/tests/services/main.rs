//! The use cases over the in-memory fakes: one module per service, data builders in `helpers`.

mod builds;
mod commit_point;
mod config;
mod design_applications;
mod design_builds;
mod design_config;
mod design_dependencies;
mod design_helpers;
mod design_resources;
mod design_versions;
mod helpers;
mod import_heartbeat;
mod policies;
mod process_start;
mod relay;
mod runtime;
mod start_by_name;
mod telemetry;
mod timers;
