//! Sending bytes out as chunks of at most [`crate::CHUNK_BYTES`], and the shared buffer the
//! Parquet writer writes into between two sends.

use crate::{CHUNK_BYTES, ChunkSender, ExportError};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Sends `bytes` as chunks, waiting for room (the receiver's pace bounds the memory).
pub(crate) async fn send(out: &ChunkSender, bytes: Vec<u8>) -> Result<(), ExportError> {
    if bytes.len() <= CHUNK_BYTES {
        if !bytes.is_empty() {
            out.send(Ok(bytes))
                .await
                .map_err(|_| ExportError::Cancelled)?;
        }
        return Ok(());
    }
    for piece in bytes.chunks(CHUNK_BYTES) {
        out.send(Ok(piece.to_vec()))
            .await
            .map_err(|_| ExportError::Cancelled)?;
    }
    Ok(())
}

/// A `Write` whose bytes are taken out between writes ([`SharedBuffer::take`]).
#[derive(Clone, Default)]
pub(crate) struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    pub(crate) fn take(&self) -> Result<Vec<u8>, ExportError> {
        let mut buffer = self
            .0
            .lock()
            .map_err(|_| std::io::Error::other("export buffer poisoned"))?;
        Ok(std::mem::take(&mut *buffer))
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("export buffer poisoned"))?
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
