//! `baton`: the Baton node binary.
//!
//! `baton serve` runs a node; `baton token` mints a development token;
//! `baton import-catalog` imports a content catalog; `baton user export|erase`
//! exercises a user's data rights through a node; `baton backup` copies the
//! SQLite store while the node serves; `baton check-config` validates and
//! prints the effective configuration. All
//! read the layered configuration (see [`config`]).

mod backup_cmd;
mod check_config;
mod cli;
mod config;
mod devkey;
mod personalization;
mod serve;
mod token_cmd;
mod user_cmd;

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
    if let Command::CheckConfig = cli.command {
        println!("{}", check_config::report(&config)?);
        return Ok(());
    }
    config.log.init()?;
    match cli.command {
        Command::CheckConfig => Ok(()),
        Command::Token(args) => {
            let token = token_cmd::run(&config, &args)?;
            println!("{token}");
            Ok(())
        }
        Command::ImportCatalog(args) => {
            let report = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(personalization::import_cmd(&config, &args.file))?;
            println!("{report}");
            Ok(())
        }
        Command::Backup(args) => {
            let report = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(backup_cmd::run(&config, &args.to))?;
            println!("{report}");
            Ok(())
        }
        Command::User(args) => {
            let answer = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(user_cmd::run(&config, &args))?;
            println!("{answer}");
            Ok(())
        }
        Command::Serve => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(serve::run(config)),
    }
}
