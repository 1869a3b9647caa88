//! Reading an archive in passes that keep no entry's content beyond the one at hand:
//!
//! 1. the container checks (size, names, count, links, declared sizes), from the central
//!    directory alone;
//! 2. every entry inflated once under the limits and hashed as it inflates (only the small
//!    JSON documents and the binaries are kept), then checked against the manifest and the
//!    checksum;
//! 3. every resource inflated again and decoded into the model (paths, names, uniqueness,
//!    timers, [`Build::validate`](domain::model::Build::validate)), each dropped once checked.
//!
//! What passes is a [`CheckedArchive`]: the build's metadata, and an
//! [`ImportContent`](domain::builds::ImportContent) that decodes the resources a fourth time,
//! batch by batch, while the build service stages them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Seek};

use bytes::Bytes;
use domain::builds::{BuildImport, ImportRequest, ImportedBinary};
use domain::model::{ApplicationId, Build, BuildTimer};
use sha2::{Digest, Sha256};
use zip::{CompressionMethod, ZipArchive};

use crate::central_directory::{self, ScanError};
use crate::content::{ArchiveContent, ResourceFile};
use crate::error::ArchiveError;
use crate::layout::{self, BUILD_JSON, EntryKind, MANIFEST_JSON, SCHEDULE_JSON};
use crate::limits::ArchiveLimits;
use crate::manifest::{self, FORMAT_VERSION, Manifest, ManifestFile};
use crate::spool::SpooledArchive;
use crate::wire::FormatProbe;
use crate::{decode, wire};

/// Reads and checks a build archive and turns it into an import request, every resource in
/// memory (for archives known to be small: tests, packing a directory). Nothing is written
/// anywhere; limits hold while inflating, whatever the zip headers claim.
///
/// The request's build has origin `Imported`, `stored_at` now (the service sets its own) and
/// the manifest's checksum; `archive` is the input and `expected_application` is `None`.
///
/// # Errors
///
/// An [`ArchiveError`] naming the first rule the archive breaks; see its
/// [`code`](ArchiveError::code)s and `docs/BUILD-ARCHIVE.md`.
pub fn read_archive(archive: Bytes, limits: &ArchiveLimits) -> Result<ImportRequest, ArchiveError> {
    let CheckedArchive { build, binaries, timers, mut content } =
        check_archive(SpooledArchive::memory(archive.clone()), limits)?;
    let mut resources = content.read_resources(usize::MAX)?;
    resources.sort_by(|a, b| {
        (&a.entry.resource_type, &a.entry.definition_id)
            .cmp(&(&b.entry.resource_type, &b.entry.definition_id))
    });
    Ok(ImportRequest { build, resources, binaries, timers, archive, expected_application: None })
}

/// A build archive that passed every check, its resources still in the archive.
#[derive(Debug)]
pub struct CheckedArchive {
    build: Build,
    binaries: Vec<ImportedBinary>,
    timers: Vec<BuildTimer>,
    content: ArchiveContent,
}

impl CheckedArchive {
    /// The build, its manifest listing every resource.
    pub fn build(&self) -> &Build {
        &self.build
    }

    /// What the build service imports: the resources are read from the archive again, in
    /// batches, as they are staged.
    pub fn into_import(self, expected_application: Option<ApplicationId>) -> BuildImport {
        BuildImport {
            build: self.build,
            content: Box::new(self.content),
            binaries: self.binaries,
            timers: self.timers,
            expected_application,
        }
    }
}

/// Checks a build archive with every check [`read_archive`] makes, holding one entry's
/// content at a time (and the binaries), never the resources. Blocking: inflating and
/// hashing is CPU work, and a spooled archive is read from its file.
///
/// The build has origin `Imported` and the manifest's checksum, as with [`read_archive`].
///
/// # Errors
///
/// As [`read_archive`].
pub fn check_archive(
    archive: SpooledArchive,
    limits: &ArchiveLimits,
) -> Result<CheckedArchive, ArchiveError> {
    let (mut zip, files) = open(archive.reader(), limits)?;
    let mut inflated = inflate_all(&mut zip, &files, limits)?;
    for required in [MANIFEST_JSON, BUILD_JSON] {
        if !inflated.found.contains_key(required) {
            return Err(ArchiveError::MissingEntry { entry: required });
        }
    }
    let manifest_json = inflated.documents.remove(MANIFEST_JSON).unwrap_or_default();
    let manifest = parse_manifest(&manifest_json)?;
    drop(manifest_json);
    check_against_manifest(&inflated.found, &manifest)?;
    let checksum = manifest.checksum;
    drop(manifest.entries);
    let mut resource_files: Vec<ResourceFile> = files
        .iter()
        .filter(|file| matches!(layout::classify(&file.name), Some(EntryKind::Resource { .. })))
        .map(|file| ResourceFile {
            index: file.index,
            path: file.name.clone(),
            size: inflated.found[file.name.as_str()].1,
        })
        .collect();
    resource_files.sort_by(|a, b| a.path.cmp(&b.path));
    let Inflated { documents, binaries, .. } = inflated;
    let mut content = ArchiveContent::new(archive, zip, resource_files);
    let (build, timers) = decode::checked_build(&documents, &checksum, &mut content)?;
    content.rewind(build.id());
    let binaries = binaries
        .into_iter()
        .filter_map(|(name, bytes)| {
            let sha256 = name.strip_prefix(layout::BINARIES_PREFIX)?.to_owned();
            Some(ImportedBinary { sha256, bytes: Bytes::from(bytes) })
        })
        .collect();
    tracing::debug!(
        build.id = %build.id(),
        n_resources = build.manifest.len(),
        "build archive checked"
    );
    Ok(CheckedArchive { build, binaries, timers, content })
}

