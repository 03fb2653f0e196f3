//! `baton user export|erase`: a user's data rights, from the command line, through a
//! node's REST API (so a cluster forwards to the user's owner, which stops the live
//! actor and closes the user's sockets — a direct store write could do neither).
//!
//! The token: `--token` (or `BATON_ADMIN_TOKEN`), else one minted with this node's
//! development key (`service:read admin:erase`, subject `baton-cli`, 5 minutes), which
//! only a node trusting that key accepts.

use std::time::Duration;

use anyhow::{bail, Context as _};
use baton_transport::auth::Scope;

use crate::cli::{TokenArgs, UserAction, UserArgs};
use crate::config::Config;

/// Runs the action and returns the node's JSON answer (pretty-printed).
pub async fn run(cfg: &Config, args: &UserArgs) -> anyhow::Result<String> {
    let token = match &args.token {
        Some(token) => token.clone(),
        None => crate::token_cmd::run(
            cfg,
            &TokenArgs {
                user: "baton-cli".into(),
                device: None,
                scopes: vec![Scope::ServiceRead, Scope::AdminErase],
                ttl: Duration::from_secs(300),
                service: true,
            },
        )
        .context("no --token given and none could be minted with the development key")?,
    };
    let node = args
        .node
        .clone()
        .unwrap_or_else(|| format!("http://{}", cfg.listen));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let user = encode_path_segment(&args.user);
    let request = match args.action {
        UserAction::Export => client.get(format!("{node}/v1/users/{user}/export")),
        UserAction::Erase => client.delete(format!("{node}/v1/users/{user}")),
    };
    let response = request
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("cannot reach the node at {node}"))?;
    let status = response.status();
    let body = response.text().await.context("reading the answer")?;
    if !status.is_success() {
        bail!("{status}: {body}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&body).context("the node's answer is not JSON")?;
    Ok(serde_json::to_string_pretty(&json)?)
}

/// Percent-encodes everything but unreserved characters (user ids are visible ASCII,
/// and may hold `/`, `?`, `#` or `%`).
fn encode_path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::encode_path_segment;

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(encode_path_segment("alice-1_~."), "alice-1_~.");
        assert_eq!(encode_path_segment("a/b?c#d%e f"), "a%2Fb%3Fc%23d%25e%20f");
    }
}
