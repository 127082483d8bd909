//! The spool: records that wait until caps are allocated, kept in a temporary file (in memory up
//! to 16 MiB), LZ4-compressed since decisions repeat their rules' texts. Writing ~600 bytes a
//! record to disk and reading them back was a quarter of a run; compressed, it is a fraction.
//! (Compressing on a thread of its own was tried: no faster on two cores, and 15 MiB more.)

use std::io::{self, BufWriter, Write};

use lz4_flex::frame::{FrameDecoder, FrameEncoder};
use tempfile::SpooledTempFile;

/// Where the spool stays in memory before it goes to disk.
const IN_MEMORY: usize = 16 * 1024 * 1024;

/// A spool being written.
pub(super) struct Spool(BufWriter<FrameEncoder<SpooledTempFile>>);

impl Spool {
    pub(super) fn new() -> Spool {
        Spool(BufWriter::with_capacity(
            1 << 16,
            FrameEncoder::new(SpooledTempFile::new(IN_MEMORY)),
        ))
    }

    /// The spool written, ready to be read from its start.
    pub(super) fn finish(self) -> io::Result<impl io::Read> {
        let mut file = self
            .0
            .into_inner()
            .map_err(|e| e.into_error())?
            .finish()
            .map_err(io::Error::other)?;
        io::Seek::rewind(&mut file)?;
        Ok(FrameDecoder::new(file))
    }
}

impl Write for Spool {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.write(bytes)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::Spool;
    use std::io::{Read, Write};

    #[test]
    fn the_spool_gives_back_what_was_written() {
        let mut spool = Spool::new();
        let mut written = Vec::new();
        // Many blocks of the compressor, in writes of many sizes.
        for i in 0..200_000u32 {
            let record = format!(
                "{{\"line\":{i},\"reason\":\"{}\"}}\n",
                "r".repeat((i % 97) as usize)
            );
            written.extend_from_slice(record.as_bytes());
            assert!(spool.write_all(record.as_bytes()).is_ok());
        }
        let mut read = Vec::new();
        let finished = spool.finish().and_then(|mut r| r.read_to_end(&mut read));
        assert!(finished.is_ok(), "{finished:?}");
        assert!(read == written, "the spool gave back other bytes");
    }
}
