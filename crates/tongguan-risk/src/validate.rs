//! Checks a control instruction (布控指令) before it is stored or compiled.
//!
//! Rules (`shared/domain/DECLARATION.md` for the code formats): at least one condition;
//! commodity prefixes 2–10 digits (HS chapter … national 10-digit code); countries ISO 3166
//! alpha-3; trade modes (监管方式) 4 digits; ports (关别) 4 digits; transport modes (运输方式)
//! one digit or capital letter; selection rate in 0..=1; bounds non-negative with min <= max;
//! `valid_until` after `valid_from`; a reason (布控理由). Every violation is reported at once.

use rust_decimal::Decimal;
use tongguan_domain::Violations;

use crate::model::ControlInstruction;

/// Validates an instruction before it is stored: returns **every** violation, each with a
/// field path such as `conditions/commodity_prefixes/2` and a stable rule name:
///
/// | rule | what |
/// |---|---|
/// | `instruction.no_condition` | no condition at all (it would select every declaration) |
/// | `instruction.prefix_digits` | commodity prefix not 2..=10 digits |
/// | `instruction.country_alpha3` | origin / departure country not 3 capital letters |
/// | `instruction.enterprise_nil` | the nil UUID as an enterprise |
/// | `instruction.trade_mode_digits` | trade mode (监管方式) not 4 digits |
/// | `instruction.transport_mode_code` | transport mode (运输方式) not one digit or capital letter |
/// | `instruction.port_digits` | port (关别) not 4 digits |
/// | `instruction.bound_negative` | a value / price / quantity bound below 0 |
/// | `instruction.bound_order` | a min bound greater than its max (path: the min) |
/// | `instruction.rate_range` | selection rate outside 0..=1 |
/// | `instruction.validity_window` | `valid_until` not after `valid_from` |
/// | `instruction.reason_required` | empty or blank reason |
///
/// [`crate::RuleSet::compile`] applies the same check and leaves out what fails it.
pub fn validate(instr: &ControlInstruction) -> Result<(), Violations> {
    let mut v = Violations::new();
    let c = &instr.conditions;
    if c.is_empty() {
        v.push(
            "conditions",
            "instruction.no_condition",
            "a control instruction needs at least one condition",
        );
    }
    for (i, p) in c.commodity_prefixes.iter().enumerate() {
        if !(2..=10).contains(&p.len()) || !all_digits(p) {
            v.push(
                format!("conditions/commodity_prefixes/{i}"),
                "instruction.prefix_digits",
                format!("commodity prefix '{p}' must be 2 to 10 digits of a commodity code"),
            );
        }
    }
    for (field, list) in [
        ("origin_countries", &c.origin_countries),
        ("departure_countries", &c.departure_countries),
    ] {
        for (i, code) in list.iter().enumerate() {
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                v.push(
                    format!("conditions/{field}/{i}"),
                    "instruction.country_alpha3",
                    format!(
                        "country '{code}' must be an ISO 3166 alpha-3 code (3 capital letters)"
                    ),
                );
            }
        }
    }
    for (i, e) in c.enterprises.iter().enumerate() {
        if e.is_nil() {
            v.push(
                format!("conditions/enterprises/{i}"),
                "instruction.enterprise_nil",
                "the nil UUID is not an enterprise",
            );
        }
    }
    for (i, t) in c.trade_modes.iter().enumerate() {
        if t.len() != 4 || !all_digits(t) {
            v.push(
                format!("conditions/trade_modes/{i}"),
                "instruction.trade_mode_digits",
                format!("trade mode '{t}' must be 4 digits (监管方式, e.g. 0110)"),
            );
        }
    }
    for (i, t) in c.transport_modes.iter().enumerate() {
        if t.len() != 1
            || !t
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        {
            v.push(
                format!("conditions/transport_modes/{i}"),
                "instruction.transport_mode_code",
                format!("transport mode '{t}' must be one digit or capital letter (运输方式, e.g. 2 waterway)"),
            );
        }
    }
    for (i, p) in c.ports.iter().enumerate() {
        if p.len() != 4 || !all_digits(p) {
            v.push(
                format!("conditions/ports/{i}"),
                "instruction.port_digits",
                format!("port '{p}' must be a 4-digit customs district code (关别, e.g. 5301)"),
            );
        }
    }
    for (min_name, min, max_name, max) in [
        (
            "min_item_value",
            c.min_item_value,
            "max_item_value",
            c.max_item_value,
        ),
        (
            "min_unit_price",
            c.min_unit_price,
            "max_unit_price",
            c.max_unit_price,
        ),
        (
            "min_quantity",
            c.min_quantity,
            "max_quantity",
            c.max_quantity,
        ),
    ] {
        for (name, bound) in [(min_name, min), (max_name, max)] {
            if bound.is_some_and(|b| b.is_sign_negative() && !b.is_zero()) {
                v.push(
                    format!("conditions/{name}"),
                    "instruction.bound_negative",
                    format!("{name} must not be negative"),
                );
            }
        }
        if let (Some(lo), Some(hi)) = (min, max)
            && lo > hi
        {
            v.push(
                format!("conditions/{min_name}"),
                "instruction.bound_order",
                format!("{min_name} {lo} is greater than {max_name} {hi}"),
            );
        }
    }
    if instr.selection_rate < Decimal::ZERO || instr.selection_rate > Decimal::ONE {
        v.push(
            "selection_rate",
            "instruction.rate_range",
            format!(
                "selection rate {} must be between 0 and 1",
                instr.selection_rate
            ),
        );
    }
    if let Some(until) = instr.valid_until
        && until <= instr.valid_from
    {
        v.push(
            "valid_until",
            "instruction.validity_window",
            format!(
                "valid_until {until} must be after valid_from {}",
                instr.valid_from
            ),
        );
    }
    if instr.reason.trim().is_empty() {
        v.push(
            "reason",
            "instruction.reason_required",
            "a control instruction needs a reason (布控理由)",
        );
    }
    v.finish(|| ())
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}
