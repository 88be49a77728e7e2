//! Matching throughput on one core: `cargo bench -p herald-match --bench match`.
//!
//! Triggers are shaped like real ERC-20 monitoring: `address eq <token>` plus `arguments.from eq` or
//! `arguments.to eq <holder>` plus `arguments.value gt <threshold>`, over 100 tokens. Events are
//! decoded Transfer logs, half of them aimed at some trigger's holder and token, half at nobody. For
//! 1k, 10k and 100k triggers it prints
//! `match: triggers=N events/s=X naive_events/s=Y speedup=Z`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::{hint::black_box, time::Instant};

use herald_core::{FieldType, Filter, Op};
use herald_match::{Matcher, NaiveMatcher, TriggerId, compile};
use serde_json::{Value, json};

/// A tiny deterministic generator, so every run measures the same work.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn address(tag: u8, i: u64) -> String {
    format!("0x{tag:02x}{i:038x}")
}

fn schema() -> FieldType {
    support::transfer_schema()
}

const TOKENS: u64 = 100;

fn trigger(i: u64) -> Filter {
    let side = if i.is_multiple_of(2) {
        "arguments.from"
    } else {
        "arguments.to"
    };
    let p = |path: &str, op, v: Value| Filter::predicate(path, op, v).expect("valid path");
    Filter::All(vec![
        p("address", Op::Eq, json!(address(0xaa, i % TOKENS))),
        p(side, Op::Eq, json!(address(0xbb, i))),
        p(
            "arguments.value",
            Op::Gt,
            json!(((i % 1000) * 1_000_000_000_000_000).to_string()),
        ),
    ])
}

fn events(triggers: u64, count: usize, rng: &mut XorShift) -> Vec<Value> {
    (0..count)
        .map(|j| {
            let holder = rng.next() % triggers;
            let value = (rng.next() % 2000) * 1_000_000_000_000_000;
            let (token, from, to) = if j % 2 == 0 {
                // Aimed at trigger `holder`: its token, and its holder on its side.
                let other = address(0xcc, rng.next());
                let mine = address(0xbb, holder);
                let (from, to) = if holder.is_multiple_of(2) {
                    (mine, other)
                } else {
                    (other, mine)
                };
                (address(0xaa, holder % TOKENS), from, to)
            } else {
                (
                    address(0xaa, rng.next() % TOKENS),
                    address(0xcc, rng.next()),
                    address(0xcc, rng.next()),
                )
            };
            json!({
                "address": token,
                "event": "Transfer",
                "arguments": {"from": from, "to": to, "value": value.to_string()}
            })
        })
        .collect()
}

fn main() {
    let schema = schema();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for triggers in [1_000u64, 10_000, 100_000] {
        let compiled: Vec<_> = (0..triggers)
            .map(|i| compile(&trigger(i), &schema).expect("valid trigger"))
            .collect();
        let matcher = Matcher::new();
        matcher.insert_all(
            compiled
                .iter()
                .enumerate()
                .map(|(i, f)| (TriggerId(i as u64), "evm.log", f)),
        );
        let mut naive = NaiveMatcher::new();
        for (i, f) in compiled.iter().enumerate() {
            naive.insert(TriggerId(i as u64), "evm.log", f);
        }

        let sample = events(triggers, 200_000, &mut rng);
        let snapshot = matcher.snapshot();
        let mut out = Vec::new();
        let mut matched = 0usize;
        let rounds = 5;
        let start = Instant::now();
        for _ in 0..rounds {
            for event in &sample {
                out.clear();
                snapshot.matches_into("evm.log", black_box(event), &mut out);
                matched += out.len();
            }
        }
        let indexed_rate = (rounds * sample.len()) as f64 / start.elapsed().as_secs_f64();

        // The naive scan gets fewer events at large trigger counts; the rate is what matters.
        let naive_events = (20_000_000 / triggers as usize).clamp(50, sample.len());
        let start = Instant::now();
        let mut naive_matched = 0usize;
        for event in &sample[..naive_events] {
            naive_matched += naive.matches("evm.log", black_box(event)).len();
        }
        let naive_rate = naive_events as f64 / start.elapsed().as_secs_f64();

        // Same answers on the naive sample, or the figure means nothing.
        let check: usize = sample[..naive_events]
            .iter()
            .map(|e| snapshot.matches("evm.log", e).len())
            .sum();
        assert_eq!(check, naive_matched, "indexed and naive matchers disagree");
        assert!(matched > 0, "the benchmark must produce matches");

        println!(
            "match: triggers={triggers} events/s={:.0} naive_events/s={:.0} speedup={:.0}",
            indexed_rate,
            naive_rate,
            indexed_rate / naive_rate
        );
    }
}
