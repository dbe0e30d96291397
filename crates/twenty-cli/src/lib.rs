//! The `twenty` command: every action of a Twenty CRM workspace from the
//! shell, with commands and flags generated from the workspace's catalog.
//!
//! `main.rs` only calls [`main`]; everything lives here so tests and the
//! bulk module can reach it. The flow of one run: a quick scan of argv picks
//! the catalog (`--schema`, the profile's cached schema, or the built-in
//! model), the clap tree is built for the one resource named, the inputs
//! are checked, and only then is a client (or the local sandbox) set up.
#![warn(missing_docs)]

/// `println!` that returns the write error instead of panicking, so that
/// `twenty ... | head` ends quietly when the reader goes away.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// `eprintln!` that drops the write error instead of panicking: a message
/// that cannot reach a closed or full stderr must not turn a clean refusal
/// (exit 2) into a crash (exit 101), and there is nowhere left to report it.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

pub mod auth;
pub mod bulk;
pub mod commands;
pub mod config;
pub mod context;
pub mod globals;
pub mod inputs;
pub mod jq;
pub mod output;
pub mod sandbox;
pub mod schema;
pub mod verbs;

use std::ffi::OsString;
use std::fmt;

use clap::{Arg, Command};
use twenty_core::Catalog;

/// A mistake in what the user typed, found before anything was sent.
/// Exit code 2.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageError {
    /// What is wrong, naming the input.
    pub message: String,
    /// How to fix it, when there is more to say than the message does.
    pub hint: Option<String>,
}

