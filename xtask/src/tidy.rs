//! Tidy checks over the real source tree, written as tests (rust-analyzer's pattern).
//!
//! Each test lists every offending `file:line` rather than stopping at the first one.

use std::fs;
use std::path::{Path, PathBuf};

use crate::project_root;

/// Built from two halves so that this file does not match its own check.
const SHOULD_PANIC: &str = concat!("#[should", "_panic]");
const SETTINGS: &str = "crates/server/src/settings.rs";
const CONFIGURATION: &str = "docs/CONFIGURATION.md";

#[test]
fn every_rust_file_starts_with_a_doc_comment() {
    let failures = source_files(&["crates", "xtask"], &["rs"])
        .into_iter()
        .filter(|file| !read(file).starts_with("//!"))
        .map(|file| format!("{}:1: does not start with a `//!` comment", display(&file)))
        .collect();
    assert_tidy("every .rs file starts with `//!`", failures);
}

#[test]
fn every_crate_manifest_takes_its_lints_and_publish_setting_from_the_workspace() {
    let mut manifests: Vec<PathBuf> = fs::read_dir(project_root().join("crates"))
        .expect("crates/ is readable")
        .map(|entry| entry.expect("crates/ is readable").path().join("Cargo.toml"))
        .filter(|manifest| manifest.is_file())
        .collect();
    manifests.push(project_root().join("xtask/Cargo.toml"));
    manifests.sort();
    let mut failures = Vec::new();
    for manifest in &manifests {
        let text = read(manifest).replace("\r\n", "\n");
        if !text.contains("\n[lints]\nworkspace = true\n") {
            failures.push(format!("{}:1: lacks `[lints]\\nworkspace = true`", display(manifest)));
        }
        if !text.lines().any(|line| line.trim() == "publish.workspace = true") {
            failures.push(format!("{}:1: lacks `publish.workspace = true`", display(manifest)));
        }
    }
    assert_tidy(
        "every crate manifest opts into the workspace's lints and publish setting",
        failures,
    );
}

#[test]
fn no_test_expects_a_panic() {
    let mut failures = Vec::new();
    for file in source_files(&["crates", "xtask"], &["rs"]) {
        for (number, line) in read(&file).lines().enumerate() {
            if line.contains(SHOULD_PANIC) {
                failures.push(format!(
                    "{}:{}: assert on the `Err` instead of {SHOULD_PANIC}",
                    display(&file),
                    number + 1
                ));
            }
        }
    }
    assert_tidy("no test expects a panic", failures);
}

#[test]
fn no_line_ends_in_whitespace() {
    let mut failures = Vec::new();
    for file in source_files(&["."], &["rs", "md", "toml"]) {
        for (number, line) in read(&file).lines().enumerate() {
            if line.ends_with(char::is_whitespace) {
                failures.push(format!("{}:{}: trailing whitespace", display(&file), number + 1));
            }
        }
    }
    assert_tidy("no line ends in whitespace", failures);
}

#[test]
fn no_module_lives_in_a_mod_rs() {
    let failures = source_files(&["crates", "xtask"], &["rs"])
        .into_iter()
        .filter(|file| file.file_name().is_some_and(|name| name == "mod.rs"))
        .map(|file| format!("{}:1: name the file after its module", display(&file)))
        .collect();
    assert_tidy("no mod.rs files", failures);
}

/// Bounded contexts that must not reach into each other: (the module, whose file is
/// `{module}.rs` and whose children are under `{module}/`, and the paths it may not name). Both may use the shared kernel.
const SEPARATE_CONTEXTS: &[(&str, &[&str])] = &[
    ("crates/domain/src/runtime", &["crate::design", "domain::design"]),
    ("crates/domain/src/design", &["crate::runtime", "domain::runtime"]),
    ("crates/http-api/src/runtime_manager", &["crate::app_manager", "domain::design"]),
    ("crates/http-api/src/app_manager", &["crate::runtime_manager", "domain::runtime"]),
];

#[test]
fn the_bounded_contexts_never_import_each_other() {
    let mut failures = Vec::new();
    for (module, forbidden) in SEPARATE_CONTEXTS {
        let mut files = source_files(&[module], &["rs"]);
        let module_file = project_root().join(format!("{module}.rs"));
        if module_file.is_file() {
            files.push(module_file);
        }
        for file in files {
            for (number, line) in read(&file).lines().enumerate() {
                if let Some(path) = forbidden.iter().find(|path| line.contains(*path)) {
                    failures.push(format!(
                        "{}:{}: names `{path}`; move what both need into the shared kernel",
                        display(&file),
                        number + 1
                    ));
                }
            }
        }
    }
    assert_tidy("the bounded contexts never import each other", failures);
}

