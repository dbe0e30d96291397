//! The local sandbox: `twenty sandbox serve` in the foreground, and the
//! persistent one `--sandbox` starts in-process for a single command.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{Arg, ArgAction, ArgMatches, Command};
use twenty_core::Catalog;
use twenty_sandbox::{FaultSpec, RateLimit, Sandbox, SandboxConfig, Seed, Storage};

use crate::UsageError;
use crate::config;
use crate::globals::Globals;

/// The `sandbox` command.
pub fn command() -> Command {
    Command::new("sandbox")
        .about("Run a local Twenty-compatible server")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            Command::new("serve")
                .about("Serve the sandbox in the foreground until Ctrl-C")
                .arg(
                    Arg::new("port")
                        .long("port")
                        .value_name("N")
                        .value_parser(clap::value_parser!(u16))
                        .help("Port to listen on (integer; default 0, a free port)"),
                )
                .arg(
                    Arg::new("host")
                        .long("host")
                        .value_name("ADDR")
                        .value_parser(clap::value_parser!(IpAddr))
                        .help("Address to listen on (ip address; default 127.0.0.1)"),
                )
                .arg(
                    Arg::new("data-dir")
                        .long("data-dir")
                        .value_name("DIR")
                        .conflicts_with("memory")
                        .help("Keep records in DIR/sandbox.db (path; default the data dir's sandbox folder)"),
                )
                .arg(
                    Arg::new("memory")
                        .long("memory")
                        .action(ArgAction::SetTrue)
                        .help("Keep records in memory only, gone on exit (switch)"),
                )
                .arg(
                    Arg::new("api-key")
                        .long("api-key")
                        .value_name("KEY")
                        .help("Bearer token the sandbox accepts (text; default sandbox-api-key)"),
                )
                .arg(
                    Arg::new("seed")
                        .long("seed")
                        .value_name("SEED")
                        .value_parser(["demo", "empty"])
                        .help("What a new store is filled with (one of demo, empty; default demo)"),
                )
                .arg(
                    Arg::new("faults")
                        .long("faults")
                        .value_name("SPEC")
                        .help(
                            "Faults to inject, such as seed=42,rate=0.2,kinds=429+503 \
                             (text; see --help for every setting)",
                        )
                        .long_help(
                            "Faults to inject into requests: comma-separated key=value \
                             settings (text).\n\
                             seed=N      seed of the draws, so a run can be replayed (default 0)\n\
                             rate=P      chance from 0 to 1 that a request meets a fault \
                             (default 0.1)\n\
                             kinds=K+K   drawn from 429, 400limit, 500, 502, 503, \
                             reset-before, reset-after, latency (default all)\n\
                             latency-ms=N  delay of the latency kind (default 100)\n\
                             retry-after=N  seconds in the Retry-After of a 429 (default 1)\n\
                             max-in-row=N  most faults one request (method, URL, body) meets \
                             in a row; 0 for no limit (default 0)",
                        ),
                )
                .arg(
                    Arg::new("rate-limit")
                        .long("rate-limit")
                        .value_name("N/WINDOW")
                        .help("Answer 429 past N requests per WINDOW, such as 100/60s or 100/1m (text)"),
                ),
        )
}

/// Runs `sandbox serve`.
pub fn run(_globals: &Globals, catalog: Catalog, m: &ArgMatches) -> Result<i32> {
    let Some(("serve", m)) = m.subcommand() else {
        return Ok(2);
    };
    let mut config = SandboxConfig::new(catalog);
    if m.get_flag("memory") {
        config.storage = Storage::Memory;
    } else {
        let dir = match m.get_one::<String>("data-dir") {
            Some(dir) => PathBuf::from(dir),
            None => config::data_dir()?.join("sandbox"),
        };
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("failed to create `{}`", dir.display()))?;
        config.storage = Storage::File(dir.join("sandbox.db"));
    }
    config.seed = match m.get_one::<String>("seed").map(String::as_str) {
        Some("empty") => Seed::Empty,
        _ => Seed::Demo,
    };
    if let Some(key) = m.get_one::<String>("api-key") {
        config.api_key = key.clone();
    }
    if let Some(spec) = m.get_one::<String>("faults") {
        let faults: FaultSpec = spec
            .parse()
            .map_err(|e| UsageError::new(format!("--faults `{spec}` is invalid: {e}"), None))?;
        config.faults = Some(faults);
    }
    if let Some(text) = m.get_one::<String>("rate-limit") {
        config.rate_limit = Some(parse_rate_limit(text)?);
    }
    let host = m
        .get_one::<IpAddr>("host")
        .copied()
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let port = m.get_one::<u16>("port").copied().unwrap_or(0);

    let runtime = crate::context::runtime()?;
    runtime.block_on(async move {
        let sandbox = Sandbox::start(config, SocketAddr::new(host, port))
            .await
            .context("failed to start the sandbox")?;
        // The URL and key are the data of this command, so they go to
        // stdout; a script can read them.
        outln!("url: {}", sandbox.url())?;
        outln!("api key: {}", sandbox.api_key())?;
        eprintln!("serving until Ctrl-C");
        tokio::signal::ctrl_c()
            .await
            .context("failed to wait for Ctrl-C")?;
        sandbox.shutdown().await;
        Ok(0)
    })
}

/// `100/60s`, `100/1m`, `5/1h` or `100/60` (seconds).
pub fn parse_rate_limit(text: &str) -> Result<RateLimit, UsageError> {
    let invalid = || {
        UsageError::new(
            format!("--rate-limit `{text}` is invalid"),
            Some("write requests per window, such as 100/60s or 100/1m".into()),
        )
    };
    let (count, window) = text.split_once('/').ok_or_else(invalid)?;
    let requests: u32 = count.trim().parse().map_err(|_| invalid())?;
    let window = window.trim();
    let (number, unit) = window
        .find(|c: char| !c.is_ascii_digit())
        .map_or((window, "s"), |at| window.split_at(at));
    let number: u64 = if number.is_empty() {
        1
    } else {
        number.parse().map_err(|_| invalid())?
    };
    let seconds = match unit {
        "s" => number,
        "m" => number * 60,
        "h" => number * 3600,
        _ => return Err(invalid()),
    };
    if requests == 0 || seconds == 0 {
        return Err(invalid());
    }
    Ok(RateLimit {
        requests,
        window: Duration::from_secs(seconds),
    })
}

/// The store `--sandbox` keeps in the data dir.
pub fn persistent_store(_catalog: &Catalog) -> Result<PathBuf> {
    Ok(config::data_dir()?.join("sandbox").join("sandbox.db"))
}

/// Starts the persistent sandbox of the data dir on a free loopback port,
/// seeded with demo records when its store is new.
pub async fn start_persistent(catalog: Catalog) -> Result<Sandbox> {
    let db = persistent_store(&catalog)?;
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create `{}`", dir.display()))?;
    }
    let mut config = SandboxConfig::new(catalog);
    config.seed = if db.exists() { Seed::Empty } else { Seed::Demo };
    tracing::debug!("starting the sandbox with the store {}", db.display());
    config.storage = Storage::File(db);
    Sandbox::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .context("failed to start the sandbox")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_read_count_and_window() {
        let limit = parse_rate_limit("100/1m").unwrap();
        assert_eq!(limit.requests, 100);
        assert_eq!(limit.window, Duration::from_secs(60));
        assert_eq!(
            parse_rate_limit("5/30").unwrap().window,
            Duration::from_secs(30)
        );
        assert!(parse_rate_limit("x/1m").is_err());
        assert!(parse_rate_limit("5/1d").is_err());
    }
}