/// A file entry of the archive, as its headers describe it.
#[derive(Debug)]
pub(crate) struct FileEntry {
    pub(crate) index: usize,
    pub(crate) name: String,
    pub(crate) compressed_size: u64,
    pub(crate) declared_size: u64,
}

/// Checks everything that can be checked without inflating: archive size, entry count, entry
/// names, duplicates, links, compression methods, the layout and the sizes the headers
/// declare. Returns the zip and its file entries (directories are ignored).
pub(crate) fn open<R: Read + Seek>(
    mut archive: R,
    limits: &ArchiveLimits,
) -> Result<(ZipArchive<R>, Vec<FileEntry>), ArchiveError> {
    let size = archive
        .seek(std::io::SeekFrom::End(0))
        .map_err(|err| ArchiveError::unreadable(format!("the archive cannot be read: {err}")))?;
    if size > limits.max_archive_bytes {
        return Err(ArchiveError::ArchiveTooLarge { size, limit: limits.max_archive_bytes });
    }
    let names = central_directory::entry_names(&mut archive, limits.max_entries).map_err(
        |err| match err {
            ScanError::TooManyEntries(count) => {
                ArchiveError::TooManyEntries { count, limit: limits.max_entries }
            }
            ScanError::Unreadable(reason) => ArchiveError::unreadable(reason),
            ScanError::Io(err) => {
                ArchiveError::unreadable(format!("the archive cannot be read: {err}"))
            }
        },
    )?;
    let mut seen = HashSet::with_capacity(names.len());
    for name in &names {
        let printable = String::from_utf8_lossy(name);
        layout::check_safe(name).map_err(|reason| ArchiveError::UnsafeEntryName {
            entry: printable.escape_debug().to_string(),
            reason,
        })?;
        if !seen.insert(name.as_slice()) {
            return Err(ArchiveError::DuplicateEntry { entry: printable.into_owned() });
        }
    }
    let seen_count = names.len();
    drop(seen);
    drop(names);
    let mut zip =
        ZipArchive::new(archive).map_err(|err| ArchiveError::unreadable(err.to_string()))?;
    if zip.len() != seen_count {
        return Err(ArchiveError::unreadable(
            "the central directory does not match its end record",
        ));
    }
    let mut files = Vec::new();
    let mut declared_total: u64 = 0;
    let mut compressed_total: u64 = 0;
    for index in 0..zip.len() {
        let entry =
            zip.by_index_raw(index).map_err(|err| ArchiveError::unreadable(err.to_string()))?;
        let name = entry.name().to_owned();
        if entry.is_symlink() {
            return Err(ArchiveError::LinkEntry { entry: name });
        }
        if entry.is_dir() {
            continue;
        }
        if entry.encrypted() {
            return Err(ArchiveError::unreadable(format!("entry `{name}` is encrypted")));
        }
        if !matches!(entry.compression(), CompressionMethod::Stored | CompressionMethod::Deflated) {
            return Err(ArchiveError::unreadable(format!(
                "entry `{name}` uses compression method {}; only stored and deflate are supported",
                entry.compression()
            )));
        }
        if layout::classify(&name).is_none() {
            return Err(ArchiveError::UnexpectedEntry {
                entry: name,
                reason: "the build layout has no place for it",
            });
        }
        let compressed_size = entry.compressed_size();
        let declared_size = entry.size();
        if declared_size > ratio_cap(limits, compressed_size) {
            return Err(ArchiveError::CompressionRatioExceeded {
                entry: name,
                limit: limits.max_compression_ratio,
            });
        }
        declared_total = declared_total.saturating_add(declared_size);
        if declared_total > limits.max_inflated_bytes {
            return Err(ArchiveError::InflatedSizeExceeded {
                entry: name,
                limit: limits.max_inflated_bytes,
            });
        }
        compressed_total = compressed_total.saturating_add(compressed_size);
        files.push(FileEntry { index, name, compressed_size, declared_size });
    }
    if declared_total > ratio_cap(limits, compressed_total) {
        return Err(ArchiveError::ArchiveCompressionRatioExceeded {
            limit: limits.max_compression_ratio,
        });
    }
    Ok((zip, files))
}

