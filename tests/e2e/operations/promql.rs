//! Just enough PromQL lexing to list the metric names an expression reads. Syntax itself is
//! left to `promtool check rules`, which parses every expression for real.

use std::collections::BTreeSet;

/// Words that are not metric names: aggregations, functions, operators, modifiers.
const KEYWORDS: &[&str] = &[
    "sum",
    "avg",
    "min",
    "max",
    "count",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "group",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
];
/// Modifiers whose parenthesised list holds label names.
const LABEL_LISTS: &[&str] = &["by", "without", "on", "ignoring", "group_left", "group_right"];

/// The metric names `expr` selects.
pub(super) fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i = skip_string(&chars, i);
        } else if c == '{' {
            i = skip_until(&chars, i, '}');
        } else if c == '[' {
            i = skip_until(&chars, i, ']');
        } else if c.is_ascii_digit() || c == '.' {
            // Numbers and durations (`5m`, `1e3`, `0.99`).
            i = skip_while(&chars, i, |c| c.is_ascii_alphanumeric() || c == '.');
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let end = skip_while(&chars, i, |c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
            let word: String = chars[i..end].iter().collect();
            let next = skip_while(&chars, end, char::is_whitespace);
            let called = chars.get(next) == Some(&'(');
            i = match (LABEL_LISTS.contains(&word.as_str()), called) {
                (true, true) => skip_until(&chars, next, ')'),
                _ => end,
            };
            if !called && !KEYWORDS.contains(&word.as_str()) {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

fn skip_string(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() && chars[i] != quote {
        i += if chars[i] == '\\' { 2 } else { 1 };
    }
    i + 1
}

/// Past the `close` that ends the group opened at `start`, skipping strings inside.
fn skip_until(chars: &[char], start: usize, close: char) -> usize {
    let mut i = start + 1;
    while i < chars.len() && chars[i] != close {
        i = if chars[i] == '"' { skip_string(chars, i) } else { i + 1 };
    }
    i + 1
}

fn skip_while(chars: &[char], start: usize, keep: impl Fn(char) -> bool) -> usize {
    let mut i = start;
    while i < chars.len() && keep(chars[i]) {
        i += 1;
    }
    i
}

#[test]
fn metric_names_skip_functions_labels_strings_and_durations() {
    let expr = r#"histogram_quantile(0.99, sum by (le, api) (rate(tollgate_request_duration_seconds_bucket{api=~"a|b",code!="5.."}[5m])))
        / on (api) group_left () max without (instance) (tollgate_config_revision) > 0.5 and time() - up offset 1h"#;
    let names: Vec<String> = metric_names(expr).into_iter().collect();
    assert_eq!(names, ["tollgate_config_revision", "tollgate_request_duration_seconds_bucket", "up"]);
}
