//! Chinese and English for every label, status and error of the web pages (issue 8): chosen
//! by the `lang` cookie (the switch), else by `Accept-Language`.

use axum::http::HeaderMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }

    /// The other language (the switch's target).
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Zh,
            Lang::Zh => Lang::En,
        }
    }

    pub fn param(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    /// The `lang` cookie, else the first of `Accept-Language` we speak, else Chinese
    /// (the customs' own language).
    pub fn of(headers: &HeaderMap) -> Lang {
        match crate::http::extract::cookie(headers, "lang").as_deref() {
            Some("en") => return Lang::En,
            Some("zh") => return Lang::Zh,
            _ => {}
        }
        let accept = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        for part in accept.split(',') {
            let tag = part
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if tag.starts_with("zh") {
                return Lang::Zh;
            }
            if tag.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::Zh
    }

    /// The text of `key`; an unknown key shows itself (and a test keeps the table whole).
    pub fn t(self, key: &str) -> &'static str {
        match TEXTS.iter().find(|(k, _, _)| *k == key) {
            Some((_, en, zh)) => match self {
                Lang::En => en,
                Lang::Zh => zh,
            },
            None => "?",
        }
    }

    /// A declaration status (`awaiting_arrival`, …) in this language.
    pub fn status(self, status: &str) -> &'static str {
        match STATUSES.iter().find(|(k, _, _)| *k == status) {
            Some((_, en, zh)) => match self {
                Lang::En => en,
                Lang::Zh => zh,
            },
            None => "?",
        }
    }

    /// A validation error by its rule, in this language; rules without their own text keep
    /// the engine's English message after a generic lead.
    pub fn violation(self, rule: &str, message: &str) -> String {
        match RULES.iter().find(|(k, _, _)| *k == rule) {
            Some((_, en, zh)) => match self {
                Lang::En => (*en).to_string(),
                Lang::Zh => (*zh).to_string(),
            },
            None => match self {
                Lang::En => message.to_string(),
                // Families of rules by their suffix, then the rule named.
                Lang::Zh => match rule.rsplit('.').next().unwrap_or("") {
                    "unknown" => "代码不在海关参数表中。".to_string(),
                    "required" => "必填。".to_string(),
                    "positive" => "须为正数。".to_string(),
                    "format" | "length" | "charset" => "格式不正确。".to_string(),
                    _ => format!("不符合规则 {rule}（{message}）"),
                },
            },
        }
    }
}

/// System-written reasons (event reasons, gate answers) with fixed wording: English, Chinese.
const REASONS: &[(&str, &str)] = &[
    ("draft saved", "保存草稿"),
    ("edited by the declarant", "申报人修改"),
    ("submitted by the declarant", "申报人申报"),
    ("taxes paid", "税款已缴纳"),
    ("complete declaration (完整申报)", "完整申报"),
    ("selected by customs risk control", "海关风险布控选中"),
    (
        "no accepted declaration covers this container",
        "没有已接受申报的报关单涵盖此集装箱",
    ),
    (
        "export cleared before arrival with no control instruction: load directly (抵港直装)",
        "出口货物运抵前已审结且未布控：抵港直装",
    ),
    (
        "released on arrival before unloading: ship-side pickup allowed (船边直提)",
        "运抵即放行：可船边直提",
    ),
    (
        "admitted to territory: may leave the port under conditions, not be sold or used (附条件提离)",
        "准许入境：可附条件提离，不得销售或使用",
    ),
    ("released", "已放行"),
];

impl Lang {
    /// A reason in this language: the system's fixed wordings and patterns are translated;
    /// what a person wrote (an officer's reason) is shown as written.
    pub fn reason(self, text: &str) -> String {
        if self == Lang::En {
            return text.to_string();
        }
        if let Some((_, zh)) = REASONS.iter().find(|(en, _)| *en == text) {
            return (*zh).to_string();
        }
        if let Some(t) = text.strip_prefix("arrival report by ") {
            return format!("{t} 运抵报告");
        }
        if let Some(rest) = text.strip_prefix("declaration ") {
            if let Some((no, what)) = rest.split_once(" is selected for ") {
                return format!("报关单 {no} 被布控：{what}");
            }
            if let Some((no, status)) = rest
                .strip_suffix(", not released")
                .and_then(|r| r.split_once(" is "))
            {
                return format!("报关单 {no} 状态为 {}，未放行", self.status(status));
            }
        }
        text.to_string()
    }
}

