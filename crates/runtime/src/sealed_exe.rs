//! Re-exec from a sealed memfd copy of the runtime binary (CVE-2019-5736).
