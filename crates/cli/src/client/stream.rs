//! Decoding of container output streams: Docker's multiplexed framing (8-byte header:
//! stream type, three zero bytes, big-endian u32 length) for containers without a TTY,
//! and plain copying for TTY containers.
//!
//! Runs in the CLI process on whatever thread owns the stream. Every frame is written
//! and flushed at once so interactive output is not held back.

use std::io::{self, ErrorKind, Read, Write};

/// Copies a multiplexed stream to `out` (stdin/stdout frames) and `err` (stderr frames)
/// until EOF; a system-error frame (type 3) ends the copy with its text as the error.
pub fn demux(mut r: impl Read, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<()> {
    let mut header = [0u8; 8];
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match read_full(&mut r, &mut header)? {
            0 => return Ok(()),
            8 => {}
            _ => {
                return Err(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "truncated frame header",
                ))
            }
        }
        let mut left = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let mut system = Vec::new();
        while left > 0 {
            let want = left.min(buf.len());
            let n = r.read(&mut buf[..want])?;
            if n == 0 {
                return Err(io::Error::new(ErrorKind::UnexpectedEof, "truncated frame"));
            }
            left -= n;
            match header[0] {
                0 | 1 => out.write_all(&buf[..n])?,
                2 => err.write_all(&buf[..n])?,
                3 => system.extend_from_slice(&buf[..n]),
                t => {
                    return Err(io::Error::new(
                        ErrorKind::InvalidData,
                        format!("unrecognized stream type {t}"),
                    ))
                }
            }
        }
        if header[0] == 3 {
            return Err(io::Error::other(
                String::from_utf8_lossy(&system).into_owned(),
            ));
        }
        out.flush()?;
        err.flush()?;
    }
}

/// Reads until `buf` is full or EOF; returns how many bytes arrived.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Copies a raw (TTY) stream to `out`, flushing after every read.
pub fn copy_raw(mut r: impl Read, out: &mut dyn Write) -> io::Result<()> {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.write_all(&buf[..n])?;
        out.flush()?;
    }
}

/// Copies a container stream, demultiplexing unless `tty`.
pub fn copy_output(r: impl Read, tty: bool) -> io::Result<()> {
    let stdout = io::stdout();
    let stderr = io::stderr();
    let mut out = stdout.lock();
    if tty {
        copy_raw(r, &mut out)
    } else {
        let mut err = stderr.lock();
        demux(r, &mut out, &mut err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(t: u8, data: &[u8]) -> Vec<u8> {
        let mut v = vec![t, 0, 0, 0];
        v.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn splits_stdout_and_stderr() {
        let mut raw = frame(1, b"hello ");
        raw.extend(frame(2, b"oops\n"));
        raw.extend(frame(1, b"world\n"));
        raw.extend(frame(1, b""));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        demux(&raw[..], &mut out, &mut err).unwrap();
        assert_eq!(out, b"hello world\n");
        assert_eq!(err, b"oops\n");
    }

    #[test]
    fn large_frames_and_byte_by_byte_reads() {
        struct OneByte<'a>(&'a [u8]);
        impl Read for OneByte<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        let big = vec![b'x'; 100_000];
        let raw = frame(1, &big);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        demux(OneByte(&raw), &mut out, &mut err).unwrap();
        assert_eq!(out.len(), 100_000);
    }

    #[test]
    fn system_error_frame_and_truncation() {
        let raw = frame(3, b"exec failed");
        let e = demux(&raw[..], &mut Vec::new(), &mut Vec::new()).unwrap_err();
        assert_eq!(e.to_string(), "exec failed");
        let raw = &frame(1, b"abc")[..9];
        assert!(demux(raw, &mut Vec::new(), &mut Vec::new()).is_err());
        assert!(demux(&[1u8, 0, 0][..], &mut Vec::new(), &mut Vec::new()).is_err());
    }
}
