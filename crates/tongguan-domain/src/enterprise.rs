//! Enterprise registry (企业注册信息): identity codes, credit level (信用等级) and
//! key-enterprise tags (重点企业标签) for targeted service under M16.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::codes::{CustomsRegistrationCode, Uscc};
use crate::{Violation, Violations};

/// Customs credit level of an enterprise (企业信用等级).
///
/// Source: GACC Order No. 282 (海关注册登记和备案企业信用管理办法, effective 2026-04-01) has five
/// levels; it repealed Decree 251 (effective 2021-11-01), which had three: advanced certified
/// (高级认证企业), other registered enterprises, dishonest (失信企业). Decree 251's
/// "registered" maps to `routine` (常规企业) and is accepted as an alias.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CreditLevel {
    /// 高级认证企业 — China AEO (advanced).
    AdvancedCertified,
    /// 认证企业 — certified (AEO) under Order 282.
    Certified,
    /// 常规企业 — routine; Decree 251's registered enterprises.
    #[serde(alias = "registered")]
    Routine,
    /// 失信企业 — dishonest.
    Dishonest,
    /// 严重失信企业 — seriously dishonest (Order 282).
    SeriouslyDishonest,
}

impl CreditLevel {
    pub const ALL: [CreditLevel; 5] = [
        CreditLevel::AdvancedCertified,
        CreditLevel::Certified,
        CreditLevel::Routine,
        CreditLevel::Dishonest,
        CreditLevel::SeriouslyDishonest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CreditLevel::AdvancedCertified => "advanced_certified",
            CreditLevel::Certified => "certified",
            CreditLevel::Routine => "routine",
            CreditLevel::Dishonest => "dishonest",
            CreditLevel::SeriouslyDishonest => "seriously_dishonest",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Violation> {
        match s {
            "advanced_certified" => Ok(Self::AdvancedCertified),
            "certified" => Ok(Self::Certified),
            "routine" | "registered" => Ok(Self::Routine),
            "dishonest" => Ok(Self::Dishonest),
            "seriously_dishonest" => Ok(Self::SeriouslyDishonest),
            other => Err(Violation::rule(
                "credit_level.unknown",
                format!(
                    "'{other}' is not a credit level; use one of advanced_certified, certified, routine (registered), dishonest, seriously_dishonest (GACC Order 282)"
                ),
            )),
        }
    }

    /// Both certified levels are AEO (Order 282).
    pub fn is_aeo(self) -> bool {
        matches!(self, Self::AdvancedCertified | Self::Certified)
    }

    pub fn is_dishonest(self) -> bool {
        matches!(self, Self::Dishonest | Self::SeriouslyDishonest)
    }

    /// Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::AdvancedCertified => "高级认证企业",
            Self::Certified => "认证企业",
            Self::Routine => "常规企业",
            Self::Dishonest => "失信企业",
            Self::SeriouslyDishonest => "严重失信企业",
        }
    }
}

/// Date Order No. 282 took effect and the five-level scale applies (GACC Order 282, Art. 45).
pub const ORDER_282_EFFECTIVE: (i32, u32, u32) = (2026, 4, 1);

/// Whether a level is valid under the credit rules in force on `date`: before Order 282,
/// only the three Decree 251 levels exist.
pub fn level_in_force(level: CreditLevel, date: NaiveDate) -> bool {
    let (y, m, d) = ORDER_282_EFFECTIVE;
    let order_282 = NaiveDate::from_ymd_opt(y, m, d).is_some_and(|eff| date >= eff);
    order_282
        || matches!(
            level,
            CreditLevel::AdvancedCertified | CreditLevel::Routine | CreditLevel::Dishonest
        )
}

/// Key-enterprise tags for targeted service (M16: 强企计划). Source: Shenzhen Customs 2022
/// measures, measure 16 (seed text).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EnterpriseTag {
    /// 专精特新 "little giant" — specialised, refined, distinctive, innovative SME.
    SpecialisedSme,
    /// 独角兽企业.
    Unicorn,
    /// 一带一路 trader.
    BeltAndRoad,
    /// 强企计划 member.
    StrongEnterprisePlan,
    /// 报关企业 — a customs broker.
    CustomsBroker,
}

impl EnterpriseTag {
    pub fn parse(s: &str) -> Result<Self, Violation> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
            Violation::rule(
                "tag.unknown",
                format!(
                    "'{s}' is not a tag; use specialised_sme, unicorn, belt_and_road, strong_enterprise_plan or customs_broker"
                ),
            )
        })
    }
}

/// A registered enterprise (企业).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Enterprise {
    pub id: Uuid,
    /// 企业名称
    pub name: String,
    /// 统一社会信用代码
    #[schema(value_type = String, example = "91350100M000100Y43")]
    pub uscc: Uscc,
    /// 海关注册编码
    #[schema(value_type = String, example = "4403960001")]
    pub customs_code: CustomsRegistrationCode,
    pub credit_level: CreditLevel,
    pub tags: Vec<EnterpriseTag>,
    pub address: Option<String>,
    pub contact_phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version, +1 per change.
    pub version: i64,
}

/// Validated fields of a new enterprise, before an id and time are assigned.
#[derive(Debug, Clone)]
pub struct NewEnterprise {
    pub name: String,
    pub uscc: Uscc,
    pub customs_code: CustomsRegistrationCode,
    pub credit_level: CreditLevel,
    pub tags: Vec<EnterpriseTag>,
    pub address: Option<String>,
    pub contact_phone: Option<String>,
}

