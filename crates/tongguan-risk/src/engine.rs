//! The compiled instruction set and the evaluation of a declaration against it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tongguan_domain::{Violations, codes::Direction, enterprise::CreditLevel};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::draw::{RANDOM_SELECTION_SALT, draw_millionths};
use crate::index::{Compiled, Head, HeadKey, Index, ItemView, direction_bit, pack};
use crate::model::{ControlAction, ControlInstruction};
use crate::policy::RandomPolicy;
use crate::validate::validate;

/// What is assessed: an accepted declaration's head (报关单表头) and items (表体), borrowed
/// from the caller's own representation (`shared/domain/DECLARATION.md`).
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The declaration (报关单) id; part of every draw.
    pub declaration_id: Uuid,
    /// 境内收发货人 — the domestic consignee / consignor.
    pub enterprise_id: Uuid,
    /// The enterprise's credit level (企业信用等级) on the day, for random selection (M16).
    pub credit_level: CreditLevel,
    /// 进/出口.
    pub direction: Direction,
    /// 监管方式, 4 digits.
    pub trade_mode: &'a str,
    /// 运输方式 code.
    pub transport_mode: &'a str,
    /// 进(出)境关别, 4-digit customs district of entry / exit.
    pub port: &'a str,
    /// 启运国/运抵国, ISO 3166 alpha-3.
    pub departure_country: &'a str,
    /// The items (表体), item number n at index n - 1.
    pub items: &'a [SubjectItem<'a>],
}

/// One declaration item (表体商品项).
#[derive(Debug, Clone, Copy)]
pub struct SubjectItem<'a> {
    /// 商品编号 — 10-digit commodity code.
    pub commodity_code: &'a str,
    /// 原产国(地区), ISO 3166 alpha-3.
    pub origin_country: &'a str,
    /// 成交数量.
    pub quantity: Decimal,
    /// 单价, declared currency.
    pub unit_price: Decimal,
    /// 总价, declared currency.
    pub total_value: Decimal,
}

impl ItemView for SubjectItem<'_> {
    #[inline]
    fn code(&self) -> &[u8] {
        self.commodity_code.as_bytes()
    }
    #[inline]
    fn origin(&self) -> &str {
        self.origin_country
    }
    #[inline]
    fn value(&self) -> Decimal {
        self.total_value
    }
    #[inline]
    fn price(&self) -> Decimal {
        self.unit_price
    }
    #[inline]
    fn quantity(&self) -> Decimal {
        self.quantity
    }
}

/// The outcome of risk evaluation (风险判别结果) for one declaration: whether it is selected
/// for control (布控命中), what action, and why. Drives M1 (no hit → 秒放 on arrival) and M3
/// (the container's "inspect" / "no inspection" tag at the gate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Assessment {
    /// True when any hit was selected or the random draw selected.
    pub selected: bool,
    /// The most severe action among selected hits and the random draw (severity:
    /// physical inspection > sampling > machine scan > document review); `None` = release.
    pub action: Option<ControlAction>,
    /// Every instruction in force that matched, selected or not: selected first, then the more
    /// severe action, then by instruction id.
    pub hits: Vec<Hit>,
    /// The random selection draw (随机布控), always made.
    pub random: RandomDraw,
}

impl Assessment {
    /// The hits whose draw selected the declaration.
    pub fn selected_hits(&self) -> impl Iterator<Item = &Hit> {
        self.hits.iter().filter(|h| h.selected)
    }
}

