//! Latency percentiles and a one-line report, shared by the risk examples
//! (`examples/risk_latency.rs`, `examples/zen_compare.rs`).

use std::time::Duration;

/// The `p` quantile (0..=1) of sorted samples, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Prints n, p50 / p99 / p99.9 / max and evaluations per second over `wall`; returns the
/// rate.
pub fn report(name: &str, mut samples: Vec<Duration>, wall: Duration) -> f64 {
    samples.sort_unstable();
    let n = samples.len();
    let per_sec = n as f64 / wall.as_secs_f64();
    println!(
        "{name:<10} n={n:>7}  p50 {:>9.2?}  p99 {:>9.2?}  p99.9 {:>9.2?}  max {:>9.2?}  {:>10.0} evals/s (wall {:.2?})",
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
        percentile(&samples, 0.999),
        samples[n - 1],
        per_sec,
        wall,
    );
    per_sec
}
