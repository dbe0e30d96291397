//! `twenty auth login | status | logout`: named profiles holding an API
//! URL and key, saved owner-only in the config dir.

use std::io::Read;

use anyhow::Result;
use clap::{ArgMatches, Command};
use twenty_client::Request;
use twenty_core::Method;

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
        .subcommand(Command::new("logout").about("Remove the profile's saved URL and key"))
}

/// Runs an `auth` subcommand.
pub fn run(globals: &Globals, m: &ArgMatches) -> Result<i32> {
    match m.subcommand() {
        Some(("login", _)) => login(globals),
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
    let key = match &globals.api_key_file {
        Some(path) => config::read_key_file(path)?,
        None => {
            eprintln!("reading the API key from stdin");
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            config::clean_key(&text)
        }
    };
    // Refuse a key that could not be sent, before saving it.
    twenty_client::ApiKey::new(&key).map_err(|e| UsageError::new(e.to_string(), None))?;

    let mut file = ConfigFile::load()?;
    file.profiles.insert(
        globals.profile.clone(),
        Profile {
            api_url: Some(url),
            api_key: Some(key),
        },
    );
    let path = file.save()?;
    eprintln!("saved profile `{}` in {}", globals.profile, path.display());
    Ok(0)
}

fn status(globals: &Globals) -> Result<i32> {
    let creds = context::credentials(globals)?;
    outln!("profile: {}", globals.profile)?;
    outln!("url: {}", creds.url)?;
    outln!(
        "key: {}",
        if creds.key.is_some() {
            "set"
        } else {
            "not set"
        }
    )?;
    let has_key = creds.key.is_some();
    let client = context::client(globals, creds)?;

    // One record of a standard object is the cheapest call that needs the
    // key.
    context::init_logging(globals);
    let runtime = context::runtime()?;
    let checked = runtime.block_on(async {
        client
            .send(Request::new(Method::Get, "/companies").query("limit", "1"))
            .await
    });
    match checked {
        Ok(_) => {
            outln!("check: ok")?;
            Ok(0)
        }
        Err(error) => {
            outln!("check: failed")?;
            if !has_key {
                eprintln!("hint: no key is set; run `twenty auth login` or set TWENTY_API_KEY");
            }
            Err(error.into())
        }
    }
}

fn logout(globals: &Globals) -> Result<i32> {
    let mut file = ConfigFile::load()?;
    if file.profiles.remove(&globals.profile).is_none() {
        eprintln!("profile `{}` was not saved", globals.profile);
        return Ok(0);
    }
    file.save()?;
    eprintln!("removed profile `{}`", globals.profile);
    Ok(0)
}
