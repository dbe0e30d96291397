//! Clap commands built from the catalog: one function,
//! [`operation_command`], turns a catalog operation into a command; the
//! rest assembles resources and the root.
//!
//! Start-up time matters (a `get` should cost about what curl does), so the
//! root holds every resource only as a bare name with a one-line
//! description; the verbs and their flags are built for the one resource
//! named on the command line.

use clap::{Arg, ArgAction, Command};
use twenty_core::names;
use twenty_core::{Body, Catalog, Field, FieldType, Object, Operation, OperationKind, Param};

use crate::UsageError;
use crate::globals;
use crate::inputs::body;

/// Arg id prefix of a field or sub-field input (`f:name.firstName`).
pub const FIELD: &str = "f:";
/// Arg id prefix of an operation parameter (`p:starting_after`).
pub const PARAM: &str = "p:";
/// Arg id prefix of a property of a body that is not a record
/// (`b:conflictPriorityIndex`).
pub const BODY: &str = "b:";
/// Arg id prefix of a list property of such a body, whose flag may repeat
/// (`bl:ids`).
pub const BODY_LIST: &str = "bl:";

/// Options every operation's command has besides the globals.
pub(crate) const COMMAND_OPTIONS: [&str; 9] = [
    "help",
    "version",
    "set",
    "data",
    "each",
    "continue-on-error",
    "concurrency",
    "all",
    "id",
];

/// The command-line name of an object: its plural in kebab case.
pub fn resource_name(object: &Object) -> String {
    names::kebab(&object.plural)
}

/// `workflowRun` -> `workflow run`.
pub fn human(camel: &str) -> String {
    names::kebab(camel).replace('-', " ")
}

/// `a` or `an` for the phrase that follows. The sound decides, not the
/// letter, so the few common words where they differ are listed: "a user",
/// "a uuid", "an hour".
fn article(phrase: &str) -> &'static str {
    const A: [&str; 8] = ["uni", "use", "usu", "uti", "uu", "url", "eu", "one"];
    const AN: [&str; 4] = ["hour", "honest", "honor", "heir"];
    let word = phrase.trim_start().to_ascii_lowercase();
    if AN.iter().any(|p| word.starts_with(p)) {
        return "an";
    }
    if A.iter().any(|p| word.starts_with(p)) {
        return "a";
    }
    match word.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}

/// The short imperative `about` of an operation ("Update a workflow run").
pub fn operation_about(object: Option<&Object>, op: &Operation) -> String {
    let Some(object) = object else {
        return summary_about(op);
    };
    let one = human(&object.singular);
    let many = human(&object.plural);
    let a = article(&one);
    match op.kind {
        OperationKind::FindMany => format!("List {many}"),
        OperationKind::FindOne => format!("Get {a} {one}"),
        OperationKind::CreateOne => format!("Create {a} {one}"),
        OperationKind::CreateMany => format!("Create many {many} in one request"),
        OperationKind::UpdateOne => format!("Update {a} {one}"),
        OperationKind::DeleteOne => format!("Delete {a} {one}"),
        OperationKind::FindDuplicates => format!("Find duplicate {many}"),
        OperationKind::UpdateMany => format!("Update every {one} a filter matches"),
        OperationKind::DeleteMany => format!("Delete every {one} a filter matches"),
        OperationKind::RestoreOne => format!("Restore a soft-deleted {one}"),
        OperationKind::RestoreMany => format!("Restore every soft-deleted {one} a filter matches"),
        OperationKind::Merge => format!("Merge {many} into one"),
        OperationKind::GroupBy => format!("Count {many} grouped by fields"),
        OperationKind::Other => summary_about(op),
    }
}

