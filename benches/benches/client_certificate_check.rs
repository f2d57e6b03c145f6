//! Client-certificate decision (client.md, "Credentials (securitySchemes mutualssl)"): a leaf
//! issued by a listed CA, decided once per connection with webpki (`uncached`: path building
//! and the CA's ECDSA signature) and then remembered (`cached`: one uncontended lock, a pointer
//! compare and a validity check). Aim for the cached decision: ≤ a few µs.

#![allow(clippy::expect_used, reason = "bench setup: a broken fixture must fail loudly")]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tollgate_enforcer::client_cert::{ClientCertificate, ClientCertificates, PresentedChain};

/// Ten listed entries (nine unrelated leaves, then the CA) and a leaf of that CA.
fn fixture() -> (Arc<ClientCertificates>, Vec<rcgen::Certificate>) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("key");
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let issuer = Issuer::new(ca_params, ca_key);
    let mut entries: Vec<ClientCertificate> = (0..9)
        .map(|i| {
            let key = KeyPair::generate().expect("key");
            let leaf = CertificateParams::new(vec![format!("other-{i}")]).and_then(|p| p.self_signed(&key));
            ClientCertificate::from_pem("api", &format!("other-{i}"), &leaf.expect("leaf").pem(), None).expect("entry")
        })
        .collect();
    entries.push(ClientCertificate::from_pem("api", "ca", &ca.pem(), Some("Gold")).expect("CA entry"));
    let leaves = (0..2)
        .map(|_| {
            let key = KeyPair::generate().expect("key");
            CertificateParams::new(vec!["client".to_owned()]).and_then(|p| p.signed_by(&key, &issuer)).expect("leaf")
        })
        .collect();
    (Arc::new(ClientCertificates::new(entries)), leaves)
}

fn client_certificate_check(c: &mut Criterion) {
    let (listed, leaves) = fixture();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs();
    let chain = |leaf: &rcgen::Certificate| PresentedChain::new(vec![leaf.der().clone()]).expect("a chain");
    let connection = chain(&leaves[0]);
    assert!(listed.accept(&connection, now).is_ok(), "the leaf of the listed CA is accepted");
    let mut group = c.benchmark_group("client_certificate_check");
    group.bench_function("cached", |b| b.iter(|| listed.accept(black_box(&connection), now).is_ok()));
    group.bench_function("uncached", |b| {
        b.iter_batched(
            || chain(&leaves[1]),
            |fresh| listed.accept(&fresh, now).is_ok(),
            criterion::BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4)).sample_size(60);
    targets = client_certificate_check
}
criterion_main!(benches);
