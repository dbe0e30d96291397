//! Typed input values: text to JSON by field type, body checks, and the CSV
//! flattening that export and import share.

use serde_json::{Map, Value, json};
use twenty_core::Object;
use twenty_core::values::{
    InputError, check_body, columns, flatten_record, parse_input, resolve_path, set_path,
};

fn standard(name: &str) -> Object {
    twenty_core::builtin::standard()
        .object(name)
        .cloned()
        .expect("the standard model has the object")
}

fn run() -> Object {
    standard("workflowRun")
}

fn person() -> Object {
    standard("person")
}

/// An object with the types the standard model lacks (dates, integers,
/// booleans, URLs, lists of enums).
fn task() -> Object {
    serde_json::from_value(json!({
        "singular": "task", "plural": "tasks", "description": null, "operations": [],
        "fields": [
            {"name": "dueDate", "description": null, "writable": true, "kind": {"type": "date"}},
            {"name": "count", "description": null, "writable": true, "kind": {"type": "integer"}},
            {"name": "done", "description": null, "writable": true, "kind": {"type": "boolean"}},
            {"name": "homepage", "description": null, "writable": true, "kind": {"type": "url"}},
            {"name": "contact", "description": null, "writable": true, "kind": {"type": "email"}},
            {"name": "labels", "description": null, "writable": true,
             "kind": {"type": "list", "item": {"type": "enum", "values": ["RED", "LIGHT_BLUE"]}}},
            {"name": "scores", "description": null, "writable": true,
             "kind": {"type": "list", "item": {"type": "number"}}},
            {"name": "externalId", "description": null, "writable": true, "kind": {"type": "uuid"}},
            {"name": "summary", "description": null, "writable": false, "kind": {"type": "text"}}
        ]
    }))
    .expect("the fixture is a valid object")
}

fn input(object: &Object, path: &str, text: &str) -> Value {
    parse_input(object, path, text).unwrap_or_else(|e| panic!("{path}={text:?}: {e}"))
}

fn input_err(object: &Object, path: &str, text: &str) -> String {
    parse_input(object, path, text).expect_err(text).to_string()
}

const ID: &str = "3f2a9c4e-0b1d-4e5f-8a7b-6c5d4e3f2a1b";

#[test]
fn text_is_kept_as_typed() {
    assert_eq!(input(&run(), "name", " Run 1 "), json!(" Run 1 "));
    assert_eq!(input(&run(), "name", ""), json!(""));
    assert_eq!(input(&person(), "name.firstName", "Ada"), json!("Ada"));
}

#[test]
fn numbers_keep_whole_numbers_whole() {
    assert_eq!(input(&run(), "position", "3"), json!(3));
    assert_eq!(input(&run(), "position", "2.5"), json!(2.5));
    assert_eq!(input(&run(), "position", "3.0"), json!(3.0));
    assert_eq!(input(&run(), "position", "-1e3"), json!(-1000.0));
    assert_eq!(input(&run(), "position", ""), Value::Null);
    assert_eq!(
        input_err(&run(), "position", "ten"),
        "invalid number 'ten' for position: expected a number such as 3 or 2.5"
    );
    assert_eq!(input(&task(), "count", "42"), json!(42));
    assert_eq!(
        input_err(&task(), "count", "4.5"),
        "invalid number '4.5' for count: expected a whole number such as 3"
    );
}

/// Twenty reads JSON numbers as JavaScript doubles, so a whole number past
/// 2^53 - 1 would lose digits on the way in: refused, on either side of 0.
#[test]
fn whole_numbers_stay_within_what_the_server_keeps_exact() {
    let max = "9007199254740991";
    assert_eq!(
        input(&task(), "count", max),
        json!(9_007_199_254_740_991_i64)
    );
    assert_eq!(
        input(&task(), "count", &format!("-{max}")),
        json!(-9_007_199_254_740_991_i64)
    );
    let out_of_range = "expected a whole number from -9007199254740991 to \
                        9007199254740991 (Twenty loses digits past them)";
    for (path, object, text) in [
        ("count", task(), "9007199254740992"),
        ("count", task(), "-9007199254740992"),
        ("count", task(), "9223372036854775808"),
        ("count", task(), "-9223372036854775809"),
        ("position", run(), "100000000000000000000000"),
    ] {
        assert_eq!(
            input_err(&object, path, text),
            format!("invalid number '{text}' for {path}: {out_of_range}")
        );
    }
    // The same check holds for a number inside a JSON body.
    let body = json!({"count": 9_007_199_254_740_992_u64});
    assert!(
        twenty_core::values::check_body(&task(), &body)
            .unwrap_err()
            .to_string()
            .contains(out_of_range)
    );
}

