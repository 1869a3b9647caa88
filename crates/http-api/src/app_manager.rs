//! The Application Manager's API, `/api/applications/**`: design time. Projects and
//! libraries, branches and versions, resources with copy on write, media binaries,
//! dependencies on library builds, config defaults, and builds made from committed
//! versions. Never imports the Runtime Manager's module; both share the error envelope,
//! the caller and the DTO primitives of the crate root.

mod applications;
mod binaries;
mod builds;
mod config_params;
mod dependencies;
mod dto;
mod resources;
mod versions;

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

/// Mounts the Application Manager's API.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        scope("/api/applications")
            .service(applications::create_application)
            .service(applications::list_applications)
            .service(applications::get_application)
            .service(applications::update_application)
            .service(applications::delete_application)
            .service(versions::list_branches)
            .service(versions::create_branch)
            .service(versions::start_version)
            .service(versions::list_versions)
            .service(versions::get_version)
            .service(versions::update_version)
            .service(versions::discard_version)
            .service(versions::commit_version)
            .service(versions::manifest)
            .service(resources::list_resources)
            .service(resources::create_resource)
            .service(resources::get_resource)
            .service(resources::update_resource)
            .service(resources::delete_resource)
            .service(binaries::upload_binary)
            .service(dependencies::list_dependencies)
            .service(dependencies::put_dependency)
            .service(dependencies::delete_dependency)
            .service(config_params::list_config_params)
            .service(config_params::import_config_params)
            .service(config_params::put_config_param)
            .service(config_params::delete_config_param)
            .service(builds::create_build),
    );
}
