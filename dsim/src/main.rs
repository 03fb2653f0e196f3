//! `baton-dsim`: run the deterministic simulation for many seeds, or one.

use clap::Parser;

/// Deterministic simulation of Baton's per-user sync rules.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Run only this seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Seeds to run (from `--first-seed`), when `--seed` is not given.
    #[arg(long, default_value_t = 1000)]
    seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Random steps per seed.
    #[arg(long, default_value_t = 2000)]
    steps: usize,
    /// Devices of the user.
    #[arg(long, default_value_t = 4)]
    devices: usize,
    /// No crashes, failing commits or unplanned moves.
    #[arg(long)]
    no_faults: bool,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let seeds = match args.seed {
        Some(seed) => seed..seed + 1,
        None => args.first_seed..args.first_seed + args.seeds,
    };
    let mut total = baton_dsim::Report::default();
    let mut runs = 0u64;
    for seed in seeds {
        let opts = baton_dsim::Options {
            seed,
            steps: args.steps,
            devices: args.devices.max(1),
            faults: !args.no_faults,
        };
        match baton_dsim::run(opts) {
            Ok(r) => {
                runs += 1;
                total.steps += r.steps;
                total.acks += r.acks;
                total.frames += r.frames;
                total.crashes += r.crashes;
                total.moves += r.moves;
                total.failed_commits += r.failed_commits;
                total.fenced += r.fenced;
                total.activations += r.activations;
                total.slow_consumers += r.slow_consumers;
                total.log_len += r.log_len;
            }
            Err(failure) => {
                eprintln!("{failure}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    println!("{runs} seeds passed: {total:?}");
    std::process::ExitCode::SUCCESS
}
