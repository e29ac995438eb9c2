//! A small subset of Go's text/template, evaluated over JSON values, for `--format`.
//!
//! Runs in the CLI process; pure code. Supported: text and `{{ }}` actions with `{{-`/`-}}`
//! trimming, field paths (`.State.Status`, `.`), string and number literals, pipelines
//! (`.Names | upper`), `if`/`else`/`end`, `range`/`end` (dot becomes the element), `with`,
//! and the functions `json index join split upper lower title len println print printf
//! truncate pad eq ne not and or`. Values print like Go's `%v` (`[a b]`, `map[k:v]`).
//! Left out: variables, method calls with arguments, parenthesised sub-pipelines.

use anyhow::{anyhow, bail, Result};
use serde_json::Value;

use super::funcs::{call, display, truthy};

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Pipeline),
    If(Pipeline, Vec<Node>, Vec<Node>),
    Range(Pipeline, Vec<Node>, Vec<Node>),
    With(Pipeline, Vec<Node>, Vec<Node>),
}

type Pipeline = Vec<Vec<Arg>>;

#[derive(Debug, Clone)]
enum Arg {
    Field(Vec<String>),
    Lit(Value),
    Func(String),
}

/// One raw `{{…}}` or text piece, before nesting.
#[derive(Debug)]
enum Piece {
    Text(String),
    Action(String),
}

fn split_pieces(src: &str) -> Result<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut rest = src;
    while let Some(start) = rest.find("{{") {
        let mut text = rest[..start].to_string();
        let after = &rest[start + 2..];
        let end = find_close(after).ok_or_else(|| anyhow!("template: unclosed action"))?;
        let mut inner = &after[..end];
        if let Some(s) = inner.strip_prefix('-') {
            text = text.trim_end().to_string();
            inner = s;
        }
        rest = &after[end + 2..];
        if let Some(s) = inner.strip_suffix('-') {
            inner = s;
            rest = rest.trim_start();
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        pieces.push(Piece::Action(inner.trim().to_string()));
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    Ok(pieces)
}

/// Position of the `}}` closing an action, skipping string literals.
fn find_close(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        match quote {
            Some(q) => {
                if b[i] == b'\\' && q == b'"' {
                    i += 1;
                } else if b[i] == q {
                    quote = None;
                }
            }
            None => {
                if b[i] == b'"' || b[i] == b'`' {
                    quote = Some(b[i]);
                } else if b[i..].starts_with(b"}}") {
                    return Some(i);
                }
            }
        }
        i += 1;
    }
    None
}

fn tokenize(action: &str) -> Result<Vec<String>> {
    let mut toks = Vec::new();
    let chars: Vec<char> = action.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '|' {
            toks.push("|".into());
            i += 1;
        } else if c == '"' || c == '`' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != c {
                if c == '"' && chars[j] == '\\' {
                    j += 1;
                }
                j += 1;
            }
            if j >= chars.len() {
                bail!("template: unterminated quoted string in {action:?}");
            }
            toks.push(chars[i..=j].iter().collect());
            i = j + 1;
        } else {
            let mut j = i;
            while j < chars.len() && !chars[j].is_whitespace() && chars[j] != '|' {
                j += 1;
            }
            toks.push(chars[i..j].iter().collect());
            i = j;
        }
    }
    Ok(toks)
}

fn parse_arg(tok: &str) -> Result<Arg> {
    if tok == "." {
        return Ok(Arg::Field(Vec::new()));
    }
    if let Some(path) = tok.strip_prefix('.') {
        return Ok(Arg::Field(path.split('.').map(str::to_string).collect()));
    }
    if tok.starts_with('"') {
        let s: String =
            serde_json::from_str(tok).map_err(|_| anyhow!("template: bad string {tok}"))?;
        return Ok(Arg::Lit(Value::String(s)));
    }
    if let Some(s) = tok.strip_prefix('`') {
        return Ok(Arg::Lit(Value::String(s.trim_end_matches('`').to_string())));
    }
    if let Ok(v) = serde_json::from_str::<Value>(tok) {
        if v.is_number() || v.is_boolean() || v.is_null() {
            return Ok(Arg::Lit(v));
        }
    }
    if tok.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Ok(Arg::Func(tok.to_string()));
    }
    bail!("template: unexpected {tok:?}")
}

