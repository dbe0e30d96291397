//! The filter and order-by grammar of Twenty's REST API (`?filter=` and
//! `?order_by=`), one parser for the whole project: the CLI checks a user's
//! filter with it before sending, and the sandbox evaluates the same tree.

use serde::{Deserialize, Serialize};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// `AscNullsFirst`, the default.
    AscNullsFirst,
    /// `AscNullsLast`
    AscNullsLast,
    /// `DescNullsFirst`
    DescNullsFirst,
    /// `DescNullsLast`
    DescNullsLast,
}
