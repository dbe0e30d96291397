//! Options every command accepts, before or after the resource name.
//!
//! Two readings: a quick scan of argv that finds `--schema`, `--profile`,
//! `--sandbox` and the first positional words before any clap tree exists
//! (the tree depends on the catalog, which these select), and the clap
//! arguments themselves, marked global so they parse anywhere.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches};

use crate::UsageError;
use crate::config;

/// Global options that take a value.
const VALUED: [&str; 8] = [
    "profile",
    "api-url",
    "api-key-file",
    "schema",
    "format",
    "jq",
    "rate",
    "timeout",
];

/// Global options that are plain switches.
const SWITCHES: [&str; 6] = [
    "raw",
    "sandbox",
    "debug",
    "verbose",
    "no-retry",
    "allow-insecure-http",
];

/// Whether no field or parameter flag may take `name`: a global option
/// has it, or an option every operation's command has, or a flag of the
/// bodies that are not records (`--ids`, `--dry-run`), which a field of the
/// same name would shadow.
pub fn is_reserved(name: &str) -> bool {
    is_global(name)
        || crate::commands::COMMAND_OPTIONS.contains(&name)
        || ["ids", "dry-run"].contains(&name)
}

/// What the quick scan of argv found.
#[derive(Debug, Default)]
pub struct Prescan {
    /// `--schema FILE`.
    pub schema: Option<PathBuf>,
    /// `--profile NAME`.
    pub profile: Option<String>,
    /// `--api-url URL`.
    pub api_url: Option<String>,
    /// `--sandbox`.
    pub sandbox: bool,
    /// Positional words, in order, that are not values of global options.
    /// Only the first few matter (resource, verb, operation id).
    pub words: Vec<String>,
}

/// Scans argv (without the program name) for the globals that decide the
/// catalog and for the leading positional words.
pub fn prescan(args: &[OsString]) -> Prescan {
    let mut out = Prescan::default();
    let mut iter = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = iter.next() {
        if arg == "--" {
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            if VALUED.contains(&name) {
                let value = inline.or_else(|| iter.next());
                match name {
                    "schema" => out.schema = value.map(PathBuf::from),
                    "profile" => out.profile = value,
                    "api-url" => out.api_url = value,
                    _ => {}
                }
            } else if name == "sandbox" {
                out.sandbox = true;
            }
            continue;
        }
        if arg.starts_with('-') && arg.len() > 1 {
            continue;
        }
        if out.words.len() < 3 {
            out.words.push(arg);
        }
    }
    out
}

/// The global arguments, for the root command.
pub fn args() -> Vec<Arg> {
    vec![
        Arg::new("profile")
            .long("profile")
            .value_name("NAME")
            .global(true)
            .help_heading("Global options")
            .help("Profile whose URL, key and cached schema to use; a named profile is used whole, never mixed with $TWENTY_API_URL or $TWENTY_API_KEY (text; default `default` or $TWENTY_PROFILE)"),
        Arg::new("api-url")
            .long("api-url")
            .value_name("URL")
            .global(true)
            .help_heading("Global options")
            .help("Base URL of the workspace, overriding $TWENTY_API_URL and the profile (url)"),
        Arg::new("api-key-file")
            .long("api-key-file")
            .value_name("FILE")
            .global(true)
            .help_heading("Global options")
            .help("File holding the API key, overriding $TWENTY_API_KEY and the profile (path)"),
        Arg::new("schema")
            .long("schema")
            .value_name("FILE")
            .global(true)
            .help_heading("Global options")
            .help("OpenAPI document to build commands from, instead of the cached or built-in one (path)"),
        Arg::new("format")
            .long("format")
            .value_name("FORMAT")
            .global(true)
            .value_parser(["json", "jsonl", "table", "csv"])
            .ignore_case(true)
            .hide_possible_values(true)
            .help_heading("Global options")
            .help("How to print records (one of json, jsonl, table, csv; default json)"),
        Arg::new("jq")
            .long("jq")
            .value_name("EXPR")
            .global(true)
            .help_heading("Global options")
            .help("Filter the output through a jq expression; text results print raw. With list --all it runs on each record, with --each on each line's result"),
        Arg::new("raw")
            .long("raw")
            .action(ArgAction::SetTrue)
            .global(true)
            .help_heading("Global options")
            .help(
                "Print the server's answer unchanged, as JSON; --jq runs on it. Not with \
                 list --all, nor with another --format unless --jq picks what to print (switch)",
            ),
        Arg::new("sandbox")
            .long("sandbox")
            .action(ArgAction::SetTrue)
            .global(true)
            .help_heading("Global options")
            .help("Run against the local sandbox kept in the data dir (switch)"),
        Arg::new("debug")
            .long("debug")
            .short('v')
            .visible_alias("verbose")
            .action(ArgAction::SetTrue)
            .global(true)
            .help_heading("Global options")
            .help("Print requests and responses to stderr, API key redacted (switch)"),
        Arg::new("no-retry")
            .long("no-retry")
            .action(ArgAction::SetTrue)
            .global(true)
            .help_heading("Global options")
            .help("Send each request once, without retrying failures (switch)"),
        Arg::new("rate")
            .long("rate")
            .value_name("N")
            .global(true)
            .value_parser(clap::value_parser!(u32).range(1..))
            .help_heading("Global options")
            .help("Send at most N requests per minute (integer)"),
        Arg::new("timeout")
            .long("timeout")
            .value_name("SECONDS")
            .global(true)
            .value_parser(parse_timeout)
            .help_heading("Global options")
            .help(
                "Wait at most SECONDS for each attempt's answer; retries may follow \
                 (number; default 30)",
            ),
        Arg::new("allow-insecure-http")
            .long("allow-insecure-http")
            .action(ArgAction::SetTrue)
            .global(true)
            .help_heading("Global options")
            .help("Allow plain http:// to a host that is not this machine (switch)"),
    ]
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Pretty JSON.
    Json,
    /// One compact JSON value per line.
    Jsonl,
    /// A text table of a few key columns.
    Table,
    /// Comma-separated values, composites flattened.
    Csv,
}