/// Limits on free-text fields, from the declaration form's field widths (enterprise name 70
/// characters in the 2019 No. 18 filling spec is a common value; we allow 200 to be lenient).
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_ADDRESS_CHARS: usize = 300;

/// Checks a non-empty free-text field of bounded length.
pub fn text_field(value: &str, max: usize) -> Result<String, Violation> {
    let t = value.trim();
    if t.is_empty() {
        return Err(Violation::rule("text.required", "must not be empty"));
    }
    if t.chars().count() > max {
        return Err(Violation::rule(
            "text.too_long",
            format!("at most {max} characters"),
        ));
    }
    Ok(t.to_string())
}

/// Raw input fields of an enterprise, as they come from a form or API call.
pub struct EnterpriseInput<'a> {
    pub name: &'a str,
    pub uscc: &'a str,
    pub customs_code: &'a str,
    pub credit_level: &'a str,
    pub tags: &'a [String],
    pub address: Option<&'a str>,
    pub contact_phone: Option<&'a str>,
}

impl NewEnterprise {
    /// The registered enterprise, version 1.
    pub fn register(self, id: Uuid, now: DateTime<Utc>) -> Enterprise {
        Enterprise {
            id,
            name: self.name,
            uscc: self.uscc,
            customs_code: self.customs_code,
            credit_level: self.credit_level,
            tags: self.tags,
            address: self.address,
            contact_phone: self.contact_phone,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// Validates every field and reports all violations at once. `today` decides which
    /// credit scale is in force.
    pub fn parse(input: &EnterpriseInput<'_>, today: NaiveDate) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let name = v.check("name", text_field(input.name, MAX_NAME_CHARS));
        let uscc = v.check("uscc", Uscc::parse(input.uscc));
        let customs_code = v.check(
            "customs_code",
            CustomsRegistrationCode::parse(input.customs_code),
        );
        let credit_level = v.check("credit_level", CreditLevel::parse(input.credit_level));
        if let Some(level) = credit_level
            && !level_in_force(level, today)
        {
            v.push(
                "credit_level",
                "credit_level.not_in_force",
                format!(
                    "'{}' exists only from 2026-04-01 (GACC Order 282)",
                    level.as_str()
                ),
            );
        }
        let mut tags = Vec::new();
        for (i, t) in input.tags.iter().enumerate() {
            if let Some(tag) = v.check(&format!("tags/{i}"), EnterpriseTag::parse(t))
                && !tags.contains(&tag)
            {
                tags.push(tag);
            }
        }
        tags.sort();
        let address = input
            .address
            .filter(|a| !a.trim().is_empty())
            .and_then(|a| v.check("address", text_field(a, MAX_ADDRESS_CHARS)));
        let contact_phone = match input.contact_phone.filter(|p| !p.trim().is_empty()) {
            Some(p) => v.check("contact_phone", phone(p)),
            None => None,
        };
        match (name, uscc, customs_code, credit_level) {
            (Some(name), Some(uscc), Some(customs_code), Some(credit_level)) if v.is_empty() => {
                Ok(NewEnterprise {
                    name,
                    uscc,
                    customs_code,
                    credit_level,
                    tags,
                    address,
                    contact_phone,
                })
            }
            _ => Err(v),
        }
    }
}

/// A telephone number: digits with optional leading +, spaces and dashes, 5-20 digits.
pub fn phone(p: &str) -> Result<String, Violation> {
    let t = p.trim();
    let digits = t.chars().filter(char::is_ascii_digit).count();
    let ok = t
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || c == ' ' || c == '-' || (i == 0 && c == '+'));
    if !ok || !(5..=20).contains(&digits) {
        return Err(Violation::rule(
            "phone.format",
            "a telephone number has 5 to 20 digits, optionally with a leading + and dashes",
        ));
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(uscc: &'a str, level: &'a str, tags: &'a [String]) -> EnterpriseInput<'a> {
        EnterpriseInput {
            name: "深圳示例进口有限公司",
            uscc,
            customs_code: "4403960001",
            credit_level: level,
            tags,
            address: None,
            contact_phone: Some("+86 755-8888-0000"),
        }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn all_violations_reported_at_once() {
        let tags = vec!["unicorn".to_string(), "martian".to_string()];
        let err = NewEnterprise::parse(
            &input("91350100M000100Y44", "gold", &tags),
            day(2026, 11, 27),
        )
        .unwrap_err();
        let paths: Vec<_> = err
            .0
            .iter()
            .map(|v| (v.path.as_str(), v.rule.as_str()))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("uscc", "uscc.check_character"),
                ("credit_level", "credit_level.unknown"),
                ("tags/1", "tag.unknown"),
            ]
        );
    }

    #[test]
    fn five_levels_only_from_order_282() {
        let tags = vec![];
        assert!(
            NewEnterprise::parse(
                &input("91350100M000100Y43", "certified", &tags),
                day(2025, 5, 1)
            )
            .is_err()
        );
        let e = NewEnterprise::parse(
            &input("91350100M000100Y43", "registered", &tags),
            day(2025, 5, 1),
        )
        .unwrap();
        assert_eq!(e.credit_level, CreditLevel::Routine);
        assert!(
            NewEnterprise::parse(
                &input("91350100M000100Y43", "certified", &tags),
                day(2026, 4, 1)
            )
            .is_ok()
        );
    }
}