fn parse_pipeline(toks: &[String]) -> Result<Pipeline> {
    let mut pipe = Vec::new();
    for cmd in toks.split(|t| t == "|") {
        if cmd.is_empty() {
            bail!("template: missing command in pipeline");
        }
        pipe.push(
            cmd.iter()
                .map(|t| parse_arg(t))
                .collect::<Result<Vec<_>>>()?,
        );
    }
    Ok(pipe)
}

/// Builds the node tree; returns the nodes and the keyword that ended them.
fn parse_nodes(
    pieces: &mut std::iter::Peekable<std::vec::IntoIter<Piece>>,
) -> Result<(Vec<Node>, Option<String>)> {
    let mut nodes = Vec::new();
    while let Some(p) = pieces.next() {
        let action = match p {
            Piece::Text(t) => {
                nodes.push(Node::Text(t));
                continue;
            }
            Piece::Action(a) => a,
        };
        let toks = tokenize(&action)?;
        let Some(first) = toks.first() else {
            bail!("template: empty action");
        };
        match first.as_str() {
            "end" | "else" => return Ok((nodes, Some(first.clone()))),
            "if" | "range" | "with" => {
                let pipe = parse_pipeline(&toks[1..])?;
                let (body, end) = parse_nodes(pieces)?;
                let alt = match end.as_deref() {
                    Some("else") => {
                        let (alt, end2) = parse_nodes(pieces)?;
                        if end2.as_deref() != Some("end") {
                            bail!("template: missing {{{{end}}}}");
                        }
                        alt
                    }
                    Some("end") => Vec::new(),
                    _ => bail!("template: missing {{{{end}}}}"),
                };
                nodes.push(match first.as_str() {
                    "if" => Node::If(pipe, body, alt),
                    "range" => Node::Range(pipe, body, alt),
                    _ => Node::With(pipe, body, alt),
                });
            }
            _ => nodes.push(Node::Action(parse_pipeline(&toks)?)),
        }
    }
    Ok((nodes, None))
}

impl Template {
    /// Parses `src`.
    pub fn parse(src: &str) -> Result<Self> {
        let mut pieces = split_pieces(src)?.into_iter().peekable();
        let (nodes, end) = parse_nodes(&mut pieces)?;
        if let Some(k) = end {
            bail!("template: unexpected {{{{{k}}}}}");
        }
        Ok(Template { nodes })
    }

    /// Evaluates the template with `dot` as `.`.
    pub fn render(&self, dot: &Value) -> Result<String> {
        let mut out = String::new();
        exec(&self.nodes, dot, &mut out)?;
        Ok(out)
    }
}

fn exec(nodes: &[Node], dot: &Value, out: &mut String) -> Result<()> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Action(p) => out.push_str(&display(&eval(p, dot)?)),
            Node::If(p, body, alt) => {
                let branch = if truthy(&eval(p, dot)?) { body } else { alt };
                exec(branch, dot, out)?;
            }
            Node::With(p, body, alt) => {
                let v = eval(p, dot)?;
                if truthy(&v) {
                    exec(body, &v, out)?;
                } else {
                    exec(alt, dot, out)?;
                }
            }
            Node::Range(p, body, alt) => {
                let items: Vec<Value> = match eval(p, dot)? {
                    Value::Array(a) => a,
                    Value::Object(m) => {
                        let mut kv: Vec<_> = m.into_iter().collect();
                        kv.sort_by(|a, b| a.0.cmp(&b.0));
                        kv.into_iter().map(|(_, v)| v).collect()
                    }
                    Value::Null => Vec::new(),
                    other => bail!("template: range can't iterate over {}", display(&other)),
                };
                if items.is_empty() {
                    exec(alt, dot, out)?;
                }
                for item in &items {
                    exec(body, item, out)?;
                }
            }
        }
    }
    Ok(())
}

fn eval(pipe: &Pipeline, dot: &Value) -> Result<Value> {
    let mut prev: Option<Value> = None;
    for cmd in pipe {
        prev = Some(eval_cmd(cmd, dot, prev)?);
    }
    Ok(prev.unwrap_or(Value::Null))
}

