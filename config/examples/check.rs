//! Loads a config file and prints its diagnostics, or a summary and the compiled size.
//!
//! `cargo run -p bulkhead-config --features std --example check -- FILE [--no-images]`

use std::process::ExitCode;

use bulkhead_config::{LoadOptions, load_with};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: check FILE [--no-images]");
        return ExitCode::from(2);
    };
    let options = LoadOptions {
        check_images: !args.any(|a| a == "--no-images"),
    };
    match load_with(&path, &options) {
        Ok(loaded) => {
            let bytes = loaded.deployment.to_bytes().map(|b| b.len());
            println!(
                "{path}: {} partitions, compiled table {bytes:?} bytes",
                loaded.deployment.partitions.len()
            );
            ExitCode::SUCCESS
        }
        Err(diagnostics) => {
            eprint!("{diagnostics}");
            ExitCode::FAILURE
        }
    }
}
