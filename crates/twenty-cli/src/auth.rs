//! `twenty auth login | status | logout`: named profiles holding an API
//! URL and key, saved owner-only in the config dir.

use std::io::{IsTerminal as _, Read};

use anyhow::{Context as _, Result};
use clap::{ArgMatches, Command};
use twenty_client::{Client, ClientConfig, Request};
use twenty_core::{Catalog, Method};

use crate::UsageError;
use crate::config::{self, ConfigFile, Profile};
use crate::context;
use crate::globals::Globals;

/// The `auth` command. It uses the global `--profile`, `--api-url` and
/// `--api-key-file`.
pub fn command() -> Command {
    Command::new("auth")
        .about("Save, check or remove the credentials of a profile")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(Command::new("login").about(
            "Save --api-url and the key (from --api-key-file, or read from stdin) under --profile",
        ))
        .subcommand(
            Command::new("status").about(
                "Show the URL in use and whether a key is set, and check them with one request",
            ),
        )
        .subcommand(
            Command::new("logout")
                .about("Remove the profile's saved URL and key and its cached schema"),
        )
}

/// Runs an `auth` subcommand. `catalog` is the one in use with
/// `--sandbox` (it decides which store `auth status` reports on).
pub fn run(globals: &Globals, catalog: Option<Catalog>, m: &ArgMatches) -> Result<i32> {
    match m.subcommand() {
        Some(("login", _)) => login(globals),
        Some(("status", _)) if globals.sandbox => sandbox_status(
            globals,
            catalog.unwrap_or_else(twenty_core::builtin::standard),
        ),
        Some(("status", _)) => status(globals),
        Some(("logout", _)) => logout(globals),
        _ => Ok(2),
    }
}

fn login(globals: &Globals) -> Result<i32> {
    let url = globals.api_url.clone().ok_or_else(|| {
        UsageError::new(
            "`twenty auth login` needs --api-url",
            Some("such as `twenty auth login --api-url https://crm.example.com --api-key-file key.txt`".into()),
        )
    })?;
    // The URL is checked as every later command will check it, so that a
    // profile is never saved that no command could use.
    let (url, insecure) = match checked_url(&url, false) {
        Ok(url) => (url, false),
        Err(twenty_client::Error::InsecureHttp { .. }) if globals.allow_insecure_http => {
            (checked_url(&url, true)?, true)
        }
        Err(e) => return Err(e.into()),
    };
    let (raw, source) = match &globals.api_key_file {
        Some(path) => (
            config::read_key_file(path)?,
            format!("the API key file `{}`", path.display()),
        ),
        // The hidden line is read from stdin and the prompt goes to stderr;
        // with stderr redirected nobody would see what is asked.
        None if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => {
            // Typed by hand: echoed, the key would stay in scrollback and
            // in any recording of the screen.
            errln!("API key (typing is hidden):");
            let typed =
                read_hidden_line().context("failed to read the API key from the terminal")?;
            let Some(text) = typed else {
                errln!("interrupted: profile `{}` not saved", globals.profile);
                return Ok(crate::bulk::EXIT_INTERRUPTED);
            };
            (config::clean_key(&text), "the terminal".to_string())
        }
        None => {
            errln!("reading the API key from stdin");
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("failed to read the API key from stdin")?;
            (config::clean_key(&text), "stdin".to_string())
        }
    };
    // Refuse a key that could not be sent, before saving it.
    let key = context::api_key(&raw, &source)?;

    let mut file = ConfigFile::load()?;
    file.profiles.insert(
        globals.profile.clone(),
        Profile {
            api_url: Some(url.clone()),
            api_key: Some(key.expose().to_string()),
            allow_insecure_http: insecure,
        },
    );
    let path = file.save()?;
    if insecure {
        errln!(
            "warning: profile `{}` sends its key over plain http to {url}, as \
             --allow-insecure-http asked",
            globals.profile
        );
    }
    errln!("saved profile `{}` in {}", globals.profile, path.display());
    Ok(0)
}

/// One line typed at the terminal on stdin, not echoed; `None` when the
/// user pressed Ctrl-C instead of finishing it.
#[cfg(unix)]
fn read_hidden_line() -> std::io::Result<Option<String>> {
    use rustix::termios::{LocalModes, OptionalActions, SpecialCodeIndex, tcgetattr, tcsetattr};

    let stdin = std::io::stdin();
    let saved = tcgetattr(&stdin)?;
    let mut hidden = saved.clone();
    hidden.local_modes.remove(LocalModes::ECHO);
    // Ctrl-C would end the process with echo still off, and the shell
    // after it would show nothing the user types. With signals off, the
    // interrupt character instead ends the line as Enter does, still with
    // the terminal's own line editing, and is read as a byte.
    let interrupt = saved
        .local_modes
        .contains(LocalModes::ISIG)
        .then(|| saved.special_codes[SpecialCodeIndex::VINTR]);
    if let Some(interrupt) = interrupt {
        hidden.local_modes.remove(LocalModes::ISIG);
        hidden.special_codes[SpecialCodeIndex::VEOL] = interrupt;
    }
    // Flush: anything typed before the prompt was not meant as the key.
    tcsetattr(&stdin, OptionalActions::Flush, &hidden)?;
    let line = read_line(&mut stdin.lock(), interrupt);
    // Restored whatever the read gave, before any error is returned.
    let restored = tcsetattr(&stdin, OptionalActions::Now, &saved);
    // The Enter that ended the line was not echoed either.
    errln!();
    let mut line = line?;
    restored?;

    if interrupt.is_some() && line.last() == interrupt.as_ref() {
        return Ok(None);
    }
    while line.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
        line.pop();
    }
    String::from_utf8(line).map(Some).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the text typed is not UTF-8",
        )
    })
}

