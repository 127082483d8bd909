//! The `readmit` command. All the work is in the library; this parses arguments and exits.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = readmit::cli::Cli::parse();
    ExitCode::from(readmit::cli::run(cli))
}
