//! `twenty call` with an operation id no document has.

mod support;

use support::{Counter, Home};

#[test]
fn an_operation_id_nothing_resembles_is_named_as_unknown() {
    let counter = Counter::start();
    let home = Home::new();
    let run = home.run_at(&counter.url, &["call", "bogusOp"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "error: unknown operation `bogusOp`\n\
         hint: `twenty call --help` lists every operation id\n"
    );
    assert_eq!(run.stdout, "");
    assert_eq!(counter.connections(), 0);
}
