//! Translation of `?filter=`, `?order_by=` and cursors into SQL over the
//! records' JSON, so that SQLite (and its indexes) does the selecting,
//! sorting and key-set paging instead of a scan in Rust.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rusqlite::types::Value as SqlValue;
use serde_json::{Map, Value};
use twenty_core::filter::{
    Comparator, Direction, FieldPath, Filter, FilterValue, OrderBy, Predicate, Scalar,
};
use twenty_core::{Field, FieldType, Object};

use crate::error::{AppError, AppResult};
use crate::record::normalize_datetime;
use crate::store::json_expr;

/// A piece of SQL with its positional parameters.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub(crate) text: String,
    pub(crate) params: Vec<SqlValue>,
}

impl Sql {
    fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn bind(&mut self, value: SqlValue) {
        self.text.push('?');
        self.params.push(value);
    }
}

/// One resolved sort key.
#[derive(Debug, Clone)]
pub(crate) struct SortKey {
    pub(crate) field: String,
    pub(crate) sub: Option<String>,
    expr: String,
    desc: bool,
    nulls_first: bool,
}

/// Parses `?filter=` with the project's one grammar.
pub(crate) fn parse_filter(text: &str) -> AppResult<Filter> {
    twenty_core::filter::parse_filter(text)
        .map_err(|e| AppError::bad(format!("'filter' invalid for '{text}': {}", e.message)))
}

/// Parses `?order_by=` with the project's one grammar.
pub(crate) fn parse_order_by(text: &str) -> AppResult<OrderBy> {
    twenty_core::filter::parse_order_by(text)
        .map_err(|e| AppError::bad(format!("'order_by' invalid for '{text}': {}", e.message)))
}

fn unknown_field(object: &Object, path: &FieldPath) -> AppError {
    let name = match &path.sub_field {
        Some(sub) => format!("{}.{sub}", path.field),
        None => path.field.clone(),
    };
    AppError::bad(format!(
        "field '{name}' does not exist in '{}' object",
        object.singular
    ))
}

/// The field and the type compared for `path`, refusing relations and
/// unknown names the way Twenty does.
fn resolve<'a>(object: &'a Object, path: &FieldPath) -> AppResult<(&'a Field, &'a FieldType)> {
    let field = object
        .field(&path.field)
        .filter(|f| !matches!(f.kind, FieldType::Relation { .. }))
        .ok_or_else(|| unknown_field(object, path))?;
    match &path.sub_field {
        None => Ok((field, &field.kind)),
        Some(sub) => {
            let sub = field
                .sub_field(sub)
                .ok_or_else(|| unknown_field(object, path))?;
            Ok((field, &sub.kind))
        }
    }
}

/// Whether a filter names `deletedAt`, which is what makes soft-deleted
/// records visible.
pub(crate) fn mentions_deleted_at(filter: &Filter) -> bool {
    match filter {
        Filter::And(terms) | Filter::Or(terms) => terms.iter().any(mentions_deleted_at),
        Filter::Not(term) => mentions_deleted_at(term),
        Filter::Predicate(p) => p.path.field == "deletedAt",
    }
}

/// Every path a filter compares, for index creation.
pub(crate) fn filter_paths(filter: &Filter, out: &mut Vec<FieldPath>) {
    match filter {
        Filter::And(terms) | Filter::Or(terms) => {
            terms.iter().for_each(|t| filter_paths(t, out));
        }
        Filter::Not(term) => filter_paths(term, out),
        Filter::Predicate(p) => {
            if !out.contains(&p.path) {
                out.push(p.path.clone());
            }
        }
    }
}

