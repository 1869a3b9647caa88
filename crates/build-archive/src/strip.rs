//! Rewriting an archive for export without touching what the checksum covers: dropping the
//! binaries, and carrying the current switches of the build's timers in `schedule.json`.
//! Every other entry is copied as it is, compressed bytes and all: nothing is inflated but
//! the manifest.

use std::io::{Cursor, Write};

use domain::model::BuildTimer;
use zip::ZipWriter;

use crate::error::ArchiveError;
use crate::layout::{self, MANIFEST_JSON, SCHEDULE_JSON};
use crate::limits::ArchiveLimits;
use crate::manifest::Manifest;
use crate::pack::entry_options;
use crate::read::{inflate_one, open, parse_manifest};
use crate::timers::ScheduleJson;

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
    rewrite(archive, false, None)
}

/// The archive an export hands out: the stored `archive`, without its binaries unless
/// `with_binaries`, and with `schedule.json` holding the switches of `timers` (the build's
/// timers as they are now; none, no entry). An import restores the switches; the checksum
/// is the stored archive's, as is every entry it covers, copied without inflating.
///
/// # Errors
///
/// As [`strip_binaries`].
pub fn export_archive(
    archive: &[u8],
    with_binaries: bool,
    timers: &[BuildTimer],
) -> Result<Vec<u8>, ArchiveError> {
    rewrite(archive, with_binaries, Some(timers))
}

/// Copies `archive`, dropping binaries unless `with_binaries`; with `timers`, any
/// `schedule.json` is replaced by theirs.
fn rewrite(
    archive: &[u8],
    with_binaries: bool,
    timers: Option<&[BuildTimer]>,
) -> Result<Vec<u8>, ArchiveError> {
    let limits = ArchiveLimits::default();
    let (mut zip, files) = open(Cursor::new(archive), &limits)?;
    let manifest_file = files
        .iter()
        .find(|file| file.name == MANIFEST_JSON)
        .ok_or(ArchiveError::MissingEntry { entry: MANIFEST_JSON })?;
    let manifest = parse_manifest(&inflate_one(&mut zip, manifest_file, &limits)?)?;
    let dropped = |name: &str| {
        (!with_binaries && layout::is_binary(name)) || (timers.is_some() && name == SCHEDULE_JSON)
    };
    let manifest = Manifest {
        entries: manifest.entries.into_iter().filter(|entry| !dropped(&entry.name)).collect(),
        ..manifest
    };
    let unwritable = |err: zip::result::ZipError| ArchiveError::unreadable(err.to_string());
    let unwritable_io = |err: std::io::Error| ArchiveError::unreadable(err.to_string());
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for index in 0..zip.len() {
        let entry = zip.by_index_raw(index).map_err(unwritable)?;
        let name = entry.name().to_owned();
        if dropped(&name) {
            continue;
        }
        if name == MANIFEST_JSON {
            drop(entry);
            writer.start_file(MANIFEST_JSON, entry_options()).map_err(unwritable)?;
            writer.write_all(&manifest.to_json()).map_err(unwritable_io)?;
        } else {
            writer.raw_copy_file(entry).map_err(unwritable)?;
        }
    }
    if let Some(timers) = timers.filter(|timers| !timers.is_empty()) {
        writer.start_file(SCHEDULE_JSON, entry_options()).map_err(unwritable)?;
        writer.write_all(&ScheduleJson::of(timers).to_json()).map_err(unwritable_io)?;
    }
    Ok(writer.finish().map_err(unwritable)?.into_inner())
}
