//! Output formatting: Docker-style tables, `--format` templates, `json`, and units.
//!
//! Runs in the CLI process; pure code. `render_list` is what every listing command
//! calls: `None`/`table` use the command's default table, `json` prints one object per
//! line, `table …` renders a header row (field names mapped to Docker's column titles)
//! and aligns, anything else is a per-row template without alignment.

pub mod funcs;
pub mod natsort;
pub mod ports;
pub mod rawjson;
pub mod table;
pub mod template;
pub mod units;

use anyhow::Result;
use serde_json::{Map, Value};

use template::Template;

/// Expands Docker's format shorthands and literal `\t`/`\n` escapes.
fn normalize(format: Option<&str>, default_table: &str) -> String {
    let f = match format.map(str::trim) {
        None | Some("") | Some("table") => default_table,
        Some("json") => "{{json .}}",
        Some(f) => f,
    };
    f.replace("\\t", "\t").replace("\\n", "\n")
}

/// Renders `rows` with `format` (see the module docs). `headers` maps field names to
/// column titles; unknown fields get their uppercased name.
pub fn render_list(
    format: Option<&str>,
    default_table: &str,
    headers: &[(&str, &str)],
    rows: &[Value],
) -> Result<String> {
    let f = normalize(format, default_table);
    if let Some(body) = f.strip_prefix("table") {
        let body = body.trim_start_matches([' ', '\t']);
        let tpl = Template::parse(body)?;
        let mut text = tpl.render(&header_row(headers, rows.first()))?;
        for row in rows {
            text.push('\n');
            text.push_str(&tpl.render(row)?);
        }
        let mut out = table::docker_table(&text);
        out.push('\n');
        return Ok(out);
    }
    let tpl = Template::parse(&f)?;
    let mut out = String::new();
    for row in rows {
        out.push_str(&tpl.render(row)?);
        out.push('\n');
    }
    Ok(out)
}

/// An object whose every field is its column title, for rendering the header row.
fn header_row(headers: &[(&str, &str)], sample: Option<&Value>) -> Value {
    let mut m = Map::new();
    if let Some(Value::Object(s)) = sample {
        for k in s.keys() {
            m.insert(k.clone(), Value::String(k.to_uppercase()));
        }
    }
    for (k, v) in headers {
        m.insert((*k).to_string(), Value::String((*v).to_string()));
    }
    Value::Object(m)
}

/// Renders one value with a template (`inspect -f`, `version -f`).
pub fn render_one(format: &str, v: &Value) -> Result<String> {
    let f = if format.trim() == "json" {
        "{{json .}}".to_string()
    } else {
        format.replace("\\t", "\t").replace("\\n", "\n")
    };
    Template::parse(&f)?.render(v)
}

/// Cuts an id to Docker's 12 characters, dropping a `sha256:` prefix.
pub fn short_id(id: &str) -> String {
    let id = id.split_once(':').map_or(id, |(_, h)| h);
    id.chars().take(12).collect()
}

/// Docker's `Ellipsis`: at most `max` characters, ending in `…` when cut.
pub fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_json_and_raw_formats() {
        let rows = vec![
            json!({"ID": "abc", "Names": "web"}),
            json!({"ID": "defghi", "Names": "db"}),
        ];
        let h = [("ID", "CONTAINER ID"), ("Names", "NAMES")];
        let t = render_list(None, "table {{.ID}}\t{{.Names}}", &h, &rows).unwrap();
        assert_eq!(
            t,
            "CONTAINER ID   NAMES\nabc            web\ndefghi         db\n"
        );
        let j = render_list(Some("json"), "", &h, &rows).unwrap();
        assert_eq!(
            j,
            "{\"ID\":\"abc\",\"Names\":\"web\"}\n{\"ID\":\"defghi\",\"Names\":\"db\"}\n"
        );
        let raw = render_list(Some("{{.ID}}\\t{{.Names}}"), "", &h, &rows).unwrap();
        assert_eq!(raw, "abc\tweb\ndefghi\tdb\n");
        let t2 = render_list(Some("table {{.Names}}"), "", &h, &rows).unwrap();
        assert_eq!(t2, "NAMES\nweb\ndb\n");
    }

    #[test]
    fn ids_and_ellipsis() {
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(
            ellipsis("sh -c 'sleep 1000; echo done'", 20),
            "sh -c 'sleep 1000; …"
        );
        assert_eq!(ellipsis("true", 20), "true");
    }
}
