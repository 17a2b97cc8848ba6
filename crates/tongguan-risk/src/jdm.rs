//! Control instructions (布控指令) as a JSON Decision Model (JDM) decision table, the format
//! of GoRules' ZEN engine (<https://gorules.io/docs/rules-engine/json-decision-model>).
//!
//! Why: an open format lets another rules engine run the same instructions, and the
//! side-by-side benchmark (`examples/zen_compare.rs`, feature `zen`; `BENCHMARKS.md`
//! "Risk engine against zen-engine") checks that it finds exactly the same hits.
//!
//! Shape: one row per instruction, hit policy `collect`, evaluated in `loop` mode over the
//! declaration's items. Each item row carries the head (表头) fields as well, so a row of the
//! table holds when the head conditions hold and every item-level condition holds on that
//! one item — the "same item" rule of [`crate::Conditions`]. The instructions matched by a
//! declaration are the union over its items (a declaration has at least one item).
//! The validity window is a column on the evaluation instant in milliseconds since the epoch.
//! Only the match is translated: the selection draw (布控比例) and random selection stay with
//! [`crate::RuleSet`].

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::engine::{RuleSet, Subject};
use crate::model::{Conditions, ControlInstruction};

/// The decision table's node id; its output is `{"hits": [[{"instruction": id}, …], …]}`,
/// one list per item.
pub const TABLE_NODE: &str = "control_instructions";

/// Input columns: (column id, the field of an item row). The column id is also the name.
const COLUMNS: [(&str, &str); 12] = [
    ("commodity_prefix", "commodity_code"),
    ("origin_country", "origin_country"),
    ("departure_country", "departure_country"),
    ("enterprise", "enterprise"),
    ("trade_mode", "trade_mode"),
    ("transport_mode", "transport_mode"),
    ("port", "port"),
    ("direction", "direction"),
    ("item_value", "total_value"),
    ("unit_price", "unit_price"),
    ("quantity", "quantity"),
    ("in_force", "at_ms"),
];

/// The JDM graph (input → decision table → output) of the instructions of `rules` (those
/// [`RuleSet::compile`] kept: valid, latest version, so every code is digits or capital
/// letters and needs no escaping).
pub fn decision_graph(rules: &RuleSet) -> Value {
    let inputs: Vec<Value> = COLUMNS
        .iter()
        .map(|(id, field)| json!({ "id": id, "name": id, "field": field }))
        .collect();
    let rows: Vec<Value> = rules.instructions().iter().map(row).collect();
    json!({
        "nodes": [
            { "id": "request", "name": "request", "type": "inputNode", "content": {} },
            { "id": TABLE_NODE, "name": TABLE_NODE, "type": "decisionTableNode", "content": {
                "hitPolicy": "collect",
                "inputs": inputs,
                "outputs": [ { "id": "instruction", "name": "instruction", "field": "instruction" } ],
                "rules": rows,
                "inputField": "items",
                "executionMode": "loop",
                "outputPath": "hits",
                "passThrough": false
            } },
            { "id": "response", "name": "response", "type": "outputNode", "content": {} }
        ],
        "edges": [
            { "id": "e1", "sourceId": "request", "targetId": TABLE_NODE },
            { "id": "e2", "sourceId": TABLE_NODE, "targetId": "response" }
        ]
    })
}

/// The table's input for a declaration assessed at `at`: `{"items": [row, …]}`, each row the
/// head fields plus one item's. Amounts are JSON numbers.
pub fn decision_input(subject: &Subject<'_>, at: DateTime<Utc>) -> Value {
    let items: Vec<Value> = subject
        .items
        .iter()
        .map(|item| {
            json!({
                "commodity_code": item.commodity_code,
                "origin_country": item.origin_country,
                "departure_country": subject.departure_country,
                "enterprise": subject.enterprise_id.to_string(),
                "trade_mode": subject.trade_mode,
                "transport_mode": subject.transport_mode,
                "port": subject.port,
                "direction": subject.direction.as_str(),
                "total_value": number(item.total_value),
                "unit_price": number(item.unit_price),
                "quantity": number(item.quantity),
                "at_ms": at.timestamp_millis(),
            })
        })
        .collect();
    json!({ "items": items })
}