/// Labels: key, English, Chinese.
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("app", "Tongguan customs clearance", "通关 · 海关通关平台"),
    ("switch", "中文", "English"),
    ("login", "Log in", "登录"),
    ("logout", "Log out", "退出"),
    ("username", "Username", "用户名"),
    ("password", "Password", "密码"),
    (
        "login_failed",
        "Wrong username or password.",
        "用户名或密码错误。",
    ),
    ("dashboard", "Dashboard", "工作台"),
    ("declarations", "Declarations", "报关单"),
    ("by_status", "Declarations by status", "按状态统计"),
    ("new_declaration", "New advance declaration", "新建提前申报"),
    ("status", "Status", "状态"),
    ("customs_no", "Customs number", "海关编号"),
    ("bill_no", "Bill of lading", "提运单号"),
    (
        "containers",
        "Containers (comma separated)",
        "集装箱号（逗号分隔）",
    ),
    ("transport_means", "Vessel", "运输工具名称"),
    ("voyage", "Voyage", "航次号"),
    ("domestic_port", "Port of entry (UN/LOCODE)", "入境口岸"),
    ("overseas_party", "Overseas consignor", "境外发货人"),
    ("country", "Country of departure", "启运国"),
    ("packages", "Packages", "件数"),
    ("gross_weight", "Gross weight (kg)", "毛重（千克）"),
    ("net_weight", "Net weight (kg)", "净重（千克）"),
    ("items", "Goods", "商品"),
    ("commodity_code", "Commodity code", "商品编号"),
    ("goods_name", "Name", "商品名称"),
    ("quantity", "Quantity", "数量"),
    ("unit_price", "Unit price", "单价"),
    ("currency", "Currency", "币制"),
    ("origin", "Origin", "原产国"),
    ("submit", "Submit declaration", "申报"),
    (
        "errors",
        "Please correct the marked fields.",
        "请更正标出的栏目。",
    ),
    ("timeline", "Timeline", "状态时间线"),
    ("live", "Updates live", "实时更新"),
    ("quota", "Guarantee quota", "担保额度"),
    ("available", "Available", "可用"),
    ("statements", "Monthly tax statements", "汇总征税月度账单"),
    ("due", "Due", "缴款期限"),
    ("none", "None", "无"),
    ("terminal_board", "Terminal board", "码头看板"),
    ("container_lookup", "Container lookup", "集装箱查询"),
    ("container_no", "Container number", "集装箱号"),
    ("look_up", "Look up", "查询"),
    ("gate_decision", "Gate decision", "闸口指令"),
    ("reason", "Reason", "原因"),
    ("arrival_report", "Arrival report", "运抵报告"),
    ("report", "Report arrival", "提交运抵"),
    ("released", "Released", "已放行"),
    ("when", "Time", "时间"),
    ("actor", "By", "操作人"),
    ("from_to", "Change", "变更"),
    ("not_found", "Not found.", "未找到。"),
    ("skip", "Skip to content", "跳到正文"),
    ("officer_console", "Officer console", "关员工作台"),
    ("subscriptions", "Subscriptions", "订阅推送"),
    ("certificates", "Certificates of origin", "原产地证书"),
    ("guarantees", "Guarantees", "担保"),
    ("audit", "Audit log", "审计日志"),
    (
        "falling_due",
        "Complete declarations falling due",
        "待完整申报",
    ),
    ("overdue_days", "days overdue", "天逾期"),
    ("url", "Webhook URL", "推送地址"),
    (
        "event_types",
        "Message types (comma separated, empty: all)",
        "消息类型（逗号分隔，留空为全部）",
    ),
    ("subscribe", "Subscribe", "订阅"),
    (
        "secret_once",
        "Signing secret (shown once):",
        "签名密钥（仅显示一次）：",
    ),
    ("deliveries", "Deliveries", "推送记录"),
    ("attempts", "Attempts", "尝试次数"),
    ("redeliver", "Redeliver", "重新推送"),
    ("enable", "Re-enable", "重新启用"),
    ("number", "Number", "编号"),
    ("print", "Print", "打印"),
    ("importer", "Importer", "进口商"),
    ("approve", "Approve", "批准"),
    ("refuse", "Refuse", "不予批准"),
    ("amount", "Amount", "金额"),
    ("issuer", "Issuer", "出具机构"),
    ("object", "Object", "对象"),
    ("next_page", "Next page", "下一页"),
    ("revoke", "Revoke", "撤销"),
    (
        "apply_certificate",
        "Apply for an RCEP certificate of origin",
        "申请 RCEP 原产地证书",
    ),
    ("apply", "Apply", "提交申请"),
    (
        "importing_party",
        "Importing party (ISO alpha-3)",
        "进口成员方（三字母代码）",
    ),
    ("importer_name", "Importer", "进口商"),
    ("invoice_no", "Invoice number", "发票号"),
    (
        "invoice_date",
        "Invoice date (YYYY-MM-DD)",
        "发票日期（年-月-日）",
    ),
    ("port_of_loading", "Port of loading", "装货港"),
    ("port_of_discharge", "Port of discharge", "卸货港"),
    ("goods", "Goods", "货物"),
    ("hs_code", "HS code", "HS 编码"),
    ("description", "Description", "货物描述"),
    ("fob", "FOB value", "FOB 价值"),
    (
        "processes",
        "Production processes (comma separated)",
        "生产工序（逗号分隔）",
    ),
    ("criterion", "Origin criterion", "原产地标准"),
    (
        "psr",
        "Product-specific rule (PSR)",
        "产品特定原产地规则（PSR）",
    ),
    ("wo", "Wholly obtained (WO)", "完全获得（WO）"),
    (
        "pe",
        "Produced exclusively from originating materials (PE)",
        "完全由原产材料生产（PE）",
    ),
    ("materials", "Bill of materials", "原材料清单"),
    ("value", "Value", "价值"),
    ("checks", "Checks", "审核项目"),
    ("code", "Verification code", "核验码"),
    ("gate_Proceed", "Proceed: released", "放行，可提离"),
    ("gate_ToInspection", "To the inspection area", "转查验区"),
    ("gate_Hold", "Hold: not released", "暂扣，未放行"),
    ("gate_ShipSidePickup", "Ship-side pickup", "船边直提"),
    ("gate_DirectLoading", "Direct loading", "抵港直装"),
    ("cert_approved", "Approved", "已签发"),
    (
        "cert_returned",
        "Returned with failed checks",
        "退回（审核未通过）",
    ),
    ("cert_revoked", "Revoked", "已撤销"),
    (
        "cert_received",
        "Received from the issuing party",
        "已接收（对方签发）",
    ),
    ("sub_active", "Active", "启用"),
    ("sub_disabled", "Disabled", "已停用"),
    ("delivery_pending", "Pending", "待推送"),
    ("delivery_delivered", "Delivered", "已送达"),
    ("delivery_failed", "Failed", "失败"),
    ("guarantee_pending", "Pending", "待审批"),
    ("guarantee_approved", "Approved", "已批准"),
    ("guarantee_rejected", "Refused", "不予批准"),
    ("work_queue", "Work queue", "待办队列"),
    ("instructions", "Control instructions", "布控指令"),
    ("new_instruction", "New control instruction", "新建布控指令"),
    ("commodity_prefix", "Commodity code prefix", "商品编号前缀"),
    ("action", "Action", "处置要求"),
    ("create", "Create", "下达"),
    (
        "created",
        "Control instruction in force.",
        "布控指令已生效。",
    ),
    ("active", "Active", "有效"),
    ("risk", "Risk explanation", "风险说明"),
    ("inspection_entry", "Inspection result", "查验结果"),
    ("passed", "Goods match the declaration", "货物与申报相符"),
    ("findings", "Findings", "查验情况"),
    ("release_q", "Release the goods?", "是否放行？"),
    ("yes", "Yes", "是"),
    ("no", "No (detain)", "否（扣留）"),
    ("record", "Record", "提交"),
    ("document_review", "document review", "审单"),
    ("machine_scan", "machine scan", "机检"),
    ("sampling", "sampling", "取样送检"),
    ("physical_inspection", "physical inspection", "人工查验"),
];