/// One control instruction (布控指令) that matched the declaration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Hit {
    /// The instruction (布控指令号).
    pub instruction_id: Uuid,
    /// Its action (处置要求).
    pub action: ControlAction,
    /// Its reason (布控理由).
    pub reason: String,
    /// Each condition and how it was met, in the order of [`crate::Conditions`]' fields, e.g.
    /// `commodity_prefix 8471 matched item 2 (8471309000)`, `origin_country JPN matched item
    /// 2`, `trade_mode 0110`.
    pub matched: Vec<String>,
    /// 1-based item number (项号) on which every item-level condition held (the first such
    /// item); `None` for an instruction with head-level conditions only.
    pub item: Option<usize>,
    /// The instruction's selection rate (布控比例).
    #[schema(value_type = String, example = "1")]
    pub rate: Decimal,
    /// The draw for (seed, declaration, instruction), in `[0, 1)` with 6 decimals.
    #[schema(value_type = String, example = "0.318201")]
    pub draw: Decimal,
    /// `draw < rate`.
    pub selected: bool,
}

/// The random selection draw (随机布控) for the declaration (M16, `RULES.md` §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RandomDraw {
    /// The enterprise's credit level used.
    pub credit_level: CreditLevel,
    /// The policy's base rate (routine enterprises).
    #[schema(value_type = String, example = "0.02")]
    pub base_rate: Decimal,
    /// The rate for this credit level ([`RandomPolicy::effective_rate`]).
    #[schema(value_type = String, example = "0.0038")]
    pub effective_rate: Decimal,
    /// The draw for (seed, declaration, [`crate::RANDOM_SELECTION_SALT`]), 6 decimals.
    #[schema(value_type = String, example = "0.731044")]
    pub draw: Decimal,
    /// `draw < effective_rate`.
    pub selected: bool,
    /// The action ordered when selected ([`RandomPolicy::action`]).
    pub action: ControlAction,
}

/// Why [`RuleSet::compile`] left an instruction out.
#[derive(Debug, Clone, PartialEq)]
pub enum SkippedBecause {
    /// It fails [`crate::validate`]; it is never applied.
    Invalid(Violations),
    /// Another instruction with the same id and a greater (or equal, later in the input)
    /// version replaces it, even if that one is itself invalid (a withdrawn version never
    /// comes back).
    Superseded {
        /// The version kept.
        by_version: i64,
    },
}

/// An instruction [`RuleSet::compile`] left out, so the server can log or alert on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// The instruction id.
    pub instruction_id: Uuid,
    /// Its version.
    pub version: i64,
    /// Why.
    pub because: SkippedBecause,
}

/// The compiled, immutable set of control instructions (布控指令集) with the random selection
/// policy (M16). Build once with [`RuleSet::compile`], share behind an `Arc`, and swap the
/// `Arc` atomically when an instruction changes; evaluation never blocks and never allocates
/// beyond its result.
pub struct RuleSet {
    instructions: Vec<ControlInstruction>,
    compiled: Vec<Compiled>,
    index: Index,
    policy: RandomPolicy,
    /// Effective random-selection rate per credit level, in `CreditLevel::ALL` order.
    level_rates: [Decimal; 5],
    skipped: Vec<Skipped>,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("instructions", &self.instructions.len())
            .field("index_entries", &self.index.census())
            .field("skipped", &self.skipped.len())
            .field("policy", &self.policy)
            .finish()
    }
}

fn level_slot(level: CreditLevel) -> usize {
    match level {
        CreditLevel::AdvancedCertified => 0,
        CreditLevel::Certified => 1,
        CreditLevel::Routine => 2,
        CreditLevel::Dishonest => 3,
        CreditLevel::SeriouslyDishonest => 4,
    }
}

