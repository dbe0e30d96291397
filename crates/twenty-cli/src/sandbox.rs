//! The local sandbox: `twenty sandbox serve` in the foreground, and the
//! persistent one `--sandbox` starts in-process for a single command.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{Arg, ArgAction, ArgMatches, Command};
use twenty_core::Catalog;
use twenty_sandbox::{
    DEFAULT_API_KEY, FaultSpec, RateLimit, Sandbox, SandboxConfig, Seed, Storage,
};

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
                        .help(
                            "Address to listen on; any but a loopback address needs --api-key \
                             (ip address; default 127.0.0.1)",
                        ),
                )
                .arg(
                    Arg::new("data-dir")
                        .long("data-dir")
                        .value_name("DIR")
                        .conflicts_with("memory")
                        .help(
                            "Keep records in DIR, one store per catalog (path; default the \
                             data dir's sandbox folder)",
                        ),
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
                        .help(
                            "Bearer token the sandbox accepts, without spaces (text; default \
                             sandbox-api-key, only on a loopback address)",
                        ),
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
    let host = m
        .get_one::<IpAddr>("host")
        .copied()
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let port = m.get_one::<u16>("port").copied().unwrap_or(0);

    // The key is checked by the rule the client applies, so that a key the
    // sandbox accepts is one every command can send.
    let api_key = m
        .get_one::<String>("api-key")
        .map(String::as_str)
        .map(sandbox_key)
        .transpose()?;
    if !host.is_loopback() {
        // The default key is printed in every help text: on an address
        // other machines reach, it would let anyone in.
        let own_key = api_key
            .as_ref()
            .is_some_and(|key| key.expose() != DEFAULT_API_KEY);
        if !own_key {
            return Err(UsageError::new(
                format!(
                    "--host {host} lets other machines reach the sandbox, so it needs a key \
                     of its own"
                ),
                Some(
                    "pass --api-key KEY with a key that is hard to guess; the default key \
                     is public"
                        .into(),
                ),
            )
            .into());
        }
    }

    let mut config = SandboxConfig::new(catalog);
    if let Some(key) = &api_key {
        config.api_key = key.expose().to_string();
    }
    if m.get_flag("memory") {
        config.storage = Storage::Memory;
    } else {
        let dir = match m.get_one::<String>("data-dir") {
            Some(dir) => PathBuf::from(dir),
            None => config::data_dir()?.join("sandbox"),
        };
        config::create_private_dir(&dir)?;
        config.storage = Storage::File(store_file(&dir, &config.catalog)?);
    }
    config.seed = match m.get_one::<String>("seed").map(String::as_str) {
        Some("empty") => Seed::Empty,
        _ => Seed::Demo,
    };
    if let Some(spec) = m.get_one::<String>("faults") {
        let faults: FaultSpec = spec
            .parse()
            .map_err(|e| UsageError::new(format!("--faults `{spec}` is invalid: {e}"), None))?;
        config.faults = Some(faults);
    }
    if let Some(text) = m.get_one::<String>("rate-limit") {
        config.rate_limit = Some(parse_rate_limit(text)?);
    }
    let storage = config.storage.clone();

    let runtime = crate::context::runtime()?;
    runtime.block_on(async move {
        let sandbox = Sandbox::start(config, SocketAddr::new(host, port))
            .await
            .context("failed to start the sandbox")?;
        let addr = sandbox.addr();
        // The URL and key are the data of this command, so they go to
        // stdout; a script can read them. The URL is one a client on this
        // machine can use as it is: `0.0.0.0` is no address to connect to.
        outln!("url: {}", local_url(addr))?;
        outln!("api key: {}", sandbox.api_key())?;
        if !host.is_loopback() {
            warn_exposed(addr);
        }
        match storage {
            Storage::File(path) => errln!("records in {}", path.display()),
            Storage::Memory => errln!("records in memory, gone on exit"),
        }
        errln!("serving until Ctrl-C");
        tokio::signal::ctrl_c()
            .await
            .context("failed to wait for Ctrl-C")?;
        sandbox.shutdown().await;
        Ok(0)
    })
}

/// The URL a client on this machine reaches `addr` at: the loopback
/// address of the same family when listening on every address.
fn local_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// Tells, on stderr, that the sandbox is open to the network and how a
/// client elsewhere connects: the client refuses plain http to an address
/// that is not loopback unless told otherwise.
fn warn_exposed(addr: SocketAddr) {
    errln!(
        "warning: the sandbox listens on {addr}: anyone who can reach this machine and has \
         the key can read and change its records, and the key crosses the network in \
         clear text (plain http)"
    );
    if addr.ip().is_unspecified() {
        let remote = network_address(addr.ip().is_ipv6())
            .map(|ip| format!("http://{}", SocketAddr::new(ip, addr.port())))
            .unwrap_or_else(|| format!("http://ADDRESS:{} (this machine's address)", addr.port()));
        errln!("from this machine: --api-url {}", local_url(addr));
        errln!("from another machine: --api-url {remote} --allow-insecure-http");
    } else {
        errln!("from any machine: --api-url http://{addr} --allow-insecure-http");
    }
}

