//! `network` group: `create`, `ls`, `inspect`, `rm`, `prune`, `connect`, `disconnect`,
//! with docker/cli's flags, request bodies, output and exit codes
//! (`cli/command/network/*.go` at v28.2.2).
//!
//! Runs in the CLI process. Every subcommand is one or a few requests to the
//! `/networks` endpoints. This file has the commands that change networks; `show` has
//! `ls` and `inspect`.

mod show;

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::lifecycle::{confirm, prune_request};
use crate::client::{enc, Client};
use crate::error::{exit_with, is_not_found, ConnectError, DaemonError};
use crate::opts::ipam::{ipam_config, IpamOpts};
use crate::opts::network::{
    connect_driver_opts, flag_error, ipam_json, settings_json, validate_link,
};
use crate::opts::values::kv_map;
pub use show::{InspectArgs, LsArgs};

/// `network` subcommands.
#[derive(Debug, Subcommand)]
pub enum NetworkCmd {
    /// Connect a container to a network
    Connect(ConnectArgs),
    /// Create a network
    Create(CreateArgs),
    /// Disconnect a container from a network
    Disconnect(DisconnectArgs),
    /// Display detailed information on one or more networks
    Inspect(InspectArgs),
    /// List networks
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Remove all unused networks
    Prune(PruneArgs),
    /// Remove one or more networks
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
}

/// Go's `strconv.ParseBool`, for `--ipv4=false` style flags.
fn go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("strconv.ParseBool: parsing {s:?}: invalid syntax")),
    }
}

/// `network create` flags.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Enable manual container attachment
    #[arg(long)]
    pub attachable: bool,
    /// Auxiliary IPv4 or IPv6 addresses used by Network driver
    #[arg(long, value_name = "map")]
    pub aux_address: Vec<String>,
    /// The network from which to copy the configuration
    #[arg(long)]
    pub config_from: Option<String>,
    /// Create a configuration only network
    #[arg(long)]
    pub config_only: bool,
    /// Driver to manage the Network
    #[arg(short = 'd', long, default_value = "bridge")]
    pub driver: String,
    /// IPv4 or IPv6 Gateway for the master subnet
    #[arg(long, value_delimiter = ',')]
    pub gateway: Vec<String>,
    /// Create swarm routing-mesh network
    #[arg(long)]
    pub ingress: bool,
    /// Restrict external access to the network
    #[arg(long)]
    pub internal: bool,
    /// Allocate container ip from a sub-range
    #[arg(long, value_delimiter = ',')]
    pub ip_range: Vec<String>,
    /// IP Address Management Driver
    #[arg(long, default_value = "default")]
    pub ipam_driver: String,
    /// Set IPAM driver specific options
    #[arg(long, value_name = "map")]
    pub ipam_opt: Vec<String>,
    /// Enable or disable IPv4 address assignment (default true)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = go_bool)]
    pub ipv4: Option<bool>,
    /// Enable or disable IPv6 address assignment
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = go_bool)]
    pub ipv6: Option<bool>,
    /// Set metadata on a network
    #[arg(long)]
    pub label: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long, value_name = "map")]
    pub opt: Vec<String>,
    /// Control the network's scope
    #[arg(long)]
    pub scope: Option<String>,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long, value_delimiter = ',')]
    pub subnet: Vec<String>,
    /// NETWORK
    #[arg(value_name = "NETWORK")]
    pub name: String,
}

/// `network rm` flags.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Do not error if the network does not exist
    #[arg(short = 'f', long)]
    pub force: bool,
    /// NETWORK...
    #[arg(required = true, value_name = "NETWORK")]
    pub names: Vec<String>,
}

/// `network prune` flags.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long)]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

