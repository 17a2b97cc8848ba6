//! The compiled form of control instructions (布控指令) and the index over them.
//!
//! Each instruction is compiled to integers (codes packed into a `u64`, enterprise ids as
//! `u128`, a direction bit mask) and filed under its **anchor**: the condition, or combination
//! of head conditions, estimated to be the most selective (see [`choose_anchor`]):
//!
//! - enterprise, origin country, commodity-code prefix (by length and value): hash maps;
//! - departure country / port / trade mode / transport mode: one hash map keyed by the
//!   combination of the instruction's head conditions (e.g. port 5316 × trade mode 9610);
//! - bounds only: lists sorted by the bound, walked only as far as the declaration's items can
//!   meet it;
//! - direction only: one list per direction.
//!
//! An evaluation looks up the declaration's values and each item's prefixes and origin and
//! checks only the instructions found there. Nothing is allocated while looking.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tongguan_domain::codes::Direction;

use crate::draw::splitmix64;
use crate::model::{Conditions, ControlInstruction};

/// Packs a short code (≤ 7 bytes) into a `u64`: the bytes, then the length in the top byte, so
/// distinct strings never share a key. Longer strings get `u64::MAX`, which no validated
/// instruction value (≤ 4 bytes) can have.
#[inline]
pub(crate) fn pack(s: &str) -> u64 {
    let b = s.as_bytes();
    if b.len() > 7 {
        return u64::MAX;
    }
    let mut x = (b.len() as u64) << 56;
    for (i, &byte) in b.iter().enumerate() {
        x |= u64::from(byte) << (8 * i);
    }
    x
}

/// Index key of a digit prefix: its value with its length above bit 40 (10 digits < 2^34).
#[inline]
fn prefix_key(len: usize, value: u64) -> u64 {
    ((len as u64) << 40) | value
}

pub(crate) fn direction_bit(d: Direction) -> u8 {
    match d {
        Direction::Import => 1,
        Direction::Export => 2,
    }
}

/// A commodity-code prefix, inline (validated: 2..=10 ASCII digits).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prefix {
    bytes: [u8; 10],
    len: u8,
}

impl Prefix {
    fn new(s: &str) -> Self {
        let mut bytes = [0u8; 10];
        let len = s.len().min(10);
        bytes[..len].copy_from_slice(&s.as_bytes()[..len]);
        Self {
            bytes,
            len: len as u8,
        }
    }

    #[inline]
    pub(crate) fn matches(&self, code: &[u8]) -> bool {
        code.starts_with(&self.bytes[..usize::from(self.len)])
    }

    fn key(&self) -> u64 {
        let value = self.bytes[..usize::from(self.len)]
            .iter()
            .fold(0u64, |v, b| v * 10 + u64::from(b - b'0'));
        prefix_key(usize::from(self.len), value)
    }
}

/// Inclusive bounds on item value, unit price and quantity (rare, so boxed).
#[derive(Debug, Clone, Default)]
pub(crate) struct Bounds {
    pub value: (Option<Decimal>, Option<Decimal>),
    pub price: (Option<Decimal>, Option<Decimal>),
    pub quantity: (Option<Decimal>, Option<Decimal>),
}

#[inline]
fn within(x: Decimal, (lo, hi): (Option<Decimal>, Option<Decimal>)) -> bool {
    lo.is_none_or(|lo| x >= lo) && hi.is_none_or(|hi| x <= hi)
}

/// One instruction compiled for matching.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    valid_from: DateTime<Utc>,
    valid_until: Option<DateTime<Utc>>,
    /// Bit mask of [`direction_bit`]s; 0 = any direction.
    directions: u8,
    enterprises: Box<[u128]>,
    trade_modes: Box<[u64]>,
    transport_modes: Box<[u64]>,
    ports: Box<[u64]>,
    departure: Box<[u64]>,
    prefixes: Box<[Prefix]>,
    origins: Box<[u64]>,
    bounds: Option<Box<Bounds>>,
    item_level: bool,
}

/// The declaration head, packed once per evaluation.
pub(crate) struct Head {
    pub at: DateTime<Utc>,
    pub enterprise: u128,
    pub direction: u8,
    pub trade_mode: u64,
    pub transport_mode: u64,
    pub port: u64,
    pub departure: u64,
}

/// One item, as the matcher sees it.
pub(crate) trait ItemView {
    fn code(&self) -> &[u8];
    fn origin(&self) -> &str;
    fn value(&self) -> Decimal;
    fn price(&self) -> Decimal;
    fn quantity(&self) -> Decimal;
}