fn number(d: Decimal) -> Value {
    // Amounts have at most 15 significant digits in practice (18,2 columns): an f64 holds
    // them, and ZEN reads the number back into a decimal.
    d.to_string()
        .parse::<serde_json::Number>()
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn row(instr: &ControlInstruction) -> Value {
    let c: &Conditions = &instr.conditions;
    let mut row = Map::new();
    row.insert("_id".into(), json!(instr.id.to_string()));
    let mut cell = |column: &str, text: String| {
        if !text.is_empty() {
            row.insert(column.into(), Value::String(text));
        }
    };
    cell(
        "commodity_prefix",
        c.commodity_prefixes
            .iter()
            .map(|p| format!("startsWith($, \"{p}\")"))
            .collect::<Vec<_>>()
            .join(" or "),
    );
    cell("origin_country", list(c.origin_countries.iter()));
    cell("departure_country", list(c.departure_countries.iter()));
    cell("enterprise", list(c.enterprises.iter()));
    cell("trade_mode", list(c.trade_modes.iter()));
    cell("transport_mode", list(c.transport_modes.iter()));
    cell("port", list(c.ports.iter()));
    cell("direction", list(c.directions.iter().map(|d| d.as_str())));
    cell("item_value", bounds(c.min_item_value, c.max_item_value));
    cell("unit_price", bounds(c.min_unit_price, c.max_unit_price));
    cell("quantity", bounds(c.min_quantity, c.max_quantity));
    let from = format!(">= {}", instr.valid_from.timestamp_millis());
    cell(
        "in_force",
        match instr.valid_until {
            Some(until) => format!("{from} and < {}", until.timestamp_millis()),
            None => from,
        },
    );
    row.insert(
        "instruction".into(),
        Value::String(format!("\"{}\"", instr.id)),
    );
    Value::Object(row)
}

/// `"A", "B"`: ZEN's unary test for "one of".
fn list<T: std::fmt::Display>(values: impl Iterator<Item = T>) -> String {
    values
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn bounds(min: Option<Decimal>, max: Option<Decimal>) -> String {
    match (min, max) {
        (Some(lo), Some(hi)) => format!(">= {lo} and <= {hi}"),
        (Some(lo), None) => format!(">= {lo}"),
        (None, Some(hi)) => format!("<= {hi}"),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use tongguan_domain::codes::Direction;
    use uuid::Uuid;

    use super::*;
    use crate::{ControlAction, RandomPolicy};

    #[test]
    fn an_instruction_becomes_one_row_with_a_cell_per_condition() {
        let from = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("date");
        let instr = ControlInstruction {
            id: Uuid::from_u128(7),
            conditions: Conditions {
                commodity_prefixes: vec!["8471".into(), "851713".into()],
                origin_countries: vec!["JPN".into(), "KOR".into()],
                directions: vec![Direction::Import],
                min_item_value: Some(Decimal::new(1_000_000, 2)),
                ..Conditions::default()
            },
            action: ControlAction::MachineScan,
            selection_rate: Decimal::ONE,
            valid_from: from,
            valid_until: None,
            reason: "test".into(),
            version: 1,
        };
        let rules = RuleSet::compile(vec![instr], RandomPolicy::default());
        let graph = decision_graph(&rules);
        let table = &graph["nodes"][1]["content"];
        assert_eq!(table["hitPolicy"], "collect");
        assert_eq!(table["executionMode"], "loop");
        let row = &table["rules"][0];
        assert_eq!(
            row["commodity_prefix"],
            "startsWith($, \"8471\") or startsWith($, \"851713\")"
        );
        assert_eq!(row["origin_country"], "\"JPN\", \"KOR\"");
        assert_eq!(row["direction"], "\"import\"");
        assert_eq!(row["item_value"], ">= 10000.00");
        assert_eq!(row["in_force"], format!(">= {}", from.timestamp_millis()));
        assert_eq!(row["instruction"], format!("\"{}\"", Uuid::from_u128(7)));
        // No cell for a condition the instruction does not set (any value matches).
        assert!(row.get("port").is_none());
    }
}