/// Appends the SQL condition for `filter` to `sql`.
pub(crate) fn filter_sql(object: &Object, filter: &Filter, sql: &mut Sql) -> AppResult<()> {
    match filter {
        Filter::And(terms) | Filter::Or(terms) => {
            if terms.is_empty() {
                sql.push("1");
                return Ok(());
            }
            let joiner = if matches!(filter, Filter::And(_)) {
                " AND "
            } else {
                " OR "
            };
            sql.push("(");
            for (i, term) in terms.iter().enumerate() {
                if i > 0 {
                    sql.push(joiner);
                }
                filter_sql(object, term, sql)?;
            }
            sql.push(")");
        }
        Filter::Not(term) => {
            // NOT over a NULL comparison is NULL, which would hide the row;
            // Twenty's NOT is a plain SQL NOT too, so keep its semantics.
            sql.push("NOT (");
            filter_sql(object, term, sql)?;
            sql.push(")");
        }
        Filter::Predicate(p) => predicate_sql(object, p, sql)?,
    }
    Ok(())
}

fn predicate_sql(object: &Object, p: &Predicate, sql: &mut Sql) -> AppResult<()> {
    let (field, kind) = resolve(object, &p.path)?;
    let expr = json_expr(&p.path.field, p.path.sub_field.as_deref());
    let name = p.path.sub_field.as_deref().unwrap_or(&field.name);

    let scalar = |value: &FilterValue| -> AppResult<Scalar> {
        match value {
            FilterValue::Scalar(s) => Ok(s.clone()),
            FilterValue::List(items) if items.len() == 1 => Ok(items[0].clone()),
            _ => Err(AppError::bad(format!(
                "'filter' invalid for '{}'. eg: price[gte]:10",
                p.path.field
            ))),
        }
    };
    let list = |value: &FilterValue| -> AppResult<Vec<Scalar>> {
        match value {
            FilterValue::List(items) => Ok(items.clone()),
            FilterValue::Scalar(s) => Err(AppError::bad(format!(
                "'filter' invalid for 'in' operator. Received '{}' but array value expected eg: 'field[in]:[value_1,value_2]'",
                s.text
            ))),
            _ => Err(AppError::bad(
                "'filter' invalid for 'in' operator. array value expected eg: 'field[in]:[value_1,value_2]'",
            )),
        }
    };

    match p.comparator {
        Comparator::Eq
        | Comparator::Neq
        | Comparator::Gt
        | Comparator::Gte
        | Comparator::Lt
        | Comparator::Lte => {
            let op = match p.comparator {
                Comparator::Eq => " = ",
                Comparator::Neq => " != ",
                Comparator::Gt => " > ",
                Comparator::Gte => " >= ",
                Comparator::Lt => " < ",
                _ => " <= ",
            };
            let value = to_sql(kind, name, &scalar(&p.value)?)?;
            sql.push(&expr);
            sql.push(op);
            sql.bind(value);
        }
        Comparator::In => {
            let items = list(&p.value)?;
            if items.is_empty() {
                sql.push("0");
                return Ok(());
            }
            sql.push(&expr);
            sql.push(" IN (");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(to_sql(kind, name, item)?);
            }
            sql.push(")");
        }
        Comparator::ContainsAny => {
            let items = list(&p.value)?;
            let item_kind = match kind {
                FieldType::List { item } => item.as_ref(),
                other => other,
            };
            if items.is_empty() {
                sql.push("0");
                return Ok(());
            }
            let path = match &p.path.sub_field {
                Some(sub) => format!("$.\"{}\".\"{}\"", p.path.field, sub),
                None => format!("$.\"{}\"", p.path.field),
            }
            .replace('\'', "");
            sql.push(&format!(
                "EXISTS (SELECT 1 FROM json_each(data, '{path}') WHERE json_each.value IN ("
            ));
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(to_sql(item_kind, name, item)?);
            }
            sql.push("))");
        }
        Comparator::Is => {
            sql.push(&expr);
            match &p.value {
                FilterValue::Null => sql.push(" IS NULL"),
                FilterValue::Scalar(s) if s.text == "NULL" => sql.push(" IS NULL"),
                // Twenty treats anything but NULL as NOT_NULL.
                _ => sql.push(" IS NOT NULL"),
            }
        }
        Comparator::StartsWith => {
            let s = scalar(&p.value)?;
            sql.push(&expr);
            sql.push(" GLOB ");
            sql.bind(SqlValue::Text(format!("{}*", glob_escape(&s.text))));
        }
        Comparator::Like => {
            // GLOB is case-sensitive like PostgreSQL's LIKE; SQLite's LIKE
            // is not.
            let s = scalar(&p.value)?;
            let pattern: String = s
                .text
                .chars()
                .map(|c| match c {
                    '%' => "*".to_string(),
                    '_' => "?".to_string(),
                    other => glob_escape(&other.to_string()),
                })
                .collect();
            sql.push(&expr);
            sql.push(" GLOB ");
            sql.bind(SqlValue::Text(pattern));
        }
        Comparator::Ilike => {
            let s = scalar(&p.value)?;
            sql.push(&expr);
            sql.push(" LIKE ");
            sql.bind(SqlValue::Text(s.text));
        }
    }
    Ok(())
}

fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '*' | '?' | '[' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            other => out.push(other),
        }
    }
    out
}

/// The SQL value a filter value means for a field of type `kind`.
fn to_sql(kind: &FieldType, name: &str, scalar: &Scalar) -> AppResult<SqlValue> {
    let text = scalar.text.as_str();
    Ok(match kind {
        FieldType::Number | FieldType::Integer => {
            if let Ok(i) = text.parse::<i64>() {
                SqlValue::Integer(i)
            } else if let Ok(f) = text.parse::<f64>() {
                SqlValue::Real(f)
            } else {
                return Err(AppError::bad(format!(
                    "'filter' value '{text}' is not a number for field '{name}'"
                )));
            }
        }
        FieldType::Boolean => match text {
            "true" | "TRUE" => SqlValue::Integer(1),
            "false" | "FALSE" => SqlValue::Integer(0),
            _ => {
                return Err(AppError::bad(format!(
                    "'filter' value '{text}' is not a boolean for field '{name}'"
                )));
            }
        },
        FieldType::DateTime => match normalize_datetime(text) {
            Some(t) => SqlValue::Text(t),
            None => {
                return Err(AppError::bad(format!(
                    "'filter' value '{text}' is not a date for field '{name}'"
                )));
            }
        },
        FieldType::Enum { values } => {
            if !values.iter().any(|v| v == text) {
                return Err(AppError::bad(format!(
                    "'filter' enum value '{text}' not available in '{name}' enum. Available enum values are [{}]",
                    values.join(", ")
                )));
            }
            SqlValue::Text(text.to_string())
        }
        FieldType::List { item } => return to_sql(item, name, scalar),
        _ => SqlValue::Text(text.to_string()),
    })
}

/// The sort keys of an order, with composite fields expanded to their
/// scalar sub-fields and `id` appended so the order is total.
pub(crate) fn sort_keys(object: &Object, order: Option<&OrderBy>) -> AppResult<Vec<SortKey>> {
    let mut keys: Vec<SortKey> = Vec::new();
    let mut push = |field: &str, sub: Option<&str>, direction: Direction| {
        let (desc, nulls_first) = match direction {
            Direction::AscNullsFirst => (false, true),
            Direction::AscNullsLast => (false, false),
            Direction::DescNullsFirst => (true, true),
            Direction::DescNullsLast => (true, false),
        };
        if !keys
            .iter()
            .any(|k| k.field == field && k.sub.as_deref() == sub)
        {
            keys.push(SortKey {
                field: field.to_string(),
                sub: sub.map(str::to_string),
                expr: json_expr(field, sub),
                desc,
                nulls_first,
            });
        }
    };
    for key in order.map(|o| o.keys.as_slice()).unwrap_or_default() {
        let (field, kind) = resolve(object, &key.path)?;
        match (kind, &key.path.sub_field) {
            (FieldType::Composite { fields }, None) => {
                for sub in fields {
                    if !matches!(
                        sub.kind,
                        FieldType::List { .. } | FieldType::Json | FieldType::Composite { .. }
                    ) {
                        push(&field.name, Some(&sub.name), key.direction);
                    }
                }
            }
            (_, sub) => push(&field.name, sub.as_deref(), key.direction),
        }
    }
    push("id", None, Direction::AscNullsFirst);
    Ok(keys)
}

