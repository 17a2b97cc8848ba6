//! Manifests (舱单) and arrival reports (运抵报告).
//!
//! A manifest lists, per transport means and voyage, the bills of lading (提运单) with their
//! containers, packages and weights. Import declarations refer to a bill on it; advance
//! import declarations are accepted only once the bill is on a manifest (GACC Ann. 2014
//! No. 74; RULES.md §3). A terminal's arrival report by bill or by container says the goods
//! are in the supervised area: the moment advance declarations are released (M1 秒放).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Violations;
use crate::codes::{ContainerNumber, Direction};

/// A bill of lading on a manifest (提运单).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Bill {
    pub bill_no: String,
    /// Consignee (收货人) as on the bill.
    pub consignee: String,
    pub packages: u32,
    #[schema(value_type = String)]
    pub gross_weight_kg: Decimal,
    #[serde(default)]
    pub containers: Vec<String>,
    /// Air: the master air waybill (主运单) of a house air waybill (分运单); an arrival
    /// report for the master covers its houses.
    #[serde(default)]
    pub master_bill_no: Option<String>,
    /// Rail: the wagons (车皮) carrying this rail waybill's goods.
    #[serde(default)]
    pub wagons: Vec<String>,
}

/// A manifest as filed by the carrier or its agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManifestInput {
    pub direction: Direction,
    /// 运输方式 code: 2 waterway, 3 rail, 5 air, …
    pub transport_mode: String,
    /// Vessel, flight or train (运输工具名称).
    pub transport_means: String,
    pub voyage: String,
    /// Port of arrival (import) or departure (export), UN/LOCODE.
    pub port: String,
    /// Customs district supervising that port.
    pub customs: String,
    /// Expected arrival of the transport means.
    #[serde(default)]
    pub eta: Option<DateTime<Utc>>,
    /// Which leg of a multi-leg journey this manifest covers (一单到底: the same bill
    /// follows the goods on the feeder and the mainline manifests).
    #[serde(default)]
    pub leg: Leg,
    pub bills: Vec<Bill>,
}

/// The leg of a journey a manifest covers (M2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Leg {
    /// The only leg: a bill appears on one such manifest.
    #[default]
    Direct,
    /// Feeder barge between a feeder terminal and the hub (驳船).
    Feeder,
    /// Mainline vessel calling at the hub (干线).
    Mainline,
}

impl Leg {
    pub fn as_str(self) -> &'static str {
        match self {
            Leg::Direct => "direct",
            Leg::Feeder => "feeder",
            Leg::Mainline => "mainline",
        }
    }
}

/// A stored manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Manifest {
    pub id: Uuid,
    #[serde(flatten)]
    pub input: ManifestInput,
    /// The enterprise that filed it.
    pub filed_by: Uuid,
    /// When the transport means arrived (the first arrival report on its bills); the
    /// two-step complete declaration is due 14 days after it.
    pub arrived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The kinds of operation a terminal handles.
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
pub enum TerminalKind {
    Sea,
    Rail,
    Air,
    Road,
}

/// A terminal (码头/场站/铁路/机场货站) as registered by an admin.
///
/// Combination port (组合港, M2): a feeder terminal names the hub port whose port code it
/// shares; goods arriving at the feeder count as arrived at the hub and are cleared there
/// once. Source: Shenzhen Customs 2022 measures, measure 2 (seed text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Terminal {
    /// `<UN/LOCODE>-<terminal>`, e.g. `CNSHK-SCT`.
    pub code: String,
    pub name: String,
    /// The terminal's own port (UN/LOCODE), e.g. `CNDGG` for a Dongguan feeder.
    pub port: String,
    /// The customs district supervising it.
    pub customs: String,
    pub kinds: Vec<TerminalKind>,
    /// For a feeder in a combination port: the hub port whose code it shares, e.g. `CNSHK`.
    #[serde(default)]
    pub hub_port: Option<String>,
}

impl Terminal {
    /// The port code goods at this terminal are cleared under: the hub's for a feeder.
    pub fn clearance_port(&self) -> &str {
        self.hub_port.as_deref().unwrap_or(&self.port)
    }
}

