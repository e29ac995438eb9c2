//! Content digests (`sha256:<hex>`, `sha512:<hex>`): parsing, hashing, verifying streams.
//!
//! Pure library code used by berthd's pull, store and build paths; owns no resources.
//! Implements the subset of the OCI image spec's digest grammar that registries use:
//! the registered `sha256` and `sha512` algorithms with lowercase hex of the right
//! length. `sha384` and unregistered algorithms are rejected on purpose.

use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256, Sha512};

/// A hash algorithm a [`Digest`] may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// SHA-256, 64 hex characters; what Docker and most registries use.
    Sha256,
    /// SHA-512, 128 hex characters.
    Sha512,
}

impl Algorithm {
    /// The name used in digest strings and blob directories (`sha256`).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Length of the hex encoding of a hash of this algorithm.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    /// The algorithm named `name`, if supported.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "sha256" => Some(Algorithm::Sha256),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a digest string was rejected or a stream did not match its digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// No `:` between algorithm and hex.
    #[error("invalid digest {value:?}: missing ':' between algorithm and hex")]
    MissingSeparator {
        /// The rejected string.
        value: String,
    },
    /// The algorithm is neither `sha256` nor `sha512`.
    #[error("invalid digest {value:?}: unsupported algorithm {algorithm:?}")]
    UnsupportedAlgorithm {
        /// The rejected string.
        value: String,
        /// The algorithm part.
        algorithm: String,
    },
    /// The hex part has the wrong length for the algorithm.
    #[error("invalid digest {value:?}: {algorithm} needs {expected} hex characters, got {actual}")]
    HexLength {
        /// The rejected string.
        value: String,
        /// The algorithm part.
        algorithm: Algorithm,
        /// Required length.
        expected: usize,
        /// Length found.
        actual: usize,
    },
    /// The hex part contains something other than `0-9a-f`.
    #[error("invalid digest {value:?}: hex must be lowercase 0-9a-f")]
    HexCharacters {
        /// The rejected string.
        value: String,
    },
    /// A verified stream hashed to something other than what was expected.
    #[error("digest mismatch: expected {expected}, got {actual}")]
    Mismatch {
        /// The digest the stream should have had.
        expected: Digest,
        /// The digest of the bytes actually seen.
        actual: Digest,
    },
}

/// A validated content digest: an algorithm plus lowercase hex of the right length.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// Builds a digest from an algorithm and its hex encoding, validating the hex.
    pub fn new(algorithm: Algorithm, hex: &str) -> Result<Digest, DigestError> {
        let value = || format!("{algorithm}:{hex}");
        if hex.len() != algorithm.hex_len() {
            return Err(DigestError::HexLength {
                value: value(),
                algorithm,
                expected: algorithm.hex_len(),
                actual: hex.len(),
            });
        }
        if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(DigestError::HexCharacters { value: value() });
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_owned(),
        })
    }

    /// The SHA-256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Digest::of(Algorithm::Sha256, bytes)
    }

    /// The digest of `bytes` under `algorithm`.
    pub fn of(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(bytes);
        hasher.finish()
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The lowercase hex encoding of the hash (no algorithm prefix).
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Digest, DigestError> {
        let Some((algorithm, hex)) = s.split_once(':') else {
            return Err(DigestError::MissingSeparator {
                value: s.to_owned(),
            });
        };
        let Some(alg) = Algorithm::from_name(algorithm) else {
            return Err(DigestError::UnsupportedAlgorithm {
                value: s.to_owned(),
                algorithm: algorithm.to_owned(),
            });
        };
        Digest::new(alg, hex)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Digest, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Incremental hasher for either supported algorithm.
#[derive(Debug, Clone)]
pub enum Hasher {
    /// SHA-256 state.
    Sha256(Sha256),
    /// SHA-512 state.
    Sha512(Sha512),
}

impl Hasher {
    /// A fresh hasher for `algorithm`.
    pub fn new(algorithm: Algorithm) -> Hasher {
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }

    /// The algorithm this hasher computes.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Hasher::Sha256(_) => Algorithm::Sha256,
            Hasher::Sha512(_) => Algorithm::Sha512,
        }
    }

    /// Feeds `bytes` into the hash.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    /// The digest of everything fed so far; the hasher can keep going afterwards.
    pub fn current(&self) -> Digest {
        self.clone().finish()
    }

    /// Consumes the hasher and returns the digest.
    pub fn finish(self) -> Digest {
        let (algorithm, bytes) = match self {
            Hasher::Sha256(h) => (Algorithm::Sha256, h.finalize().to_vec()),
            Hasher::Sha512(h) => (Algorithm::Sha512, h.finalize().to_vec()),
        };
        Digest {
            algorithm,
            hex: to_hex(&bytes),
        }
    }
}

impl Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// A reader that hashes everything read through it and checks the digest at end of stream.
///
/// When the inner reader reports EOF and the bytes seen do not hash to the expected
/// digest, `read` fails with [`io::ErrorKind::InvalidData`] wrapping
/// [`DigestError::Mismatch`], so `io::copy` and friends never finish "successfully" on
/// corrupt content.
#[derive(Debug)]
pub struct VerifyingReader<R> {
    inner: R,
    expected: Digest,
    hasher: Hasher,
    read: u64,
}

