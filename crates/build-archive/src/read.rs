//! Reading an archive: the container checks (size, names, count, links, inflation limits,
//! hashes, checksum), then the decoding of its JSON into the model.

use std::collections::{BTreeMap, HashSet};
use std::io::{Cursor, Read};

use bytes::Bytes;
use domain::builds::ImportRequest;
use zip::{CompressionMethod, ZipArchive};

use crate::central_directory::{self, ScanError};
use crate::error::ArchiveError;
use crate::layout::{self, BUILD_JSON, EntryKind, MANIFEST_JSON, SCHEDULE_JSON};
use crate::limits::ArchiveLimits;
use crate::manifest::{self, FORMAT_VERSION, Manifest, ManifestFile};
use crate::wire::FormatProbe;
use crate::{decode, wire};

/// Reads and checks a build archive and turns it into an import request. Nothing is written
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
    let (mut zip, files) = open(&archive, limits)?;
    let contents = inflate_all(&mut zip, &files, limits)?;
    for required in [MANIFEST_JSON, BUILD_JSON] {
        if !contents.contains_key(required) {
            return Err(ArchiveError::MissingEntry { entry: required });
        }
    }
    let manifest = parse_manifest(&contents[MANIFEST_JSON])?;
    check_against_manifest(&contents, &manifest)?;
    let request = decode::import_request(contents, &manifest.checksum, archive)?;
    tracing::debug!(
        build.id = %request.build.id(),
        n_resources = request.resources.len(),
        n_binaries = request.binaries.len(),
        "build archive read"
    );
    Ok(request)
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
pub(crate) fn open(
    archive: &Bytes,
    limits: &ArchiveLimits,
) -> Result<(ZipArchive<Cursor<Bytes>>, Vec<FileEntry>), ArchiveError> {
    let size = archive.len() as u64;
    if size > limits.max_archive_bytes {
        return Err(ArchiveError::ArchiveTooLarge { size, limit: limits.max_archive_bytes });
    }
    let names =
        central_directory::entry_names(archive, limits.max_entries).map_err(|err| match err {
            ScanError::TooManyEntries(count) => {
                ArchiveError::TooManyEntries { count, limit: limits.max_entries }
            }
            ScanError::Unreadable(reason) => ArchiveError::unreadable(reason),
        })?;
    let mut seen = HashSet::with_capacity(names.len());
    for name in &names {
        let printable = String::from_utf8_lossy(name);
        layout::check_safe(name).map_err(|reason| ArchiveError::UnsafeEntryName {
            entry: printable.escape_debug().to_string(),
            reason,
        })?;
        if !seen.insert(*name) {
            return Err(ArchiveError::DuplicateEntry { entry: printable.into_owned() });
        }
    }
    let mut zip = ZipArchive::new(Cursor::new(archive.clone()))
        .map_err(|err| ArchiveError::unreadable(err.to_string()))?;
    if zip.len() != names.len() {
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

/// Inflates every file entry, stopping as soon as a limit is crossed: the entry's ratio, the
/// total size, or the whole archive's ratio (the compressed sizes of all entries are known
/// up front, so the whole archive's ratio is a budget too).
fn inflate_all(
    zip: &mut ZipArchive<Cursor<Bytes>>,
    files: &[FileEntry],
    limits: &ArchiveLimits,
) -> Result<BTreeMap<String, Vec<u8>>, ArchiveError> {
    let compressed_total =
        files.iter().fold(0_u64, |total, file| total.saturating_add(file.compressed_size));
    let by_archive_ratio = ratio_cap(limits, compressed_total);
    let mut contents = BTreeMap::new();
    let mut inflated_total: u64 = 0;
    for file in files {
        let by_entry_ratio = ratio_cap(limits, file.compressed_size);
        let by_total = limits.max_inflated_bytes.saturating_sub(inflated_total);
        let by_archive = by_archive_ratio.saturating_sub(inflated_total);
        let bytes = inflate(zip, file, by_entry_ratio.min(by_total).min(by_archive))?;
        let inflated = bytes.len() as u64;
        if inflated > by_entry_ratio {
            return Err(ArchiveError::CompressionRatioExceeded {
                entry: file.name.clone(),
                limit: limits.max_compression_ratio,
            });
        }
        if inflated > by_total {
            return Err(ArchiveError::InflatedSizeExceeded {
                entry: file.name.clone(),
                limit: limits.max_inflated_bytes,
            });
        }
        if inflated > by_archive {
            return Err(ArchiveError::ArchiveCompressionRatioExceeded {
                limit: limits.max_compression_ratio,
            });
        }
        inflated_total += inflated;
        contents.insert(file.name.clone(), bytes);
    }
    Ok(contents)
}

/// Inflates one entry on its own (entry ratio and total size limits).
pub(crate) fn inflate_one(
    zip: &mut ZipArchive<Cursor<Bytes>>,
    file: &FileEntry,
    limits: &ArchiveLimits,
) -> Result<Vec<u8>, ArchiveError> {
    inflate_all(zip, std::slice::from_ref(file), limits)?
        .remove(&file.name)
        .ok_or_else(|| ArchiveError::unreadable(format!("entry `{}` vanished", file.name)))
}

/// Inflates one entry through a limiter: the headers' sizes can lie, so at most `cap + 1`
/// bytes are ever inflated; more than `cap` means a limit was crossed.
fn inflate(
    zip: &mut ZipArchive<Cursor<Bytes>>,
    file: &FileEntry,
    cap: u64,
) -> Result<Vec<u8>, ArchiveError> {
    let mut entry =
        zip.by_index(file.index).map_err(|err| ArchiveError::unreadable(err.to_string()))?;
    let capacity = usize::try_from(file.declared_size.min(cap)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(capacity);
    entry.by_ref().take(cap.saturating_add(1)).read_to_end(&mut bytes).map_err(|err| {
        ArchiveError::unreadable(format!("entry `{}` cannot be inflated: {err}", file.name))
    })?;
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
    contents: &BTreeMap<String, Vec<u8>>,
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
    for name in contents.keys().filter(|name| *name != MANIFEST_JSON && *name != SCHEDULE_JSON) {
        if !listed.contains_key(name.as_str()) {
            return Err(ArchiveError::UnexpectedEntry {
                entry: name.clone(),
                reason: "manifest.json does not list it",
            });
        }
    }
    let mut actual = Vec::with_capacity(listed.len());
    for (name, file) in listed {
        let Some(bytes) = contents.get(name).filter(|_| name != MANIFEST_JSON) else {
            return Err(ArchiveError::UnexpectedEntry {
                entry: name.to_owned(),
                reason: "manifest.json lists it but the archive does not hold it",
            });
        };
        let found = ManifestFile::of(name, bytes);
        if found.size != file.size {
            return Err(ArchiveError::EntrySizeMismatch {
                entry: found.name,
                expected: file.size,
                actual: found.size,
            });
        }
        if found.sha256 != file.sha256 {
            return Err(ArchiveError::EntryHashMismatch {
                entry: found.name,
                expected: file.sha256.clone(),
                actual: found.sha256,
            });
        }
        actual.push(found);
    }
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