#[test]
fn every_environment_variable_of_the_settings_is_documented() {
    let settings = project_root().join(SETTINGS);
    let configuration = project_root().join(CONFIGURATION);
    if !settings.is_file() {
        return;
    }
    if !configuration.is_file() {
        assert_tidy(
            "the settings' environment variables are documented",
            vec![format!("{SETTINGS}:1: {CONFIGURATION} does not exist")],
        );
        return;
    }
    let documentation = read(&configuration);
    // settings.rs and its submodules (settings/*.rs) read the environment.
    let mut files = vec![SETTINGS.to_owned()];
    if let Ok(entries) = fs::read_dir(project_root().join(SETTINGS.trim_end_matches(".rs"))) {
        let mut submodules: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|entry| {
                format!(
                    "{}/{}",
                    SETTINGS.trim_end_matches(".rs"),
                    entry.file_name().to_string_lossy()
                )
            })
            .filter(|path| path.ends_with(".rs"))
            .collect();
        submodules.sort();
        files.extend(submodules);
    }
    let mut failures = Vec::new();
    for file in files {
        // Names in the unit tests at the bottom of a file are test data, not settings.
        let source = read(&project_root().join(&file));
        let code = source.split("#[cfg(test)]").next().unwrap_or_default();
        failures.extend(
            environment_variables(code)
                .into_iter()
                .filter(|(_, name)| !mentions(&documentation, name))
                .map(|(line, name)| format!("{file}:{line}: {name} is not in {CONFIGURATION}")),
        );
    }
    assert_tidy("the settings' environment variables are documented", failures);
}

#[test]
fn environment_variables_are_found_in_string_literals_only() {
    let source = concat!(
        "//! Reads RTM_IN_A_COMMENT.\n",
        "const PORT: &str = \"SERVER_PORT\";\n",
        "/* SPRING_IN_A_BLOCK_COMMENT */ let c = '\"';\n",
        "fn f<'a>(x: &'a str) { env(r#\"RTM_DATA_DIR and \"SECURITY_TYPE\"\"#, \"\\\"x\"); }\n",
        "let names = [\"MANAGEMENT_SERVER_PORT\", \"PATH\", \"rtm_lower\", \"SPRING_\"];\n",
    );
    assert_eq!(
        environment_variables(source),
        [
            (2, "SERVER_PORT".to_owned()),
            (4, "RTM_DATA_DIR".to_owned()),
            (4, "SECURITY_TYPE".to_owned()),
            (5, "MANAGEMENT_SERVER_PORT".to_owned()),
            (5, "SPRING_".to_owned()),
        ]
    );
}

#[test]
fn a_variable_is_documented_only_by_its_whole_name() {
    let documentation = "| `MANAGEMENT_SERVER_PORT` | 8081 |\n| `RTM_DATA_DIR` | `.rtm` |";
    assert!(mentions(documentation, "MANAGEMENT_SERVER_PORT"));
    assert!(!mentions(documentation, "SERVER_PORT"));
    assert!(!mentions(documentation, "RTM_DATA"));
    assert!(mentions(documentation, "RTM_"), "a prefix is documented by any name it starts");
}

pub(crate) fn assert_tidy(check: &str, failures: Vec<String>) {
    assert!(failures.is_empty(), "tidy: {check}; fix:\n{}", failures.join("\n"));
}

