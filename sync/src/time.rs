//! Time as the state machine sees it: given with every input, never read.

use baton_crdt::Hlc;

/// The moment an input is handled, read by the caller from its one clock
/// (the node's clock in production, a virtual clock in the simulation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Wall-clock time, ms since the Unix epoch (device registry times, the
    /// rate limit, idle passivation, retirement, control records' `at_ms`).
    pub ms: u64,
    /// The node's hybrid logical clock: ops are applied at its time, and
    /// `welcome` tells devices this timestamp as the server's time.
    pub hlc: Hlc,
}
