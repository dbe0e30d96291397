//! The filter and order-by grammar of Twenty's REST API (`?filter=` and
//! `?order_by=`), one parser for the whole project: the CLI checks a user's
//! filter with it before sending, and the sandbox evaluates the same tree.
//!
//! [`parse_filter`] and [`parse_order_by`] read the text alone;
//! [`parse_filter_for`] and [`parse_order_by_for`] also check every path,
//! comparator and value against an object of the catalog, so that mistakes
//! the server would answer with a 400 are caught with a pointer into the
//! text ([`FilterError::render`]).
//!
//! # Printing
//!
//! `Display` on [`Filter`] and [`OrderBy`] prints canonical text, and
//! parsing that text gives back the same tree for every tree the grammar
//! can express. Some trees cannot be written at all, because the grammar
//! has no escaping:
//!
//! - a group (`And`, `Or`) needs at least one term, and an order needs at
//!   least one key;
//! - `Null` and `NotNull` go with `is` only, lists with `in` and
//!   `containsAny` only, single values with every other comparator;
//! - field and sub-field names are letters, digits and `_`;
//! - quoted text cannot contain `"`; bare text cannot be empty, start or
//!   end with white space, or contain `"`, `,`, `(`, `)`, `[` or `]`;
//! - list elements cannot contain `,` (Twenty splits lists on every comma:
//!   write `or(x[eq]:"a, b",x[eq]:"c")` instead).
//!
//! A filter of one term parses to that term; several comma-separated terms
//! at the root parse to [`Filter::And`], which prints as `and(...)`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::catalog::{Cardinality, FieldType, Object};
use crate::values;

/// A parsed `?filter=` expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Filter {
    /// Every term holds. A filter without a leading conjunction is an `and`
    /// of its comma-separated terms.
    And(Vec<Filter>),
    /// At least one term holds.
    Or(Vec<Filter>),
    /// The one term does not hold.
    Not(Box<Filter>),
    /// `path[comparator]:value`.
    Predicate(Predicate),
}

/// One `path[comparator]:value` term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predicate {
    /// The field, or composite sub-field, compared.
    pub path: FieldPath,
    /// How it is compared.
    pub comparator: Comparator,
    /// What it is compared with.
    pub value: FilterValue,
}

/// A field name, with a sub-field for composites (`emails.primaryEmail`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldPath {
    /// The field's API name.
    pub field: String,
    /// The composite sub-field's API name.
    pub sub_field: Option<String>,
}

/// The comparators Twenty accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Comparator {
    /// `eq`
    Eq,
    /// `neq`
    Neq,
    /// `in`, with a `[a,b]` list
    In,
    /// `containsAny`, with a `[a,b]` list, for list fields
    ContainsAny,
    /// `is`, with `NULL` or `NOT_NULL`
    Is,
    /// `gt`
    Gt,
    /// `gte`
    Gte,
    /// `lt`
    Lt,
    /// `lte`
    Lte,
    /// `startsWith`
    StartsWith,
    /// `like`, with `%` wildcards written by the caller
    Like,
    /// `ilike`, `like` without regard to case
    Ilike,
}

/// The right-hand side of a predicate, as written. Values are kept as text
/// because their meaning depends on the field's type: the evaluator (or the
/// checker, against a catalog) interprets them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FilterValue {
    /// `NULL`, with `is`.
    Null,
    /// `NOT_NULL`, with `is`.
    NotNull,
    /// One scalar value.
    Scalar(Scalar),
    /// A `[a,b]` list, with `in` and `containsAny`.
    List(Vec<Scalar>),
}

/// One value as written: its text without the outer quotes, and whether it
/// had them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scalar {
    /// The text, without the outer pair of double quotes.
    pub text: String,
    /// Whether it was written in double quotes.
    pub quoted: bool,
}

/// A parsed `?order_by=` expression: keys in priority order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderBy {
    /// The sort keys, most significant first.
    pub keys: Vec<OrderKey>,
}

/// One sort key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderKey {
    /// The field or sub-field sorted on.
    pub path: FieldPath,
    /// Direction and null placement; `AscNullsFirst` when not written.
    pub direction: Direction,
}

/// Sort direction and where nulls go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// `AscNullsFirst`, the default.
    #[default]
    AscNullsFirst,
    /// `AscNullsLast`
    AscNullsLast,
    /// `DescNullsFirst`
    DescNullsFirst,
    /// `DescNullsLast`
    DescNullsLast,
}