impl<R: Read> VerifyingReader<R> {
    /// Wraps `inner`, expecting its full content to hash to `expected`.
    pub fn new(inner: R, expected: Digest) -> VerifyingReader<R> {
        let hasher = Hasher::new(expected.algorithm());
        VerifyingReader {
            inner,
            expected,
            hasher,
            read: 0,
        }
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// Checks the digest of what was read so far and returns the inner reader.
    pub fn finish(self) -> Result<R, DigestError> {
        let actual = self.hasher.finish();
        if actual != self.expected {
            return Err(DigestError::Mismatch {
                expected: self.expected,
                actual,
            });
        }
        Ok(self.inner)
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            let actual = self.hasher.current();
            if actual != self.expected {
                let err = DigestError::Mismatch {
                    expected: self.expected.clone(),
                    actual,
                };
                return Err(io::Error::new(io::ErrorKind::InvalidData, err));
            }
        }
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// A writer that hashes and counts everything written through it.
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    hasher: Hasher,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`, hashing with `algorithm`.
    pub fn new(inner: W, algorithm: Algorithm) -> HashingWriter<W> {
        HashingWriter {
            inner,
            hasher: Hasher::new(algorithm),
            written: 0,
        }
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Returns the inner writer, the digest of everything written and its length.
    pub fn finish(self) -> (W, Digest, u64) {
        (self.inner, self.hasher.finish(), self.written)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str =
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const ABC_SHA512: &str = "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";

    #[test]
    fn known_hashes() {
        assert_eq!(Digest::sha256_of(b"").to_string(), EMPTY_SHA256);
        assert_eq!(
            Digest::of(Algorithm::Sha512, b"abc").to_string(),
            ABC_SHA512
        );
    }

    #[test]
    fn parse_round_trips() {
        for s in [EMPTY_SHA256, ABC_SHA512] {
            let d: Digest = s.parse().unwrap();
            assert_eq!(d.to_string(), s);
        }
        let d: Digest = EMPTY_SHA256.parse().unwrap();
        assert_eq!(d.algorithm(), Algorithm::Sha256);
        assert_eq!(d.hex().len(), 64);
    }

    #[test]
    fn parse_rejects_and_names_value() {
        let upper = EMPTY_SHA256.to_uppercase().replace("SHA256", "sha256");
        type Check = fn(&DigestError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("e3b0c442", |e| {
                matches!(e, DigestError::MissingSeparator { .. })
            }),
            ("md5:abcd", |e| {
                matches!(e, DigestError::UnsupportedAlgorithm { .. })
            }),
            ("sha384:abcd", |e| {
                matches!(e, DigestError::UnsupportedAlgorithm { .. })
            }),
            ("sha256:abcd", |e| {
                matches!(e, DigestError::HexLength { actual: 4, .. })
            }),
            (&upper, |e| matches!(e, DigestError::HexCharacters { .. })),
            (
                "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                |e| matches!(e, DigestError::HexLength { expected: 128, .. }),
            ),
        ];
        for (input, check) in cases {
            let err = input.parse::<Digest>().unwrap_err();
            assert!(check(&err), "{input}: {err:?}");
            assert!(err.to_string().contains(input), "{err} should name {input}");
        }
    }

    #[test]
    fn incremental_equals_one_shot() {
        let mut h = Hasher::new(Algorithm::Sha256);
        h.update(b"hello ");
        assert_eq!(h.current(), Digest::sha256_of(b"hello "));
        h.update(b"world");
        assert_eq!(h.finish(), Digest::sha256_of(b"hello world"));
    }

    #[test]
    fn serde_as_string() {
        let d = Digest::sha256_of(b"");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{EMPTY_SHA256}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
        let err = serde_json::from_str::<Digest>("\"sha256:zz\"").unwrap_err();
        assert!(err.to_string().contains("sha256:zz"));
    }

    #[test]
    fn verifying_reader_passes_good_content() {
        let data = b"some layer bytes".to_vec();
        let mut r = VerifyingReader::new(&data[..], Digest::sha256_of(&data));
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        assert_eq!(r.bytes_read(), data.len() as u64);
        r.finish().unwrap();
    }

    #[test]
    fn verifying_reader_fails_at_eof_on_mismatch() {
        let mut r = VerifyingReader::new(&b"tampered"[..], Digest::sha256_of(b"original"));
        let err = io::copy(&mut r, &mut io::sink()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("digest mismatch"));
        assert!(matches!(r.finish(), Err(DigestError::Mismatch { .. })));
    }

    #[test]
    fn hashing_writer_counts_and_hashes() {
        let mut w = HashingWriter::new(Vec::new(), Algorithm::Sha512);
        w.write_all(b"abc").unwrap();
        assert_eq!(w.written(), 3);
        let (buf, digest, len) = w.finish();
        assert_eq!(buf, b"abc");
        assert_eq!(digest.to_string(), ABC_SHA512);
        assert_eq!(len, 3);
    }
}
