//! The build archive codec against well-formed, broken and hostile archives, and the example
//! build directories.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use build_archive::{
    ArchiveError, ArchiveLimits, PackError, pack_directory, read_archive, strip_binaries,
};
use bytes::Bytes;
use domain::builds::ImportRequest;
use domain::model::{ApplicationKind, BuildOrigin, ConfigParamType, TimerType};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

// ---------------------------------------------------------------------------------------------
// Helpers: archives written entry by entry, with or without a correct manifest.

type Entries = Vec<(String, Vec<u8>)>;

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated)
}

/// A zip of exactly `entries`, in order, deflated.
fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        zip.start_file(name.as_str(), deflated()).expect("the writer accepts the entry");
        zip.write_all(bytes).expect("writing to memory works");
    }
    zip.finish().expect("the zip finishes").into_inner()
}

/// The manifest the format asks for, computed here independently of the crate.
fn manifest_of(entries: &[(String, Vec<u8>)]) -> serde_json::Value {
    let mut sorted: Vec<_> = entries.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let listed: Vec<_> = sorted
        .iter()
        .map(|(name, bytes)| serde_json::json!({"name": name, "sha256": sha256(bytes), "size": bytes.len()}))
        .collect();
    let lines: String = sorted
        .iter()
        .filter(|(name, _)| !name.starts_with("binaries/"))
        .map(|(name, bytes)| format!("{name}\t{}\t{}\n", sha256(bytes), bytes.len()))
        .collect();
    serde_json::json!({"formatVersion": 1, "entries": listed, "checksum": sha256(lines.as_bytes())})
}

/// `entries` plus a correct `manifest.json`.
fn with_manifest(mut entries: Entries) -> Entries {
    let manifest = manifest_of(&entries);
    entries.push(("manifest.json".to_owned(), json_bytes(&manifest)));
    entries
}

/// `entries` plus a manifest that `edit` changed after it was computed.
fn with_edited_manifest(
    mut entries: Entries,
    edit: impl FnOnce(&mut serde_json::Value),
) -> Entries {
    let mut manifest = manifest_of(&entries);
    edit(&mut manifest);
    entries.push(("manifest.json".to_owned(), json_bytes(&manifest)));
    entries
}

fn json_bytes(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec_pretty(value).expect("a JSON value serializes")
}

fn entry(name: &str, value: &serde_json::Value) -> (String, Vec<u8>) {
    (name.to_owned(), json_bytes(value))
}

fn build_json() -> serde_json::Value {
    serde_json::json!({
        "formatVersion": 1,
        "buildId": "0b0b0b0b-0000-4000-8000-000000000001",
        "applicationId": "0a0a0a0a-0000-4000-8000-000000000001",
        "applicationName": "Claims",
        "applicationVersionId": "0c0c0c0c-0000-4000-8000-000000000001",
        "branch": "main",
        "name": "Claims",
        "settings": {
            "platforms": "WEB",
            "dateDisplayFormat": {"format": "short"},
            "numberDisplayFormat": {"minDecimals": 0, "maxDecimals": 2},
            "currencyDisplayFormat": {"format": "symbol"},
            "languages": ["en"],
            "defaultLanguageCode": "en"
        },
        "dependencies": [],
        "createdAt": "2026-01-02T03:04:05Z",
        "createdBy": "tester"
    })
}

fn resource_json(definition_id: &str, name: &str) -> serde_json::Value {
    serde_json::json!({
        "resourceDefinitionId": definition_id,
        "resourceVersionId": format!("{definition_id}-v1"),
        "name": name,
        "content": {"nodes": [{"id": "start", "type": "START_EVENT"}]}
    })
}

/// A small valid build: build.json, one parameter, two processes.
fn small_build() -> Entries {
    vec![
        entry("build.json", &build_json()),
        entry(
            "config-params.json",
            &serde_json::json!([{"key": "maxAmount", "type": "VALUE", "value": "10"}]),
        ),
        entry("resources/PROCESS/claim.json", &resource_json("claim", "claim_intake")),
        entry("resources/PROCESS/payout.json", &resource_json("payout", "claim_payout")),
    ]
}

fn read(archive: Vec<u8>) -> Result<ImportRequest, ArchiveError> {
    read_archive(Bytes::from(archive), &ArchiveLimits::default())
}

fn read_with(archive: Vec<u8>, limits: ArchiveLimits) -> Result<ImportRequest, ArchiveError> {
    read_archive(Bytes::from(archive), &limits)
}

#[track_caller]
fn assert_refused(result: Result<ImportRequest, ArchiveError>, code: &str) -> ArchiveError {
    match result {
        Ok(request) => {
            panic!("expected {code}, the archive was read as build {}", request.build.id())
        }
        Err(err) => {
            assert_eq!(err.code(), code, "{err}");
            err
        }
    }
}