/// A filter or order-by text that does not follow the grammar, or that
/// names fields, comparators or values the object does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at byte {position})")]
pub struct FilterError {
    /// Byte offset in the text where the problem is.
    pub position: usize,
    /// What is wrong and how to fix it, lowercase.
    pub message: String,
}

impl FilterError {
    fn new(position: usize, message: impl Into<String>) -> Self {
        Self {
            position,
            message: message.into(),
        }
    }

    /// The text on one line and a `^` under the offending character on the
    /// next, for terminals. `text` is the text that was parsed.
    pub fn render(&self, text: &str) -> String {
        // Count characters, not bytes, so the caret lines up under
        // non-ASCII text; an offset past the end points just after it.
        let column = text
            .char_indices()
            .take_while(|(i, _)| *i < self.position)
            .count();
        let line: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        format!("{line}\n{}^", " ".repeat(column))
    }
}

impl Comparator {
    /// Every comparator, in the order Twenty's error messages list them.
    pub const ALL: [Comparator; 12] = [
        Self::Eq,
        Self::Neq,
        Self::In,
        Self::ContainsAny,
        Self::Is,
        Self::Gt,
        Self::Gte,
        Self::Lt,
        Self::Lte,
        Self::StartsWith,
        Self::Like,
        Self::Ilike,
    ];

    /// The comparator as written between brackets (`eq`, `containsAny`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Neq => "neq",
            Self::In => "in",
            Self::ContainsAny => "containsAny",
            Self::Is => "is",
            Self::Gt => "gt",
            Self::Gte => "gte",
            Self::Lt => "lt",
            Self::Lte => "lte",
            Self::StartsWith => "startsWith",
            Self::Like => "like",
            Self::Ilike => "ilike",
        }
    }

    /// The comparator written `text`, spelled exactly as Twenty spells it.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// Whether the value is a `[a,b]` list.
    pub fn takes_list(self) -> bool {
        matches!(self, Self::In | Self::ContainsAny)
    }
}

impl fmt::Display for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Direction {
    /// Every direction, default first.
    pub const ALL: [Direction; 4] = [
        Self::AscNullsFirst,
        Self::AscNullsLast,
        Self::DescNullsFirst,
        Self::DescNullsLast,
    ];

    /// The direction as written between brackets (`DescNullsLast`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AscNullsFirst => "AscNullsFirst",
            Self::AscNullsLast => "AscNullsLast",
            Self::DescNullsFirst => "DescNullsFirst",
            Self::DescNullsLast => "DescNullsLast",
        }
    }

    /// The direction written `text`, spelled exactly as Twenty spells it.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == text)
    }

    /// The direction `text` spells in any letter case, with or without
    /// spaces, `-` or `_` between the words (`desc nulls last`).
    pub fn parse_loose(text: &str) -> Option<Self> {
        let squeezed: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '_'))
            .collect();
        Self::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(&squeezed))
    }

    /// Whether larger values come first.
    pub fn is_descending(self) -> bool {
        matches!(self, Self::DescNullsFirst | Self::DescNullsLast)
    }

    /// Whether nulls come before every value.
    pub fn nulls_first(self) -> bool {
        matches!(self, Self::AscNullsFirst | Self::DescNullsFirst)
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FieldPath {
    /// A path to a whole field.
    pub fn field(name: impl Into<String>) -> Self {
        Self {
            field: name.into(),
            sub_field: None,
        }
    }

    /// A path to a composite field's sub-field.
    pub fn sub_field(field: impl Into<String>, sub_field: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            sub_field: Some(sub_field.into()),
        }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.field)?;
        if let Some(sub) = &self.sub_field {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl Scalar {
    /// A value written without quotes (numbers, booleans, enum values).
    pub fn bare(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            quoted: false,
        }
    }

    /// A value written in double quotes (text, dates, ids).
    pub fn quoted(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            quoted: true,
        }
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.quoted {
            write!(f, "\"{}\"", self.text)
        } else {
            f.write_str(&self.text)
        }
    }
}

impl fmt::Display for FilterValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("NULL"),
            Self::NotNull => f.write_str("NOT_NULL"),
            Self::Scalar(s) => s.fmt(f),
            Self::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    item.fmt(f)?;
                }
                f.write_str("]")
            }
        }
    }
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]:{}", self.path, self.comparator, self.value)
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (keyword, terms): (&str, &[Filter]) = match self {
            Self::Predicate(p) => return p.fmt(f),
            Self::Not(inner) => return write!(f, "not({inner})"),
            Self::And(terms) => ("and", terms),
            Self::Or(terms) => ("or", terms),
        };
        write!(f, "{keyword}(")?;
        for (i, term) in terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            term.fmt(f)?;
        }
        f.write_str(")")
    }
}