impl Compiled {
    pub(crate) fn new(i: &ControlInstruction) -> Self {
        let c = &i.conditions;
        let packs = |v: &[String]| v.iter().map(|s| pack(s)).collect::<Box<[u64]>>();
        let bounds = Bounds {
            value: (c.min_item_value, c.max_item_value),
            price: (c.min_unit_price, c.max_unit_price),
            quantity: (c.min_quantity, c.max_quantity),
        };
        let has_bounds = [bounds.value, bounds.price, bounds.quantity]
            .iter()
            .any(|(lo, hi)| lo.is_some() || hi.is_some());
        Self {
            valid_from: i.valid_from,
            valid_until: i.valid_until,
            directions: c.directions.iter().fold(0, |m, d| m | direction_bit(*d)),
            enterprises: c.enterprises.iter().map(|e| e.as_u128()).collect(),
            trade_modes: packs(&c.trade_modes),
            transport_modes: packs(&c.transport_modes),
            ports: packs(&c.ports),
            departure: packs(&c.departure_countries),
            prefixes: c
                .commodity_prefixes
                .iter()
                .map(|p| Prefix::new(p))
                .collect(),
            origins: packs(&c.origin_countries),
            bounds: has_bounds.then(|| Box::new(bounds)),
            item_level: c.has_item_conditions(),
        }
    }

    /// `Some(item)` (0-based index of the first item meeting every item-level condition, or
    /// `None` for a head-level-only instruction) when the instruction matches; `None` if not.
    #[inline]
    pub(crate) fn matches<I: ItemView>(&self, head: &Head, items: &[I]) -> Option<Option<usize>> {
        if head.at < self.valid_from || self.valid_until.is_some_and(|u| head.at >= u) {
            return None;
        }
        if self.directions != 0 && self.directions & head.direction == 0 {
            return None;
        }
        if !any_eq(&self.enterprises, head.enterprise)
            || !any_eq(&self.trade_modes, head.trade_mode)
            || !any_eq(&self.ports, head.port)
            || !any_eq(&self.departure, head.departure)
            || !any_eq(&self.transport_modes, head.transport_mode)
        {
            return None;
        }
        if !self.item_level {
            return Some(None);
        }
        items
            .iter()
            .position(|item| self.item_matches(item))
            .map(Some)
    }

    #[inline]
    fn item_matches<I: ItemView>(&self, item: &I) -> bool {
        if !self.prefixes.is_empty() {
            let code = item.code();
            if !self.prefixes.iter().any(|p| p.matches(code)) {
                return false;
            }
        }
        if !self.origins.is_empty() && !self.origins.contains(&pack(item.origin())) {
            return false;
        }
        match &self.bounds {
            None => true,
            Some(b) => {
                within(item.value(), b.value)
                    && within(item.price(), b.price)
                    && within(item.quantity(), b.quantity)
            }
        }
    }

    /// Length of the shortest of this instruction's prefixes that `code` starts with.
    #[inline]
    pub(crate) fn shortest_prefix_match(&self, code: &[u8]) -> Option<u8> {
        self.prefixes
            .iter()
            .filter(|p| p.matches(code))
            .map(|p| p.len)
            .min()
    }

    #[inline]
    pub(crate) fn origin_listed(&self, origin: u64) -> bool {
        self.origins.contains(&origin)
    }
}

/// Empty list = no condition; otherwise the value must be listed.
#[inline]
fn any_eq<T: PartialEq + Copy>(list: &[T], x: T) -> bool {
    list.is_empty() || list.contains(&x)
}

/// The head-level list conditions that can be combined into one index key, in key order:
/// departure country (启运国), port (关别), trade mode (监管方式), transport mode (运输方式).
pub(crate) const HEAD_DIMS: usize = 4;

/// An item measure with bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Measure {
    Value = 0,
    Price = 1,
    Quantity = 2,
}

/// The condition an instruction is filed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    Enterprise,
    Prefix,
    Origin,
    /// The combination of the head conditions in the mask (bit `d` = [`HEAD_DIMS`] entry `d`),
    /// filed under every combination of their values.
    Head(u8),
    /// A lower bound, filed in a list sorted by it.
    AtLeast(Measure),
    /// An upper bound, filed in a list sorted by it (descending).
    AtMost(Measure),
    /// Direction only (or, never for a valid instruction, nothing): one list per direction.
    Direction,
}

