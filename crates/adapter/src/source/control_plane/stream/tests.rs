use serde_json::{Value, json};

use super::*;
use crate::dto::Event;
use crate::engine::Action;
use crate::rejected::EntityKind;

fn event(revision: u64, kind: &str, payload: Value) -> Event {
    Event { revision, kind: EventKind::parse(kind.to_owned()), payload }
}

fn page(revision: u64, events: Vec<Event>) -> EventPage {
    EventPage { revision, events }
}

fn kinds(taken: &Taken) -> Vec<(EntityKind, Action, &str)> {
    taken.changes.iter().map(|change| (change.kind, change.action, change.name.as_str())).collect()
}

#[test]
fn contiguous_events_become_changes_and_unknown_types_are_skipped() {
    let events = vec![
        event(11, "API_DEPLOYED", json!({"id": "b"})),
        event(12, "SOMETHING_NEW", json!({})),
        event(13, "APPLICATION_DELETED", json!({"id": "app"})),
    ];
    let taken = take(10, page(13, events));
    assert_eq!((taken.revision, taken.discontinuity.clone()), (13, None));
    assert_eq!(
        kinds(&taken),
        [(EntityKind::Api, Action::Upsert, "event 11"), (EntityKind::Application, Action::Delete, "event 13")]
    );
    assert_eq!(taken.changes[0].payload, json!({"id": "b"}));
    assert_eq!(taken.skipped, [EventKind::Unknown("SOMETHING_NEW".into())]);
    assert_eq!(take(13, page(13, Vec::new())), Taken { revision: 13, ..Taken::default() }, "an empty page");
}

#[test]
fn a_gap_takes_the_events_before_it_and_asks_for_a_snapshot() {
    let events = vec![event(11, "API_DEPLOYED", json!({"id": "b"})), event(13, "API_DEPLOYED", json!({"id": "c"}))];
    let taken = take(10, page(13, events));
    assert_eq!(taken.discontinuity, Some(Discontinuity::Gap { expected: 12, found: 13 }));
    assert_eq!((taken.revision, kinds(&taken)), (11, vec![(EntityKind::Api, Action::Upsert, "event 11")]));
    let replayed = take(11, page(11, vec![event(11, "API_DEPLOYED", json!({"id": "d"}))]));
    assert_eq!(replayed.discontinuity, Some(Discontinuity::Gap { expected: 12, found: 11 }), "a replayed event");
    assert_eq!((replayed.revision, replayed.changes.len()), (11, 0));
}

#[test]
fn pages_that_contradict_the_revision_held_ask_for_a_snapshot() {
    let missing = take(10, page(12, Vec::new())).discontinuity;
    assert_eq!(missing, Some(Discontinuity::Missing { after: 10, newest: 12 }));
    let behind = take(10, page(4, Vec::new())).discontinuity;
    assert_eq!(behind, Some(Discontinuity::Behind { after: 10, newest: 4 }));
    let short = take(10, page(10, vec![event(11, "API_DEPLOYED", json!({"id": "b"}))])).discontinuity;
    assert_eq!(short, Some(Discontinuity::Behind { after: 11, newest: 10 }));
    assert_eq!(Discontinuity::Gone { after: 1 }.reason(), SyncFailure::Resync);
    assert_eq!(Discontinuity::Undecodable("x".into()).reason(), SyncFailure::Decode);
}
