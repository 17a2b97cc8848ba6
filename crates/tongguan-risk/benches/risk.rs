//! Risk evaluation benchmark (divan): 10,000 control instructions (布控指令), 5-item
//! declarations. `cargo bench -p tongguan-risk`; numbers in BENCHMARKS.md ("Risk evaluation").
//! Percentiles (p50/p99/p99.9) come from `examples/risk_latency.rs`.

use std::sync::LazyLock;

use divan::{Bencher, counter::ItemsCount};
use tongguan_risk::{RandomPolicy, RuleSet};

#[path = "common/workload.rs"]
mod workload;

use workload::Decl;

static RULES: LazyLock<RuleSet> = LazyLock::new(workload::rule_set);
static DECLS: LazyLock<Vec<Decl>> = LazyLock::new(|| workload::declarations(4_096, 5, 2026));

fn main() {
    divan::main();
}

/// One 5-item declaration against the indexed 10,000 instructions.
#[divan::bench(sample_count = 1000, sample_size = 10)]
fn evaluate_indexed(bencher: Bencher) {
    let rules = &*RULES;
    let decls = &*DECLS;
    let at = workload::at();
    let mut n = 0usize;
    bencher
        .counter(ItemsCount::new(1usize))
        .with_inputs(|| {
            n = (n + 1) % decls.len();
            &decls[n]
        })
        .bench_local_values(|d| rules.evaluate(&d.subject(), 7, at));
}

/// The same, checking every instruction (the baseline the index is measured against).
#[divan::bench(sample_count = 100, sample_size = 5)]
fn evaluate_linear(bencher: Bencher) {
    let rules = &*RULES;
    let decls = &*DECLS;
    let at = workload::at();
    let mut n = 0usize;
    bencher
        .counter(ItemsCount::new(1usize))
        .with_inputs(|| {
            n = (n + 1) % decls.len();
            &decls[n]
        })
        .bench_local_values(|d| rules.evaluate_linear(&d.subject(), 7, at));
}

/// Compiling 10,000 instructions (what the server does on every change before the swap).
#[divan::bench(sample_count = 10, sample_size = 1)]
fn compile_10k(bencher: Bencher) {
    let instructions = workload::instructions(workload::INSTRUCTIONS);
    bencher
        .with_inputs(|| instructions.clone())
        .bench_local_values(|i| RuleSet::compile(i, RandomPolicy::default()));
}