/// Checks a terminal's shape; codes are checked against the reference data by the caller.
pub fn validate_terminal(t: &Terminal) -> Violations {
    let mut v = Violations::new();
    let prefix = t.code.split('-').next().unwrap_or("");
    let suffix_ok = t.code.len() <= 40
        && t.code.contains('-')
        && t.code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
    if !suffix_ok {
        v.push(
            "code",
            "terminal.code_format",
            "write the code as <UN/LOCODE>-<TERMINAL> in capitals, e.g. CNSHK-SCT",
        );
    } else if prefix != t.port {
        v.push(
            "code",
            "terminal.code_port",
            format!("the code starts with its port {}", t.port),
        );
    }
    if t.name.trim().is_empty() {
        v.push("name", "required", "the terminal's name");
    }
    if t.kinds.is_empty() {
        v.push(
            "kinds",
            "terminal.kinds",
            "at least one of sea, rail, air, road",
        );
    }
    if t.hub_port.as_deref() == Some(t.port.as_str()) {
        v.push(
            "hub_port",
            "terminal.hub_is_self",
            "a hub is not its own feeder",
        );
    }
    v
}

/// A gate or loading event a terminal reports, and the system's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TerminalEventKind {
    /// 进闸: a container enters the terminal (for an export: its arrival in the supervised area).
    GateIn,
    /// 出闸: a container leaves the terminal.
    GateOut,
    /// 装船确认: a container is loaded onto a vessel, train or aircraft.
    Loaded,
}

impl TerminalEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TerminalEventKind::GateIn => "gate_in",
            TerminalEventKind::GateOut => "gate_out",
            TerminalEventKind::Loaded => "loaded",
        }
    }
}

/// Limits of a manifest filing.
pub const MAX_BILLS: usize = 10_000;

/// Checks a manifest's shape (codes are checked by the caller against reference data).
pub fn validate_manifest(m: &ManifestInput) -> Violations {
    let mut v = Violations::new();
    for (name, value) in [
        ("transport_means", &m.transport_means),
        ("voyage", &m.voyage),
        ("port", &m.port),
        ("customs", &m.customs),
        ("transport_mode", &m.transport_mode),
    ] {
        if value.trim().is_empty() {
            v.push(name, "required", format!("{name} is required"));
        }
    }
    if m.bills.is_empty() {
        v.push(
            "bills",
            "bills.required",
            "a manifest lists at least one bill of lading",
        );
    }
    if m.bills.len() > MAX_BILLS {
        v.push(
            "bills",
            "bills.too_many",
            format!("at most {MAX_BILLS} bills per filing"),
        );
    }
    let mut bills = std::collections::HashSet::new();
    let mut containers = std::collections::HashSet::new();
    for (i, b) in m.bills.iter().enumerate() {
        if b.bill_no.trim().is_empty() || b.bill_no.len() > 50 {
            v.push(
                format!("bills/{i}/bill_no"),
                "bill_no.format",
                "1-50 characters",
            );
        } else if !bills.insert(b.bill_no.trim().to_string()) {
            v.push(
                format!("bills/{i}/bill_no"),
                "bill_no.duplicate",
                format!("{} is listed twice", b.bill_no),
            );
        }
        if b.packages == 0 {
            v.push(
                format!("bills/{i}/packages"),
                "packages.positive",
                "at least one package",
            );
        }
        if b.gross_weight_kg <= Decimal::ZERO {
            v.push(
                format!("bills/{i}/gross_weight_kg"),
                "weight.positive",
                "gross weight is positive",
            );
        }
        for (j, c) in b.containers.iter().enumerate() {
            match ContainerNumber::parse(c) {
                Ok(n) => {
                    if !containers.insert(n.as_str().to_string()) {
                        v.push(
                            format!("bills/{i}/containers/{j}"),
                            "container.duplicate",
                            format!("{n} is on the manifest twice"),
                        );
                    }
                }
                Err(e) => {
                    v.check::<()>(&format!("bills/{i}/containers/{j}"), Err(e));
                }
            }
        }
    }
    v
}

/// A terminal's arrival report (运抵报告): a whole bill, or containers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArrivalReportInput {
    /// The reporting terminal (one the operator is bound to), e.g. CNYTN-YICT.
    pub terminal: String,
    #[serde(default)]
    pub bill_no: Option<String>,
    #[serde(default)]
    pub containers: Vec<String>,
}
