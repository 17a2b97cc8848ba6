//! Smart review of a certificate-of-origin application (原产地证书智能审核, M11): every check
//! with a stable code, a message in English and Chinese and, for the product-specific rule,
//! the work shown (the RVC with its formula; which materials changed classification at what
//! level, which did not, and whether de minimis saves them).
//!
//! Rules applied (RCEP Chapter 3, paraphrased in data/rcep notes):
//! - Art. 3.2: a good originates if wholly obtained (WO), produced exclusively from
//!   originating materials (PE), or meets its product-specific rule (PSR, Annex 3A).
//! - Art. 3.4: materials originating in any Party count as originating (accumulation).
//! - Art. 3.5: RVC = (FOB − VNM) / FOB (build-down) or (VOM + labour + overhead + profit +
//!   other) / FOB (build-up); a material of undetermined origin is non-originating.
//! - Art. 3.6: minimal operations never confer origin.
//! - Art. 3.7: de minimis — non-originating materials that fail the CTC worth ≤ 10 % of FOB
//!   (chapters 50–63 also: weight ≤ 10 %) do not stop a CTC rule; never an RVC.
//! - Art. 3.8–3.9: packing and accessories are ignored for CTC and WO/PE, counted in RVC.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::rule::{Level, Term, digits};
use crate::table::{Lookup, Nomenclature, Parties, PsrTable};

/// The general rules' figures, with the treaty's values as defaults (configurable as
/// `[origin.general]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeneralRules {
    /// Art. 3.7.1(a): de minimis share of the FOB value.
    pub de_minimis_value_share: Decimal,
    /// Art. 3.7.1(b): de minimis share of the weight for chapters 50–63.
    pub de_minimis_textile_weight_share: Decimal,
    /// Art. 3.6: the minimal operations (codes an application names its processes with).
    pub minimal_operations: Vec<String>,
}

impl Default for GeneralRules {
    fn default() -> Self {
        Self {
            de_minimis_value_share: Decimal::new(10, 2),
            de_minimis_textile_weight_share: Decimal::new(10, 2),
            minimal_operations: MINIMAL_OPERATIONS
                .iter()
                .map(|(c, _, _)| c.to_string())
                .collect(),
        }
    }
}

/// Art. 3.6 (a)–(j): code, English, Chinese.
pub const MINIMAL_OPERATIONS: &[(&str, &str, &str)] = &[
    (
        "preserving",
        "preserving for transport or storage",
        "运输或储存保存",
    ),
    (
        "packaging",
        "packaging or presenting for transport or sale",
        "包装或为运输、销售的展示",
    ),
    (
        "sorting",
        "simple sifting, screening, sorting, classifying, sharpening, cutting, slitting, grinding, bending, coiling or uncoiling",
        "简单筛选、分类、切割、研磨、弯曲、卷绕或展开",
    ),
    (
        "marking",
        "affixing or printing marks, labels or logos",
        "粘贴或印刷标志、标签、标识",
    ),
    (
        "diluting",
        "mere dilution with water or another substance",
        "仅用水或其他物质稀释",
    ),
    ("disassembling", "disassembly into parts", "拆解成零部件"),
    ("slaughtering", "slaughtering of animals", "屠宰动物"),
    (
        "painting",
        "simple painting and polishing",
        "简单涂漆和抛光",
    ),
    (
        "peeling",
        "simple peeling, stoning or shelling",
        "简单去皮、去核或去壳",
    ),
    ("mixing", "simple mixing", "简单混合"),
];

/// The origin criterion claimed for an item (原产地标准).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Criterion {
    /// Wholly obtained or produced (Art. 3.2(a)).
    #[serde(rename = "WO")]
    WhollyObtained,
    /// Produced exclusively from originating materials (Art. 3.2(b)).
    #[serde(rename = "PE")]
    ProducedExclusively,
    /// Meets the product-specific rule (Art. 3.2(c)).
    #[serde(rename = "PSR")]
    ProductSpecific,
}

/// What a material is to the good (Art. 3.8, 3.9).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MaterialRole {
    #[default]
    Material,
    /// Retail packing classified with the good.
    Packing,
    /// Accessories, spare parts, tools, instructions delivered with it.
    Accessory,
}

