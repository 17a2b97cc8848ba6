//! Per-declaration latency of risk evaluation (布控判别): times N = 100,000 evaluations of
//! 5-item declarations one by one against 10,000 control instructions and prints
//! p50 / p99 / p99.9 and evaluations per second on one core, then the same for a naive linear
//! scan over all instructions and the ratio. Numbers in BENCHMARKS.md ("Risk evaluation").
//!
//! `cargo run --release -p tongguan-risk --example risk_latency [N]`

use std::hint::black_box;
use std::time::Instant;

use tongguan_risk::{RandomPolicy, RuleSet};

#[path = "../benches/common/workload.rs"]
mod workload;

#[path = "../benches/common/stats.rs"]
mod stats;

use stats::report;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let at = workload::at();

    let instructions = workload::instructions(workload::INSTRUCTIONS);
    let t = Instant::now();
    let rules = RuleSet::compile(instructions, RandomPolicy::default());
    let compile = t.elapsed();
    assert!(rules.skipped().is_empty());
    println!(
        "compiled {} instructions in {compile:.2?}: {rules:?}",
        rules.len()
    );
    let decls = workload::declarations(n, 5, 2026);

    // What the workload does: hits per declaration and how often something is selected.
    let (mut hits, mut selected, mut by_instruction, mut in_force) =
        (0usize, 0usize, 0usize, 0usize);
    for d in &decls {
        let a = rules.evaluate(&d.subject(), 1, at);
        hits += a.hits.len();
        selected += usize::from(a.selected);
        by_instruction += usize::from(a.hits.iter().any(|h| h.selected));
    }
    for i in rules.instructions() {
        in_force += usize::from(i.is_valid_at(at));
    }
    println!(
        "{in_force} instructions in force; per declaration {:.2} hits; selected {:.2}% ({:.2}% by an instruction)",
        hits as f64 / n as f64,
        100.0 * selected as f64 / n as f64,
        100.0 * by_instruction as f64 / n as f64,
    );

    // Indexed: each evaluation timed on its own.
    let mut samples = Vec::with_capacity(n);
    let wall = Instant::now();
    for (k, d) in decls.iter().enumerate() {
        let s = d.subject();
        let t = Instant::now();
        black_box(rules.evaluate(black_box(&s), k as u64, at));
        samples.push(t.elapsed());
    }
    let wall = wall.elapsed();
    let indexed = report("indexed", samples, wall);

    // Throughput without the per-call timer.
    let t = Instant::now();
    for (k, d) in decls.iter().enumerate() {
        black_box(rules.evaluate(black_box(&d.subject()), k as u64, at));
    }
    let untimed = n as f64 / t.elapsed().as_secs_f64();
    println!("indexed  untimed loop: {untimed:.0} evals/s on one core");

    // Naive linear scan over every instruction, on a sample (it is slow), same declarations.
    let m = (n / 20).clamp(1, 5_000);
    let mut samples = Vec::with_capacity(m);
    let wall = Instant::now();
    for (k, d) in decls.iter().take(m).enumerate() {
        let s = d.subject();
        let t = Instant::now();
        black_box(rules.evaluate_linear(black_box(&s), k as u64, at));
        samples.push(t.elapsed());
    }
    let wall = wall.elapsed();
    let linear = report("linear", samples, wall);
    for (k, d) in decls.iter().take(m).enumerate() {
        let s = d.subject();
        assert_eq!(
            rules.evaluate(&s, k as u64, at),
            rules.evaluate_linear(&s, k as u64, at),
            "index and linear scan disagree"
        );
    }
    println!(
        "indexed / linear throughput: {:.1}x (results identical on {m} declarations)",
        indexed / linear
    );
}
