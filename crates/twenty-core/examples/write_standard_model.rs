//! Regenerates `src/standard_model.txt`, the built-in standard model, from
//! a Twenty OpenAPI document (v1.0.3's, in `../shared/specs`):
//!
//! ```sh
//! cargo run -p twenty-core --example write_standard_model -- ../shared/specs/twenty-v1.0.3-openapi.json
//! ```

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let source = std::env::args()
        .nth(1)
        .ok_or("usage: write_standard_model <openapi document>")?;
    let catalog = twenty_core::load::from_path(&PathBuf::from(source))?;
    let text = twenty_core::builtin::render(&catalog)?;
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/standard_model.txt");
    std::fs::write(&target, text)?;
    eprintln!("wrote {}", target.display());
    Ok(())
}