fn summary_about(op: &Operation) -> String {
    op.summary
        .as_deref()
        .map(|s| first_sentence(s).trim_end_matches('.').to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("Call {}", op.id))
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

/// The first sentence of a document's description, without markdown bold
/// and with whitespace collapsed.
pub fn first_sentence(text: &str) -> String {
    let flat = text
        .replace("**", "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    // "e.g. " and "i.e. " do not end a sentence.
    let mut from = 0;
    while let Some(found) = flat[from..].find(". ") {
        let end = from + found;
        if flat[..end].ends_with("e.g") || flat[..end].ends_with("i.e") {
            from = end + 2;
            continue;
        }
        return flat[..end].to_string();
    }
    flat.trim_end_matches('.').to_string()
}

/// The option for one input value: a switch that also takes a value for
/// booleans, else an option whose value must follow it.
///
/// A value that looks like an option is not taken, so `--job-title --city
/// Paris` is refused instead of setting the job title to `--city`; only
/// negative numbers pass (`--position -1`). A text that starts with `-`
/// goes after `=` (`--job-title=-x`), which clap always reads as the value.
fn value_arg(id: String, flag: &str, kind: &FieldType) -> Arg {
    let arg = Arg::new(id)
        .long(flag.to_string())
        .value_name(value_name(kind));
    match kind {
        FieldType::Boolean => arg.num_args(0..=1).default_missing_value("true"),
        _ => arg.allow_negative_numbers(true),
    }
}

/// The value name shown in help for a type (`<UUID>`, `<JSON>`).
fn value_name(kind: &FieldType) -> &'static str {
    match kind {
        FieldType::Text => "TEXT",
        FieldType::Number => "NUMBER",
        FieldType::Integer => "INTEGER",
        FieldType::Boolean => "BOOL",
        FieldType::Uuid | FieldType::RelationId { .. } => "UUID",
        FieldType::Email => "EMAIL",
        FieldType::Url => "URL",
        FieldType::DateTime => "DATE-TIME",
        FieldType::Date => "DATE",
        FieldType::Enum { .. } => "VALUE",
        FieldType::List { .. } => "LIST",
        FieldType::Json | FieldType::Composite { .. } | FieldType::Relation { .. } => "JSON",
    }
}

/// `(enum: A, B, C)`, `(uuid of company)`, `(json)`.
fn type_note(kind: &FieldType) -> String {
    match kind {
        FieldType::Enum { values } => format!("enum: {}", values.join(", ")),
        FieldType::List { item } => match item.as_ref() {
            FieldType::Enum { values } => {
                format!(
                    "list of enum: {}; comma-separated or a JSON array",
                    values.join(", ")
                )
            }
            // Each comma-separated item fills the first writable sub-field,
            // as the input code reads it.
            FieldType::Composite { fields } => {
                let writable: Vec<&str> = fields
                    .iter()
                    .filter(|f| f.writable)
                    .map(|f| f.name.as_str())
                    .collect();
                match writable.first() {
                    Some(first) => format!(
                        "list of objects with {}; comma-separated {first} values or a JSON array",
                        writable.join(", ")
                    ),
                    None => "list of objects; a JSON array".to_string(),
                }
            }
            other => format!("list of {}; comma-separated or a JSON array", other.label()),
        },
        FieldType::Composite { .. } => "composite as a JSON object".to_string(),
        FieldType::Boolean => "switch, or true/false".to_string(),
        FieldType::RelationId { target, .. } => {
            let target = human(target);
            format!("uuid of {} {target}", article(&target))
        }
        other => other.label(),
    }
}

fn field_help(field: &Field, fallback: &str) -> String {
    let text: String = field
        .description
        .as_deref()
        .map(first_sentence)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| capitalize(fallback));
    format!("{text} ({})", type_note(&field.kind))
}