/// Rewrites the uncompressed size that the local and central headers of `name` declare.
fn lie_about_size(archive: &mut [u8], name: &str, size: u32) {
    let name = name.as_bytes();
    let mut patched = 0;
    for at in 0..archive.len().saturating_sub(46 + name.len()) {
        let (name_at, size_at) = match &archive[at..at + 4] {
            b"PK\x03\x04" => (at + 30, at + 22),
            b"PK\x01\x02" => (at + 46, at + 24),
            _ => continue,
        };
        if archive[name_at..].starts_with(name) {
            archive[size_at..size_at + 4].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "a local and a central header name the entry");
}

/// Deterministic bytes that deflate does not shrink.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed.to_le_bytes()[0]
        })
        .collect()
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/builds")
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for child in std::fs::read_dir(from)? {
        let child = child?;
        let target = to.join(child.file_name());
        if child.file_type()?.is_dir() {
            copy_dir(&child.path(), &target)?;
        } else {
            std::fs::copy(child.path(), target)?;
        }
    }
    Ok(())
}

/// A copy of an example directory in a temporary directory.
fn example_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().expect("a temporary directory");
    let dir = temp.path().join(name);
    copy_dir(&examples().join(name), &dir).expect("the example is copied");
    (temp, dir)
}

// ---------------------------------------------------------------------------------------------
// Well-formed archives.

#[test]
fn a_small_build_is_read_into_an_import_request() {
    let archive = zip_of(&with_manifest(small_build()));
    let request = read(archive.clone()).unwrap();
    assert_eq!(request.build.id().to_string(), "0b0b0b0b-0000-4000-8000-000000000001");
    assert_eq!(request.build.header.origin, BuildOrigin::Imported);
    assert_eq!(request.build.header.application_kind, ApplicationKind::Application);
    assert_eq!(request.build.header.checksum.as_str(), manifest_of(&small_build())["checksum"]);
    assert_eq!(request.build.config_params.len(), 1);
    assert_eq!(request.resources.len(), 2);
    let names: Vec<_> = request.build.manifest.iter().map(|entry| entry.name.as_str()).collect();
    assert_eq!(names, ["claim_intake", "claim_payout"], "sorted by type and definition id");
    assert_eq!(
        request.resources[0].content.as_str(),
        r#"{
    "nodes": [
      {
        "id": "start",
        "type": "START_EVENT"
      }
    ]
  }"#
    );
    assert_eq!(request.archive, archive);
    assert!(request.expected_application.is_none());
}