/// The most an entry of `compressed` bytes may inflate to under the ratio limit.
fn ratio_cap(limits: &ArchiveLimits, compressed: u64) -> u64 {
    limits
        .max_compression_ratio
        .saturating_mul(compressed.max(1))
        .max(ArchiveLimits::RATIO_FLOOR_BYTES)
}

/// What inflating every entry found: the hash and size of each, the JSON documents (small:
/// `build.json`, `config-params.json`, `manifest.json`, `schedule.json`) and the binaries.
/// Resources are hashed and dropped.
struct Inflated {
    /// SHA-256 and size of every file entry, by name.
    found: HashMap<String, ([u8; 32], u64)>,
    documents: BTreeMap<String, Vec<u8>>,
    binaries: BTreeMap<String, Vec<u8>>,
}

/// Inflates every file entry, stopping as soon as a limit is crossed: the entry's ratio, the
/// total size, or the whole archive's ratio (the compressed sizes of all entries are known
/// up front, so the whole archive's ratio is a budget too).
fn inflate_all<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    files: &[FileEntry],
    limits: &ArchiveLimits,
) -> Result<Inflated, ArchiveError> {
    let compressed_total =
        files.iter().fold(0_u64, |total, file| total.saturating_add(file.compressed_size));
    let by_archive_ratio = ratio_cap(limits, compressed_total);
    let mut inflated = Inflated {
        found: HashMap::with_capacity(files.len()),
        documents: BTreeMap::new(),
        binaries: BTreeMap::new(),
    };
    let mut inflated_total: u64 = 0;
    let mut buffer = vec![0; 64 * 1024];
    for file in files {
        let kind = layout::classify(&file.name);
        let by_entry_ratio = ratio_cap(limits, file.compressed_size);
        let by_total = limits.max_inflated_bytes.saturating_sub(inflated_total);
        let by_archive = by_archive_ratio.saturating_sub(inflated_total);
        let cap = by_entry_ratio.min(by_total).min(by_archive);
        let mut kept = match kind {
            Some(EntryKind::Resource { .. }) => None,
            _ => {
                Some(Vec::with_capacity(usize::try_from(file.declared_size.min(cap)).unwrap_or(0)))
            }
        };
        let mut entry =
            zip.by_index(file.index).map_err(|err| ArchiveError::unreadable(err.to_string()))?;
        let mut limited = entry.by_ref().take(cap.saturating_add(1));
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        loop {
            let read = match limited.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => read,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    return Err(ArchiveError::unreadable(format!(
                        "entry `{}` cannot be inflated: {err}",
                        file.name
                    )));
                }
            };
            hasher.update(&buffer[..read]);
            if let Some(kept) = kept.as_mut() {
                kept.extend_from_slice(&buffer[..read]);
            }
            size += read as u64;
        }
        // The entry borrows the zip: done with it before the next one.
        drop(entry);
        if size > by_entry_ratio {
            return Err(ArchiveError::CompressionRatioExceeded {
                entry: file.name.clone(),
                limit: limits.max_compression_ratio,
            });
        }
        if size > by_total {
            return Err(ArchiveError::InflatedSizeExceeded {
                entry: file.name.clone(),
                limit: limits.max_inflated_bytes,
            });
        }
        if size > by_archive {
            return Err(ArchiveError::ArchiveCompressionRatioExceeded {
                limit: limits.max_compression_ratio,
            });
        }
        inflated_total += size;
        inflated.found.insert(file.name.clone(), (hasher.finalize().into(), size));
        if let Some(kept) = kept {
            if matches!(kind, Some(EntryKind::Binary { .. })) {
                inflated.binaries.insert(file.name.clone(), kept);
            } else {
                inflated.documents.insert(file.name.clone(), kept);
            }
        }
    }
    Ok(inflated)
}

