//! `sms::analyze` on short, long (multi-segment) and Unicode texts.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use messagepro::sms::analyze;

fn bench(c: &mut Criterion) {
    let short = "Votre code est 483920. Il expire dans 5 minutes.";
    let long = "Bonjour, votre commande n°1234 a été expédiée à Conakry. ".repeat(12);
    let unicode = "« Votre commande est prête » 🎉 Merci de votre confiance ! ".repeat(6);
    let mut g = c.benchmark_group("sms_analyze");
    g.bench_function("short_gsm7", |b| b.iter(|| analyze(black_box(short))));
    g.bench_function("long_gsm7_5_segments", |b| {
        b.iter(|| analyze(black_box(&long)))
    });
    g.bench_function("unicode_ucs2", |b| b.iter(|| analyze(black_box(&unicode))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
