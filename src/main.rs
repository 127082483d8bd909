//! The `readmit` command. All the work is in the library; this parses arguments and exits.

use std::process::ExitCode;

use clap::Parser;

// Batches allocate many small values on several threads; mimalloc handles that well.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = readmit::cli::Cli::parse();
    ExitCode::from(readmit::cli::run(cli))
}
