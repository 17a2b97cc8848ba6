//! Random selection (随机布控) by enterprise credit level (M16).
//!
//! Sources (`shared/domain/MEASURES.md` M16, `shared/domain/RULES.md` §6):
//! - Decree 251 (effective 2021-11-01), measures for the three levels: advanced certified
//!   enterprises (高级认证企业, China AEO) get an average inspection rate **below 20 %** of that
//!   of routine enterprises; dishonest enterprises (失信企业) an inspection rate of **at least
//!   80 %**. RULES.md marks both figures **\[M\]**: from memory, not found in a source, to verify.
//! - Order 282 (effective 2026-04-01) has five levels (adds 认证企业 and 严重失信企业); its
//!   per-level figures were **not retrieved** (RULES.md §6 \[?\]). The defaults below extend the
//!   Decree 251 figures to the five levels and are configuration, not law.
//! - The base rate (routine enterprises) is **not sourced** anywhere in the domain notes: the
//!   default 2 % is a placeholder to be set by the operator.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tongguan_domain::{Violations, enterprise::CreditLevel};

use crate::model::ControlAction;

/// How a credit level changes the base rate of random selection (M16).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LevelRate {
    /// Effective rate = base × multiplier (capped at 1). E.g. 0.19 for advanced certified
    /// enterprises: "below 20 % of routine" (Decree 251 measures, RULES.md §6 \[M\]).
    Multiplier(Decimal),
    /// Effective rate = the greater of base and this floor (a minimum rate). E.g. 0.8 for
    /// dishonest enterprises: "at least 80 %" (Decree 251 measures, RULES.md §6 \[M\]).
    Floor(Decimal),
}

/// Random selection policy (随机布控): a base rate for routine enterprises, scaled per credit
/// level (M16, RULES.md §6), and the action ordered when the draw selects.
///
/// Lives in configuration (serde; missing fields take the [`Default`]s). A level missing from
/// `levels` gets the base rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RandomPolicy {
    /// Rate for routine enterprises (常规企业), 0..=1. Default 0.02 — **not sourced**, a
    /// placeholder for the operator to set.
    pub base_rate: Decimal,
    /// Action on random selection. Default [`ControlAction::PhysicalInspection`]: the M16
    /// figures are inspection rates (查验率), and random selection is the unbiased sample
    /// that measures compliance, which only opening the container verifies (description,
    /// quantity, origin marks); a scan alone would not check what the figures count.
    pub action: ControlAction,
    /// Per-level adjustment of the base rate.
    pub levels: BTreeMap<CreditLevel, LevelRate>,
}

impl Default for RandomPolicy {
    /// Base 0.02 (not sourced); advanced certified × 0.19 (< 20 % of routine, Decree 251
    /// \[M\]); certified × 0.5 (Order 282 level, figure not retrieved: half-way placeholder);
    /// routine × 1; dishonest floor 0.8 (≥ 80 %, Decree 251 \[M\]); seriously dishonest floor 1
    /// (Order 282 level, figure not retrieved: every declaration).
    fn default() -> Self {
        let levels = BTreeMap::from([
            (
                CreditLevel::AdvancedCertified,
                LevelRate::Multiplier(Decimal::new(19, 2)),
            ),
            (
                CreditLevel::Certified,
                LevelRate::Multiplier(Decimal::new(5, 1)),
            ),
            (CreditLevel::Routine, LevelRate::Multiplier(Decimal::ONE)),
            (CreditLevel::Dishonest, LevelRate::Floor(Decimal::new(8, 1))),
            (
                CreditLevel::SeriouslyDishonest,
                LevelRate::Floor(Decimal::ONE),
            ),
        ]);
        Self {
            base_rate: Decimal::new(2, 2),
            action: ControlAction::PhysicalInspection,
            levels,
        }
    }
}

impl RandomPolicy {
    /// The rate of random selection for an enterprise of `level`, clamped to 0..=1.
    pub fn effective_rate(&self, level: CreditLevel) -> Decimal {
        let base = clamp_rate(self.base_rate);
        let rate = match self.levels.get(&level) {
            None => base,
            Some(LevelRate::Multiplier(m)) => base
                .checked_mul((*m).max(Decimal::ZERO))
                .unwrap_or(Decimal::ONE),
            Some(LevelRate::Floor(f)) => base.max(*f),
        };
        clamp_rate(rate)
    }

    /// Checks a configured policy: base rate and floors in 0..=1, multipliers non-negative.
    /// Paths `base_rate`, `levels/<level>`; rules `random_policy.rate_range`,
    /// `random_policy.multiplier_negative`.
    pub fn validate(&self) -> Result<(), Violations> {
        let mut v = Violations::new();
        if !in_unit(self.base_rate) {
            v.push(
                "base_rate",
                "random_policy.rate_range",
                format!("base rate {} must be between 0 and 1", self.base_rate),
            );
        }
        for (level, rate) in &self.levels {
            let path = format!("levels/{}", level.as_str());
            match rate {
                LevelRate::Multiplier(m) if m.is_sign_negative() && !m.is_zero() => v.push(
                    path,
                    "random_policy.multiplier_negative",
                    format!("multiplier {m} must not be negative"),
                ),
                LevelRate::Floor(f) if !in_unit(*f) => v.push(
                    path,
                    "random_policy.rate_range",
                    format!("floor {f} must be between 0 and 1"),
                ),
                _ => {}
            }
        }
        v.finish(|| ())
    }
}

fn in_unit(r: Decimal) -> bool {
    r >= Decimal::ZERO && r <= Decimal::ONE
}

fn clamp_rate(r: Decimal) -> Decimal {
    r.clamp(Decimal::ZERO, Decimal::ONE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_m16() {
        let p = RandomPolicy::default();
        assert_eq!(p.effective_rate(CreditLevel::Routine), Decimal::new(2, 2));
        assert_eq!(
            p.effective_rate(CreditLevel::AdvancedCertified),
            Decimal::new(38, 4)
        );
        assert_eq!(p.effective_rate(CreditLevel::Certified), Decimal::new(1, 2));
        assert_eq!(p.effective_rate(CreditLevel::Dishonest), Decimal::new(8, 1));
        assert_eq!(
            p.effective_rate(CreditLevel::SeriouslyDishonest),
            Decimal::ONE
        );
        assert!(p.validate().is_ok());
    }

    #[test]
    fn missing_level_gets_base_and_rates_are_clamped() {
        let p = RandomPolicy {
            base_rate: Decimal::new(5, 1),
            action: ControlAction::MachineScan,
            levels: BTreeMap::from([(CreditLevel::Routine, LevelRate::Multiplier(Decimal::TEN))]),
        };
        assert_eq!(p.effective_rate(CreditLevel::Routine), Decimal::ONE);
        assert_eq!(p.effective_rate(CreditLevel::Dishonest), Decimal::new(5, 1));
    }

    #[test]
    fn policy_round_trips_through_json_and_takes_defaults() {
        let p = RandomPolicy::default();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<RandomPolicy>(&json).unwrap(), p);
        let partial: RandomPolicy = serde_json::from_str(r#"{"base_rate":"0.05"}"#).unwrap();
        assert_eq!(partial.base_rate, Decimal::new(5, 2));
        assert_eq!(partial.levels, p.levels);
        let bad = RandomPolicy {
            base_rate: Decimal::TWO,
            levels: BTreeMap::from([(CreditLevel::Dishonest, LevelRate::Floor(Decimal::TWO))]),
            ..p
        };
        let v = bad.validate().unwrap_err();
        assert_eq!(v.0.len(), 2);
        assert_eq!(v.0[1].path, "levels/dishonest");
    }
}
