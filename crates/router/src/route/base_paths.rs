//! The base-path trie: one node per base-path segment, shared by every host. A node where
//! some base path ends holds a [`Slot`]: the API serving it on any host, and those serving
//! it on named hosts.

use std::collections::HashMap as StdHashMap;
use std::sync::Arc;

use super::segments;

/// Seeded fast hashing: path segments and hosts come from requests.
type HashMap<K, V> = StdHashMap<K, V, foldhash::fast::RandomState>;

/// Base paths → API indices (into the table's entries).
#[derive(Debug)]
pub(super) struct BasePaths {
    /// `nodes[0]` is the root (the base path `/`); children point further into `nodes`.
    nodes: Vec<Node>,
}

/// Who serves one base path.
#[derive(Debug)]
pub(super) struct Slot {
    /// Canonical: `/a/b`, or empty for the root base path.
    base_path: Arc<str>,
    any_host: Option<usize>,
    hosts: HashMap<Arc<str>, usize>,
}

#[derive(Debug, Default)]
struct Node {
    children: HashMap<Box<str>, usize>,
    slot: Option<Slot>,
}

// === impl BasePaths ===

impl Default for BasePaths {
    fn default() -> Self {
        BasePaths { nodes: vec![Node::default()] }
    }
}

impl BasePaths {
    /// The slot of `base_path`, if some API already serves it.
    pub(super) fn slot(&self, base_path: &str) -> Option<&Slot> {
        let mut node = self.nodes.first()?;
        for segment in segments(base_path) {
            node = self.nodes.get(*node.children.get(segment)?)?;
        }
        node.slot.as_ref()
    }

    /// Records that API `index` serves `base_path` on `vhosts` (empty = any host), replacing
    /// whatever served it there before: the caller checks for conflicts first.
    pub(super) fn insert(&mut self, base_path: &str, vhosts: &[Arc<str>], index: usize) {
        let node = self.node_or_insert(base_path);
        let slot = self.nodes[node].slot.get_or_insert_with(|| Slot::new(base_path));
        if vhosts.is_empty() {
            slot.any_host = Some(index);
        }
        for host in vhosts {
            slot.hosts.insert(host.clone(), index);
        }
    }

    /// The API index and canonical base path for a request: the deepest node along `path`
    /// whose slot serves `host`.
    pub(super) fn select(&self, host: &str, path: &str) -> Option<(usize, &str)> {
        let mut node = self.nodes.first()?;
        let mut best = node.slot.as_ref().and_then(|slot| slot.serving(host));
        for segment in segments(path) {
            let Some(child) = node.children.get(segment).and_then(|&i| self.nodes.get(i)) else {
                break;
            };
            node = child;
            best = node.slot.as_ref().and_then(|slot| slot.serving(host)).or(best);
        }
        best
    }

    fn node_or_insert(&mut self, base_path: &str) -> usize {
        let mut node = 0;
        for segment in segments(base_path) {
            node = match self.nodes[node].children.get(segment) {
                Some(&child) => child,
                None => {
                    let child = self.nodes.len();
                    self.nodes.push(Node::default());
                    self.nodes[node].children.insert(segment.into(), child);
                    child
                }
            };
        }
        node
    }
}

// === impl Slot ===

impl Slot {
    fn new(base_path: &str) -> Self {
        let canonical: String = segments(base_path).flat_map(|segment| ["/", segment]).collect();
        Slot { base_path: canonical.into(), any_host: None, hosts: HashMap::default() }
    }

    /// The API that serves this base path on `host`: the one naming the host, else the
    /// any-host one.
    fn serving(&self, host: &str) -> Option<(usize, &str)> {
        let index = self.hosts.get(host).or(self.any_host.as_ref())?;
        Some((*index, &self.base_path))
    }

    /// The API serving this base path on any host.
    pub(super) fn any_host(&self) -> Option<usize> {
        self.any_host
    }

    /// The API serving this base path on `host`, not counting the any-host one.
    pub(super) fn named_host(&self, host: &str) -> Option<usize> {
        self.hosts.get(host).copied()
    }
}