/// `--api-key`, checked by the rule the client applies to the keys it
/// sends (and cleaned the same way), so that every command can use the
/// key the sandbox accepts.
fn sandbox_key(raw: &str) -> Result<twenty_client::ApiKey, UsageError> {
    twenty_client::ApiKey::new(raw).map_err(|e| {
        let reason = match &e {
            twenty_client::Error::InvalidApiKey { reason } => (*reason).to_string(),
            other => other.to_string(),
        };
        UsageError::new(
            format!("--api-key is a key no client could send: {reason}"),
            Some("use ASCII letters, digits and punctuation, such as `local-key-1`".into()),
        )
    })
}

/// This machine's address on the network its default route leads to.
/// Connecting a UDP socket only picks a route and sends nothing; the
/// target is a documentation address (RFC 5737, RFC 3849) that no host
/// owns. `None` when there is no route.
fn network_address(v6: bool) -> Option<IpAddr> {
    let (bind, target) = if v6 {
        ("[::]:0", "[2001:db8::1]:9")
    } else {
        ("0.0.0.0:0", "192.0.2.1:9")
    };
    let socket = std::net::UdpSocket::bind(bind).ok()?;
    socket.connect(target).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// The store for `catalog` in `dir`. Each catalog has its own, so records
/// written under one document (a 2026 enum value, a custom object) never
/// show up under another. The built-in model keeps `sandbox.db`, the name
/// from before stores were per catalog, so existing sandboxes keep their
/// records; any other catalog gets `sandbox-<fingerprint>.db`.
pub fn store_file(dir: &Path, catalog: &Catalog) -> Result<PathBuf> {
    if *catalog == twenty_core::builtin::standard() {
        return Ok(dir.join("sandbox.db"));
    }
    let bytes = serde_json::to_vec(catalog).context("failed to fingerprint the catalog")?;
    Ok(dir.join(format!("sandbox-{:016x}.db", fingerprint(&bytes))))
}

/// FNV-1a over `bytes`. A store's name must stay the same across builds
/// and platforms, which std's hasher does not promise; this names files,
/// so it need not resist anyone choosing collisions.
fn fingerprint(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
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

/// The store `--sandbox` keeps for `catalog` in the data dir.
pub fn persistent_store(catalog: &Catalog) -> Result<PathBuf> {
    store_file(&config::data_dir()?.join("sandbox"), catalog)
}

/// Starts the persistent sandbox of the data dir on a free loopback port,
/// seeded with demo records when its store is new.
pub async fn start_persistent(catalog: Catalog) -> Result<Sandbox> {
    let db = persistent_store(&catalog)?;
    if let Some(dir) = db.parent() {
        config::create_private_dir(dir)?;
    }
    let mut config = SandboxConfig::new(catalog);
    config.seed = if db.exists() { Seed::Empty } else { Seed::Demo };
    tracing::debug!(
        "starting the sandbox with the store {} ({} objects{})",
        db.display(),
        config.catalog.objects.len(),
        if db.exists() { "" } else { ", new" }
    );
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

    #[test]
    fn each_catalog_has_its_own_store_and_the_built_in_keeps_the_old_name() {
        let dir = Path::new("/data/sandbox");
        let builtin = twenty_core::builtin::standard();
        assert_eq!(store_file(dir, &builtin).unwrap(), dir.join("sandbox.db"));
        let mut other = builtin.clone();
        other.objects.truncate(3);
        let name = store_file(dir, &other).unwrap();
        assert_ne!(name, dir.join("sandbox.db"));
        assert_eq!(store_file(dir, &other).unwrap(), name);
        other.objects.truncate(2);
        assert_ne!(store_file(dir, &other).unwrap(), name);
    }

    #[test]
    fn listening_everywhere_prints_a_loopback_url() {
        assert_eq!(
            local_url("0.0.0.0:8085".parse().unwrap()),
            "http://127.0.0.1:8085"
        );
        assert_eq!(local_url("[::]:8085".parse().unwrap()), "http://[::1]:8085");
        assert_eq!(
            local_url("10.1.2.3:8085".parse().unwrap()),
            "http://10.1.2.3:8085"
        );
    }
}