/// Files with one of `extensions` under the given folders of the workspace, sorted; build
/// output and git's own files are skipped.
fn source_files(folders: &[&str], extensions: &[&str]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending: Vec<PathBuf> =
        folders.iter().map(|folder| project_root().join(folder)).collect();
    while let Some(folder) = pending.pop() {
        let Ok(entries) = fs::read_dir(&folder) else { continue };
        for entry in entries {
            let path = entry.expect("a readable folder entry").path();
            let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
            if path.is_dir() {
                if name != "target" && name != ".git" {
                    pending.push(path);
                }
            } else if path
                .extension()
                .and_then(|extension| extension.to_str())
                .is_some_and(|extension| extensions.contains(&extension))
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

pub(crate) fn read(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// The path relative to the workspace root, as it is written in a failure.
fn display(path: &Path) -> String {
    let relative = path.strip_prefix(project_root()).unwrap_or(path);
    relative.strip_prefix(".").unwrap_or(relative).display().to_string()
}

/// The environment variable names in the string literals of a Rust source, with their line.
fn environment_variables(source: &str) -> Vec<(usize, String)> {
    string_literals(source)
        .into_iter()
        .flat_map(|(line, literal)| {
            literal
                .split(|c: char| !is_name_char(c))
                .filter(|word| is_environment_variable(word))
                .map(|word| (line, word.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn is_environment_variable(word: &str) -> bool {
    let upper = word.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    let ours = [
        "RTM_",
        "SPRING_",
        "SECURITY_",
        "KAFKA_",
        "APPLICATION_",
        "LOGGING_",
        "MULTIPART_",
        "DB_",
        "CONFIG_",
    ]
    .iter()
    .any(|prefix| word.starts_with(prefix))
        || word == "SERVER_PORT"
        || word == "MANAGEMENT_SERVER_PORT";
    upper && ours
}

/// Whether `documentation` names `variable` as a whole word; a prefix such as `RTM_` is
/// documented by any name that starts with it.
pub(crate) fn mentions(documentation: &str, variable: &str) -> bool {
    documentation.match_indices(variable).any(|(start, _)| {
        let before = documentation[..start].chars().next_back();
        let after = documentation[start + variable.len()..].chars().next();
        !before.is_some_and(is_name_char)
            && (variable.ends_with('_') || !after.is_some_and(is_name_char))
    })
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The contents of the string literals of a Rust source, each with the line it starts on.
/// Comments, char literals and lifetimes are skipped; escapes are kept as written, which is
/// enough to find names.
fn string_literals(source: &str) -> Vec<(usize, String)> {
    let chars: Vec<char> = source.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let is_ident = |i: Option<usize>| i.and_then(at).is_some_and(is_name_char);
    // An `r` opens a raw string when it starts a token, alone or after a `b`.
    let starts_raw_string = |previous: Option<usize>| match previous {
        Some(p) if at(p) == Some('b') => !is_ident(p.checked_sub(1)),
        _ => !is_ident(previous),
    };
    let mut literals = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while let Some(c) = at(i) {
        let previous = i.checked_sub(1);
        match (c, at(i + 1)) {
            ('\n', _) => {
                line += 1;
                i += 1;
            }
            ('/', Some('/')) => {
                while at(i).is_some_and(|c| c != '\n') {
                    i += 1;
                }
            }
            ('/', Some('*')) => {
                i += 2;
                while at(i).is_some() && !(at(i) == Some('*') && at(i + 1) == Some('/')) {
                    line += usize::from(at(i) == Some('\n'));
                    i += 1;
                }
                i += 2;
            }
            ('r', Some('"' | '#')) if starts_raw_string(previous) => {
                let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
                let open = i + 1 + hashes;
                if at(open) != Some('"') {
                    // A raw identifier such as `r#type`.
                    i = open;
                    continue;
                }
                let closing: Vec<char> =
                    std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
                let start_line = line;
                let mut content = String::new();
                i = open + 1;
                while let Some(c) = at(i).filter(|_| !chars[i..].starts_with(&closing)) {
                    line += usize::from(c == '\n');
                    content.push(c);
                    i += 1;
                }
                literals.push((start_line, content));
                i += closing.len();
            }
            ('"', _) => {
                let start_line = line;
                let mut content = String::new();
                i += 1;
                while let Some(c) = at(i) {
                    i += 1;
                    match c {
                        '"' => break,
                        '\\' => {
                            content.push(c);
                            if let Some(escaped) = at(i) {
                                line += usize::from(escaped == '\n');
                                content.push(escaped);
                                i += 1;
                            }
                        }
                        _ => {
                            line += usize::from(c == '\n');
                            content.push(c);
                        }
                    }
                }
                literals.push((start_line, content));
            }
            ('\'', Some('\\')) => {
                // An escaped char literal such as '\'' or '\u{22}'.
                i += 3;
                while at(i).is_some_and(|c| c != '\'') {
                    i += 1;
                }
                i += 1;
            }
            ('\'', Some(_)) if at(i + 2) == Some('\'') => i += 3,
            _ => i += 1,
        }
    }
    literals
}
