//! The architecture invariants of `docs/ARCHITECTURE.md`, checked on `cargo metadata`.
//!
//! Only normal dependencies count: an adapter's tests may depend on `adapter-memory`,
//! `port-contracts` or `test-support`, and so may any crate's.

use std::fmt;

use anyhow::Context as _;
use serde_json::Value;
use xshell::{Shell, cmd};

/// Web frameworks and their companions: they belong to `http-api` and `server`.
const WEB_FRAMEWORKS: &[&str] = &["actix-web", "actix-multipart"];
/// Drivers of the backing services: each belongs to its own adapter.
const DRIVERS: &[&str] = &[
    "diesel",
    "diesel-async",
    "mongodb",
    "rdkafka",
    "deadpool-redis",
    "redis",
    "rust-s3",
    "tokio-postgres",
    "reqwest",
    "moka",
];
/// Each adapter and the drivers it may use. An adapter depends on its own driver only, so a
/// new adapter is registered here before it can use any (an unlisted one may use none).
const ADAPTER_DRIVERS: &[(&str, &[&str])] = &[
    ("adapter-postgres", &["diesel", "diesel-async", "tokio-postgres"]),
    ("adapter-mongo", &["mongodb"]),
    ("adapter-kafka", &["rdkafka"]),
    ("adapter-redis", &["deadpool-redis", "redis"]),
    // reqwest is rust-s3's own HTTP client: built directly for root certificates of the
    // operator's choosing, which rust-s3 cannot take (presigned requests).
    ("adapter-s3", &["rust-s3", "reqwest"]),
    ("adapter-engine", &["reqwest"]),
    ("adapter-memory", &[]),
    ("adapter-near-cache", &["moka"]),
];
/// Exporters behind the `metrics` facade: the facade may be used anywhere (the domain
/// records through it as it logs through `tracing`); which exporter receives it is the
/// composition root's choice.
const METRICS_EXPORTERS: &[&str] = &["metrics-exporter-prometheus", "metrics-process"];
/// Wire formats: the domain never knows how it is serialised.
const WIRE_FORMATS: &[&str] = &["serde", "serde_json"];

/// Test code shared between crates: never a normal dependency of anything else.
const TEST_CRATES: &[&str] = &["port-contracts", "test-support"];

/// The invariants, numbered as in `docs/ARCHITECTURE.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Invariant {
    /// 1. `domain` depends on no adapter, web framework, driver or serde.
    PureDomain,
    /// 2. An adapter depends on its own driver only: no other adapter, no other adapter's
    ///    driver, nor `http-api`, `server` or `build-archive`.
    IsolatedAdapters,
    /// 3. `http-api` never names a concrete adapter.
    AdapterFreeHttpApi,
    /// 4. Only `server` names concrete adapters or a metrics exporter; `port-contracts` and
    ///    `test-support` are dev-dependencies only, but of each other (`port-contracts`
    ///    builds its data with `test-support`).
    CompositionRoot,
    /// 5. `build-archive` depends on no adapter, web framework or driver.
    PureBuildArchive,
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PureDomain => {
                "invariant 1: `domain` depends on no adapter, web framework, driver or serde"
            }
            Self::IsolatedAdapters => {
                "invariant 2: an adapter depends on its own driver only: no other adapter or other adapter's driver, nor http-api, server or build-archive"
            }
            Self::AdapterFreeHttpApi => "invariant 3: `http-api` never names a concrete adapter",
            Self::CompositionRoot => {
                "invariant 4: only `server` names concrete adapters; port-contracts and test-support are dev-dependencies only, but of each other"
            }
            Self::PureBuildArchive => {
                "invariant 5: `build-archive` depends on no adapter, web framework or driver"
            }
        })
    }
}

/// A normal dependency that breaks an invariant.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Violation {
    pub(crate) package: String,
    pub(crate) dependency: String,
    pub(crate) invariant: Invariant,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} depends on {}: {}", self.package, self.dependency, self.invariant)
    }
}