fn eval_cmd(cmd: &[Arg], dot: &Value, piped: Option<Value>) -> Result<Value> {
    let operand = |a: &Arg| -> Result<Value> {
        match a {
            Arg::Field(path) => Ok(lookup(dot, path)),
            Arg::Lit(v) => Ok(v.clone()),
            Arg::Func(f) => call(f, Vec::new()),
        }
    };
    match &cmd[0] {
        Arg::Func(name) => {
            let mut args = cmd[1..].iter().map(operand).collect::<Result<Vec<_>>>()?;
            args.extend(piped);
            call(name, args)
        }
        first => {
            if cmd.len() > 1 || piped.is_some() {
                bail!("template: can't give arguments to a non-function");
            }
            operand(first)
        }
    }
}

/// Follows a field path; missing keys yield `Null`.
fn lookup(v: &Value, path: &[String]) -> Value {
    let mut cur = v;
    for key in path {
        match cur.get(key.as_str()) {
            Some(next) => cur = next,
            None => return Value::Null,
        }
    }
    cur.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(t: &str, v: &Value) -> String {
        Template::parse(t).unwrap().render(v).unwrap()
    }

    #[test]
    fn fields_and_nested_paths() {
        let v = json!({"ID": "abc", "State": {"Status": "running", "Pid": 42}});
        assert_eq!(r("{{.ID}}\t{{.State.Status}}", &v), "abc\trunning");
        assert_eq!(r("{{ .State.Pid }}", &v), "42");
        assert_eq!(r("{{.Missing}}", &v), "<nil>");
    }

    #[test]
    fn json_index_and_functions() {
        let v = json!({"Config": {"Labels": {"k": "v", "a.b": "<x>"}, "Cmd": ["sh", "-c"]}});
        assert_eq!(r("{{json .Config.Cmd}}", &v), r#"["sh","-c"]"#);
        assert_eq!(r(r#"{{index .Config.Labels "k"}}"#, &v), "v");
        assert_eq!(r(r#"{{index .Config.Labels "a.b"}}"#, &v), "<x>");
        assert_eq!(
            r("{{json .Config.Labels}}", &v),
            r#"{"a.b":"\u003cx\u003e","k":"v"}"#
        );
        assert_eq!(r(r#"{{join .Config.Cmd " "}}"#, &v), "sh -c");
        assert_eq!(r("{{.Config.Cmd | len}}", &v), "2");
        assert_eq!(r(r#"{{index .Config.Cmd 1 | upper}}"#, &v), "-C");
        assert_eq!(
            r("{{.Config.Cmd}} {{.Config.Labels}}", &v),
            "[sh -c] map[a.b:<x> k:v]"
        );
    }

    #[test]
    fn control_flow() {
        let v = json!({"N": {"b": {"IP": "1.2.3.4"}, "a": {"IP": "5.6.7.8"}}, "On": true, "E": []});
        assert_eq!(r("{{range .N}}{{.IP}} {{end}}", &v), "5.6.7.8 1.2.3.4 ");
        assert_eq!(r("{{if .On}}yes{{else}}no{{end}}", &v), "yes");
        assert_eq!(r("{{if .E}}yes{{else}}no{{end}}", &v), "no");
        assert_eq!(r(r#"{{if eq .N.a.IP "5.6.7.8"}}m{{end}}"#, &v), "m");
        assert_eq!(r("{{with .N.a}}{{.IP}}{{end}}", &v), "5.6.7.8");
        assert_eq!(r("a  {{- .On -}}  b", &v), "atrueb");
        assert_eq!(r("{{range .E}}x{{else}}none{{end}}", &v), "none");
    }

    #[test]
    fn errors() {
        assert!(Template::parse("{{.A").is_err());
        assert!(Template::parse("{{if .A}}x").is_err());
        assert!(Template::parse("{{end}}").is_err());
        assert!(Template::parse("{{nosuch .A}}")
            .unwrap()
            .render(&json!({}))
            .is_err());
        assert!(Template::parse(r#"{{"}}"}}"#).is_ok());
    }
}
