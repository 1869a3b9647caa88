//! A generated build of many resources: process-like JSON documents whose words, ids and
//! numbers come from a seeded generator, so that the archive deflates about as real
//! definitions do (a few times, not a thousandfold) and the same seed gives the same bytes.

use std::path::Path;

use anyhow::Context as _;
use serde_json::{Value, json};

/// The resource types the resources are spread over, in turn.
const RESOURCE_TYPES: [&str; 4] =
    ["PROCESS", "ENUMERATION", "SUBSTITUTION_TAG", "NOTIFICATION_TEMPLATE"];
const NODE_TYPES: [&str; 6] =
    ["START_EVENT", "USER_TASK", "SERVICE_TASK", "EXCLUSIVE_GATEWAY", "MESSAGE_EVENT", "END_EVENT"];
const ACTION_TYPES: [&str; 5] =
    ["BUSINESS_RULE", "SAVE_DATA", "SEND_DATA", "WEBHOOK", "UPLOAD_FILE"];
const SYLLABLES: [&str; 40] = [
    "ka", "lo", "mi", "ne", "ra", "tu", "vi", "so", "de", "an", "el", "or", "un", "is", "pre",
    "con", "ver", "tion", "ment", "al", "ar", "en", "in", "lic", "pro", "ser", "dat", "form",
    "val", "cli", "port", "ex", "ap", "pli", "cant", "loan", "of", "fer", "scor", "ing",
];

/// One resource of the generated build.
#[derive(Debug, Clone)]
pub(crate) struct Resource {
    pub(crate) resource_type: &'static str,
    pub(crate) definition_id: String,
    pub(crate) version_id: String,
    pub(crate) name: String,
    pub(crate) content: Value,
}

/// The generated build and its archive.
#[derive(Debug)]
pub(crate) struct GeneratedBuild {
    pub(crate) build_id: String,
    pub(crate) archive: Vec<u8>,
    /// The total size of the resource files, as written in the archive (inflated).
    pub(crate) json_bytes: u64,
    pub(crate) resources: Vec<Resource>,
}

/// `splitmix64`: a tiny seeded generator, enough to vary text.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[usize::try_from(self.below(items.len() as u64)).unwrap_or(0)]
    }

    fn word(&mut self) -> String {
        (0..=self.below(3)).map(|_| self.pick(&SYLLABLES)).collect()
    }

    /// `min` to `min + spread` words.
    fn words(&mut self, min: u64, spread: u64) -> String {
        let n = min + self.below(spread + 1);
        (0..n).map(|_| self.word()).collect::<Vec<_>>().join(" ")
    }

    fn uuid(&mut self) -> String {
        let value = (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64());
        uuid::Uuid::from_u128(value).to_string()
    }
}

/// Writes a build of `n_resources` resources of about `mean_bytes` each (between 0.6 and 1.4
/// times it) under `dir`, packs it, and keeps the resources for the raw MongoDB baseline.
pub(crate) fn generate(
    dir: &Path,
    n_resources: usize,
    mean_bytes: usize,
    seed: u64,
) -> anyhow::Result<GeneratedBuild> {
    let mut rng = Rng::new(seed);
    let build_id = rng.uuid();
    let build = json!({
        "formatVersion": 1,
        "buildId": build_id,
        "applicationId": rng.uuid(),
        "applicationName": "Bench application",
        "applicationType": "APPLICATION",
        "applicationVersionId": rng.uuid(),
        "branch": "main",
        "name": "Bench build",
        "versionTag": "1.0.0",
        "settings": {
            "platforms": "OMNICHANNEL",
            "dateDisplayFormat": {"format": "short"},
            "numberDisplayFormat": {"minDecimals": 0, "maxDecimals": 2},
            "currencyDisplayFormat": {"format": "isoCode"},
            "languages": ["en", "ro"],
            "defaultLanguageCode": "en"
        },
        "dependencies": [],
        "createdAt": "2026-11-01T00:00:00Z",
        "createdBy": "bench"
    });
    std::fs::write(dir.join("build.json"), serde_json::to_vec_pretty(&build)?)?;
    let mut resources = Vec::with_capacity(n_resources);
    let mut json_bytes = 0_u64;
    for index in 0..n_resources {
        let resource_type = RESOURCE_TYPES[index % RESOURCE_TYPES.len()];
        let folder = dir.join("resources").join(resource_type);
        if index < RESOURCE_TYPES.len() {
            std::fs::create_dir_all(&folder)?;
        }
        let spread = mean_bytes as u64 * 4 / 5;
        let target = mean_bytes as u64 * 3 / 5 + rng.below(spread + 1);
        let resource = Resource {
            resource_type,
            definition_id: rng.uuid(),
            version_id: rng.uuid(),
            name: format!("{}_{index:05}", rng.word()),
            content: content(&mut rng, usize::try_from(target).unwrap_or(mean_bytes)),
        };
        let file = serde_json::to_vec(&json!({
            "resourceType": resource.resource_type,
            "resourceDefinitionId": resource.definition_id,
            "resourceVersionId": resource.version_id,
            "name": resource.name,
            "content": resource.content,
        }))?;
        json_bytes += file.len() as u64;
        std::fs::write(folder.join(format!("{}.json", resource.definition_id)), file)?;
        resources.push(resource);
    }
    // Read back with room for the large build (the bench's rtm runs with the same room).
    let limits = build_archive::ArchiveLimits {
        max_entries: n_resources + 16,
        max_archive_bytes: 1 << 30,
        max_inflated_bytes: 4 << 30,
        ..build_archive::ArchiveLimits::default()
    };
    let packed = build_archive::pack_directory_within(dir, &limits)
        .map_err(|err| anyhow::anyhow!("{err}"))
        .context("the generated build does not pack")?;
    Ok(GeneratedBuild { build_id, archive: packed.bytes, json_bytes, resources })
}