/// Inflates one entry on its own, under its ratio and the total size limit.
pub(crate) fn inflate_one<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    file: &FileEntry,
    limits: &ArchiveLimits,
) -> Result<Vec<u8>, ArchiveError> {
    let mut inflated = inflate_all(zip, std::slice::from_ref(file), limits)?;
    inflated
        .documents
        .remove(&file.name)
        .or_else(|| inflated.binaries.remove(&file.name))
        .ok_or_else(|| ArchiveError::unreadable(format!("entry `{}` is not a document", file.name)))
}

/// Inflates an entry that inflated to `size` bytes when it was checked, and no more.
pub(crate) fn inflate_checked<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    index: usize,
    name: &str,
    size: u64,
) -> Result<Vec<u8>, ArchiveError> {
    let mut entry = zip.by_index(index).map_err(|err| ArchiveError::unreadable(err.to_string()))?;
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    entry.by_ref().take(size.saturating_add(1)).read_to_end(&mut bytes).map_err(|err| {
        ArchiveError::unreadable(format!("entry `{name}` cannot be inflated: {err}"))
    })?;
    if bytes.len() as u64 != size {
        return Err(ArchiveError::unreadable(format!(
            "entry `{name}` changed since it was checked"
        )));
    }
    Ok(bytes)
}

/// Parses `manifest.json`, its format version first.
pub(crate) fn parse_manifest(json: &[u8]) -> Result<Manifest, ArchiveError> {
    check_format_version(MANIFEST_JSON, json)?;
    wire::parse_object(MANIFEST_JSON, json)
}

/// Refuses a JSON entry whose `formatVersion` is present and not 1. A missing one is left to
/// the shape check.
pub(crate) fn check_format_version(entry: &'static str, json: &[u8]) -> Result<(), ArchiveError> {
    let probe: FormatProbe = wire::parse_object(entry, json)?;
    match probe.format_version {
        Some(version) if version != FORMAT_VERSION => {
            Err(ArchiveError::UnsupportedFormatVersion { entry, found: version.to_string() })
        }
        _ => Ok(()),
    }
}

/// Every entry but the manifest is listed, with its size and hash; nothing else is listed;
/// the checksum is the checksum of the list; binaries are named by their hash.
fn check_against_manifest(
    found: &HashMap<String, ([u8; 32], u64)>,
    manifest: &Manifest,
) -> Result<(), ArchiveError> {
    let mut listed = BTreeMap::new();
    for file in &manifest.entries {
        if listed.insert(file.name.as_str(), file).is_some() {
            return Err(ArchiveError::DuplicateEntry { entry: file.name.clone() });
        }
    }
    if listed.contains_key(SCHEDULE_JSON) {
        return Err(ArchiveError::UnexpectedEntry {
            entry: SCHEDULE_JSON.to_owned(),
            reason: "it carries the timers' switches outside the checksum; manifest.json must not list it",
        });
    }
    let mut names: Vec<&String> = found.keys().collect();
    names.sort();
    for name in names.into_iter().filter(|name| *name != MANIFEST_JSON && *name != SCHEDULE_JSON) {
        if !listed.contains_key(name.as_str()) {
            return Err(ArchiveError::UnexpectedEntry {
                entry: name.clone(),
                reason: "manifest.json does not list it",
            });
        }
    }
    for (name, file) in &listed {
        let Some((digest, size)) = found.get(*name).filter(|_| *name != MANIFEST_JSON) else {
            return Err(ArchiveError::UnexpectedEntry {
                entry: (*name).to_owned(),
                reason: "manifest.json lists it but the archive does not hold it",
            });
        };
        if *size != file.size {
            return Err(ArchiveError::EntrySizeMismatch {
                entry: (*name).to_owned(),
                expected: file.size,
                actual: *size,
            });
        }
        let sha256 = hex::encode(digest);
        if sha256 != file.sha256 {
            return Err(ArchiveError::EntryHashMismatch {
                entry: (*name).to_owned(),
                expected: file.sha256.clone(),
                actual: sha256,
            });
        }
    }
    // Every listed entry matched what the archive holds, so the list is what was found.
    let actual: Vec<ManifestFile> = listed.into_values().cloned().collect();
    let checksum = manifest::checksum(&actual);
    if checksum != manifest.checksum {
        return Err(ArchiveError::ChecksumMismatch {
            expected: manifest.checksum.clone(),
            actual: checksum,
        });
    }
    for file in &actual {
        if let Some(EntryKind::Binary { sha256 }) = layout::classify(&file.name)
            && sha256 != file.sha256
        {
            return Err(ArchiveError::BinaryHashMismatch {
                entry: file.name.clone(),
                actual: file.sha256.clone(),
            });
        }
    }
    Ok(())
}
