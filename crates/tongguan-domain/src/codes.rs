//! Code types with their check characters: unified social credit code (统一社会信用代码),
//! customs registration code (海关注册编码), container number (集装箱号), customs district
//! code (关区代码). Each `parse` names the rule it enforces.

use serde::{Deserialize, Serialize};

use crate::Violation;

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl TryFrom<String> for $name {
            type Error = Violation;
            fn try_from(s: String) -> Result<Self, Violation> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}

/// Unified social credit code (统一社会信用代码), 18 characters.
///
/// Source: GB 32100-2015 《法人和其他组织统一社会信用代码编码规则》: character set of 31
/// symbols (digits and capital letters without I, O, Z, S, V); position 1 registration
/// authority, 2 organisation type, 3-8 administrative division (digits), 9-17 the
/// organisation code built by GB 11714-1997 (its own check character at position 17),
/// 18 the check character: `31 - (Σ value(cᵢ)·3^(i-1) mod 31) mod 31` over positions 1-17.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Uscc(String);
string_newtype!(Uscc);

/// GB 32100-2015 Table 1: the 31 symbols in value order.
const USCC_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// GB 32100-2015 §4.3: weights 3^(i-1) mod 31 for positions 1..17.
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
/// GB 11714-1997: weights of the 8 body characters of the organisation code.
const ORG_CODE_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

fn uscc_value(c: u8) -> Option<u32> {
    USCC_CHARSET.iter().position(|&x| x == c).map(|p| p as u32)
}

/// The GB 32100 check character for the first 17 characters.
pub fn uscc_check_character(body: &[u8]) -> Option<char> {
    if body.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (c, w) in body.iter().zip(USCC_WEIGHTS) {
        sum += uscc_value(*c)? * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(USCC_CHARSET[check as usize] as char)
}

/// GB 11714-1997 check character of an organisation code body (8 characters: digits and
/// capital letters valued A=10 .. Z=35): `11 - Σ value·weight mod 11`, 10 → `X`, 11 → `0`.
pub fn organisation_code_check(body: &[u8]) -> Option<char> {
    if body.len() != 8 {
        return None;
    }
    let mut sum = 0u32;
    for (c, w) in body.iter().zip(ORG_CODE_WEIGHTS) {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return None,
        };
        sum += v * w;
    }
    Some(match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        d => char::from_digit(d, 10)?,
    })
}

impl Uscc {
    pub fn parse(input: &str) -> Result<Self, Violation> {
        let s = input.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() != 18 {
            return Err(Violation::rule(
                "uscc.length",
                format!(
                    "a unified social credit code has 18 characters, got {}",
                    s.chars().count()
                ),
            ));
        }
        if let Some(bad) = s
            .chars()
            .find(|c| !c.is_ascii() || uscc_value(*c as u8).is_none())
        {
            return Err(Violation::rule(
                "uscc.charset",
                format!(
                    "'{bad}' is not allowed in a unified social credit code (digits and capital letters except I, O, Z, S, V; GB 32100-2015)"
                ),
            ));
        }
        if !b[2..8].iter().all(u8::is_ascii_digit) {
            return Err(Violation::rule(
                "uscc.division_code",
                "positions 3-8 of a unified social credit code are the 6-digit administrative division code",
            ));
        }
        let expected = uscc_check_character(&b[..17]).unwrap_or('?');
        if b[17] as char != expected {
            return Err(Violation::rule(
                "uscc.check_character",
                format!(
                    "check character is '{}' but GB 32100-2015 gives '{expected}' for {}",
                    b[17] as char,
                    &s[..17]
                ),
            ));
        }
        if organisation_code_check(&b[8..16]) != Some(b[16] as char) {
            return Err(Violation::rule(
                "uscc.organisation_code_check",
                format!(
                    "positions 9-17 ({}) are not a valid organisation code: its GB 11714-1997 check character does not match",
                    &s[8..17]
                ),
            ));
        }
        Ok(Self(s))
    }

    /// The 6-digit administrative division code (positions 3-8), e.g. 440300 Shenzhen.
    pub fn division_code(&self) -> &str {
        &self.0[2..8]
    }
}

