//! Re-indenting and compacting raw JSON text without parsing it, like Go's
//! `json.Indent` / `json.Compact`, so `network inspect` prints the daemon's keys in the
//! daemon's order and its strings byte for byte (docker/cli's indented inspector).
//!
//! Runs in the CLI process; pure code. The input is assumed to be valid JSON (it comes
//! from the daemon); only whitespace outside strings is changed.

/// Calls `f` with each significant byte of `raw` and whether it is inside a string.
fn tokens(raw: &[u8], mut f: impl FnMut(u8, bool)) {
    let (mut in_str, mut escaped) = (false, false);
    for &c in raw {
        if in_str {
            f(c, true);
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_str = false;
            }
        } else if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            if c == b'"' {
                in_str = true;
            }
            f(c, false);
        }
    }
}

/// `raw` with insignificant whitespace removed.
pub fn compact(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    tokens(raw, |c, _| out.push(c));
    String::from_utf8_lossy(&out).into_owned()
}

/// `raw` re-indented with `indent` per level; empty objects and arrays stay `{}`/`[]`.
pub fn indent(raw: &[u8], indent: &str) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(raw.len() * 2);
    let mut depth = 0usize;
    // An opening bracket was just written; the line break waits for its first element.
    let mut pending_open = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        for _ in 0..depth {
            out.extend_from_slice(indent.as_bytes());
        }
    };
    tokens(raw, |c, in_str| {
        if in_str {
            out.push(c);
            return;
        }
        if pending_open && c != b'}' && c != b']' {
            pending_open = false;
            depth += 1;
            newline(&mut out, depth);
        }
        match c {
            b'{' | b'[' => {
                out.push(c);
                pending_open = true;
            }
            b'}' | b']' => {
                if pending_open {
                    pending_open = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            b',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(c),
        }
    });
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &[u8] =
        br#"{"Name":"n1","Id":"ab","IPAM":{"Options":{},"Config":[{"Subnet":"10.1.0.0/24"}]},"Containers":{},"Labels":{"a \"b\":c":"x, y"},"List":[]}
"#;

    #[test]
    fn indents_like_go() {
        let want = r#"{
    "Name": "n1",
    "Id": "ab",
    "IPAM": {
        "Options": {},
        "Config": [
            {
                "Subnet": "10.1.0.0/24"
            }
        ]
    },
    "Containers": {},
    "Labels": {
        "a \"b\":c": "x, y"
    },
    "List": []
}"#;
        assert_eq!(indent(RAW, "    "), want);
        assert_eq!(indent(b"[]", "    "), "[]");
    }

    #[test]
    fn compacts_and_keeps_string_whitespace() {
        assert_eq!(
            compact(b"[ {\"a\" : \"x y\" } ,\n {} ]\n"),
            r#"[{"a":"x y"},{}]"#
        );
        assert_eq!(compact(RAW).len(), RAW.len() - 1);
    }
}
