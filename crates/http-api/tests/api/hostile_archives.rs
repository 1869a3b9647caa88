//! Archives an import must refuse, each with its own code, storing nothing.

use build_archive::ArchiveLimits;
use serde_json::json;

use crate::helpers::{
    TestApp, edit_json, entries_of, example, manifest_for, rewritten, send, sha256_hex, upload,
    upload_field, zip_of,
};

const IMPORT: &str = "/api/build-mgmt/builds/import";

async fn refused(app: &TestApp, archive: &[u8], status: u16, code: &str) {
    let service = app.service().await;
    send(&service, upload(IMPORT, &app.admin(), archive)).await.assert_error(status, code);
    app.assert_nothing_stored().await;
}

fn library_entries() -> Vec<(String, Vec<u8>)> {
    entries_of(&example("shared-library-1"))
}

fn zip_with_extra(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut entries = library_entries();
    entries.push((name.to_owned(), bytes.to_vec()));
    let borrowed: Vec<(&str, Vec<u8>)> =
        entries.iter().map(|(name, bytes)| (name.as_str(), bytes.clone())).collect();
    zip_of(&borrowed, true)
}

#[actix_web::test]
async fn a_zip_slip_name_is_refused() {
    refused(
        &TestApp::new(),
        &zip_with_extra("resources/../../etc/cron.d/evil", b"{}"),
        400,
        "unsafe_entry_name",
    )
    .await;
}

#[actix_web::test]
async fn an_absolute_path_is_refused() {
    refused(&TestApp::new(), &zip_with_extra("/etc/passwd", b"root"), 400, "unsafe_entry_name")
        .await;
}

#[actix_web::test]
async fn a_link_entry_is_refused() {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in library_entries() {
        writer.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut writer, &bytes).unwrap();
    }
    writer
        .add_symlink(
            "resources/ENUMERATION/link.json",
            "/etc/passwd",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
    refused(&TestApp::new(), &writer.finish().unwrap().into_inner(), 400, "link_entry").await;
}

#[actix_web::test]
async fn a_zip_bomb_by_ratio_is_refused() {
    let zeros = vec![0_u8; 4 * 1024 * 1024];
    refused(
        &TestApp::new(),
        &zip_with_extra(&format!("binaries/{}", sha256_hex(&zeros)), &zeros),
        400,
        "compression_ratio_exceeded",
    )
    .await;
}

#[actix_web::test]
async fn a_zip_bomb_by_total_size_is_refused() {
    let limits = ArchiveLimits {
        max_inflated_bytes: 64 * 1024,
        max_compression_ratio: 1_000_000,
        ..ArchiveLimits::default()
    };
    let big: Vec<u8> = (0..200_000_u32).flat_map(|n| n.to_le_bytes()).collect();
    refused(
        &TestApp::with_limits(limits),
        &zip_with_extra(&format!("binaries/{}", sha256_hex(&big)), &big),
        400,
        "inflated_size_exceeded",
    )
    .await;
}

#[actix_web::test]
async fn too_many_entries_are_refused() {
    let limits = ArchiveLimits { max_entries: 4, ..ArchiveLimits::default() };
    refused(&TestApp::with_limits(limits), &example("shared-library-1"), 400, "too_many_entries")
        .await;
}

#[actix_web::test]
async fn an_entry_whose_hash_differs_from_the_manifest_is_refused() {
    let archive = example("shared-library-1");
    let mut entries = entries_of(&archive);
    let borrowed: Vec<(&str, Vec<u8>)> =
        entries.iter().map(|(name, bytes)| (name.as_str(), bytes.clone())).collect();
    let manifest = manifest_for(&borrowed);
    let tampered = entries.iter_mut().find(|(name, _)| name == "config-params.json").unwrap();
    tampered.1 = tampered.1.iter().map(|byte| if *byte == b'@' { b'#' } else { *byte }).collect();
    let mut all: Vec<(&str, Vec<u8>)> =
        entries.iter().map(|(name, bytes)| (name.as_str(), bytes.clone())).collect();
    all.push(("manifest.json", manifest.to_string().into_bytes()));
    refused(&TestApp::new(), &zip_of(&all, false), 400, "entry_hash_mismatch").await;
}

#[actix_web::test]
async fn a_wrong_checksum_is_refused() {
    let entries = library_entries();
    let borrowed: Vec<(&str, Vec<u8>)> =
        entries.iter().map(|(name, bytes)| (name.as_str(), bytes.clone())).collect();
    let mut manifest = manifest_for(&borrowed);
    manifest["checksum"] = json!("0".repeat(64));
    let mut all = borrowed.clone();
    all.push(("manifest.json", manifest.to_string().into_bytes()));
    refused(&TestApp::new(), &zip_of(&all, false), 400, "checksum_mismatch").await;
}

#[actix_web::test]
async fn invalid_json_is_refused() {
    let archive = rewritten(&example("shared-library-1"), |entries| {
        let params = entries.iter_mut().find(|(name, _)| name == "config-params.json").unwrap();
        params.1 = b"[{\"key\": ".to_vec();
    });
    refused(&TestApp::new(), &archive, 400, "invalid_json").await;
}

#[actix_web::test]
async fn duplicate_resource_names_are_refused() {
    let archive = rewritten(&example("shared-library-1"), |entries| {
        edit_json(
            entries,
            "resources/SUBSTITUTION_TAG/2d4f6b8c-0e1a-4c3e-9f5b-7d9f1b3d5f03.json",
            |resource| {
                resource["name"] = json!("common.button.submit");
            },
        );
    });
    refused(&TestApp::new(), &archive, 400, "duplicate_resource_name").await;
}

#[actix_web::test]
async fn something_that_is_not_a_zip_is_refused() {
    refused(&TestApp::new(), b"PK\x03\x04 this is not really a zip", 400, "archive_unreadable")
        .await;
}

#[actix_web::test]
async fn an_archive_over_the_size_limit_is_a_413_before_it_is_read() {
    let limits = ArchiveLimits { max_archive_bytes: 1024, ..ArchiveLimits::default() };
    refused(&TestApp::with_limits(limits), &example("shared-library-1"), 413, "payload_too_large")
        .await;
}

#[actix_web::test]
async fn a_form_without_the_file_field_is_refused() {
    let app = TestApp::new();
    let service = app.service().await;
    send(&service, upload_field(IMPORT, &app.admin(), "archive", &example("shared-library-1")))
        .await
        .assert_error(400, "missing_file");
    app.assert_nothing_stored().await;
}
