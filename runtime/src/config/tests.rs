//! Layering and validation, in figment jails (private cwd and environment).

// `Jail::expect_with` closures must return figment's (large) error type.
#![allow(clippy::result_large_err)]

use std::path::Path;

use figment::Jail;

use super::log::LogFormat;
use super::Config;

fn load(path: Option<&str>) -> Result<Config, figment::Error> {
    Config::load(path.map(Path::new)).map_err(|e| e.to_string().into())
}

fn load_err(path: Option<&str>) -> String {
    match Config::load(path.map(Path::new)) {
        Ok(c) => panic!("expected an error, got {c:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn defaults() {
    Jail::expect_with(|_| {
        let c = load(None)?;
        assert_eq!(c, Config::default());
        assert_eq!(c.listen.to_string(), "127.0.0.1:7600");
        assert_eq!(c.node_id, "node-1");
        assert_eq!(c.store.group_commit_max_batch, 512);
        assert_eq!(c.store.database_url, None);
        assert_eq!(c.auth.issuer, "baton-dev");
        assert_eq!(c.auth.external_key_setting(), None);
        assert_eq!(c.limits.max_message_bytes, 65_536);
        assert_eq!(c.limits.rate_limit_events, 100);
        assert_eq!(c.sessions.ws_read_buffer_bytes, 512);
        assert_eq!(c.actors.snapshot_every_ops, 200);
        assert_eq!(c.log.format, LogFormat::Auto);
        assert_eq!(c.sqlite_path(), Path::new("./data/baton.db"));
        Ok(())
    });
}

#[test]
fn file_overrides_defaults() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "baton.toml",
            r#"
                listen = "0.0.0.0:9000"
                node-id = "edge-7"
                [limits]
                max-message-bytes = 4096
                snapshot-chunk-bytes = 2048
                # 4 KiB frames hold the presence of two devices at most.
                max-devices-per-user = 2
                [auth]
                jwks-url = "https://idp.example/.well-known/jwks.json"
                [log]
                format = "pretty"
            "#,
        )?;
        let c = load(Some("baton.toml"))?;
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.node_id, "edge-7");
        assert_eq!(c.limits.max_message_bytes, 4096);
        assert_eq!(
            c.limits.outbound_queue, 256,
            "untouched keys keep their default"
        );
        assert_eq!(c.auth.external_key_setting(), Some("auth.jwks-url"));
        assert_eq!(c.log.format, LogFormat::Pretty);
        Ok(())
    });
}

#[test]
fn env_overrides_file() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "baton.toml",
            "[limits]\nmax-message-bytes = 4096\nsnapshot-chunk-bytes = 1024\nmax-devices-per-user = 1\n",
        )?;
        jail.set_env("BATON_LIMITS__MAX_MESSAGE_BYTES", "2048");
        jail.set_env("BATON_LISTEN", "127.0.0.1:7700");
        jail.set_env("BATON_DATABASE_URL", "postgres://baton@db/baton");
        jail.set_env("BATON_DATA_DIR", "/var/lib/baton");
        jail.set_env("BATON_SESSIONS__PONG_TIMEOUT_SECS", "5");
        jail.set_env("BATON_CONFIG", "baton.toml");
        let c = load(Some("baton.toml"))?;
        assert_eq!(c.limits.max_message_bytes, 2048);
        assert_eq!(c.listen.port(), 7700);
        assert_eq!(
            c.store.database_url.as_deref(),
            Some("postgres://baton@db/baton")
        );
        assert_eq!(c.data_dir, Path::new("/var/lib/baton"));
        assert_eq!(c.sessions.pong_timeout_secs, 5);
        Ok(())
    });
}