/// An example value of a parameter that Twenty reads as JSON although the
/// document types it as text.
fn json_example(param: &Param) -> Option<&'static str> {
    match param.name.as_str() {
        "group_by" => Some(r#"[{"status": true}]"#),
        "aggregate" => Some(r#"["countNotEmptyId"]"#),
        _ => None,
    }
}

/// Help for a parameter, ending with type, allowed values and default.
fn param_help(param: &Param) -> String {
    let text = param
        .description
        .as_deref()
        .map(first_sentence)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| human(&names::camel(&param.name)));
    let mut notes = vec![match json_example(param) {
        Some(example) => format!("json, such as '{example}'"),
        None => param.kind.label(),
    }];
    if !param.allowed.is_empty() {
        let allowed: Vec<String> = param.allowed.iter().map(json_text).collect();
        notes.push(format!("one of {}", allowed.join(", ")));
    }
    match (param.minimum, param.maximum) {
        (Some(min), Some(max)) => notes.push(format!("{min} to {max}")),
        (Some(min), None) => notes.push(format!("at least {min}")),
        (None, Some(max)) => notes.push(format!("at most {max}")),
        (None, None) => {}
    }
    if param.name == "depth" {
        // Twenty's documents say 1; every server uses 0 when it is absent.
        notes.push("sent only when given; the server uses 0 whatever the document says".into());
    } else if param.name == "filter" {
        notes.push("default: no filter".into());
    } else if let Some(default) = &param.default {
        notes.push(format!("default {}", json_text(default)));
    }
    if param.required {
        notes.push("required".into());
    }
    format!("{text} ({})", notes.join("; "))
}

fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Help for a property of a body that is not a record.
fn property_help(prop: &body::Property) -> String {
    let text = prop
        .description
        .as_deref()
        .map(first_sentence)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| capitalize(&human(&prop.name)));
    let mut notes = vec![match &prop.kind {
        // Clap splits the flag's value at commas, so a JSON array would not
        // survive; --data takes one.
        FieldType::List { item } => {
            format!("list of {}; comma-separated or repeated", item.label())
        }
        other => type_note(other),
    }];
    if let Some(default) = &prop.default {
        notes.push(format!("default {}", json_text(default)));
    }
    if prop.required {
        notes.push("required".into());
    }
    format!("{text} ({})", notes.join("; "))
}

/// Whether the operation's body is built from record fields.
fn takes_record(op: &Operation) -> bool {
    matches!(
        op.body,
        Some(Body::Record | Body::RecordList | Body::Duplicates)
    )
}

/// The flag name of a field or sub-field, or `None` when it would collide
/// with an option the command already has (the field is then reachable
/// through `--set` only).
pub fn field_flag(path: &[&str], taken: &[String]) -> Option<String> {
    let flag = path
        .iter()
        .map(|p| names::kebab(p))
        .collect::<Vec<_>>()
        .join(".");
    if globals::is_reserved(&flag) || taken.contains(&flag) {
        None
    } else {
        Some(flag)
    }
}

/// Every option name an operation's parameters take.
pub fn param_flags(op: &Operation) -> Vec<(String, &Param)> {
    op.params
        .iter()
        .filter(|p| !(p.name == "id" && op.takes_id()))
        .map(|p| (names::kebab(&p.name), p))
        .filter(|(flag, _)| !globals::is_global(flag))
        .collect()
}

