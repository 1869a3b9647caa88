//! A first, minimal reading of a zip's central directory, before the zip crate parses it:
//! the declared entry count, to refuse a huge directory before anything allocates per entry,
//! and the raw entry names, because the zip crate keeps only the last of two entries that
//! share a name, so duplicates can only be seen here.

const EOCD_SIGNATURE: u32 = 0x0605_4b50;
const EOCD_LEN: usize = 22;
const ZIP64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;
const ZIP64_LOCATOR_LEN: usize = 20;
const ZIP64_EOCD_SIGNATURE: u32 = 0x0606_4b50;
const CENTRAL_HEADER_SIGNATURE: u32 = 0x0201_4b50;
const CENTRAL_HEADER_LEN: usize = 46;

/// Why the central directory could not be scanned.
#[derive(Debug)]
pub(crate) enum ScanError {
    /// The archive declares more entries than allowed.
    TooManyEntries(u64),
    /// The structure is broken.
    Unreadable(&'static str),
}

/// The raw names of every central directory entry, in order, duplicates included.
pub(crate) fn entry_names(archive: &[u8], max_entries: usize) -> Result<Vec<&[u8]>, ScanError> {
    let eocd =
        find_eocd(archive).ok_or(ScanError::Unreadable("no end of central directory record"))?;
    let mut count = u64::from(le16(archive, eocd + 10)?);
    let mut directory_size = u64::from(le32(archive, eocd + 12)?);
    let mut directory_end = eocd;
    let is_zip64 = count == u64::from(u16::MAX) || directory_size == u64::from(u32::MAX);
    if is_zip64
        && eocd >= ZIP64_LOCATOR_LEN
        && le32(archive, eocd - ZIP64_LOCATOR_LEN)? == ZIP64_LOCATOR_SIGNATURE
    {
        let record = usize::try_from(le64(archive, eocd - ZIP64_LOCATOR_LEN + 8)?)
            .map_err(|_| ScanError::Unreadable("zip64 record offset out of range"))?;
        if le32(archive, record)? != ZIP64_EOCD_SIGNATURE {
            return Err(ScanError::Unreadable("the zip64 locator points at no zip64 record"));
        }
        count = le64(archive, record + 32)?;
        directory_size = le64(archive, record + 40)?;
        directory_end = record;
    }
    if count > u64::try_from(max_entries).unwrap_or(u64::MAX) {
        return Err(ScanError::TooManyEntries(count));
    }
    // Measured back from the directory's end, so that data prepended to the zip (which shifts
    // every recorded offset) does not matter.
    let start = usize::try_from(directory_size)
        .ok()
        .and_then(|size| directory_end.checked_sub(size))
        .ok_or(ScanError::Unreadable("the central directory is larger than the archive"))?;
    let mut names = Vec::new();
    let mut position = start;
    for _ in 0..count {
        if le32(archive, position)? != CENTRAL_HEADER_SIGNATURE {
            return Err(ScanError::Unreadable("a central directory header is missing"));
        }
        let name_len = usize::from(le16(archive, position + 28)?);
        let extra_len = usize::from(le16(archive, position + 30)?);
        let comment_len = usize::from(le16(archive, position + 32)?);
        let name_start = position + CENTRAL_HEADER_LEN;
        let next = name_start + name_len + extra_len + comment_len;
        if next > directory_end {
            return Err(ScanError::Unreadable(
                "a central directory header runs past the directory",
            ));
        }
        names.push(&archive[name_start..name_start + name_len]);
        position = next;
    }
    Ok(names)
}

/// The position of the end of central directory record: the last signature whose comment
/// fits in the rest of the archive.
fn find_eocd(archive: &[u8]) -> Option<usize> {
    let last = archive.len().checked_sub(EOCD_LEN)?;
    let first = last.saturating_sub(usize::from(u16::MAX));
    (first..=last).rev().find(|&position| {
        let comment_len = le16(archive, position + 20).map(usize::from);
        le32(archive, position).ok() == Some(EOCD_SIGNATURE)
            && comment_len.is_ok_and(|len| position + EOCD_LEN + len <= archive.len())
    })
}

fn bytes<const N: usize>(archive: &[u8], at: usize) -> Result<[u8; N], ScanError> {
    archive
        .get(at..at.saturating_add(N))
        .and_then(|slice| slice.try_into().ok())
        .ok_or(ScanError::Unreadable("a record runs past the end of the archive"))
}

fn le16(archive: &[u8], at: usize) -> Result<u16, ScanError> {
    bytes(archive, at).map(u16::from_le_bytes)
}

fn le32(archive: &[u8], at: usize) -> Result<u32, ScanError> {
    bytes(archive, at).map(u32::from_le_bytes)
}

fn le64(archive: &[u8], at: usize) -> Result<u64, ScanError> {
    bytes(archive, at).map(u64::from_le_bytes)
}
