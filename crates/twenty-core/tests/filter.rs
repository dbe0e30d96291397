//! The filter and order-by grammar: every comparator and conjunction, the
//! exact offsets and messages of errors, checks against an object, and the
//! print/parse round trip.

use proptest::prelude::*;
use twenty_core::Object;
use twenty_core::filter::{
    Comparator, Direction, FieldPath, Filter, FilterValue, OrderBy, OrderKey, Predicate, Scalar,
    parse_filter, parse_filter_for, parse_order_by, parse_order_by_for,
};

fn person() -> Object {
    serde_json::from_value(serde_json::json!({
        "singular": "person", "plural": "people", "description": null, "operations": [],
        "fields": [
            {"name": "id", "description": null, "writable": false, "kind": {"type": "uuid"}},
            {"name": "name", "description": null, "writable": true, "kind": {"type": "composite", "fields": [
                {"name": "firstName", "description": null, "writable": true, "kind": {"type": "text"}},
                {"name": "lastName", "description": null, "writable": true, "kind": {"type": "text"}}]}},
            {"name": "emails", "description": null, "writable": true, "kind": {"type": "composite", "fields": [
                {"name": "primaryEmail", "description": null, "writable": true, "kind": {"type": "text"}},
                {"name": "additionalEmails", "description": null, "writable": true,
                 "kind": {"type": "list", "item": {"type": "email"}}}]}},
            {"name": "city", "description": null, "writable": true, "kind": {"type": "text"}},
            {"name": "position", "description": null, "writable": true, "kind": {"type": "number"}},
            {"name": "createdAt", "description": null, "writable": false, "kind": {"type": "dateTime"}},
            {"name": "companyId", "description": null, "writable": true,
             "kind": {"type": "relationId", "target": "company", "relation": "company"}},
            {"name": "company", "description": null, "writable": false,
             "kind": {"type": "relation", "target": "company",
                      "cardinality": {"side": "manyToOne", "id_field": "companyId"}}},
            {"name": "taskTargets", "description": null, "writable": false,
             "kind": {"type": "relation", "target": "taskTarget",
                      "cardinality": {"side": "oneToMany", "inverse": "personId"}}},
            {"name": "isVip", "description": null, "writable": true, "kind": {"type": "boolean"}},
            {"name": "stage", "description": null, "writable": true,
             "kind": {"type": "enum", "values": ["NOT_STARTED", "RUNNING", "COMPLETED", "FAILED"]}},
            {"name": "tags", "description": null, "writable": true,
             "kind": {"type": "list", "item": {"type": "text"}}},
            {"name": "statuses", "description": null, "writable": true,
             "kind": {"type": "list", "item": {"type": "enum", "values": ["OPEN", "CLOSED"]}}},
            {"name": "context", "description": null, "writable": true, "kind": {"type": "json"}},
            {"name": "orderNumber", "description": null, "writable": true, "kind": {"type": "integer"}}
        ]
    }))
    .expect("the fixture is a valid object")
}

fn pred(field: &str, comparator: Comparator, value: FilterValue) -> Filter {
    let path = match field.split_once('.') {
        Some((f, s)) => FieldPath::sub_field(f, s),
        None => FieldPath::field(field),
    };
    Filter::Predicate(Predicate {
        path,
        comparator,
        value,
    })
}

fn bare(text: &str) -> FilterValue {
    FilterValue::Scalar(Scalar::bare(text))
}

fn quoted(text: &str) -> FilterValue {
    FilterValue::Scalar(Scalar::quoted(text))
}

/// The message and byte offset of a parse failure.
fn err(text: &str) -> (String, usize) {
    let e = parse_filter(text).expect_err(text);
    (e.message, e.position)
}

fn check_err(text: &str) -> (String, usize) {
    let e = parse_filter_for(text, &person()).expect_err(text);
    (e.message, e.position)
}