/// Largest number of keys an instruction is filed under for a head combination.
const MAX_HEAD_KEYS: usize = 64;

/// Picks the condition, or combination of head conditions, that a declaration is least likely
/// to meet, from rough per-value frequencies in a port's declaration stream (a 5-item
/// declaration): an enterprise 1/10,000; a commodity prefix from 1/20 (2-digit chapter) down to
/// 1/10,000 (10 digits); an origin or departure country 1/10; a port 1/20; a trade mode or
/// transport mode 1/3. A list costs the sum of its values; head conditions combine by product
/// (filed under each combination of values, at most 64). Bounds cost 0.4 (filed in sorted
/// lists, where a declaration only reaches the instructions whose bound its items can meet);
/// direction 0.5. Only speed depends on this choice, never the result.
pub(crate) fn choose_anchor(c: &Conditions) -> Anchor {
    fn prefix_cost(len: usize) -> f64 {
        match len {
            0..=2 => 1.0 / 20.0,
            3 => 1.0 / 100.0,
            4 => 1.0 / 300.0,
            5 => 1.0 / 1_000.0,
            6 => 1.0 / 1_500.0,
            7 => 1.0 / 3_000.0,
            8 => 1.0 / 5_000.0,
            _ => 1.0 / 10_000.0,
        }
    }
    let n = |v: usize| v as f64;
    let mut best = (
        Anchor::Direction,
        if c.directions.is_empty() {
            f64::INFINITY
        } else {
            0.5
        },
    );
    let mut consider = |anchor: Anchor, present: bool, cost: f64| {
        if present && cost < best.1 {
            best = (anchor, cost);
        }
    };
    consider(
        Anchor::Enterprise,
        !c.enterprises.is_empty(),
        n(c.enterprises.len()) / 10_000.0,
    );
    consider(
        Anchor::Prefix,
        !c.commodity_prefixes.is_empty(),
        c.commodity_prefixes
            .iter()
            .map(|p| prefix_cost(p.len()))
            .sum(),
    );
    consider(
        Anchor::Origin,
        !c.origin_countries.is_empty(),
        n(c.origin_countries.len()) / 10.0,
    );
    // Head conditions that narrow (cost < 1), cheapest first; combine while the number of
    // keys stays small.
    let mut dims: Vec<(usize, usize, f64)> = [
        (0, c.departure_countries.len(), 1.0 / 10.0),
        (1, c.ports.len(), 1.0 / 20.0),
        (2, c.trade_modes.len(), 1.0 / 3.0),
        (3, c.transport_modes.len(), 1.0 / 3.0),
    ]
    .into_iter()
    .filter(|&(_, len, _)| len > 0)
    .map(|(d, len, per)| (d, len, n(len) * per))
    .filter(|&(_, _, cost)| cost < 1.0)
    .collect();
    dims.sort_by(|a, b| a.2.total_cmp(&b.2));
    let (mut mask, mut keys, mut cost) = (0u8, 1usize, 1.0);
    for (d, len, dim_cost) in dims {
        if keys * len <= MAX_HEAD_KEYS {
            mask |= 1 << d;
            keys *= len;
            cost *= dim_cost;
        }
    }
    consider(Anchor::Head(mask), mask != 0, cost);
    for (measure, lo, hi) in [
        (Measure::Value, c.min_item_value, c.max_item_value),
        (Measure::Price, c.min_unit_price, c.max_unit_price),
        (Measure::Quantity, c.min_quantity, c.max_quantity),
    ] {
        consider(Anchor::AtLeast(measure), lo.is_some(), 0.4);
        consider(Anchor::AtMost(measure), hi.is_some(), 0.41);
    }
    best.0
}

/// Key of a head combination: the mask and the packed values of its conditions (0 elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct HeadKey {
    mask: u8,
    values: [u64; HEAD_DIMS],
}

impl HeadKey {
    /// The key of `head` for the conditions in `mask`.
    #[inline]
    pub(crate) fn of(mask: u8, head: &Head) -> Self {
        let all = [
            head.departure,
            head.port,
            head.trade_mode,
            head.transport_mode,
        ];
        let mut values = [0; HEAD_DIMS];
        for d in 0..HEAD_DIMS {
            if mask & (1 << d) != 0 {
                values[d] = all[d];
            }
        }
        Self { mask, values }
    }
}

