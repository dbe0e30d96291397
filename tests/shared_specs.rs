//! Where the tests of every crate find the real Twenty documents: the
//! `shared/specs` folder beside this checkout, or `$TWENTY_SPECS_DIR`.
//! Included by each crate's tests with `#[path]`, so that there is one
//! place that knows, and one message when the documents are missing.

use std::path::PathBuf;

/// The path of the shared document `name`; panics, saying where it looked
/// and how to point elsewhere, when the document is not there.
pub fn spec(name: &str) -> PathBuf {
    let dir = match std::env::var_os("TWENTY_SPECS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs"),
    };
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "the real Twenty document `{}` is missing: the tests read it from the \
         shared/specs folder beside this checkout; set TWENTY_SPECS_DIR to the \
         folder that holds it",
        path.display()
    );
    path
}