/// One line of the bill of materials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Material {
    pub hs_code: String,
    #[serde(default)]
    pub description: String,
    /// ISO alpha-3 of the country it originates in; empty: undetermined (non-originating).
    #[serde(default)]
    pub origin: String,
    /// CIF at importation, or first price paid in the Party (Art. 3.5.3).
    #[schema(value_type = String)]
    pub value: Decimal,
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub weight_kg: Option<Decimal>,
    #[serde(default)]
    pub role: MaterialRole,
}

/// Build-up costs (Art. 3.5.1(b)), besides the originating materials.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BuildUpCosts {
    #[schema(value_type = String)]
    pub direct_labour: Decimal,
    #[schema(value_type = String)]
    pub direct_overhead: Decimal,
    #[schema(value_type = String)]
    pub profit: Decimal,
    #[schema(value_type = String)]
    #[serde(default)]
    pub other: Decimal,
}

/// Which RVC formula the exporter chose (Art. 3.5.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RvcMethod {
    /// (FOB − VNM) / FOB.
    #[default]
    BuildDown,
    /// (VOM + labour + overhead + profit + other) / FOB.
    BuildUp,
}

/// One good of the application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Item {
    /// HS 2022 subheading or a longer national code.
    pub hs_code: String,
    pub description: String,
    #[schema(value_type = String)]
    pub quantity: Decimal,
    #[serde(default)]
    pub unit: String,
    /// FOB value (Art. 3.1(e)).
    #[schema(value_type = String)]
    pub fob: Decimal,
    pub criterion: Criterion,
    #[serde(default)]
    pub materials: Vec<Material>,
    /// Production steps, by the codes of [`MINIMAL_OPERATIONS`] or others (e.g.
    /// `assembling`, `moulding`).
    #[serde(default)]
    pub processes: Vec<String>,
    #[serde(default)]
    pub rvc_method: RvcMethod,
    #[serde(default)]
    pub build_up: Option<BuildUpCosts>,
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub weight_kg: Option<Decimal>,
}

/// What the review needs from the application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    /// ISO alpha-3, e.g. `CHN`.
    pub exporting_party: String,
    /// ISO alpha-3 of the importing party.
    pub importing_party: String,
    pub importer_name: String,
    pub invoice_no: String,
    pub invoice_date: NaiveDate,
    /// The day of the application (decides which parties are in force).
    pub date: NaiveDate,
    /// The invoice total, when given, must equal the items' FOB.
    #[serde(default)]
    pub total_fob: Option<Decimal>,
    pub items: Vec<Item>,
}

/// One check and its outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// Stable, e.g. `ORIGIN.PSR_MET`.
    pub code: &'static str,
    /// 1-based item number, when the check is about an item.
    pub item: Option<usize>,
    pub passed: bool,
    pub message_en: String,
    pub message_zh: String,
    /// The work shown (PSR checks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work: Option<Work>,
}