impl RuleSet {
    /// Compiles instructions and the random policy into an indexed set.
    ///
    /// Instructions failing [`crate::validate`] are left out, as are older versions of an id
    /// that appears more than once (the greatest version is kept; on a tie, the later one);
    /// both are listed by [`RuleSet::skipped`]. Instructions are kept whatever their validity
    /// window: evaluation checks it against its `at`.
    pub fn compile(instructions: Vec<ControlInstruction>, policy: RandomPolicy) -> RuleSet {
        let mut skipped = Vec::new();
        // Keep the greatest version per id.
        let mut keep: HashMap<Uuid, usize> = HashMap::with_capacity(instructions.len());
        for (pos, instr) in instructions.iter().enumerate() {
            match keep.get(&instr.id) {
                Some(&prev) if instructions[prev].version > instr.version => {}
                _ => {
                    keep.insert(instr.id, pos);
                }
            }
        }
        let kept_version: HashMap<Uuid, i64> = keep
            .iter()
            .map(|(id, &pos)| (*id, instructions[pos].version))
            .collect();
        let mut kept = Vec::with_capacity(keep.len());
        for (pos, instr) in instructions.into_iter().enumerate() {
            if keep.get(&instr.id) != Some(&pos) {
                skipped.push(Skipped {
                    instruction_id: instr.id,
                    version: instr.version,
                    because: SkippedBecause::Superseded {
                        by_version: kept_version
                            .get(&instr.id)
                            .copied()
                            .unwrap_or(instr.version),
                    },
                });
                continue;
            }
            match validate(&instr) {
                Ok(()) => kept.push(instr),
                Err(v) => skipped.push(Skipped {
                    instruction_id: instr.id,
                    version: instr.version,
                    because: SkippedBecause::Invalid(v),
                }),
            }
        }
        let compiled: Vec<Compiled> = kept.iter().map(Compiled::new).collect();
        let index = Index::build(&kept, &compiled);
        let level_rates = CreditLevel::ALL.map(|l| policy.effective_rate(l));
        debug_assert!(
            CreditLevel::ALL
                .iter()
                .enumerate()
                .all(|(i, l)| level_slot(*l) == i)
        );
        RuleSet {
            instructions: kept,
            compiled,
            index,
            policy,
            level_rates,
            skipped,
        }
    }

    /// Number of instructions compiled (valid, latest version; in force or not).
    pub fn len(&self) -> usize {
        self.instructions.len()
    }

    /// No instruction compiled (random selection still applies).
    pub fn is_empty(&self) -> bool {
        self.instructions.is_empty()
    }

    /// The compiled instructions, in input order.
    pub fn instructions(&self) -> &[ControlInstruction] {
        &self.instructions
    }

    /// The random selection policy (M16).
    pub fn policy(&self) -> &RandomPolicy {
        &self.policy
    }