#[test]
fn booleans_accept_common_spellings() {
    for (text, expected) in [
        ("true", true),
        ("TRUE", true),
        ("yes", true),
        ("1", true),
        ("false", false),
        ("No", false),
        ("0", false),
    ] {
        assert_eq!(input(&task(), "done", text), json!(expected), "{text}");
    }
    assert_eq!(
        parse_input(&task(), "done", "maybe").unwrap_err(),
        InputError::InvalidBoolean {
            field: "done".into(),
            value: "maybe".into()
        }
    );
    assert_eq!(
        input_err(&task(), "done", "maybe"),
        "invalid boolean 'maybe' for done: expected true or false (or yes/no, 1/0)"
    );
}

#[test]
fn ids_must_have_the_uuid_shape() {
    assert_eq!(input(&run(), "workflowId", ID), json!(ID));
    assert_eq!(
        input(&task(), "externalId", &ID.to_uppercase()),
        json!(ID.to_uppercase())
    );
    for bad in [
        "42",
        "3f2a9c4e0b1d4e5f8a7b6c5d4e3f2a1b",
        "3f2a9c4e-0b1d-4e5f-8a7b-6c5d4e3f2a1g",
    ] {
        assert_eq!(
            parse_input(&run(), "workflowId", bad).unwrap_err(),
            InputError::InvalidUuid {
                field: "workflowId".into(),
                value: bad.into()
            }
        );
    }
    assert_eq!(
        input_err(&run(), "workflow-id", "42"),
        "invalid UUID '42' for workflow-id: expected 8-4-4-4-12 hex digits such as \
         3f2a9c4e-0b1d-4e5f-8a7b-6c5d4e3f2a1b"
    );
}

#[test]
fn timestamps_are_normalized_to_utc_milliseconds() {
    let cases = [
        ("2024-05-01", "2024-05-01T00:00:00.000Z"),
        ("2024-05-01T10:00:00", "2024-05-01T10:00:00.000Z"),
        ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00.000Z"),
        ("2024-05-01T10:00:00.5Z", "2024-05-01T10:00:00.500Z"),
        ("2024-05-01T12:30:00+02:00", "2024-05-01T10:30:00.000Z"),
        ("2024-05-01 10:00:00", "2024-05-01T10:00:00.000Z"),
    ];
    for (text, expected) in cases {
        assert_eq!(input(&run(), "startedAt", text), json!(expected), "{text}");
    }
    for bad in ["yesterday", "2024-5-1", "2024-13-01", "2024-05-01T25:00:00"] {
        assert_eq!(
            parse_input(&run(), "startedAt", bad).unwrap_err(),
            InputError::InvalidDateTime {
                field: "startedAt".into(),
                value: bad.into()
            },
            "{bad}"
        );
    }
    assert_eq!(
        input_err(&run(), "started-at", "soon"),
        "invalid date-time 'soon' for started-at: expected RFC 3339 such as \
         2024-05-01T10:00:00Z, or 2024-05-01 or 2024-05-01T10:00:00 (read as UTC)"
    );
}

#[test]
fn dates_are_calendar_days() {
    assert_eq!(input(&task(), "dueDate", "2024-02-29"), json!("2024-02-29"));
    // v1.0 servers returned dates as midnight timestamps.
    assert_eq!(
        input(&task(), "dueDate", "2024-02-29T00:00:00.000Z"),
        json!("2024-02-29")
    );
    assert_eq!(
        input_err(&task(), "dueDate", "2023-02-29"),
        "invalid date '2023-02-29' for dueDate: expected YYYY-MM-DD such as 2024-05-01"
    );
    assert!(parse_input(&task(), "dueDate", "2024-02-29T10:00:00Z").is_err());
}