/// A process-like definition of about `target` bytes of compact JSON.
fn content(rng: &mut Rng, target: usize) -> Value {
    let description = rng.words(12, 0);
    let mut size = 120 + description.len();
    let mut nodes = Vec::new();
    while size < target {
        let node = node(rng, nodes.len());
        size += serde_json::to_string(&node).map_or(0, |text| text.len() + 1);
        nodes.push(node);
    }
    json!({
        "description": description,
        "revision": rng.below(1000),
        "taskManagementEnabled": rng.below(2) == 0,
        "startNodeId": nodes.first().map_or(Value::Null, |node| node["id"].clone()),
        "nodes": nodes,
    })
}

fn node(rng: &mut Rng, order: usize) -> Value {
    let actions: Vec<Value> = (0..=rng.below(2))
        .map(|position| {
            json!({
                "name": rng.word(),
                "type": rng.pick(&ACTION_TYPES),
                "order": position + 1,
                "automatic": rng.below(2) == 0,
                "script": format!("output.put(\"{}\", {});", rng.word(), rng.words(3, 11)),
            })
        })
        .collect();
    json!({
        "id": format!("node_{:012x}", rng.next_u64() >> 16),
        "type": rng.pick(&NODE_TYPES),
        "name": rng.words(2, 3),
        "order": order,
        "position": {"x": rng.below(40_000) as f64 / 16.0, "y": rng.below(40_000) as f64 / 16.0},
        "timeoutSeconds": rng.below(86_400),
        "actions": actions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(seed: u64) -> GeneratedBuild {
        let dir = tempfile::tempdir().expect("a temporary directory");
        generate(dir.path(), 40, 2_000, seed).expect("a build that packs")
    }

    #[test]
    fn the_same_seed_gives_the_same_archive() {
        let (first, second) = (small(7), small(7));
        assert_eq!(first.archive, second.archive);
        assert_ne!(first.archive, small(8).archive);
    }

    #[test]
    fn resources_are_about_the_asked_size_and_deflate_only_a_few_times() {
        let build = small(1);
        assert_eq!(build.resources.len(), 40);
        let mean = build.json_bytes / 40;
        assert!((1_600..=2_600).contains(&mean), "mean resource size {mean}");
        let ratio = build.json_bytes as f64 / build.archive.len() as f64;
        assert!((1.5..8.0).contains(&ratio), "deflate ratio {ratio:.1}");
    }

    #[test]
    fn the_generator_spreads_its_numbers() {
        let mut rng = Rng::new(3);
        let draws: Vec<u64> = (0..1_000).map(|_| rng.below(10)).collect();
        for digit in 0..10 {
            let count = draws.iter().filter(|draw| **draw == digit).count();
            assert!((50..=150).contains(&count), "{digit} drawn {count} times in 1000");
        }
    }
}