#[test]
fn directory_entries_are_ignored_and_config_params_are_optional() {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    zip.add_directory("resources/", deflated()).unwrap();
    zip.add_directory("resources/PROCESS/", deflated()).unwrap();
    let entries = with_manifest(vec![
        entry("build.json", &build_json()),
        entry("resources/PROCESS/claim.json", &resource_json("claim", "claim_intake")),
    ]);
    for (name, bytes) in &entries {
        zip.start_file(name.as_str(), deflated()).unwrap();
        zip.write_all(bytes).unwrap();
    }
    let request = read(zip.finish().unwrap().into_inner()).unwrap();
    assert!(request.build.config_params.is_empty());
    assert_eq!(request.resources.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Hostile containers.

#[test]
fn an_archive_over_the_size_limit_is_refused_before_it_is_opened() {
    let limits = ArchiveLimits { max_archive_bytes: 100, ..ArchiveLimits::default() };
    assert_refused(read_with(zip_of(&with_manifest(small_build())), limits), "archive_too_large");
}

#[test]
fn bytes_that_are_not_a_zip_are_unreadable() {
    assert_refused(read(b"PK but not really a zip file".to_vec()), "archive_unreadable");
    let mut archive = zip_of(&with_manifest(small_build()));
    archive.truncate(archive.len() / 2);
    assert_refused(read(archive), "archive_unreadable");
}

#[test]
fn entry_names_that_climb_out_of_the_archive_are_refused() {
    for name in ["../x", "resources/../../x", "resources/PROCESS/../../../etc/cron.d/x"] {
        let mut entries = small_build();
        entries.push((name.to_owned(), b"{}".to_vec()));
        let err = assert_refused(read(zip_of(&with_manifest(entries))), "unsafe_entry_name");
        assert!(err.to_string().contains(name), "{err}");
    }
}

#[test]
fn absolute_and_windows_entry_names_are_refused() {
    for name in
        ["/etc/passwd", "C:/Windows/win.ini", "resources\\PROCESS\\x.json", "resources//x.json"]
    {
        let mut entries = small_build();
        entries.push((name.to_owned(), b"{}".to_vec()));
        assert_refused(read(zip_of(&with_manifest(entries))), "unsafe_entry_name");
    }
}

#[test]
fn a_symlink_entry_is_refused() {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in with_manifest(small_build()) {
        zip.start_file(name, deflated()).unwrap();
        zip.write_all(&bytes).unwrap();
    }
    zip.add_symlink("resources/PROCESS/passwd.json", "/etc/passwd", deflated()).unwrap();
    let err = assert_refused(read(zip.finish().unwrap().into_inner()), "link_entry");
    assert!(err.to_string().contains("resources/PROCESS/passwd.json"), "{err}");
}

#[test]
fn two_entries_with_one_name_are_refused() {
    let entries = vec![
        entry("build.json", &build_json()),
        entry("resources/PROCESS/aaaa.json", &resource_json("aaaa", "first")),
        entry("resources/PROCESS/bbbb.json", &resource_json("bbbb", "second")),
    ];
    let mut archive = zip_of(&with_manifest(entries));
    // The zip writer refuses duplicates, so rename an entry in place (local and central
    // headers, and the manifest text), to a name of the same length.
    let (from, to) = (b"resources/PROCESS/bbbb.json", b"resources/PROCESS/aaaa.json");
    for at in 0..archive.len() - from.len() {
        if &archive[at..at + from.len()] == from {
            archive[at..at + to.len()].copy_from_slice(to);
        }
    }
    let err = assert_refused(read(archive), "duplicate_entry");
    assert!(err.to_string().contains("resources/PROCESS/aaaa.json"), "{err}");
}

#[test]
fn more_entries_than_the_limit_are_refused_before_anything_is_inflated() {
    let limits = ArchiveLimits { max_entries: 10, ..ArchiveLimits::default() };
    let mut entries = small_build();
    for n in 0..10 {
        entries.push(entry(
            &format!("resources/ENUMERATION/e{n}.json"),
            &resource_json(&format!("e{n}"), "x"),
        ));
    }
    assert_refused(read_with(zip_of(&with_manifest(entries)), limits), "too_many_entries");
}

#[test]
fn a_zip_bomb_by_ratio_is_stopped() {
    let limits = ArchiveLimits { max_inflated_bytes: 10 * 1024 * 1024, ..ArchiveLimits::default() };
    let zeros = vec![0_u8; 20 * 1024 * 1024];
    let name = format!("binaries/{}", sha256(&zeros));
    let mut entries = small_build();
    entries.push((name.clone(), zeros));
    let archive = zip_of(&with_manifest(entries));
    let err = assert_refused(read_with(archive, limits), "compression_ratio_exceeded");
    assert_eq!(err.entry(), Some(name.as_str()));
}

#[test]
fn a_zip_bomb_whose_headers_lie_is_stopped_while_inflating() {
    let limits = ArchiveLimits { max_inflated_bytes: 10 * 1024 * 1024, ..ArchiveLimits::default() };
    let zeros = vec![0_u8; 20 * 1024 * 1024];
    let name = format!("binaries/{}", sha256(&zeros));
    let mut entries = small_build();
    entries.push((name.clone(), zeros));
    let mut archive = zip_of(&with_manifest(entries));
    lie_about_size(&mut archive, &name, 1000);
    let err = assert_refused(read_with(archive, limits), "compression_ratio_exceeded");
    assert_eq!(err.entry(), Some(name.as_str()));
}

#[test]
fn a_zip_bomb_by_total_size_is_stopped() {
    let limits = ArchiveLimits { max_inflated_bytes: 4 * 1024 * 1024, ..ArchiveLimits::default() };
    let mut entries = small_build();
    for seed in 1..=6 {
        let bytes = noise(1024 * 1024, seed);
        entries.push((format!("binaries/{}", sha256(&bytes)), bytes));
    }
    let entries = with_manifest(entries);
    assert_refused(read_with(zip_of(&entries), limits), "inflated_size_exceeded");

    // The same with headers that claim one byte per entry: the limit holds while inflating.
    let mut archive = zip_of(&entries);
    for (name, _) in entries.iter().filter(|(name, _)| name.starts_with("binaries/")) {
        lie_about_size(&mut archive, name, 1);
    }
    assert_refused(read_with(archive, limits), "inflated_size_exceeded");
}

#[test]
fn many_small_entries_that_inflate_a_hundredfold_are_refused_as_a_whole() {
    // Each entry is under the floor below which an entry's ratio is not checked.
    let mut entries = small_build();
    for n in 0..40 {
        let mut bytes = vec![b' '; 512 * 1024];
        bytes[0] = n;
        entries.push((format!("binaries/{}", sha256(&bytes)), bytes));
    }
    let entries = with_manifest(entries);
    assert_refused(read(zip_of(&entries)), "compression_ratio_exceeded");

    // The same with headers that claim one byte per entry: the limit holds while inflating.
    let mut archive = zip_of(&entries);
    for (name, _) in entries.iter().filter(|(name, _)| name.starts_with("binaries/")) {
        lie_about_size(&mut archive, name, 1);
    }
    let err = assert_refused(read(archive), "compression_ratio_exceeded");
    assert!(matches!(err, ArchiveError::ArchiveCompressionRatioExceeded { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// Manifest, hashes and checksum.

#[test]
fn a_missing_manifest_or_build_json_is_named() {
    let err = assert_refused(read(zip_of(&small_build())), "missing_entry");
    assert!(err.to_string().contains("manifest.json"), "{err}");
    let entries: Entries =
        small_build().into_iter().filter(|(name, _)| name != "build.json").collect();
    let err = assert_refused(read(zip_of(&with_manifest(entries))), "missing_entry");
    assert!(err.to_string().contains("build.json"), "{err}");
}

#[test]
fn an_entry_not_listed_in_the_manifest_is_unexpected() {
    let mut entries = with_manifest(small_build());
    entries.push(entry("resources/PROCESS/extra.json", &resource_json("extra", "extra")));
    let err = assert_refused(read(zip_of(&entries)), "unexpected_entry");
    assert!(err.to_string().contains("resources/PROCESS/extra.json"), "{err}");
}

#[test]
fn an_entry_listed_but_absent_is_unexpected() {
    let mut entries = with_manifest(small_build());
    entries.retain(|(name, _)| name != "config-params.json");
    assert_refused(read(zip_of(&entries)), "unexpected_entry");
}

#[test]
fn a_file_outside_the_layout_is_unexpected() {
    for name in
        ["README.md", "resources/process/x.json", "resources/PROCESS/a/b.json", "binaries/logo.png"]
    {
        let mut entries = small_build();
        entries.push((name.to_owned(), b"{}".to_vec()));
        let err = assert_refused(read(zip_of(&with_manifest(entries))), "unexpected_entry");
        assert_eq!(err.entry(), Some(name));
    }
}

#[test]
fn a_wrong_entry_hash_is_refused() {
    let entries = with_edited_manifest(small_build(), |manifest| {
        manifest["entries"][0]["sha256"] = sha256(b"something else").into();
    });
    assert_refused(read(zip_of(&entries)), "entry_hash_mismatch");
}

#[test]
fn a_wrong_entry_size_is_refused() {
    let entries = with_edited_manifest(small_build(), |manifest| {
        manifest["entries"][1]["size"] = 1.into();
    });
    assert_refused(read(zip_of(&entries)), "entry_size_mismatch");
}

#[test]
fn a_wrong_checksum_is_refused() {
    let entries = with_edited_manifest(small_build(), |manifest| {
        manifest["checksum"] = sha256(b"another build").into();
    });
    assert_refused(read(zip_of(&entries)), "checksum_mismatch");
}

#[test]
fn a_binary_whose_name_is_not_its_hash_is_refused() {
    let mut entries = small_build();
    entries.push((format!("binaries/{}", sha256(b"the real bytes")), b"other bytes".to_vec()));
    assert_refused(read(zip_of(&with_manifest(entries))), "binary_hash_mismatch");
}

#[test]
fn another_format_version_is_unsupported() {
    let entries =
        with_edited_manifest(small_build(), |manifest| manifest["formatVersion"] = 2.into());
    assert_refused(read(zip_of(&entries)), "unsupported_format_version");

    let mut entries = small_build();
    let mut build = build_json();
    build["formatVersion"] = 2.into();
    build["someFieldOfFormatTwo"] = true.into();
    entries[0] = entry("build.json", &build);
    let err = assert_refused(read(zip_of(&with_manifest(entries))), "unsupported_format_version");
    assert!(err.to_string().contains("build.json"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// JSON shapes and the model.

#[test]
fn invalid_json_is_refused_with_the_entry_and_the_parser_message() {
    let mut entries = small_build();
    entries[0] = ("build.json".to_owned(), b"{\"formatVersion\": 1,".to_vec());
    let err = assert_refused(read(zip_of(&with_manifest(entries))), "invalid_json");
    assert!(err.to_string().contains("build.json") && err.to_string().contains("line"), "{err}");

    // Serde would read a struct from an array of its fields; the format has only objects.
    let mut entries = small_build();
    let content = resource_json("claim", "claim_intake")["content"].clone();
    let resource = serde_json::json!(["claim", "claim-v1", "claim_intake", content]);
    entries[2] = entry("resources/PROCESS/claim.json", &resource);
    assert_refused(read(zip_of(&with_manifest(entries))), "invalid_json");
}

#[test]
fn an_unknown_field_is_refused_but_not_inside_content() {
    let mut entries = small_build();
    let mut build = build_json();
    build["branchName"] = "main".into();
    entries[0] = entry("build.json", &build);
    let err = assert_refused(read(zip_of(&with_manifest(entries))), "invalid_json");
    assert!(err.to_string().contains("branchName"), "{err}");

    let mut entries = small_build();
    let mut resource = resource_json("claim", "claim_intake");
    resource["content"]["anythingGoes"] = serde_json::json!({"nested": [1, 2]});
    entries[2] = entry("resources/PROCESS/claim.json", &resource);
    read(zip_of(&with_manifest(entries))).unwrap();
}

#[test]
fn content_that_is_not_an_object_is_refused() {
    let mut entries = small_build();
    let mut resource = resource_json("claim", "claim_intake");
    resource["content"] = serde_json::json!([1, 2, 3]);
    entries[2] = entry("resources/PROCESS/claim.json", &resource);
    assert_refused(read(zip_of(&with_manifest(entries))), "invalid_json");
}

#[test]
fn a_value_that_breaks_the_model_names_entry_and_field() {
    let mut entries = small_build();
    let mut build = build_json();
    build["branch"] = "a-branch-name-far-too-long".into();
    entries[0] = entry("build.json", &build);
    let err = assert_refused(read(zip_of(&with_manifest(entries))), "invalid_build");
    assert!(err.to_string().contains("build.json") && err.to_string().contains("branch"), "{err}");

    let mut entries = small_build();
    entries[1] = entry(
        "config-params.json",
        &serde_json::json!([{"key": "apiKey", "type": "ENV_SECRET", "value": "not a variable"}]),
    );
    let err = assert_refused(read(zip_of(&with_manifest(entries))), "invalid_build");
    assert!(err.to_string().contains("config-params.json"), "{err}");
}

#[test]
fn two_resources_of_one_type_with_one_name_are_refused() {
    let mut entries = small_build();
    entries[3] = entry("resources/PROCESS/payout.json", &resource_json("payout", "claim_intake"));
    let err = assert_refused(read(zip_of(&with_manifest(entries))), "duplicate_resource_name");
    assert!(err.to_string().contains("claim_intake"), "{err}");

    // One name in two types is fine.
    let mut entries = small_build();
    entries
        .push(entry("resources/ENUMERATION/claim.json", &resource_json("claim", "claim_intake")));
    read(zip_of(&with_manifest(entries))).unwrap();
}

#[test]
fn a_resource_in_the_wrong_place_is_refused() {
    let mut entries = small_build();
    let mut resource = resource_json("claim", "claim_intake");
    resource["resourceType"] = "ENUMERATION".into();
    entries[2] = entry("resources/PROCESS/claim.json", &resource);
    let err = assert_refused(read(zip_of(&with_manifest(entries))), "resource_path_mismatch");
    assert!(err.to_string().contains("ENUMERATION"), "{err}");

    let mut entries = small_build();
    entries[2] = entry("resources/PROCESS/claim.json", &resource_json("payout", "claim_intake"));
    assert_refused(read(zip_of(&with_manifest(entries))), "resource_path_mismatch");
}

// ---------------------------------------------------------------------------------------------
// Packing, the examples and stripping.

#[test]
fn every_example_packs_and_reads_back() {
    for (name, kind, n_resources, n_binaries) in [
        ("loan-origination-1", ApplicationKind::Application, 5, 1),
        ("loan-origination-2", ApplicationKind::Application, 5, 1),
        ("shared-library-1", ApplicationKind::Library, 3, 0),
        ("loan-servicing-1", ApplicationKind::Application, 2, 0),
    ] {
        let packed = pack_directory(&examples().join(name)).unwrap();
        let request = read(packed.bytes.clone()).unwrap();
        assert_eq!(request.build.id(), packed.build_id, "{name}");
        assert_eq!(request.build.header.checksum, packed.checksum, "{name}");
        assert_eq!(request.build.header.application_kind, kind, "{name}");
        assert_eq!(request.resources.len(), n_resources, "{name}");
        assert_eq!(request.binaries.len(), n_binaries, "{name}");
        for binary in &request.binaries {
            assert_eq!(binary.sha256, sha256(&binary.bytes));
        }
    }
}

#[test]
fn the_two_loan_builds_are_one_application_with_a_later_second_build() {
    let first =
        read(pack_directory(&examples().join("loan-origination-1")).unwrap().bytes).unwrap();
    let second =
        read(pack_directory(&examples().join("loan-origination-2")).unwrap().bytes).unwrap();
    assert_eq!(first.build.header.application_id, second.build.header.application_id);
    assert_eq!(first.build.header.branch, second.build.header.branch);
    assert!(first.build.header.created_at < second.build.header.created_at);
    assert_ne!(first.build.header.checksum, second.build.header.checksum);
    let max_amount = |request: &ImportRequest| {
        let param = request
            .build
            .config_params
            .iter()
            .find(|param| param.key.as_str() == "maxLoanAmount")
            .unwrap();
        assert_eq!(param.param_type, ConfigParamType::Value);
        param.value.clone()
    };
    assert_eq!((max_amount(&first), max_amount(&second)), ("50000".to_owned(), "75000".to_owned()));
    let secret = first
        .build
        .config_params
        .iter()
        .find(|param| param.key.as_str() == "creditBureauApiKey")
        .unwrap();
    assert_eq!(secret.param_type, ConfigParamType::EnvSecret);
    let library = &first.build.dependencies[0];
    assert_eq!(library.build_id.to_string(), "11b0a001-0000-4000-8000-000000000001");
}

#[test]
fn packing_is_deterministic() {
    let dir = examples().join("loan-origination-1");
    assert_eq!(pack_directory(&dir).unwrap().bytes, pack_directory(&dir).unwrap().bytes);
}

#[test]
fn packing_fills_in_a_missing_build_id_and_creation_time() {
    let (_temp, dir) = example_copy("shared-library-1");
    let mut build: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("build.json")).unwrap()).unwrap();
    let object = build.as_object_mut().unwrap();
    object.remove("buildId");
    object.remove("createdAt");
    std::fs::write(dir.join("build.json"), json_bytes(&build)).unwrap();
    let first = pack_directory(&dir).unwrap();
    let second = pack_directory(&dir).unwrap();
    assert_ne!(first.build_id, second.build_id);
    let request = read(first.bytes).unwrap();
    assert!(request.build.header.created_at.year() >= 2026);
}

#[test]
fn packing_without_build_json_names_it() {
    let (_temp, dir) = example_copy("shared-library-1");
    std::fs::remove_file(dir.join("build.json")).unwrap();
    let err = pack_directory(&dir).unwrap_err();
    assert!(matches!(err, PackError::MissingFile { .. }), "{err:?}");
    assert!(err.to_string().contains("build.json"), "{err}");
}

#[test]
fn packing_refuses_a_manifest_a_stray_file_and_a_symlink() {
    let (_temp, dir) = example_copy("shared-library-1");
    std::fs::write(dir.join("manifest.json"), "{}").unwrap();
    let err = pack_directory(&dir).unwrap_err();
    assert!(err.to_string().contains("manifest.json"), "{err}");
    std::fs::remove_file(dir.join("manifest.json")).unwrap();

    std::fs::write(dir.join("resources/notes.txt"), "todo").unwrap();
    let err = pack_directory(&dir).unwrap_err();
    assert!(err.to_string().contains("notes.txt"), "{err}");
    std::fs::remove_file(dir.join("resources/notes.txt")).unwrap();

    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc/passwd", dir.join("resources/ENUMERATION/passwd.json"))
            .unwrap();
        let err = pack_directory(&dir).unwrap_err();
        assert!(matches!(err, PackError::Symlink { .. }), "{err:?}");
        assert!(err.to_string().contains("passwd.json"), "{err}");
    }
}

#[test]
fn packing_an_invalid_build_reports_what_an_import_would() {
    let (_temp, dir) = example_copy("shared-library-1");
    let path = dir.join("resources/ENUMERATION/1c3e5a7b-9d0f-4b2d-8e4a-6c8e0a2c4e01.json");
    std::fs::write(&path, "{\"name\": ").unwrap();
    let err = pack_directory(&dir).unwrap_err();
    let PackError::Invalid { error, .. } = &err else { panic!("{err:?}") };
    assert_eq!(error.code(), "invalid_json");
    assert!(
        err.to_string().contains("resources/ENUMERATION/1c3e5a7b-9d0f-4b2d-8e4a-6c8e0a2c4e01.json"),
        "{err}"
    );
}

#[test]
fn stripping_binaries_keeps_the_checksum_and_the_archive_readable() {
    let packed = pack_directory(&examples().join("loan-origination-1")).unwrap();
    let stripped = strip_binaries(&packed.bytes).unwrap();
    assert!(stripped.len() < packed.bytes.len());
    let request = read(stripped.clone()).unwrap();
    assert_eq!(request.build.header.checksum, packed.checksum);
    assert_eq!(request.build.id(), packed.build_id);
    assert!(request.binaries.is_empty());
    assert_eq!(request.resources.len(), 5);
    let names: Vec<String> = zip::ZipArchive::new(Cursor::new(stripped))
        .unwrap()
        .file_names()
        .map(str::to_owned)
        .collect();
    assert!(names.iter().all(|name| !name.starts_with("binaries/")), "{names:?}");
    assert!(names.contains(&"manifest.json".to_owned()));
}

// ---------------------------------------------------------------------------------------------
// Timer start events of processes.

/// `small_build` whose `claim` process has `nodes` (and one swimlane, `lane-1`).
fn build_with_claim_nodes(nodes: serde_json::Value) -> Entries {
    let mut entries = small_build();
    let claim = serde_json::json!({
        "resourceDefinitionId": "claim",
        "resourceVersionId": "claim-v1",
        "name": "claim_intake",
        "content": {"nodes": nodes, "swimlanes": [{"id": "lane-1", "name": "Back office"}]}
    });
    for (name, bytes) in &mut entries {
        if name == "resources/PROCESS/claim.json" {
            *bytes = json_bytes(&claim);
        }
    }
    with_manifest(entries)
}

fn timer_node(id: serde_json::Value, timer: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "id": id, "name": "Nightly", "type": "TIMER_START_EVENT", "swimlaneId": "lane-1",
        "timer": timer
    })
}

#[test]
fn a_timer_start_event_is_read_with_its_process_name_swimlane_and_expression() {
    let nodes = serde_json::json!([
        {"id": "start", "type": "START_EVENT"},
        timer_node(serde_json::json!(17), serde_json::json!({"type": "CRON", "expression": "0 0 12 * * MON-FRI"})),
    ]);
    let request = read(zip_of(&build_with_claim_nodes(nodes))).unwrap();
    let [timer] = request.timers.as_slice() else {
        panic!("one timer expected, got {:?}", request.timers);
    };
    assert_eq!(timer.id().to_string(), "claim.17", "an integer id is its decimal text");
    assert_eq!(timer.process_name.as_str(), "claim_intake");
    assert_eq!(timer.name.as_deref(), Some("Nightly"));
    assert_eq!(timer.swimlane.as_deref(), Some("Back office"), "the lane's name, not its id");
    assert_eq!(timer.expression.timer_type(), TimerType::Cron);
    assert_eq!(timer.expression.as_str(), "0 0 12 * * MON-FRI");
    assert!(timer.activated, "a timer is on unless the archive says otherwise");
}

#[test]
fn processes_without_timer_nodes_have_no_timers() {
    let request = read(zip_of(&with_manifest(small_build()))).unwrap();
    assert!(request.timers.is_empty());
}

#[test]
fn an_expression_that_does_not_parse_is_refused_with_its_own_code() {
    for (timer_type, expression) in
        [("CRON", "0 0 25 * * *"), ("CYCLE", "every ten minutes"), ("DATE", "2026-02-30T10:00:00Z")]
    {
        let nodes = serde_json::json!([timer_node(
            serde_json::json!("t1"),
            serde_json::json!({"type": timer_type, "expression": expression})
        )]);
        let err = assert_refused(
            read(zip_of(&build_with_claim_nodes(nodes))),
            "invalid_timer_expression",
        );
        assert_eq!(err.entry(), Some("resources/PROCESS/claim.json"));
        assert!(err.to_string().contains(expression), "{err}");
    }
}

#[test]
fn an_unknown_timer_type_is_refused_with_its_own_code() {
    let nodes = serde_json::json!([timer_node(
        serde_json::json!("t1"),
        serde_json::json!({"type": "DURATION", "expression": "PT5M"})
    )]);
    let err = assert_refused(read(zip_of(&build_with_claim_nodes(nodes))), "unknown_timer_type");
    assert!(err.to_string().contains("DATE, CYCLE, CRON"), "{err}");
}

#[test]
fn two_timers_in_one_process_are_refused_with_their_own_code() {
    let cycle = serde_json::json!({"type": "CYCLE", "expression": "R5/PT10M"});
    let nodes = serde_json::json!([
        timer_node(serde_json::json!("t1"), cycle.clone()),
        timer_node(serde_json::json!("t2"), cycle),
    ]);
    let err = assert_refused(read(zip_of(&build_with_claim_nodes(nodes))), "duplicate_timer");
    assert!(err.to_string().contains("claim_intake"), "{err}");
}

#[test]
fn a_timer_node_without_a_timer_or_a_usable_id_is_refused_with_its_own_code() {
    let cycle = serde_json::json!({"type": "CYCLE", "expression": "R/PT1H"});
    for node in [
        serde_json::json!({"id": "t1", "type": "TIMER_START_EVENT"}),
        serde_json::json!({"id": "t1", "type": "TIMER_START_EVENT", "timer": {"type": "CYCLE"}}),
        serde_json::json!({"type": "TIMER_START_EVENT", "timer": cycle}),
        serde_json::json!({"id": "a/b", "type": "TIMER_START_EVENT", "timer": cycle}),
        serde_json::json!({"id": 1.5, "type": "TIMER_START_EVENT", "timer": cycle}),
    ] {
        let nodes = serde_json::json!([node]);
        assert_refused(read(zip_of(&build_with_claim_nodes(nodes))), "invalid_timer");
    }
}

#[test]
fn the_servicing_example_has_a_cron_and_a_cycle_timer() {
    let packed = pack_directory(&examples().join("loan-servicing-1")).unwrap();
    let request = read(packed.bytes).unwrap();
    let timers: Vec<(String, TimerType, &str, Option<&str>)> = request
        .timers
        .iter()
        .map(|timer| {
            (
                timer.id().to_string(),
                timer.expression.timer_type(),
                timer.expression.as_str(),
                timer.swimlane.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        timers,
        [
            (
                "6a1f3c5e-7b9d-4e1f-8a3c-5e7b9d1f3a01.node_every_morning".to_owned(),
                TimerType::Cron,
                "0 0 8 * * MON-FRI",
                Some("collections"),
            ),
            (
                "6a1f3c5e-7b9d-4e1f-8a3c-5e7b9d1f3a02.node_every_six_hours".to_owned(),
                TimerType::Cycle,
                "R/2027-01-01T00:00:00Z/PT6H",
                Some("risk"),
            ),
        ]
    );
}

#[test]
fn an_export_carries_the_switches_outside_the_checksum_and_an_import_restores_them() {
    let packed = pack_directory(&examples().join("loan-servicing-1")).unwrap();
    let mut timers = read(packed.bytes.clone()).unwrap().timers;
    timers[1].activated = false;

    for with_binaries in [true, false] {
        let exported =
            build_archive::export_archive(&packed.bytes, with_binaries, &timers).unwrap();
        let request = read(exported.clone()).unwrap();
        assert_eq!(request.build.header.checksum, packed.checksum, "the checksum stays");
        let switches: Vec<bool> = request.timers.iter().map(|timer| timer.activated).collect();
        assert_eq!(switches, [true, false], "the switches come back");

        // Exporting the export again replaces its schedule.json rather than adding one.
        timers[1].activated = true;
        let again = build_archive::export_archive(&exported, with_binaries, &timers).unwrap();
        timers[1].activated = false;
        let names: Vec<String> = zip::ZipArchive::new(Cursor::new(again.clone()))
            .unwrap()
            .file_names()
            .map(str::to_owned)
            .collect();
        assert_eq!(names.iter().filter(|name| *name == "schedule.json").count(), 1);
        assert!(read(again).unwrap().timers.iter().all(|timer| timer.activated));
    }
}

#[test]
fn a_malformed_schedule_is_refused_with_its_own_code() {
    let nodes = serde_json::json!([timer_node(
        serde_json::json!("t1"),
        serde_json::json!({"type": "CRON", "expression": "@daily"})
    )]);
    for schedule in [
        serde_json::json!({"formatVersion": 1, "timers": [{"timerId": "claim.nope", "activated": false}]}),
        serde_json::json!({"formatVersion": 1, "timers": [{"timerId": "claim.t1", "activated": false}, {"timerId": "claim.t1", "activated": true}]}),
        serde_json::json!({"formatVersion": 2, "timers": []}),
        serde_json::json!({"formatVersion": 1, "timers": [{"timerId": "claim.t1", "on": false}]}),
        serde_json::json!([]),
    ] {
        let mut entries = build_with_claim_nodes(nodes.clone());
        entries.push(entry("schedule.json", &schedule));
        let err = assert_refused(read(zip_of(&entries)), "invalid_schedule");
        assert_eq!(err.entry(), Some("schedule.json"));
    }
    let mut entries = build_with_claim_nodes(nodes.clone());
    entries.push(entry("schedule.json", &serde_json::json!({"formatVersion": 1, "timers": [{"timerId": "claim.t1", "activated": false}]})));
    let request = read(zip_of(&entries)).unwrap();
    assert!(!request.timers[0].activated, "a valid schedule.json is applied");
}

#[test]
fn a_schedule_listed_in_the_manifest_is_unexpected() {
    let mut entries = small_build();
    entries.push(entry("schedule.json", &serde_json::json!({"formatVersion": 1, "timers": []})));
    let err = assert_refused(read(zip_of(&with_manifest(entries))), "unexpected_entry");
    assert_eq!(err.entry(), Some("schedule.json"));
}

/// The bounded path: an archive in a temporary file is checked without its resources, and
/// the resources come back in batches, every one exactly once, as `read_archive` reads them.
#[test]
fn a_spooled_archive_is_checked_then_read_back_in_batches() {
    let mut entries = small_build();
    for index in 0..7 {
        let id = format!("extra{index}");
        entries.push(entry(
            &format!("resources/ENUMERATION/{id}.json"),
            &resource_json(&id, &format!("enumeration_{index}")),
        ));
    }
    let archive = zip_of(&with_manifest(entries));
    let in_memory = read(archive.clone()).unwrap();
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&archive).unwrap();
    let spooled = build_archive::SpooledArchive::file(file).unwrap();
    assert!(spooled.is_in_file());
    let checked = build_archive::check_archive(spooled, &ArchiveLimits::default()).unwrap();
    assert_eq!(checked.build().manifest, in_memory.build.manifest);
    let import = checked.into_import(None);
    assert_eq!(import.timers, in_memory.timers);
    let mut content = import.content;
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        // The archive comes back in chunks of at most what was asked, byte for byte.
        let mut chunks = content.archive().await.unwrap();
        assert_eq!(chunks.len(), archive.len() as u64);
        let mut streamed = Vec::new();
        while let Some(chunk) = chunks.next_chunk(100).await.unwrap() {
            assert!(!chunk.is_empty() && chunk.len() <= 100, "a chunk holds 1..=100 bytes");
            streamed.extend_from_slice(&chunk);
        }
        assert_eq!(Bytes::from(streamed), Bytes::from(archive.clone()));
        let mut read = Vec::new();
        loop {
            let batch = content.next_resources(4).await.unwrap();
            if batch.is_empty() {
                break;
            }
            assert!(batch.len() <= 4, "a batch holds at most what was asked");
            read.extend(batch);
        }
        let key = |resource: &domain::model::BuildResource| {
            (resource.entry.resource_type.to_string(), resource.entry.definition_id.to_string())
        };
        read.sort_by_key(key);
        let mut expected = in_memory.resources.clone();
        expected.sort_by_key(key);
        assert_eq!(read.len(), 9);
        for (read, expected) in read.iter().zip(&expected) {
            assert_eq!(read.entry, expected.entry);
            assert_eq!(read.content.as_str(), expected.content.as_str());
            assert_eq!(read.build_id, in_memory.build.id());
        }
    });
}
