//! The codec of rtm's build archive, format 1 (`docs/BUILD-ARCHIVE.md` is its contract): a zip
//! that moves one build between installations.
//!
//! - [`check_archive`] checks an archive (limits, entry names, hashes, checksum, JSON shapes,
//!   the model's rules) without writing anything and without keeping the resources, and
//!   turns it into the [`BuildImport`](domain::builds::BuildImport) that the build service
//!   imports, its resources read again batch by batch as they are staged; [`read_archive`]
//!   makes the same checks and returns every resource in memory (small archives, tests);
//! - [`SpooledArchive`] holds an archive in memory or, once large, in a temporary file;
//! - [`pack_directory`] turns a directory of the archive's shape (builds as code) into an
//!   archive that [`read_archive`] accepts;
//! - [`ArchivePackager`] packs a build made from a committed version (the domain's
//!   `BuildPackager` port) and reads it back as an import would;
//! - [`export_archive`] rewrites a stored archive for export (binaries dropped or kept, the
//!   timers' switches in `schedule.json`) and [`strip_binaries`] drops the binaries, both
//!   without changing the checksum.
//!
//! This crate may depend on `domain` and on format crates (zip, serde, hashing); it depends on
//! no adapter and no web framework, so that the HTTP API and the CLI share one reading of the
//! format.
#![warn(missing_docs)]

mod central_directory;
mod content;
mod decode;
mod error;
mod layout;
mod limits;
mod manifest;
mod pack;
mod package;
mod read;
mod spool;
mod strip;
mod timers;
mod wire;

pub use crate::content::ArchiveContent;
pub use crate::error::{ArchiveError, PackError};
pub use crate::limits::ArchiveLimits;
pub use crate::pack::{PackedBuild, pack_directory, pack_directory_within};
pub use crate::package::ArchivePackager;
pub use crate::read::{CheckedArchive, check_archive, read_archive};
pub use crate::spool::{SpoolReader, SpooledArchive};
pub use crate::strip::{export_archive, strip_binaries};
