//! The command line: `baton [--config FILE] <serve | token | import-catalog | user | backup | check-config ...>`.

use std::path::PathBuf;
use std::time::Duration;

use baton_transport::auth::Scope;
use clap::{Args, Parser, Subcommand};

/// Baton: per-user actors with embedded CRDT sync for devices.
#[derive(Debug, Parser)]
#[command(name = "baton", version, about)]
pub struct Cli {
    /// TOML configuration file; `BATON_*` environment variables override it.
    #[arg(long, global = true, env = "BATON_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a node (embedded defaults when no configuration is given).
    Serve,
    /// Mint a development token signed with this node's dev key and print it to stdout.
    Token(TokenArgs),
    /// Import a content catalog (JSONL: id, title, genres, embedding per line):
    /// into Qdrant with `personalization.backend = "qdrant"`, else validate and report.
    ImportCatalog(ImportCatalogArgs),
    /// A user's data rights through a node: `export` prints everything Baton holds for
    /// the user (JSON); `erase` deletes it from every store and closes the user's sockets.
    User(UserArgs),
    /// Back the SQLite store up to a file while the node serves (Postgres: pg_dump).
    Backup(BackupArgs),
    /// Validate the configuration (file and environment) and print the effective
    /// settings with secrets masked; exit status 1 on an invalid value.
    CheckConfig,
}

/// Arguments of `baton backup`.
#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// The backup file to write (must not exist).
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
}

/// What `baton user` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UserAction {
    /// `GET /v1/users/{user}/export`.
    Export,
    /// `DELETE /v1/users/{user}` (`admin:erase`).
    Erase,
}

/// Arguments of `baton user`.
#[derive(Debug, Clone, Args)]
pub struct UserArgs {
    /// `export` or `erase`.
    #[arg(value_enum)]
    pub action: UserAction,
    /// The user.
    #[arg(long)]
    pub user: String,
    /// The node's base URL. Default: `http://` + this configuration's `listen`.
    #[arg(long, value_name = "URL")]
    pub node: Option<String>,
    /// A bearer token with `admin:erase` (or `service:read` for export). Default: one
    /// minted with the development key.
    #[arg(long, env = "BATON_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// Arguments of `baton import-catalog`.
#[derive(Debug, Clone, Args)]
pub struct ImportCatalogArgs {
    /// The JSONL file.
    #[arg(long)]
    pub file: PathBuf,
}

/// Arguments of `baton token`.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The user (`sub` claim).
    #[arg(long)]
    pub user: String,
    /// The device (`device` claim); required unless `--service`.
    #[arg(long, required_unless_present = "service", conflicts_with = "service")]
    pub device: Option<String>,
    /// A scope to grant (repeatable). Default: all five device scopes, or
    /// `service:read` with `--service`.
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<Scope>,
    /// Lifetime: seconds, or a number with a unit `s`, `m`, `h` or `d`.
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    pub ttl: Duration,
    /// A service token: no device, and always `service:read`.
    #[arg(long)]
    pub service: bool,
}

/// Parses `90`, `90s`, `15m`, `1h`, `7d` (non-zero).
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 90s, 15m, 1h or 7d"))?;
    let unit_secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => return Err(format!("unknown unit `{other}` (use s, m, h or d)")),
    };
    match number.checked_mul(unit_secs) {
        Some(0) => Err("the ttl must be positive".into()),
        Some(secs) => Ok(Duration::from_secs(secs)),
        None => Err(format!("`{text}` is too long")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_units() {
        assert_eq!(parse_ttl("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("1w").is_err());
        assert!(parse_ttl("h").is_err());
    }

    #[test]
    fn token_command_parses() {
        let cli = Cli::try_parse_from([
            "baton",
            "--config",
            "b.toml",
            "token",
            "--user",
            "alice",
            "--device",
            "tv",
            "--scope",
            "read:watchlist",
            "--scope",
            "playback:control",
            "--ttl",
            "30m",
        ])
        .expect("parses");
        assert_eq!(cli.config, Some(PathBuf::from("b.toml")));
        let Command::Token(args) = cli.command else {
            panic!("expected token");
        };
        assert_eq!(
            args.scopes,
            vec![Scope::ReadWatchlist, Scope::PlaybackControl]
        );
        assert_eq!(args.ttl, Duration::from_secs(1800));
    }

    #[test]
    fn device_xor_service() {
        assert!(Cli::try_parse_from(["baton", "token", "--user", "a"]).is_err());
        assert!(Cli::try_parse_from(["baton", "token", "--user", "a", "--service"]).is_ok());
        assert!(Cli::try_parse_from([
            "baton",
            "token",
            "--user",
            "a",
            "--device",
            "d",
            "--service"
        ])
        .is_err());
        assert!(Cli::try_parse_from([
            "baton", "token", "--user", "a", "--device", "d", "--scope", "x:y"
        ])
        .is_err());
    }
}