/// Customs registration code (海关注册编码 / 海关编码 of an enterprise), 10 characters.
///
/// Structure per the customs enterprise registration rules (海关报关单位注册登记管理规定,
/// GACC Order 221, replaced by Order 253): 4-digit administrative region of registration,
/// 1 economic-zone character, 1 enterprise-type character, 4-character sequence. We check
/// length, character set and the numeric region prefix; no check character exists.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CustomsRegistrationCode(String);
string_newtype!(CustomsRegistrationCode);

impl CustomsRegistrationCode {
    pub fn parse(input: &str) -> Result<Self, Violation> {
        let s = input.trim().to_ascii_uppercase();
        if s.len() != 10 || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Violation::rule(
                "customs_code.format",
                "a customs registration code has 10 letters or digits",
            ));
        }
        if !s.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
            return Err(Violation::rule(
                "customs_code.region",
                "the first 4 characters of a customs registration code are the region of registration (digits)",
            ));
        }
        Ok(Self(s))
    }
}

/// Customs district code (关区代码), 4 digits: 2 of the directly-affiliated customs
/// (e.g. 53 Shenzhen) and 2 of the subordinate customs (e.g. 5301 Huanggang).
/// Whether the code exists is checked against the reference table, not here.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CustomsDistrictCode(String);
string_newtype!(CustomsDistrictCode);

impl CustomsDistrictCode {
    pub fn parse(input: &str) -> Result<Self, Violation> {
        let s = input.trim();
        if s.len() != 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Violation::rule(
                "customs_district.format",
                "a customs district code has 4 digits",
            ));
        }
        Ok(Self(s.to_string()))
    }

    /// The directly-affiliated customs (直属海关) this district belongs to, e.g. 5300.
    pub fn head(&self) -> String {
        format!("{}00", &self.0[..2])
    }

    /// True when `other` is this district or one of its subordinate customs.
    pub fn covers(&self, other: &CustomsDistrictCode) -> bool {
        self == other || (self.0.ends_with("00") && self.0[..2] == other.0[..2])
    }
}

/// Container number (集装箱号) per ISO 6346: 3-letter owner code, category identifier
/// (U freight, J detachable equipment, Z trailer/chassis), 6-digit serial, check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContainerNumber(String);
string_newtype!(ContainerNumber);

/// ISO 6346 Annex A letter values: 10 upwards, skipping multiples of 11.
fn iso6346_letter_value(c: u8) -> u32 {
    let mut v = 10;
    for l in b'A'..c {
        let _ = l;
        v += 1;
        if v % 11 == 0 {
            v += 1;
        }
    }
    v
}

/// The ISO 6346 check digit for the first 10 characters: Σ value·2^i mod 11 mod 10.
pub fn iso6346_check_digit(body: &[u8]) -> Option<u32> {
    if body.len() != 10 {
        return None;
    }
    let mut sum = 0u32;
    for (i, c) in body.iter().enumerate() {
        let v = match c {
            b'A'..=b'Z' if i < 4 => iso6346_letter_value(*c),
            b'0'..=b'9' if i >= 4 => u32::from(c - b'0'),
            _ => return None,
        };
        sum += v << i;
    }
    Some(sum % 11 % 10)
}

