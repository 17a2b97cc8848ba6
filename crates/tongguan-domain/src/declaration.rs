//! The goods declaration (报关单): head (表头) and items (表体) as entered, and their
//! validation against the reference data and the real check characters.
//!
//! Content is stored as entered so drafts can be incomplete; [`validate`] reports every
//! violation at once with its field path, and submission requires that it passes.
//! Field list: GACC Announcement 2019 No. 18 (报关单填制规范) as summarised in
//! `DECLARATION.md` / `RULES.md` §1.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::Violations;
use crate::codes::{ContainerNumber, CustomsDistrictCode, Direction, Uscc};

/// A money amount or rate for freight, insurance or other charges (运费/保费/杂费).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Charge {
    /// `rate` (percent of the goods value), `unit` (per unit of quantity) or `total`.
    pub kind: ChargeKind,
    #[schema(value_type = String)]
    pub amount: Decimal,
    /// ISO 4217; not used for `rate`.
    #[serde(default)]
    pub currency: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChargeKind {
    Rate,
    Unit,
    Total,
}

/// An attached document (随附单证): licence or certificate code and its number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachedDocument {
    /// Licence/certificate code (监管证件代码), e.g. `Y` for a certificate of origin.
    pub code: String,
    pub number: String,
}

/// The overseas consignor/consignee (境外收发货人).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverseasParty {
    #[serde(default)]
    pub name: String,
    /// AEO code (country code + enterprise code), or none.
    #[serde(default)]
    pub aeo_code: Option<String>,
}

/// Which clearance modes the declaration uses (M1; combinable).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Modes {
    /// Two-step declaration (两步申报): this is the summary declaration (概要申报); the
    /// complete declaration follows within the deadline.
    #[serde(default)]
    pub two_step: bool,
    /// Two-stage access (两段准入): admitted to territory at the port, to market after the
    /// destination check.
    #[serde(default)]
    pub two_stage: bool,
    /// Consolidated tax payment (汇总征税): taxes are reserved against the enterprise's
    /// guarantee quota and paid monthly; when the quota is short, pay before release.
    #[serde(default)]
    pub consolidated_tax: bool,
}

/// The head of a declaration (表头), as entered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclarationHead {
    /// 申报地海关: 4-digit customs district code.
    #[serde(default)]
    pub declaring_customs: String,
    /// 进(出)境关别: 4-digit customs district code of entry/exit.
    #[serde(default)]
    pub port_customs: String,
    /// 境内收发货人: unified social credit code of the domestic consignee/consignor.
    #[serde(default)]
    pub domestic_party_uscc: String,
    #[serde(default)]
    pub overseas_party: OverseasParty,
    /// 运输方式 (transport mode table), e.g. 2 waterway, 3 rail, 4 road, 5 air.
    #[serde(default)]
    pub transport_mode: String,
    /// 运输工具名称 (vessel, flight, train).
    #[serde(default)]
    pub transport_means: String,
    /// 航次号.
    #[serde(default)]
    pub voyage: String,
    /// 提运单号: links the declaration to the manifest (舱单).
    #[serde(default)]
    pub bill_no: String,
    /// 监管方式: 4 digits, e.g. 0110 general trade.
    #[serde(default)]
    pub trade_mode: String,
    /// 征免性质: 3 digits, e.g. 101.
    #[serde(default)]
    pub levy_nature: String,
    /// 许可证号.
    #[serde(default)]
    pub licence_no: Option<String>,
    /// 启运国(地区) for imports / 运抵国(地区) for exports: ISO alpha-3.
    #[serde(default)]
    pub departure_or_destination_country: String,
    /// 贸易国(地区): ISO alpha-3.
    #[serde(default)]
    pub trading_country: String,
    /// 启运港 / 指运港: UN/LOCODE.
    #[serde(default)]
    pub foreign_port: Option<String>,
    /// 入境口岸 / 离境口岸: the Chinese port as UN/LOCODE (the 6-digit domestic port table
    /// is not available to us).
    #[serde(default)]
    pub domestic_port: String,
    /// 包装种类: 2-digit packaging code.
    #[serde(default)]
    pub package_type: String,
    /// 件数.
    #[serde(default)]
    pub packages: u32,
    /// 毛重 (kg).
    #[serde(default)]
    #[schema(value_type = String)]
    pub gross_weight_kg: Decimal,
    /// 净重 (kg).
    #[serde(default)]
    #[schema(value_type = String)]
    pub net_weight_kg: Decimal,
    /// 成交方式: 1 CIF, 2 C&F, 3 FOB, 4 C&I, 5 market price, 6 垫仓.
    #[serde(default)]
    pub transaction_terms: String,
    #[serde(default)]
    pub freight: Option<Charge>,
    #[serde(default)]
    pub insurance: Option<Charge>,
    #[serde(default)]
    pub other_charges: Option<Charge>,
    #[serde(default)]
    pub attached_documents: Vec<AttachedDocument>,
    /// 集装箱号 (ISO 6346).
    #[serde(default)]
    pub containers: Vec<String>,
    /// 特殊关系确认 / 价格影响确认 / 支付特许权使用费确认 (imports only).
    #[serde(default)]
    pub special_relationship: Option<bool>,
    #[serde(default)]
    pub price_influence: Option<bool>,
    #[serde(default)]
    pub royalties: Option<bool>,
    /// 标记唛码及备注.
    #[serde(default)]
    pub marks_and_remarks: Option<String>,
    /// Exports: the day the goods are expected in the customs-supervised area.
    #[serde(default)]
    pub goods_arrival_date: Option<NaiveDate>,
    #[serde(default)]
    pub modes: Modes,
    /// Two-step with tax due: the tax guarantee (税款担保) record number.
    #[serde(default)]
    pub guarantee_reference: Option<String>,
    /// A certificate of origin claimed for a preferential (agreement) rate (原产地证书).
    #[serde(default)]
    pub origin_certificate: Option<OriginCertificateRef>,
}

