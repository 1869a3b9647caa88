//! Dropping the binaries of an archive: same build, same checksum, smaller archive.

use std::io::{Cursor, Write};

use bytes::Bytes;
use zip::ZipWriter;

use crate::error::ArchiveError;
use crate::layout::{self, MANIFEST_JSON};
use crate::limits::ArchiveLimits;
use crate::manifest::Manifest;
use crate::pack::entry_options;
use crate::read::{inflate_one, open, parse_manifest};

/// The same archive without its `binaries/*` entries, and with `manifest.json` rewritten
/// without them. The checksum does not change (binaries are not part of it), and every other
/// entry is copied as it is, compressed bytes and all.
///
/// The archive is opened with the default limits and its names and manifest are checked;
/// the other entries are not inflated, so their hashes are not checked here.
///
/// # Errors
///
/// An [`ArchiveError`] when the archive cannot be opened, breaks a limit or a naming rule, or
/// has no readable `manifest.json`.
pub fn strip_binaries(archive: &[u8]) -> Result<Vec<u8>, ArchiveError> {
    let limits = ArchiveLimits::default();
    let archive = Bytes::copy_from_slice(archive);
    let (mut zip, files) = open(&archive, &limits)?;
    let manifest_file = files
        .iter()
        .find(|file| file.name == MANIFEST_JSON)
        .ok_or(ArchiveError::MissingEntry { entry: MANIFEST_JSON })?;
    let manifest = parse_manifest(&inflate_one(&mut zip, manifest_file, &limits)?)?;
    let stripped = Manifest {
        entries: manifest
            .entries
            .into_iter()
            .filter(|entry| !layout::is_binary(&entry.name))
            .collect(),
        ..manifest
    };
    let unwritable = |err: zip::result::ZipError| ArchiveError::unreadable(err.to_string());
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for index in 0..zip.len() {
        let entry = zip.by_index_raw(index).map_err(unwritable)?;
        let name = entry.name().to_owned();
        if layout::is_binary(&name) {
            continue;
        }
        if name == MANIFEST_JSON {
            drop(entry);
            writer.start_file(MANIFEST_JSON, entry_options()).map_err(unwritable)?;
            writer
                .write_all(&stripped.to_json())
                .map_err(|err| ArchiveError::unreadable(err.to_string()))?;
        } else {
            writer.raw_copy_file(entry).map_err(unwritable)?;
        }
    }
    Ok(writer.finish().map_err(unwritable)?.into_inner())
}