#[test]
fn every_scalar_comparator_parses() {
    let cases = [
        ("eq", Comparator::Eq),
        ("neq", Comparator::Neq),
        ("gt", Comparator::Gt),
        ("gte", Comparator::Gte),
        ("lt", Comparator::Lt),
        ("lte", Comparator::Lte),
        ("startsWith", Comparator::StartsWith),
        ("like", Comparator::Like),
        ("ilike", Comparator::Ilike),
    ];
    for (written, comparator) in cases {
        let text = format!("city[{written}]:\"Par%\"");
        assert_eq!(
            parse_filter(&text).unwrap(),
            pred("city", comparator, quoted("Par%")),
            "{text}"
        );
        assert_eq!(comparator.as_str(), written);
    }
}

#[test]
fn list_comparators_take_quoted_and_bare_elements() {
    assert_eq!(
        parse_filter(r#"id[in]:["a",b]"#).unwrap(),
        pred(
            "id",
            Comparator::In,
            FilterValue::List(vec![Scalar::quoted("a"), Scalar::bare("b")])
        )
    );
    assert_eq!(
        parse_filter("tags[containsAny]:[x]").unwrap(),
        pred(
            "tags",
            Comparator::ContainsAny,
            FilterValue::List(vec![Scalar::bare("x")])
        )
    );
    // Elements are not trimmed, as on the server.
    assert_eq!(
        parse_filter("id[in]:[a, b]").unwrap(),
        pred(
            "id",
            Comparator::In,
            FilterValue::List(vec![Scalar::bare("a"), Scalar::bare(" b")])
        )
    );
}

#[test]
fn is_takes_null_and_not_null() {
    assert_eq!(
        parse_filter("companyId[is]:NULL").unwrap(),
        pred("companyId", Comparator::Is, FilterValue::Null)
    );
    assert_eq!(
        parse_filter("companyId[is]:NOT_NULL").unwrap(),
        pred("companyId", Comparator::Is, FilterValue::NotNull)
    );
    assert_eq!(
        err("companyId[is]:null"),
        (
            "'is' takes NULL or NOT_NULL, e.g. companyId[is]:NULL".to_string(),
            14
        )
    );
}

#[test]
fn values_keep_colons_and_lose_only_the_outer_quotes() {
    assert_eq!(
        parse_filter(r#"createdAt[gte]:"2024-01-01T10:00:00Z""#).unwrap(),
        pred("createdAt", Comparator::Gte, quoted("2024-01-01T10:00:00Z"))
    );
    assert_eq!(
        parse_filter("createdAt[gte]:2024-01-01T10:00:00Z").unwrap(),
        pred("createdAt", Comparator::Gte, bare("2024-01-01T10:00:00Z"))
    );
    assert_eq!(
        parse_filter(r#"city[eq]:"""#).unwrap(),
        pred("city", Comparator::Eq, quoted(""))
    );
    assert_eq!(
        parse_filter(r#"city[eq]:"a, (b) [c]""#).unwrap(),
        pred("city", Comparator::Eq, quoted("a, (b) [c]"))
    );
    assert_eq!(
        parse_filter("name.firstName[eq]:Ada").unwrap(),
        pred("name.firstName", Comparator::Eq, bare("Ada"))
    );
}

#[test]
fn a_root_without_conjunction_is_an_and_of_its_terms() {
    assert_eq!(
        parse_filter("position[gt]:1,city[eq]:\"Paris\"").unwrap(),
        Filter::And(vec![
            pred("position", Comparator::Gt, bare("1")),
            pred("city", Comparator::Eq, quoted("Paris")),
        ])
    );
    // One term is the term itself.
    assert_eq!(
        parse_filter("position[gt]:1").unwrap(),
        pred("position", Comparator::Gt, bare("1"))
    );
    // Spaces around terms are allowed.
    assert_eq!(
        parse_filter(" position[gt]:1 , city[eq]:x ").unwrap(),
        Filter::And(vec![
            pred("position", Comparator::Gt, bare("1")),
            pred("city", Comparator::Eq, bare("x")),
        ])
    );
}

#[test]
fn conjunctions_nest() {
    let text = r#"or(and(position[gt]:1,position[lt]:5),not(city[eq]:"Paris"),companyId[is]:NULL)"#;
    assert_eq!(
        parse_filter(text).unwrap(),
        Filter::Or(vec![
            Filter::And(vec![
                pred("position", Comparator::Gt, bare("1")),
                pred("position", Comparator::Lt, bare("5")),
            ]),
            Filter::Not(Box::new(pred("city", Comparator::Eq, quoted("Paris")))),
            pred("companyId", Comparator::Is, FilterValue::Null),
        ])
    );
    assert_eq!(
        parse_filter("and(city[eq]:x)").unwrap(),
        Filter::And(vec![pred("city", Comparator::Eq, bare("x"))])
    );
    assert_eq!(
        parse_filter("not(and(city[eq]:x,city[eq]:y))").unwrap(),
        Filter::Not(Box::new(Filter::And(vec![
            pred("city", Comparator::Eq, bare("x")),
            pred("city", Comparator::Eq, bare("y")),
        ])))
    );
}

#[test]
fn a_field_that_starts_like_a_keyword_is_a_field() {
    assert_eq!(
        parse_filter("orderNumber[gt]:3,notes[is]:NULL,android[eq]:1").unwrap(),
        Filter::And(vec![
            pred("orderNumber", Comparator::Gt, bare("3")),
            pred("notes", Comparator::Is, FilterValue::Null),
            pred("android", Comparator::Eq, bare("1")),
        ])
    );
}

#[test]
fn grammar_errors_point_at_the_problem() {
    let cases: &[(&str, &str, usize)] = &[
        (
            "",
            "empty filter: write at least one term, e.g. name[eq]:\"Ada\"",
            0,
        ),
        (
            "name:\"Ada\"",
            "expected a comparator in brackets after 'name', e.g. name[eq]:\"Ada\"",
            4,
        ),
        (
            "city[equals]:x",
            "unknown comparator 'equals': expected one of eq, neq, in, containsAny, is, \
             gt, gte, lt, lte, startsWith, like, ilike",
            5,
        ),
        (
            "city[]:x",
            "missing comparator: expected one of eq, neq, in, containsAny, is, \
             gt, gte, lt, lte, startsWith, like, ilike",
            5,
        ),
        (
            "city[eq]",
            "expected ':' and a value after 'city[eq]', e.g. city[eq]:\"Ada\"",
            8,
        ),
        (
            "city[eq]:",
            "empty value for 'city': compare with \"\" for the empty string, \
             or use city[is]:NULL",
            9,
        ),
        (
            "and(city[eq]:x",
            "1 close bracket is missing: this '(' is never closed, add ')'",
            3,
        ),
        (
            "city[eq]:x)",
            "unexpected ')': no group is open here (quote values that contain parentheses)",
            10,
        ),
        (
            "city[eq]:\"x",
            "unterminated quote: add the closing '\"' (values cannot contain '\"')",
            9,
        ),
        (
            "not(city[eq]:x,city[eq]:y)",
            "'not' takes exactly one term, found 2: write not(and(...)) to negate several",
            0,
        ),
        ("and()", "empty group: put at least one term in and(...)", 4),
        (
            "city[eq]:x,,city[eq]:y",
            "empty term: remove the extra ',' or write a term such as name[eq]:\"Ada\"",
            11,
        ),
        (
            "and(city[eq]:x)city[eq]:y",
            "unexpected text after the ')' of 'and(...)': separate terms with ','",
            15,
        ),
        (
            "id[in]:a",
            "'in' takes a list in brackets, e.g. id[in]:[\"a\",\"b\"]",
            7,
        ),
        (
            "id[in]:[]",
            "empty list: put at least one value between '[' and ']'",
            8,
        ),
        (
            "id[in]:[a,,b]",
            "empty list element: remove the extra ','",
            10,
        ),
        (
            "id[in]:[\"a,b\"]",
            "a list element cannot contain ',': Twenty splits lists on every comma, \
             use or(...) of eq terms instead",
            8,
        ),
        (
            "city[eq]:a\"b\"",
            "a bare value cannot contain '\"': quote the whole value, without inner quotes",
            10,
        ),
        (
            "city[eq]:\"a\"b",
            "unexpected text after the closing '\"': values cannot contain '\"' \
             (there is no escaping)",
            12,
        ),
        (
            "city[eq]:\"a\"\"b\"",
            "unexpected text after the closing '\"': values cannot contain '\"' \
             (there is no escaping)",
            12,
        ),
        (
            "name.first.x[eq]:1",
            "'name.first.x' has more than one '.': a path is a field or field.subField",
            10,
        ),
        (
            "na-me[eq]:1",
            "unexpected '-' in field name 'na-me': names are letters, digits and '_'",
            2,
        ),
        (
            "[eq]:1",
            "expected a field name before '[', e.g. name[eq]:\"Ada\"",
            0,
        ),
        ("city[eq:1", "this '[' is never closed: add ']'", 4),
    ];
    for (text, message, position) in cases {
        assert_eq!(err(text), (message.to_string(), *position), "for {text:?}");
    }
}

#[test]
fn an_error_renders_with_a_caret_under_the_position() {
    let text = "and(city[eq]:x,city[equals]:y)";
    let e = parse_filter(text).unwrap_err();
    assert_eq!(e.position, 20);
    assert_eq!(
        e.render(text),
        "and(city[eq]:x,city[equals]:y)\n                    ^"
    );
    assert_eq!(
        e.to_string(),
        "unknown comparator 'equals': expected one of eq, neq, in, containsAny, is, gt, gte, \
         lt, lte, startsWith, like, ilike (at byte 20)"
    );

    // Columns count characters, not bytes.
    let text = "city[eq]:\"é\",x";
    let e = parse_filter(text).unwrap_err();
    assert_eq!(e.position, 15);
    assert_eq!(e.render(text), "city[eq]:\"é\",x\n              ^");
}

#[test]
fn checks_against_the_object_point_at_the_term() {
    let cases: &[(&str, &str, usize)] = &[
        (
            "city[eq]:x,nmae.firstName[eq]:\"Ada\"",
            "field 'nmae' does not exist in 'person' object; did you mean 'name'?",
            11,
        ),
        (
            "zzz[eq]:1",
            "field 'zzz' does not exist in 'person' object",
            0,
        ),
        (
            "name.fristName[eq]:\"Ada\"",
            "sub-field 'fristName' does not exist in 'name'; did you mean 'firstName'? \
             (sub-fields: firstName, lastName)",
            5,
        ),
        (
            "name[eq]:\"Ada\"",
            "'name' is a composite field: filter on one of its sub-fields, e.g. \
             name.firstName (sub-fields: firstName, lastName)",
            4,
        ),
        ("city.x[eq]:1", "'city' has no sub-fields: remove '.x'", 4),
        (
            "company[eq]:\"x\"",
            "'company' is a relation and cannot be filtered: filter on its id field, \
             e.g. companyId[eq]:\"<company id>\"",
            0,
        ),
        (
            "taskTargets[is]:NULL",
            "'taskTargets' is a relation and cannot be filtered: query the taskTarget \
             records by their personId field instead",
            0,
        ),
        (
            "tags[eq]:x",
            "comparator 'eq' does not apply to list of text field 'tags': use one of \
             containsAny, is",
            5,
        ),
        (
            "city[containsAny]:[x]",
            "comparator 'containsAny' does not apply to text field 'city': use one of eq, \
             neq, in, is, gt, gte, lt, lte, startsWith, like, ilike",
            5,
        ),
        (
            "isVip[gt]:true",
            "comparator 'gt' does not apply to boolean field 'isVip': use one of eq, neq, \
             in, is",
            6,
        ),
        (
            "context[lt]:1",
            "comparator 'lt' does not apply to json field 'context': use one of eq, neq, \
             is, startsWith, like, ilike",
            8,
        ),
        (
            "stage[eq]:DONE",
            "invalid value 'DONE' for stage: expected one of NOT_STARTED, RUNNING, \
             COMPLETED, FAILED",
            10,
        ),
        (
            "stage[in]:[RUNNING,finished]",
            "invalid value 'finished' for stage: expected one of NOT_STARTED, RUNNING, \
             COMPLETED, FAILED",
            19,
        ),
        (
            "stage[eq]:\"RUNNING\"",
            "enum values go without quotes: write stage[eq]:RUNNING",
            10,
        ),
        (
            "stage[eq]:COMPLETD",
            "invalid value 'COMPLETD' for stage: expected one of NOT_STARTED, RUNNING, \
             COMPLETED, FAILED; did you mean COMPLETED?",
            10,
        ),
        (
            "stage[eq]:\"running\"",
            "enum values go without quotes: write stage[eq]:RUNNING",
            10,
        ),
        (
            "statuses[containsAny]:[OPEN,SHUT]",
            "invalid value 'SHUT' for statuses: expected one of OPEN, CLOSED",
            28,
        ),
        (
            "position[gt]:ten",
            "'ten' is not a number: position compares with numbers such as 3 or 2.5",
            13,
        ),
        (
            "position[gt]:\"3\"",
            "numbers go without quotes (a quoted number compares as text): write \
             position[eq]:3",
            13,
        ),
        (
            "isVip[eq]:yes",
            "'yes' is not a boolean: isVip compares with bare true or false",
            10,
        ),
        (
            "companyId[eq]:\"42\"",
            "'42' is not a UUID: companyId compares with ids such as \
             \"3f2a9c4e-0b1d-4e5f-8a7b-6c5d4e3f2a1b\"",
            14,
        ),
        (
            "createdAt[gte]:\"yesterday\"",
            "'yesterday' is not a date: createdAt compares with dates such as \
             \"2024-01-01\" or \"2024-01-01T10:00:00Z\"",
            15,
        ),
    ];
    for (text, message, position) in cases {
        assert_eq!(
            check_err(text),
            (message.to_string(), *position),
            "for {text:?}"
        );
    }
}

#[test]
fn valid_filters_pass_the_object_check() {
    let object = person();
    for text in [
        "name.firstName[eq]:\"Ada\"",
        "emails.primaryEmail[ilike]:\"%@example.com\"",
        "emails.additionalEmails[containsAny]:[\"a@b.co\"]",
        "companyId[is]:NULL",
        "companyId[eq]:\"3f2a9c4e-0b1d-4e5f-8a7b-6c5d4e3f2a1b\"",
        "createdAt[gte]:\"2024-01-01\"",
        "position[gte]:2.5",
        "orderNumber[lt]:3",
        "isVip[eq]:true",
        "stage[in]:[RUNNING,COMPLETED]",
        "statuses[containsAny]:[OPEN]",
        "tags[is]:NOT_NULL",
        "context[like]:\"%x%\"",
        "city[like]:\"%42%\",position[neq]:-1",
        "or(not(stage[eq]:FAILED),and(city[startsWith]:\"Pa\",isVip[eq]:false))",
    ] {
        let filter = parse_filter_for(text, &object)
            .unwrap_or_else(|e| panic!("{text}: {e}\n{}", e.render(text)));
        assert_eq!(filter, parse_filter(text).unwrap());
    }
}

/// As in a field flag, an enum value in another case or with other
/// separators stands for the one value it can mean; the tree holds that
/// value, so printing it gives what the server accepts.
#[test]
fn enum_values_in_other_spellings_become_the_value() {
    let object = person();
    for (text, printed) in [
        ("stage[eq]:completed", "stage[eq]:COMPLETED"),
        ("stage[neq]:not started", "stage[neq]:NOT_STARTED"),
        (
            "stage[in]:[running,Not-Started]",
            "stage[in]:[RUNNING,NOT_STARTED]",
        ),
        (
            "statuses[containsAny]:[open]",
            "statuses[containsAny]:[OPEN]",
        ),
        (
            "or(stage[eq]:failed,not(stage[eq]:RUNNING))",
            "or(stage[eq]:FAILED,not(stage[eq]:RUNNING))",
        ),
    ] {
        let filter = parse_filter_for(text, &object)
            .unwrap_or_else(|e| panic!("{text}: {e}\n{}", e.render(text)));
        assert_eq!(filter.to_string(), printed, "for {text:?}");
        assert_eq!(filter, parse_filter(printed).unwrap(), "for {text:?}");
    }
}

#[test]
fn order_by_parses_keys_and_directions() {
    let order =
        parse_order_by("position,createdAt[DescNullsLast],name.firstName[AscNullsLast]").unwrap();
    assert_eq!(
        order,
        OrderBy {
            keys: vec![
                OrderKey {
                    path: FieldPath::field("position"),
                    direction: Direction::AscNullsFirst,
                },
                OrderKey {
                    path: FieldPath::field("createdAt"),
                    direction: Direction::DescNullsLast,
                },
                OrderKey {
                    path: FieldPath::sub_field("name", "firstName"),
                    direction: Direction::AscNullsLast,
                },
            ]
        }
    );
    assert_eq!(
        order.to_string(),
        "position,createdAt[DescNullsLast],name.firstName[AscNullsLast]"
    );
    assert_eq!(
        parse_order_by("id[DescNullsFirst]").unwrap().keys[0].direction,
        Direction::DescNullsFirst
    );
}

#[test]
fn order_by_errors_point_at_the_problem() {
    let cases: &[(&str, &str, usize)] = &[
        (
            "",
            "empty order: write at least one field, e.g. name.firstName[DescNullsLast]",
            0,
        ),
        (
            "position[Desc]",
            "direction 'Desc' invalid: expected one of AscNullsFirst, AscNullsLast, \
             DescNullsFirst, DescNullsLast",
            9,
        ),
        ("position,,city", "empty sort key: remove the extra ','", 9),
        (
            "position[DescNullsLast",
            "a direction goes in brackets at the end of the key, e.g. createdAt[DescNullsLast]",
            8,
        ),
    ];
    for (text, message, position) in cases {
        let e = parse_order_by(text).expect_err(text);
        assert_eq!(
            (e.message.as_str(), e.position),
            (*message, *position),
            "for {text:?}"
        );
    }

    let object = person();
    let e = parse_order_by_for("position,citty[DescNullsLast]", &object).unwrap_err();
    assert_eq!(
        (e.message.as_str(), e.position),
        (
            "field 'citty' does not exist in 'person' object; did you mean 'city'?",
            9
        )
    );
    let e = parse_order_by_for("company", &object).unwrap_err();
    assert_eq!(
        e.message,
        "'company' is a relation and cannot be sorted on: sort on its id field companyId"
    );
    // A whole composite is a valid sort key.
    assert!(parse_order_by_for("name[DescNullsLast],createdAt", &object).is_ok());
}

#[test]
fn a_checked_order_takes_directions_in_any_case_and_prints_twentys_spelling() {
    let object = person();
    for written in [
        "descnullslast",
        "DESC_NULLS_LAST",
        "desc nulls last",
        "Desc-Nulls-Last",
    ] {
        let text = format!("city[{written}]");
        let order = parse_order_by_for(&text, &object).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(order.to_string(), "city[DescNullsLast]", "{text}");
        // The server's grammar stays exact.
        assert!(parse_order_by(&text).is_err(), "{text}");
    }
    let e = parse_order_by_for("city[desc]", &object).unwrap_err();
    assert_eq!(
        e.message,
        "direction 'desc' invalid: expected one of AscNullsFirst, AscNullsLast, \
         DescNullsFirst, DescNullsLast"
    );
}

#[test]
fn comparators_and_directions_round_trip_their_spelling() {
    for c in Comparator::ALL {
        assert_eq!(Comparator::parse(c.as_str()), Some(c));
    }
    for d in Direction::ALL {
        assert_eq!(Direction::parse(d.as_str()), Some(d));
    }
    assert_eq!(Comparator::parse("EQ"), None);
}

// Trees the grammar can express (see the `filter` module documentation).

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,8}"
}

fn path() -> impl Strategy<Value = FieldPath> {
    (name(), proptest::option::of(name()))
        .prop_map(|(field, sub_field)| FieldPath { field, sub_field })
}

fn bare_text() -> impl Strategy<Value = String> {
    // No quote, comma, parenthesis or bracket; no space at either end.
    "[a-zA-Z0-9_.:%@+éß-]([a-zA-Z0-9_.:%@+ éß-]{0,10}[a-zA-Z0-9_.:%@+éß-])?"
}

fn scalar() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        bare_text().prop_map(Scalar::bare),
        "[^\"]{0,12}".prop_map(Scalar::quoted),
    ]
}