/// Reads the workspace's own packages and their declared dependencies.
///
/// # Errors
/// When `cargo metadata` fails or prints something that is not JSON.
pub(crate) fn workspace_metadata(sh: &Shell) -> anyhow::Result<Value> {
    let json = cmd!(sh, "cargo metadata --format-version 1 --no-deps")
        .quiet()
        .read()
        .context("cargo metadata failed")?;
    serde_json::from_str(&json).context("cargo metadata printed something that is not JSON")
}

/// Every normal dependency of a workspace package that breaks an invariant, in package order.
///
/// # Errors
/// When the metadata lacks the `packages` list or a package or dependency lacks its name.
pub(crate) fn check(metadata: &Value) -> anyhow::Result<Vec<Violation>> {
    let packages =
        metadata["packages"].as_array().context("cargo metadata has no `packages` list")?;
    let mut violations = Vec::new();
    for package in packages {
        let name = package["name"].as_str().context("a package without a name")?;
        let dependencies = package["dependencies"]
            .as_array()
            .with_context(|| format!("package {name} has no `dependencies` list"))?;
        for dependency in dependencies {
            // `kind` is null for normal dependencies, "dev" or "build" otherwise.
            if !dependency["kind"].is_null() {
                continue;
            }
            // `name` is the package's real name, even when the manifest renames it.
            let dependency_name = dependency["name"]
                .as_str()
                .with_context(|| format!("a dependency of {name} without a name"))?;
            if let Some(invariant) = broken_invariant(name, dependency_name) {
                violations.push(Violation {
                    package: name.to_owned(),
                    dependency: dependency_name.to_owned(),
                    invariant,
                });
            }
        }
    }
    Ok(violations)
}

/// The first invariant that `package -> dependency` breaks, if any.
fn broken_invariant(package: &str, dependency: &str) -> Option<Invariant> {
    let infrastructure =
        is_adapter(dependency) || is_web_framework(dependency) || is_driver(dependency);
    let outer_crate = ["http-api", "server", "build-archive"].contains(&dependency);
    // Test crates are only ever dev-dependencies, so one may lean on the other.
    let test_crate = is_test_crate(dependency) && !is_test_crate(package);
    let exporter = METRICS_EXPORTERS.contains(&dependency);
    if package == "domain" && (infrastructure || exporter || WIRE_FORMATS.contains(&dependency)) {
        Some(Invariant::PureDomain)
    } else if is_adapter(package)
        && (is_adapter(dependency) || outer_crate || is_foreign_driver(package, dependency))
    {
        Some(Invariant::IsolatedAdapters)
    } else if package == "http-api" && is_adapter(dependency) {
        Some(Invariant::AdapterFreeHttpApi)
    } else if package == "build-archive" && infrastructure {
        Some(Invariant::PureBuildArchive)
    } else if ((is_adapter(dependency) || exporter) && package != "server") || test_crate {
        Some(Invariant::CompositionRoot)
    } else {
        None
    }
}

fn is_adapter(name: &str) -> bool {
    name.starts_with("adapter-")
}

fn is_test_crate(name: &str) -> bool {
    TEST_CRATES.contains(&name)
}

fn is_web_framework(name: &str) -> bool {
    WEB_FRAMEWORKS.contains(&name) || name.starts_with("utoipa")
}

fn is_driver(name: &str) -> bool {
    DRIVERS.contains(&name)
}