/// The certificate of origin a declaration relies on for an agreement rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OriginCertificateRef {
    /// The agreement, e.g. `RCEP`.
    pub agreement: String,
    /// The exporting party (ISO alpha-3) that issued it.
    pub exporting_party: String,
    /// Certificate number.
    pub number: String,
    /// The certificate's verification code (核验码), checked with the number before the
    /// agreement rate is granted (M11).
    #[serde(default)]
    pub verification_code: Option<String>,
}

/// One goods item (表体).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclarationItem {
    /// 商品编号: 10 digits (8-digit tariff line + 2 supervision digits).
    #[serde(default)]
    pub commodity_code: String,
    /// 检验检疫编码: 3 digits where inspection applies.
    #[serde(default)]
    pub ciq_code: Option<String>,
    /// 商品名称.
    #[serde(default)]
    pub name: String,
    /// 规格型号 with the declaration elements (申报要素), e.g. brand and model.
    #[serde(default)]
    pub specification: String,
    /// 成交数量.
    #[serde(default)]
    #[schema(value_type = String)]
    pub quantity: Decimal,
    /// 成交计量单位: 3-digit unit code, e.g. 001 台.
    #[serde(default)]
    pub unit: String,
    /// 单价.
    #[serde(default)]
    #[schema(value_type = String)]
    pub unit_price: Decimal,
    /// 总价.
    #[serde(default)]
    #[schema(value_type = String)]
    pub total_price: Decimal,
    /// 币制: ISO 4217.
    #[serde(default)]
    pub currency: String,
    /// 原产国(地区): ISO alpha-3.
    #[serde(default)]
    pub origin_country: String,
    /// 最终目的国(地区): ISO alpha-3.
    #[serde(default)]
    pub destination_country: String,
    /// 征免: levy method code 1-9.
    #[serde(default)]
    pub levy_method: String,
}

/// A declaration's content: head and items.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclarationContent {
    pub direction: Direction,
    #[serde(default)]
    pub head: DeclarationHead,
    #[serde(default)]
    pub items: Vec<DeclarationItem>,
}

