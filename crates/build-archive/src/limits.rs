//! How much an archive may weigh, hold and inflate to.

/// Limits applied while reading an archive. They bound the memory and time an import can
/// take, whatever the archive's headers claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Size of the archive itself, in bytes.
    pub max_archive_bytes: u64,
    /// Number of entries, directories included.
    pub max_entries: usize,
    /// Sum of the inflated sizes of all entries, in bytes.
    pub max_inflated_bytes: u64,
    /// Inflated size divided by compressed size, per entry and for the whole archive. It is
    /// not applied to less than [`ArchiveLimits::RATIO_FLOOR_BYTES`] of inflated data.
    pub max_compression_ratio: u64,
}

impl ArchiveLimits {
    /// Inflated bytes below which the compression ratio is not checked: the ratio of small
    /// entries says nothing (a few hundred spaces deflate a hundredfold) and they cannot be a
    /// bomb, since the total is bounded by `max_inflated_bytes` and the whole archive's
    /// ratio is checked too.
    pub const RATIO_FLOOR_BYTES: u64 = 1024 * 1024;
}

impl Default for ArchiveLimits {
    /// 100 MiB of archive, 20 000 entries, 512 MiB inflated, ratio 100.
    fn default() -> Self {
        Self {
            max_archive_bytes: 100 * 1024 * 1024,
            max_entries: 20_000,
            max_inflated_bytes: 512 * 1024 * 1024,
            max_compression_ratio: 100,
        }
    }
}
