//! System-wide commands: `info`, `version`, `events`.
//!
//! Runs in the CLI process. `events` streams until interrupted (or until `--until`);
//! each event prints as Docker's default line or through `--format`.

use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};

use crate::client::{query, Client, MAX_API_VERSION};
use crate::format::render_one;
use crate::format::units::{api_timestamp, rfc3339_nano};
use crate::opts::values::filters_json;

/// A `--format` flag alone.
#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long)]
    pub format: Option<String>,
}

/// `events` flags.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Filter output based on conditions provided
    #[arg(short = 'f', long)]
    pub filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
    /// Show all events created since timestamp
    #[arg(long)]
    pub since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long)]
    pub until: Option<String>,
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// `berth version`.
pub fn version(c: &Client, a: FormatArgs) -> Result<()> {
    let client = json!({
        "Version": env!("CARGO_PKG_VERSION"),
        "ApiVersion": MAX_API_VERSION,
        "Os": std::env::consts::OS,
        "Arch": match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        },
    });
    let server: Result<Value> = c.get_json("/version");
    if let Some(f) = &a.format {
        let v = json!({"Client": client, "Server": server.as_ref().ok()});
        println!("{}", render_one(f, &v)?);
        return server.map(drop);
    }
    println!("Client:");
    println!(" Version:           {}", s(&client, "Version"));
    println!(
        " API version:       {}",
        c.api_version().unwrap_or(MAX_API_VERSION)
    );
    println!(
        " OS/Arch:           {}/{}",
        s(&client, "Os"),
        s(&client, "Arch")
    );
    let sv = server?;
    println!();
    println!("Server: {}", sv["Platform"]["Name"].as_str().unwrap_or(""));
    let components = sv["Components"].as_array().cloned().unwrap_or_default();
    for comp in &components {
        println!(" {}:", s(comp, "Name"));
        println!("  Version:          {}", s(comp, "Version"));
        let d = &comp["Details"];
        if s(comp, "Name") == "Engine" {
            println!(
                "  API version:      {} (minimum version {})",
                s(d, "ApiVersion"),
                s(d, "MinAPIVersion")
            );
            println!("  Go version:       {}", s(d, "GoVersion"));
            println!("  Git commit:       {}", s(d, "GitCommit"));
            println!("  Built:            {}", s(d, "BuildTime"));
            println!("  OS/Arch:          {}/{}", s(d, "Os"), s(d, "Arch"));
            println!(
                "  Experimental:     {}",
                d["Experimental"].as_str().unwrap_or("false")
            );
        } else if let Some(g) = d.get("GitCommit").and_then(Value::as_str) {
            println!("  GitCommit:        {g}");
        }
    }
    if components.is_empty() {
        println!(" Version:          {}", s(&sv, "Version"));
        println!(" API version:      {}", s(&sv, "ApiVersion"));
    }
    Ok(())
}

/// `berth info`.
pub fn info(c: &Client, a: FormatArgs) -> Result<()> {
    let v: Value = c.get_json("/info")?;
    if let Some(f) = &a.format {
        println!("{}", render_one(f, &v)?);
        return Ok(());
    }
    let n = |k: &str| v.get(k).map(|x| x.to_string()).unwrap_or_default();
    println!("Server:");
    println!(" Containers: {}", n("Containers"));
    println!("  Running: {}", n("ContainersRunning"));
    println!("  Paused: {}", n("ContainersPaused"));
    println!("  Stopped: {}", n("ContainersStopped"));
    println!(" Images: {}", n("Images"));
    println!(" Server Version: {}", s(&v, "ServerVersion"));
    println!(" Storage Driver: {}", s(&v, "Driver"));
    for kv in v["DriverStatus"].as_array().into_iter().flatten() {
        if let Some([k, val]) = kv.as_array().map(Vec::as_slice) {
            println!(
                "  {}: {}",
                k.as_str().unwrap_or(""),
                val.as_str().unwrap_or("")
            );
        }
    }
    println!(" Logging Driver: {}", s(&v, "LoggingDriver"));
    println!(" Cgroup Driver: {}", s(&v, "CgroupDriver"));
    println!(" Cgroup Version: {}", s(&v, "CgroupVersion"));
    if let Some(rt) = v["Runtimes"].as_object() {
        let mut names: Vec<&String> = rt.keys().collect();
        names.sort();
        println!(
            " Runtimes: {}",
            names
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    println!(" Default Runtime: {}", s(&v, "DefaultRuntime"));
    let sec: Vec<&str> = v["SecurityOptions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !sec.is_empty() {
        println!(" Security Options:");
        for o in sec {
            println!("  {}", o.trim_start_matches("name="));
        }
    }
    println!(" Kernel Version: {}", s(&v, "KernelVersion"));
    println!(" Operating System: {}", s(&v, "OperatingSystem"));
    println!(" OSType: {}", s(&v, "OSType"));
    println!(" Architecture: {}", s(&v, "Architecture"));
    println!(" CPUs: {}", n("NCPU"));
    #[allow(clippy::cast_precision_loss, reason = "display only")]
    let mem = crate::format::units::bytes_size(v["MemTotal"].as_i64().unwrap_or(0) as f64);
    println!(" Total Memory: {mem}");
    println!(" Name: {}", s(&v, "Name"));
    println!(" ID: {}", s(&v, "ID"));
    println!(" Docker Root Dir: {}", s(&v, "DockerRootDir"));
    for w in v["Warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        eprintln!("{w}");
    }
    Ok(())
}

/// Docker's default event line.
pub fn event_line(e: &Value) -> String {
    let nanos = e["timeNano"]
        .as_i64()
        .map(i128::from)
        .unwrap_or_else(|| i128::from(e["time"].as_i64().unwrap_or(0)) * 1_000_000_000);
    let mut line = format!(
        "{} {} {} {}",
        rfc3339_nano(nanos),
        s(e, "Type"),
        s(e, "Action"),
        s(&e["Actor"], "ID")
    );
    if let Some(attrs) = e["Actor"]["Attributes"]
        .as_object()
        .filter(|m| !m.is_empty())
    {
        let mut kv: Vec<String> = attrs
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect();
        kv.sort();
        line.push_str(&format!(" ({})", kv.join(", ")));
    }
    line
}

/// `berth events`.
pub fn events(c: &Client, a: EventsArgs) -> Result<()> {
    let mut q = Vec::new();
    if let Some(v) = &a.since {
        q.push(("since", api_timestamp(v)?));
    }
    if let Some(v) = &a.until {
        q.push(("until", api_timestamp(v)?));
    }
    if let Some(f) = filters_json(&a.filter)? {
        q.push(("filters", f));
    }
    let resp = c.request("GET", &format!("/events{}", query(&q)), &[], None)?;
    let tpl = match &a.format {
        Some(f) => Some(crate::format::template::Template::parse(
            &if f.trim() == "json" {
                "{{json .}}".to_string()
            } else {
                f.replace("\\t", "\t")
            },
        )?),
        None => None,
    };
    crate::client::json_lines(resp.body, |e| {
        let line = match &tpl {
            Some(t) => t.render(&e)?,
            None => event_line(&e),
        };
        println!("{line}");
        Ok(true)
    })
}