#[test]
fn bad_value_names_its_key() {
    Jail::expect_with(|jail| {
        jail.set_env("BATON_LIMITS__MAX_MESSAGE_BYTES", "100");
        let err = load_err(None);
        assert!(
            err.contains("limits.max-message-bytes must be >= 1024"),
            "{err}"
        );
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("BATON_LIMITS__MAX_MESSAGE_BYTES", "lots");
        let err = load_err(None);
        assert!(err.contains("limits.max-message-bytes"), "{err}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.create_file("baton.toml", "[limits]\nmax-mesage-bytes = 4096\n")?;
        let err = load_err(Some("baton.toml"));
        assert!(err.contains("max-mesage-bytes"), "typo reported: {err}");
        Ok(())
    });
}

#[test]
fn all_problems_reported_together() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "baton.toml",
            r#"
                [auth]
                jwks-url = "ftp://x"
                jwks-file = "/etc/jwks.json"
                [actors]
                snapshot-every-ops = 500
                log-retention-ops = 100
                [log]
                filter = "[[["
            "#,
        )?;
        let err = load_err(Some("baton.toml"));
        for key in [
            "auth.jwks-url must be an http(s)",
            "conflicts",
            "actors.log-retention-ops",
            "log.filter",
        ] {
            assert!(err.contains(key), "{key} missing from: {err}");
        }
        Ok(())
    });
}

#[test]
fn missing_file_is_an_error() {
    Jail::expect_with(|_| {
        let err = load_err(Some("nope.toml"));
        assert!(err.contains("nope.toml"), "{err}");
        Ok(())
    });
}

#[test]
fn pubnub_is_off_by_default_and_configured_from_the_environment() {
    Jail::expect_with(|jail| {
        let c = load(None)?;
        assert!(c.pubnub.bridge_config(&c.node_id).is_none());
        jail.set_env("BATON_PUBNUB__PUBLISH_KEY", "pub-c-1");
        jail.set_env("BATON_PUBNUB__SUBSCRIBE_KEY", "sub-c-1");
        jail.set_env("BATON_PUBNUB__CHANNEL_PREFIX", "prod.");
        jail.set_env("BATON_PUBNUB__SESSION_IDLE_SECS", "30");
        let c = load(None)?;
        let b = c.pubnub.bridge_config(&c.node_id).expect("bridge on");
        assert_eq!(b.publish_key, "pub-c-1");
        assert_eq!(b.channel_prefix, "prod.");
        assert_eq!(b.bridge_uuid, "baton-bridge-node-1");
        assert_eq!(b.base_url(), "https://ps.pndsn.com");
        assert_eq!(b.session_idle.as_secs(), 30);
        Ok(())
    });
}

#[test]
fn pubnub_needs_both_keys() {
    Jail::expect_with(|jail| {
        jail.set_env("BATON_PUBNUB__PUBLISH_KEY", "pub-c-1");
        let err = load_err(None);
        assert!(err.contains("pubnub.subscribe-key is required"), "{err}");
        Ok(())
    });
}

#[test]
fn cluster_is_off_by_default_and_configured_from_the_environment() {
    Jail::expect_with(|jail| {
        let c = load(None)?;
        assert!(!c.cluster.enabled);
        jail.set_env("BATON_DATABASE_URL", "postgres://db/baton");
        jail.set_env("BATON_CLUSTER__ENABLED", "true");
        jail.set_env("BATON_CLUSTER__SECRET", "0123456789abcdef");
        jail.set_env("BATON_CLUSTER__GOSSIP_LISTEN", "10.0.0.5:7946");
        jail.set_env(
            "BATON_CLUSTER__SEEDS",
            "[baton-gossip.baton.svc.cluster.local:7946,10.0.0.6:7946]",
        );
        jail.set_env("BATON_CLUSTER__GOSSIP_INTERVAL_MS", "10");
        let c = load(None)?;
        assert!(c.cluster.enabled);
        assert_eq!(c.cluster.gossip_listen.to_string(), "10.0.0.5:7946");
        assert_eq!(
            c.cluster.seeds,
            vec![
                "baton-gossip.baton.svc.cluster.local:7946".to_owned(),
                "10.0.0.6:7946".to_owned()
            ]
        );
        assert_eq!(c.cluster.gossip_interval_ms, 10);
        Ok(())
    });
}