/// Turns one catalog operation into a clap command named after its verb
/// (or `name` when given, for `call`).
pub fn operation_command(object: Option<&Object>, op: &Operation, name: Option<&str>) -> Command {
    let name = name
        .map(str::to_string)
        .or_else(|| op.kind.verb().map(str::to_string))
        .unwrap_or_else(|| op.id.clone());
    let mut cmd = Command::new(name).about(operation_about(object, op));
    if let Some(description) = &op.description {
        cmd = cmd
            .long_about(format!(
                "{}\n\n{} {}",
                operation_about(object, op),
                op.method.as_str(),
                op.path
            ))
            .after_long_help(first_sentence(description));
    }

    if op.takes_id() {
        cmd = cmd.arg(
            Arg::new("id")
                .value_name("ID")
                .help("Id of the record (uuid; required unless --each supplies it)"),
        );
    }

    // Parameters first: they are the same on every object.
    let params = param_flags(op);
    let mut taken: Vec<String> = params.iter().map(|(f, _)| f.clone()).collect();
    for (flag, param) in &params {
        let mut arg = value_arg(format!("{PARAM}{}", param.name), flag, &param.kind)
            .help(param_help(param))
            .help_heading("Parameters");
        if json_example(param).is_some() {
            arg = arg.value_name("JSON");
        }
        cmd = cmd.arg(arg);
    }
    if op.kind == OperationKind::FindMany {
        taken.push("all".into());
        cmd = cmd.arg(
            Arg::new("all")
                .long("all")
                .action(ArgAction::SetTrue)
                .help_heading("Parameters")
                .conflicts_with("each")
                .help(
                    "Follow cursors to the last page, printing records as they arrive: one JSON \
                     array, or a row or line per record; --jq runs on each record (switch)",
                ),
        );
    }

    // One flag per writable field and composite sub-field.
    if let (Some(object), true) = (object, takes_record(op)) {
        for field in object.writable_fields() {
            if field.name == "id" {
                continue;
            }
            let fallback = human(&field.name);
            if let Some(flag) = field_flag(&[&field.name], &taken) {
                cmd = cmd.arg(
                    value_arg(format!("{FIELD}{}", field.name), &flag, &field.kind)
                        .help(field_help(field, &fallback))
                        .help_heading("Fields"),
                );
            }
            for sub in field.kind.sub_fields() {
                let Some(flag) = field_flag(&[&field.name, &sub.name], &taken) else {
                    continue;
                };
                let fallback = format!("{} of {}", human(&sub.name), human(&field.name));
                cmd = cmd.arg(
                    value_arg(
                        format!("{FIELD}{}.{}", field.name, sub.name),
                        &flag,
                        &sub.kind,
                    )
                    .help(field_help(sub, &fallback))
                    .help_heading("Fields"),
                );
            }
        }
    }
    if op.body == Some(Body::Duplicates) {
        cmd = cmd.arg(
            Arg::new("ids")
                .long("ids")
                .value_name("UUID")
                .value_delimiter(',')
                .action(ArgAction::Append)
                .help_heading("Fields")
                .help("Find duplicates of these existing records instead of the fields given (uuid; comma-separated or repeated)"),
        );
    }
    if let Some(Body::Schema { schema }) = &op.body {
        for prop in body::properties(schema) {
            let flag = names::kebab(&prop.name);
            if taken.contains(&flag)
                || globals::is_global(&flag)
                || COMMAND_OPTIONS.contains(&flag.as_str())
            {
                continue;
            }
            let list = matches!(prop.kind, FieldType::List { .. });
            let id = format!("{}{}", if list { BODY_LIST } else { BODY }, prop.name);
            let shown = match &prop.kind {
                FieldType::List { item } => item.as_ref(),
                other => other,
            };
            let mut arg = value_arg(id, &flag, shown)
                .help(property_help(&prop))
                .help_heading("Fields");
            if list {
                arg = arg.value_delimiter(',').action(ArgAction::Append);
            }
            cmd = cmd.arg(arg);
        }
    }
    if op.body.is_some() {
        cmd = cmd
            .arg(
                Arg::new("set")
                    .long("set")
                    .value_name("PATH=VALUE")
                    .action(ArgAction::Append)
                    .help_heading("Body")
                    .help("Set any field or sub-field by API name, such as name.firstName=Ada (text; repeatable)"),
            )
            .arg(
                Arg::new("data")
                    .long("data")
                    .value_name("JSON")
                    .help_heading("Body")
                    .help("Whole request body as JSON, @FILE or - for stdin; flags override its keys, a composite's sub-field by sub-field (json)"),
            );
    }

    cmd.arg(
        Arg::new("each")
            .long("each")
            .value_name("FILE")
            .help_heading("Per item")
            .help(
                "Run once per JSON object in FILE (or - for stdin), one per line; flags are \
                 defaults. A file is checked whole before the first line is sent; an empty one \
                 runs nothing. Exit code 0 when every line ran, 1 when only some did, else the \
                 first failure's (path)",
            ),
    )
    .arg(
        Arg::new("continue-on-error")
            .long("continue-on-error")
            .action(ArgAction::SetTrue)
            .requires("each")
            .help_heading("Per item")
            .help(
                "With --each, run every line: a failed one gets an error line in its place \
                 (stderr with --format csv or table) (switch)",
            ),
    )
    .arg(
        Arg::new("concurrency")
            .long("concurrency")
            .value_name("N")
            .requires("each")
            .value_parser(clap::value_parser!(u16).range(1..=64))
            .help_heading("Per item")
            .help("With --each, run up to N items at once, output kept in input order (integer; 1 to 64; default 1)"),
    )
}

