//! The token check on the connect path: one RS256 verification (header peek,
//! key selection, signature, claims) of a device token, as the WebSocket
//! upgrade and every REST call do it. The RSA signature check is most of it
//! (see docs/CAPACITY.md, "The hot path (issue 12)").

use std::time::Duration;

use baton_auth::{AuthConfig, KeySource, Minter, Scope, Verifier};
use criterion::{criterion_group, criterion_main, Criterion};

const KEY: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../transport/tests/fixtures/test_rsa.pem"
));
const PUB: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../transport/tests/fixtures/test_rsa.pub.pem"
));
const NOW: u64 = 1_700_000_000;

fn verify(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cfg = AuthConfig::new(
        "baton-bench",
        "baton",
        KeySource::Pem {
            public_pem: PUB.to_owned(),
        },
    );
    let verifier = rt.block_on(Verifier::new(cfg)).expect("verifier");
    let minter = Minter::from_private_pem(KEY, "baton-bench", "baton").expect("minter");
    let token = minter
        .mint(
            "u42",
            Some("tv-living"),
            &[Scope::ReadWatchlist, Scope::WriteWatchlist],
            Duration::from_secs(3600),
            NOW,
        )
        .expect("token");
    let mut g = c.benchmark_group("token");
    g.bench_function("verify_rs256_device_token", |b| {
        b.iter(|| verifier.verify_at(std::hint::black_box(&token), NOW + 1))
    });
    g.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
