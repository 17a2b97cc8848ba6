//! Side by side: our risk engine (布控判别) against GoRules' ZEN engine (zen-engine, a
//! business-rules engine in Rust) on the same 10,000 control instructions, translated
//! automatically into a JDM decision table by [`tongguan_risk::jdm`], and the same 5-item
//! declarations. Checks that both find exactly the same instructions for every declaration
//! and reports evaluations per second of each, measured in this one run, and their ratio.
//! Exits with status 1 when any declaration disagrees.
//!
//! `cargo run --release -p tongguan-risk --features zen --example zen_compare [N]`
//! (N declarations, default 2,000). Numbers in BENCHMARKS.md ("Risk engine against
//! zen-engine").
//!
//! Fairness: both evaluate single-threaded on pre-built inputs (our borrowed `Subject`, ZEN's
//! `Variable`); ZEN's table is compiled (`Decision::compile`, which also builds its column
//! indexes) before timing. Our evaluation does more than ZEN's: it also draws for every hit
//! and for random selection and writes each hit's explanation.

use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::Instant;

use tongguan_risk::jdm;
use uuid::Uuid;
use zen_engine::Decision;
use zen_engine::Variable;
use zen_engine::model::GraphContent;

#[path = "../benches/common/workload.rs"]
mod workload;

#[path = "../benches/common/stats.rs"]
mod stats;

use stats::report;

/// The instruction ids in ZEN's output `{"hits": [[{"instruction": id}, …], …]}`.
fn zen_hits(result: &Variable) -> Result<BTreeSet<Uuid>, String> {
    let value = result.to_value();
    let per_item = value["hits"]
        .as_array()
        .ok_or_else(|| format!("no hits array in {value}"))?;
    let mut ids = BTreeSet::new();
    for item in per_item {
        for hit in item.as_array().ok_or("an item's hits are not a list")? {
            let text = hit["instruction"]
                .as_str()
                .ok_or("hit without instruction")?;
            ids.insert(Uuid::parse_str(text).map_err(|e| e.to_string())?);
        }
    }
    Ok(ids)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000);
    let at = workload::at();
    let rules = workload::rule_set();
    let decls = workload::declarations(n, 5, 2026);

    let t = Instant::now();
    let graph: GraphContent = serde_json::from_value(jdm::decision_graph(&rules))?;
    let mut decision = Decision::from(graph);
    decision.compile();
    println!(
        "translated and compiled {} instructions into a ZEN decision table in {:.2?}",
        rules.len(),
        t.elapsed()
    );
    let inputs: Vec<Variable> = decls
        .iter()
        .map(|d| Variable::from(jdm::decision_input(&d.subject(), at)))
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread().build()?;

    // Agreement first (untimed): the same instructions for every declaration.
    let mut disagree = 0usize;
    let mut hits = 0usize;
    for (k, (d, input)) in decls.iter().zip(&inputs).enumerate() {
        let ours: BTreeSet<Uuid> = rules
            .evaluate(&d.subject(), k as u64, at)
            .hits
            .iter()
            .map(|h| h.instruction_id)
            .collect();
        let response = rt.block_on(decision.evaluate(input.clone()))?;
        let theirs = zen_hits(&response.result)?;
        hits += ours.len();
        if ours != theirs {
            disagree += 1;
            if disagree <= 5 {
                println!(
                    "DISAGREE on declaration {k}: only ours {:?}, only zen {:?}",
                    ours.difference(&theirs).collect::<Vec<_>>(),
                    theirs.difference(&ours).collect::<Vec<_>>()
                );
            }
        }
    }
    println!(
        "agreement: {} of {n} declarations identical ({:.2} matching instructions per declaration)",
        n - disagree,
        hits as f64 / n as f64
    );

    // Ours, each evaluation timed.
    let mut samples = Vec::with_capacity(n);
    let wall = Instant::now();
    for (k, d) in decls.iter().enumerate() {
        let s = d.subject();
        let t = Instant::now();
        black_box(rules.evaluate(black_box(&s), k as u64, at));
        samples.push(t.elapsed());
    }
    let ours = report("tongguan", samples, wall.elapsed());

    // ZEN, the same declarations.
    let mut samples = Vec::with_capacity(n);
    let wall = Instant::now();
    rt.block_on(async {
        for input in &inputs {
            let t = Instant::now();
            let r = decision.evaluate(black_box(input.clone())).await;
            samples.push(t.elapsed());
            black_box(r).map_err(|e| e.to_string())?;
        }
        Ok::<(), String>(())
    })?;
    let zen = report("zen-engine", samples, wall.elapsed());
    println!("tongguan / zen-engine throughput: {:.1}x", ours / zen);
    if disagree > 0 {
        println!("{disagree} declarations disagree");
        std::process::exit(1);
    }
    Ok(())
}