/// The longest `--timeout`: a day, far past any useful wait, and small
/// enough that no duration arithmetic overflows.
const MAX_TIMEOUT_SECONDS: f64 = 86_400.0;

/// Reads `--timeout SECONDS`: a number above 0, fractions allowed.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| "expected a number of seconds, such as 30 or 2.5".to_string())?;
    if !(seconds > 0.0 && seconds <= MAX_TIMEOUT_SECONDS) {
        return Err(format!(
            "expected more than 0 and at most {MAX_TIMEOUT_SECONDS} seconds"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// The global options after parsing.
#[derive(Debug, Clone)]
pub struct Globals {
    /// `--profile`, else `$TWENTY_PROFILE`, else `default`; a checked name.
    pub profile: String,
    /// Whether the profile was named (by `--profile` or `$TWENTY_PROFILE`,
    /// even as `default`); a named profile must exist and is used whole.
    pub profile_named: bool,
    /// `--api-url`.
    pub api_url: Option<String>,
    /// `--api-key-file`.
    pub api_key_file: Option<PathBuf>,
    /// `--schema`.
    pub schema: Option<PathBuf>,
    /// `--format`.
    pub format: Format,
    /// `--format` as typed, when given (the bulk commands read it as a
    /// file format).
    pub format_name: Option<String>,
    /// `--jq`.
    pub jq: Option<String>,
    /// `--raw`.
    pub raw: bool,
    /// `--sandbox`.
    pub sandbox: bool,
    /// `--debug` / `-v`.
    pub debug: bool,
    /// `--no-retry`.
    pub no_retry: bool,
    /// `--rate`.
    pub rate: Option<u32>,
    /// `--timeout`, per attempt; `None` keeps the client's default.
    pub timeout: Option<Duration>,
    /// `--allow-insecure-http`.
    pub allow_insecure_http: bool,
}

impl Globals {
    /// Reads the globals from the root matches (clap copies global values
    /// into every subcommand's matches, so any level works). Fails on a
    /// profile name that is not safe to put in a file name.
    pub fn from_matches(m: &ArgMatches) -> Result<Self, UsageError> {
        // Any case passes clap (`JSON`), which hands it over as typed.
        let format_name = m
            .get_one::<String>("format")
            .map(|f| f.to_ascii_lowercase());
        let format = match format_name.as_deref() {
            Some("jsonl") => Format::Jsonl,
            Some("table") => Format::Table,
            Some("csv") => Format::Csv,
            _ => Format::Json,
        };
        let profile =
            config::ProfileName::choose(m.get_one::<String>("profile").map(String::as_str))?;
        Ok(Self {
            profile: profile.name,
            profile_named: profile.named,
            api_url: m.get_one::<String>("api-url").cloned(),
            api_key_file: m.get_one::<String>("api-key-file").map(PathBuf::from),
            schema: m.get_one::<String>("schema").map(PathBuf::from),
            format,
            format_name,
            jq: m.get_one::<String>("jq").cloned(),
            raw: m.get_flag("raw"),
            sandbox: m.get_flag("sandbox"),
            debug: m.get_flag("debug"),
            no_retry: m.get_flag("no-retry"),
            rate: m.get_one::<u32>("rate").copied(),
            timeout: m.get_one::<Duration>("timeout").copied(),
            allow_insecure_http: m.get_flag("allow-insecure-http"),
        })
    }
}

/// Whether `name` is taken by a global option.
pub fn is_global(name: &str) -> bool {
    VALUED.contains(&name) || SWITCHES.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn prescan_skips_global_values() {
        let p = prescan(&os(&[
            "--schema",
            "doc.json",
            "--format=csv",
            "--profile",
            "work",
            "workflow-runs",
            "update",
            "--output",
            "{}",
        ]));
        assert_eq!(p.schema, Some(PathBuf::from("doc.json")));
        assert_eq!(p.profile.as_deref(), Some("work"));
        assert_eq!(p.words, ["workflow-runs", "update", "{}"]);
    }

    #[test]
    fn timeouts_are_positive_seconds() {
        assert_eq!(parse_timeout("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_timeout("30"), Ok(Duration::from_secs(30)));
        for bad in ["0", "-1", "abc", "NaN", "inf", "86401", ""] {
            assert!(parse_timeout(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn reserved_names_cover_every_global_and_command_option() {
        for name in VALUED.iter().chain(SWITCHES.iter()) {
            assert!(is_reserved(name), "{name} not reserved");
        }
        for name in ["help", "set", "data", "each", "all", "id", "ids", "dry-run"] {
            assert!(is_reserved(name), "{name} not reserved");
        }
        assert!(
            !is_reserved("output"),
            "a workflow run's output keeps its flag"
        );
    }
}
