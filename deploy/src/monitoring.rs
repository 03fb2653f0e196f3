//! Readers for the monitoring artifacts: the PromQL expressions of the Grafana
//! dashboard and of the Prometheus rule files, the metric names they reference,
//! and the sample names a node's `/metrics` exposes.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::DeployError;

/// Grafana's interval variable and the dashboard's node selector, replaced by
/// plain PromQL so the expressions can be checked outside Grafana.
const SUBSTITUTIONS: &[(&str, &str)] = &[("$__rate_interval", "5m"), ("$instance", ".*")];

/// Every `targets[].expr` of every panel of a dashboard (rows' nested panels
/// included), with Grafana variables substituted.
pub fn dashboard_exprs(dashboard: &Value) -> Result<Vec<String>, DeployError> {
    let panels = dashboard
        .get("panels")
        .and_then(Value::as_array)
        .ok_or_else(|| DeployError::Shape("dashboard has no `panels` array".into()))?;
    let mut out = Vec::new();
    collect_panels(panels, &mut out);
    Ok(out)
}

fn collect_panels(panels: &[Value], out: &mut Vec<String>) {
    for panel in panels {
        if let Some(nested) = panel.get("panels").and_then(Value::as_array) {
            collect_panels(nested, out);
        }
        let targets = panel.get("targets").and_then(Value::as_array);
        for target in targets.into_iter().flatten() {
            if let Some(expr) = target.get("expr").and_then(Value::as_str) {
                out.push(substitute(expr));
            }
        }
    }
}

fn substitute(expr: &str) -> String {
    SUBSTITUTIONS
        .iter()
        .fold(expr.to_owned(), |e, (var, with)| e.replace(var, with))
}

/// One rule of a Prometheus rule file.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Rule {
    /// The recorded series (recording rules).
    pub record: Option<String>,
    /// The alert name (alerting rules).
    pub alert: Option<String>,
    /// The PromQL expression.
    pub expr: String,
    /// Alert annotations (`runbook`, `summary`).
    #[serde(default)]
    pub annotations: std::collections::BTreeMap<String, String>,
}

#[derive(serde::Deserialize)]
struct RuleFile {
    groups: Vec<Group>,
}

#[derive(serde::Deserialize)]
struct Group {
    rules: Vec<Rule>,
}

/// The rules of a Prometheus rule file, in order.
pub fn rules(yaml: &str) -> Result<Vec<Rule>, DeployError> {
    let file: RuleFile = serde_norway::from_str(yaml)?;
    Ok(file.groups.into_iter().flat_map(|g| g.rules).collect())
}

/// PromQL words that look like names but are not series: keywords, and the
/// aggregation operators (which may be followed by `by (...)` instead of `(`).
const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "limitk",
    "limit_ratio",
];

/// Keywords followed by a parenthesised label list.
const LABEL_LISTS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// The series names an expression selects (metric names and recorded
/// series): identifiers outside strings, label matchers and ranges that are
/// neither functions, keywords nor label lists.
pub fn referenced_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let mut skip_list = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => i = skip_past(&chars, i, c),
            '{' => i = skip_past(&chars, i, '}'),
            '[' => i = skip_past(&chars, i, ']'),
            '(' if skip_list => {
                skip_list = false;
                i = skip_past(&chars, i, ')');
            }
            c if c.is_ascii_digit() || c == '.' => {
                // A number, possibly with an exponent (1e-9).
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    let exponent = matches!(chars[i], 'e' | 'E');
                    i += 1;
                    if exponent && i < chars.len() && matches!(chars[i], '-' | '+') {
                        i += 1;
                    }
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || "_:".contains(chars[i]))
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let next = chars[i..].iter().find(|c| !c.is_whitespace());
                let lower = word.to_ascii_lowercase();
                if LABEL_LISTS.contains(&lower.as_str()) {
                    skip_list = true;
                } else if next != Some(&'(') && !KEYWORDS.contains(&lower.as_str()) {
                    names.insert(word);
                }
            }
            _ => i += 1,
        }
    }
    names
}

/// The index just past the `close` that ends the span opened at `open`.
fn skip_past(chars: &[char], open: usize, close: char) -> usize {
    let mut i = open + 1;
    while i < chars.len() && chars[i] != close {
        if chars[i] == '\\' {
            i += 1;
        }
        i += 1;
    }
    i + 1
}

/// The sample names of a Prometheus text exposition (histograms appear as
/// their `_bucket`, `_sum` and `_count` series, exactly as a query must name them).
pub fn exposed_samples(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests;