#[test]
fn cluster_needs_postgres_a_secret_and_sane_values() {
    Jail::expect_with(|jail| {
        jail.set_env("BATON_CLUSTER__ENABLED", "true");
        jail.set_env("BATON_CLUSTER__SECRET", "short");
        jail.set_env("BATON_CLUSTER__SEEDS", "[no-port]");
        jail.set_env("BATON_CLUSTER__GOSSIP_INTERVAL_MS", "9");
        jail.set_env("BATON_CLUSTER__HANDOFF_BATCH", "0");
        jail.set_env("BATON_CLUSTER__API_ADVERTISE", "10.0.0.5");
        let err = load_err(None);
        for want in [
            "store.database-url is required when cluster.enabled",
            "cluster.secret is required when cluster.enabled and must be at least 16",
            "cluster.seeds entries must be host:port",
            "cluster.gossip-interval-ms must be >= 10 (got 9)",
            "cluster.handoff-batch must be >= 1 (got 0)",
            "cluster.api-advertise must be host:port",
        ] {
            assert!(err.contains(want), "missing {want:?} in {err}");
        }
        Ok(())
    });
}

#[test]
fn device_limits_come_from_the_environment_and_are_checked_at_their_edges() {
    Jail::expect_with(|jail| {
        jail.set_env("BATON_LIMITS__MAX_NAME_BYTES", "100");
        jail.set_env("BATON_LIMITS__RESYNCS_PER_MINUTE", "2");
        jail.set_env("BATON_LIMITS__OUTBOUND_QUEUE_BYTES", "65536");
        jail.set_env("BATON_SESSIONS__CLOSE_TIMEOUT_SECS", "60");
        let c = load(None)?;
        assert_eq!(
            c.limits.max_name_bytes, 100,
            "32 presence entries still fit a message"
        );
        assert_eq!(c.limits.resyncs_per_minute, 2);
        assert_eq!(
            c.limits.outbound_queue_bytes, c.limits.max_message_bytes,
            "one largest frame fits"
        );
        assert_eq!(c.sessions.close_timeout_secs, 60);
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("BATON_LIMITS__MAX_NAME_BYTES", "200");
        jail.set_env("BATON_LIMITS__RESYNCS_PER_MINUTE", "0");
        jail.set_env("BATON_LIMITS__OUTBOUND_QUEUE_BYTES", "65535");
        jail.set_env("BATON_SESSIONS__CLOSE_TIMEOUT_SECS", "61");
        let err = load_err(None);
        for problem in [
            "limits.max-name-bytes with max-kind-bytes and max-devices-per-user allows presence frames of",
            "limits.resyncs-per-minute must be >= 1",
            "limits.outbound-queue-bytes must be >= 65536",
            "sessions.close-timeout-secs must be <= 60",
        ] {
            assert!(err.contains(problem), "{problem}: {err}");
        }
        Ok(())
    });
}

#[test]
fn http_limits_from_env_and_their_bounds() {
    Jail::expect_with(|jail| {
        let c = load(None)?;
        assert_eq!(c.http.header_read_timeout_ms, 10_000);
        assert_eq!(c.http.idle_timeout_ms, 60_000);
        assert_eq!(c.http.max_pending_connections, 1024);
        assert_eq!(c.http.listen_backlog, 4096);
        jail.set_env("BATON_HTTP__HEADER_READ_TIMEOUT_MS", "1");
        jail.set_env("BATON_HTTP__IDLE_TIMEOUT_MS", "250");
        jail.set_env("BATON_HTTP__MAX_PENDING_CONNECTIONS", "1");
        let c = load(None)?;
        let limits = c.http.to_limits();
        assert_eq!(limits.header_read_timeout.as_millis(), 1);
        assert_eq!(limits.idle_timeout.as_millis(), 250);
        assert_eq!(limits.max_pending_connections, 1);
        jail.set_env("BATON_HTTP__LISTEN_BACKLOG", "1");
        assert_eq!(load(None)?.http.listen_backlog, 1);
        jail.set_env("BATON_HTTP__HEADER_READ_TIMEOUT_MS", "0");
        jail.set_env("BATON_HTTP__IDLE_TIMEOUT_MS", "0");
        jail.set_env("BATON_HTTP__MAX_PENDING_CONNECTIONS", "0");
        jail.set_env("BATON_HTTP__LISTEN_BACKLOG", "0");
        let err = load_err(None);
        for key in [
            "http.header-read-timeout-ms must be >= 1",
            "http.idle-timeout-ms must be >= 1",
            "http.max-pending-connections must be >= 1",
            "http.listen-backlog must be >= 1",
        ] {
            assert!(err.contains(key), "{key}: {err}");
        }
        Ok(())
    });
}
