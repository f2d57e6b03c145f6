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
    let command = cli.command.unwrap_or(Command::Run);
    let loaded = match config::load(cli.config.as_deref(), std::env::vars()) {
        Ok(loaded) => loaded,
        Err(errors) => {
            eprintln!("tollgate: {errors}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    logging::init(&loaded.settings.log);
    logging::warn_ignored(&loaded.ignored_variables);
    match command {
        Command::Run => run::main(loaded),
        Command::Check => check::main(&loaded),
        Command::Demo(args) => demo::main(loaded, &args),
    }
}