/// The command for one resource, with every verb the catalog offers.
pub fn resource_command(object: &Object) -> Command {
    let mut cmd = bare_resource(object)
        .subcommand_required(true)
        .arg_required_else_help(true);
    for kind in OperationKind::ALL {
        if kind.verb().is_none() {
            continue;
        }
        if let Some(op) = object.operation(kind) {
            cmd = cmd.subcommand(operation_command(Some(object), op, None));
        }
    }
    cmd
}

/// A resource as a name, aliases and a one-line description only.
pub fn bare_resource(object: &Object) -> Command {
    let name = resource_name(object);
    let mut aliases: Vec<String> = vec![
        names::kebab(&object.singular),
        object.plural.clone(),
        object.singular.clone(),
    ];
    aliases.retain(|a| *a != name);
    aliases.dedup();
    let about = object
        .description
        .as_deref()
        .map(first_sentence)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("Work with {}", human(&object.plural)));
    Command::new(name).about(about).aliases(aliases)
}

/// `call` as a name and description only, for the root's help.
pub fn call_command_bare() -> Command {
    Command::new("call").about("Call any operation by its OpenAPI operation id")
}

/// The `call` command; with `wanted` naming an operation, that operation's
/// full command is built under the name the user typed.
pub fn call_command(catalog: &Catalog, wanted: Option<&str>) -> Command {
    let cmd = Command::new("call")
        .about("Call any operation by its OpenAPI operation id")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand_value_name("OPERATION_ID");
    match wanted.and_then(|w| catalog.operation_by_id(w).map(|found| (w, found))) {
        Some((typed, (object, op))) => {
            let mut sub = operation_command(object, op, Some(typed));
            if op.takes_id() {
                // After the operation id like after a verb, or as `--id`.
                sub = sub.arg(
                    Arg::new("id-option")
                        .long("id")
                        .value_name("ID")
                        .conflicts_with("id")
                        .help("Id of the record, as an option (uuid)"),
                );
            }
            cmd.subcommand(sub)
        }
        None => {
            let listed: Vec<(Option<&Object>, &Operation)> = match wanted {
                // Clap suggests every operation whose name is close, dozens
                // of them among similar ids; offered only the three nearest,
                // it suggests from those.
                Some(typed) => nearest_operations(catalog, typed, 3),
                None => catalog.operations().collect(),
            };
            cmd.subcommands(
                listed.into_iter().map(|(object, op)| {
                    Command::new(op.id.clone()).about(operation_about(object, op))
                }),
            )
        }
    }
}

/// Up to `n` operations whose ids are nearest to `typed`, nearest first.
fn nearest_operations<'c>(
    catalog: &'c Catalog,
    typed: &str,
    n: usize,
) -> Vec<(Option<&'c Object>, &'c Operation)> {
    let mut left: Vec<(Option<&Object>, &Operation)> = catalog.operations().collect();
    let mut found = Vec::new();
    while found.len() < n {
        let Some(near) = names::nearest(typed, left.iter().map(|(_, op)| op.id.as_str())) else {
            break;
        };
        let Some(at) = left.iter().position(|(_, op)| op.id == near) else {
            break;
        };
        found.push(left.remove(at));
    }
    found
}

