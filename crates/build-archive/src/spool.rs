//! [`SpooledArchive`]: an archive held in memory while it is small and in an unlinked
//! temporary file once it is not, so that an import or a build creation never holds a
//! large archive in memory, and readers of it that do not share a file position.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt as _;
use std::sync::Arc;

use bytes::Bytes;

/// An archive's bytes, in memory or in a temporary file. Cheap to clone: clones share the
/// bytes or the file, and each [`reader`](Self::reader) has its own position.
#[derive(Debug, Clone)]
pub struct SpooledArchive(Inner);

#[derive(Debug, Clone)]
enum Inner {
    Memory(Bytes),
    File { file: Arc<File>, len: u64 },
}

impl SpooledArchive {
    /// An archive in memory.
    pub fn memory(bytes: Bytes) -> Self {
        Self(Inner::Memory(bytes))
    }

    /// An archive written to `file` (an unlinked temporary file: it goes when the last
    /// clone does). Its length is the file's now; the file must not change afterwards.
    ///
    /// # Errors
    ///
    /// The file's metadata cannot be read.
    pub fn file(file: File) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(Self(Inner::File { file: Arc::new(file), len }))
    }

    /// The archive's size in bytes.
    pub fn len(&self) -> u64 {
        match &self.0 {
            Inner::Memory(bytes) => bytes.len() as u64,
            Inner::File { len, .. } => *len,
        }
    }

    /// Whether the archive is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the archive is in a file rather than in memory.
    pub fn is_in_file(&self) -> bool {
        matches!(self.0, Inner::File { .. })
    }

    /// A reader from the start, with its own position.
    pub fn reader(&self) -> SpoolReader {
        SpoolReader { archive: self.0.clone(), position: 0 }
    }

    /// The whole archive in memory (a copy when it is in a file). Blocking I/O.
    ///
    /// # Errors
    ///
    /// The file cannot be read.
    pub fn to_bytes(&self) -> io::Result<Bytes> {
        match &self.0 {
            Inner::Memory(bytes) => Ok(bytes.clone()),
            Inner::File { len, .. } => {
                let mut bytes = Vec::with_capacity(usize::try_from(*len).unwrap_or(0));
                self.reader().read_to_end(&mut bytes)?;
                Ok(Bytes::from(bytes))
            }
        }
    }
}

/// A reader of a [`SpooledArchive`]. It reads a file with positional reads, so readers of
/// one file never move each other's position.
#[derive(Debug)]
pub struct SpoolReader {
    archive: Inner,
    position: u64,
}

impl Read for SpoolReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = match &self.archive {
            Inner::Memory(bytes) => {
                let start = usize::try_from(self.position).unwrap_or(usize::MAX).min(bytes.len());
                let available = &bytes[start..];
                let n = available.len().min(buf.len());
                buf[..n].copy_from_slice(&available[..n]);
                n
            }
            Inner::File { file, len } => {
                let left = len.saturating_sub(self.position);
                let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                file.read_at(&mut buf[..n], self.position)?
            }
        };
        self.position += read as u64;
        Ok(read)
    }
}

impl Seek for SpoolReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let len = match &self.archive {
            Inner::Memory(bytes) => bytes.len() as u64,
            Inner::File { len, .. } => *len,
        };
        let target = match pos {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::End(delta) => len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "seek before the start of the archive")
        })?;
        self.position = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn readers_of_one_file_keep_their_own_positions() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"0123456789").unwrap();
        let archive = SpooledArchive::file(file).unwrap();
        assert_eq!(archive.len(), 10);
        let mut first = archive.reader();
        let mut second = archive.reader();
        let mut buf = [0; 4];
        first.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"0123");
        second.seek(SeekFrom::End(-3)).unwrap();
        let mut rest = Vec::new();
        second.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"789");
        first.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"4567");
        assert_eq!(archive.to_bytes().unwrap(), Bytes::from_static(b"0123456789"));
    }

    #[test]
    fn memory_and_file_read_alike() {
        let memory = SpooledArchive::memory(Bytes::from_static(b"abcdef"));
        let mut reader = memory.reader();
        reader.seek(SeekFrom::Start(2)).unwrap();
        let mut rest = String::new();
        reader.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "cdef");
        assert!(reader.seek(SeekFrom::Current(-10)).is_err());
    }
}
