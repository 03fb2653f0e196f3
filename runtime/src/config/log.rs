//! `[log]`: tracing output.

use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;

use super::check::Checker;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable when stderr is a terminal, JSON otherwise (the default).
    Auto,
    /// One JSON object per line (production).
    Json,
    /// Human-readable, multi-line.
    Pretty,
}

impl LogFormat {
    /// The format actually written: `Auto` picks by whether stderr is a terminal.
    pub fn resolve(self, stderr_is_terminal: bool) -> LogFormat {
        match self {
            LogFormat::Auto if stderr_is_terminal => LogFormat::Pretty,
            LogFormat::Auto => LogFormat::Json,
            explicit => explicit,
        }
    }
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct LogSection {
    /// Output format.
    pub format: LogFormat,
    /// `tracing` filter directives, e.g. `info,baton_transport=debug`.
    pub filter: String,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            format: LogFormat::Auto,
            filter: "info".to_owned(),
        }
    }
}

impl LogSection {
    pub(super) fn check(&self, c: &mut Checker) {
        if let Err(e) = EnvFilter::try_new(&self.filter) {
            c.ensure(
                false,
                "log.filter",
                format_args!("is not a valid filter: {e}"),
            );
        }
    }

    /// Installs the global subscriber, writing to stderr (stdout stays free
    /// for command output such as `baton token`).
    pub fn init(&self) -> anyhow::Result<()> {
        let filter = EnvFilter::try_new(&self.filter)?;
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr);
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let installed = match self.format.resolve(terminal) {
            LogFormat::Pretty | LogFormat::Auto => builder.pretty().try_init(),
            LogFormat::Json => builder.json().try_init(),
        };
        installed.map_err(|e| anyhow::anyhow!("cannot install the log subscriber: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::LogFormat;

    #[test]
    fn auto_is_human_on_a_terminal_and_json_otherwise() {
        assert_eq!(LogFormat::Auto.resolve(true), LogFormat::Pretty);
        assert_eq!(LogFormat::Auto.resolve(false), LogFormat::Json);
        for explicit in [LogFormat::Json, LogFormat::Pretty] {
            assert_eq!(explicit.resolve(true), explicit);
            assert_eq!(explicit.resolve(false), explicit);
        }
    }
}
