//! Parsing the hot verbs (`run`, `create`, `start`, `rm`, …) with a parser that knows only
//! that verb.
//!
//! clap builds its whole command tree before it looks at the arguments: every verb and
//! flag Docker has, some 60 commands. That costs about 0.4 ms of CPU and 200 page faults
//! per process, a tenth of a `berth run --rm`, and scripts run these verbs in loops. The
//! one-verb parser is built from the same derive structs, so it accepts the same flags
//! and yields the same values; anything it does not accept (`--help`, a usage error, a
//! verb that is not hot) goes to the full parser, which prints what Docker's would.

use std::ffi::OsString;

use clap::{Args, Command, FromArgMatches};

use super::{attach, exec, inspect, lifecycle, logs, ps, run};
use super::{Cli, Cmd, ContainerVerb, GlobalArgs};

/// The command line parsed by a one-verb parser, or None when the full parser must do it.
pub(super) fn parse_hot_verb(argv: Vec<OsString>) -> Option<Cli> {
    use ContainerVerb as V;
    let verb = verb_of(&argv)?;
    let container = |v: ContainerVerb| Cmd::Container(v);
    match verb.as_str() {
        "run" => one::<run::RunArgs>(argv, "run", true, |a| container(V::Run(a))),
        "create" => one::<run::CreateArgs>(argv, "create", true, |a| container(V::Create(a))),
        "start" => one::<attach::StartArgs>(argv, "start", false, |a| container(V::Start(a))),
        "stop" => one(argv, "stop", false, |a| container(V::Stop(a))),
        "kill" => one::<lifecycle::KillArgs>(argv, "kill", false, |a| container(V::Kill(a))),
        "rm" => one::<lifecycle::RmArgs>(argv, "rm", false, |a| container(V::Rm(a))),
        "wait" => one(argv, "wait", false, |a| container(V::Wait(a))),
        "logs" => one::<logs::LogsArgs>(argv, "logs", false, |a| container(V::Logs(a))),
        "exec" => one::<exec::ExecArgs>(argv, "exec", false, |a| container(V::Exec(a))),
        "ps" => one::<ps::PsArgs>(argv, "ps", false, Cmd::Ps),
        "inspect" => one::<inspect::InspectArgs>(argv, "inspect", false, Cmd::Inspect),
        _ => None,
    }
}

/// The verb: the first argument that is not a global flag (or its value). None when a
/// flag other than `-H`/`--host` comes first (`--version`, `--help`, a typo).
fn verb_of(argv: &[OsString]) -> Option<String> {
    let mut rest = argv.iter().skip(1);
    while let Some(arg) = rest.next() {
        let arg = arg.to_str()?;
        match arg {
            "-H" | "--host" => {
                rest.next()?;
            }
            _ if arg.starts_with("--host=") || (arg.starts_with("-H") && arg.len() > 2) => {}
            _ if arg.starts_with('-') => return None,
            _ => return Some(arg.to_string()),
        }
    }
    None
}

/// Parses `argv` with a parser made of the global flags and the verb `name` alone.
fn one<A: Args + FromArgMatches>(
    argv: Vec<OsString>,
    name: &'static str,
    no_help_flag: bool,
    wrap: impl FnOnce(A) -> Cmd,
) -> Option<Cli> {
    let verb = A::augment_args(Command::new(name)).disable_help_flag(no_help_flag);
    let matches = GlobalArgs::augment_args(Command::new("berth"))
        .subcommand(verb)
        .subcommand_required(true)
        .try_get_matches_from(argv)
        .ok()?;
    let global = GlobalArgs::from_arg_matches(&matches).ok()?;
    let (_, sub) = matches.subcommand()?;
    let args = A::from_arg_matches(sub).ok()?;
    Some(Cli {
        global,
        cmd: wrap(args),
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn argv(line: &str) -> Vec<OsString> {
        std::iter::once("berth")
            .chain(line.split_whitespace())
            .map(OsString::from)
            .collect()
    }

    /// The one-verb parser and the full parser agree, value for value.
    #[test]
    fn hot_verbs_parse_as_the_full_tree_does() {
        for line in [
            "run --rm busybox true",
            "-H unix:///x.sock run -d --name web -p 8080:80 -e A=1 -v /a:/b busybox sleep 1",
            "--host=unix:///y run -it --network none --memory 64m busybox sh -c 'exit 3'",
            "run busybox ls -l --color",
            "create --name c -l a=b busybox",
            "start -a -i c",
            "stop -t 0 a b",
            "kill -s HUP a",
            "rm -fv a b",
            "wait a",
            "logs -f --tail 10 a",
            "exec -it -u 0 -w / a sh",
            "ps -aq --filter status=exited --format '{{.ID}}'",
            "inspect --type container -f '{{.Id}}' a",
        ] {
            let fast = parse_hot_verb(argv(line)).unwrap_or_else(|| panic!("{line}: not fast"));
            let full = Cli::try_parse_from(argv(line)).expect(line);
            assert_eq!(format!("{fast:?}"), format!("{full:?}"), "{line}");
        }
    }

    /// Help, version, usage errors and cold verbs go to the full parser.
    #[test]
    fn everything_else_is_left_to_the_full_parser() {
        for line in [
            "--version",
            "--help",
            "run --help",
            "run",
            "run -d",
            "ps --no-such-flag",
            "-H",
            "images",
            "container run busybox",
            "",
        ] {
            assert!(parse_hot_verb(argv(line)).is_none(), "{line}");
        }
    }
}
