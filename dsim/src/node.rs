//! One activation of the user on a node: the state machine, the effects it
//! returned that are not carried out yet, and its store work in flight.

use std::collections::VecDeque;

use baton_sync::{Effect, Input, Now, Record, SnapshotSave, UserSync};

/// A live activation.
pub struct Node {
    /// The machine.
    pub sync: UserSync,
    /// Its ownership claim.
    pub epoch: u64,
    /// Effects returned and not yet carried out, in order.
    pub queue: VecDeque<Effect>,
    /// The append in flight.
    pub persist: Option<Vec<Record>>,
    /// The background snapshot save in flight.
    pub saving: Option<SnapshotSave>,
    /// A generation number: connections name the activation they reached.
    pub generation: u64,
}

impl Node {
    /// Feed one input; its effects join the queue.
    pub fn feed(&mut self, now: Now, input: Input) {
        let effects = self.sync.handle(now, input);
        self.queue.extend(effects);
    }
}
