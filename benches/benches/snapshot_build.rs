//! Building a snapshot of 10,000 APIs from wire DTOs (validation, catalog, route table,
//! enforcement indexes), also from the JSON body as the control plane sends it, the swap into
//! the `SnapshotStore`, and the incremental rebuild after one event. The target: the full
//! build in at most 50 ms. With mimalloc, as the gateway binary (glibc malloc was half of
//! the full build).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use tollgate_adapter::dto::{Document, Event, EventKind, RawEntity};
use tollgate_adapter::{Catalog, SnapshotBuilder};
use tollgate_router::SnapshotStore;

/// The allocator the gateway binary uses: building a snapshot is allocation-heavy.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const APIS: usize = 10_000;
const NOW: u64 = 1_700_000_000;

fn api(i: usize) -> Value {
    json!({
        "id": format!("api-{i}"),
        "name": format!("Service{i}"),
        "version": "v1",
        "context": format!("/svc{i}"),
        "isDefaultVersion": i.is_multiple_of(2),
        "vhosts": if i.is_multiple_of(10) { json!([format!("h{i}.example.com")]) } else { json!([]) },
        "throttlingPolicy": "10KPerMin",
        "endpoints": {
            "production": {"urls": [format!("http://10.0.{}.{}:8080/api", i / 250, i % 250)], "timeoutMs": 10_000},
            "sandbox": {"urls": ["http://127.0.0.1:9002"], "retries": {"count": 2, "statusCodes": [502, 503]}}
        },
        "cors": {"allowOrigins": ["https://app.example.com"], "allowMethods": ["GET", "POST"]},
        "operations": [
            {"target": "/items", "verb": "GET"},
            {"target": "/items", "verb": "POST", "scopes": ["items:write"]},
            {"target": "/items/{id}", "verb": "GET"},
            {"target": "/items/{id}", "verb": "DELETE", "scopes": ["items:admin"], "throttlingPolicy": "20KPerMin"},
            {"target": "/health", "verb": "GET", "secured": false},
            {"target": "/files/*", "verb": "*"}
        ]
    })
}

fn document() -> Document {
    let subscription = |i: usize| {
        let sub = json!({"id": format!("sub-{i}"), "apiId": format!("api-{i}"), "applicationId": format!("app-{i}"),
            "policy": "Gold", "status": "UNBLOCKED"});
        RawEntity::new(sub)
    };
    Document {
        apis: (0..APIS).map(|i| RawEntity::new(api(i))).collect(),
        applications: (0..1_000)
            .map(|i| RawEntity::new(json!({"id": format!("app-{i}"), "policy": "50PerMin"})))
            .collect(),
        subscriptions: (0..1_000).map(subscription).collect(),
        ..Document::default()
    }
}

/// The same snapshot as JSON, as the control plane sends it.
fn snapshot_body() -> Vec<u8> {
    let subscriptions: Vec<Value> = (0..1_000)
        .map(|i| {
            json!({"id": format!("sub-{i}"), "apiId": format!("api-{i}"), "applicationId": format!("app-{i}"),
            "policy": "Gold", "status": "UNBLOCKED"})
        })
        .collect();
    let snapshot = json!({
        "revision": 1, "environment": "default",
        "apis": (0..APIS).map(api).collect::<Vec<_>>(),
        "applications": (0..1_000).map(|i| json!({"id": format!("app-{i}"), "policy": "50PerMin"})).collect::<Vec<_>>(),
        "subscriptions": subscriptions,
    });
    serde_json::to_vec(&snapshot).unwrap_or_default()
}

/// A catalog and builder holding the 10k-API snapshot, for incremental updates.
fn loaded(document: &Document) -> (Catalog, SnapshotBuilder) {
    let mut catalog = Catalog::new();
    let rejected = catalog.replace(document);
    assert!(rejected.is_empty(), "{rejected:?}");
    let mut builder = SnapshotBuilder::new();
    let built = builder.build(&mut catalog, 1, NOW, rejected);
    assert_eq!(built.snapshot.routes.len(), APIS);
    (catalog, builder)
}

fn build(c: &mut Criterion) {
    let document = document();
    let mut group = c.benchmark_group("snapshot_build");
    group.sample_size(20);
    // The old catalog and snapshot are dropped outside the measurement: the applier releases
    // a retired snapshot on the config path, after the swap.
    group.bench_function("full_10k_apis_from_dtos", |b| {
        b.iter_with_large_drop(|| {
            let mut catalog = Catalog::new();
            let rejected = catalog.replace(black_box(&document));
            let built = SnapshotBuilder::new().build(&mut catalog, 1, NOW, rejected);
            (catalog, built)
        });
    });
    // The control-plane path: the snapshot as received, entities kept as text and parsed
    // one at a time on the validating threads.
    let body = snapshot_body();
    group.bench_function("full_10k_apis_from_json", |b| {
        b.iter_with_large_drop(|| {
            let document = Document::from_json_with_text(black_box(&body)).unwrap_or_default();
            let mut catalog = Catalog::new();
            let rejected = catalog.replace(&document);
            let built = SnapshotBuilder::new().build(&mut catalog, 1, NOW, rejected);
            (document, catalog, built)
        });
    });
    group.bench_function("unchanged_replace_10k_apis", |b| {
        let (mut catalog, mut builder) = loaded(&document);
        b.iter_with_large_drop(|| {
            let rejected = catalog.replace(black_box(&document));
            builder.build(&mut catalog, 2, NOW, rejected)
        });
    });
    group.bench_function("one_subscription_event", |b| {
        let (mut catalog, mut builder) = loaded(&document);
        let payload = json!({"id": "sub-x", "apiId": "api-1", "applicationId": "app-2", "status": "UNBLOCKED"});
        let event = Event { revision: 2, kind: EventKind::SubscriptionUpserted, payload };
        b.iter(|| {
            let rejected = catalog.apply_event(black_box(&event));
            black_box(builder.build(&mut catalog, 2, NOW, rejected))
        });
    });
    group.bench_function("one_api_event", |b| {
        let (mut catalog, mut builder) = loaded(&document);
        let mut revision = 1;
        b.iter_batched(
            || {
                revision += 1;
                let mut payload = api(7);
                payload["operations"][0]["target"] = json!(format!("/items{revision}"));
                Event { revision, kind: EventKind::ApiDeployed, payload }
            },
            |event| {
                let rejected = catalog.apply_event(&event);
                black_box(builder.build(&mut catalog, event.revision, NOW, rejected))
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn swap(c: &mut Criterion) {
    let (mut catalog, mut builder) = loaded(&document());
    let snapshot = builder.build(&mut catalog, 2, NOW, Vec::new()).snapshot;
    let store = SnapshotStore::new();
    c.bench_function("snapshot_store_swap", |b| b.iter(|| store.store(Arc::clone(black_box(&snapshot)))));
}

criterion_group!(benches, build, swap);
criterion_main!(benches);
