//! A first, minimal reading of a zip's central directory, before the zip crate parses it:
//! the declared entry count, to refuse a huge directory before anything allocates per entry,
//! and the raw entry names, because the zip crate keeps only the last of two entries that
//! share a name, so duplicates can only be seen here.

use std::io::{Read, Seek, SeekFrom};

const EOCD_SIGNATURE: u32 = 0x0605_4b50;
const EOCD_LEN: usize = 22;
const ZIP64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;
const ZIP64_LOCATOR_LEN: usize = 20;
const ZIP64_EOCD_SIGNATURE: u32 = 0x0606_4b50;
const CENTRAL_HEADER_SIGNATURE: u32 = 0x0201_4b50;
const CENTRAL_HEADER_LEN: usize = 46;
/// The zip64 end record up to the fields read here.
const ZIP64_EOCD_LEN: u64 = 56;

/// Why the central directory could not be scanned.
#[derive(Debug)]
pub(crate) enum ScanError {
    /// The archive declares more entries than allowed.
    TooManyEntries(u64),
    /// The structure is broken.
    Unreadable(&'static str),
    /// The archive could not be read.
    Io(std::io::Error),
}

/// The raw names of every central directory entry, in order, duplicates included. Only the
/// archive's tail and its central directory are read, never the entries' data, so that an
/// archive in a file stays there.
pub(crate) fn entry_names<R: Read + Seek>(
    archive: &mut R,
    max_entries: usize,
) -> Result<Vec<Vec<u8>>, ScanError> {
    let len = archive.seek(SeekFrom::End(0)).map_err(ScanError::Io)?;
    // The end record, its comment (at most 64 KiB) and the zip64 locator before it.
    let tail_len = len.min((EOCD_LEN + usize::from(u16::MAX) + ZIP64_LOCATOR_LEN) as u64);
    let tail_start = len - tail_len;
    let tail = read_at(archive, tail_start, tail_len)?;
    let eocd =
        find_eocd(&tail).ok_or(ScanError::Unreadable("no end of central directory record"))?;
    let mut count = u64::from(le16(&tail, eocd + 10)?);
    let mut directory_size = u64::from(le32(&tail, eocd + 12)?);
    let mut directory_end = tail_start + eocd as u64;
    let is_zip64 = count == u64::from(u16::MAX) || directory_size == u64::from(u32::MAX);
    if is_zip64
        && eocd >= ZIP64_LOCATOR_LEN
        && le32(&tail, eocd - ZIP64_LOCATOR_LEN)? == ZIP64_LOCATOR_SIGNATURE
    {
        let record = le64(&tail, eocd - ZIP64_LOCATOR_LEN + 8)?;
        if record >= len {
            return Err(ScanError::Unreadable("zip64 record offset out of range"));
        }
        let zip64 = read_at(archive, record, ZIP64_EOCD_LEN.min(len - record))?;
        if le32(&zip64, 0)? != ZIP64_EOCD_SIGNATURE {
            return Err(ScanError::Unreadable("the zip64 locator points at no zip64 record"));
        }
        count = le64(&zip64, 32)?;
        directory_size = le64(&zip64, 40)?;
        directory_end = record;
    }
    if count > u64::try_from(max_entries).unwrap_or(u64::MAX) {
        return Err(ScanError::TooManyEntries(count));
    }
    // Measured back from the directory's end, so that data prepended to the zip (which shifts
    // every recorded offset) does not matter.
    let start = directory_end
        .checked_sub(directory_size)
        .ok_or(ScanError::Unreadable("the central directory is larger than the archive"))?;
    let directory = read_at(archive, start, directory_size)?;
    let mut names = Vec::new();
    let mut position = 0;
    for _ in 0..count {
        if le32(&directory, position)? != CENTRAL_HEADER_SIGNATURE {
            return Err(ScanError::Unreadable("a central directory header is missing"));
        }
        let name_len = usize::from(le16(&directory, position + 28)?);
        let extra_len = usize::from(le16(&directory, position + 30)?);
        let comment_len = usize::from(le16(&directory, position + 32)?);
        let name_start = position + CENTRAL_HEADER_LEN;
        let next = name_start + name_len + extra_len + comment_len;
        if next > directory.len() {
            return Err(ScanError::Unreadable(
                "a central directory header runs past the directory",
            ));
        }
        names.push(directory[name_start..name_start + name_len].to_vec());
        position = next;
    }
    Ok(names)
}

/// `len` bytes of `archive` from `offset`.
fn read_at<R: Read + Seek>(archive: &mut R, offset: u64, len: u64) -> Result<Vec<u8>, ScanError> {
    archive.seek(SeekFrom::Start(offset)).map_err(ScanError::Io)?;
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    archive.take(len).read_to_end(&mut bytes).map_err(ScanError::Io)?;
    if (bytes.len() as u64) < len {
        return Err(ScanError::Unreadable("a record runs past the end of the archive"));
    }
    Ok(bytes)
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
