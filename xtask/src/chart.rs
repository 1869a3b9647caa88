//! Checks of the Helm chart (`deploy/helm/rtm`) and the image (`docker/Dockerfile`) that
//! need no helm, no cluster and no container engine, written as tests as the tidy checks are.
//!
//! `helm lint`, `helm template` and kubeconform run in the GitHub workflow; these run
//! everywhere the suite runs: the chart's files parse, the templates use only values that
//! exist, the ingresses are the seed's (`../shared/research/flowx-domain.md` §3.6, copied
//! here as constants), every variable of docs/CONFIGURATION.md can be set from values, and
//! the image and the chart use the documented default ports.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use crate::project_root;
use crate::tidy::{assert_tidy, mentions, read};

const CHART: &str = "deploy/helm/rtm";
const CONFIGURATION: &str = "docs/CONFIGURATION.md";
const DOCKERFILE: &str = "docker/Dockerfile";

/// The seed's ingresses: (values key, host key, path, rewrite target).
const SEED_INGRESSES: [(&str, &str, &str, &str); 4] = [
    ("public", "public", "/rtm/api/runtime(/|$)(.*)", "/api/runtime/$2"),
    ("admin", "admin", "/rtm/api/build-mgmt(/|$)(.*)", "/api/build-mgmt/$2"),
    ("adminInstances", "admin", "/rtm/api/(runtime|runtime-internal)/(.*)", "/api/$1/$2"),
    ("appManager", "admin", "/appmanager(/|$)(.*)", "/$2"),
];
/// The headers the seed's ingresses allow in CORS requests, in its order.
const SEED_CORS_HEADERS: [&str; 11] = [
    "DNT",
    "Keep-Alive",
    "User-Agent",
    "X-Requested-With",
    "If-Modified-Since",
    "Cache-Control",
    "Content-Type",
    "Range",
    "Authorization",
    "platform",
    "Flowx-Platform",
];

fn chart_path(file: &str) -> PathBuf {
    project_root().join(CHART).join(file)
}

fn yaml(path: &Path) -> Yaml {
    let mut documents = YamlLoader::load_from_str(&read(path))
        .unwrap_or_else(|error| panic!("{} is not YAML: {error}", path.display()));
    assert_eq!(documents.len(), 1, "{} holds one YAML document", path.display());
    documents.remove(0)
}

fn values() -> Yaml {
    yaml(&chart_path("values.yaml"))
}

fn templates() -> Vec<(PathBuf, String)> {
    let dir = chart_path("templates");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()))
        .map(|entry| entry.expect("the templates folder is readable").path())
        .collect();
    files.sort();
    files.into_iter().map(|file| (file.clone(), read(&file))).collect()
}

fn text<'a>(node: &'a Yaml, path: &str) -> &'a str {
    at(node, path).as_str().unwrap_or_else(|| panic!("values.yaml: `{path}` is not a string"))
}

/// The node at a dotted path (`ingress.public.path`); `Yaml::BadValue` when absent.
fn at<'a>(node: &'a Yaml, path: &str) -> &'a Yaml {
    path.split('.').fold(node, |node, key| &node[key])
}