/// Declaration statuses: code, English, Chinese (the customs' own terms).
pub const STATUSES: &[(&str, &str, &str)] = &[
    ("draft", "Draft", "草稿"),
    ("submitted", "Submitted", "已申报"),
    ("accepted", "Accepted", "已接受申报"),
    (
        "awaiting_arrival",
        "Accepted, awaiting arrival",
        "提前审结，待运抵",
    ),
    ("inspection_ordered", "Selected for inspection", "布控查验"),
    ("inspected", "Inspected", "已查验"),
    ("released", "Released", "放行"),
    ("detained", "Detained", "扣留"),
    ("returned", "Returned for correction", "退单"),
    ("cancelled", "Cancelled", "已撤销"),
    ("admitted_to_territory", "Admitted to territory", "准许入境"),
    ("admitted_to_market", "Admitted to market", "合格入市"),
    ("awaiting_payment", "Awaiting tax payment", "待缴税款"),
];

/// Validation rules with their own wording: rule, English, Chinese.
pub const RULES: &[(&str, &str, &str)] = &[
    (
        "container.check_digit",
        "The container number's check digit is wrong (ISO 6346).",
        "集装箱号校验位错误（ISO 6346）。",
    ),
    (
        "container.format",
        "A container number is 4 letters and 7 digits (ISO 6346).",
        "集装箱号应为4个字母加7位数字（ISO 6346）。",
    ),
    (
        "container.duplicate",
        "This container is listed twice.",
        "集装箱号重复。",
    ),
    ("required", "Required.", "必填。"),
    (
        "webhook.url.forbidden_address",
        "This address is loopback, private or link-local: an administrator must allow its network first.",
        "该地址属于本机、内网或链路本地地址，须由管理员先放行其网段。",
    ),
    (
        "webhook.url.scheme",
        "Webhook URLs use http or https.",
        "推送地址须以 http 或 https 开头。",
    ),
    (
        "webhook.url.syntax",
        "This is not a URL.",
        "推送地址格式不正确。",
    ),
    (
        "webhook.url.unresolvable",
        "This host name does not resolve.",
        "无法解析该主机名。",
    ),
    (
        "webhook.url.credentials",
        "Put no credentials in the URL.",
        "推送地址中不得包含用户名或密码。",
    ),
    (
        "webhook.event_type.unknown",
        "Unknown message type.",
        "未知的消息类型。",
    ),
    (
        "page.limit",
        "Limit is between 1 and 500.",
        "每页条数须在1至500之间。",
    ),
    (
        "commodity_code.format",
        "A commodity code is 10 digits.",
        "商品编号应为10位数字。",
    ),
    (
        "commodity_code.hs_subheading",
        "The first 6 digits are not an HS subheading.",
        "前6位不是协调制度子目。",
    ),
    (
        "commodity_code.tariff_line",
        "The first 8 digits are not a tariff line.",
        "前8位不是税则号列。",
    ),
    (
        "country.unknown",
        "Unknown country code.",
        "国别代码不存在。",
    ),
    (
        "currency.unknown",
        "Unknown currency code.",
        "币制代码不存在。",
    ),
    (
        "total_price.mismatch",
        "Quantity × unit price differs from the total price.",
        "数量×单价与总价不符。",
    ),
    (
        "total_price.positive",
        "The total price must be positive.",
        "总价须为正数。",
    ),
    (
        "unit_price.positive",
        "The unit price must be positive.",
        "单价须为正数。",
    ),
    (
        "weight.gross_at_least_net",
        "The gross weight is less than the net weight.",
        "毛重小于净重。",
    ),
    (
        "weight.positive",
        "Weights must be positive.",
        "重量须为正数。",
    ),
    (
        "items.too_many",
        "At most 50 goods per declaration.",
        "每份报关单最多50项商品。",
    ),
    (
        "import.bill_not_on_manifest",
        "No manifest carries this bill of lading yet: file the manifest first.",
        "舱单中尚无此提运单，请先申报舱单。",
    ),
];

#[cfg(test)]
mod tests {
    #[test]
    fn system_reasons_are_translated_and_people_s_words_kept() {
        use super::Lang;
        assert_eq!(
            Lang::Zh.reason("arrival report by CNYTN-YICT"),
            "CNYTN-YICT 运抵报告"
        );
        assert_eq!(
            Lang::Zh.reason("declaration 531620261000000001 is awaiting_arrival, not released"),
            "报关单 531620261000000001 状态为 提前审结，待运抵，未放行"
        );
        assert_eq!(
            Lang::Zh.reason("goods match the declaration"),
            "goods match the declaration"
        );
        assert_eq!(Lang::En.reason("draft saved"), "draft saved");
        assert_eq!(Lang::Zh.reason("draft saved"), "保存草稿");
    }

    #[test]
    fn every_text_has_both_languages() {
        for (k, en, zh) in super::TEXTS
            .iter()
            .chain(super::STATUSES)
            .chain(super::RULES)
        {
            assert!(!en.is_empty() && !zh.is_empty(), "{k}");
        }
    }
}
