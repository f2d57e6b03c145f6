//! The Prometheus text exposition format, parsed just enough to check names, types and labels.

use std::collections::{BTreeMap, BTreeSet};

/// One scrape.
#[derive(Debug, Default)]
pub(super) struct Exposition {
    /// `# TYPE` of each family.
    pub types: BTreeMap<String, String>,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone)]
pub(super) struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Exposition {
    pub(super) fn parse(text: &str) -> Exposition {
        let mut exposition = Exposition::default();
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            if let Some(declaration) = line.strip_prefix("# TYPE ") {
                let (name, kind) = declaration.split_once(' ').unwrap_or_else(|| panic!("bad TYPE line: {line}"));
                exposition.types.insert(name.to_owned(), kind.to_owned());
            } else if !line.starts_with('#') {
                exposition.samples.push(Sample::parse(line));
            }
        }
        exposition
    }

    /// The samples of family `name` (for a histogram: its `_bucket`, `_sum` and `_count`).
    pub(super) fn family(&self, name: &str) -> Vec<&Sample> {
        let names = self.series_names(name);
        self.samples.iter().filter(|sample| names.contains(&sample.name)).collect()
    }

    /// Every series name a query may use: each family's name, and for histograms and
    /// summaries their `_bucket`/`_sum`/`_count` series.
    pub(super) fn exported_names(&self) -> BTreeSet<String> {
        self.types.keys().flat_map(|name| self.series_names(name)).collect()
    }

    fn series_names(&self, name: &str) -> BTreeSet<String> {
        match self.types.get(name).map(String::as_str) {
            Some("histogram") => ["_bucket", "_sum", "_count"].iter().map(|suffix| format!("{name}{suffix}")).collect(),
            Some("summary") => ["", "_sum", "_count"].iter().map(|suffix| format!("{name}{suffix}")).collect(),
            _ => BTreeSet::from([name.to_owned()]),
        }
    }
}

impl Sample {
    /// `name{a="x",b="y"} value` or `name value`; label values may hold `\"`, `\\`, `\n`.
    fn parse(line: &str) -> Sample {
        let name_end = line.find(['{', ' ']).unwrap_or_else(|| bad(line));
        let name = line[..name_end].to_owned();
        let mut labels = BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(mut inner) = rest.strip_prefix('{') {
            loop {
                inner = inner.trim_start_matches(',');
                if let Some(after) = inner.strip_prefix('}') {
                    rest = after;
                    break;
                }
                let (key, after_key) = inner.split_once("=\"").unwrap_or_else(|| bad(line));
                let (value, after_value) = quoted(after_key).unwrap_or_else(|| bad(line));
                labels.insert(key.to_owned(), value);
                inner = after_value;
            }
        }
        let value = rest.split_whitespace().next().unwrap_or_else(|| bad(line));
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other.parse().unwrap_or_else(|_| bad(line)),
        };
        Sample { name, labels, value }
    }

    pub(super) fn label_names(&self) -> BTreeSet<&str> {
        self.labels.keys().map(String::as_str).collect()
    }
}

fn bad<T>(line: &str) -> T {
    panic!("bad sample line: {line}")
}

/// The value of a label up to its closing quote, unescaped, and what follows it.
fn quoted(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[index + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                escaped => value.push(escaped),
            },
            c => value.push(c),
        }
    }
    None
}
