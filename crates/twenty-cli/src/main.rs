//! The `twenty` binary; all logic lives in the library.

fn main() {
    std::process::exit(twenty_cli::main());
}