impl fmt::Display for OrderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.path.fmt(f)?;
        // The default is left out so printed orders stay as short as the
        // ones people write.
        if self.direction != Direction::AscNullsFirst {
            write!(f, "[{}]", self.direction)?;
        }
        Ok(())
    }
}

impl fmt::Display for OrderBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, key) in self.keys.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            key.fmt(f)?;
        }
        Ok(())
    }
}

impl Filter {
    /// Every predicate of the tree, left to right as written.
    pub fn predicates(&self) -> Vec<&Predicate> {
        let mut out = Vec::new();
        self.collect_predicates(&mut out);
        out
    }

    fn predicates_mut(&mut self) -> Vec<&mut Predicate> {
        let mut out = Vec::new();
        self.collect_predicates_mut(&mut out);
        out
    }

    fn collect_predicates_mut<'a>(&'a mut self, out: &mut Vec<&'a mut Predicate>) {
        match self {
            Self::Predicate(p) => out.push(p),
            Self::Not(inner) => inner.collect_predicates_mut(out),
            Self::And(terms) | Self::Or(terms) => {
                for term in terms {
                    term.collect_predicates_mut(out);
                }
            }
        }
    }

    fn collect_predicates<'a>(&'a self, out: &mut Vec<&'a Predicate>) {
        match self {
            Self::Predicate(p) => out.push(p),
            Self::Not(inner) => inner.collect_predicates(out),
            Self::And(terms) | Self::Or(terms) => {
                for term in terms {
                    term.collect_predicates(out);
                }
            }
        }
    }
}

impl FromStr for Filter {
    type Err = FilterError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_filter(text)
    }
}

impl FromStr for OrderBy {
    type Err = FilterError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_order_by(text)
    }
}

/// Where the parts of one predicate start in the text, kept beside the tree
/// so that catalog checks can point at the term they reject.
#[derive(Debug, Clone)]
struct PredicateSpans {
    path: usize,
    sub_field: Option<usize>,
    comparator: usize,
    value: usize,
    /// Start of each list element, for `in` and `containsAny`.
    items: Vec<usize>,
}

/// Where the parts of one order key start in the text.
#[derive(Debug, Clone)]
struct KeySpans {
    path: usize,
    sub_field: Option<usize>,
}

/// Parses a `?filter=` text.
///
/// A single term parses to itself; several comma-separated terms at the
/// root parse to [`Filter::And`]. Fails on anything Twenty would refuse for
/// its grammar alone, with the byte offset of the problem.
pub fn parse_filter(text: &str) -> Result<Filter, FilterError> {
    parse_filter_spans(text).map(|(filter, _)| filter)
}

/// Parses a `?filter=` text and checks it against `object`: every field and
/// sub-field exists and can be filtered, every comparator fits its field's
/// type, and enum, number, boolean, UUID and date values are valid.
///
/// An enum value written in another case or with other separators
/// (`done`, `not started`, `in-progress`) stands for the one value it can
/// only mean, as it does in a field flag, and the returned tree holds that
/// value: print the tree to send what the server accepts.
pub fn parse_filter_for(text: &str, object: &Object) -> Result<Filter, FilterError> {
    let (mut filter, spans) = parse_filter_spans(text)?;
    for (predicate, spans) in filter.predicates_mut().into_iter().zip(&spans) {
        check_predicate(object, predicate, spans)?;
    }
    Ok(filter)
}

/// Parses an `?order_by=` text such as
/// `position,name.firstName[DescNullsLast]`. Directions are spelled
/// exactly as Twenty spells them.
pub fn parse_order_by(text: &str) -> Result<OrderBy, FilterError> {
    parse_order_by_spans(text, Direction::parse).map(|(order, _)| order)
}

/// Parses an `?order_by=` text and checks that every key names a field (or
/// sub-field) of `object` that can be sorted on.
///
/// A direction written in another case or with separators
/// (`descnullslast`, `desc-nulls-last`) stands for the one it spells, as
/// enum values do in a filter, and the returned order holds that
/// direction: print it to send what the server accepts.
pub fn parse_order_by_for(text: &str, object: &Object) -> Result<OrderBy, FilterError> {
    let (order, spans) = parse_order_by_spans(text, Direction::parse_loose)?;
    for (key, spans) in order.keys.iter().zip(&spans) {
        resolve_path(object, &key.path, spans.path, spans.sub_field, Use::Sort)?;
    }
    Ok(order)
}

