//! The Prometheus recorder (installed once per process, with the catalog of
//! [`crate::metrics_catalog`]) and the request counter behind the availability SLO.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Entries per group commit: powers of two up to the largest batch
/// (`store.group-commit-max-batch`, 512 by default). Other metrics without
/// buckets are exported as summaries.
const BATCH_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

/// Install the global Prometheus recorder if none is installed yet, and
/// return the handle that renders it.
pub fn install_metrics() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("seconds".into()), LATENCY_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("baton_store_commit_batch_size".into()),
                        BATCH_BUCKETS,
                    )
                })
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_ok() {
                crate::metrics_catalog::register();
            }
            handle
        })
        .clone()
}

/// Count every answered request under `/v1/` by status class
/// (`baton_http_requests_total{class}`): the denominator of the availability
/// SLO (`deploy/prometheus/rules.yml`). Probes and `/metrics` are not counted,
/// so a draining node's 503 readiness answers spend no error budget. A read
/// forwarded to its owner is counted on both nodes.
pub(crate) async fn count_requests(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let counted = req.uri().path().starts_with("/v1/");
    let resp = next.run(req).await;
    if counted {
        let class = match resp.status().as_u16() / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        };
        metrics::counter!("baton_http_requests_total", "class" => class).increment(1);
    }
    resp
}
