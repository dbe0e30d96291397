//! Feeds arbitrary text to the filter and order-by parsers: they must never
//! panic, errors must point inside the text, and whatever parses must print
//! back to text that parses to the same tree.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use twenty_core::Object;
use twenty_core::filter::{parse_filter, parse_filter_for, parse_order_by, parse_order_by_for};

fn person() -> &'static Object {
    static PERSON: OnceLock<Object> = OnceLock::new();
    PERSON.get_or_init(|| {
        twenty_core::builtin::standard()
            .object("person")
            .cloned()
            .expect("the standard model has people")
    })
}

fn check_error(text: &str, error: &twenty_core::filter::FilterError) {
    assert!(error.position <= text.len(), "{error:?} outside {text:?}");
    assert!(text.is_char_boundary(error.position), "{error:?} inside a character of {text:?}");
    let rendered = error.render(text);
    assert!(rendered.ends_with('^'));
}

fuzz_target!(|text: &str| {
    match parse_filter(text) {
        Ok(filter) => {
            let printed = filter.to_string();
            let again = parse_filter(&printed)
                .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?} fails: {e}"));
            assert_eq!(again, filter, "{text:?} printed as {printed:?}");
            assert_eq!(again.to_string(), printed);
        }
        Err(e) => check_error(text, &e),
    }
    if let Err(e) = parse_filter_for(text, person()) {
        check_error(text, &e);
    }

    match parse_order_by(text) {
        Ok(order) => {
            let printed = order.to_string();
            let again = parse_order_by(&printed)
                .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?} fails: {e}"));
            assert_eq!(again, order, "{text:?} printed as {printed:?}");
        }
        Err(e) => check_error(text, &e),
    }
    if let Err(e) = parse_order_by_for(text, person()) {
        check_error(text, &e);
    }
});