/// `network connect` flags.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Add network-scoped alias for the container
    #[arg(long, value_delimiter = ',')]
    pub alias: Vec<String>,
    /// driver options for the network
    #[arg(long, value_delimiter = ',')]
    pub driver_opt: Vec<String>,
    /// Highest gw-priority provides the default gateway. Accepts positive and negative values.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    pub gw_priority: i64,
    /// IPv4 address (e.g., "172.30.100.104")
    #[arg(long)]
    pub ip: Option<String>,
    /// IPv6 address (e.g., "2001:db8::33")
    #[arg(long)]
    pub ip6: Option<String>,
    /// Add link to another container
    #[arg(long)]
    pub link: Vec<String>,
    /// Add a link-local address for the container
    #[arg(long, value_delimiter = ',')]
    pub link_local_ip: Vec<String>,
    /// NETWORK
    #[arg(value_name = "NETWORK")]
    pub network: String,
    /// CONTAINER
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// `network disconnect` flags.
#[derive(Debug, Args)]
pub struct DisconnectArgs {
    /// Force the container to disconnect from a network
    #[arg(short = 'f', long)]
    pub force: bool,
    /// NETWORK
    #[arg(value_name = "NETWORK")]
    pub network: String,
    /// CONTAINER
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// Runs one `network` subcommand.
pub fn network(c: &Client, cmd: NetworkCmd) -> Result<()> {
    match cmd {
        NetworkCmd::Connect(a) => connect(c, a),
        NetworkCmd::Create(a) => create(c, a),
        NetworkCmd::Disconnect(a) => disconnect(c, a),
        NetworkCmd::Inspect(a) => show::inspect(c, a),
        NetworkCmd::Ls(a) => show::ls(c, a),
        NetworkCmd::Prune(a) => prune(c, a),
        NetworkCmd::Rm(a) => rm(c, a),
    }
}

/// docker/cli's `ValidateLabel` for `--label`.
fn validate_label(v: &str) -> Result<()> {
    let key = v.split_once('=').map_or(v, |(k, _)| k);
    let key = key.trim_start_matches([' ', '\t']);
    if key.is_empty() {
        return Err(flag_error(
            "--label",
            v,
            format!("invalid label '{v}': empty name"),
        ));
    }
    if key.contains([' ', '\t']) {
        return Err(flag_error(
            "--label",
            v,
            format!("label '{key}' contains whitespaces"),
        ));
    }
    Ok(())
}

/// The body of `POST /networks/create` (docker/cli `runCreate`).
pub fn create_body(a: &CreateArgs) -> Result<Value> {
    for l in &a.label {
        validate_label(l).map_err(|e| {
            exit_with(
                125,
                format!("{e}\n\nRun 'berth network create --help' for more information"),
            )
        })?;
    }
    let ipam = ipam_config(&IpamOpts {
        driver: a.ipam_driver.clone(),
        subnets: a.subnet.clone(),
        ip_ranges: a.ip_range.clone(),
        gateways: a.gateway.clone(),
        aux_addresses: a.aux_address.clone(),
        driver_opts: a.ipam_opt.clone(),
    })
    .map_err(|e| exit_with(1, e.to_string()))?;
    let mut body = json!({
        "Name": a.name,
        "Driver": a.driver,
        "Scope": a.scope.clone().unwrap_or_default(),
        "IPAM": ipam,
        "Internal": a.internal,
        "Attachable": a.attachable,
        "Ingress": a.ingress,
        "ConfigOnly": a.config_only,
        "ConfigFrom": a.config_from.as_ref().map(|n| json!({"Network": n})),
        "Options": kv_map(&a.opt),
        "Labels": kv_map(&a.label),
    });
    if let Some(v) = a.ipv4 {
        body["EnableIPv4"] = json!(v);
    }
    if let Some(v) = a.ipv6 {
        body["EnableIPv6"] = json!(v);
    }
    Ok(body)
}

/// `berth network create`: prints the new network's id.
pub fn create(c: &Client, a: CreateArgs) -> Result<()> {
    let mut body = create_body(&a)?;
    // Daemons before API 1.44 allow duplicate names unless asked (moby client does this).
    if !c.version_at_least("1.44")? {
        body["CheckDuplicate"] = json!(true);
    }
    let v: Value = c.post("/networks/create", Some(&body))?.json()?;
    println!("{}", v["Id"].as_str().unwrap_or_default());
    Ok(())
}

/// A network or container reference trimmed and percent-encoded for a URL path; empty
/// is an error printed as is, exit 1 (the moby client's `trimID`).
pub(super) fn trim_id(kind: &str, id: &str) -> Result<String> {
    let id = id.trim();
    if id.is_empty() {
        return Err(exit_with(
            1,
            format!("invalid {kind} name or ID: value is empty"),
        ));
    }
    Ok(enc(id))
}

/// The daemon's message for a failed request, as Docker prints it.
pub(super) fn error_text(e: &anyhow::Error) -> String {
    match e.downcast_ref::<DaemonError>() {
        Some(d) => d.to_string(),
        None => format!("{e:#}"),
    }
}

/// `berth network rm`: prints each removed name; exit 1 after any failure.
pub fn rm(c: &Client, a: RmArgs) -> Result<()> {
    let mut failed = false;
    for name in &a.names {
        let removed = trim_id("network", name)
            .and_then(|id| c.request("DELETE", &format!("/networks/{id}"), &[], None));
        match removed {
            Ok(r) => {
                r.discard()?;
                println!("{name}");
            }
            Err(e) if a.force && is_not_found(&e) => {}
            Err(e) if e.downcast_ref::<ConnectError>().is_some() => return Err(e),
            Err(e) => {
                eprintln!("{}", error_text(&e));
                failed = true;
            }
        }
    }
    if failed {
        // docker/cli ends with a StatusError whose text is printed too.
        return Err(exit_with(1, "exit status 1"));
    }
    Ok(())
}

/// `berth network prune`.
pub fn prune(c: &Client, a: PruneArgs) -> Result<()> {
    let warning =
        "WARNING! This will remove all custom networks not used by at least one container.";
    if !a.force && !confirm(warning)? {
        return Ok(());
    }
    prune_request(
        c,
        "/networks/prune",
        &a.filter,
        "NetworksDeleted",
        "Deleted Networks",
    )?;
    Ok(())
}

/// The body of `POST /networks/{id}/connect` (docker/cli `runConnect`).
pub fn connect_body(a: &ConnectArgs) -> Result<Value> {
    for l in &a.link {
        validate_link(l).map_err(|e| {
            exit_with(
                125,
                format!(
                    "{}\n\nRun 'berth network connect --help' for more information",
                    flag_error("--link", l, e)
                ),
            )
        })?;
    }
    let driver_opts =
        connect_driver_opts(&a.driver_opt).map_err(|e| exit_with(1, e.to_string()))?;
    let links = if a.link.is_empty() {
        Value::Null
    } else {
        json!(a.link)
    };
    let endpoint = settings_json(
        ipam_json(
            a.ip.as_deref().unwrap_or_default(),
            a.ip6.as_deref().unwrap_or_default(),
            &a.link_local_ip,
        ),
        links,
        json!(a.alias),
        "",
        json!(driver_opts),
        a.gw_priority,
    );
    Ok(json!({"Container": a.container.trim(), "EndpointConfig": endpoint}))
}

/// `berth network connect`.
pub fn connect(c: &Client, a: ConnectArgs) -> Result<()> {
    let network = trim_id("network", &a.network)?;
    trim_id("container", &a.container)?;
    let body = connect_body(&a)?;
    c.post(&format!("/networks/{network}/connect"), Some(&body))?
        .discard()
}

/// `berth network disconnect`.
pub fn disconnect(c: &Client, a: DisconnectArgs) -> Result<()> {
    let network = trim_id("network", &a.network)?;
    trim_id("container", &a.container)?;
    let body = json!({"Container": a.container.trim(), "Force": a.force});
    c.post(&format!("/networks/{network}/disconnect"), Some(&body))?
        .discard()
}

#[cfg(test)]
mod tests;