    /// What [`RuleSet::compile`] left out, and why.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// Evaluates a declaration against the instructions in force at `at`
    /// (`valid_from <= at < valid_until`) and draws for random selection (M16).
    ///
    /// Deterministic for `(subject, seed, at)`: draws come from [`crate::draw`] with the
    /// instruction id, or [`crate::RANDOM_SELECTION_SALT`] for random selection. Only the
    /// instructions filed under one of the declaration's values are checked.
    pub fn evaluate(&self, subject: &Subject<'_>, seed: u64, at: DateTime<Utc>) -> Assessment {
        let head = head(subject, at);
        let items = subject.items;
        let mut hits = Vec::new();
        let check = |pos: u32| -> Option<Option<usize>> {
            self.compiled[pos as usize].matches(&head, items)
        };
        let record = |hits: &mut Vec<Hit>, pos: u32, item: Option<usize>| {
            hits.push(self.hit(pos, subject, item, seed));
        };

        // Head anchors: the declaration has one value per condition, so it meets one
        // combination per mask and each instruction there once.
        for &mask in self.index.head_masks.iter() {
            if let Some(bucket) = self.index.head.get(&HeadKey::of(mask, &head)) {
                for &pos in bucket.iter() {
                    if let Some(item) = check(pos) {
                        record(&mut hits, pos, item);
                    }
                }
            }
        }
        if let Some(bucket) = self.index.enterprise.get(&head.enterprise) {
            for &pos in bucket.iter() {
                if let Some(item) = check(pos) {
                    record(&mut hits, pos, item);
                }
            }
        }
        // Item anchors: an instruction can be met through several items (and prefixes); it is
        // recorded only at its first item whose anchor value it lists (and, for prefixes, at
        // its shortest prefix matching that item), so once. The check for that runs only on
        // the rare matching candidates.
        if !self.index.origin.is_empty() {
            for (n, item) in items.iter().enumerate() {
                // An origin already looked up for an earlier item found the same candidates.
                if items[..n]
                    .iter()
                    .any(|e| e.origin_country == item.origin_country)
                {
                    continue;
                }
                let origin = pack(item.origin_country);
                if let Some(bucket) = self.index.origin.get(&origin) {
                    for &pos in bucket.iter() {
                        if let Some(m) = check(pos) {
                            let c = &self.compiled[pos as usize];
                            let seen = items[..n]
                                .iter()
                                .any(|e| c.origin_listed(pack(e.origin_country)));
                            if !seen {
                                record(&mut hits, pos, m);
                            }
                        }
                    }
                }
            }
        }
        if self.index.prefix_lengths != 0 {
            for (n, item) in items.iter().enumerate() {
                // Likewise for a commodity code repeated on several items.
                if items[..n]
                    .iter()
                    .any(|e| e.commodity_code == item.commodity_code)
                {
                    continue;
                }
                let code = item.commodity_code.as_bytes();
                self.index.for_each_prefix_candidate(code, |pos, len| {
                    if let Some(m) = check(pos) {
                        let c = &self.compiled[pos as usize];
                        let first = c.shortest_prefix_match(code) == Some(len)
                            && !items[..n]
                                .iter()
                                .any(|e| c.shortest_prefix_match(e.code()).is_some());
                        if first {
                            record(&mut hits, pos, m);
                        }
                    }
                });
            }
        }
        // Bound anchors: only the instructions whose bound some item meets.
        if !items.is_empty() {
            for (m, measure) in [
                |i: &SubjectItem<'_>| i.total_value,
                |i: &SubjectItem<'_>| i.unit_price,
                |i: &SubjectItem<'_>| i.quantity,
            ]
            .into_iter()
            .enumerate()
            {
                let (lo, hi) = (&self.index.at_least[m], &self.index.at_most[m]);
                if lo.is_empty() && hi.is_empty() {
                    continue;
                }
                let (mut min, mut max) = (measure(&items[0]), measure(&items[0]));
                for x in &items[1..] {
                    min = min.min(measure(x));
                    max = max.max(measure(x));
                }
                for &(bound, pos) in lo.iter() {
                    if bound > max {
                        break;
                    }
                    if let Some(item) = check(pos) {
                        record(&mut hits, pos, item);
                    }
                }
                for &(bound, pos) in hi.iter() {
                    if bound < min {
                        break;
                    }
                    if let Some(item) = check(pos) {
                        record(&mut hits, pos, item);
                    }
                }
            }
        }
        for &pos in self.index.direction[usize::from(head.direction) - 1].iter() {
            if let Some(item) = check(pos) {
                record(&mut hits, pos, item);
            }
        }
        self.finish(subject, seed, hits)
    }

    /// The same result as [`RuleSet::evaluate`] by checking **every** instruction in order,
    /// without the index: the reference the index is tested against and the baseline of the
    /// benchmark (`BENCHMARKS.md`, "Risk evaluation").
    pub fn evaluate_linear(
        &self,
        subject: &Subject<'_>,
        seed: u64,
        at: DateTime<Utc>,
    ) -> Assessment {
        let head = head(subject, at);
        let mut hits = Vec::new();
        for (pos, c) in self.compiled.iter().enumerate() {
            if let Some(item) = c.matches(&head, subject.items) {
                hits.push(self.hit(pos as u32, subject, item, seed));
            }
        }
        self.finish(subject, seed, hits)
    }

    fn hit(&self, pos: u32, subject: &Subject<'_>, item: Option<usize>, seed: u64) -> Hit {
        let instr = &self.instructions[pos as usize];
        let draw = Decimal::new(
            i64::from(draw_millionths(
                seed,
                subject.declaration_id.as_u128(),
                instr.id.as_u128(),
            )),
            6,
        );
        Hit {
            instruction_id: instr.id,
            action: instr.action,
            reason: instr.reason.clone(),
            matched: explain(instr, subject, item),
            item: item.map(|i| i + 1),
            rate: instr.selection_rate,
            draw,
            selected: draw < instr.selection_rate,
        }
    }