impl UsageError {
    /// A usage error with an optional hint.
    pub fn new(message: impl Into<String>, hint: Option<String>) -> Self {
        Self {
            message: message.into(),
            hint,
        }
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UsageError {}

impl From<twenty_core::values::InputError> for UsageError {
    fn from(e: twenty_core::values::InputError) -> Self {
        UsageError::new(e.to_string(), None)
    }
}

/// Runs the command with the process's arguments and returns the exit
/// code.
pub fn main() -> i32 {
    run(std::env::args_os().skip(1).collect())
}

/// Runs the command with `args` (without the program name) and returns
/// the exit code. Errors are printed to stderr as `error: ...` and an
/// optional `hint: ...`.
pub fn run(args: Vec<OsString>) -> i32 {
    match dispatch(args) {
        Ok(code) => code,
        Err(error) => report(&error),
    }
}

/// Prints an error the way every command does and returns its exit code.
pub fn report(error: &anyhow::Error) -> i32 {
    if output::is_closed_pipe(error) {
        // The reader of our output stopped reading (`| head`): not a failure.
        return 0;
    }
    if let Some(usage) = error.downcast_ref::<UsageError>() {
        errln!("error: {}", usage.message);
        if let Some(hint) = &usage.hint {
            errln!("hint: {hint}");
        }
        return 2;
    }
    if let Some(api) = error.downcast_ref::<twenty_client::Error>() {
        errln!("error: {api}");
        if let Some(hint) = hint_for(api) {
            errln!("hint: {hint}");
        }
        return api.exit_code();
    }
    errln!("error: {}", chain_text(error.chain()));
    1
}

/// An error and its causes on one line, `outer: inner: root`.
///
/// A cause whose text the line already ends with is left out: some errors
/// from outside this workspace put their source into their own message as
/// well, and the user should read each cause once.
pub(crate) fn chain_text<'a>(
    chain: impl Iterator<Item = &'a (dyn std::error::Error + 'static)>,
) -> String {
    let mut line = String::new();
    for cause in chain {
        let text = match cause.downcast_ref::<std::io::Error>() {
            Some(io) => io_reason(io),
            None => cause.to_string(),
        };
        if line.is_empty() {
            line = text;
        } else if !line.to_lowercase().ends_with(&text.to_lowercase()) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line
}

/// The hint for a client error, in the command's words.
///
/// The client's own hints name its configuration (`ClientConfig::timeout`);
/// a user of `twenty` has flags and variables instead, so the cases that
/// name a setting are rendered here.
pub(crate) fn hint_for(error: &twenty_client::Error) -> Option<String> {
    use twenty_client::{Error, NetworkKind};
    Some(match error {
        Error::InsecureHttp { .. } => {
            "use https://, or pass --allow-insecure-http if the network is trusted".into()
        }
        Error::InvalidApiKey { .. }
        | Error::Auth {
            key_sent: false, ..
        } => format!("{KEY_WAYS}; keys are made in Twenty under Settings > APIs & Webhooks"),
        Error::Auth { .. } => format!(
            "the key may be mistyped, expired or revoked: {KEY_WAYS}; keys are made in \
             Twenty under Settings > APIs & Webhooks"
        ),
        Error::RateLimited { retry_after, .. } => {
            let wait = retry_after
                .map(|d| format!("the server asked to wait {}s; ", d.as_secs()))
                .unwrap_or_default();
            format!(
                "{wait}Twenty allows about 100 requests per minute per workspace: wait a \
                 minute, or send fewer with --rate N (requests per minute, such as --rate 60)"
            )
        }
        Error::Network {
            method,
            kind,
            attempts,
            ..
        } if error.outcome_unknown() && *method != twenty_core::Method::Get => {
            // The usual "check the server" would suggest nothing happened.
            let timed_out = match kind {
                NetworkKind::Timeout => "; give each attempt longer with --timeout SECONDS",
                _ => "",
            };
            format!(
                "the server may have made the change before its answer was lost: look (with \
                 `get` or `list --filter`) before sending it again{timed_out}"
            )
        }
        // 501 says the server does not do this at all: nothing was made.
        Error::Server { method, status, .. }
            if *method != twenty_core::Method::Get && *status != 501 =>
        {
            // A 5xx may come after the change was made (a proxy's 502, a
            // failure while answering): retrying blindly could make it twice.
            "the server failed, but may have made the change first: look (with `get` or \
             `list --filter`) before sending it again"
                .into()
        }
        Error::Network {
            kind: NetworkKind::Timeout,
            attempts,
            ..
        } => {
            let base = "the server did not answer in time: try again later, or give each \
                        attempt longer with --timeout SECONDS";
            if *attempts > 1 {
                format!("{base}; --no-retry waits for one attempt only")
            } else {
                base.to_string()
            }
        }
        other => return other.hint(),
    })
}

/// An I/O error's reason as a cause in our messages: lowercase, like
/// every message of the command (the OS spells `No such file ...`).
pub(crate) fn io_reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

/// The ways to give a key, for hints.
const KEY_WAYS: &str =
    "set $TWENTY_API_KEY, pass --api-key-file FILE, or save one with `twenty auth login`";

/// The fixed commands, which do not depend on the catalog.
fn fixed_commands() -> Vec<Command> {
    vec![
        auth::command(),
        schema::command(),
        sandbox::command(),
        Command::new("completions")
            .about("Print a shell completion script")
            .arg(
                Arg::new("shell")
                    .required(true)
                    .value_parser(clap::value_parser!(clap_complete::Shell))
                    .ignore_case(true)
                    .help("Shell to complete for (one of bash, zsh, fish, elvish, powershell)"),
            ),
    ]
}

/// The root command. `full` builds every resource's verbs (for
/// completions); otherwise only `wanted` gets them and the rest are names.
pub fn root_command(catalog: Option<&Catalog>, wanted: Option<&str>, full: bool) -> Command {
    let mut root = Command::new("twenty")
        .about("Work with a Twenty CRM workspace from the shell")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand_help_heading("Resources and commands")
        .args(globals::args())
        .after_help(
            "Credentials come from $TWENTY_API_URL and $TWENTY_API_KEY, --api-url and \
             --api-key-file, or a profile saved with `twenty auth login`. Try \
             `twenty --sandbox people list` against a local sandbox.",
        );
    root = root.subcommands(fixed_commands());
    if let Some(catalog) = catalog {
        // The operation list of `call` is only built when `call` is named
        // (and then replaced by the named operation's command).
        root = root.subcommands(bulk_commands());
        root = root.subcommand(if full || wanted == Some("call") {
            commands::call_command(catalog, None)
        } else {
            commands::call_command_bare()
        });
        for object in &catalog.objects {
            let named = wanted.is_some_and(|w| {
                twenty_core::names::matches_object(object, w)
                    || commands::resource_name(object) == w
                    || twenty_core::names::kebab(&object.singular) == w
            });
            root = root.subcommand(if full || named {
                commands::resource_command(object)
            } else {
                commands::bare_resource(object)
            });
        }
    }
    root
}

/// `import` and `export`, whose about text and options the bulk module
/// declares.
fn bulk_commands() -> [Command; 2] {
    use clap::Args as _;
    let resource = || {
        Arg::new("resource")
            .required(true)
            .value_name("RESOURCE")
            .help("Resource to move records of, such as people or workflow-runs (text)")
    };
    [
        bulk::ImportArgs::augment_args(Command::new("import").arg(resource())),
        bulk::ExportArgs::augment_args(Command::new("export").arg(resource())),
    ]
}

/// Runs `import` or `export` for the resource named in `m`.
fn run_bulk(
    globals: &globals::Globals,
    catalog: &Catalog,
    name: &str,
    m: &clap::ArgMatches,
) -> anyhow::Result<i32> {
    use clap::FromArgMatches as _;
    let resource = m
        .get_one::<String>("resource")
        .map(String::as_str)
        .unwrap_or_default();
    let object = find_object(catalog, resource)?;
    let import = if name == "import" {
        let mut args = bulk::ImportArgs::from_arg_matches(m)?;
        args.format_hint = globals.format_name.clone();
        import_output(globals)?;
        Some(args)
    } else {
        None
    };
    let export = if name == "export" {
        let mut args = bulk::ExportArgs::from_arg_matches(m)?;
        args.format_hint = globals.format_name.clone();
        export_output(globals, commands::resource_name(object).as_str())?;
        Some(args)
    } else {
        None
    };
    context::init_logging(globals);
    let runtime = context::runtime()?;
    runtime.block_on(async {
        let (client, sandbox) = verbs::connect(globals, catalog).await?;
        let result = match (&import, &export) {
            (Some(args), _) => bulk::import(&client, catalog, object, args).await,
            (_, Some(args)) => bulk::export(&client, catalog, object, args).await,
            _ => Ok(2),
        };
        if let Some(sandbox) = sandbox {
            sandbox.shutdown().await;
        }
        result
    })
}

/// Refuses on `import` the output options of the commands that print
/// records: import prints a summary, so `--jq` or `--raw` would be
/// quietly ignored, and a `--format` other than csv or jsonl (which name
/// the file's format, as `--as` does) cannot describe the file.
fn import_output(globals: &globals::Globals) -> Result<(), UsageError> {
    let summary = "import prints a summary and writes rejected rows to the reject file";
    let option = match (&globals.jq, globals.raw, globals.format_name.as_deref()) {
        (Some(_), _, _) => "--jq",
        (_, true, _) => "--raw",
        (_, _, Some(format)) if bulk::FileFormat::from_name(format).is_none() => {
            return Err(UsageError::new(
                format!("--format {format} does not apply to `twenty import`: {summary}"),
                Some("to name the file's format, give --as csv or --as jsonl".into()),
            ));
        }
        _ => return Ok(()),
    };
    Err(UsageError::new(
        format!("{option} does not apply to `twenty import`: {summary}"),
        Some(format!("drop {option}")),
    ))
}

/// Refuses the output options of the other commands on `export`, which
/// writes whole records in a format import reads back: ignored, they
/// would quietly write something else than asked. Export's own format
/// options are checked with the output file, in the bulk module.
fn export_output(globals: &globals::Globals, resource: &str) -> Result<(), UsageError> {
    let fix = format!(
        "export writes whole records as csv or jsonl (--as or --format); pick fields \
         afterwards, such as with `twenty export {resource} | jq -c '{{id}}'`"
    );
    if globals.jq.is_some() {
        return Err(UsageError::new(
            "--jq does not apply to `twenty export`: it writes every field of every record",
            Some(format!(
                "{fix}, or use `list --all --jq EXPR`, which runs the filter on each record"
            )),
        ));
    }
    if globals.raw {
        return Err(UsageError::new(
            "--raw does not apply to `twenty export`: it writes records, not the server's \
             answers",
            Some(fix),
        ));
    }
    Ok(())
}

/// The object a resource name means, or a usage error suggesting one.
pub fn find_object<'c>(
    catalog: &'c Catalog,
    name: &str,
) -> Result<&'c twenty_core::Object, UsageError> {
    catalog.object(name).ok_or_else(|| {
        let names: Vec<String> = catalog
            .objects
            .iter()
            .map(commands::resource_name)
            .collect();
        let hint = match twenty_core::names::nearest(name, names.iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`? `twenty schema objects` lists every resource"),
            None => "`twenty schema objects` lists every resource".to_string(),
        };
        UsageError::new(format!("unknown resource `{name}`"), Some(hint))
    })
}

fn dispatch(args: Vec<OsString>) -> anyhow::Result<i32> {
    let pre = globals::prescan(&args);
    // Checked before anything reads a file named after the profile.
    let profile = config::ProfileName::choose(pre.profile.as_deref())?;
    // `twenty help people list` needs the same tree as
    // `twenty people list --help`: the words after `help` name it.
    let words = match pre.words.split_first() {
        Some((help, rest)) if help == "help" => rest,
        _ => &pre.words[..],
    };
    let first = words.first().map(String::as_str);
    let second = words.get(1).map(String::as_str);

    // `auth` needs no catalog unless it reports on the sandbox, and
    // `schema fetch` replaces the cached one (which may be unreadable).
    let needs_catalog = match (first, second) {
        (Some("auth"), _) => pre.sandbox,
        (Some("schema"), Some("fetch")) => false,
        _ => true,
    };
    // The server the run talks to, chosen as `context::credentials` does:
    // the flag, then the environment unless a profile was named (the
    // profile's own URL is then checked in `load_catalog`). The sandbox
    // has a URL of its own.
    let run_url = match pre.sandbox {
        true => None,
        false => pre.api_url.clone().or_else(|| {
            std::env::var("TWENTY_API_URL")
                .ok()
                .filter(|url| !url.trim().is_empty() && !profile.named)
        }),
    };
    let loaded = if needs_catalog {
        Some(context::load_catalog(
            pre.schema.as_deref(),
            &profile,
            run_url.as_deref(),
        )?)
    } else {
        None
    };

    if let (Some(resource), Some(verb), Some((catalog, source))) = (first, second, &loaded) {
        missing_verb(catalog, resource, verb, *source, &pre, &profile)?;
    }
    let catalog = loaded.map(|(catalog, _)| catalog);

    // A mistyped operation id is told apart by clap from the nearest ids
    // `call_command` gives it; with none near, clap could only say
    // "unexpected argument", so that case is named here.
    if let (Some("call"), Some(typed), Some(catalog)) = (first, second, catalog.as_ref())
        && catalog.operation_by_id(typed).is_none()
        && twenty_core::names::nearest(typed, catalog.operations().map(|(_, op)| op.id.as_str()))
            .is_none()
    {
        return Err(UsageError::new(
            format!("unknown operation `{typed}`"),
            Some("`twenty call --help` lists every operation id".to_string()),
        )
        .into());
    }

    let full = pre.words.first().map(String::as_str) == Some("completions");
    let mut root = root_command(catalog.as_ref(), first, full);
    if first == Some("call")
        && let Some(catalog) = catalog.as_ref()
    {
        root = root.mut_subcommand("call", |_| commands::call_command(catalog, second));
    }
    let argv = std::iter::once(OsString::from("twenty")).chain(args.iter().cloned());
    let matches = match root.clone().try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) => {
            if let Some(usage) = commands::explain_parse_error(&e, &root, &args) {
                return Err(usage.into());
            }
            // Help and version go to stdout: one that could not be
            // written is a failure, unless the reader left (`| head`).
            return match e.print() {
                Err(io) if e.exit_code() == 0 && io.kind() != std::io::ErrorKind::BrokenPipe => {
                    errln!("error: {}", io_reason(&io));
                    Ok(1)
                }
                _ => Ok(e.exit_code()),
            };
        }
    };
    let globals = globals::Globals::from_matches(&matches)?;

    let Some((name, sub)) = matches.subcommand() else {
        return Ok(2);
    };
    check_sandbox_use(&globals, name, sub)?;
    match name {
        "auth" => auth::run(&globals, catalog, sub),
        "schema" => schema::run(&globals, catalog_or_builtin(catalog), sub),
        "sandbox" => sandbox::run(&globals, catalog_or_builtin(catalog), sub),
        "completions" => {
            let shell = *sub
                .get_one::<clap_complete::Shell>("shell")
                .ok_or_else(|| anyhow::anyhow!("no shell given"))?;
            let mut full = root_command(catalog.as_ref(), None, true);
            // Generated into memory: clap_complete panics on a failed write.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut full, "twenty", &mut script);
            std::io::Write::write_all(&mut std::io::stdout().lock(), &script)?;
            Ok(0)
        }
        "import" | "export" => run_bulk(&globals, &catalog_or_builtin(catalog), name, sub),
        "call" => {
            let catalog = catalog_or_builtin(catalog);
            let Some((op_name, op_matches)) = sub.subcommand() else {
                return Ok(2);
            };
            let Some((object, op)) = catalog.operation_by_id(op_name) else {
                return Err(UsageError::new(format!("unknown operation `{op_name}`"), None).into());
            };
            let command = format!("call {op_name}");
            verbs::run(&globals, &catalog, object, op, &command, op_matches)
        }
        resource => {
            let catalog = catalog_or_builtin(catalog);
            let Some(object) = catalog
                .objects
                .iter()
                .find(|o| commands::resource_name(o) == resource)
            else {
                return Err(UsageError::new(format!("unknown command `{resource}`"), None).into());
            };
            let Some((verb, verb_matches)) = sub.subcommand() else {
                return Ok(2);
            };
            let Some(op) = object
                .operations
                .iter()
                .find(|op| op.kind.verb() == Some(verb))
            else {
                return Err(UsageError::new(format!("unknown verb `{verb}`"), None).into());
            };
            let command = format!("{resource} {verb}");
            verbs::run(&globals, &catalog, Some(object), op, &command, verb_matches)
        }
    }
}

/// Refuses a verb that newer Twenty servers offer (`update-many`,
/// `restore`, ...) on a resource whose loaded schema lacks it. clap alone
/// would call it unrecognized and suggest another verb, when the verb is
/// right and the schema is what to change.
fn missing_verb(
    catalog: &Catalog,
    resource: &str,
    verb: &str,
    source: context::CatalogSource,
    pre: &globals::Prescan,
    profile: &config::ProfileName,
) -> Result<(), UsageError> {
    let Some(object) = catalog.object(resource) else {
        return Ok(());
    };
    let known = twenty_core::OperationKind::ALL
        .iter()
        .any(|kind| kind.verb() == Some(verb));
    let offered: Vec<&str> = object
        .operations
        .iter()
        .filter_map(|op| op.kind.verb())
        .collect();
    if !known || offered.contains(&verb) {
        return Ok(());
    }
    let loaded = match (source, &pre.schema) {
        (context::CatalogSource::File, Some(path)) => {
            format!("the schema of --schema `{}`", path.display())
        }
        (context::CatalogSource::Cache, _) => format!(
            "the schema `twenty schema fetch` cached for profile `{}`",
            profile.name
        ),
        _ => "the built-in schema (Twenty v1.0.3's standard objects)".to_string(),
    };
    let name = commands::resource_name(object);
    Err(UsageError::new(
        format!(
            "`twenty {name} {verb}` is not offered by {loaded}, whose {name} verbs are {}",
            offered.join(", ")
        ),
        Some(format!(
            "newer Twenty servers offer {verb}: load a schema that has it, with \
             `twenty schema fetch` against such a server, or `--schema FILE` with its \
             OpenAPI document"
        )),
    ))
}

/// `--sandbox` stands in for the server, URL and key of a command. Where
/// that cannot mean anything (a command that saves credentials, runs its
/// own sandbox, or would cache the sandbox's document as a workspace's),
/// or where a flag gives a URL or key the sandbox would ignore, the run is
/// refused rather than quietly doing something else.
fn check_sandbox_use(
    globals: &globals::Globals,
    name: &str,
    sub: &clap::ArgMatches,
) -> Result<(), UsageError> {
    if !globals.sandbox {
        return Ok(());
    }
    let flags = [
        (globals.api_url.is_some(), "--api-url"),
        (globals.api_key_file.is_some(), "--api-key-file"),
    ];
    if let Some((_, flag)) = flags.iter().find(|(given, _)| *given) {
        return Err(UsageError::new(
            format!(
                "--sandbox and {flag} cannot be used together: the sandbox has its own url and key"
            ),
            Some(format!(
                "drop --sandbox to use a server, or drop {flag} to use the local sandbox"
            )),
        ));
    }
    let (command, why, hint) = match (name, sub.subcommand_name()) {
        ("auth", Some(verb @ ("login" | "logout"))) => (
            format!("auth {verb}"),
            "it saves or removes a profile's credentials, and the sandbox needs none",
            "`twenty --sandbox auth status` shows the sandbox's url and store".to_string(),
        ),
        ("schema", Some("fetch")) => (
            "schema fetch".to_string(),
            "it caches a workspace's schema for a profile, and the sandbox serves the \
             catalog in use already",
            "`twenty --sandbox schema objects` lists what it serves; to cache a sandbox's \
             document, run `twenty sandbox serve`, save its url with `twenty auth login \
             --profile local --api-url URL` and run `twenty --profile local schema fetch`"
                .to_string(),
        ),
        ("sandbox", _) => (
            "sandbox serve".to_string(),
            "it runs a sandbox of its own",
            "drop --sandbox".to_string(),
        ),
        _ => return Ok(()),
    };
    Err(UsageError::new(
        format!("--sandbox does not apply to `twenty {command}`: {why}"),
        Some(hint),
    ))
}

fn catalog_or_builtin(catalog: Option<Catalog>) -> Catalog {
    catalog.unwrap_or_else(twenty_core::builtin::standard)
}