#[test]
fn the_chart_files_parse_and_the_schema_describes_every_value() {
    let chart = yaml(&chart_path("Chart.yaml"));
    assert_eq!(chart["apiVersion"].as_str(), Some("v2"), "Chart.yaml: apiVersion v2");
    assert_eq!(chart["name"].as_str(), Some("rtm"), "Chart.yaml: name rtm");
    assert!(chart["version"].as_str().is_some(), "Chart.yaml: a version");
    let schema_path = chart_path("values.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&read(&schema_path))
        .unwrap_or_else(|error| panic!("values.schema.json is not JSON: {error}"));
    let mut failures = Vec::new();
    schema_covers(&values(), &schema, "", &mut failures);
    // The values the GitHub workflow renders the chart with.
    schema_covers(&yaml(&chart_path("ci/test-values.yaml")), &schema, "", &mut failures);
    assert_tidy("values.schema.json describes every key of values.yaml", failures);
}

/// Every key of a values mapping is a property of its schema, when the schema lists them.
fn schema_covers(node: &Yaml, schema: &serde_json::Value, path: &str, failures: &mut Vec<String>) {
    let (Some(mapping), Some(properties)) = (node.as_hash(), schema["properties"].as_object())
    else {
        return;
    };
    for (key, child) in mapping {
        let key = key.as_str().unwrap_or_default();
        let child_path = if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
        match properties.get(key) {
            Some(child_schema) => schema_covers(child, child_schema, &child_path, failures),
            None => {
                failures.push(format!("{CHART}/values.schema.json: no property `{child_path}`"))
            }
        }
    }
}

#[test]
fn every_value_the_templates_use_is_in_values_yaml() {
    let values = values();
    let mut failures = Vec::new();
    let mut used = 0;
    for (file, source) in templates() {
        for (number, line) in source.lines().enumerate() {
            for path in value_paths(line) {
                used += 1;
                if at(&values, &path).is_badvalue() {
                    failures.push(format!(
                        "{CHART}/templates/{}:{}: `.Values.{path}` is not in values.yaml",
                        file.file_name().unwrap_or_default().to_string_lossy(),
                        number + 1
                    ));
                }
            }
        }
    }
    assert!(used > 50, "the templates use only {used} values: is the scan broken?");
    assert_tidy("every value the templates use is in values.yaml", failures);
}

/// The dotted paths after each `.Values.` of a template line.
fn value_paths(line: &str) -> Vec<String> {
    line.match_indices(".Values.")
        .map(|(start, marker)| {
            line[start + marker.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
                .collect::<String>()
                .trim_end_matches('.')
                .to_owned()
        })
        .filter(|path| !path.is_empty())
        .collect()
}

#[test]
fn value_paths_are_read_up_to_the_end_of_the_name() {
    assert_eq!(
        value_paths("{{ .Values.ingress.cors.allowHeaders | quote }} {{ $.Values.role }}"),
        ["ingress.cors.allowHeaders", "role"]
    );
    assert_eq!(value_paths("(index $root.Values.ingress.hosts $ingress.host)"), ["ingress.hosts"]);
    assert!(value_paths("{{ .Release.Name }}").is_empty());
}

#[test]
fn the_ingresses_are_the_seeds() {
    let values = values();
    let mut failures = Vec::new();
    for (name, host, path, rewrite) in SEED_INGRESSES {
        let expected = [("host", host), ("path", path), ("rewriteTarget", rewrite)];
        for (field, want) in expected {
            let got = text(&values, &format!("ingress.{name}.{field}"));
            if got != want {
                failures.push(format!(
                    "values.yaml: ingress.{name}.{field} is `{got}`, the seed's is `{want}`"
                ));
            }
        }
        if at(&values, &format!("ingress.{name}.enabled")).as_bool() != Some(true) {
            failures.push(format!("values.yaml: ingress.{name} is not enabled by default"));
        }
    }
    let headers: Vec<&str> =
        text(&values, "ingress.cors.allowHeaders").split(',').map(str::trim).collect();
    if headers != SEED_CORS_HEADERS {
        failures.push(format!("values.yaml: ingress.cors.allowHeaders is {headers:?}, the seed's is {SEED_CORS_HEADERS:?}"));
    }
    let ingress = read(&chart_path("templates/ingress.yaml"));
    let wanted = [
        // Which ingresses each role gets.
        r#"list "public" "admin" "adminInstances""#,
        r#"eq (include "rtm.role" .) "application-manager""#,
        r#"list "appManager""#,
        "nginx.ingress.kubernetes.io/use-regex: \"true\"",
        "nginx.ingress.kubernetes.io/rewrite-target: {{ $ingress.rewriteTarget | quote }}",
        "nginx.ingress.kubernetes.io/cors-allow-headers: {{ $root.Values.ingress.cors.allowHeaders | quote }}",
        "path: {{ $ingress.path | quote }}",
        "pathType: ImplementationSpecific",
    ];
    for needle in wanted {
        if !ingress.contains(needle) {
            failures.push(format!("{CHART}/templates/ingress.yaml: lacks `{needle}`"));
        }
    }
    assert_tidy("the chart's ingresses are the seed's", failures);
}

/// The variables of docs/CONFIGURATION.md: the backquoted names in the `Variable` and
/// `Override` columns of its tables.
fn documented_variables() -> BTreeSet<String> {
    let mut variables = BTreeSet::new();
    let mut columns: Vec<usize> = Vec::new();
    for line in read(&project_root().join(CONFIGURATION)).lines() {
        if !line.starts_with('|') {
            columns.clear();
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        if columns.is_empty() {
            columns = (0..cells.len())
                .filter(|&index| matches!(cells[index], "Variable" | "Override"))
                .collect();
            continue;
        }
        for &column in &columns {
            let Some(cell) = cells.get(column) else { continue };
            for (index, quoted) in cell.split('`').enumerate() {
                if index % 2 == 1 && quoted.starts_with(|c: char| c.is_ascii_uppercase()) {
                    variables.insert(quoted.to_owned());
                }
            }
        }
    }
    variables
}

#[test]
fn every_documented_variable_can_be_set_from_values() {
    let documented = documented_variables();
    assert!(documented.len() > 40, "only {} variables found in {CONFIGURATION}", documented.len());
    let env_template = read(&chart_path("templates/_env.tpl"));
    let values = values();
    let secrets: BTreeSet<&str> = values["secrets"]["keys"]
        .as_hash()
        .expect("values.yaml: secrets.keys is a mapping")
        .keys()
        .filter_map(Yaml::as_str)
        .collect();
    let readme = read(&chart_path("README.md"));
    let failures = documented
        .iter()
        .filter(|variable| {
            !(mentions(&env_template, variable)
                || secrets.contains(variable.as_str())
                || readme.contains(&format!("`{variable}`")))
        })
        .map(|variable| {
            format!(
                "{CONFIGURATION}: `{variable}` has no structured value (templates/_env.tpl), no \
                 key in secrets.keys and is not listed in {CHART}/README.md as set through `env`"
            )
        })
        .collect();
    assert_tidy(
        "every variable of docs/CONFIGURATION.md can be set from the chart's values",
        failures,
    );
}

/// The default of a variable in docs/CONFIGURATION.md's tables (`| `NAME` | `8080` | …`).
fn documented_default(variable: &str) -> String {
    let configuration = read(&project_root().join(CONFIGURATION));
    let prefix = format!("| `{variable}` | `");
    let line = configuration
        .lines()
        .find(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("{CONFIGURATION} has no row for {variable}"));
    line[prefix.len()..].split('`').next().unwrap_or_default().to_owned()
}

#[test]
fn the_image_and_the_chart_use_the_documented_ports() {
    let (api, management) =
        (documented_default("SERVER_PORT"), documented_default("MANAGEMENT_SERVER_PORT"));
    let dockerfile = read(&project_root().join(DOCKERFILE));
    let exposed: Vec<&str> = dockerfile
        .lines()
        .filter_map(|line| line.strip_prefix("EXPOSE "))
        .flat_map(str::split_whitespace)
        .collect();
    assert_eq!(exposed, [api.as_str(), management.as_str()], "{DOCKERFILE}: EXPOSE");
    let values = values();
    assert_eq!(at(&values, "server.port").as_i64().map(|port| port.to_string()), Some(api));
    assert_eq!(
        at(&values, "server.managementPort").as_i64().map(|port| port.to_string()),
        Some(management)
    );
}

#[test]
fn the_image_runs_rtm_as_a_numeric_non_root_user() {
    let dockerfile = read(&project_root().join(DOCKERFILE));
    let users: Vec<&str> =
        dockerfile.lines().filter_map(|line| line.strip_prefix("USER ")).collect();
    let user = users.last().expect("docker/Dockerfile sets a USER");
    let uid: u32 = user.split(':').next().unwrap_or_default().parse().unwrap_or_else(|_| {
        panic!("USER {user}: a numeric uid, which Kubernetes' runAsNonRoot can check")
    });
    assert_ne!(uid, 0, "the image must not run as root");
    assert_eq!(at(&values(), "podSecurityContext.runAsUser").as_i64(), Some(i64::from(uid)));
    assert!(dockerfile.contains(r#"ENTRYPOINT ["/usr/local/bin/rtm"]"#));
    assert!(dockerfile.contains(r#"CMD ["serve"]"#));
}

#[test]
fn the_pods_run_with_a_restricted_security_context() {
    let values = values();
    let expected = [
        ("securityContext.runAsNonRoot", Yaml::Boolean(true)),
        ("securityContext.readOnlyRootFilesystem", Yaml::Boolean(true)),
        ("securityContext.allowPrivilegeEscalation", Yaml::Boolean(false)),
        ("securityContext.seccompProfile.type", Yaml::String("RuntimeDefault".to_owned())),
        ("podSecurityContext.runAsNonRoot", Yaml::Boolean(true)),
        ("podSecurityContext.seccompProfile.type", Yaml::String("RuntimeDefault".to_owned())),
    ];
    let mut failures: Vec<String> = expected
        .iter()
        .filter(|(path, want)| at(&values, path) != want)
        .map(|(path, want)| format!("values.yaml: `{path}` is not {want:?}"))
        .collect();
    let dropped = at(&values, "securityContext.capabilities.drop").as_vec();
    if dropped.is_none_or(|dropped| dropped.as_slice() != [Yaml::String("ALL".to_owned())]) {
        failures.push("values.yaml: securityContext.capabilities.drop is not [ALL]".to_owned());
    }
    // The read-only root filesystem leaves /tmp (an emptyDir) as the only writable path.
    let pod = read(&chart_path("templates/_pod.tpl"));
    if !pod.contains("mountPath: /tmp") || !pod.contains("emptyDir:") {
        failures.push(format!("{CHART}/templates/_pod.tpl: no emptyDir mounted on /tmp"));
    }
    assert_tidy("the pods run with a restricted security context", failures);
}

#[test]
fn migrations_run_in_a_hook_and_never_at_start_beside_it() {
    let cli = read(&project_root().join("crates/server/src/cli.rs"));
    assert!(cli.contains("    Migrate,"), "crates/server/src/cli.rs has no `rtm migrate`");
    let job = read(&chart_path("templates/migration-job.yaml"));
    for needle in ["helm.sh/hook: pre-install,pre-upgrade", r#"args: ["migrate"]"#] {
        assert!(job.contains(needle), "{CHART}/templates/migration-job.yaml lacks `{needle}`");
    }
    let deployment = read(&chart_path("templates/deployment.yaml"));
    assert!(
        deployment.contains(r#""migrateOnStart" (not .Values.migrations.enabled)"#),
        "the Deployment must set RTM_MIGRATE_ON_START=false while the hook migrates"
    );
    assert!(read(&chart_path("templates/_env.tpl")).contains("- name: RTM_MIGRATE_ON_START"));
}

#[test]
fn probes_and_metrics_are_on_the_management_port() {
    let values = values();
    for (probe, path) in [
        ("startup", "/actuator/health/liveness"),
        ("liveness", "/actuator/health/liveness"),
        ("readiness", "/actuator/health/readiness"),
    ] {
        assert_eq!(text(&values, &format!("probes.{probe}.path")), path, "probes.{probe}.path");
    }
    let deployment = read(&chart_path("templates/deployment.yaml"));
    assert_eq!(deployment.matches("port: management").count(), 3, "the three probes");
    let monitor = read(&chart_path("templates/servicemonitor.yaml"));
    assert!(monitor.contains("port: management") && monitor.contains("path: /actuator/prometheus"));
}