fn parse_filter_spans(text: &str) -> Result<(Filter, Vec<PredicateSpans>), FilterError> {
    if text.trim().is_empty() {
        return Err(FilterError::new(
            0,
            "empty filter: write at least one term, e.g. name[eq]:\"Ada\"",
        ));
    }
    check_balance(text)?;

    let mut parser = FilterParser {
        text,
        spans: Vec::new(),
    };
    let mut terms = parser.terms(0, text.len())?;
    let filter = if terms.len() == 1 {
        terms.remove(0)
    } else {
        Filter::And(terms)
    };
    Ok((filter, parser.spans))
}

/// Checks quotes and parentheses before anything else, so that a missing
/// `)` is reported as such rather than as a strange term.
fn check_balance(text: &str) -> Result<(), FilterError> {
    let mut open = Vec::new();
    let mut quote = None;
    for (i, b) in text.bytes().enumerate() {
        match (b, quote) {
            (b'"', None) => quote = Some(i),
            (b'"', Some(_)) => quote = None,
            (_, Some(_)) => {}
            (b'(', None) => open.push(i),
            (b')', None) if open.pop().is_none() => {
                return Err(FilterError::new(
                    i,
                    "unexpected ')': no group is open here \
                     (quote values that contain parentheses)",
                ));
            }
            _ => {}
        }
    }
    if let Some(at) = quote {
        return Err(FilterError::new(
            at,
            "unterminated quote: add the closing '\"' (values cannot contain '\"')",
        ));
    }
    if let Some(&at) = open.last() {
        return Err(FilterError::new(
            at,
            format!(
                "{} close bracket{} missing: this '(' is never closed, add ')'",
                open.len(),
                if open.len() == 1 { " is" } else { "s are" }
            ),
        ));
    }
    Ok(())
}

struct FilterParser<'t> {
    text: &'t str,
    spans: Vec<PredicateSpans>,
}

