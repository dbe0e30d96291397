//! Spellings of names: the API's camel case, the command line's kebab case,
//! and "did you mean" suggestions.

use crate::catalog::Object;

/// `workflowVersionId` -> `workflow-version-id`.
pub fn kebab(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else if c == '_' {
            out.push('-');
        } else {
            out.push(c);
        }
    }
    out
}

/// `workflow-version-id` or `workflow_version_id` -> `workflowVersionId`.
pub fn camel(kebab: &str) -> String {
    let mut out = String::with_capacity(kebab.len());
    let mut upper = false;
    for c in kebab.chars() {
        if c == '-' || c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `workflowRun` -> `WorkflowRun`.
pub fn pascal(camel: &str) -> String {
    let mut chars = camel.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// `WorkflowRun` -> `workflowRun`.
pub fn lower_first(pascal: &str) -> String {
    let mut chars = pascal.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// Whether `name` names `object` in any accepted spelling: the API's
/// singular or plural, or either in kebab case.
pub fn matches_object(object: &Object, name: &str) -> bool {
    let wanted = camel(name);
    [&object.plural, &object.singular]
        .iter()
        .any(|n| **n == wanted || n.eq_ignore_ascii_case(&wanted))
}

/// The candidate closest to `name`, when it is close enough to be what the
/// user meant.
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lowered = name.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            let score = strsim::jaro_winkler(&lowered, &c.to_ascii_lowercase());
            (score, c)
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_and_camel_are_inverse() {
        for name in [
            "workflowVersionId",
            "createdBy",
            "id",
            "aLink",
            "messageChannelMessageAssociations",
        ] {
            assert_eq!(camel(&kebab(name)), name);
        }
        assert_eq!(kebab("workflowVersionId"), "workflow-version-id");
        assert_eq!(camel("starting_after"), "startingAfter");
    }

    #[test]
    fn nearest_suggests_close_names_only() {
        let fields = ["status", "startedAt", "endedAt", "name"];
        assert_eq!(nearest("stauts", fields), Some("status"));
        assert_eq!(nearest("endAt", fields), Some("endedAt"));
        assert_eq!(nearest("zzzzzz", fields), None);
    }
}
