//! An import in bounded memory: a generated archive of thousands of resources (tens of
//! megabytes inflated) is imported by an embedded `rtm`, the build is readable afterwards,
//! and the process's peak resident memory (`VmHWM`) grew during the import by no more than
//! what the embedded stores keep (the resources' JSON and the archive) plus a fixed budget.
//! The former import, which held the upload, every inflated entry and every decoded resource
//! at once, grew by about 3.5 times the JSON (docs/PERFORMANCE.md, "Peak RSS") and fails it.
//!
//! Why a peak and not `ulimit -v`: jemalloc keeps freed address space mapped (its pages are
//! returned, its addresses retained), so the address space says little about the memory
//! used; the peak resident set is what a container's memory limit counts.

use std::io::Read as _;
use std::time::Duration;

use serde_json::json;

use crate::embedded::{admin_token, start_with};

/// Resources in the generated build, and their mean size: 6 000 × ~6 KB ≈ 36 MB of JSON,
/// which deflates only a few times (random words), so the upload is spooled to a file too.
const RESOURCES: usize = 6_000;
const RESOURCE_BYTES: usize = 6_000;

/// What the import may add to the peak beyond what the embedded stores keep: one batch of
/// resources, buffers, the allocator's own.
const BUDGET_BYTES: u64 = 32 * 1024 * 1024;

/// `splitmix64`, enough to make text that deflates about as real definitions do.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn words(&mut self, bytes: usize) -> String {
        const SYLLABLES: [&str; 16] = [
            "ka", "lo", "mi", "ne", "ra", "tu", "vi", "so", "de", "an", "pre", "con", "ver",
            "tion", "ment", "loan",
        ];
        let mut text = String::with_capacity(bytes + 8);
        while text.len() < bytes {
            let value = self.next();
            for shift in (0..64).step_by(4) {
                text.push_str(SYLLABLES[((value >> shift) & 0xf) as usize]);
                if (value >> shift) & 0x3 == 0 {
                    text.push(' ');
                }
            }
        }
        text
    }
}

/// The archive of a generated build and its ids.
struct Generated {
    archive: Vec<u8>,
    /// The resource files' size.
    json_bytes: u64,
    application_id: String,
    build_id: String,
}

fn generate() -> Generated {
    let dir = tempfile::tempdir().unwrap();
    let application_id = "5a1e0000-0000-4000-8000-00000000b0de";
    let build_id = "5a1e0000-0000-4000-8000-0000000b0111";
    let build = json!({
        "formatVersion": 1,
        "buildId": build_id,
        "applicationId": application_id,
        "applicationName": "Bounded",
        "applicationVersionId": "5a1e0000-0000-4000-8000-0000000fe451",
        "branch": "main",
        "name": "Bounded import",
        "settings": {
            "platforms": "OMNICHANNEL",
            "dateDisplayFormat": {"format": "short"},
            "numberDisplayFormat": {"minDecimals": 0, "maxDecimals": 2},
            "currencyDisplayFormat": {"format": "isoCode"},
            "languages": ["en"],
            "defaultLanguageCode": "en"
        },
        "createdAt": "2026-12-01T00:00:00Z",
        "createdBy": "test"
    });
    std::fs::write(dir.path().join("build.json"), build.to_string()).unwrap();
    let folder = dir.path().join("resources").join("ENUMERATION");
    std::fs::create_dir_all(&folder).unwrap();
    let mut rng = Rng(9);
    let mut json_bytes = 0;
    for index in 0..RESOURCES {
        let definition_id = format!("enum-{index:05}");
        let resource = json!({
            "resourceDefinitionId": definition_id,
            "resourceVersionId": format!("{definition_id}-v1"),
            "name": format!("enumeration_{index:05}"),
            "content": {"description": rng.words(RESOURCE_BYTES)},
        });
        let text = resource.to_string();
        json_bytes += text.len() as u64;
        std::fs::write(folder.join(format!("{definition_id}.json")), text).unwrap();
    }
    let packed = build_archive::pack_directory(dir.path()).unwrap();
    Generated {
        archive: packed.bytes,
        json_bytes,
        application_id: application_id.to_owned(),
        build_id: build_id.to_owned(),
    }
}

/// The peak resident set of process `pid`, in bytes (`VmHWM`).
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_import_stays_within_a_memory_budget_and_the_build_is_readable() {
    let generated = tokio::task::spawn_blocking(generate).await.unwrap();
    assert!(generated.archive.len() > 8 * 1024 * 1024, "large enough to be spooled to a file");
    let mut running = tokio::task::spawn_blocking(|| start_with(&[])).await.unwrap();
    let admin = admin_token(running.data_dir.path());
    let base = format!("http://127.0.0.1:{}", running.api);
    let client = reqwest::Client::new();
    let (archive_bytes, json_bytes) = (generated.archive.len() as u64, generated.json_bytes);
    let before = peak_rss(running.child.id());
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(generated.archive).file_name("build.zip"));
    let response = client
        .post(format!("{base}/api/build-mgmt/builds/import"))
        .bearer_auth(&admin)
        .multipart(form)
        .timeout(Duration::from_secs(300))
        .send()
        .await;
    let response = match response {
        Ok(response) => response,
        Err(err) => {
            let _ = running.child.kill();
            let mut stderr = String::new();
            running.child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
            panic!("the import got no answer ({err}); rtm's stderr: {stderr}");
        }
    };
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, 201, "{body}");
    let grown = peak_rss(running.child.id()).saturating_sub(before);
    let bound = json_bytes + archive_bytes + BUDGET_BYTES;
    assert!(
        grown <= bound,
        "the peak grew by {grown} bytes during the import, more than the {json_bytes} bytes of \
         JSON and {archive_bytes} of archive the stores keep plus {BUDGET_BYTES}"
    );

    let (application_id, build_id) = (&generated.application_id, &generated.build_id);
    let build = client
        .get(format!("{base}/api/build-mgmt/app/{application_id}/builds/{build_id}"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(build.status(), 200);
    let build: serde_json::Value = build.json().await.unwrap();
    assert_eq!(build["manifest"].as_array().map(Vec::len), Some(RESOURCES), "{build:#}");
    let last = format!("enum-{:05}", RESOURCES - 1);
    let resource = client
        .get(format!(
            "{base}/api/runtime/app/{application_id}/build/{build_id}/resources/ENUMERATION/{last}"
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resource.status(), 200, "{}", resource.text().await.unwrap());
}
