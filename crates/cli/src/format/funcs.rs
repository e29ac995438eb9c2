//! The functions and value printing of the `--format` template language: Go's
//! text/template builtins that Docker users rely on (`json`, `index`, `join`, `printf`,
//! comparisons) plus Docker's own (`upper`, `lower`, `title`, `split`, `truncate`, `pad`).
//!
//! Runs in the CLI process; pure code. Values print like Go's `%v` for decoded JSON.

use anyhow::{anyhow, bail, Result};
use serde_json::Value;

fn arg<'a>(args: &'a [Value], i: usize, f: &str) -> Result<&'a Value> {
    args.get(i)
        .ok_or_else(|| anyhow!("template: wrong number of args for {f}"))
}

pub fn call(name: &str, args: Vec<Value>) -> Result<Value> {
    let s = |v: &Value| display(v);
    Ok(match name {
        "json" => Value::String(go_json(arg(&args, 0, name)?)),
        "index" => {
            let mut cur = arg(&args, 0, name)?.clone();
            for k in &args[1..] {
                cur = match (&cur, k) {
                    (Value::Array(a), Value::Number(n)) => n
                        .as_u64()
                        .and_then(|i| a.get(usize::try_from(i).ok()?))
                        .cloned()
                        .ok_or_else(|| anyhow!("template: index out of range"))?,
                    (Value::Object(m), k) => m.get(&s(k)).cloned().unwrap_or(Value::Null),
                    _ => Value::Null,
                };
            }
            cur
        }
        "join" => {
            let sep = s(arg(&args, 1, name)?);
            match arg(&args, 0, name)? {
                Value::Array(a) => Value::String(a.iter().map(s).collect::<Vec<_>>().join(&sep)),
                other => Value::String(s(other)),
            }
        }
        "split" => Value::Array(
            s(arg(&args, 0, name)?)
                .split(&s(arg(&args, 1, name)?))
                .map(|p| Value::String(p.into()))
                .collect(),
        ),
        "upper" => Value::String(s(arg(&args, 0, name)?).to_uppercase()),
        "lower" => Value::String(s(arg(&args, 0, name)?).to_lowercase()),
        "title" => Value::String(title(&s(arg(&args, 0, name)?))),
        "len" => Value::from(match arg(&args, 0, name)? {
            Value::Array(a) => a.len(),
            Value::Object(m) => m.len(),
            Value::String(t) => t.len(),
            _ => 0,
        }),
        "print" => Value::String(args.iter().map(s).collect::<Vec<_>>().join("")),
        "println" => Value::String(args.iter().map(s).collect::<Vec<_>>().join(" ") + "\n"),
        "printf" => Value::String(printf(&s(arg(&args, 0, name)?), &args[1..])),
        "truncate" => {
            let n = arg(&args, 1, name)?.as_u64().unwrap_or(0);
            let text = s(arg(&args, 0, name)?);
            Value::String(text.chars().take(usize::try_from(n).unwrap_or(0)).collect())
        }
        "pad" => {
            let text = s(arg(&args, 0, name)?);
            let l = arg(&args, 1, name)?.as_u64().unwrap_or(0) as usize;
            let r = arg(&args, 2, name)?.as_u64().unwrap_or(0) as usize;
            Value::String(format!("{}{text}{}", " ".repeat(l), " ".repeat(r)))
        }
        "eq" => Value::Bool(args[1..].iter().any(|b| eq(arg(&args, 0, "eq").ok(), b))),
        "ne" => Value::Bool(!eq(args.first(), arg(&args, 1, name)?)),
        "not" => Value::Bool(!truthy(arg(&args, 0, name)?)),
        "and" => args
            .iter()
            .find(|v| !truthy(v))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        "or" => args
            .iter()
            .find(|v| truthy(v))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        _ => bail!("template: function {name:?} not defined"),
    })
}

fn eq(a: Option<&Value>, b: &Value) -> bool {
    match (a, b) {
        (Some(Value::Number(x)), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Some(x), y) => x == y,
        (None, _) => false,
    }
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    out
}

/// `%s %v %d %q %%` only, enough for common `printf` uses.
fn printf(fmt: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut it = fmt.chars();
    let mut i = 0;
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('%') => out.push('%'),
            Some('q') => {
                out.push_str(
                    &serde_json::to_string(&display(args.get(i).unwrap_or(&Value::Null)))
                        .unwrap_or_default(),
                );
                i += 1;
            }
            Some(_) => {
                out.push_str(&display(args.get(i).unwrap_or(&Value::Null)));
                i += 1;
            }
            None => out.push('%'),
        }
    }
    out
}

/// Go's truthiness: false, 0, nil and empty values are false.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// Formats like Go's `%v` for the decoded JSON shapes.
pub fn display(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(display).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let mut kv: Vec<_> = m.iter().collect();
            kv.sort_by(|a, b| a.0.cmp(b.0));
            let parts: Vec<String> = kv
                .iter()
                .map(|(k, v)| format!("{k}:{}", display(v)))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// JSON like Go's `json.Marshal`: compact, with `<`, `>` and `&` escaped.
pub fn go_json(v: &Value) -> String {
    serde_json::to_string(v)
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}
