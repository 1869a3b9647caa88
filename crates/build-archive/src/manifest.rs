//! `manifest.json`: the hash and size of every other entry, and the build's checksum.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::layout::{self, MANIFEST_JSON};

/// The only format this crate reads and writes.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// The manifest as written in the archive.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Manifest {
    pub(crate) format_version: u32,
    pub(crate) entries: Vec<ManifestFile>,
    pub(crate) checksum: String,
}

/// One entry of the archive, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ManifestFile {
    pub(crate) name: String,
    pub(crate) sha256: String,
    pub(crate) size: u64,
}

impl ManifestFile {
    /// The manifest line of an entry with content `bytes`.
    pub(crate) fn of(name: &str, bytes: &[u8]) -> Self {
        Self { name: name.to_owned(), sha256: sha256_hex(bytes), size: bytes.len() as u64 }
    }
}

impl Manifest {
    /// A manifest of `entries` (which must not include `manifest.json`), checksum included.
    pub(crate) fn new(mut entries: Vec<ManifestFile>) -> Self {
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let checksum = checksum(&entries);
        Self { format_version: FORMAT_VERSION, entries, checksum }
    }

    /// The JSON text of the manifest, pretty-printed, with a final newline.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        #[expect(clippy::expect_used, reason = "strings and integers always serialize")]
        let mut json = serde_json::to_vec_pretty(self).expect("a manifest serializes");
        json.push(b'\n');
        json
    }
}

/// The checksum of a build: the SHA-256 of the lines `name\tsha256\tsize\n` of every entry
/// except `manifest.json` and the binaries, sorted by name. Binaries are left out because
/// they are content-addressed by their own names: an export with and one without binaries
/// are the same build.
pub(crate) fn checksum(entries: &[ManifestFile]) -> String {
    let mut listed: Vec<&ManifestFile> = entries
        .iter()
        .filter(|entry| entry.name != MANIFEST_JSON && !layout::is_binary(&entry.name))
        .collect();
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    let text: String = listed
        .iter()
        .map(|entry| format!("{}\t{}\t{}\n", entry.name, entry.sha256, entry.size))
        .collect();
    sha256_hex(text.as_bytes())
}

/// Lowercase hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_ignores_binaries_and_the_manifest() {
        let build = ManifestFile::of("build.json", b"{}");
        let binary = ManifestFile::of(&format!("binaries/{}", sha256_hex(b"png")), b"png");
        let manifest = ManifestFile::of("manifest.json", b"{}");
        assert_eq!(
            checksum(&[build.clone(), binary, manifest]),
            checksum(std::slice::from_ref(&build))
        );
        let expected = sha256_hex(format!("build.json\t{}\t2\n", sha256_hex(b"{}")).as_bytes());
        assert_eq!(checksum(&[build]), expected);
    }
}
