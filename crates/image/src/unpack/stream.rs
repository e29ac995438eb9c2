//! The byte pipeline under the tar reader: compression sniffing from magic bytes,
//! a counter for compressed bytes and a sha256 over the uncompressed stream (diff id).
//!
//! Pure data and `Read` adapters used by `unpack` in berthd; nothing is buffered to disk.
//! Supports gzip (incl. multi-member) and zstd; bzip2, xz and the rest are refused.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use sha2::{Digest as _, Sha256};

/// Compression of a layer stream, decided from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain tar.
    None,
    /// gzip (`1f 8b`).
    Gzip,
    /// zstd (`28 b5 2f fd`).
    Zstd,
}

/// Number of bytes [`detect`] wants to see (one tar header block).
pub const SNIFF_LEN: usize = 512;

/// Decides the compression from the first bytes of a layer (up to [`SNIFF_LEN`]); the
/// error names what was seen.
pub fn detect(prefix: &[u8]) -> Result<Compression, String> {
    const KNOWN_UNSUPPORTED: &[(&[u8], &str)] = &[
        (b"BZh", "bzip2"),
        (&[0xfd, b'7', b'z', b'X', b'Z', 0], "xz"),
        (&[0x04, 0x22, 0x4d, 0x18], "lz4"),
        (&[0x5d, 0, 0], "lzma"),
        (b"PK\x03\x04", "zip"),
    ];
    if prefix.is_empty() {
        return Err("an empty stream".to_owned());
    }
    if prefix.starts_with(&[0x1f, 0x8b]) {
        return Ok(Compression::Gzip);
    }
    if prefix.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Ok(Compression::Zstd);
    }
    if let Some((_, name)) = KNOWN_UNSUPPORTED
        .iter()
        .find(|(m, _)| prefix.starts_with(m))
    {
        return Err(format!("{name} magic bytes"));
    }
    if prefix.len() >= SNIFF_LEN && is_tar_header(&prefix[..SNIFF_LEN]) {
        return Ok(Compression::None);
    }
    let shown: Vec<String> = prefix.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Err(format!("unknown bytes {}", shown.join(" ")))
}

/// Whether a 512-byte block is a tar header with a valid checksum, or all zeros (the
/// end-of-archive block of an empty layer).
pub fn is_tar_header(block: &[u8]) -> bool {
    if block.len() != SNIFF_LEN {
        return false;
    }
    if block.iter().all(|b| *b == 0) {
        return true;
    }
    let field = &block[148..156];
    let text: String = field
        .iter()
        .take_while(|b| **b != 0 && **b != b' ')
        .skip_while(|b| **b == b' ')
        .map(|b| *b as char)
        .collect();
    let Ok(stored) = u32::from_str_radix(text.trim(), 8) else {
        return false;
    };
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(*b)
            }
        })
        .sum();
    sum == stored
}

/// Reads up to [`SNIFF_LEN`] bytes (fewer only at end of stream).
pub fn read_prefix(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; SNIFF_LEN];
    let mut filled = 0;
    while filled < SNIFF_LEN {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

/// Counts the bytes read through it into a shared cell.
#[derive(Debug)]
pub struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Counting<R> {
    /// Wraps `inner`; the count is readable through the returned cell.
    pub fn new(inner: R) -> (Self, Rc<Cell<u64>>) {
        let count = Rc::new(Cell::new(0));
        (
            Counting {
                inner,
                count: Rc::clone(&count),
            },
            count,
        )
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Hashes (sha256) and counts every byte read through it.
#[derive(Debug)]
pub struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> Hashing<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Reads the rest of the stream (the tar trailer and padding), then returns
    /// (`sha256:<hex>`, byte count).
    pub fn finish(mut self) -> io::Result<(String, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        let digest = self.hasher.finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        Ok((format!("sha256:{hex}"), self.count))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// sha256 of `data` as `sha256:<hex>`.
pub fn sha256_digest(data: &[u8]) -> String {
    let hex: String = Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_block() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        h.set_cksum();
        b.append_data(&mut h, "x", &[][..]).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn detects_magic() {
        assert_eq!(detect(&[0x1f, 0x8b, 8]), Ok(Compression::Gzip));
        assert_eq!(detect(&[0x28, 0xb5, 0x2f, 0xfd, 0]), Ok(Compression::Zstd));
        assert_eq!(detect(&tar_block()), Ok(Compression::None));
        assert_eq!(detect(&[0u8; 512]), Ok(Compression::None));
        assert!(detect(b"BZh91AY&SY").unwrap_err().contains("bzip2"));
        assert!(detect(&[0xfd, b'7', b'z', b'X', b'Z', 0, 0])
            .unwrap_err()
            .contains("xz"));
        assert!(detect(b"hello").unwrap_err().contains("68 65 6c"));
        assert!(detect(b"").unwrap_err().contains("empty"));
    }

    #[test]
    fn corrupt_tar_header_is_not_tar() {
        let mut block = tar_block();
        block[0] ^= 1;
        assert!(!is_tar_header(&block[..512]));
    }

    #[test]
    fn hashing_counts_and_digests() {
        let data = b"hello world".to_vec();
        let mut h = Hashing::new(&data[..]);
        let mut first = [0u8; 5];
        h.read_exact(&mut first).unwrap();
        let (digest, n) = h.finish().unwrap();
        assert_eq!(n, 11);
        assert_eq!(
            digest,
            "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(digest, sha256_digest(&data));
    }
}