/// Reference tables the validation consults (implemented over the catalog by the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeTable {
    /// China 8-digit tariff lines in force (税则号列).
    TariffLine,
    /// HS 2022 subheadings (6 digits).
    HsSubheading,
    CustomsDistrict,
    Country,
    Currency,
    Port,
    TradeMode,
    LevyNature,
    LevyMethod,
    TransactionTerms,
    TransportMode,
    Unit,
    PackagingType,
    LicenceCode,
}

pub trait CodeLookup {
    fn exists(&self, table: CodeTable, code: &str) -> bool;
}

/// Limits of the declaration form, as configuration with the real values as defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeclarationRules {
    /// At most 50 items per electronic declaration (2019 No. 18 filling spec; RULES.md §1).
    pub max_items: usize,
    /// |quantity × unit price − total| allowed, in the item's currency: totals are stated to
    /// the cent (分), unit prices to up to 4 decimals.
    #[serde(with = "rust_decimal::serde::str")]
    pub total_tolerance: Decimal,
}

impl Default for DeclarationRules {
    fn default() -> Self {
        Self {
            max_items: 50,
            total_tolerance: Decimal::new(1, 2),
        }
    }
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a declaration completely, reporting every violation with its path (e.g.
/// `items/3/commodity_code`). `owner_uscc` is the enterprise the declaration belongs to.
pub fn validate(
    c: &DeclarationContent,
    owner_uscc: &str,
    codes: &dyn CodeLookup,
    rules: &DeclarationRules,
) -> Violations {
    let mut v = Violations::new();
    let h = &c.head;
    let mut code = |path: &str, table: CodeTable, value: &str, what: &str| {
        if value.trim().is_empty() {
            v.push(path, "required", format!("{what} is required"));
        } else if !codes.exists(table, value) {
            v.push(
                path,
                &format!("{}.unknown", rule_name(table)),
                format!("'{value}' is not a {what} in the reference table in force"),
            );
        }
    };
    code(
        "head/declaring_customs",
        CodeTable::CustomsDistrict,
        &h.declaring_customs,
        "customs district code (关区代码)",
    );
    code(
        "head/port_customs",
        CodeTable::CustomsDistrict,
        &h.port_customs,
        "customs district code (关区代码)",
    );
    code(
        "head/transport_mode",
        CodeTable::TransportMode,
        &h.transport_mode,
        "transport mode (运输方式)",
    );
    code(
        "head/trade_mode",
        CodeTable::TradeMode,
        &h.trade_mode,
        "trade mode (监管方式)",
    );
    code(
        "head/levy_nature",
        CodeTable::LevyNature,
        &h.levy_nature,
        "levy nature (征免性质)",
    );
    code(
        "head/departure_or_destination_country",
        CodeTable::Country,
        &h.departure_or_destination_country,
        "country code (ISO alpha-3)",
    );
    code(
        "head/trading_country",
        CodeTable::Country,
        &h.trading_country,
        "country code (ISO alpha-3)",
    );
    code(
        "head/domestic_port",
        CodeTable::Port,
        &h.domestic_port,
        "port (UN/LOCODE)",
    );
    code(
        "head/package_type",
        CodeTable::PackagingType,
        &h.package_type,
        "packaging type (包装种类)",
    );
    code(
        "head/transaction_terms",
        CodeTable::TransactionTerms,
        &h.transaction_terms,
        "transaction terms code (成交方式)",
    );
    if let Some(p) = h.foreign_port.as_deref().filter(|p| !p.is_empty()) {
        code("head/foreign_port", CodeTable::Port, p, "port (UN/LOCODE)");
    }
    for (i, d) in h.attached_documents.iter().enumerate() {
        code(
            &format!("head/attached_documents/{i}/code"),
            CodeTable::LicenceCode,
            &d.code,
            "licence/certificate code (监管证件代码)",
        );
    }
    for (i, it) in c.items.iter().enumerate() {
        let p = |f: &str| format!("items/{i}/{f}");
        code(&p("unit"), CodeTable::Unit, &it.unit, "unit (计量单位)");
        code(
            &p("currency"),
            CodeTable::Currency,
            &it.currency,
            "currency (ISO 4217)",
        );
        code(
            &p("origin_country"),
            CodeTable::Country,
            &it.origin_country,
            "country code (ISO alpha-3)",
        );
        code(
            &p("destination_country"),
            CodeTable::Country,
            &it.destination_country,
            "country code (ISO alpha-3)",
        );
        code(
            &p("levy_method"),
            CodeTable::LevyMethod,
            &it.levy_method,
            "levy method (征免方式)",
        );
    }

    for (path, value) in [
        ("head/declaring_customs", &h.declaring_customs),
        ("head/port_customs", &h.port_customs),
    ] {
        if !value.is_empty()
            && let Err(e) = CustomsDistrictCode::parse(value)
        {
            v.check::<()>(path, Err(e));
        }
    }
    check_domestic_party(&mut v, &h.domestic_party_uscc, owner_uscc);
    for (name, value) in [
        ("transport_means", &h.transport_means),
        ("voyage", &h.voyage),
        ("bill_no", &h.bill_no),
    ] {
        if value.trim().is_empty() {
            v.push(
                format!("head/{name}"),
                "required",
                format!("{name} is required"),
            );
        }
    }
    if h.overseas_party.name.trim().is_empty() {
        v.push(
            "head/overseas_party/name",
            "required",
            "the overseas consignor/consignee is required",
        );
    }
    if h.packages == 0 {
        v.push("head/packages", "packages.positive", "at least one package");
    }
    if h.gross_weight_kg <= Decimal::ZERO {
        v.push(
            "head/gross_weight_kg",
            "weight.positive",
            "gross weight is positive",
        );
    }
    if h.net_weight_kg <= Decimal::ZERO {
        v.push(
            "head/net_weight_kg",
            "weight.positive",
            "net weight is positive",
        );
    }
    if h.gross_weight_kg < h.net_weight_kg {
        v.push(
            "head/net_weight_kg",
            "weight.gross_at_least_net",
            format!(
                "gross weight {} kg is less than net weight {} kg",
                h.gross_weight_kg, h.net_weight_kg
            ),
        );
    }
    let mut seen = std::collections::HashSet::new();
    for (i, cn) in h.containers.iter().enumerate() {
        match ContainerNumber::parse(cn) {
            Ok(n) => {
                if !seen.insert(n.as_str().to_string()) {
                    v.push(
                        format!("head/containers/{i}"),
                        "container.duplicate",
                        format!("{n} is listed twice"),
                    );
                }
            }
            Err(e) => {
                v.check::<()>(&format!("head/containers/{i}"), Err(e));
            }
        }
    }
    if c.direction == Direction::Export
        && (h.special_relationship.is_some()
            || h.price_influence.is_some()
            || h.royalties.is_some())
    {
        v.push(
            "head/special_relationship",
            "confirmations.import_only",
            "the valuation confirmations (fields 44-46) are not filled for exports",
        );
    }
    if c.direction == Direction::Export && (h.modes.two_step || h.modes.two_stage) {
        v.push(
            "head/modes",
            "modes.import_only",
            "two-step declaration and two-stage access apply to imports",
        );
    }

    if c.items.is_empty() {
        v.push("items", "items.required", "at least one item");
    }
    if c.items.len() > rules.max_items {
        v.push(
            "items",
            "items.too_many",
            format!(
                "at most {} items per declaration, got {}",
                rules.max_items,
                c.items.len()
            ),
        );
    }
    for (i, it) in c.items.iter().enumerate() {
        let p = |f: &str| format!("items/{i}/{f}");
        if !digits(&it.commodity_code, 10) {
            v.push(
                p("commodity_code"),
                "commodity_code.format",
                "10 digits: the 8-digit tariff line and 2 supervision digits",
            );
        } else {
            if !codes.exists(CodeTable::HsSubheading, &it.commodity_code[..6]) {
                v.push(
                    p("commodity_code"),
                    "commodity_code.hs_subheading",
                    format!("{} is not an HS 2022 subheading", &it.commodity_code[..6]),
                );
            }
            if !codes.exists(CodeTable::TariffLine, &it.commodity_code[..8]) {
                v.push(
                    p("commodity_code"),
                    "commodity_code.tariff_line",
                    format!(
                        "{} is not a tariff line (税则号列) in the tariff list in force",
                        &it.commodity_code[..8]
                    ),
                );
            }
        }
        if let Some(ciq) = it.ciq_code.as_deref().filter(|c| !c.is_empty())
            && !digits(ciq, 3)
        {
            v.push(p("ciq_code"), "ciq_code.format", "3 digits");
        }
        if it.name.trim().is_empty() {
            v.push(p("name"), "required", "the goods name is required");
        }
        if it.quantity <= Decimal::ZERO {
            v.push(p("quantity"), "quantity.positive", "quantity is positive");
        }
        if it.unit_price <= Decimal::ZERO {
            v.push(
                p("unit_price"),
                "unit_price.positive",
                "unit price is positive",
            );
        }
        let expected = it.quantity * it.unit_price;
        if (expected - it.total_price).abs() > rules.total_tolerance {
            v.push(
                p("total_price"),
                "total_price.mismatch",
                format!(
                    "total {} is not quantity {} × unit price {} = {} (tolerance {})",
                    it.total_price,
                    it.quantity,
                    it.unit_price,
                    expected.round_dp(4).normalize(),
                    rules.total_tolerance
                ),
            );
        }
    }
    v
}

/// Checks a two-step summary declaration (概要申报): the reduced item set of GACC Ann. 2019
/// No. 127 — domestic consignee, transport mode, transport means and voyage, bill of lading,
/// trade mode, commodity code (6 digits suffice), goods name, quantity and unit, origin,
/// total price, plus gross weight and containers — and, when tax is due, the guarantee
/// reference. Annex 1 of the announcement was not retrieved (RULES.md §2), so this list
/// follows the secondary description there.
pub fn validate_summary(
    c: &DeclarationContent,
    owner_uscc: &str,
    codes: &dyn CodeLookup,
    rules: &DeclarationRules,
) -> Violations {
    let mut v = Violations::new();
    let h = &c.head;
    check_domestic_party(&mut v, &h.domestic_party_uscc, owner_uscc);
    for (path, table, value) in [
        (
            "head/declaring_customs",
            CodeTable::CustomsDistrict,
            &h.declaring_customs,
        ),
        (
            "head/port_customs",
            CodeTable::CustomsDistrict,
            &h.port_customs,
        ),
        (
            "head/transport_mode",
            CodeTable::TransportMode,
            &h.transport_mode,
        ),
        ("head/trade_mode", CodeTable::TradeMode, &h.trade_mode),
    ] {
        if !codes.exists(table, value) {
            v.push(
                path,
                &format!("{}.unknown", rule_name(table)),
                format!("'{value}' is not in the reference table in force"),
            );
        }
    }
    for (name, value) in [
        ("transport_means", &h.transport_means),
        ("voyage", &h.voyage),
        ("bill_no", &h.bill_no),
    ] {
        if value.trim().is_empty() {
            v.push(
                format!("head/{name}"),
                "required",
                format!("{name} is required"),
            );
        }
    }
    if h.gross_weight_kg <= Decimal::ZERO {
        v.push(
            "head/gross_weight_kg",
            "weight.positive",
            "gross weight is positive",
        );
    }
    for (i, cn) in h.containers.iter().enumerate() {
        if let Err(e) = ContainerNumber::parse(cn) {
            v.check::<()>(&format!("head/containers/{i}"), Err(e));
        }
    }
    if c.items.is_empty() {
        v.push("items", "items.required", "at least one item");
    }
    if c.items.len() > rules.max_items {
        v.push(
            "items",
            "items.too_many",
            format!("at most {} items per declaration", rules.max_items),
        );
    }
    let mut taxed = false;
    for (i, it) in c.items.iter().enumerate() {
        let p = |f: &str| format!("items/{i}/{f}");
        let code6 = it.commodity_code.get(..6).unwrap_or("");
        if !(it.commodity_code.len() == 6 || it.commodity_code.len() == 10)
            || !it.commodity_code.bytes().all(|b| b.is_ascii_digit())
            || !codes.exists(CodeTable::HsSubheading, code6)
        {
            v.push(
                p("commodity_code"),
                "commodity_code.hs_subheading",
                "an HS 2022 subheading (6 digits) or a full 10-digit code",
            );
        }
        if it.name.trim().is_empty() {
            v.push(p("name"), "required", "the goods name is required");
        }
        if it.quantity <= Decimal::ZERO {
            v.push(p("quantity"), "quantity.positive", "quantity is positive");
        }
        if !codes.exists(CodeTable::Unit, &it.unit) {
            v.push(p("unit"), "unit.unknown", "a unit code (计量单位)");
        }
        if !codes.exists(CodeTable::Country, &it.origin_country) {
            v.push(
                p("origin_country"),
                "country.unknown",
                "an ISO alpha-3 country code",
            );
        }
        if it.total_price <= Decimal::ZERO {
            v.push(
                p("total_price"),
                "total_price.positive",
                "total price is positive",
            );
        }
        if !codes.exists(CodeTable::Currency, &it.currency) {
            v.push(
                p("currency"),
                "currency.unknown",
                "an ISO 4217 currency code",
            );
        }
        // Levy methods 1 (照章征税) and 2 (折半征税) mean tax is due.
        taxed |= matches!(it.levy_method.as_str(), "1" | "2");
    }
    if taxed
        && h.guarantee_reference
            .as_deref()
            .is_none_or(|g| g.trim().is_empty())
    {
        v.push(
            "head/guarantee_reference",
            "two_step.guarantee_required",
            "tax is due: a summary declaration needs the tax guarantee (税款担保) record number",
        );
    }
    v
}

/// The domestic consignee/consignor (境内收发货人) is a valid USCC and the enterprise the
/// declaration is filed for.
fn check_domestic_party(v: &mut Violations, uscc: &str, owner_uscc: &str) {
    match Uscc::parse(uscc) {
        Err(e) => {
            v.check::<()>("head/domestic_party_uscc", Err(e));
        }
        Ok(u) if u.as_str() != owner_uscc => v.push(
            "head/domestic_party_uscc",
            "domestic_party.not_owner",
            "the domestic consignee/consignor must be the enterprise the declaration is filed for",
        ),
        Ok(_) => {}
    }
}

fn rule_name(t: CodeTable) -> &'static str {
    match t {
        CodeTable::TariffLine => "tariff_line",
        CodeTable::HsSubheading => "hs_subheading",
        CodeTable::CustomsDistrict => "customs_district",
        CodeTable::Country => "country",
        CodeTable::Currency => "currency",
        CodeTable::Port => "port",
        CodeTable::TradeMode => "trade_mode",
        CodeTable::LevyNature => "levy_nature",
        CodeTable::LevyMethod => "levy_method",
        CodeTable::TransactionTerms => "transaction_terms",
        CodeTable::TransportMode => "transport_mode",
        CodeTable::Unit => "unit",
        CodeTable::PackagingType => "packaging_type",
        CodeTable::LicenceCode => "licence_code",
    }
}

impl DeclarationContent {
    /// Container numbers in canonical form (valid ones only).
    pub fn containers(&self) -> Vec<String> {
        self.head
            .containers
            .iter()
            .filter_map(|c| ContainerNumber::parse(c).ok())
            .map(String::from)
            .collect()
    }

