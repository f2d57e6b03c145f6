#![no_main]
//! API-M's runtime-artifacts zip through the WSO2 mapping: read within small bounds (so that
//! a bomb is found fast), then every API project it holds mapped onto an Api and validated,
//! and the same bytes as one apictl project file. Nothing here may panic, whatever the input.

use libfuzzer_sys::fuzz_target;
use tollgate_adapter::wso2::{ApiProject, ArchiveLimits, Entry, Placement, RuntimeArtifacts, api_from_project};
use tollgate_router::api::Api;

const LIMITS: ArchiveLimits = ArchiveLimits {
    max_compressed_bytes: 1024 * 1024,
    max_expanded_bytes: 4 * 1024 * 1024,
    max_entry_bytes: 1024 * 1024,
    max_entries: 256,
    max_nesting: 1,
    max_ratio: 200,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(artifacts) = RuntimeArtifacts::from_zip(data, LIMITS) {
        for deployed in &artifacts.apis {
            let placement = deployed.placement(&["Default"], &artifacts.env_properties);
            if let (Ok(project), Ok(placement)) = (&deployed.project, placement) {
                map(project, &placement.unwrap_or_default());
            }
        }
    }
    let files = [Entry { name: "api.yaml".to_owned(), bytes: data.to_vec() }];
    if let Ok(project) = ApiProject::from_files(&files) {
        map(&project, &Placement::default());
    }
});

fn map(project: &ApiProject, placement: &Placement) {
    if let Ok(dto) = api_from_project(project, placement) {
        let _ = Api::try_from(dto);
    }
}
