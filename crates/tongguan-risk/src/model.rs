//! Control instructions (布控指令) as officers write them.
//!
//! Source: `shared/domain/DECLARATION.md`, "Control instruction": an officer's or the risk
//! model's order to check goods matching conditions (commodity code prefix, origin,
//! enterprise, trade mode, value or unit price bounds, …): physical inspection, machine scan,
//! document review or sampling, at a rate, for a period, with a reason.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tongguan_domain::codes::Direction;
use utoipa::ToSchema;
use uuid::Uuid;

/// What customs does with selected goods (布控处置要求).
///
/// Variants are declared from the least to the most severe, so the derived `Ord` is the
/// severity order: `PhysicalInspection > Sampling > MachineScan > DocumentReview`; when several
/// hits are selected, the greatest action is "the" action of the assessment.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ControlAction {
    /// 审单 — document review by an officer; the goods are not touched.
    DocumentReview,
    /// 机检 — non-intrusive machine scan (H986 container scanner).
    MachineScan,
    /// 取样送检 — samples taken and sent to a laboratory.
    Sampling,
    /// 人工查验 — physical inspection: the container is opened and the goods examined.
    PhysicalInspection,
}

impl ControlAction {
    /// Every action, least severe first.
    pub const ALL: [ControlAction; 4] = [
        ControlAction::DocumentReview,
        ControlAction::MachineScan,
        ControlAction::Sampling,
        ControlAction::PhysicalInspection,
    ];

    /// The serde name, e.g. `physical_inspection`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DocumentReview => "document_review",
            Self::MachineScan => "machine_scan",
            Self::Sampling => "sampling",
            Self::PhysicalInspection => "physical_inspection",
        }
    }

    /// Chinese name (布控处置).
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::DocumentReview => "审单",
            Self::MachineScan => "机检",
            Self::Sampling => "取样送检",
            Self::PhysicalInspection => "人工查验",
        }
    }

    /// Severity rank, 0 (document review) to 3 (physical inspection); same order as `Ord`.
    pub fn severity(self) -> u8 {
        self as u8
    }
}

/// The conditions of a control instruction (布控条件).
///
/// Semantics: every non-empty condition must hold (AND); a list matches when any of its
/// elements matches (OR); all item-level conditions (commodity prefix, origin, value / unit
/// price / quantity bounds) must hold on the **same** item (表体商品项); an instruction with
/// head-level conditions only matches the declaration as a whole. Bounds are inclusive.
/// Field meanings follow `shared/domain/DECLARATION.md` (declaration head 表头 and items 表体).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// 商品编号前缀 — 2 to 10 digits matched against the start of the item's 10-digit
    /// commodity code (HS chapter 2, heading 4, subheading 6, national 8/10). Item-level.
    #[serde(default)]
    pub commodity_prefixes: Vec<String>,
    /// 原产国(地区) — ISO 3166 alpha-3. Item-level.
    #[serde(default)]
    pub origin_countries: Vec<String>,
    /// 启运国/运抵国 — ISO 3166 alpha-3 country the goods depart from (import) or arrive at
    /// (export). Head-level.
    #[serde(default)]
    pub departure_countries: Vec<String>,
    /// 境内收发货人 — enterprise ids. Head-level.
    #[serde(default)]
    pub enterprises: Vec<Uuid>,
    /// 监管方式 — 4-digit trade mode codes, e.g. 0110 general trade, 9610 / 1210 cross-border
    /// e-commerce. Head-level.
    #[serde(default)]
    pub trade_modes: Vec<String>,
    /// 运输方式 — one-character transport mode codes: 2 waterway, 3 rail, 4 road, 5 air,
    /// 6 mail, 9 other, letters for special areas. Head-level.
    #[serde(default)]
    pub transport_modes: Vec<String>,
    /// 进(出)境关别 — 4-digit customs district of entry / exit, e.g. 5301. Head-level.
    #[serde(default)]
    pub ports: Vec<String>,
    /// 进/出口 — import or export. Head-level.
    #[serde(default)]
    pub directions: Vec<Direction>,
    /// Lower bound (inclusive) on the item total (总价), in the declared currency. Item-level.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "10000")]
    pub min_item_value: Option<Decimal>,
    /// Upper bound (inclusive) on the item total (总价). Item-level.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub max_item_value: Option<Decimal>,
    /// Lower bound (inclusive) on the unit price (单价). Item-level.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub min_unit_price: Option<Decimal>,
    /// Upper bound (inclusive) on the unit price (单价) — e.g. undervaluation checks. Item-level.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub max_unit_price: Option<Decimal>,
    /// Lower bound (inclusive) on the transaction quantity (成交数量). Item-level.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub min_quantity: Option<Decimal>,
    /// Upper bound (inclusive) on the transaction quantity (成交数量). Item-level.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub max_quantity: Option<Decimal>,
}

impl Conditions {
    /// No condition at all (such an instruction is refused by [`crate::validate`]).
    pub fn is_empty(&self) -> bool {
        !self.has_item_conditions() && !self.has_head_conditions()
    }

    /// Any condition that is checked per item (表体): prefix, origin or a bound.
    pub fn has_item_conditions(&self) -> bool {
        !self.commodity_prefixes.is_empty()
            || !self.origin_countries.is_empty()
            || self.min_item_value.is_some()
            || self.max_item_value.is_some()
            || self.min_unit_price.is_some()
            || self.max_unit_price.is_some()
            || self.min_quantity.is_some()
            || self.max_quantity.is_some()
    }

    /// Any condition on the declaration head (表头).
    pub fn has_head_conditions(&self) -> bool {
        !self.departure_countries.is_empty()
            || !self.enterprises.is_empty()
            || !self.trade_modes.is_empty()
            || !self.transport_modes.is_empty()
            || !self.ports.is_empty()
            || !self.directions.is_empty()
    }
}

/// A control instruction (布控指令), `shared/domain/DECLARATION.md` "Control instruction".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ControlInstruction {
    /// Instruction id (布控指令号). Unique in a [`crate::RuleSet`]; when several versions of one
    /// id are compiled, the greatest `version` is kept.
    pub id: Uuid,
    /// What the instruction targets (布控条件).
    pub conditions: Conditions,
    /// What customs does with selected goods (处置要求).
    pub action: ControlAction,
    /// Share of matching declarations selected (布控比例), 0..=1: 1 selects every match, 0
    /// none (the match is still reported).
    #[schema(value_type = String, example = "1")]
    pub selection_rate: Decimal,
    /// Start of validity (布控起始时间), inclusive.
    pub valid_from: DateTime<Utc>,
    /// End of validity (布控截止时间), exclusive; `None` = until withdrawn.
    pub valid_until: Option<DateTime<Utc>>,
    /// Why the officer set it (布控理由); shown on every hit.
    pub reason: String,
    /// Optimistic-lock version of the stored instruction.
    pub version: i64,
}

impl ControlInstruction {
    /// In force at `at`: `valid_from <= at < valid_until`.
    pub fn is_valid_at(&self, at: DateTime<Utc>) -> bool {
        self.valid_from <= at && self.valid_until.is_none_or(|until| at < until)
    }
}
