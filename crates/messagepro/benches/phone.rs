//! `Phone` parse + validate + E.164 on a mixed-country corpus (local and international forms).
//! Target (DESIGN.md): ≤ 2 µs median per number.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use messagepro::Phone;

const CORPUS: &[(&str, &str)] = &[
    ("621 23 45 67", "GN"),
    ("+224 621 23 45 67", "GN"),
    ("00224621234567", "GN"),
    ("77 123 45 67", "SN"),
    ("+221771234567", "SN"),
    ("07 07 12 34 56", "CI"),
    ("+225 0707123456", "CI"),
    ("65 01 23 45", "ML"),
    ("06 12 34 56 78", "FR"),
    ("+33 6 12 34 56 78", "FR"),
    ("(202) 555-0173", "US"),
    ("+1 202 555 0173", "US"),
    ("0803 123 4567", "NG"),
    ("+234 803 123 4567", "NG"),
    ("0612-345678", "MA"),
    ("+212 612 345 678", "MA"),
    ("6 71 23 45 67", "CM"),
    ("70 12 34 56", "BF"),
    ("0812345678", "CD"),
    ("0470 12 34 56", "BE"),
    ("+32 470 12 34 56", "BE"),
];

fn bench(c: &mut Criterion) {
    // Sanity: every corpus entry must be a valid number, or the figure would measure failures.
    for (n, r) in CORPUS {
        Phone::parse(n, r).unwrap_or_else(|e| panic!("{n} ({r}): {e}"));
    }
    let mut g = c.benchmark_group("phone");
    g.throughput(criterion::Throughput::Elements(CORPUS.len() as u64));
    g.bench_function("parse_validate_e164_mixed_corpus", |b| {
        b.iter(|| {
            for (n, r) in CORPUS {
                let p = Phone::parse(black_box(n), black_box(r)).unwrap();
                black_box(p.e164());
            }
        })
    });
    // Baseline, same run: rlibphonenumber called directly (parse + is_valid + E.164), so the
    // ratio shows what the `Phone` wrapper (region lookup, owned strings) costs on top.
    let regions: Vec<rlibphonenumber::Region> = CORPUS
        .iter()
        .map(|(_, r)| rlibphonenumber::Region::from_code(r).unwrap())
        .collect();
    g.bench_function("baseline_rlibphonenumber_direct", |b| {
        b.iter(|| {
            for ((n, _), r) in CORPUS.iter().zip(&regions) {
                let p = rlibphonenumber::PHONE_NUMBER_UTIL
                    .parse(black_box(n), Some(*r))
                    .unwrap();
                assert!(p.is_valid());
                black_box(p.format_as(rlibphonenumber::PhoneNumberFormat::E164));
            }
        })
    });
    g.finish();
    c.bench_function("phone/parse_one_local_gn", |b| {
        b.iter(|| Phone::parse(black_box("621 23 45 67"), "GN").unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
