//! Why an archive was refused, and why a directory could not be packed.

use std::path::PathBuf;

use domain::model::ValidationError;

/// Why an archive was refused. Each variant has a stable [`code`](ArchiveError::code); the
/// message is lowercase and names the entry where there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// The archive is larger than `max_archive_bytes`.
    #[error("the archive has {size} bytes, more than the limit of {limit}")]
    ArchiveTooLarge {
        /// Size of the archive.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not a zip file, or a corrupt one.
    #[error("the archive is not a readable zip file: {reason}")]
    ArchiveUnreadable {
        /// What went wrong.
        reason: String,
    },
    /// An entry name that could escape a directory or means different things to different tools.
    #[error("entry `{entry}` has an unsafe name: {reason}")]
    UnsafeEntryName {
        /// The entry, as printable text.
        entry: String,
        /// What is unsafe about it.
        reason: &'static str,
    },
    /// A symbolic link entry.
    #[error("entry `{entry}` is a symbolic link; an archive holds only files and directories")]
    LinkEntry {
        /// The entry.
        entry: String,
    },
    /// More entries than `max_entries`.
    #[error("the archive has {count} entries, more than the limit of {limit}")]
    TooManyEntries {
        /// Entries the archive declares.
        count: u64,
        /// The limit.
        limit: usize,
    },
    /// The entries inflate to more than `max_inflated_bytes` in total.
    #[error("the archive inflates to more than {limit} bytes (stopped at entry `{entry}`)")]
    InflatedSizeExceeded {
        /// The entry that crossed the limit.
        entry: String,
        /// The limit.
        limit: u64,
    },
    /// An entry inflates to more than `max_compression_ratio` times its compressed size.
    #[error("entry `{entry}` inflates to more than {limit} times its compressed size")]
    CompressionRatioExceeded {
        /// The entry.
        entry: String,
        /// The limit.
        limit: u64,
    },
    /// The archive as a whole inflates to more than `max_compression_ratio` times its
    /// compressed size.
    #[error("the archive's entries inflate to more than {limit} times their compressed size")]
    ArchiveCompressionRatioExceeded {
        /// The limit.
        limit: u64,
    },
    /// `formatVersion` is not 1.
    #[error("entry `{entry}` has format version {found}; this installation reads format 1")]
    UnsupportedFormatVersion {
        /// `manifest.json` or `build.json`.
        entry: &'static str,
        /// The version found, as JSON text.
        found: String,
    },
    /// `build.json` or `manifest.json` is absent.
    #[error("entry `{entry}` is missing")]
    MissingEntry {
        /// The entry.
        entry: &'static str,
    },
    /// An entry outside the layout, not listed in the manifest, or listed but absent.
    #[error("entry `{entry}` is unexpected: {reason}")]
    UnexpectedEntry {
        /// The entry.
        entry: String,
        /// Why.
        reason: &'static str,
    },
    /// An entry's SHA-256 differs from the manifest's.
    #[error("entry `{entry}` has sha256 {actual}; manifest.json says {expected}")]
    EntryHashMismatch {
        /// The entry.
        entry: String,
        /// What the manifest says.
        expected: String,
        /// What the entry hashes to.
        actual: String,
    },
    /// An entry's size differs from the manifest's.
    #[error("entry `{entry}` has {actual} bytes; manifest.json says {expected}")]
    EntrySizeMismatch {
        /// The entry.
        entry: String,
        /// What the manifest says.
        expected: u64,
        /// The entry's inflated size.
        actual: u64,
    },
    /// The manifest's checksum is not the checksum of its entries.
    #[error("manifest.json has checksum {expected}; its entries give {actual}")]
    ChecksumMismatch {
        /// What the manifest says.
        expected: String,
        /// What its entries give.
        actual: String,
    },
    /// An entry is not JSON, or not of the expected shape.
    #[error("entry `{entry}` is not valid: {reason}")]
    InvalidJson {
        /// The entry.
        entry: String,
        /// The parser's message.
        reason: String,
    },
    /// A value breaks a rule of the model.
    #[error("entry `{entry}` breaks a rule of the model: {error}")]
    InvalidBuild {
        /// The entry.
        entry: String,
        /// The field and the rule.
        error: ValidationError,
    },
    /// Two resources of one type share a definition id.
    #[error(
        "{resource_type} resource {definition_id} appears twice: in `{first}` and in `{second}`"
    )]
    DuplicateResource {
        /// Resource type.
        resource_type: String,
        /// Definition id.
        definition_id: String,
        /// The first entry.
        first: String,
        /// The second entry.
        second: String,
    },
    /// Two resources of one type share a name.
    #[error("two {resource_type} resources are named `{name}`: `{first}` and `{second}`")]
    DuplicateResourceName {
        /// Resource type.
        resource_type: String,
        /// The name.
        name: String,
        /// The first entry.
        first: String,
        /// The second entry.
        second: String,
    },
    /// A resource's path does not match its content.
    #[error("entry `{entry}` does not match its path: {reason}")]
    ResourcePathMismatch {
        /// The entry.
        entry: String,
        /// What differs.
        reason: String,
    },
    /// A binary's bytes do not hash to its name.
    #[error("entry `{entry}` hashes to {actual}, not to its name")]
    BinaryHashMismatch {
        /// The entry.
        entry: String,
        /// What its bytes hash to.
        actual: String,
    },
    /// Two entries with one name.
    #[error("entry `{entry}` appears more than once")]
    DuplicateEntry {
        /// The entry.
        entry: String,
    },
    /// `schedule.json` is not of its shape, or switches a timer the build does not have.
    #[error("entry `schedule.json` is not valid: {reason}")]
    InvalidSchedule {
        /// What is wrong.
        reason: String,
    },
    /// A timer start event of a process is refused: its code is the rule's own
    /// (`invalid_timer_expression`, `unknown_timer_type`, `duplicate_timer`, `invalid_timer`).
    #[error("entry `{entry}` has a timer that is refused: {error}")]
    InvalidTimer {
        /// The process's entry.
        entry: String,
        /// The field, the rule and its code.
        error: ValidationError,
    },
}

