use std::sync::Arc;

use super::base_paths::BasePaths;
use super::{Entry, RouteTable};
use crate::api::Api;

/// Collects the APIs of a snapshot into a [`RouteTable`], refusing route conflicts.
#[derive(Debug, Default)]
pub struct RouteTableBuilder {
    entries: Vec<Entry>,
    base_paths: BasePaths,
}

/// Two APIs serve the same base path on a shared vhost (model.md, Api): the later one is
/// refused. An any-host API and a host-specific one may share a base path (the
/// host-specific one wins for its hosts); two any-host APIs may not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("base path {base_path} is already served by API {existing}{}", on_host(.vhost.as_deref()))]
pub struct RouteConflict {
    /// The base path, as the refused API gives it.
    pub base_path: Arc<str>,
    /// The id of the API that already serves it.
    pub existing: Arc<str>,
    /// The shared vhost; `None` when both APIs serve any host.
    pub vhost: Option<Arc<str>>,
}

// === impl RouteTableBuilder ===

impl RouteTableBuilder {
    /// Adds an API at each of its `base_paths`, on its vhosts (empty = any host).
    ///
    /// Refuses, and adds nothing, when one of its base paths is already served by another
    /// API on one of the same vhosts, or when both serve any host.
    pub fn insert(&mut self, api: Arc<Api>) -> Result<(), RouteConflict> {
        for base_path in &api.base_paths {
            self.check(base_path, &api.vhosts)?;
        }
        let index = self.entries.len();
        for base_path in &api.base_paths {
            self.base_paths.insert(base_path, &api.vhosts, index);
        }
        self.entries.push(Entry::new(api));
        Ok(())
    }

    pub fn build(self) -> RouteTable {
        let requests_client_certificates = self.entries.iter().any(|entry| entry.api.guard.schemes.mutual_tls);
        RouteTable { entries: self.entries.into(), base_paths: self.base_paths, requests_client_certificates }
    }

    fn check(&self, base_path: &Arc<str>, vhosts: &[Arc<str>]) -> Result<(), RouteConflict> {
        let Some(slot) = self.base_paths.slot(base_path) else {
            return Ok(());
        };
        let taken = if vhosts.is_empty() {
            slot.any_host().map(|index| (index, None))
        } else {
            vhosts.iter().find_map(|host| slot.named_host(host).map(|index| (index, Some(host.clone()))))
        };
        match taken.and_then(|(index, vhost)| Some((self.entries.get(index)?, vhost))) {
            None => Ok(()),
            Some((entry, vhost)) => {
                Err(RouteConflict { base_path: base_path.clone(), existing: entry.api.id().clone(), vhost })
            }
        }
    }
}

fn on_host(vhost: Option<&str>) -> String {
    vhost.map(|host| format!(" on host {host}")).unwrap_or_default()
}
