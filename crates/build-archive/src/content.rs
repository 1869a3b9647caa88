//! [`ArchiveContent`]: the resources of a checked archive, read again from the archive and
//! decoded batch by batch while they are staged, so that an import holds one batch at a
//! time. It is the domain's `ImportContent` port.

use std::io::Read as _;

use async_trait::async_trait;
use bytes::Bytes;
use domain::builds::ImportContent;
use domain::model::{BuildId, BuildResource};
use domain::ports::{BlobChunks, PortError, PortResult};
use zip::ZipArchive;

use crate::decode;
use crate::error::ArchiveError;
use crate::layout::{self, EntryKind};
use crate::read::inflate_checked;
use crate::spool::{SpoolReader, SpooledArchive};

/// A resource entry that passed the checks.
#[derive(Debug)]
pub(crate) struct ResourceFile {
    /// Its index in the zip.
    pub(crate) index: usize,
    /// Its name.
    pub(crate) path: String,
    /// Its inflated size, as checked.
    pub(crate) size: u64,
}

/// The resources of a checked archive, and the archive itself.
#[derive(Debug)]
pub struct ArchiveContent {
    archive: SpooledArchive,
    /// `None` only while a blocking task reads it.
    reader: Option<Reader>,
}

/// The part that reads: moved into a blocking task for each batch.
#[derive(Debug)]
struct Reader {
    zip: ZipArchive<SpoolReader>,
    files: Vec<ResourceFile>,
    next: usize,
    build_id: Option<BuildId>,
}

impl ArchiveContent {
    pub(crate) fn new(
        archive: SpooledArchive,
        zip: ZipArchive<SpoolReader>,
        files: Vec<ResourceFile>,
    ) -> Self {
        Self { archive, reader: Some(Reader { zip, files, next: 0, build_id: None }) }
    }

    /// Calls `check` with each resource entry's name and content, in name order: the
    /// decoding pass of the checks, one entry in memory at a time.
    pub(crate) fn for_each(
        &mut self,
        mut check: impl FnMut(&str, &[u8]) -> Result<(), ArchiveError>,
    ) -> Result<(), ArchiveError> {
        let reader = self.reader_mut()?;
        for file in &reader.files {
            let json = inflate_checked(&mut reader.zip, file.index, &file.path, file.size)?;
            check(&file.path, &json)?;
        }
        Ok(())
    }

    /// Starts handing the resources over from the first, as resources of `build_id`.
    pub(crate) fn rewind(&mut self, build_id: BuildId) {
        if let Some(reader) = self.reader.as_mut() {
            reader.next = 0;
            reader.build_id = Some(build_id);
        }
    }

    /// The next `max` resources (blocking).
    pub(crate) fn read_resources(
        &mut self,
        max: usize,
    ) -> Result<Vec<BuildResource>, ArchiveError> {
        self.reader_mut()?.read(max)
    }

    fn reader_mut(&mut self) -> Result<&mut Reader, ArchiveError> {
        self.reader
            .as_mut()
            .ok_or_else(|| ArchiveError::unreadable("an earlier read of the archive failed"))
    }
}

impl Reader {
    fn read(&mut self, max: usize) -> Result<Vec<BuildResource>, ArchiveError> {
        let build_id =
            self.build_id.ok_or_else(|| ArchiveError::unreadable("the archive is not checked"))?;
        let end = self.files.len().min(self.next.saturating_add(max));
        let mut resources = Vec::with_capacity(end - self.next);
        for file in &self.files[self.next..end] {
            let Some(EntryKind::Resource { resource_type, definition_id }) =
                layout::classify(&file.path)
            else {
                return Err(ArchiveError::unreadable(format!("`{}` is not a resource", file.path)));
            };
            let json = inflate_checked(&mut self.zip, file.index, &file.path, file.size)?;
            resources.push(decode::resource(
                &file.path,
                &json,
                resource_type,
                definition_id,
                build_id,
            )?);
        }
        self.next = end;
        Ok(resources)
    }
}

/// The spooled archive, read a chunk at a time for the blob store's streamed put.
#[derive(Debug)]
struct ArchiveChunks {
    len: u64,
    /// `None` only while a blocking task reads it.
    reader: Option<SpoolReader>,
}

#[async_trait]
impl BlobChunks for ArchiveChunks {
    fn len(&self) -> u64 {
        self.len
    }

    async fn next_chunk(&mut self, max: usize) -> PortResult<Option<Bytes>> {
        let mut reader = self
            .reader
            .take()
            .ok_or_else(|| PortError::Backend("an earlier read of the archive failed".into()))?;
        let len = self.len;
        // A spooled archive is read from its file: blocking I/O, off the async workers. The
        // reader moves into the task and back.
        let (reader, read) = tokio::task::spawn_blocking(move || {
            let mut chunk = Vec::with_capacity(max.min(usize::try_from(len).unwrap_or(max)));
            let read = (&mut reader).take(max as u64).read_to_end(&mut chunk).map(|_| chunk);
            (reader, read)
        })
        .await
        .map_err(|err| PortError::Backend(format!("the archive read task failed: {err}").into()))?;
        self.reader = Some(reader);
        let chunk = read.map_err(|err| PortError::Backend(Box::new(err)))?;
        Ok((!chunk.is_empty()).then(|| Bytes::from(chunk)))
    }
}

#[async_trait]
impl ImportContent for ArchiveContent {
    async fn archive(&mut self) -> PortResult<Box<dyn BlobChunks>> {
        Ok(Box::new(ArchiveChunks { len: self.archive.len(), reader: Some(self.archive.reader()) }))
    }

    async fn next_resources(&mut self, max: usize) -> PortResult<Vec<BuildResource>> {
        let mut reader = self
            .reader
            .take()
            .ok_or_else(|| PortError::Backend("an earlier read of the archive failed".into()))?;
        // Inflating and decoding is CPU work: off the async workers. The reader moves into
        // the task and back, so that no lock is needed.
        let (reader, read) = tokio::task::spawn_blocking(move || {
            let read = reader.read(max);
            (reader, read)
        })
        .await
        .map_err(|err| PortError::Backend(format!("the archive read task failed: {err}").into()))?;
        self.reader = Some(reader);
        // The archive passed every check before: a failure here is the file's, not the
        // caller's (it changed or cannot be read), and the import is undone.
        read.map_err(|err| PortError::Backend(Box::new(err)))
    }
}