#[test]
fn enum_values_are_matched_without_regard_to_case_or_separators() {
    for text in [
        "NOT_STARTED",
        "not started",
        "NOT-STARTED",
        "not_started",
        "Not Started",
    ] {
        assert_eq!(
            input(&run(), "status", text),
            json!("NOT_STARTED"),
            "{text}"
        );
    }
    assert_eq!(input(&run(), "status", "completed"), json!("COMPLETED"));
    assert_eq!(
        parse_input(&run(), "status", "DONE").unwrap_err(),
        InputError::InvalidEnum {
            field: "status".into(),
            value: "DONE".into(),
            allowed: vec![
                "NOT_STARTED".into(),
                "RUNNING".into(),
                "COMPLETED".into(),
                "FAILED".into()
            ],
        }
    );
    assert_eq!(
        input_err(&run(), "status", "DONE"),
        "invalid value 'DONE' for status: expected one of NOT_STARTED, RUNNING, COMPLETED, FAILED"
    );
    assert_eq!(input(&person(), "createdBy.source", "api"), json!("API"));
}

#[test]
fn json_fields_report_line_and_column() {
    assert_eq!(
        input(&run(), "output", r#"{"steps": [1, 2]}"#),
        json!({"steps": [1, 2]})
    );
    assert_eq!(input(&run(), "output", "\"done\""), json!("done"));
    assert_eq!(input(&run(), "output", ""), Value::Null);
    let e = parse_input(&run(), "output", "{\"a\": 1,\n \"b\": tru}").unwrap_err();
    assert_eq!(
        e,
        InputError::InvalidJson {
            field: "output".into(),
            line: 2,
            column: 10,
            message: "expected ident".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "invalid JSON in output at line 2, column 10: expected ident"
    );
    assert_eq!(
        input_err(&run(), "output", "{\"a\" 1}"),
        "invalid JSON in output at line 1, column 6: expected `:`"
    );
}

#[test]
fn lists_take_a_json_array_or_comma_separated_items() {
    let p = person();
    assert_eq!(
        input(&p, "emails.additionalEmails", "a@x.co, b@y.org"),
        json!(["a@x.co", "b@y.org"])
    );
    assert_eq!(
        input(&p, "emails.additionalEmails", r#"["a@x.co"]"#),
        json!(["a@x.co"])
    );
    assert_eq!(input(&p, "emails.additionalEmails", ""), Value::Null);
    assert_eq!(
        input_err(&p, "emails.additionalEmails", "a@x.co,nope"),
        "invalid e-mail address 'nope' for emails.additionalEmails[1]: \
         expected an address such as ada@example.com"
    );
    assert_eq!(
        input(&task(), "labels", "red, light blue"),
        json!(["RED", "LIGHT_BLUE"])
    );
    assert_eq!(input(&task(), "scores", "1, 2.5"), json!([1, 2.5]));
    assert_eq!(
        input_err(&task(), "scores", "1,,2"),
        "wrong type for scores[1]: expected number, found an empty item"
    );
    assert_eq!(
        input_err(&task(), "scores", r#"[1, "2"]"#),
        "wrong type for scores[1]: expected a number, found a string"
    );
}

#[test]
fn composites_given_whole_are_checked_by_sub_field() {
    let p = person();
    assert_eq!(
        input(
            &p,
            "name",
            r#"{"firstName": "Ada", "lastName": "Lovelace"}"#
        ),
        json!({"firstName": "Ada", "lastName": "Lovelace"})
    );
    assert_eq!(
        parse_input(&p, "name", r#"{"first": "Ada"}"#).unwrap_err(),
        InputError::UnknownSubField {
            field: "name".into(),
            sub_field: "first".into(),
            suggestion: Some("firstName".into()),
            allowed: vec!["firstName".into(), "lastName".into()],
        }
    );
    assert_eq!(
        input_err(&p, "name", r#"{"first": "Ada"}"#),
        "sub-field 'first' does not exist in 'name'; did you mean 'firstName'? \
         (sub-fields: firstName, lastName)"
    );
    assert_eq!(
        input_err(&p, "name", r#"{"firstName": 3}"#),
        "wrong type for name.firstName: expected a string, found a number"
    );
    assert_eq!(
        input_err(&p, "name", "Ada"),
        "invalid JSON in name at line 1, column 1: expected value"
    );
}

#[test]
fn emails_and_urls_get_a_shape_check() {
    let t = task();
    assert_eq!(
        input(&t, "contact", "ada@example.com"),
        json!("ada@example.com")
    );
    assert_eq!(input(&t, "contact", ""), json!(""));
    assert_eq!(
        input_err(&t, "contact", "ada at example"),
        "invalid e-mail address 'ada at example' for contact: \
         expected an address such as ada@example.com"
    );
    assert_eq!(input(&t, "homepage", "twenty.com"), json!("twenty.com"));
    assert_eq!(
        input(&t, "homepage", "https://twenty.com/x"),
        json!("https://twenty.com/x")
    );
    assert_eq!(
        input_err(&t, "homepage", "not a link"),
        "invalid URL 'not a link' for homepage: \
         expected a link such as https://example.com or example.com"
    );
}

#[test]
fn paths_accept_kebab_and_snake_spellings() {
    let r = run();
    assert_eq!(input(&r, "workflow-version-id", ID), json!(ID));
    assert_eq!(input(&r, "workflow_version_id", ID), json!(ID));
    assert_eq!(
        resolve_path(&r, "workflow-version-id").unwrap(),
        "workflowVersionId"
    );
    assert_eq!(
        resolve_path(&person(), "name.first-name").unwrap(),
        "name.firstName"
    );
    assert_eq!(
        resolve_path(&person(), "Emails.Primary-Email").unwrap(),
        "emails.primaryEmail"
    );
    assert_eq!(
        input(&person(), "name.last-name", "Lovelace"),
        json!("Lovelace")
    );
}

#[test]
fn unknown_paths_and_relations_are_refused_with_a_fix() {
    let r = run();
    assert_eq!(
        parse_input(&r, "stauts", "RUNNING").unwrap_err(),
        InputError::UnknownField {
            object: "workflowRun".into(),
            field: "stauts".into(),
            suggestion: Some("status".into()),
        }
    );
    assert_eq!(
        input_err(&r, "stauts", "x"),
        "field 'stauts' does not exist in 'workflowRun' object; did you mean 'status'?"
    );
    assert_eq!(
        input_err(&r, "zzzzzz", "x"),
        "field 'zzzzzz' does not exist in 'workflowRun' object"
    );
    assert_eq!(
        input_err(&r, "status.x", "x"),
        "'status' has no sub-fields: set status itself instead of status.x"
    );
    assert_eq!(
        input_err(&r, "workflowVersion", ID),
        "workflowVersion cannot be written: it is a relation; \
         set its id field workflowVersionId instead"
    );
    assert_eq!(
        input_err(&person(), "taskTargets", "x"),
        "taskTargets cannot be written: it is a relation; \
         set personId on the taskTarget records instead"
    );
}

#[test]
fn set_path_builds_and_merges_composites() {
    let mut body = Map::new();
    set_path(&mut body, "name.firstName", json!("Ada"));
    set_path(&mut body, "name.lastName", json!("Lovelace"));
    set_path(&mut body, "city", json!("London"));
    assert_eq!(
        Value::Object(body.clone()),
        json!({"name": {"firstName": "Ada", "lastName": "Lovelace"}, "city": "London"})
    );

    // A whole value replaces; a sub-field then merges into it.
    set_path(&mut body, "name", json!({"firstName": "Grace"}));
    set_path(&mut body, "name.lastName", json!("Hopper"));
    assert_eq!(
        body["name"],
        json!({"firstName": "Grace", "lastName": "Hopper"})
    );

    // A sub-field over a value that is not an object starts a new one.
    set_path(&mut body, "city.x", json!(1));
    assert_eq!(body["city"], json!({"x": 1}));
}

#[test]
fn check_body_normalizes_a_valid_body() {
    let body = json!({
        "id": ID,
        "name": "Nightly",
        "status": "not started",
        "startedAt": "2024-05-01T12:00:00+02:00",
        "endedAt": null,
        "output": {"anything": [1, "two"]},
        "position": 2,
        "workflowVersionId": ID,
        "createdBy": {"source": "api", "name": "Importer"}
    });
    assert_eq!(
        check_body(&run(), &body).unwrap(),
        json!({
            "id": ID,
            "name": "Nightly",
            "status": "NOT_STARTED",
            "startedAt": "2024-05-01T10:00:00.000Z",
            "endedAt": null,
            "output": {"anything": [1, "two"]},
            "position": 2,
            "workflowVersionId": ID,
            "createdBy": {"source": "API", "name": "Importer"}
        })
    );
    assert_eq!(check_body(&run(), &json!({})).unwrap(), json!({}));
}

#[test]
fn check_body_refuses_what_the_server_would() {
    let r = run();
    let p = person();
    let cases: Vec<(&Object, Value, &str)> = vec![
        (
            &r,
            json!({"stauts": "RUNNING"}),
            "field 'stauts' does not exist in 'workflowRun' object; did you mean 'status'?",
        ),
        (
            &r,
            json!({"createdAt": "2024-01-01T00:00:00Z"}),
            "createdAt cannot be written: the server sets it",
        ),
        (
            &r,
            json!({"id": "42"}),
            "invalid UUID '42' for id: expected 8-4-4-4-12 hex digits such as 3f2a9c4e-0b1d-4e5f-8a7b-6c5d4e3f2a1b",
        ),
        (
            &r,
            json!({"id": 42}),
            "wrong type for id: expected a UUID string, found a number",
        ),
        (
            &r,
            json!({"workflow": {"id": ID}}),
            "workflow cannot be written: it is a relation; set its id field workflowId instead",
        ),
        (
            &r,
            json!({"status": "DONE"}),
            "invalid value 'DONE' for status: expected one of NOT_STARTED, RUNNING, COMPLETED, FAILED",
        ),
        (
            &r,
            json!({"status": 1}),
            "wrong type for status: expected a string, found a number",
        ),
        (
            &r,
            json!({"position": "3"}),
            "wrong type for position: expected a number, found a string",
        ),
        (
            &r,
            json!({"startedAt": "later"}),
            "invalid date-time 'later' for startedAt: expected RFC 3339 such as \
             2024-05-01T10:00:00Z, or 2024-05-01 or 2024-05-01T10:00:00 (read as UTC)",
        ),
        (
            &p,
            json!({"name": null}),
            "wrong type for name: expected an object (to clear a composite, send its \
             sub-fields empty), found null",
        ),
        (
            &p,
            json!({"name": {"middleName": "x"}}),
            "sub-field 'middleName' does not exist in 'name' (sub-fields: firstName, lastName)",
        ),
        (
            &p,
            json!({"emails": {"additionalEmails": ["ok@x.co", 3]}}),
            "wrong type for emails.additionalEmails[1]: expected a string, found a number",
        ),
        (
            &p,
            json!({"companyId": "x"}),
            "invalid UUID 'x' for companyId: expected 8-4-4-4-12 hex digits such as \
             3f2a9c4e-0b1d-4e5f-8a7b-6c5d4e3f2a1b",
        ),
        (
            &r,
            json!([{"name": "x"}]),
            "wrong type for the body: expected a JSON object of workflowRun fields, found an array",
        ),
    ];
    for (object, body, message) in cases {
        let e = check_body(object, &body).expect_err(&body.to_string());
        assert_eq!(e.to_string(), message, "for {body}");
    }

    let t = task();
    assert_eq!(
        check_body(&t, &json!({"summary": "x"})).unwrap_err(),
        InputError::NotWritable {
            field: "summary".into(),
            reason: "it is read-only".into()
        }
    );
    assert_eq!(
        check_body(&t, &json!({"count": 1.5}))
            .unwrap_err()
            .to_string(),
        "invalid number '1.5' for count: expected a whole number such as 3"
    );
    assert_eq!(
        check_body(&t, &json!({"labels": ["red"], "dueDate": "2024-01-02"})).unwrap(),
        json!({"labels": ["RED"], "dueDate": "2024-01-02"})
    );
}

#[test]
fn columns_expand_composites_and_skip_relations() {
    let cols = columns(&person());
    assert_eq!(
        &cols[..4],
        &["name.firstName", "name.lastName", "companyId", "deletedAt"]
    );
    assert!(cols.contains(&"emails.additionalEmails".to_string()));
    assert!(cols.contains(&"xLink.secondaryLinks".to_string()));
    assert!(
        !cols
            .iter()
            .any(|c| c == "company" || c == "taskTargets" || c == "name")
    );
    let r = columns(&run());
    assert_eq!(
        r,
        [
            "workflowVersionId",
            "workflowId",
            "position",
            "output",
            "createdBy.source",
            "createdBy.workspaceMemberId",
            "createdBy.name",
            "status",
            "endedAt",
            "createdAt",
            "id",
            "name",
            "startedAt",
            "deletedAt",
            "updatedAt",
            "context"
        ]
    );
}

/// Reads flattened cells back with `parse_input` and rebuilds the record.
fn unflatten(object: &Object, cells: &[(String, String)]) -> Value {
    let mut body = Map::new();
    for (column, text) in cells {
        let value =
            parse_input(object, column, text).unwrap_or_else(|e| panic!("{column}={text:?}: {e}"));
        set_path(&mut body, column, value);
    }
    Value::Object(body)
}

#[test]
fn a_flattened_workflow_run_reads_back_to_the_same_values() {
    let r = run();
    let record = json!({
        "id": ID,
        "name": "Nightly, with a comma",
        "workflowVersionId": ID,
        "workflowId": ID,
        "position": 1.5,
        "output": {"flow": {"steps": [{"id": "a", "ok": true}]}, "error": null},
        "context": "just text",
        "createdBy": {"source": "API", "workspaceMemberId": null, "name": "key \"one\""},
        "status": "COMPLETED",
        "startedAt": "2024-05-01T10:00:00.000Z",
        "endedAt": null,
        "createdAt": "2024-05-01T09:59:59.123Z",
        "updatedAt": "2024-05-01T10:00:01.000Z",
        "deletedAt": null,
        // A relation object from depth 1 is left out of the flat form.
        "workflow": {"id": ID, "name": "W"}
    });
    let cells = flatten_record(&r, &record);
    let names: Vec<&str> = cells.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(names, columns(&r));

    let cell = |name: &str| {
        cells
            .iter()
            .find(|(c, _)| c == name)
            .map(|(_, v)| v.as_str())
            .unwrap()
    };
    assert_eq!(
        cell("output"),
        r#"{"flow":{"steps":[{"id":"a","ok":true}]},"error":null}"#
    );
    assert_eq!(cell("context"), r#""just text""#);
    assert_eq!(cell("position"), "1.5");
    assert_eq!(cell("endedAt"), "");
    assert_eq!(cell("createdBy.source"), "API");

    let mut expected = record.clone();
    expected.as_object_mut().unwrap().remove("workflow");
    assert_eq!(unflatten(&r, &cells), expected);
}

#[test]
fn a_flattened_person_reads_back_to_the_same_values() {
    let p = person();
    let links = json!({
        "primaryLinkUrl": "linkedin.com/in/ada",
        "primaryLinkLabel": "",
        "secondaryLinks": [{"url": "https://ada.dev", "label": "site"}]
    });
    let record = json!({
        "id": ID,
        "name": {"firstName": "Ada", "lastName": "Lovelace"},
        "emails": {"primaryEmail": "ada@example.com", "additionalEmails": ["a@x.co", "b@y.org"]},
        "linkedinLink": links,
        "xLink": {"primaryLinkUrl": "", "primaryLinkLabel": "", "secondaryLinks": null},
        "phones": {
            "primaryPhoneNumber": "612345678",
            "primaryPhoneCountryCode": "FR",
            "primaryPhoneCallingCode": "+33",
            "additionalPhones": null
        },
        "jobTitle": "",
        "city": "London",
        "avatarUrl": "",
        "position": 3,
        "companyId": null,
        "createdBy": {"source": "MANUAL", "workspaceMemberId": ID, "name": "Tim"},
        "createdAt": "2024-05-01T10:00:00.000Z",
        "updatedAt": "2024-05-01T10:00:00.000Z",
        "deletedAt": null,
        "company": null,
        "taskTargets": []
    });
    let cells = flatten_record(&p, &record);
    let cell = |name: &str| {
        cells
            .iter()
            .find(|(c, _)| c == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(cell("emails.additionalEmails"), r#"["a@x.co","b@y.org"]"#);
    assert_eq!(cell("phones.additionalPhones"), "");
    assert_eq!(cell("name.lastName"), "Lovelace");

    let mut expected = record.clone();
    let map = expected.as_object_mut().unwrap();
    map.remove("company");
    map.remove("taskTargets");
    assert_eq!(unflatten(&p, &cells), expected);
}

#[test]
fn a_missing_value_flattens_to_an_empty_cell() {
    let cells = flatten_record(&run(), &json!({"name": "only"}));
    assert_eq!(cells.len(), columns(&run()).len());
    assert!(cells.iter().all(|(c, v)| if c == "name" {
        v == "only"
    } else {
        v.is_empty()
    }));
}
