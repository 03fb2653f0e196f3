//! The simulation in the test command: a bounded number of seeds with faults
//! (crashes, failing commits, unplanned moves) and some without. Longer runs:
//! `cargo run --release -p baton-dsim -- --seeds 100000 --steps 2000`.

use baton_dsim::{run, Options};

fn seeds(first: u64, count: u64, steps: usize, devices: usize, faults: bool) {
    for seed in first..first + count {
        let opts = Options {
            seed,
            steps,
            devices,
            faults,
        };
        if let Err(failure) = run(opts) {
            panic!("{failure}");
        }
    }
}

#[test]
fn seeds_with_crashes_failing_commits_and_moves_keep_every_invariant() {
    seeds(0, 1_000, 600, 4, true);
}

#[test]
fn seeds_without_faults_keep_every_invariant() {
    seeds(10_000, 50, 600, 3, false);
}

#[test]
fn a_crowd_of_devices_keeps_every_invariant() {
    seeds(20_000, 20, 1_500, 12, true);
}

#[test]
fn a_seed_replays_exactly() {
    let opts = Options {
        seed: 7,
        steps: 800,
        devices: 4,
        faults: true,
    };
    let a = run(opts.clone()).expect("seed 7 passes");
    let b = run(opts).expect("seed 7 passes");
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    assert!(a.acks > 0 && a.crashes > 0 && a.moves > 0, "{a:?}");
}
