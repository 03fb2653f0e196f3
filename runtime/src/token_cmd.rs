//! `baton token`: mint a development token with the node's dev key.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use baton_transport::auth::{Minter, Scope};

use crate::cli::TokenArgs;
use crate::config::Config;
use crate::devkey::DevKey;

/// Mints the token `args` describe and returns it (the caller prints it).
///
/// Refuses when the configuration names an external key source: the node
/// then only trusts the real issuer, which must mint the tokens.
pub fn run(cfg: &Config, args: &TokenArgs) -> anyhow::Result<String> {
    if let Some(key) = cfg.auth.external_key_setting() {
        bail!(
            "`baton token` signs with the embedded development key, but {key} is configured: \
             this node only trusts tokens from that issuer, so mint them there"
        );
    }
    let dev_key = DevKey::load_or_create(&cfg.data_dir)?;
    let minter =
        Minter::from_private_pem(&dev_key.private_pem, &cfg.auth.issuer, &cfg.auth.audience)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("system clock is before 1970")?
        .as_secs();
    let device = if args.service {
        None
    } else {
        args.device.as_deref()
    };
    let token = minter.mint(&args.user, device, &scopes(args), args.ttl, now)?;
    Ok(token)
}

/// The explicit scopes, else the five device scopes; a service token always
/// carries `service:read`.
fn scopes(args: &TokenArgs) -> Vec<Scope> {
    let mut scopes = if !args.scopes.is_empty() {
        args.scopes.clone()
    } else if args.service {
        Vec::new()
    } else {
        Scope::DEVICE.to_vec()
    };
    if args.service && !scopes.contains(&Scope::ServiceRead) {
        scopes.push(Scope::ServiceRead);
    }
    scopes
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use baton_transport::auth::{Scope, Verifier};

    use super::*;

    fn args(service: bool, scopes: Vec<Scope>) -> TokenArgs {
        TokenArgs {
            user: "alice".into(),
            device: (!service).then(|| "phone".into()),
            scopes,
            ttl: Duration::from_secs(3600),
            service,
        }
    }

    #[test]
    fn default_scopes() {
        assert_eq!(scopes(&args(false, vec![])), Scope::DEVICE.to_vec());
        assert_eq!(scopes(&args(true, vec![])), vec![Scope::ServiceRead]);
        assert_eq!(
            scopes(&args(true, vec![Scope::ReadWatchlist])),
            vec![Scope::ReadWatchlist, Scope::ServiceRead]
        );
        assert_eq!(
            scopes(&args(false, vec![Scope::PlaybackControl])),
            vec![Scope::PlaybackControl]
        );
    }

    #[test]
    fn refuses_external_key_source() {
        let mut cfg = Config::default();
        cfg.auth.jwks_url = Some("https://idp.example/jwks.json".into());
        let err = run(&cfg, &args(false, vec![])).expect_err("must refuse");
        assert!(err.to_string().contains("auth.jwks-url"), "{err}");
    }

    #[tokio::test]
    async fn minted_dev_token_verifies_with_the_served_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = Config {
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        let token = run(&cfg, &args(false, vec![])).expect("mints");
        let auth = cfg.auth.to_auth_config(&cfg.data_dir).expect("auth config");
        let verifier = Verifier::new(auth).await.expect("verifier");
        let principal = verifier.verify(&token).expect("dev token verifies");
        assert_eq!(principal.user, "alice");
        assert_eq!(principal.device.as_deref(), Some("phone"));
        assert!(principal.scopes.contains(Scope::PlaybackControl));
    }
}
