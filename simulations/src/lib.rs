//! # baton-simulations (`baton-sim`)
//!
//! The load-simulation harness of Baton. It drives thousands of virtual
//! devices over real WebSockets, each with a real JWT, speaking protocol v1
//! (`PROTOCOL.md`): hello / welcome / catch-up, ops with contiguous seqs and
//! at most `max_inflight_ops` unacknowledged, acks, deltas applied to a local
//! replica (`baton_crdt::UserDoc`), heartbeats, handoffs under the lease
//! rules, and reconnects with exponential backoff and full jitter.
//!
//! How a run flows: [`run::run`] builds the users ([`user`]) and mints their
//! tokens, spawns one task per device ([`device`], [`fleet`]) that connects on
//! an open-loop schedule ([`net`] spreads sockets over 127.0.0.x), then the
//! scenario ([`scenario`]) drives ops at fixed intended times ([`workload`]).
//! Latencies go into HDR histograms from the intended time ([`metrics`]);
//! a sampler records once a second ([`timeline`], [`procstat`]). At the end
//! every device settles and its replica is compared with the REST state of
//! its user ([`convergence`]); [`report`] and [`charts`] write the results.
//! The same workload also runs against a bare WebSocket relay ([`relay`]),
//! the baseline the report divides by.

pub mod charts;
pub mod clock;
pub mod cluster;
pub mod convergence;
pub mod device;
pub mod fleet;
pub mod metrics;
pub mod net;
pub mod nodekill;
pub mod procstat;
pub mod relay;
pub mod report;
pub mod run;
pub mod scenario;
pub mod target;
pub mod timeline;
pub mod user;
pub mod workload;

use std::sync::Arc;

/// Run `scenario` against Baton — one node or the nodes of a cluster, devices
/// spread over them — (and, when the preset asks, the relay from `relay`),
/// and assemble the report.
/// `infra`: pids of the services the nodes use (sampled for CPU).
pub async fn simulate(
    baton: &[Arc<target::Target>],
    infra: &[u32],
    relay: Option<Arc<target::Target>>,
    scenario: scenario::Scenario,
    params: &scenario::Params,
    quiet: bool,
) -> anyhow::Result<report::Report> {
    let resolved = scenario.resolve(params);
    let b = run::run(baton, infra, scenario, &resolved, params, quiet).await?;
    let r = match relay {
        Some(relay) if resolved.baseline => {
            Some(run::run(&[relay], &[], scenario, &resolved, params, quiet).await?)
        }
        _ => None,
    };
    let ratios = r
        .as_ref()
        .map(|r| report::ratios(&b, r))
        .unwrap_or_default();
    Ok(report::Report {
        scenario,
        params: resolved,
        machine: report::machine(),
        baton: b,
        relay: r,
        ratios,
    })
}
