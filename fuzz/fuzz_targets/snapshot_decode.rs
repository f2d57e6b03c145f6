#![no_main]
//! Control-plane and file input through the adapter's decode + validate + build path: the
//! bytes as a JSON snapshot (also keeping entity texts, as the control-plane source does), as
//! a last-known-good state file, as an events page (applied to a catalog), and as a YAML
//! partial snapshot. Nothing here may panic, whatever the input.

use libfuzzer_sys::fuzz_target;
use tollgate_adapter::dto::{Document, EventPage};
use tollgate_adapter::{Catalog, SavedState, SnapshotBuilder};

fuzz_target!(|data: &[u8]| {
    let mut catalog = Catalog::new();
    let mut builder = SnapshotBuilder::new();
    if let Ok(document) = Document::from_json(data) {
        let rejected = catalog.replace(&document);
        let _ = builder.build(&mut catalog, 1, 0, rejected);
    }
    if let Ok(document) = Document::from_json_with_text(data) {
        let rejected = catalog.replace(&document);
        let _ = builder.build(&mut catalog, 2, 0, rejected);
    }
    if let Ok(saved) = SavedState::from_json(data) {
        let rejected = catalog.replace(&saved.document);
        let _ = builder.build(&mut catalog, saved.revision, 0, rejected);
    }
    if let Ok(page) = EventPage::from_json(data) {
        for event in &page.events {
            let rejected = catalog.apply_event(event);
            let _ = builder.build(&mut catalog, event.revision, 0, rejected);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(document) = Document::from_yaml(text) {
            let rejected = catalog.replace(&document);
            let _ = builder.build(&mut catalog, 3, 0, rejected);
        }
    }
});
