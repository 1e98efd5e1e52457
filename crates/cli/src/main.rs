//! `eh`: the Event Hubs for Rust command-line tool. Thin: parsing and wiring only; the
//! work lives in the library crates.

#![forbid(unsafe_code)]

mod bench;
mod checkpoints;
mod connect;
mod emulator;
mod fail;
mod from;
mod info;
mod logging;
mod output;
mod progress;
mod receive;
mod send;
mod stdout_closed;

use clap::{Parser, Subcommand};

use fail::Failure;

/// Event Hubs for Rust command-line tool: send, receive and inspect events, and run the
/// local emulator.
///
/// Every command but `emulator` connects with -c/--connection-string (default
/// $EVENTHUB_CONNECTION_STRING) and -n/--hub (default $EVENTHUB_NAME, else the connection
/// string's EntityPath).
#[derive(Debug, Parser)]
#[command(name = "eh", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the local Event Hubs emulator.
    Emulator(emulator::Args),
    /// Send events: stdin lines, --data, --file or generated load.
    Send(send::Args),
    /// Print events from one or more partitions.
    Receive(receive::Args),
    /// Show a hub's properties and partitions.
    Info(info::Args),
    /// Measure throughput and latency with producers and consumers in this process.
    Bench(bench::Args),
    /// List, export and import the processors' checkpoints in a blob container.
    Checkpoints(checkpoints::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish or powershell).
    #[command(
        after_help = "Example:\n  eh completions bash > ~/.local/share/bash-completion/completions/eh"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Command::Completions { shell } = cli.command {
        let mut command = <Cli as clap::CommandFactory>::command();
        clap_complete::generate(shell, &mut command, "eh", &mut std::io::stdout());
        return std::process::ExitCode::SUCCESS;
    }
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
            Command::Emulator(args) => emulator::run(args).await.map_err(Failure::runtime),
            Command::Send(args) => send::run(args).await,
            Command::Receive(args) => receive::run(args).await,
            Command::Info(args) => info::run(args).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Checkpoints(args) => checkpoints::run(args).await,
            Command::Completions { .. } => Ok(()),
        }
    });
    // Background tasks (receivers, sends) must not hold the process up.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            std::process::ExitCode::from(f.code)
        }
    }
}
