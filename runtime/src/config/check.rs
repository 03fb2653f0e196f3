//! Collecting validation problems, each naming its key.

use std::fmt::Display;

/// Accumulates every problem found, so one run reports them all.
#[derive(Debug, Default)]
pub struct Checker {
    problems: Vec<String>,
}

impl Checker {
    /// Records `key must be >= min` unless it holds.
    pub fn at_least<T: PartialOrd + Display>(&mut self, key: &str, value: T, min: T) {
        if value < min {
            self.problems
                .push(format!("{key} must be >= {min} (got {value})"));
        }
    }

    /// Records `key must be <= max` unless it holds.
    pub fn at_most<T: PartialOrd + Display>(&mut self, key: &str, value: T, max: T) {
        if value > max {
            self.problems
                .push(format!("{key} must be <= {max} (got {value})"));
        }
    }

    /// Records `key <message>` when `ok` is false.
    pub fn ensure(&mut self, ok: bool, key: &str, message: impl Display) {
        if !ok {
            self.problems.push(format!("{key} {message}"));
        }
    }

    /// `Ok` when nothing was recorded, else one error listing every problem.
    pub fn finish(self) -> anyhow::Result<()> {
        match self.problems.as_slice() {
            [] => Ok(()),
            [one] => anyhow::bail!("invalid configuration: {one}"),
            many => anyhow::bail!("invalid configuration:\n  - {}", many.join("\n  - ")),
        }
    }
}