/// Our message for a clap error about a missing option value, which clap
/// words for its own parser (`a value is required for '--job-title
/// <TEXT>'`); `None` for every other error, which clap prints itself.
///
/// The case it catches: an option whose value was left out, so that the
/// next argument, itself an option, stands where the value should be
/// (`--job-title --city Paris`), or nothing follows. clap reports it in
/// two ways: the option got no value, or the next word (`-x`) is not one
/// of the command's options.
pub fn explain_parse_error(
    error: &clap::Error,
    root: &Command,
    args: &[std::ffi::OsString],
) -> Option<UsageError> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};

    let context = |kind| match error.get(kind) {
        Some(ContextValue::String(text)) => Some(text.as_str()),
        _ => None,
    };
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let (flag, next) = match error.kind() {
        ErrorKind::InvalidValue if context(ContextKind::InvalidValue) == Some("") => {
            // `--job-title <TEXT>`: the option as its usage shows it.
            let shown = context(ContextKind::InvalidArg)?;
            let flag = shown.split_whitespace().next()?.to_string();
            let at = args.iter().rposition(|a| *a == flag)?;
            (flag, args.get(at + 1).cloned())
        }
        ErrorKind::UnknownArgument => {
            // clap names the first short flag of the word: `-5` of `-5 stars`.
            let word = context(ContextKind::InvalidArg)?;
            let at = args.iter().position(|a| a.starts_with(word))?;
            let before = args.get(at.checked_sub(1)?)?;
            let needs_value = find_long(root, before.strip_prefix("--")?).is_some_and(|arg| {
                match arg.get_num_args() {
                    Some(range) => range.min_values() > 0,
                    // Unset until clap builds the command: an option that
                    // takes values needs one by default.
                    None => arg.get_action().takes_values(),
                }
            });
            if !needs_value {
                return None;
            }
            (before.clone(), Some(args[at].clone()))
        }
        _ => return None,
    };

    // The example is the next word when it may have been meant as the
    // value (`-5 stars`), not when it is one of our options (`--city`).
    let example = next
        .as_deref()
        .filter(|word| {
            let name = word.trim_start_matches('-');
            let name = name.split_once('=').map_or(name, |(n, _)| n);
            find_long(root, name).is_none()
        })
        .map_or_else(|| "-x".to_string(), shell_word);
    let set = find_long(root, flag.trim_start_matches('-')).and_then(|arg| {
        let id = arg.get_id().as_str();
        id.strip_prefix(FIELD)
            .or_else(|| id.strip_prefix(BODY))
            .map(|path| format!(", or in `--set {path}={example}`"))
    });
    let hint = format!(
        "put the value right after {flag}; a value that starts with `-` goes after `=`, \
         as in `{flag}={example}`{}",
        set.unwrap_or_default()
    );
    let message = match next {
        Some(next) => {
            format!("{flag} needs a value, but the next argument `{next}` looks like an option")
        }
        None => format!("{flag} needs a value, and none follows it"),
    };
    Some(UsageError::new(message, Some(hint)))
}

/// `text` as one shell word: quoted when it holds a space or a quote.
fn shell_word(text: &str) -> String {
    if text
        .chars()
        .any(|c| c.is_whitespace() || "'\"$`\\".contains(c))
    {
        format!("'{}'", text.replace('\'', r"'\''"))
    } else {
        text.to_string()
    }
}

/// The argument whose long name is `long`, in `cmd` or any command under
/// it (the tree holds the verbs of one resource only, so this is short).
fn find_long<'c>(cmd: &'c Command, long: &str) -> Option<&'c Arg> {
    cmd.get_arguments()
        .find(|a| a.get_long() == Some(long))
        .or_else(|| cmd.get_subcommands().find_map(|sub| find_long(sub, long)))
}

/// Every input an operation's command offers, as long flag names, for
/// tests and `schema show`.
pub fn input_flags(cmd: &Command) -> Vec<String> {
    cmd.get_arguments()
        .filter_map(|a| a.get_long().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_article_follows_the_sound_of_the_next_word() {
        for (phrase, expected) in [
            ("opportunity", "an"),
            ("api key", "an"),
            ("workflow version", "a"),
            ("company", "a"),
            ("user", "a"),
            ("uuid", "a"),
            ("hour", "an"),
            ("union", "a"),
            ("umbrella", "an"),
        ] {
            assert_eq!(article(phrase), expected, "{phrase}");
        }
    }
}