impl FilterParser<'_> {
    /// The comma-separated terms of `text[start..end]`.
    fn terms(&mut self, start: usize, end: usize) -> Result<Vec<Filter>, FilterError> {
        let segments = split_terms(self.text, start, end)?;
        let mut terms = Vec::with_capacity(segments.len());
        for (s, e) in segments {
            let (s, e) = trim_range(self.text, s, e);
            if s == e {
                return Err(FilterError::new(
                    s,
                    "empty term: remove the extra ',' or write a term such as name[eq]:\"Ada\"",
                ));
            }
            terms.push(self.term(s, e)?);
        }
        Ok(terms)
    }

    fn term(&mut self, start: usize, end: usize) -> Result<Filter, FilterError> {
        let term = &self.text[start..end];
        for keyword in ["and", "or", "not"] {
            // A group is the keyword directly followed by `(`, so fields
            // such as `orderNumber` or `notes` stay predicates.
            if term.len() > keyword.len()
                && term.starts_with(keyword)
                && term.as_bytes()[keyword.len()] == b'('
            {
                return self.group(keyword, start, start + keyword.len(), end);
            }
        }
        self.predicate(start, end).map(Filter::Predicate)
    }

    fn group(
        &mut self,
        keyword: &str,
        start: usize,
        open: usize,
        end: usize,
    ) -> Result<Filter, FilterError> {
        let close = matching_paren(self.text, open)
            .ok_or_else(|| FilterError::new(open, "this '(' is never closed: add ')'"))?;
        if close + 1 != end {
            return Err(FilterError::new(
                close + 1,
                format!(
                    "unexpected text after the ')' of '{keyword}(...)': separate terms with ','"
                ),
            ));
        }
        if self.text[open + 1..close].trim().is_empty() {
            return Err(FilterError::new(
                open + 1,
                format!("empty group: put at least one term in {keyword}(...)"),
            ));
        }

        let mut terms = self.terms(open + 1, close)?;
        Ok(match keyword {
            "and" => Filter::And(terms),
            "or" => Filter::Or(terms),
            _ if terms.len() != 1 => {
                return Err(FilterError::new(
                    start,
                    format!(
                        "'not' takes exactly one term, found {}: \
                         write not(and(...)) to negate several",
                        terms.len()
                    ),
                ));
            }
            _ => Filter::Not(Box::new(terms.remove(0))),
        })
    }

    fn predicate(&mut self, start: usize, end: usize) -> Result<Predicate, FilterError> {
        let term = &self.text[start..end];
        let Some(open) = term.find('[') else {
            let name = term.split(':').next().unwrap_or(term);
            return Err(FilterError::new(
                start + name.len(),
                format!(
                    "expected a comparator in brackets after '{name}', e.g. {name}[eq]:\"Ada\""
                ),
            ));
        };
        let (path, sub_at) = parse_path(&term[..open], start)?;

        let Some(close) = term[open + 1..].find(']').map(|i| open + 1 + i) else {
            return Err(FilterError::new(
                start + open,
                format!("missing ']' after the comparator, e.g. {path}[eq]:\"Ada\""),
            ));
        };
        let written = &term[open + 1..close];
        let Some(comparator) = Comparator::parse(written) else {
            let what = if written.is_empty() {
                "missing comparator".to_string()
            } else {
                format!("unknown comparator '{written}'")
            };
            return Err(FilterError::new(
                start + open + 1,
                format!(
                    "{what}: expected one of {}",
                    comparator_list(&Comparator::ALL)
                ),
            ));
        };

        if term.as_bytes().get(close + 1) != Some(&b':') {
            return Err(FilterError::new(
                start + close + 1,
                format!(
                    "expected ':' and a value after '{path}[{comparator}]', e.g. {path}[{comparator}]:\"Ada\""
                ),
            ));
        }
        let value_at = start + close + 2;
        let value_text = &term[close + 2..];
        if value_text.is_empty() {
            return Err(FilterError::new(
                value_at,
                format!(
                    "empty value for '{path}': compare with \"\" for the empty string, \
                     or use {path}[is]:NULL"
                ),
            ));
        }

        let mut items = Vec::new();
        let value = match comparator {
            Comparator::Is => match value_text {
                "NULL" => FilterValue::Null,
                "NOT_NULL" => FilterValue::NotNull,
                _ => {
                    return Err(FilterError::new(
                        value_at,
                        format!("'is' takes NULL or NOT_NULL, e.g. {path}[is]:NULL"),
                    ));
                }
            },
            Comparator::In | Comparator::ContainsAny => {
                let (list, at) = parse_list(value_text, value_at, &path, comparator)?;
                items = at;
                FilterValue::List(list)
            }
            _ => FilterValue::Scalar(parse_scalar(value_text, value_at, false)?),
        };

        self.spans.push(PredicateSpans {
            path: start,
            sub_field: sub_at,
            comparator: start + open + 1,
            value: value_at,
            items,
        });
        Ok(Predicate {
            path,
            comparator,
            value,
        })
    }
}

/// Splits `text[start..end]` at the commas that separate terms: not inside
/// a nested group, brackets or quotes.
fn split_terms(text: &str, start: usize, end: usize) -> Result<Vec<(usize, usize)>, FilterError> {
    let bytes = text.as_bytes();
    let mut segments = Vec::new();
    let mut depth = 0usize;
    let mut brackets: Vec<usize> = Vec::new();
    let mut quoted = false;
    let mut from = start;
    for (i, &b) in bytes.iter().enumerate().take(end).skip(start) {
        match b {
            b'"' => quoted = !quoted,
            _ if quoted => {}
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b'[' => brackets.push(i),
            b']' => {
                brackets.pop();
            }
            b',' if depth == 0 && brackets.is_empty() => {
                segments.push((from, i));
                from = i + 1;
            }
            _ => {}
        }
    }
    if let Some(&at) = brackets.first() {
        return Err(FilterError::new(at, "this '[' is never closed: add ']'"));
    }
    segments.push((from, end));
    Ok(segments)
}