    fn finish(&self, subject: &Subject<'_>, seed: u64, mut hits: Vec<Hit>) -> Assessment {
        hits.sort_unstable_by(|a, b| {
            b.selected
                .cmp(&a.selected)
                .then(b.action.cmp(&a.action))
                .then(a.instruction_id.cmp(&b.instruction_id))
        });
        let effective_rate = self.level_rates[level_slot(subject.credit_level)];
        let draw = Decimal::new(
            i64::from(draw_millionths(
                seed,
                subject.declaration_id.as_u128(),
                RANDOM_SELECTION_SALT.as_u128(),
            )),
            6,
        );
        let random = RandomDraw {
            credit_level: subject.credit_level,
            base_rate: self.policy.base_rate,
            effective_rate,
            draw,
            selected: draw < effective_rate,
            action: self.policy.action,
        };
        let action = hits
            .iter()
            .filter(|h| h.selected)
            .map(|h| h.action)
            .chain(random.selected.then_some(random.action))
            .max();
        Assessment {
            selected: action.is_some(),
            action,
            hits,
            random,
        }
    }
}

fn head(subject: &Subject<'_>, at: DateTime<Utc>) -> Head {
    Head {
        at,
        enterprise: subject.enterprise_id.as_u128(),
        direction: direction_bit(subject.direction),
        trade_mode: pack(subject.trade_mode),
        transport_mode: pack(subject.transport_mode),
        port: pack(subject.port),
        departure: pack(subject.departure_country),
    }
}

/// The explanation of a hit: each condition of the instruction and the value that met it.
fn explain(instr: &ControlInstruction, subject: &Subject<'_>, item: Option<usize>) -> Vec<String> {
    let c = &instr.conditions;
    let mut out = Vec::new();
    let it = item.and_then(|i| subject.items.get(i).map(|x| (i + 1, x)));
    if let Some((n, x)) = it {
        if let Some(p) = c
            .commodity_prefixes
            .iter()
            .find(|p| x.commodity_code.starts_with(p.as_str()))
        {
            out.push(format!(
                "commodity_prefix {p} matched item {n} ({})",
                x.commodity_code
            ));
        }
        if !c.origin_countries.is_empty() {
            out.push(format!(
                "origin_country {} matched item {n}",
                x.origin_country
            ));
        }
    }
    if !c.departure_countries.is_empty() {
        out.push(format!("departure_country {}", subject.departure_country));
    }
    if !c.enterprises.is_empty() {
        out.push(format!("enterprise {}", subject.enterprise_id));
    }
    if !c.trade_modes.is_empty() {
        out.push(format!("trade_mode {}", subject.trade_mode));
    }
    if !c.transport_modes.is_empty() {
        out.push(format!("transport_mode {}", subject.transport_mode));
    }
    if !c.ports.is_empty() {
        out.push(format!("port {}", subject.port));
    }
    if !c.directions.is_empty() {
        out.push(format!("direction {}", subject.direction.as_str()));
    }
    if let Some((n, x)) = it {
        for (name, v, lo, hi) in [
            (
                "item_value",
                x.total_value,
                c.min_item_value,
                c.max_item_value,
            ),
            (
                "unit_price",
                x.unit_price,
                c.min_unit_price,
                c.max_unit_price,
            ),
            ("quantity", x.quantity, c.min_quantity, c.max_quantity),
        ] {
            let range = match (lo, hi) {
                (Some(lo), Some(hi)) => format!("within [{lo}, {hi}]"),
                (Some(lo), None) => format!(">= {lo}"),
                (None, Some(hi)) => format!("<= {hi}"),
                (None, None) => continue,
            };
            out.push(format!("{name} {v} {range} matched item {n}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_set_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RuleSet>();
    }
}