/// How a product-specific rule was (or was not) met.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Work {
    pub rule: String,
    pub rule_source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hs_note: Option<String>,
    /// Each alternative of the rule with each term's result.
    pub alternatives: Vec<AlternativeWork>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlternativeWork {
    pub terms: Vec<TermWork>,
    pub met: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TermWork {
    Ctc {
        code: String,
        level: Level,
        /// Non-originating materials that changed classification as required.
        changed: Vec<String>,
        /// Those that did not (or come from an excluded code), with why.
        unchanged: Vec<String>,
        /// De minimis (Art. 3.7) over the unchanged ones, when any.
        de_minimis: Option<DeMinimis>,
        met: bool,
    },
    Rvc {
        code: String,
        method: RvcMethod,
        formula: String,
        fob: Decimal,
        /// Value of non-originating materials (build-down) or of originating ones plus
        /// costs (build-up).
        numerator: Decimal,
        percent: Decimal,
        threshold: u32,
        met: bool,
    },
    Other {
        code: String,
        met: bool,
        why: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeMinimis {
    pub value: Decimal,
    pub share_of_fob: Decimal,
    pub limit: Decimal,
    /// For chapters 50–63: the weight share, when weights were given.
    pub weight_share: Option<Decimal>,
    pub saves: bool,
}

/// The result: every check, and whether all passed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    pub checks: Vec<Check>,
    pub approved: bool,
}

impl Review {
    pub fn failed(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }
}

/// Everything the engine decides on.
#[derive(Debug, Clone, Default)]
pub struct OriginRules {
    pub table: PsrTable,
    pub parties: Parties,
    pub nomenclature: Nomenclature,
    pub general: GeneralRules,
}

impl OriginRules {
    /// The shipped data with the treaty's general rules.
    pub fn shipped() -> OriginRules {
        OriginRules {
            table: PsrTable::shipped(),
            parties: Parties::shipped(),
            nomenclature: Nomenclature::shipped(),
            general: GeneralRules::default(),
        }
    }
}

fn check(code: &'static str, item: Option<usize>, passed: bool, en: String, zh: String) -> Check {
    Check {
        code,
        item,
        passed,
        message_en: en,
        message_zh: zh,
        work: None,
    }
}

fn pct(num: Decimal, den: Decimal) -> Decimal {
    if den.is_zero() {
        Decimal::ZERO
    } else {
        // Two decimals always ("40.00"), as percentages are printed on certificates.
        let mut v = (num * Decimal::ONE_HUNDRED / den).round_dp(2);
        v.rescale(2);
        v
    }
}

/// Reviews an application (pure; the same input gives the same checks).
pub fn review(app: &Application, rules: &OriginRules) -> Review {
    let mut checks = Vec::new();
    let parties = &rules.parties;
    let date = app.date;

    // Parties (Art. 20.6 dates as data).
    let exp_ok = parties.in_force(&app.exporting_party, date);
    checks.push(check(
        "PARTY.EXPORTING",
        None,
        exp_ok,
        if exp_ok {
            format!(
                "RCEP is in force for the exporting party {} on {date}",
                app.exporting_party
            )
        } else {
            format!(
                "RCEP is not in force for the exporting party {} on {date}",
                app.exporting_party
            )
        },
        if exp_ok {
            format!("出口成员方 {} 于 {date} 已生效 RCEP", app.exporting_party)
        } else {
            format!("出口成员方 {} 于 {date} 未生效 RCEP", app.exporting_party)
        },
    ));
    let imp_in_force = parties.in_force(&app.importing_party, date);
    let imp_ok = imp_in_force
        && !app
            .importing_party
            .eq_ignore_ascii_case(&app.exporting_party);
    checks.push(check(
        "PARTY.IMPORTING",
        None,
        imp_ok,
        if imp_ok {
            format!(
                "RCEP is in force for the importing party {} on {date}",
                app.importing_party
            )
        } else if imp_in_force {
            "the importing party is the exporting party".to_string()
        } else {
            format!(
                "{} is not an RCEP party for which the agreement is in force on {date}",
                app.importing_party
            )
        },
        if imp_ok {
            format!("进口成员方 {} 于 {date} 已生效 RCEP", app.importing_party)
        } else if imp_in_force {
            "进口成员方与出口成员方相同".to_string()
        } else {
            format!("{} 于 {date} 不是 RCEP 已生效成员方", app.importing_party)
        },
    ));
    let importer_ok = !app.importer_name.trim().is_empty() && !app.invoice_no.trim().is_empty();
    checks.push(check(
        "DATA.PARTIES",
        None,
        importer_ok,
        if importer_ok {
            "importer and invoice named".into()
        } else {
            "name the importer and the invoice number".into()
        },
        if importer_ok {
            "已填写进口商和发票号".into()
        } else {
            "请填写进口商和发票号".into()
        },
    ));
    let dates_ok = app.invoice_date <= app.date;
    checks.push(check(
        "DATA.DATES",
        None,
        dates_ok,
        if dates_ok {
            format!(
                "invoice date {} is not after the application date {date}",
                app.invoice_date
            )
        } else {
            format!(
                "invoice date {} is after the application date {date}",
                app.invoice_date
            )
        },
        if dates_ok {
            format!("发票日期 {} 不晚于申请日期 {date}", app.invoice_date)
        } else {
            format!("发票日期 {} 晚于申请日期 {date}", app.invoice_date)
        },
    ));
    let sum: Decimal = app.items.iter().map(|i| i.fob).sum();
    let totals_ok = !app.items.is_empty()
        && app
            .items
            .iter()
            .all(|i| i.fob > Decimal::ZERO && i.quantity > Decimal::ZERO)
        && app.total_fob.is_none_or(|t| t == sum);
    checks.push(check(
        "DATA.TOTALS",
        None,
        totals_ok,
        if totals_ok {
            format!("{} item(s), FOB total {sum}", app.items.len())
        } else if app.items.is_empty() {
            "the application has no goods".into()
        } else if let Some(t) = app.total_fob.filter(|t| *t != sum) {
            format!("the invoice total {t} differs from the items' FOB {sum}")
        } else {
            "every item needs a positive FOB value and quantity".into()
        },
        if totals_ok {
            format!("{} 项货物，FOB 合计 {sum}", app.items.len())
        } else if app.items.is_empty() {
            "申请没有货物".into()
        } else if let Some(t) = app.total_fob.filter(|t| *t != sum) {
            format!("发票总值 {t} 与各项 FOB 合计 {sum} 不符")
        } else {
            "每项货物的 FOB 价值和数量须为正数".into()
        },
    ));

    for (n, item) in app.items.iter().enumerate() {
        review_item(n + 1, item, app, rules, &mut checks);
    }
    let approved = checks.iter().all(|c| c.passed);
    Review { checks, approved }
}

/// Whether a material counts as originating: it originates in a Party for which the
/// agreement is in force (Art. 3.4 accumulation); undetermined origin does not (Art. 3.5).
fn originating(m: &Material, parties: &Parties, date: NaiveDate) -> bool {
    !m.origin.trim().is_empty() && parties.in_force(&m.origin, date)
}

fn review_item(
    n: usize,
    item: &Item,
    app: &Application,
    rules: &OriginRules,
    checks: &mut Vec<Check>,
) {
    let hs = digits(&item.hs_code);
    let hs6 = hs.get(..6).unwrap_or("").to_string();
    let exists = hs6.len() == 6 && rules.nomenclature.contains(&hs6);
    checks.push(check(
        "HS.EXISTS",
        Some(n),
        exists,
        if exists {
            format!("HS 2022 subheading {hs6} exists")
        } else {
            format!("`{}` is not an HS 2022 subheading", item.hs_code)
        },
        if exists {
            format!("HS 2022 子目 {hs6} 存在")
        } else {
            format!("“{}” 不是 HS 2022 子目", item.hs_code)
        },
    ));
    // Each material's digits and origin status, worked out once.
    let infos: Vec<(String, bool)> = item
        .materials
        .iter()
        .map(|m| (digits(&m.hs_code), originating(m, &rules.parties, app.date)))
        .collect();
    let bad_materials: Vec<&str> = item
        .materials
        .iter()
        .zip(&infos)
        .filter(|(_, (d, _))| d.len() < 6 || !rules.nomenclature.contains(&d[..6]))
        .map(|(m, _)| m.hs_code.as_str())
        .collect();
    if !item.materials.is_empty() {
        let ok = bad_materials.is_empty();
        checks.push(check(
            "HS.MATERIALS_EXIST",
            Some(n),
            ok,
            if ok {
                "every material's HS subheading exists".into()
            } else {
                format!("not HS 2022 subheadings: {}", bad_materials.join(", "))
            },
            if ok {
                "各原材料 HS 子目均存在".into()
            } else {
                format!("以下不是 HS 2022 子目：{}", bad_materials.join("、"))
            },
        ));
        let value: Decimal = item.materials.iter().map(|m| m.value).sum();
        let ok = item.materials.iter().all(|m| m.value >= Decimal::ZERO) && value <= item.fob;
        checks.push(check(
            "DATA.MATERIALS_VALUE",
            Some(n),
            ok,
            if ok {
                format!("materials {value} within the FOB value {}", item.fob)
            } else {
                format!(
                    "materials are worth {value}, more than the FOB value {} (or a negative value)",
                    item.fob
                )
            },
            if ok {
                format!("原材料价值 {value} 不超过 FOB {}", item.fob)
            } else {
                format!("原材料价值 {value} 超过 FOB {}（或有负值）", item.fob)
            },
        ));
    }
    if !exists {
        return;
    }

    // Minimal operations (Art. 3.6) never confer origin on non-originating materials.
    let non_originating_used = item
        .materials
        .iter()
        .zip(&infos)
        .any(|(m, (_, orig))| m.role == MaterialRole::Material && !orig);
    if item.criterion == Criterion::ProductSpecific && non_originating_used {
        let minimal = !item.processes.is_empty()
            && item.processes.iter().all(|p| {
                rules
                    .general
                    .minimal_operations
                    .iter()
                    .any(|o| o.eq_ignore_ascii_case(p.trim()))
            });
        let none = item.processes.is_empty();
        let ok = !minimal && !none;
        checks.push(check(
            "ORIGIN.MINIMAL_OPERATION",
            Some(n),
            ok,
            if none {
                "name the production processes: origin by a product-specific rule needs working or processing".into()
            } else if minimal {
                format!("only minimal operations ({}), which never confer origin (Art. 3.6)", item.processes.join(", "))
            } else {
                format!("processes go beyond minimal operations: {}", item.processes.join(", "))
            },
            if none {
                "请填写生产工序：按产品特定原产地规则须经加工或制造".into()
            } else if minimal {
                format!("仅为微小加工或处理（{}），不赋予原产资格（第3.6条）", item.processes.join("、"))
            } else {
                format!("工序超出微小加工或处理：{}", item.processes.join("、"))
            },
        ));
    }

    match item.criterion {
        Criterion::WhollyObtained | Criterion::ProducedExclusively => {
            // Packing and accessories are disregarded (Art. 3.8.1, 3.9.1).
            let foreign: Vec<String> = item
                .materials
                .iter()
                .zip(&infos)
                .filter(|(m, (_, orig))| m.role == MaterialRole::Material && !orig)
                .map(|(m, _)| {
                    format!(
                        "{} ({})",
                        m.hs_code,
                        if m.origin.is_empty() {
                            "origin undetermined"
                        } else {
                            &m.origin
                        }
                    )
                })
                .collect();
            let (code, en, zh) = if item.criterion == Criterion::WhollyObtained {
                ("ORIGIN.WO", "wholly obtained", "完全获得")
            } else {
                (
                    "ORIGIN.PE",
                    "produced exclusively from originating materials",
                    "完全由原产材料生产",
                )
            };
            // Wholly obtained goods are products of nature (Art. 3.3): animals, plants,
            // fish, minerals (chapters 01–27) or waste and scrap; a manufactured good cannot
            // be wholly obtained, whatever its materials.
            let chapter: u32 = hs6[..2].parse().unwrap_or(0);
            let wo_kind = item.criterion != Criterion::WhollyObtained
                || chapter <= 27
                || item.materials.is_empty();
            let ok = foreign.is_empty() && wo_kind;
            checks.push(check(
                code,
                Some(n),
                ok,
                if ok {
                    format!("{en}: no non-originating material")
                } else if !wo_kind {
                    format!("a good of chapter {chapter} made from materials is not wholly obtained (Art. 3.3); claim PE or PSR")
                } else {
                    format!("not {en}: non-originating materials {}", foreign.join(", "))
                },
                if ok {
                    format!("{zh}：无非原产材料")
                } else if !wo_kind {
                    format!("第 {chapter} 章由材料制成的货物不属于完全获得（第3.3条），请申报 PE 或 PSR")
                } else {
                    format!("不符合{zh}：含非原产材料 {}", foreign.join("、"))
                },
            ));
        }
        Criterion::ProductSpecific => psr_check(n, item, &hs6, &infos, rules, checks),
    }
}

fn psr_check(
    n: usize,
    item: &Item,
    hs6: &str,
    infos: &[(String, bool)],
    rules: &OriginRules,
    checks: &mut Vec<Check>,
) {
    let (entry, note) = match rules.table.lookup(hs6) {
        Lookup::Found { entry, note } => (entry, note),
        Lookup::VersionChanged {
            heading,
            rule_version,
            gone,
        } => {
            checks.push(check(
                "HS.VERSION_CHANGED",
                Some(n),
                false,
                format!(
                    "heading {heading} was restructured after {} (its subheadings {} no longer exist in HS 2022): the rule for {hs6} cannot be matched by code; an officer decides, or load the HS 2022 rule table",
                    rule_version.as_str(),
                    gone.join(", ")
                ),
                format!(
                    "品目 {heading} 在 {} 之后已调整（子目 {} 在 HS 2022 中已不存在），{hs6} 的规则无法按编码对应，请关员审核或加载 HS 2022 规则表",
                    rule_version.as_str(),
                    gone.join("、")
                ),
            ));
            return;
        }
        Lookup::NotFound => {
            checks.push(check(
                "PSR.FOUND",
                Some(n),
                false,
                format!("no product-specific rule for {hs6} in the loaded table"),
                format!("已加载的规则表中没有 {hs6} 的产品特定原产地规则"),
            ));
            return;
        }
    };
    let fob = item.fob;
    // Packing and accessories are ignored for CTC, counted in RVC (Art. 3.8, 3.9).
    let non_orig: Vec<(&Material, &str)> = item
        .materials
        .iter()
        .zip(infos)
        .filter(|(_, (_, orig))| !orig)
        .map(|(m, (d, _))| (m, d.as_str()))
        .collect();
    let textile = matches!(hs6[..2].parse::<u32>().unwrap_or(0), 50..=63);
    let mut alternatives = Vec::new();
    for alt in &entry.rule.alternatives {
        let mut terms = Vec::new();
        for t in alt {
            terms.push(match t {
                Term::Ctc { level, except } => {
                    let mut changed = Vec::new();
                    let mut unchanged = Vec::new();
                    let mut failed_value = Decimal::ZERO;
                    let mut failed_weight = Decimal::ZERO;
                    for (m, md) in non_orig.iter().filter(|(m, _)| m.role == MaterialRole::Material) {
                        let md = *md;
                        let k = level.digits();
                        let excluded = except.iter().find(|x| x.covers(md));
                        let moved = md.get(..k) != hs6.get(..k);
                        let label = &m.hs_code;
                        match (moved, excluded) {
                            (true, None) => changed.push(format!("{label}: {} {} → {}", level.name(), &md[..k.min(md.len())], &hs6[..k])),
                            (_, Some(x)) => {
                                unchanged.push(format!("{label}: from excluded {} {}", x.level.name(), x.digits));
                                failed_value += m.value;
                                failed_weight += m.weight_kg.unwrap_or_default();
                            }
                            (false, None) => {
                                unchanged.push(format!("{label}: same {} {}", level.name(), &hs6[..k]));
                                failed_value += m.value;
                                failed_weight += m.weight_kg.unwrap_or_default();
                            }
                        }
                    }
                    let de_minimis = (!unchanged.is_empty()).then(|| {
                        let limit = rules.general.de_minimis_value_share;
                        let share = if fob.is_zero() { Decimal::ONE } else { failed_value / fob };
                        let by_value = share <= limit;
                        let weight_share = match (textile, item.weight_kg) {
                            (true, Some(w)) if w > Decimal::ZERO => Some((failed_weight / w).round_dp(4)),
                            _ => None,
                        };
                        let by_weight = weight_share.is_some_and(|s| s <= rules.general.de_minimis_textile_weight_share);
                        DeMinimis {
                            value: failed_value,
                            share_of_fob: (share * Decimal::ONE_HUNDRED).round_dp(2),
                            limit: limit * Decimal::ONE_HUNDRED,
                            weight_share: weight_share.map(|s| s * Decimal::ONE_HUNDRED),
                            saves: by_value || by_weight,
                        }
                    });
                    let met = unchanged.is_empty() || de_minimis.as_ref().is_some_and(|d| d.saves);
                    TermWork::Ctc { code: t.code(), level: *level, changed, unchanged, de_minimis, met }
                }
                Term::Rvc { percent } => {
                    let (numerator, formula) = match item.rvc_method {
                        RvcMethod::BuildDown => {
                            let vnm: Decimal = non_orig.iter().map(|(m, _)| m.value).sum();
                            (fob - vnm, format!("(FOB {fob} − VNM {vnm}) / FOB {fob} × 100"))
                        }
                        RvcMethod::BuildUp => {
                            let vom: Decimal = item.materials.iter().zip(infos).filter(|(_, (_, orig))| *orig).map(|(m, _)| m.value).sum();
                            let c = item.build_up.clone().unwrap_or_default();
                            let total = vom + c.direct_labour + c.direct_overhead + c.profit + c.other;
                            (
                                total,
                                format!(
                                    "(VOM {vom} + labour {} + overhead {} + profit {} + other {}) / FOB {fob} × 100",
                                    c.direct_labour, c.direct_overhead, c.profit, c.other
                                ),
                            )
                        }
                    };
                    let value = pct(numerator, fob);
                    let met = item.rvc_method != RvcMethod::BuildUp || item.build_up.is_some();
                    let met = met && value >= Decimal::from(*percent);
                    TermWork::Rvc { code: t.code(), method: item.rvc_method, formula, fob, numerator, percent: value, threshold: *percent, met }
                }
                Term::WhollyObtained => {
                    let met = non_orig.iter().all(|(m, _)| m.role != MaterialRole::Material);
                    TermWork::Other { code: "WO".into(), met, why: if met { "no non-originating material".into() } else { "non-originating materials used".into() } }
                }
                Term::ChemicalReaction => TermWork::Other {
                    code: "CR".into(),
                    met: item.processes.iter().any(|p| p.eq_ignore_ascii_case("chemical_reaction")),
                    why: "needs the process `chemical_reaction` (a new molecular structure, not mere dissolving or drying)".into(),
                },
            });
        }
        let met = terms.iter().all(|t| match t {
            TermWork::Ctc { met, .. } | TermWork::Rvc { met, .. } | TermWork::Other { met, .. } => {
                *met
            }
        });
        alternatives.push(AlternativeWork { terms, met });
    }
    let met = alternatives.iter().any(|a| a.met);
    // One line per alternative, in both languages.
    let (summary, summary_zh): (Vec<String>, Vec<String>) = alternatives
        .iter()
        .map(|a| {
            let (en, zh): (Vec<String>, Vec<String>) = a.terms.iter().map(term_summary).unzip();
            (en.join(" and "), zh.join(" 且 "))
        })
        .unzip();
    let mut c = check(
        "ORIGIN.PSR_MET",
        Some(n),
        met,
        format!(
            "rule `{}` for {hs6}: {}",
            entry.rule.text,
            summary.join("; or ")
        ),
        format!(
            "{hs6} 适用规则“{}”：{}",
            entry.rule.text,
            summary_zh.join("；或 ")
        ),
    );
    c.work = Some(Work {
        rule: entry.rule.text.clone(),
        rule_source: entry.source.clone(),
        hs_note: note,
        alternatives,
    });
    checks.push(c);
}

/// A term's outcome in a sentence: (English, Chinese).
fn term_summary(t: &TermWork) -> (String, String) {
    let verdict = |met: bool| {
        if met {
            ("met", "满足")
        } else {
            ("not met", "不满足")
        }
    };
    match t {
        TermWork::Ctc {
            code,
            met,
            unchanged,
            de_minimis,
            ..
        } => {
            let (en, zh) = verdict(*met);
            let (ex_en, ex_zh) = match de_minimis {
                Some(d) if d.saves => (
                    format!(
                        " (de minimis: {:.2} % of FOB ≤ {:.2} %)",
                        d.share_of_fob, d.limit
                    ),
                    format!(
                        "（微小含量：占 FOB {:.2}% ≤ {:.2}%）",
                        d.share_of_fob, d.limit
                    ),
                ),
                Some(d) => (
                    format!(
                        " ({} material(s) unchanged, {:.2} % of FOB > {:.2} %)",
                        unchanged.len(),
                        d.share_of_fob,
                        d.limit
                    ),
                    format!(
                        "（{} 项材料未改变归类，占 FOB {:.2}% > {:.2}%）",
                        unchanged.len(),
                        d.share_of_fob,
                        d.limit
                    ),
                ),
                None => (String::new(), String::new()),
            };
            (format!("{code} {en}{ex_en}"), format!("{code} {zh}{ex_zh}"))
        }
        TermWork::Rvc {
            code, met, percent, ..
        } => {
            let (en, zh) = verdict(*met);
            (
                format!("{code} {en} (RVC {percent:.2} %)"),
                format!("{code} {zh}（区域价值成分 {percent:.2}%）"),
            )
        }
        TermWork::Other { code, met, .. } => {
            let (en, zh) = verdict(*met);
            (format!("{code} {en}"), format!("{code} {zh}"))
        }
    }
}
