//! A node for one test: start, restart, kill -9, tokens, `GET /state`.

use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

use super::common;

/// A running (or killed) node with its data dir.
pub struct Node {
    pub port: u16,
    pub data: tempfile::TempDir,
    pub child: Option<Child>,
    env: Vec<(String, String)>,
}

impl Node {
    /// Starts a node with `env` on top of the test defaults.
    pub async fn start(env: &[(&str, &str)]) -> Node {
        let data = tempfile::tempdir().expect("tempdir");
        let mut node = Node {
            port: common::free_port(),
            data,
            child: None,
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        node.spawn().await;
        node
    }

    async fn spawn(&mut self) {
        let mut cmd = common::command(self.data.path(), self.port, None);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let child = cmd
            .arg("serve")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("baton starts");
        self.child = Some(child);
        common::wait_ready(self.port).await;
    }

    /// SIGKILL, then start again on the same port and data.
    pub async fn kill9_and_restart(&mut self) {
        self.kill9();
        self.spawn().await;
    }

    /// SIGKILL.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            common::kill9(&mut c);
        }
    }

    /// SIGTERM (graceful drain: sockets close with 1001/1012).
    pub fn terminate(&mut self) {
        if let Some(c) = &self.child {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
        }
    }

    /// Waits for the process to exit (after [`Node::terminate`]).
    pub fn wait_exit(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/v1/sync", self.port)
    }

    pub fn data_path(&self) -> PathBuf {
        self.data.path().to_owned()
    }

    /// A device token.
    pub fn token(&self, user: &str, device: &str) -> String {
        common::token(self.data.path(), self.port, None, user, device)
    }

    /// The text of `GET /v1/users/{user}/state`.
    pub async fn state_text(&self, user: &str) -> String {
        let tok = common::token_with(
            self.data.path(),
            self.port,
            None,
            &["--user", user, "--service"],
        );
        let resp = reqwest::Client::new()
            .get(format!(
                "http://127.0.0.1:{}/v1/users/{user}/state",
                self.port
            ))
            .bearer_auth(tok)
            .send()
            .await
            .expect("GET state");
        assert!(resp.status().is_success(), "GET state: {}", resp.status());
        resp.text().await.expect("state body")
    }

    /// Polls `GET /state` until its version is `version` (5 s at most).
    pub async fn wait_version(&self, user: &str, version: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let text = self.state_text(user).await;
            let v: serde_json::Value = serde_json::from_str(&text).expect("state json");
            if v["version"].as_u64() == Some(version) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "state never reached version {version}: {text}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The top-level members of a JSON object's text, as `(key, raw value text)`,
/// without re-serializing anything.
pub fn members(text: &str) -> Vec<(String, String)> {
    let body = text.trim();
    let inner = &body[1..body.len() - 1];
    let (mut depth, mut in_str, mut esc) = (0i32, false, false);
    let mut start = 0;
    let mut out = Vec::new();
    let mut push = |part: &str| {
        if let Some((k, v)) = part.split_once(':') {
            out.push((k.trim_matches('"').to_owned(), v.to_owned()));
        }
    };
    for (i, c) in inner.char_indices() {
        if in_str {
            match (esc, c) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            ',' if depth == 0 => {
                push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    push(&inner[start..]);
    out
}

/// The keys a vector's `expected` shares with `GET /state`, in that order,
/// as compact text taken verbatim from `state`.
pub fn state_subset(state: &str) -> String {
    let m = members(state);
    let keys = [
        "version",
        "vv",
        "watchlist",
        "playback",
        "preferences",
        "lease",
    ];
    let parts: Vec<String> = keys
        .iter()
        .map(|k| {
            let (_, v) = m
                .iter()
                .find(|(key, _)| key == k)
                .unwrap_or_else(|| panic!("state has no {k}: {state}"));
            format!("\"{k}\":{v}")
        })
        .collect();
    format!("{{{}}}", parts.join(","))
}