impl ArchiveError {
    /// Stable, machine-readable code of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ArchiveTooLarge { .. } => "archive_too_large",
            Self::ArchiveUnreadable { .. } => "archive_unreadable",
            Self::UnsafeEntryName { .. } => "unsafe_entry_name",
            Self::LinkEntry { .. } => "link_entry",
            Self::TooManyEntries { .. } => "too_many_entries",
            Self::InflatedSizeExceeded { .. } => "inflated_size_exceeded",
            Self::CompressionRatioExceeded { .. }
            | Self::ArchiveCompressionRatioExceeded { .. } => "compression_ratio_exceeded",
            Self::UnsupportedFormatVersion { .. } => "unsupported_format_version",
            Self::MissingEntry { .. } => "missing_entry",
            Self::UnexpectedEntry { .. } => "unexpected_entry",
            Self::EntryHashMismatch { .. } => "entry_hash_mismatch",
            Self::EntrySizeMismatch { .. } => "entry_size_mismatch",
            Self::ChecksumMismatch { .. } => "checksum_mismatch",
            Self::InvalidJson { .. } => "invalid_json",
            Self::InvalidBuild { .. } => "invalid_build",
            Self::DuplicateResource { .. } => "duplicate_resource",
            Self::DuplicateResourceName { .. } => "duplicate_resource_name",
            Self::ResourcePathMismatch { .. } => "resource_path_mismatch",
            Self::BinaryHashMismatch { .. } => "binary_hash_mismatch",
            Self::DuplicateEntry { .. } => "duplicate_entry",
            Self::InvalidTimer { error, .. } => error.code(),
            Self::InvalidSchedule { .. } => "invalid_schedule",
        }
    }

    /// The entry the refusal is about, when it is about one.
    pub fn entry(&self) -> Option<&str> {
        match self {
            Self::UnsafeEntryName { entry, .. }
            | Self::LinkEntry { entry }
            | Self::InflatedSizeExceeded { entry, .. }
            | Self::CompressionRatioExceeded { entry, .. }
            | Self::UnexpectedEntry { entry, .. }
            | Self::EntryHashMismatch { entry, .. }
            | Self::EntrySizeMismatch { entry, .. }
            | Self::InvalidJson { entry, .. }
            | Self::InvalidBuild { entry, .. }
            | Self::ResourcePathMismatch { entry, .. }
            | Self::BinaryHashMismatch { entry, .. }
            | Self::DuplicateEntry { entry }
            | Self::InvalidTimer { entry, .. } => Some(entry),
            Self::DuplicateResource { second, .. } | Self::DuplicateResourceName { second, .. } => {
                Some(second)
            }
            Self::UnsupportedFormatVersion { entry, .. } | Self::MissingEntry { entry } => {
                Some(entry)
            }
            Self::InvalidSchedule { .. } => Some("schedule.json"),
            Self::ArchiveTooLarge { .. }
            | Self::ArchiveUnreadable { .. }
            | Self::TooManyEntries { .. }
            | Self::ArchiveCompressionRatioExceeded { .. }
            | Self::ChecksumMismatch { .. } => None,
        }
    }

    pub(crate) fn unreadable(reason: impl Into<String>) -> Self {
        Self::ArchiveUnreadable { reason: reason.into() }
    }

    pub(crate) fn invalid_json(entry: &str, error: &serde_json::Error) -> Self {
        Self::InvalidJson { entry: entry.to_owned(), reason: error.to_string() }
    }

    pub(crate) fn invalid_build(entry: &str, error: ValidationError) -> Self {
        Self::InvalidBuild { entry: entry.to_owned(), error }
    }
}

/// Why a directory could not be packed into an archive. Messages name the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackError {
    /// A file or directory could not be read.
    #[error("cannot read `{}`: {error}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The failure.
        error: std::io::Error,
    },
    /// A required file is absent.
    #[error("`{}` is missing: every build directory needs one", path.display())]
    MissingFile {
        /// The file that should be there.
        path: PathBuf,
    },
    /// A symbolic link inside the directory.
    #[error("`{}` is a symbolic link; a build directory holds only files and directories", path.display())]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// A file or directory outside the layout.
    #[error("`{}` does not belong in a build directory: {reason}", path.display())]
    UnexpectedFile {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// The packed archive would be refused on import.
    #[error("`{}` is not an importable build: {error}", dir.display())]
    Invalid {
        /// The directory.
        dir: PathBuf,
        /// How an import would refuse it.
        error: Box<ArchiveError>,
    },
    /// The zip writer failed.
    #[error("cannot write the archive: {reason}")]
    Write {
        /// The writer's message.
        reason: String,
    },
}
