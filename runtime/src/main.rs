//! `baton`: the Baton node binary.
//!
//! `baton serve` runs a node; `baton token` mints a development token. Both
//! read the layered configuration (see [`config`]).

mod cli;
mod config;
mod devkey;
mod serve;
mod token_cmd;

use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command};
use crate::config::Config;

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    config.log.init()?;
    match cli.command {
        Command::Token(args) => {
            let token = token_cmd::run(&config, &args)?;
            println!("{token}");
            Ok(())
        }
        Command::Serve => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(serve::run(config)),
    }
}
