//! # baton-dsim
//!
//! A deterministic simulation of one user's sync rules ([`baton_sync::UserSync`]):
//! several devices going offline and online, editing offline, handing off,
//! resyncing and misbehaving within the protocol; the process crashing
//! between any two effects (an append in flight may or may not reach the
//! disk); commits failing before or after they are written; the user moving
//! between nodes, planned (a warm handover) or not (the old activation runs
//! on until the store fences it). One seeded generator draws every choice and
//! time is virtual, so a seed replays exactly.
//!
//! Checked after every step: no frame reveals a version, an acknowledged op,
//! a registration, a presence entry or a lease token that is not durable; a
//! lease token is never told for two holders; one batch and one snapshot
//! save in flight; the log's versions are contiguous and each device op is
//! stored once; a REST read answers the durable version; a snapshot holds
//! nothing beyond the durable log; the catch-up window and the records
//! waiting for commit stay within their bounds. At the end, with faults off
//! and every device back: every device's replica equals the durable state,
//! every acknowledged op is durable, nothing is left unacknowledged.

mod actions;
mod device;
mod effects;
mod node;
mod settle;
mod store;
mod world;

pub use world::{Options, Report};

/// A broken invariant, with the seed and step that reproduce it.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The run's settings.
    pub opts: Options,
    /// The step at which it broke.
    pub step: usize,
    /// What broke.
    pub what: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "seed {} broke at step {}: {}\n  reproduce: cargo run -p baton-dsim -- --seed {} --steps {} --devices {}{}",
            self.opts.seed,
            self.step,
            self.what,
            self.opts.seed,
            self.opts.steps,
            self.opts.devices,
            if self.opts.faults { "" } else { " --no-faults" },
        )
    }
}

/// Run one seed.
pub fn run(opts: Options) -> Result<Report, Failure> {
    let mut world = world::World::new(opts.clone());
    let fail = |world: &world::World, what: String| Failure {
        opts: opts.clone(),
        step: world.report.steps,
        what,
    };
    for _ in 0..opts.steps {
        world.step();
        world.check_bounds();
        if let Some(what) = world.violation.take() {
            return Err(fail(&world, what));
        }
    }
    world.settle();
    world.final_checks();
    match world.violation.take() {
        Some(what) => Err(fail(&world, what)),
        None => Ok(world.report.clone()),
    }
}
