//! Packing a directory of the archive's shape into an archive: builds as code.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use domain::model::{BuildId, Checksum};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::error::PackError;
use crate::layout::{self, BUILD_JSON, MANIFEST_JSON, SCHEDULE_JSON};
use crate::limits::ArchiveLimits;
use crate::manifest::{Manifest, ManifestFile};
use crate::read::read_archive;

/// An archive made by [`pack_directory`].
#[derive(Clone, PartialEq, Eq)]
pub struct PackedBuild {
    /// The build's id, from `build.json` or freshly made.
    pub build_id: BuildId,
    /// The build's checksum.
    pub checksum: Checksum,
    /// The archive.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for PackedBuild {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackedBuild")
            .field("build_id", &self.build_id)
            .field("checksum", &self.checksum)
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .finish()
    }
}

/// Packs `dir`, a directory of the archive's layout without `manifest.json`, into an archive.
///
/// A `build.json` without `buildId` gets a new random one and one without `createdAt` gets
/// the current time; otherwise every file goes into the archive byte for byte, in name order,
/// deflated, with fixed timestamps, so the same directory always packs to the same bytes. The
/// result is read back with the default limits, so a packed archive is always importable.
///
/// # Errors
///
/// A [`PackError`] naming the file: a symbolic link, a file or directory outside the layout,
/// a `manifest.json` (the packer writes it), a missing `build.json`, a file that cannot be
/// read, or any reason [`read_archive`](crate::read_archive) would refuse the archive.
pub fn pack_directory(dir: &Path) -> Result<PackedBuild, PackError> {
    pack_directory_within(dir, &ArchiveLimits::default())
}

/// [`pack_directory`], read back with `limits` instead of the defaults: for builds meant for
/// an installation whose import limits are raised (the bench's 100 000 resources).
///
/// # Errors
///
/// As [`pack_directory`].
pub fn pack_directory_within(dir: &Path, limits: &ArchiveLimits) -> Result<PackedBuild, PackError> {
    let mut files = BTreeMap::new();
    collect(dir, dir, &mut files)?;
    let Some(build_json) = files.remove(BUILD_JSON) else {
        return Err(PackError::MissingFile { path: dir.join(BUILD_JSON) });
    };
    files.insert(BUILD_JSON.to_owned(), complete_build_json(build_json)?);
    let manifest =
        Manifest::new(files.iter().map(|(name, bytes)| ManifestFile::of(name, bytes)).collect());
    files.insert(MANIFEST_JSON.to_owned(), manifest.to_json());
    let bytes = write_zip(&files, entry_options())
        .map_err(|err| PackError::Write { reason: err.to_string() })?;
    let request = read_archive(Bytes::from(bytes.clone()), limits)
        .map_err(|error| PackError::Invalid { dir: dir.to_owned(), error: Box::new(error) })?;
    Ok(PackedBuild { build_id: request.build.id(), checksum: request.build.header.checksum, bytes })
}

/// Reads every file under `current` into `files`, keyed by its archive name.
fn collect(
    root: &Path,
    current: &Path,
    files: &mut BTreeMap<String, Vec<u8>>,
) -> Result<(), PackError> {
    let mut children = std::fs::read_dir(current)
        .map_err(io(current))?
        .map(|child| child.map(|child| child.path()))
        .collect::<Result<Vec<PathBuf>, _>>()
        .map_err(io(current))?;
    children.sort();
    for path in children {
        let unexpected = |reason| PackError::UnexpectedFile { path: path.clone(), reason };
        let file_type = std::fs::symlink_metadata(&path).map_err(io(&path))?.file_type();
        if file_type.is_symlink() {
            return Err(PackError::Symlink { path });
        }
        let name = archive_name(root, &path)
            .ok_or_else(|| unexpected("its name is not plain UTF-8 text"))?;
        if file_type.is_dir() {
            if !layout::is_layout_directory(&name) {
                return Err(unexpected("the build layout has no such directory"));
            }
            collect(root, &path, files)?;
        } else if !file_type.is_file() {
            return Err(unexpected("it is neither a file nor a directory"));
        } else if name == MANIFEST_JSON {
            return Err(unexpected("the packer writes manifest.json; remove it"));
        } else if name == SCHEDULE_JSON {
            // Builds as code start with every timer on; switches are an installation's
            // state, which exports carry.
            return Err(unexpected("schedule.json is written by exports only; remove it"));
        } else if layout::classify(&name).is_none() {
            return Err(unexpected(
                "the build layout has no place for it (build.json, config-params.json, \
                 resources/<TYPE>/<resourceDefinitionId>.json, binaries/<sha256>)",
            ));
        } else {
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            files.insert(name, bytes);
        }
    }
    Ok(())
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PackError + '_ {
    move |error| PackError::Io { path: path.to_owned(), error }
}

/// `path` relative to `root`, with `/` between segments.
fn archive_name(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let segments = relative.iter().map(|segment| segment.to_str()).collect::<Option<Vec<_>>>()?;
    Some(segments.join("/"))
}

/// Fills in a missing `buildId` and `createdAt`. Text that is not a JSON object is left for
/// the read-back to report; complete text is kept byte for byte.
fn complete_build_json(text: Vec<u8>) -> Result<Vec<u8>, PackError> {
    let Ok(Value::Object(mut build)) = serde_json::from_slice::<Value>(&text) else {
        return Ok(text);
    };
    let is_missing = |build: &serde_json::Map<String, Value>, key: &str| {
        build.get(key).is_none_or(Value::is_null)
    };
    if !is_missing(&build, "buildId") && !is_missing(&build, "createdAt") {
        return Ok(text);
    }
    let write_error = |reason: String| PackError::Write { reason };
    if is_missing(&build, "buildId") {
        build.insert("buildId".to_owned(), Value::from(Uuid::new_v4().to_string()));
    }
    if is_missing(&build, "createdAt") {
        let now = OffsetDateTime::now_utc();
        let now = now - time::Duration::nanoseconds(i64::from(now.nanosecond()));
        let now = now.format(&Rfc3339).map_err(|err| write_error(err.to_string()))?;
        build.insert("createdAt".to_owned(), Value::from(now));
    }
    let mut text = serde_json::to_vec_pretty(&Value::Object(build))
        .map_err(|err| write_error(err.to_string()))?;
    text.push(b'\n');
    Ok(text)
}

/// The options of every entry this crate writes: deflate, and nothing that changes between
/// runs or machines.
pub(crate) fn entry_options() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644)
}

pub(crate) fn write_zip(
    files: &BTreeMap<String, Vec<u8>>,
    options: SimpleFileOptions,
) -> zip::result::ZipResult<Vec<u8>> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in files {
        zip.start_file(name.as_str(), options)?;
        zip.write_all(bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}
