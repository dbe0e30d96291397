//! `--jq EXPR`: a jq filter over the output, run in-process with jaq so
//! no `jq` binary is needed.
//!
//! The expression is compiled once, before any request, so a typo costs no
//! request and exits with code 2.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;
use serde_json::Value;

use crate::UsageError;

/// A compiled jq filter.
pub struct Jq {
    filter: jaq_core::Filter<data::JustLut<Val>>,
    expr: String,
}

impl Jq {
    /// Compiles `expr`; a syntax error or an unknown function is a usage
    /// error naming the expression.
    pub fn compile(expr: &str) -> Result<Self, UsageError> {
        let invalid = |detail: String| {
            UsageError::new(
                format!("--jq expression `{expr}` is invalid: {detail}"),
                Some("the expression uses jq syntax, such as `.[] | .name`".into()),
            )
        };
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs());
        let loader = Loader::new(defs);
        let arena = Arena::default();
        // The arena borrows the code for the modules' lifetime; leaking one
        // short string per process keeps the compiled filter 'static.
        let code: &'static str = Box::leak(expr.to_string().into_boxed_str());
        let modules = loader
            .load(&arena, File { code, path: () })
            .map_err(|errors| {
                invalid(
                    errors
                        .iter()
                        .map(|(_, e)| describe_load_error(e))
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            })?;
        let filter = Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errors| {
                invalid(
                    errors
                        .iter()
                        .flat_map(|(_, e)| {
                            e.iter().map(|(name, _)| format!("`{name}` is not defined"))
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            })?;
        Ok(Self {
            filter,
            expr: expr.to_string(),
        })
    }

    /// The expression as typed.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// Runs the filter on one value and returns every output.
    pub fn run(&self, input: &Value) -> Result<Vec<Value>, Failed> {
        let failed = |detail: String| Failed {
            expr: self.expr.clone(),
            detail: shortened(detail),
        };
        let text = serde_json::to_vec(input).map_err(|e| failed(e.to_string()))?;
        let input = jaq_json::read::parse_single(&text)
            .map_err(|e| failed(format!("the output could not be handed to jq: {e}")))?;
        let ctx = Ctx::<data::JustLut<Val>>::new(&self.filter.lut, Vars::new([]));
        let mut out = Vec::new();
        for result in self.filter.id.run((ctx, input)).map(unwrap_valr) {
            let value = result.map_err(|e| failed(e.to_string()))?;
            out.push(serde_json::from_str(&value.to_string()).map_err(|e| failed(e.to_string()))?);
        }
        Ok(out)
    }
}

/// jq's message with the values it quotes cut to a readable length: it
/// quotes whole operands, and an operand may be a page of records.
fn shortened(detail: String) -> String {
    const MAX_CHARS: usize = 300;
    match detail.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => format!("{}…", &detail[..end]),
        None => detail,
    }
}

/// A jq filter that failed on a value (`cannot index "x" with "id"`), kept
/// apart from other errors so a caller can add what it knows, such as
/// which value the filter ran on.
#[derive(Debug, Clone, PartialEq)]
pub struct Failed {
    /// The expression as typed.
    pub expr: String,
    /// What jq said.
    pub detail: String,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--jq `{}` failed: {}", self.expr, self.detail)
    }
}

impl std::error::Error for Failed {}

fn describe_load_error<S: std::fmt::Debug>(error: &jaq_core::load::Error<S>) -> String {
    match error {
        jaq_core::load::Error::Io(_) => "a module could not be read".into(),
        jaq_core::load::Error::Lex(errors) => {
            format!("cannot read it ({} lex errors)", errors.len())
        }
        jaq_core::load::Error::Parse(errors) => {
            format!("cannot parse it ({} syntax errors)", errors.len())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn runs_a_filter_over_records() {
        let jq = Jq::compile(".[] | .name").unwrap();
        let out = jq.run(&json!([{"name": "a"}, {"name": "b"}])).unwrap();
        assert_eq!(out, [json!("a"), json!("b")]);
    }

    #[test]
    fn refuses_a_syntax_error() {
        let err = Jq::compile(".[] |").err().unwrap();
        assert!(
            err.message.contains("--jq expression `.[] |` is invalid"),
            "{}",
            err.message
        );
        let err = Jq::compile("nosuchfunction").err().unwrap();
        assert!(err.message.contains("nosuchfunction"), "{}", err.message);
    }

    #[test]
    fn a_failure_quotes_its_operand_only_in_part() {
        let jq = Jq::compile(". + 1").unwrap();
        let page: Vec<Value> = (0..200)
            .map(|i| json!({"city": format!("city {i}")}))
            .collect();
        let failed = jq.run(&json!({"records": page})).unwrap_err();
        assert_eq!(failed.detail.chars().count(), 301, "{}", failed.detail);
        assert!(
            failed
                .detail
                .starts_with("cannot calculate {\"records\":[{\"city\":\"city 0\"}")
        );
        assert!(failed.detail.ends_with('…'));
        let small = Jq::compile(".a + 1")
            .unwrap()
            .run(&json!({"a": "x"}))
            .unwrap_err();
        assert_eq!(small.detail, "cannot calculate \"x\" + 1");
    }
}