/// Bytes up to and with the first newline or `interrupt`, or all of them
/// at end of input (Ctrl-D).
#[cfg(unix)]
fn read_line(input: &mut impl Read, interrupt: Option<u8>) -> std::io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = match input.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(line);
        }
        line.extend_from_slice(&chunk[..n]);
        let last = line.last().copied();
        if last == Some(b'\n') || (interrupt.is_some() && last == interrupt) {
            return Ok(line);
        }
    }
}

/// One line typed at the terminal, not echoed. Ctrl-C ends the process
/// here as it always does.
#[cfg(not(unix))]
fn read_hidden_line() -> std::io::Result<Option<String>> {
    console::Term::stderr().read_secure_line().map(Some)
}

/// `url` normalized as the client will use it, or why it cannot be.
fn checked_url(url: &str, allow_insecure_http: bool) -> Result<String, twenty_client::Error> {
    let mut config = ClientConfig::new(url);
    config.allow_insecure_http = allow_insecure_http;
    Ok(Client::new(config)?.base_url().to_string())
}

fn status(globals: &Globals) -> Result<i32> {
    let creds = context::credentials(globals)?;
    outln!("profile: {}", globals.profile)?;
    outln!("url: {}", creds.url)?;
    outln!("key: set")?;
    let client = context::client(globals, creds)?;
    context::init_logging(globals);
    let runtime = context::runtime()?;
    runtime.block_on(check(&client, "companies"))
}

/// `auth status --sandbox`: the embedded sandbox that `--sandbox` commands
/// use, started for the check.
fn sandbox_status(globals: &Globals, catalog: Catalog) -> Result<i32> {
    let store = crate::sandbox::persistent_store(&catalog)?;
    // Any object the catalog has will do; a document without companies is
    // possible with --schema.
    let probe = catalog
        .object("companies")
        .or_else(|| catalog.objects.first())
        .map(|o| o.plural.clone())
        .unwrap_or_else(|| "companies".into());
    context::init_logging(globals);
    let runtime = context::runtime()?;
    runtime.block_on(async {
        let (client, sandbox) = context::connect(globals, &catalog).await?;
        let result = async {
            outln!("sandbox: embedded, records in {}", store.display())?;
            outln!("url: {} (only while a command runs)", client.base_url())?;
            outln!("key: set")?;
            check(&client, &probe).await
        }
        .await;
        if let Some(sandbox) = sandbox {
            sandbox.shutdown().await;
        }
        result
    })
}

/// One record of `plural`: the cheapest call that needs the key.
async fn check(client: &Client, plural: &str) -> Result<i32> {
    let checked = client
        .send(Request::new(Method::Get, format!("/{plural}")).query("limit", "1"))
        .await;
    match checked {
        Ok(_) => {
            outln!("check: ok")?;
            Ok(0)
        }
        Err(error) => {
            outln!("check: failed")?;
            Err(error.into())
        }
    }
}

fn logout(globals: &Globals) -> Result<i32> {
    let mut file = ConfigFile::load()?;
    let saved = file.profiles.remove(&globals.profile).is_some();
    if saved {
        file.save()?;
    }
    // The cached schema goes too: it describes the workspace of the
    // credentials just removed, and commands would go on using it.
    let cached = config::remove_schema_cache(&globals.profile)?;
    let name = &globals.profile;
    match (saved, cached) {
        (true, true) => errln!("removed profile `{name}` and its cached schema"),
        (true, false) => errln!("removed profile `{name}`"),
        (false, true) => errln!("removed the schema cached for profile `{name}`"),
        (false, false) => errln!("profile `{name}` was not saved"),
    }
    Ok(0)
}

#[cfg(all(test, unix))]
mod tests {
    use super::read_line;

    #[test]
    fn a_hidden_line_ends_at_enter_ctrl_c_or_the_end_of_input() {
        let read = |typed: &[u8]| read_line(&mut &typed[..], Some(0x03)).unwrap();
        assert_eq!(read(b"abc\n"), b"abc\n");
        assert_eq!(read(b"ab\x03"), b"ab\x03");
        assert_eq!(read(b"abc"), b"abc");
        assert_eq!(read_line(&mut &b"abc\n"[..], None).unwrap(), b"abc\n");
    }
}
