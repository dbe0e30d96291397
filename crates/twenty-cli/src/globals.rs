//! Options every command accepts, before or after the resource name.
//!
//! Two readings: a quick scan of argv that finds `--schema`, `--profile`,
//! `--sandbox` and the first positional words before any clap tree exists
//! (the tree depends on the catalog, which these select), and the clap
//! arguments themselves, marked global so they parse anywhere.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches};

/// Global options that take a value.
const VALUED: [&str; 7] = [
    "profile",
    "api-url",
    "api-key-file",
    "schema",
    "format",
    "jq",
    "rate",
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

/// Option names that no field or parameter flag may take, because a global
/// or a per-command option already has them.
pub const RESERVED: [&str; 24] = [
    "profile",
    "api-url",
    "api-key-file",
    "schema",
    "format",
    "jq",
    "rate",
    "raw",
    "sandbox",
    "debug",
    "verbose",
    "no-retry",
    "allow-insecure-http",
    "help",
    "version",
    "set",
    "data",
    "each",
    "continue-on-error",
    "concurrency",
    "all",
    "id",
    "ids",
    "dry-run",
];

/// What the quick scan of argv found.
#[derive(Debug, Default)]
pub struct Prescan {
    /// `--schema FILE`.
    pub schema: Option<PathBuf>,
    /// `--profile NAME`.
    pub profile: Option<String>,
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
            .help("Profile whose URL, key and cached schema to use (text; default `default` or $TWENTY_PROFILE)"),
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
            .help("Print the server's response unchanged (switch)"),
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

/// The global options after parsing.
#[derive(Debug, Clone)]
pub struct Globals {
    /// `--profile`, else `$TWENTY_PROFILE`, else `default`.
    pub profile: String,
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
    /// `--allow-insecure-http`.
    pub allow_insecure_http: bool,
}

impl Globals {
    /// Reads the globals from the root matches (clap copies global values
    /// into every subcommand's matches, so any level works).
    pub fn from_matches(m: &ArgMatches) -> Self {
        let format = match m.get_one::<String>("format").map(String::as_str) {
            Some("jsonl") => Format::Jsonl,
            Some("table") => Format::Table,
            Some("csv") => Format::Csv,
            _ => Format::Json,
        };
        Self {
            profile: m
                .get_one::<String>("profile")
                .cloned()
                .or_else(|| std::env::var("TWENTY_PROFILE").ok())
                .unwrap_or_else(|| crate::config::DEFAULT_PROFILE.to_string()),
            api_url: m.get_one::<String>("api-url").cloned(),
            api_key_file: m.get_one::<String>("api-key-file").map(PathBuf::from),
            schema: m.get_one::<String>("schema").map(PathBuf::from),
            format,
            format_name: m.get_one::<String>("format").cloned(),
            jq: m.get_one::<String>("jq").cloned(),
            raw: m.get_flag("raw"),
            sandbox: m.get_flag("sandbox"),
            debug: m.get_flag("debug"),
            no_retry: m.get_flag("no-retry"),
            rate: m.get_one::<u32>("rate").copied(),
            allow_insecure_http: m.get_flag("allow-insecure-http"),
        }
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
    fn reserved_names_cover_every_global() {
        for name in VALUED.iter().chain(SWITCHES.iter()) {
            assert!(RESERVED.contains(name), "{name} not reserved");
        }
    }
}
