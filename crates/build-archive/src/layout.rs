//! The names an archive may hold: which ones are safe, and what each one is.

use domain::model::{ResourceDefinitionId, ResourceType};

/// The build's header, settings and dependencies.
pub(crate) const BUILD_JSON: &str = "build.json";
/// Default configuration parameters (optional).
pub(crate) const CONFIG_PARAMS_JSON: &str = "config-params.json";
/// Hashes and sizes of every other entry, and the checksum.
pub(crate) const MANIFEST_JSON: &str = "manifest.json";
/// The switches of the build's timers, written on export: outside the checksum (never listed
/// in the manifest), so a switch never changes what the build is.
pub(crate) const SCHEDULE_JSON: &str = "schedule.json";
/// Prefix of resource entries: `resources/<TYPE>/<resourceDefinitionId>.json`.
pub(crate) const RESOURCES_PREFIX: &str = "resources/";
/// Prefix of binary entries: `binaries/<sha256>`.
pub(crate) const BINARIES_PREFIX: &str = "binaries/";

/// What a file entry is, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind<'a> {
    Build,
    ConfigParams,
    Manifest,
    Schedule,
    Resource { resource_type: &'a str, definition_id: &'a str },
    Binary { sha256: &'a str },
}

/// Checks that a name can mean only one thing and stays inside the archive wherever it is
/// unpacked. A trailing `/` (a directory entry) is allowed.
pub(crate) fn check_safe(name: &[u8]) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.contains(&0) {
        return Err("it contains a NUL character");
    }
    if name.contains(&b'\\') {
        return Err("it contains a backslash");
    }
    if name.starts_with(b"/") {
        return Err("it is an absolute path");
    }
    if name.len() >= 2 && name[0].is_ascii_alphabetic() && name[1] == b':' {
        return Err("it starts with a drive letter");
    }
    let path = name.strip_suffix(b"/").unwrap_or(name);
    for segment in path.split(|byte| *byte == b'/') {
        match segment {
            b"" => return Err("it has an empty path segment"),
            b".." => return Err("it has a `..` segment"),
            b"." => return Err("it has a `.` segment"),
            _ => {}
        }
    }
    Ok(())
}

/// What a file named `name` is, or `None` when the layout has no place for it.
pub(crate) fn classify(name: &str) -> Option<EntryKind<'_>> {
    match name {
        BUILD_JSON => return Some(EntryKind::Build),
        CONFIG_PARAMS_JSON => return Some(EntryKind::ConfigParams),
        MANIFEST_JSON => return Some(EntryKind::Manifest),
        SCHEDULE_JSON => return Some(EntryKind::Schedule),
        _ => {}
    }
    if let Some(rest) = name.strip_prefix(RESOURCES_PREFIX) {
        let (resource_type, file) = rest.split_once('/')?;
        let definition_id = file.strip_suffix(".json")?;
        let valid =
            is_resource_type(resource_type) && ResourceDefinitionId::parse(definition_id).is_ok();
        return valid.then_some(EntryKind::Resource { resource_type, definition_id });
    }
    if let Some(sha256) = name.strip_prefix(BINARIES_PREFIX) {
        return is_sha256(sha256).then_some(EntryKind::Binary { sha256 });
    }
    None
}

/// Whether a directory named `name` (without trailing `/`) has a place in the layout.
pub(crate) fn is_layout_directory(name: &str) -> bool {
    match name.strip_prefix(RESOURCES_PREFIX) {
        Some(resource_type) => is_resource_type(resource_type),
        None => name == "resources" || name == "binaries",
    }
}

/// Whether `name` is a binary entry.
pub(crate) fn is_binary(name: &str) -> bool {
    name.starts_with(BINARIES_PREFIX)
}

fn is_resource_type(raw: &str) -> bool {
    ResourceType::parse(raw).is_ok()
}

/// Whether `raw` is 64 lowercase hex digits.
pub(crate) fn is_sha256(raw: &str) -> bool {
    raw.len() == 64 && raw.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_or_confuse_are_unsafe() {
        for name in
            ["", "../x", "resources/../../x", "/etc/passwd", "C:/x", "a\\b", "a//b", "./a", "a\0b"]
        {
            assert!(check_safe(name.as_bytes()).is_err(), "{name:?}");
        }
        for name in ["build.json", "resources/", "resources/PROCESS/a.json", "a..b"] {
            assert!(check_safe(name.as_bytes()).is_ok(), "{name:?}");
        }
    }

    #[test]
    fn the_layout_knows_every_kind_of_file() {
        assert_eq!(classify("build.json"), Some(EntryKind::Build));
        assert_eq!(
            classify("resources/PROCESS/loan.json"),
            Some(EntryKind::Resource { resource_type: "PROCESS", definition_id: "loan" })
        );
        assert_eq!(classify("resources/process/loan.json"), None);
        assert_eq!(classify("resources/PROCESS/sub/loan.json"), None);
        assert_eq!(classify("resources/PROCESS/loan.txt"), None);
        assert_eq!(
            classify(&format!("binaries/{}", "a".repeat(64))),
            Some(EntryKind::Binary { sha256: &"a".repeat(64) })
        );
        assert_eq!(classify("binaries/logo.png"), None);
        assert_eq!(classify("README.md"), None);
    }
}