fn list_element() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        "[a-zA-Z0-9_.:%@+ -]{1,8}".prop_map(Scalar::bare),
        "[^\",\\[\\]]{0,8}".prop_map(Scalar::quoted),
    ]
}

fn predicate() -> impl Strategy<Value = Filter> {
    let scalar_cmp = prop::sample::select(vec![
        Comparator::Eq,
        Comparator::Neq,
        Comparator::Gt,
        Comparator::Gte,
        Comparator::Lt,
        Comparator::Lte,
        Comparator::StartsWith,
        Comparator::Like,
        Comparator::Ilike,
    ]);
    let list_cmp = prop::sample::select(vec![Comparator::In, Comparator::ContainsAny]);
    prop_oneof![
        (path(), scalar_cmp, scalar()).prop_map(|(path, comparator, s)| (
            path,
            comparator,
            FilterValue::Scalar(s)
        )),
        (
            path(),
            list_cmp,
            prop::collection::vec(list_element(), 1..4)
        )
            .prop_map(|(path, comparator, items)| (
                path,
                comparator,
                FilterValue::List(items)
            )),
        (path(), prop::bool::ANY).prop_map(|(path, null)| (
            path,
            Comparator::Is,
            if null {
                FilterValue::Null
            } else {
                FilterValue::NotNull
            }
        )),
    ]
    .prop_map(|(path, comparator, value)| {
        Filter::Predicate(Predicate {
            path,
            comparator,
            value,
        })
    })
}