    /// Sum of the item totals (in their declared currencies; single-currency declarations
    /// are the norm).
    pub fn total_value(&self) -> Decimal {
        self.items.iter().map(|i| i.total_price).sum()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Accepts the codes used in the examples.
    pub struct Codes;
    impl CodeLookup for Codes {
        fn exists(&self, table: CodeTable, code: &str) -> bool {
            match table {
                CodeTable::TariffLine => ["84713090", "85171300"].contains(&code),
                CodeTable::HsSubheading => ["847130", "851713"].contains(&code),
                CodeTable::CustomsDistrict => ["5300", "5316"].contains(&code),
                CodeTable::Country => ["JPN", "CHN", "USA"].contains(&code),
                CodeTable::Currency => ["USD", "CNY"].contains(&code),
                CodeTable::Port => ["CNYTN", "JPTYO"].contains(&code),
                CodeTable::TradeMode => code == "0110",
                CodeTable::LevyNature => code == "101",
                CodeTable::LevyMethod => code == "1",
                CodeTable::TransactionTerms => ["1", "3"].contains(&code),
                CodeTable::TransportMode => code == "2",
                CodeTable::Unit => code == "001",
                CodeTable::PackagingType => code == "22",
                CodeTable::LicenceCode => code == "Y",
            }
        }
    }

    pub const OWNER: &str = "91350100M000100Y43";

    pub fn valid() -> DeclarationContent {
        DeclarationContent {
            direction: Direction::Import,
            head: DeclarationHead {
                declaring_customs: "5316".into(),
                port_customs: "5316".into(),
                domestic_party_uscc: OWNER.into(),
                overseas_party: OverseasParty {
                    name: "Tokyo Trading K.K.".into(),
                    aeo_code: None,
                },
                transport_mode: "2".into(),
                transport_means: "COSCO SHIPPING ARIES".into(),
                voyage: "042E".into(),
                bill_no: "COSU6123456780".into(),
                trade_mode: "0110".into(),
                levy_nature: "101".into(),
                departure_or_destination_country: "JPN".into(),
                trading_country: "JPN".into(),
                foreign_port: Some("JPTYO".into()),
                domestic_port: "CNYTN".into(),
                package_type: "22".into(),
                packages: 40,
                gross_weight_kg: Decimal::new(52000, 1),
                net_weight_kg: Decimal::new(48000, 1),
                transaction_terms: "1".into(),
                containers: vec!["CSQU3054383".into()],
                ..Default::default()
            },
            items: vec![DeclarationItem {
                commodity_code: "8471309000".into(),
                name: "笔记本电脑".into(),
                specification: "品牌:Example|型号:X1".into(),
                quantity: Decimal::new(200, 0),
                unit: "001".into(),
                unit_price: Decimal::new(45050, 2),
                total_price: Decimal::new(9010000, 2),
                currency: "USD".into(),
                origin_country: "JPN".into(),
                destination_country: "CHN".into(),
                levy_method: "1".into(),
                ..Default::default()
            }],
        }
    }

    #[test]
    fn a_complete_declaration_passes() {
        let v = validate(&valid(), OWNER, &Codes, &DeclarationRules::default());
        assert!(v.is_empty(), "{v}");
    }

    #[test]
    fn every_violation_is_named_with_its_path() {
        let mut c = valid();
        c.head.containers = vec!["CSQU3054384".into()];
        c.head.net_weight_kg = Decimal::new(60000, 1);
        c.items[0].total_price = Decimal::new(9000000, 2);
        c.items.push(DeclarationItem {
            commodity_code: "8471300000".into(),
            ..c.items[0].clone()
        });
        let v = validate(&c, OWNER, &Codes, &DeclarationRules::default());
        let got: Vec<(String, String)> =
            v.0.iter()
                .map(|x| (x.path.clone(), x.rule.clone()))
                .collect();
        for want in [
            ("head/containers/0", "container.check_digit"),
            ("head/net_weight_kg", "weight.gross_at_least_net"),
            ("items/0/total_price", "total_price.mismatch"),
            ("items/1/commodity_code", "commodity_code.tariff_line"),
        ] {
            assert!(
                got.contains(&(want.0.to_string(), want.1.to_string())),
                "missing {want:?} in {got:?}"
            );
        }
    }

    #[test]
    fn at_most_fifty_items() {
        let mut c = valid();
        c.items = vec![c.items[0].clone(); 51];
        let v = validate(&c, OWNER, &Codes, &DeclarationRules::default());
        assert!(v.0.iter().any(|x| x.rule == "items.too_many"));
        c.items.truncate(50);
        assert!(validate(&c, OWNER, &Codes, &DeclarationRules::default()).is_empty());
    }

    #[test]
    fn the_domestic_party_is_the_owner() {
        let v = validate(
            &valid(),
            "91440300MA5F000181",
            &Codes,
            &DeclarationRules::default(),
        );
        assert_eq!(v.0[0].rule, "domestic_party.not_owner");
    }
}