/// Whether `dependency` is a driver that is not `adapter`'s own.
fn is_foreign_driver(adapter: &str, dependency: &str) -> bool {
    let own = ADAPTER_DRIVERS
        .iter()
        .find(|(name, _)| *name == adapter)
        .map_or(&[][..], |(_, drivers)| *drivers);
    is_driver(dependency) && !own.contains(&dependency)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Metadata of one package, in the shape `cargo metadata` prints: `(name, kind)` pairs,
    /// with `None` for a normal dependency.
    fn package(name: &str, dependencies: &[(&str, Option<&str>)]) -> Value {
        let dependencies: Vec<Value> = dependencies
            .iter()
            .map(|(dependency, kind)| json!({ "name": dependency, "kind": kind, "rename": null }))
            .collect();
        json!({ "name": name, "dependencies": dependencies })
    }

    fn violations_of(packages: &[Value]) -> Vec<Violation> {
        check(&json!({ "packages": packages })).expect("well-formed metadata")
    }

    fn violation(package: &str, dependency: &str, invariant: Invariant) -> Violation {
        Violation { package: package.to_owned(), dependency: dependency.to_owned(), invariant }
    }

    #[test]
    fn the_intended_graph_has_no_violation() {
        let packages = [
            package("domain", &[("thiserror", None), ("adapter-memory", Some("dev"))]),
            package("adapter-memory", &[("domain", None), ("port-contracts", Some("dev"))]),
            package("adapter-postgres", &[("domain", None), ("diesel", None)]),
            package("adapter-engine", &[("domain", None), ("reqwest", None)]),
            package("port-contracts", &[("domain", None), ("test-support", None), ("tokio", None)]),
            package("build-archive", &[("domain", None), ("zip", None)]),
            package("http-api", &[("domain", None), ("actix-web", None), ("serde", None)]),
            package(
                "server",
                &[
                    ("http-api", None),
                    ("adapter-memory", None),
                    ("adapter-postgres", None),
                    ("adapter-engine", None),
                ],
            ),
            package("test-support", &[("domain", None), ("tracing", None)]),
        ];
        assert_eq!(violations_of(&packages), []);
    }

    #[test]
    fn the_domain_knows_no_adapter_framework_driver_or_serde() {
        let packages = [package(
            "domain",
            &[
                ("adapter-memory", None),
                ("actix-web", None),
                ("utoipa", None),
                ("mongodb", None),
                ("serde", None),
                ("serde_json", None),
                ("thiserror", None),
            ],
        )];
        assert_eq!(
            violations_of(&packages),
            [
                violation("domain", "adapter-memory", Invariant::PureDomain),
                violation("domain", "actix-web", Invariant::PureDomain),
                violation("domain", "utoipa", Invariant::PureDomain),
                violation("domain", "mongodb", Invariant::PureDomain),
                violation("domain", "serde", Invariant::PureDomain),
                violation("domain", "serde_json", Invariant::PureDomain),
            ]
        );
    }

    #[test]
    fn an_adapter_depends_on_no_other_adapter_nor_on_the_outer_crates() {
        let packages = [package(
            "adapter-postgres",
            &[
                ("domain", None),
                ("diesel", None),
                ("adapter-memory", None),
                ("http-api", None),
                ("server", None),
                ("build-archive", None),
            ],
        )];
        assert_eq!(
            violations_of(&packages),
            [
                violation("adapter-postgres", "adapter-memory", Invariant::IsolatedAdapters),
                violation("adapter-postgres", "http-api", Invariant::IsolatedAdapters),
                violation("adapter-postgres", "server", Invariant::IsolatedAdapters),
                violation("adapter-postgres", "build-archive", Invariant::IsolatedAdapters),
            ]
        );
    }

    #[test]
    fn an_adapter_uses_its_own_driver_and_no_other() {
        let packages = [
            package("adapter-engine", &[("domain", None), ("reqwest", None), ("mongodb", None)]),
            package("adapter-s3", &[("rust-s3", None), ("reqwest", None), ("mongodb", None)]),
            package("adapter-ftp", &[("domain", None), ("reqwest", None)]),
        ];
        assert_eq!(
            violations_of(&packages),
            [
                violation("adapter-engine", "mongodb", Invariant::IsolatedAdapters),
                violation("adapter-s3", "mongodb", Invariant::IsolatedAdapters),
                violation("adapter-ftp", "reqwest", Invariant::IsolatedAdapters),
            ]
        );
    }

    #[test]
    fn the_http_api_names_no_concrete_adapter() {
        let packages = [
            package("http-api", &[("domain", None), ("adapter-memory", None)]),
            package("http-api", &[("adapter-engine", None)]),
        ];
        assert_eq!(
            violations_of(&packages),
            [
                violation("http-api", "adapter-memory", Invariant::AdapterFreeHttpApi),
                violation("http-api", "adapter-engine", Invariant::AdapterFreeHttpApi),
            ]
        );
    }

    #[test]
    fn the_metrics_facade_is_for_everyone_and_its_exporter_for_the_server() {
        let packages = [
            package("domain", &[("metrics", None), ("metrics-exporter-prometheus", None)]),
            package("http-api", &[("metrics", None), ("metrics-exporter-prometheus", Some("dev"))]),
            package("adapter-kafka", &[("metrics", None), ("metrics-process", None)]),
            package("server", &[("metrics-exporter-prometheus", None), ("metrics-process", None)]),
        ];
        assert_eq!(
            violations_of(&packages),
            [
                violation("domain", "metrics-exporter-prometheus", Invariant::PureDomain),
                violation("adapter-kafka", "metrics-process", Invariant::CompositionRoot),
            ]
        );
    }

    #[test]
    fn only_the_server_names_adapters_and_test_crates_are_dev_only() {
        let packages = [
            package("port-contracts", &[("domain", None), ("adapter-memory", None)]),
            package("test-support", &[("adapter-postgres", None)]),
            package("server", &[("adapter-memory", None), ("test-support", None)]),
            package("http-api", &[("port-contracts", None)]),
            package("domain", &[("test-support", None)]),
        ];
        assert_eq!(
            violations_of(&packages),
            [
                violation("port-contracts", "adapter-memory", Invariant::CompositionRoot),
                violation("test-support", "adapter-postgres", Invariant::CompositionRoot),
                violation("server", "test-support", Invariant::CompositionRoot),
                violation("http-api", "port-contracts", Invariant::CompositionRoot),
                violation("domain", "test-support", Invariant::CompositionRoot),
            ]
        );
    }

    #[test]
    fn the_build_archive_knows_no_adapter_framework_or_driver() {
        let packages = [package(
            "build-archive",
            &[("adapter-s3", None), ("actix-multipart", None), ("rust-s3", None), ("zip", None)],
        )];
        assert_eq!(
            violations_of(&packages),
            [
                violation("build-archive", "adapter-s3", Invariant::PureBuildArchive),
                violation("build-archive", "actix-multipart", Invariant::PureBuildArchive),
                violation("build-archive", "rust-s3", Invariant::PureBuildArchive),
            ]
        );
    }

    #[test]
    fn dev_and_build_dependencies_do_not_count() {
        let packages = [
            package("domain", &[("serde_json", Some("dev")), ("adapter-memory", Some("dev"))]),
            package("http-api", &[("test-support", Some("dev")), ("adapter-memory", Some("dev"))]),
            package("build-archive", &[("reqwest", Some("build"))]),
        ];
        assert_eq!(violations_of(&packages), []);
    }

    #[test]
    fn metadata_without_packages_is_an_error() {
        assert!(check(&json!({ "version": 1 })).is_err());
    }

    #[test]
    fn the_workspace_keeps_its_layering() {
        let sh = Shell::new().expect("a shell");
        sh.change_dir(crate::project_root());
        let metadata = workspace_metadata(&sh).expect("the workspace's metadata");
        let violations = check(&metadata).expect("well-formed metadata");
        let listing: Vec<String> = violations.iter().map(ToString::to_string).collect();
        assert!(violations.is_empty(), "layering violations:\n{}", listing.join("\n"));
    }
}
