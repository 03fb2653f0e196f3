use super::{exposed_samples, referenced_names};

fn names(expr: &str) -> Vec<String> {
    referenced_names(expr).into_iter().collect()
}

#[test]
fn functions_label_lists_matchers_and_ranges_are_not_names() {
    let expr = r#"histogram_quantile(0.99, sum by (le, instance) (rate(baton_ack_latency_seconds_bucket{le!="+Inf", code=~"a|b"}[5m])))"#;
    assert_eq!(names(expr), ["baton_ack_latency_seconds_bucket"]);
}

#[test]
fn recorded_series_keywords_and_numbers() {
    let expr = "baton:slo_error_ratio:rate1h > (14.4 * 0.005) and on (job) baton:x:y > bool 1e-9 or vector(0) unless up offset 5m";
    assert_eq!(
        names(expr),
        ["baton:slo_error_ratio:rate1h", "baton:x:y", "up"]
    );
}

#[test]
fn strings_in_functions_are_skipped() {
    let expr = r#"label_replace(baton_connections, "dst", "$1", "instance", "(.*):.*")"#;
    assert_eq!(names(expr), ["baton_connections"]);
}

#[test]
fn exposition_lists_histogram_series_by_their_sample_names() {
    let text = "# HELP a_seconds x\n# TYPE a_seconds histogram\na_seconds_bucket{le=\"0.1\"} 0\na_seconds_sum 0\na_seconds_count 0\n# TYPE b_total counter\nb_total 3\n\n";
    let got: Vec<String> = exposed_samples(text).into_iter().collect();
    assert_eq!(
        got,
        [
            "a_seconds_bucket",
            "a_seconds_count",
            "a_seconds_sum",
            "b_total"
        ]
    );
}
