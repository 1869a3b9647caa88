//! Multipart uploads (a build archive, a media binary): the one `file` field, read chunk by
//! chunk and refused with 413 as soon as it passes its limit.

use actix_multipart::Multipart;
use bytes::BytesMut;
use futures_util::StreamExt as _;

use crate::ApiError;

/// Reads the `file` field (the `what` named in refusals), refusing more than `limit` bytes
/// while they arrive.
pub(crate) async fn read_file_field(
    mut form: Multipart,
    limit: u64,
    what: &str,
) -> Result<bytes::Bytes, ApiError> {
    let mut file = None;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|err| {
            ApiError::malformed("malformed_multipart", format!("invalid multipart body: {err}"))
        })?;
        let is_file = field.name() == Some("file");
        let mut bytes = BytesMut::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|err| {
                ApiError::malformed("malformed_multipart", format!("invalid multipart body: {err}"))
            })?;
            if !is_file {
                continue;
            }
            if (bytes.len() + chunk.len()) as u64 > limit {
                return Err(ApiError::TooLarge(format!(
                    "the {what} is larger than the limit of {limit} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        if is_file {
            if file.is_some() {
                return Err(ApiError::malformed(
                    "malformed_multipart",
                    "the form has more than one `file` field",
                ));
            }
            file = Some(bytes.freeze());
        }
    }
    file.ok_or_else(|| {
        ApiError::malformed("missing_file", format!("the form has no `file` field with the {what}"))
    })
}