/// The offset of the `)` that closes the `(` at `open`.
fn matching_paren(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quoted = false;
    for (i, b) in text.bytes().enumerate().skip(open) {
        match b {
            b'"' => quoted = !quoted,
            _ if quoted => {}
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn trim_range(text: &str, start: usize, end: usize) -> (usize, usize) {
    let slice = &text[start..end];
    let s = start + (slice.len() - slice.trim_start().len());
    let e = end - (slice.len() - slice.trim_end().len());
    (s, e.max(s))
}

/// Reads `field` or `field.subField` starting at byte `at`; returns the
/// path and where the sub-field starts.
fn parse_path(text: &str, at: usize) -> Result<(FieldPath, Option<usize>), FilterError> {
    if text.is_empty() {
        return Err(FilterError::new(
            at,
            "expected a field name before '[', e.g. name[eq]:\"Ada\"",
        ));
    }
    let (field, sub) = match text.split_once('.') {
        Some((field, sub)) => (field, Some(sub)),
        None => (text, None),
    };
    check_name(field, at, text)?;
    let sub_at = match sub {
        Some(sub) => {
            let sub_at = at + field.len() + 1;
            if let Some(dot) = sub.find('.') {
                return Err(FilterError::new(
                    sub_at + dot,
                    format!("'{text}' has more than one '.': a path is a field or field.subField"),
                ));
            }
            check_name(sub, sub_at, text)?;
            Some(sub_at)
        }
        None => None,
    };
    let path = FieldPath {
        field: field.to_string(),
        sub_field: sub.map(str::to_string),
    };
    Ok((path, sub_at))
}

fn check_name(name: &str, at: usize, path: &str) -> Result<(), FilterError> {
    if name.is_empty() {
        return Err(FilterError::new(
            at,
            format!("empty name in '{path}': a path is a field or field.subField"),
        ));
    }
    match name
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        Some((i, c)) => Err(FilterError::new(
            at + i,
            format!("unexpected '{c}' in field name '{path}': names are letters, digits and '_'"),
        )),
        None => Ok(()),
    }
}

/// Reads one value: `"text"` (outer quotes removed, no escaping) or bare
/// text. `in_list` tailors the message for a quoted element that a comma
/// cut in two.
fn parse_scalar(text: &str, at: usize, in_list: bool) -> Result<Scalar, FilterError> {
    if let Some(rest) = text.strip_prefix('"') {
        let Some(close) = rest.find('"') else {
            let message = if in_list {
                "a list element cannot contain ',': Twenty splits lists on every comma, \
                 use or(...) of eq terms instead"
            } else {
                "unterminated quote: add the closing '\"'"
            };
            return Err(FilterError::new(at, message));
        };
        if close + 1 != rest.len() {
            return Err(FilterError::new(
                at + close + 2,
                "unexpected text after the closing '\"': values cannot contain '\"' \
                 (there is no escaping)",
            ));
        }
        return Ok(Scalar::quoted(&rest[..close]));
    }
    if let Some(quote) = text.find('"') {
        return Err(FilterError::new(
            at + quote,
            "a bare value cannot contain '\"': quote the whole value, without inner quotes",
        ));
    }
    Ok(Scalar::bare(text))
}

fn parse_list(
    text: &str,
    at: usize,
    path: &FieldPath,
    comparator: Comparator,
) -> Result<(Vec<Scalar>, Vec<usize>), FilterError> {
    let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else {
        return Err(FilterError::new(
            at,
            format!(
                "'{comparator}' takes a list in brackets, e.g. {path}[{comparator}]:[\"a\",\"b\"]"
            ),
        ));
    };
    if inner.is_empty() {
        return Err(FilterError::new(
            at + 1,
            "empty list: put at least one value between '[' and ']'",
        ));
    }

    // Twenty splits on every comma and trims nothing; so does this.
    let mut items = Vec::new();
    let mut starts = Vec::new();
    let mut offset = at + 1;
    for element in inner.split(',') {
        if element.is_empty() {
            return Err(FilterError::new(
                offset,
                "empty list element: remove the extra ','",
            ));
        }
        items.push(parse_scalar(element, offset, true)?);
        starts.push(offset);
        offset += element.len() + 1;
    }
    Ok((items, starts))
}

fn parse_order_by_spans(
    text: &str,
    direction_of: fn(&str) -> Option<Direction>,
) -> Result<(OrderBy, Vec<KeySpans>), FilterError> {
    if text.trim().is_empty() {
        return Err(FilterError::new(
            0,
            "empty order: write at least one field, e.g. name.firstName[DescNullsLast]",
        ));
    }
    let mut keys = Vec::new();
    let mut spans = Vec::new();
    let mut offset = 0;
    for part in text.split(',') {
        let (start, end) = trim_range(text, offset, offset + part.len());
        offset += part.len() + 1;
        if start == end {
            return Err(FilterError::new(
                start,
                "empty sort key: remove the extra ','",
            ));
        }
        let key = &text[start..end];

        let (path_text, direction) = match key.find('[') {
            None => (key, Direction::AscNullsFirst),
            Some(open) => {
                let Some(written) = key[open + 1..].strip_suffix(']') else {
                    return Err(FilterError::new(
                        start + open,
                        "a direction goes in brackets at the end of the key, \
                         e.g. createdAt[DescNullsLast]",
                    ));
                };
                let Some(direction) = direction_of(written) else {
                    return Err(FilterError::new(
                        start + open + 1,
                        format!(
                            "direction '{written}' invalid: expected one of \
                             AscNullsFirst, AscNullsLast, DescNullsFirst, DescNullsLast"
                        ),
                    ));
                };
                (&key[..open], direction)
            }
        };
        let (path, sub_at) = parse_path(path_text, start)?;
        keys.push(OrderKey { path, direction });
        spans.push(KeySpans {
            path: start,
            sub_field: sub_at,
        });
    }
    Ok((OrderBy { keys }, spans))
}

fn comparator_list(comparators: &[Comparator]) -> String {
    comparators
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a path is checked for: filters need a single column, sorting also
/// accepts a whole composite.
#[derive(Clone, Copy, PartialEq)]
enum Use {
    Filter,
    Sort,
}

/// The type the path points at, or why the object refuses it.
fn resolve_path<'o>(
    object: &'o Object,
    path: &FieldPath,
    path_at: usize,
    sub_at: Option<usize>,
    purpose: Use,
) -> Result<&'o FieldType, FilterError> {
    let name = &path.field;
    let Some(field) = object.field(name) else {
        let mut message = format!(
            "field '{name}' does not exist in '{}' object",
            object.singular
        );
        if let Some(suggestion) = object.suggest_field(name) {
            message.push_str(&format!("; did you mean '{suggestion}'?"));
        }
        return Err(FilterError::new(path_at, message));
    };

    let verb = match purpose {
        Use::Filter => "filtered",
        Use::Sort => "sorted on",
    };
    if let FieldType::Relation {
        target,
        cardinality,
    } = &field.kind
    {
        let hint = match cardinality {
            Cardinality::ManyToOne { id_field } => match purpose {
                Use::Filter => {
                    format!("filter on its id field, e.g. {id_field}[eq]:\"<{target} id>\"")
                }
                Use::Sort => format!("sort on its id field {id_field}"),
            },
            Cardinality::OneToMany {
                inverse: Some(inverse),
            } => format!("query the {target} records by their {inverse} field instead"),
            Cardinality::OneToMany { inverse: None } => {
                format!("query the {target} records instead")
            }
        };
        return Err(FilterError::new(
            path_at,
            format!("'{name}' is a relation and cannot be {verb}: {hint}"),
        ));
    }

    let subs = field.kind.sub_fields();
    match (&path.sub_field, sub_at) {
        (Some(sub), Some(sub_at)) => {
            if subs.is_empty() {
                return Err(FilterError::new(
                    sub_at - 1,
                    format!("'{name}' has no sub-fields: remove '.{sub}'"),
                ));
            }
            match field.sub_field(sub) {
                Some(sub_field) => Ok(&sub_field.kind),
                None => {
                    let mut message = format!("sub-field '{sub}' does not exist in '{name}'");
                    if let Some(s) =
                        crate::names::nearest(sub, subs.iter().map(|f| f.name.as_str()))
                    {
                        message.push_str(&format!("; did you mean '{s}'?"));
                    }
                    message.push_str(&format!(" (sub-fields: {})", sub_field_list(subs)));
                    Err(FilterError::new(sub_at, message))
                }
            }
        }
        _ if !subs.is_empty() && purpose == Use::Filter => Err(FilterError::new(
            path_at + name.len(),
            format!(
                "'{name}' is a composite field: filter on one of its sub-fields, \
                 e.g. {name}.{} (sub-fields: {})",
                subs[0].name,
                sub_field_list(subs)
            ),
        )),
        _ => Ok(&field.kind),
    }
}

fn sub_field_list(subs: &[crate::catalog::Field]) -> String {
    subs.iter()
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The comparators that make sense for a column of this type.
fn comparators_for(kind: &FieldType) -> Vec<Comparator> {
    use Comparator::*;
    let allowed: &[Comparator] = match kind {
        FieldType::Text | FieldType::Email | FieldType::Url => {
            &[Eq, Neq, In, Is, Gt, Gte, Lt, Lte, StartsWith, Like, Ilike]
        }
        FieldType::Number | FieldType::Integer | FieldType::DateTime | FieldType::Date => {
            &[Eq, Neq, In, Is, Gt, Gte, Lt, Lte]
        }
        FieldType::Boolean
        | FieldType::Uuid
        | FieldType::RelationId { .. }
        | FieldType::Enum { .. } => &[Eq, Neq, In, Is],
        // Twenty compares JSON through its text.
        FieldType::Json => &[Eq, Neq, Is, StartsWith, Like, Ilike],
        FieldType::List { .. } => &[ContainsAny, Is],
        FieldType::Composite { .. } | FieldType::Relation { .. } => &[Is],
    };
    allowed.to_vec()
}

fn check_predicate(
    object: &Object,
    predicate: &mut Predicate,
    spans: &PredicateSpans,
) -> Result<(), FilterError> {
    let kind = resolve_path(
        object,
        &predicate.path,
        spans.path,
        spans.sub_field,
        Use::Filter,
    )?;
    let path = &predicate.path;

    let allowed = comparators_for(kind);
    if !allowed.contains(&predicate.comparator) {
        return Err(FilterError::new(
            spans.comparator,
            format!(
                "comparator '{}' does not apply to {} field '{path}': use one of {}",
                predicate.comparator,
                kind.label(),
                comparator_list(&allowed)
            ),
        ));
    }

    match &mut predicate.value {
        FilterValue::Null | FilterValue::NotNull => Ok(()),
        FilterValue::Scalar(scalar) => match predicate.comparator {
            // Patterns and prefixes are text whatever the column holds.
            Comparator::Like | Comparator::Ilike | Comparator::StartsWith => Ok(()),
            _ => check_value(kind, path, scalar, spans.value),
        },
        FilterValue::List(items) => {
            let item_kind = match kind {
                FieldType::List { item } => item.as_ref(),
                other => other,
            };
            for (item, at) in items.iter_mut().zip(&spans.items) {
                check_value(item_kind, path, item, *at)?;
            }
            Ok(())
        }
    }
}

/// Checks one compared value against the column's type, the way the server
/// would read it; an enum value is replaced by the one it stands for.
fn check_value(
    kind: &FieldType,
    path: &FieldPath,
    scalar: &mut Scalar,
    at: usize,
) -> Result<(), FilterError> {
    let text = scalar.text.as_str();
    let fail = |message: String| Err(FilterError::new(at, message));
    match kind {
        FieldType::Enum { values } => {
            let Some(canonical) = values::canonical_enum(values, text) else {
                let mut message = format!(
                    "invalid value '{text}' for {path}: expected one of {}",
                    values.join(", ")
                );
                if let Some(near) = crate::names::nearest(text, values.iter().map(String::as_str)) {
                    message.push_str(&format!("; did you mean {near}?"));
                }
                return fail(message);
            };
            if scalar.quoted {
                return fail(format!(
                    "enum values go without quotes: write {path}[eq]:{canonical}"
                ));
            }
            scalar.text = canonical.to_string();
            Ok(())
        }
        FieldType::Number | FieldType::Integer => {
            let is_number = text.trim().parse::<f64>().is_ok_and(f64::is_finite);
            if !is_number {
                fail(format!(
                    "'{text}' is not a number: {path} compares with numbers such as 3 or 2.5"
                ))
            } else if scalar.quoted {
                fail(format!(
                    "numbers go without quotes (a quoted number compares as text): \
                     write {path}[eq]:{text}"
                ))
            } else {
                Ok(())
            }
        }
        FieldType::Boolean => {
            if scalar.quoted || !(text == "true" || text == "false") {
                fail(format!(
                    "'{text}' is not a boolean: {path} compares with bare true or false"
                ))
            } else {
                Ok(())
            }
        }
        FieldType::Uuid | FieldType::RelationId { .. } => {
            if values::is_uuid(text) {
                Ok(())
            } else {
                fail(format!(
                    "'{text}' is not a UUID: {path} compares with ids such as \
                     \"3f2a9c4e-0b1d-4e5f-8a7b-6c5d4e3f2a1b\""
                ))
            }
        }
        FieldType::DateTime | FieldType::Date => {
            if values::normalize_date_time(text).is_some() {
                Ok(())
            } else {
                fail(format!(
                    "'{text}' is not a date: {path} compares with dates such as \
                     \"2024-01-01\" or \"2024-01-01T10:00:00Z\""
                ))
            }
        }
        _ => Ok(()),
    }
}
