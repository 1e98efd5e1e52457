//! `eh`: the Event Hubs for Rust command-line tool. Thin: parsing and wiring only; the
//! work lives in the library crates.

#![forbid(unsafe_code)]

mod emulator;

use clap::{Parser, Subcommand};

/// Event Hubs for Rust command-line tool.
#[derive(Debug, Parser)]
#[command(name = "eh", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the local Event Hubs emulator.
    Emulator(emulator::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("eh: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Emulator(args) => emulator::run(args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("eh: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