/// A fast hasher for the integer keys of the index (SplitMix64 per word). Keys come from
/// officers' instructions, not from declarants, so hash flooding is not a concern.
#[derive(Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = splitmix64(self.0 ^ n);
    }
    #[inline]
    fn write_u128(&mut self, n: u128) {
        self.write_u64(n as u64);
        self.write_u64((n >> 64) as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

type Map<K> = HashMap<K, Box<[u32]>, BuildHasherDefault<KeyHasher>>;

/// Instruction positions by anchor value.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// Bit `n` set when some prefix of length `n` is indexed.
    pub prefix_lengths: u16,
    pub prefix: Map<u64>,
    pub origin: Map<u64>,
    pub enterprise: Map<u128>,
    /// The head-combination masks in use, and the instructions by combination.
    pub head_masks: Box<[u8]>,
    pub head: Map<HeadKey>,
    /// Per [`Measure`]: (lower bound, position) ascending; (upper bound, position) descending.
    pub at_least: [Box<[(Decimal, u32)]>; 3],
    pub at_most: [Box<[(Decimal, u32)]>; 3],
    /// Per [`direction_bit`] − 1.
    pub direction: [Box<[u32]>; 2],
}

impl Index {
    pub(crate) fn build(instructions: &[ControlInstruction], compiled: &[Compiled]) -> Self {
        fn file<K: std::hash::Hash + Eq + Copy>(
            map: &mut HashMap<K, Vec<u32>>,
            keys: impl IntoIterator<Item = K>,
            pos: u32,
        ) {
            for k in keys {
                let bucket = map.entry(k).or_default();
                // Each instruction once per key, even when its lists repeat a value.
                if bucket.last() != Some(&pos) {
                    bucket.push(pos);
                }
            }
        }
        fn freeze<K: std::hash::Hash + Eq>(map: HashMap<K, Vec<u32>>) -> Map<K> {
            map.into_iter()
                .map(|(k, v)| (k, v.into_boxed_slice()))
                .collect()
        }
        let mut prefix_lengths = 0u16;
        let mut prefix = HashMap::new();
        let mut origin = HashMap::new();
        let mut enterprise = HashMap::new();
        let mut head: HashMap<HeadKey, Vec<u32>> = HashMap::new();
        let mut head_masks = Vec::new();
        let mut at_least: [Vec<(Decimal, u32)>; 3] = Default::default();
        let mut at_most: [Vec<(Decimal, u32)>; 3] = Default::default();
        let mut direction: [Vec<u32>; 2] = Default::default();
        for (pos, (instr, c)) in instructions.iter().zip(compiled).enumerate() {
            let pos = pos as u32;
            let cond = &instr.conditions;
            match choose_anchor(cond) {
                Anchor::Enterprise => file(&mut enterprise, c.enterprises.iter().copied(), pos),
                Anchor::Prefix => {
                    for p in c.prefixes.iter() {
                        prefix_lengths |= 1 << p.len;
                    }
                    file(&mut prefix, c.prefixes.iter().map(Prefix::key), pos);
                }
                Anchor::Origin => file(&mut origin, c.origins.iter().copied(), pos),
                Anchor::Head(mask) => {
                    if !head_masks.contains(&mask) {
                        head_masks.push(mask);
                    }
                    let lists: [&[u64]; HEAD_DIMS] =
                        [&c.departure, &c.ports, &c.trade_modes, &c.transport_modes];
                    // Every combination of the values of the conditions in the mask.
                    let mut keys = vec![HeadKey {
                        mask,
                        values: [0; HEAD_DIMS],
                    }];
                    for (d, list) in lists.iter().enumerate() {
                        if mask & (1 << d) == 0 {
                            continue;
                        }
                        keys = keys
                            .iter()
                            .flat_map(|k| {
                                list.iter().map(move |v| {
                                    let mut k = *k;
                                    k.values[d] = *v;
                                    k
                                })
                            })
                            .collect();
                    }
                    file(&mut head, keys, pos);
                }
                Anchor::AtLeast(m) => {
                    let bound =
                        [cond.min_item_value, cond.min_unit_price, cond.min_quantity][m as usize];
                    if let Some(b) = bound {
                        at_least[m as usize].push((b, pos));
                    }
                }
                Anchor::AtMost(m) => {
                    let bound =
                        [cond.max_item_value, cond.max_unit_price, cond.max_quantity][m as usize];
                    if let Some(b) = bound {
                        at_most[m as usize].push((b, pos));
                    }
                }
                Anchor::Direction => {
                    for (slot, list) in direction.iter_mut().enumerate() {
                        let bit = 1u8 << slot;
                        if c.directions == 0 || c.directions & bit != 0 {
                            list.push(pos);
                        }
                    }
                }
            }
        }
        for list in &mut at_least {
            list.sort();
        }
        for list in &mut at_most {
            list.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        }
        head_masks.sort_unstable();
        Self {
            prefix_lengths,
            prefix: freeze(prefix),
            origin: freeze(origin),
            enterprise: freeze(enterprise),
            head_masks: head_masks.into_boxed_slice(),
            head: freeze(head),
            at_least: at_least.map(Vec::into_boxed_slice),
            at_most: at_most.map(Vec::into_boxed_slice),
            direction: direction.map(Vec::into_boxed_slice),
        }
    }

    /// Calls `f(position, prefix_len)` for every instruction filed under a prefix of `code`
    /// (a prefix of length `n` is looked up only when some instruction has one).
    #[inline]
    pub(crate) fn for_each_prefix_candidate(&self, code: &[u8], mut f: impl FnMut(u32, u8)) {
        let mut value = 0u64;
        for (i, &b) in code.iter().take(10).enumerate() {
            if !b.is_ascii_digit() {
                break;
            }
            value = value * 10 + u64::from(b - b'0');
            let len = i + 1;
            if self.prefix_lengths & (1 << len) == 0 {
                continue;
            }
            if let Some(bucket) = self.prefix.get(&prefix_key(len, value)) {
                for &pos in bucket.iter() {
                    f(pos, len as u8);
                }
            }
        }
    }

    /// Index entries per anchor kind (an instruction has one per key it is filed under), for
    /// `Debug` and tuning.
    pub(crate) fn census(&self) -> [(&'static str, usize); 6] {
        fn count<K>(m: &Map<K>) -> usize {
            m.values().map(|b| b.len()).sum()
        }
        let bounds = self
            .at_least
            .iter()
            .chain(&self.at_most)
            .map(|l| l.len())
            .sum();
        [
            ("enterprise", count(&self.enterprise)),
            ("commodity_prefix", count(&self.prefix)),
            ("origin_country", count(&self.origin)),
            ("head_combination", count(&self.head)),
            ("bounds", bounds),
            ("direction", self.direction.iter().map(|l| l.len()).sum()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_is_injective_on_short_strings() {
        assert_ne!(pack("AB"), pack("AB\0"));
        assert_ne!(pack(""), pack("\0"));
        assert_eq!(pack("JPN"), pack("JPN"));
        assert_eq!(pack("12345678"), u64::MAX);
    }

    #[test]
    fn anchors_prefer_the_rarest_condition() {
        let c = Conditions {
            commodity_prefixes: vec!["8471".into()],
            trade_modes: vec!["0110".into()],
            ..Default::default()
        };
        assert_eq!(choose_anchor(&c), Anchor::Prefix);
        let c = Conditions {
            commodity_prefixes: vec!["84".into()],
            enterprises: vec![uuid::Uuid::from_u128(1)],
            ..Default::default()
        };
        assert_eq!(choose_anchor(&c), Anchor::Enterprise);
        // Port and trade mode combine (1/20 × 1/3) and beat the origin (1/10).
        let c = Conditions {
            origin_countries: vec!["JPN".into()],
            ports: vec!["5301".into()],
            trade_modes: vec!["9610".into(), "1210".into()],
            ..Default::default()
        };
        assert_eq!(choose_anchor(&c), Anchor::Head(0b0110));
        // Four trade modes do not narrow (4 × 1/3 >= 1): the port alone.
        let c = Conditions {
            ports: vec!["5301".into()],
            trade_modes: vec!["0110".into(), "9610".into(), "1210".into(), "0615".into()],
            ..Default::default()
        };
        assert_eq!(choose_anchor(&c), Anchor::Head(0b0010));
        let c = Conditions {
            directions: vec![Direction::Import],
            min_unit_price: Some(Decimal::ONE),
            ..Default::default()
        };
        assert_eq!(choose_anchor(&c), Anchor::AtLeast(Measure::Price));
        let c = Conditions {
            max_quantity: Some(Decimal::ONE),
            ..Default::default()
        };
        assert_eq!(choose_anchor(&c), Anchor::AtMost(Measure::Quantity));
        let c = Conditions {
            directions: vec![Direction::Export],
            ..Default::default()
        };
        assert_eq!(choose_anchor(&c), Anchor::Direction);
    }
}
