//! Every metric a node exports, described once and registered at start.
//!
//! The Prometheus exporter renders a series only once it has been touched, so a
//! counter that has never moved (no failover yet, the PubNub bridge off) would
//! be absent from `/metrics`, and a rule over it would see "no data" instead of
//! 0. [`register`] gives each unlabeled metric its `HELP` text and a zero
//! series; labeled metrics get one zero series per value of a closed label set
//! (reasons and kinds named in the code), and open sets (error codes) appear
//! with their first occurrence. The dashboards and rules in `deploy/` name only
//! metrics listed here (checked against a real node by
//! `runtime/tests/metrics_coverage.rs`).

/// The kind of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Monotonic count.
    Counter,
    /// Value that goes up and down.
    Gauge,
    /// Distribution (buckets, sum, count).
    Histogram,
}

/// The labels of a metric.
#[derive(Debug, Clone, Copy)]
pub enum Labels {
    /// None: one series, started at zero.
    None,
    /// A closed set of values named in the code: one zero series per value.
    Closed(&'static str, &'static [&'static str]),
    /// An open set (error codes): a series appears with its first value.
    Open(&'static str),
}

/// One exported metric.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// Prometheus name.
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: Kind,
    /// Its labels.
    pub labels: Labels,
    /// `HELP` text.
    pub help: &'static str,
}

const fn counter(name: &'static str, help: &'static str) -> Metric {
    Metric {
        name,
        kind: Kind::Counter,
        labels: Labels::None,
        help,
    }
}

const fn gauge(name: &'static str, help: &'static str) -> Metric {
    Metric {
        name,
        kind: Kind::Gauge,
        labels: Labels::None,
        help,
    }
}

const fn histogram(name: &'static str, help: &'static str) -> Metric {
    Metric {
        name,
        kind: Kind::Histogram,
        labels: Labels::None,
        help,
    }
}

const fn closed(
    name: &'static str,
    key: &'static str,
    values: &'static [&'static str],
    help: &'static str,
) -> Metric {
    Metric {
        name,
        kind: Kind::Counter,
        labels: Labels::Closed(key, values),
        help,
    }
}

const fn open(name: &'static str, key: &'static str, help: &'static str) -> Metric {
    Metric {
        name,
        kind: Kind::Counter,
        labels: Labels::Open(key),
        help,
    }
}

/// The catalog (`deploy/prometheus/` and `deploy/grafana/` use these names).
pub const METRICS: &[Metric] = &[
    gauge("baton_connections", "Device sockets open on this node."),
    counter("baton_connections_total", "Device sockets admitted."),
    counter(
        "baton_connections_refused_total",
        "Device sockets refused at limits.max-connections (503).",
    ),
    closed(
        "baton_http_requests_total",
        "class",
        &["1xx", "2xx", "3xx", "4xx", "5xx"],
        "Requests under /v1/ answered, by status class.",
    ),
    open(
        "baton_http_errors_total",
        "code",
        "Error responses, by stable code.",
    ),
    counter(
        "baton_http_connections_refused_total",
        "Connections refused at http.max-pending-connections.",
    ),
    closed(
        "baton_http_connections_timed_out_total",
        "reason",
        &["header_timeout", "idle"],
        "Connections closed by the HTTP timeouts.",
    ),
    open(
        "baton_protocol_errors_total",
        "code",
        "Frames refused, by error code.",
    ),
    counter(
        "baton_slow_consumer_disconnects_total",
        "Devices closed with 4008 (slow consumer).",
    ),
    counter(
        "baton_rate_limit_disconnects_total",
        "Devices closed with 4029 (too many refusals).",
    ),
    counter(
        "baton_revoked_disconnects_total",
        "Devices closed because their token was revoked.",
    ),
    closed(
        "baton_resume_total",
        "mode",
        &["deltas", "snapshot"],
        "Device resumes, by mode.",
    ),
    counter(
        "baton_resyncs_merged_total",
        "Offline replicas merged by resync.",
    ),
    open(
        "baton_handoffs_total",
        "outcome",
        "Playback handoffs, by outcome.",
    ),
    counter(
        "baton_tokens_revoked_total",
        "Tokens revoked through the admin API.",
    ),
    counter("baton_ops_received_total", "Ops received from devices."),
    counter(
        "baton_ops_committed_total",
        "Ops committed and acknowledged.",
    ),
    counter(
        "baton_ops_duplicate_total",
        "Ops acknowledged as duplicates.",
    ),
    histogram("baton_ack_latency_seconds", "Op received to durable ack."),
    histogram(
        "baton_fanout_latency_seconds",
        "Op received to delta queued to the user's other devices.",
    ),
    counter(
        "baton_commit_failures_total",
        "Group commits that failed (user actor restarted).",
    ),
    histogram(
        "baton_store_commit_seconds",
        "Duration of one group commit.",
    ),
    histogram(
        "baton_store_commit_batch_size",
        "Log entries per group commit.",
    ),
    counter("baton_store_appends_total", "Log entries appended."),
    counter(
        "baton_store_conflicts_total",
        "Log appends refused as conflicts.",
    ),
    gauge("baton_live_users", "Users with a live actor on this node."),
    gauge("baton_user_actors", "User actors running."),
    closed(
        "baton_user_activations_total",
        "kind",
        &["cold", "warm"],
        "User actors started, by kind.",
    ),
    histogram("baton_user_activation_seconds", "Time to load a user."),
    counter("baton_user_passivations_total", "Idle user actors stopped."),
    counter(
        "baton_user_releases_total",
        "Users released to another node.",
    ),
    counter(
        "baton_user_fenced_total",
        "User actors stopped because another node owns the user.",
    ),
    counter(
        "baton_user_actor_failures_total",
        "User actors that crashed.",
    ),
    histogram("baton_user_state_bytes", "Snapshot size at each snapshot."),
    histogram(
        "baton_user_vv_width",
        "Version-vector entries at each snapshot.",
    ),
    histogram(
        "baton_user_catch_up_window_ops",
        "Catch-up window length at each snapshot.",
    ),
    histogram(
        "baton_user_live_devices",
        "Devices attached at each snapshot.",
    ),
    counter(
        "baton_devices_retired_total",
        "Devices retired by causal-stability housekeeping.",
    ),
    counter(
        "baton_user_erasures_total",
        "Users erased (DELETE /v1/users/{user}).",
    ),
    gauge(
        "baton_cluster_members",
        "Live cluster members seen by this node (itself included).",
    ),
    counter(
        "baton_cluster_failovers_total",
        "Members that left the view without draining (died or partitioned).",
    ),
    counter(
        "baton_cluster_users_moved_total",
        "Users handed to another node by rebalancing.",
    ),
    histogram(
        "baton_cluster_rebalance_seconds",
        "Duration of one rebalance pass.",
    ),
    counter(
        "baton_cluster_handoff_failures_total",
        "Warm handoffs to a peer that failed.",
    ),
    counter(
        "baton_cluster_superseded_total",
        "Users fenced because a newer owner claimed them.",
    ),
    counter(
        "baton_cluster_not_owner_total",
        "Requests for a user this node does not own.",
    ),
    counter(
        "baton_cluster_unreachable_total",
        "Forwards to an owner that could not be reached.",
    ),
    counter(
        "baton_cluster_warm_states_received_total",
        "Warm user states received from peers.",
    ),
    gauge(
        "baton_warm_states",
        "Warm states held for users not yet activated.",
    ),
    open(
        "baton_warm_states_rejected_total",
        "reason",
        "Warm states refused, by reason.",
    ),
    gauge(
        "baton_forwarded_sockets",
        "Device sockets relayed to their owner.",
    ),
    counter(
        "baton_forwarded_reads_total",
        "REST reads forwarded to the owner.",
    ),
    closed(
        "baton_shared_errors_total",
        "op",
        &[
            "is_revoked",
            "rate_take",
            "put_presence",
            "follow_revocations",
        ],
        "Redis calls that failed and fell back, by operation.",
    ),
    counter("baton_interactions_total", "Interaction frames accepted."),
    histogram(
        "baton_adapter_train_seconds",
        "Duration of one adapter training step.",
    ),
    counter(
        "baton_adapter_save_failures_total",
        "Adapter saves that failed.",
    ),
    histogram(
        "baton_recommend_seconds",
        "Duration of one recommendation query.",
    ),
    gauge("baton_pubnub_sessions", "PubNub device sessions open."),
    counter(
        "baton_pubnub_sessions_idle_total",
        "PubNub sessions ended for idleness.",
    ),
    gauge(
        "baton_pubnub_publish_queue",
        "Messages queued for publishing to PubNub.",
    ),
    counter(
        "baton_pubnub_published_total",
        "Messages published to PubNub.",
    ),
    counter(
        "baton_pubnub_publish_retries_total",
        "PubNub publish retries.",
    ),
    closed(
        "baton_pubnub_publish_dropped_total",
        "reason",
        &["queue_full", "refused", "gave_up", "device_frame"],
        "PubNub messages dropped, by reason.",
    ),
    counter(
        "baton_pubnub_subscribe_errors_total",
        "PubNub subscribe calls that failed.",
    ),
    counter("baton_pubnub_inbound_total", "PubNub messages ingested."),
    open(
        "baton_pubnub_inbound_skipped_total",
        "reason",
        "PubNub messages skipped, by reason.",
    ),
];

/// Describe every metric and start the zero series (call once the global
/// recorder is installed).
pub fn register() {
    for m in METRICS {
        match m.kind {
            Kind::Counter => metrics::describe_counter!(m.name, m.help),
            Kind::Gauge => metrics::describe_gauge!(m.name, m.help),
            Kind::Histogram => metrics::describe_histogram!(m.name, m.help),
        }
        match (m.kind, m.labels) {
            (_, Labels::Open(_)) => {}
            (Kind::Counter, Labels::Closed(key, values)) => {
                for &value in values {
                    metrics::counter!(m.name, key => value).increment(0);
                }
            }
            (Kind::Counter, _) => metrics::counter!(m.name).increment(0),
            (Kind::Gauge, _) => metrics::gauge!(m.name).increment(0.0),
            (Kind::Histogram, _) => {
                // Registering is enough: the exporter renders empty buckets.
                let _ = metrics::histogram!(m.name);
            }
        }
    }
}