/// `ORDER BY ...` for the keys, reversed for backward pages.
pub(crate) fn order_sql(keys: &[SortKey], reverse: bool) -> String {
    let parts: Vec<String> = keys
        .iter()
        .map(|k| {
            let desc = k.desc != reverse;
            let nulls_first = k.nulls_first != reverse;
            format!(
                "{} {} NULLS {}",
                k.expr,
                if desc { "DESC" } else { "ASC" },
                if nulls_first { "FIRST" } else { "LAST" }
            )
        })
        .collect();
    format!(" ORDER BY {}", parts.join(", "))
}

/// Appends the key-set condition "strictly after `values`" (or at-or-after
/// when `inclusive`) in the keys' order, or in the reversed order.
pub(crate) fn keyset_sql(
    keys: &[SortKey],
    values: &[Value],
    reverse: bool,
    inclusive: bool,
    sql: &mut Sql,
) {
    let mut terms = 0;
    sql.push("(");
    let open_term = |sql: &mut Sql, terms: &mut i32| {
        if *terms > 0 {
            sql.push(" OR ");
        }
        *terms += 1;
    };
    for i in 0..keys.len() {
        let key = &keys[i];
        let desc = key.desc != reverse;
        let nulls_first = key.nulls_first != reverse;
        let value = &values[i];
        if value.is_null() && !nulls_first {
            // Nulls come last: nothing is strictly after a null.
            continue;
        }
        open_term(sql, &mut terms);
        sql.push("(");
        for j in 0..i {
            sql.push(&keys[j].expr);
            sql.push(" IS ");
            sql.bind(json_to_sql(&values[j]));
            sql.push(" AND ");
        }
        if value.is_null() {
            sql.push(&key.expr);
            sql.push(" IS NOT NULL");
        } else {
            sql.push("(");
            sql.push(&key.expr);
            sql.push(if desc { " < " } else { " > " });
            sql.bind(json_to_sql(value));
            if !nulls_first {
                sql.push(" OR ");
                sql.push(&key.expr);
                sql.push(" IS NULL");
            }
            sql.push(")");
        }
        sql.push(")");
    }
    if inclusive {
        open_term(sql, &mut terms);
        sql.push("(");
        for (j, key) in keys.iter().enumerate() {
            if j > 0 {
                sql.push(" AND ");
            }
            sql.push(&key.expr);
            sql.push(" IS ");
            sql.bind(json_to_sql(&values[j]));
        }
        sql.push(")");
    }
    if terms == 0 {
        sql.push("0");
    }
    sql.push(")");
}

/// A JSON value as the SQL value `json_extract` returns for it.
pub(crate) fn json_to_sql(value: &Value) -> SqlValue {
    match value {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => SqlValue::Integer(i),
            None => SqlValue::Real(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        other => SqlValue::Text(other.to_string()),
    }
}

/// The cursor of a record under `keys`: base64 of the JSON of every sort
/// key's field (a composite carries the whole composite) plus `id`.
pub(crate) fn encode_cursor(keys: &[SortKey], record: &Map<String, Value>) -> String {
    let mut cursor = Map::new();
    for key in keys {
        if !cursor.contains_key(&key.field) {
            let value = record.get(&key.field).cloned().unwrap_or(Value::Null);
            cursor.insert(key.field.clone(), value);
        }
    }
    STANDARD.encode(Value::Object(cursor).to_string())
}

/// The sort key values a cursor carries, in key order.
pub(crate) fn decode_cursor(keys: &[SortKey], cursor: &str) -> AppResult<Vec<Value>> {
    let invalid = || AppError::bad(format!("Invalid cursor: {cursor}"));
    let trimmed = cursor.trim_end_matches('=');
    let bytes = STANDARD
        .decode(cursor)
        .or_else(|_| URL_SAFE_NO_PAD.decode(trimmed))
        .map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let object = value.as_object().ok_or_else(invalid)?;
    if !object.get("id").is_some_and(Value::is_string) {
        return Err(invalid());
    }
    Ok(keys
        .iter()
        .map(|k| {
            let top = object.get(&k.field).unwrap_or(&Value::Null);
            match &k.sub {
                Some(sub) => top.get(sub).cloned().unwrap_or(Value::Null),
                None => top.clone(),
            }
        })
        .collect())
}
