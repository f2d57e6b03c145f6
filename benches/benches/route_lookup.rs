//! Route lookup on a 10,000-API table, beside a naive baseline (a linear scan over the APIs
//! with string prefix checks), and path normalisation on a clean and a dirty path.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use http::Method;
use tollgate_benches::{route_table, synthetic_apis};
use tollgate_router::api::{Api, Operation, Segment};
use tollgate_router::path::normalise;
use tollgate_router::route::{RouteMatch, RouteTable};

const APIS: usize = 10_000;

/// (name, host, method, path) of the lookups measured.
const LOOKUPS: [(&str, &str, Method, &str); 5] = [
    ("hit_deep", "any.example", Method::GET, "/svc1234/v2/catalog/categories/books/products/42"),
    ("hit_param", "any.example", Method::GET, "/svc2000/v1/items/77"),
    ("hit_vhost", "a.example", Method::GET, "/svc1502/v1/items/77/reviews/3"),
    ("miss_base_path", "any.example", Method::GET, "/svc9999/v1/items/77"),
    ("miss_operation", "any.example", Method::GET, "/svc1234/v2/unknown/77"),
];

fn lookups(c: &mut Criterion) {
    let apis = synthetic_apis(APIS);
    let table = match route_table(&apis) {
        Ok(table) => table,
        Err(conflict) => panic!("synthetic APIs conflict: {conflict}"),
    };
    let mut group = c.benchmark_group("route_find_10k");
    for (name, host, method, path) in &LOOKUPS {
        let expected = name.starts_with("hit");
        assert_eq!(found(&table, host, method, path), expected, "route table: {name}");
        assert_eq!(naive_find(&apis, host, method, path).is_some(), expected, "baseline: {name}");
        group.bench_function(BenchmarkId::new("route_table", name), |b| {
            b.iter(|| found(&table, black_box(host), black_box(method), black_box(path)));
        });
        group.bench_function(BenchmarkId::new("naive_linear", name), |b| {
            b.iter(|| naive_find(black_box(&apis), black_box(host), black_box(method), black_box(path)).is_some());
        });
    }
    group.finish();
}

fn normalisation(c: &mut Criterion) {
    let paths = [
        ("clean", "/svc1234/v2/catalog/categories/books/products/42"),
        ("dirty", "//svc1234/%76%32//catalog/categories/%62ooks%20and%20more/products/%34%32/"),
    ];
    let mut group = c.benchmark_group("normalise");
    for (name, path) in paths {
        group.bench_function(name, |b| b.iter(|| normalise(black_box(path)).map(|p| p.len())));
    }
    group.finish();
}

fn found(table: &RouteTable, host: &str, method: &Method, path: &str) -> bool {
    matches!(table.find(host, method, path), RouteMatch::Found(_))
}

/// The baseline: every API's every base path is tried with a string prefix check, the
/// longest wins; then its operations in document order.
fn naive_find<'a>(apis: &'a [Arc<Api>], host: &str, method: &Method, path: &str) -> Option<&'a Operation> {
    let mut best: Option<(&Arc<Api>, usize)> = None;
    for api in apis {
        if !api.vhosts.is_empty() && !api.vhosts.iter().any(|vhost| &**vhost == host) {
            continue;
        }
        for base_path in &api.base_paths {
            let on_boundary = path.get(base_path.len()..).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
            if path.starts_with(&**base_path) && on_boundary && best.is_none_or(|(_, len)| base_path.len() > len) {
                best = Some((api, base_path.len()));
            }
        }
    }
    let (api, len) = best?;
    let rest = path.get(len..)?;
    api.operations.iter().find(|op| op.verb.accepts(method) && naive_matches(op.template.segments(), rest))
}

fn naive_matches(template: &[Segment], rest: &str) -> bool {
    let path: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    for (i, segment) in template.iter().enumerate() {
        match segment {
            Segment::Rest => return true,
            Segment::Literal(literal) if path.get(i) == Some(&&**literal) => {}
            Segment::Param(_) if path.get(i).is_some() => {}
            Segment::Literal(_) | Segment::Param(_) => return false,
        }
    }
    path.len() == template.len()
}

criterion_group!(benches, lookups, normalisation);
criterion_main!(benches);
