//! `baton check-config`: validate the layered configuration (defaults, the file,
//! `BATON_*` variables) and print the effective settings as TOML, secrets masked.
//! A bad value fails before this runs (`Config::load` names the key), with exit
//! status 1.

use anyhow::Context as _;

use crate::config::Config;

/// What replaces a secret.
const MASK: &str = "********";

/// Keys whose whole value is a secret.
const SECRET_KEYS: &[(&str, &str)] = &[
    ("cluster", "secret"),
    ("pubnub", "secret-key"),
    ("pubnub", "publish-key"),
    ("pubnub", "subscribe-key"),
];

/// Keys holding URLs whose password (`user:password@`) is a secret.
const URL_KEYS: &[(Option<&str>, &str)] = &[(None, "redis-url"), (Some("store"), "database-url")];

/// The report: a header line, then the effective settings.
pub fn report(cfg: &Config) -> anyhow::Result<String> {
    let mut value = toml::Value::try_from(cfg).context("serializing the configuration")?;
    if let Some(root) = value.as_table_mut() {
        for (section, key) in SECRET_KEYS {
            if let Some(v) = root
                .get_mut(*section)
                .and_then(toml::Value::as_table_mut)
                .and_then(|t| t.get_mut(*key))
            {
                *v = toml::Value::String(MASK.into());
            }
        }
        for (section, key) in URL_KEYS {
            let table = match section {
                Some(s) => root.get_mut(*s).and_then(toml::Value::as_table_mut),
                None => Some(&mut *root),
            };
            if let Some(toml::Value::String(url)) = table.and_then(|t| t.get_mut(*key)) {
                *url = mask_url_password(url);
            }
        }
    }
    let settings = toml::to_string_pretty(&value).context("formatting the configuration")?;
    Ok(format!(
        "# configuration valid; effective settings (secrets masked, unset keys omitted)\n{settings}"
    ))
}

/// `postgres://baton:pw@db/baton` -> `postgres://baton:********@db/baton`.
fn mask_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:{MASK}@{host}{path}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{mask_url_password, report};
    use crate::config::Config;

    #[test]
    fn url_passwords_are_masked_and_the_rest_kept() {
        assert_eq!(
            mask_url_password("postgres://baton:s3cret@db:5432/baton?sslmode=require"),
            "postgres://baton:********@db:5432/baton?sslmode=require"
        );
        assert_eq!(
            mask_url_password("redis://:s3cret@redis:6379/0"),
            "redis://:********@redis:6379/0"
        );
        assert_eq!(
            mask_url_password("redis://redis:6379"),
            "redis://redis:6379"
        );
        assert_eq!(mask_url_password("not a url"), "not a url");
    }

    #[test]
    fn report_shows_every_section_and_no_secret() {
        let mut cfg = Config {
            redis_url: Some("redis://:redispass@r:6379".into()),
            ..Config::default()
        };
        cfg.store.database_url = Some("postgres://u:pgpass@db/baton".into());
        cfg.cluster.secret = Some("clustersecret-0123456789".into());
        cfg.pubnub.publish_key = Some("pub-c-key".into());
        cfg.pubnub.subscribe_key = Some("sub-c-key".into());
        cfg.pubnub.secret_key = Some("sec-c-key".into());
        let text = report(&cfg).expect("report");
        for secret in [
            "redispass",
            "pgpass",
            "clustersecret",
            "pub-c-key",
            "sub-c-key",
            "sec-c-key",
        ] {
            assert!(!text.contains(secret), "{secret} leaked:\n{text}");
        }
        for shown in [
            "[limits]",
            "max-message-bytes = 65536",
            "postgres://u:********@db/baton",
            "[cluster]",
        ] {
            assert!(text.contains(shown), "{shown} missing:\n{text}");
        }
        // The report parses back as TOML.
        let body: String = text.lines().skip(1).collect::<Vec<_>>().join("\n");
        assert!(body.parse::<toml::Table>().is_ok());
    }
}
