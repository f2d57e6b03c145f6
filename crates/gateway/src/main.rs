//! The `tollgate` binary. Exit codes (operator.md): 0 clean shutdown, 1 runtime failure,
//! 64 bad command line or configuration.

use std::process::ExitCode;

use clap::Parser;
use tollgate_gateway::cli::{Cli, Command};
use tollgate_gateway::{EXIT_USAGE, check, config, demo, logging, run};

/// mimalloc: a snapshot build of 10k APIs spent half its time in glibc's malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if !error.use_stderr() => {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let config = match config::load(cli.config.as_deref(), std::env::vars()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("tollgate: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    logging::init(config.log.format);
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => run::main(config),
        Command::Check => check::main(&config),
        Command::Demo(args) => demo::main(config, &args),
    }
}
