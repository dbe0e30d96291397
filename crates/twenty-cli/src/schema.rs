//! `twenty schema fetch | objects | show`: fetching the workspace's
//! OpenAPI document into the profile's cache, and printing the catalog in
//! use.

use anyhow::{Context as _, Result};
use clap::{Arg, ArgMatches, Command};
use serde_json::{Value, json};
use twenty_core::{Catalog, Object, OperationKind};

use crate::UsageError;
use crate::commands;
use crate::config;
use crate::context;
use crate::globals::{Format, Globals};

/// The `schema` command.
pub fn command() -> Command {
    Command::new("schema")
        .about("Fetch the workspace's schema, or show the catalog in use")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            Command::new("fetch")
                .about("Fetch the workspace's OpenAPI document and cache it for the profile"),
        )
        .subcommand(Command::new("objects").about("List the objects of the catalog in use"))
        .subcommand(
            Command::new("show")
                .about("Show one object's fields and verbs")
                .arg(
                    Arg::new("resource")
                        .required(true)
                        .value_name("RESOURCE")
                        .help("Resource name, such as workflow-runs or person (text)"),
                ),
        )
}

/// Runs a `schema` subcommand.
pub fn run(globals: &Globals, catalog: Catalog, m: &ArgMatches) -> Result<i32> {
    match m.subcommand() {
        Some(("fetch", _)) => fetch(globals),
        Some(("objects", _)) => {
            objects(globals, &catalog)?;
            Ok(0)
        }
        Some(("show", sub)) => {
            let name = sub
                .get_one::<String>("resource")
                .map(String::as_str)
                .unwrap_or_default();
            let object = catalog.object(name).ok_or_else(|| {
                let names = catalog.objects.iter().map(commands::resource_name);
                let names: Vec<String> = names.collect();
                let suggestion =
                    twenty_core::names::nearest(name, names.iter().map(String::as_str));
                UsageError::new(
                    format!("no object `{name}` in the catalog in use"),
                    Some(match suggestion {
                        Some(s) => {
                            format!("did you mean `{s}`? `twenty schema objects` lists them all")
                        }
                        None => "`twenty schema objects` lists them all".into(),
                    }),
                )
            })?;
            show(globals, object)?;
            Ok(0)
        }
        _ => Ok(2),
    }
}

fn fetch(globals: &Globals) -> Result<i32> {
    let creds = context::credentials(globals)?;
    // The cache is the profile's: another server's document there would
    // give the profile's later commands verbs and fields its server lacks.
    let saved = config::ConfigFile::load()?
        .profiles
        .get(&globals.profile)
        .and_then(|p| p.api_url.clone());
    if let Some(saved) = saved
        && !context::same_server(&saved, &creds.url)
    {
        return Err(UsageError::new(
            format!(
                "`twenty schema fetch` would cache the schema of {} for profile `{}`, which \
                 is {saved}'s",
                creds.url, globals.profile
            ),
            Some(format!(
                "save a profile for that server (`twenty auth login --profile NAME --api-url \
                 {}`) and fetch with --profile NAME; nothing was sent",
                creds.url
            )),
        )
        .into());
    }
    let server = creds.url.clone();
    let client = context::client(globals, creds)?;
    context::init_logging(globals);
    let runtime = context::runtime()?;
    let text = runtime.block_on(client.fetch_schema())?;
    let catalog = twenty_core::load::from_str(&text)
        .context("the server's OpenAPI document could not be read")?;

    let (document_path, catalog_path) = config::schema_cache(&globals.profile)?;
    config::write_private(&document_path, text.as_bytes())?;
    config::write_private(&catalog_path, &serde_json::to_vec(&catalog)?)?;
    config::write_private(
        &config::schema_cache_server(&globals.profile)?,
        server.as_bytes(),
    )?;
    let operations = catalog.operations().count();
    errln!(
        "cached {} objects and {operations} operations for profile `{}` in {}",
        catalog.objects.len(),
        globals.profile,
        catalog_path.display()
    );
    Ok(0)
}

fn verbs(object: &Object) -> Vec<&'static str> {
    OperationKind::ALL
        .iter()
        .filter(|k| object.operation(**k).is_some())
        .filter_map(|k| k.verb())
        .collect()
}

/// Whether the user asked for JSON; the catalog listings are for reading
/// unless they did.
fn wants_json(globals: &Globals) -> bool {
    globals.format_name.is_some() && matches!(globals.format, Format::Json | Format::Jsonl)
}

fn objects(globals: &Globals, catalog: &Catalog) -> Result<()> {
    if wants_json(globals) {
        let list: Vec<Value> = catalog
            .objects
            .iter()
            .map(|o| {
                json!({
                    "resource": commands::resource_name(o),
                    "singular": o.singular,
                    "plural": o.plural,
                    "description": o.description,
                    "verbs": verbs(o),
                })
            })
            .collect();
        return print_json(globals, &Value::Array(list));
    }
    let width = catalog
        .objects
        .iter()
        .map(|o| commands::resource_name(o).len())
        .max()
        .unwrap_or(0);
    for object in &catalog.objects {
        outln!(
            "{:width$}  {}",
            commands::resource_name(object),
            object
                .description
                .as_deref()
                .map(commands::first_sentence)
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

fn show(globals: &Globals, object: &Object) -> Result<()> {
    if wants_json(globals) {
        return print_json(globals, &serde_json::to_value(object)?);
    }
    outln!(
        "{} ({} / {})",
        commands::resource_name(object),
        object.singular,
        object.plural
    )?;
    if let Some(description) = &object.description {
        outln!("{}", commands::first_sentence(description))?;
    }
    outln!("\nverbs: {}", verbs(object).join(", "))?;
    outln!("\nfields:")?;
    // Sub-fields are listed under their field as `field.sub`, in the same
    // column, so the type column lines up for both.
    let rows: Vec<(String, String)> = object
        .fields
        .iter()
        .flat_map(|field| {
            let access = if field.writable { "" } else { " (read-only)" };
            let subs = field
                .kind
                .sub_fields()
                .iter()
                .map(|sub| (format!("{}.{}", field.name, sub.name), kind_text(&sub.kind)))
                .collect::<Vec<_>>();
            let kind = kind_text(&field.kind);
            std::iter::once((field.name.clone(), format!("{kind}{access}"))).chain(subs)
        })
        .collect();
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, kind) in rows {
        outln!("  {name:width$}  {kind}")?;
    }
    Ok(())
}

/// A field's type for `schema show`: an enum with its values, so that a
/// sub-field such as `createdBy.source` says what it takes too.
fn kind_text(kind: &twenty_core::FieldType) -> String {
    match kind {
        twenty_core::FieldType::Enum { values } => format!("enum: {}", values.join(", ")),
        other => other.label(),
    }
}

fn print_json(globals: &Globals, value: &Value) -> Result<()> {
    let text = if globals.format == Format::Jsonl {
        serde_json::to_string(value)?
    } else {
        serde_json::to_string_pretty(value)?
    };
    outln!("{text}")?;
    Ok(())
}