fn tree() -> impl Strategy<Value = Filter> {
    predicate().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 1..4).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

fn order() -> impl Strategy<Value = OrderBy> {
    let key = (path(), prop::sample::select(Direction::ALL.to_vec()))
        .prop_map(|(path, direction)| OrderKey { path, direction });
    prop::collection::vec(key, 1..5).prop_map(|keys| OrderBy { keys })
}

proptest! {
    #[test]
    fn printed_filters_parse_back_to_the_same_tree(filter in tree()) {
        let text = filter.to_string();
        let parsed = parse_filter(&text);
        prop_assert_eq!(parsed.as_ref().ok(), Some(&filter), "text: {} -> {:?}", text, parsed);
    }

    #[test]
    fn printed_orders_parse_back_to_the_same_order(order in order()) {
        let text = order.to_string();
        prop_assert_eq!(parse_order_by(&text).ok(), Some(order), "text: {}", text);
    }

    #[test]
    fn parsing_never_panics_and_errors_point_inside_the_text(text in "\\PC{0,40}") {
        if let Err(e) = parse_filter(&text) {
            prop_assert!(e.position <= text.len());
            prop_assert!(text.is_char_boundary(e.position));
        }
        if let Err(e) = parse_order_by(&text) {
            prop_assert!(e.position <= text.len());
        }
    }
}