impl ContainerNumber {
    pub fn parse(input: &str) -> Result<Self, Violation> {
        let s: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect::<String>()
            .to_ascii_uppercase();
        let b = s.as_bytes();
        let shape_ok = b.len() == 11
            && b[..4].iter().all(u8::is_ascii_uppercase)
            && b[4..].iter().all(u8::is_ascii_digit);
        if !shape_ok {
            return Err(Violation::rule(
                "container.format",
                "a container number is 4 letters and 7 digits (ISO 6346), e.g. CSQU3054383",
            ));
        }
        if !matches!(b[3], b'U' | b'J' | b'Z') {
            return Err(Violation::rule(
                "container.category",
                format!(
                    "the 4th letter is the ISO 6346 category identifier U, J or Z, got '{}'",
                    b[3] as char
                ),
            ));
        }
        let expected = iso6346_check_digit(&b[..10]).unwrap_or(99);
        if u32::from(b[10] - b'0') != expected {
            return Err(Violation::rule(
                "container.check_digit",
                format!(
                    "check digit is {} but ISO 6346 gives {expected} for {}",
                    b[10] as char,
                    &s[..10]
                ),
            ));
        }
        Ok(Self(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn real_uscc_passes_both_checks() {
        // Example from GB 32100-2015 explanatory material.
        assert!(Uscc::parse("91350100M000100Y43").is_ok());
        assert_eq!(
            Uscc::parse("91350100M000100Y44").unwrap_err().rule,
            "uscc.check_character"
        );
    }

    #[test]
    fn uscc_rejects_forbidden_letters_and_lengths() {
        assert_eq!(
            Uscc::parse("91350100M0001").unwrap_err().rule,
            "uscc.length"
        );
        assert_eq!(
            Uscc::parse("91350100M00010OY43").unwrap_err().rule,
            "uscc.charset"
        );
    }

    #[test]
    fn container_check_digits() {
        assert!(ContainerNumber::parse("CSQU3054383").is_ok());
        assert!(ContainerNumber::parse("MSKU 907032-3").is_ok());
        assert_eq!(
            ContainerNumber::parse("CSQU3054384").unwrap_err().rule,
            "container.check_digit"
        );
        assert_eq!(
            ContainerNumber::parse("CSQA3054383").unwrap_err().rule,
            "container.category"
        );
    }

    #[test]
    fn letter_values_skip_multiples_of_eleven() {
        assert_eq!(iso6346_letter_value(b'A'), 10);
        assert_eq!(iso6346_letter_value(b'B'), 12);
        assert_eq!(iso6346_letter_value(b'L'), 23);
        assert_eq!(iso6346_letter_value(b'V'), 34);
        assert_eq!(iso6346_letter_value(b'Z'), 38);
    }

    #[test]
    fn district_cover() {
        let sz = CustomsDistrictCode::parse("5300").unwrap();
        assert!(sz.covers(&CustomsDistrictCode::parse("5301").unwrap()));
        assert!(!sz.covers(&CustomsDistrictCode::parse("5100").unwrap()));
        let hg = CustomsDistrictCode::parse("5301").unwrap();
        assert!(!hg.covers(&CustomsDistrictCode::parse("5302").unwrap()));
    }

    proptest! {
        #[test]
        fn uscc_single_character_change_is_caught(pos in 0usize..18, delta in 1usize..31) {
            let good = b"91350100M000100Y43";
            let mut bad = good.to_vec();
            let v = USCC_CHARSET.iter().position(|&c| c == good[pos]).unwrap();
            bad[pos] = USCC_CHARSET[(v + delta) % 31];
            let s = String::from_utf8(bad).unwrap();
            prop_assert!(Uscc::parse(&s).is_err(), "{} accepted", s);
        }

        #[test]
        fn generated_container_numbers_round_trip(owner in "[A-Z]{3}", serial in 0u32..1_000_000) {
            let body = format!("{owner}U{serial:06}");
            let d = iso6346_check_digit(body.as_bytes()).unwrap();
            let full = format!("{body}{d}");
            prop_assert!(ContainerNumber::parse(&full).is_ok());
            let wrong = format!("{body}{}", (d + 1) % 10);
            // Check digit 10 maps to 0, so two serials can share a digit; a different digit never passes.
            prop_assert!(ContainerNumber::parse(&wrong).is_err());
        }
    }
}

/// Import or export (进/出口). On the customs number the flag is 1 for import, 0 for export
/// (GACC 报关单填制规范: 海关编号 = customs code + year + I/E flag + sequence).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
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
pub enum Direction {
    #[default]
    Import,
    Export,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Import => "import",
            Direction::Export => "export",
        }
    }

    /// The inverse of [`Direction::as_str`].
    pub fn parse(s: &str) -> Option<Direction> {
        [Direction::Import, Direction::Export]
            .into_iter()
            .find(|d| d.as_str() == s)
    }

    /// The digit on the 18-digit customs number.
    pub fn flag(self) -> char {
        match self {
            Direction::Import => '1',
            Direction::Export => '0',
        }
    }
}
