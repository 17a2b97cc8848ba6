//! Certificates of origin (原产地证书, M11): registered exporters apply, the rules review at
//! once ("秒批") and either approve with a number and a verification code or return the
//! application with every failed check; officers can override with a reason; anyone with
//! the number and code can verify; the import side's tax computation grants an agreement
//! rate only on a verified certificate.

use std::sync::{Arc, RwLock};

use chrono::NaiveDate;
use tongguan_api::{
    Certificate, CertificateApplication, CertificateOverride, CertificateVerification,
    ReceivedCertificate, VerifiedGood,
};
use tongguan_domain::enterprise::CreditLevel;
use tongguan_domain::identity::Role;
use tongguan_origin::{Application, OriginRules};
use tongguan_store::{Changeset, DocTable, DocumentRow, Op};
use uuid::Uuid;

use super::identity::require_role;
use super::{App, AppError, AppResult, Ctx, Reply, invalid, new_id, security_denied};

/// The rules by the day they come into force: the shipped curated table, then the tables
/// admins loaded (a complete Annex 3A, e.g. GACC Announcement 2022 No. 129 in HS 2022).
pub struct OriginState {
    versions: RwLock<Vec<(NaiveDate, Arc<OriginRules>)>>,
}

impl OriginState {
    /// The shipped tables with the configured general rules.
    pub fn new(general: tongguan_origin::GeneralRules) -> Self {
        let rules = OriginRules {
            general,
            ..OriginRules::shipped()
        };
        Self {
            versions: RwLock::new(vec![(NaiveDate::MIN, Arc::new(rules))]),
        }
    }

    /// The shipped rules with `table` instead of the shipped sample (parties, nomenclature
    /// and general rules reused, not read again).
    fn with_table(&self, table: tongguan_origin::PsrTable) -> OriginRules {
        let base = self.rules_on(NaiveDate::MIN);
        OriginRules {
            table,
            parties: base.parties.clone(),
            nomenclature: base.nomenclature.clone(),
            general: base.general.clone(),
        }
    }

    fn nomenclature(&self) -> tongguan_origin::Nomenclature {
        self.rules_on(NaiveDate::MIN).nomenclature.clone()
    }

    /// The rules in force on `date`: the latest table whose `valid_from` is not after it.
    pub fn rules_on(&self, date: NaiveDate) -> Arc<OriginRules> {
        let g = match self.versions.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.iter()
            .filter(|(from, _)| *from <= date)
            .max_by_key(|(from, _)| *from)
            .or_else(|| g.first())
            .map(|(_, r)| r.clone())
            .unwrap_or_default()
    }

    fn add(&self, valid_from: NaiveDate, rules: OriginRules) {
        let mut g = match self.versions.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        // A later load for the same day replaces the earlier one.
        g.retain(|(from, _)| *from != valid_from);
        g.push((valid_from, Arc::new(rules)));
    }
}

/// A stored rule table.
#[derive(serde::Serialize, serde::Deserialize)]
struct RuleTableDoc {
    label: String,
    valid_from: NaiveDate,
    source: String,
    loaded_by: String,
    rows: usize,
    csv: String,
}

fn table_errors(errors: &[tongguan_origin::TableError]) -> AppError {
    let mut v = tongguan_domain::Violations::new();
    for e in errors {
        v.push(
            format!("csv.line[{}].{}", e.line, e.column),
            "origin.rule_table",
            e.message.clone(),
        );
    }
    AppError::Invalid(v)
}

fn row_of(
    c: &Certificate,
    enterprise: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<DocumentRow> {
    Ok(DocumentRow {
        id: c.id,
        enterprise_id: enterprise,
        key: c.number.clone().unwrap_or_default(),
        status: c.status.clone(),
        version: c.version,
        created_at: c.created_at,
        updated_at: now,
        body: serde_json::to_string(c).map_err(|e| AppError::Internal(e.to_string()))?,
    })
}

fn parse(row: &DocumentRow) -> AppResult<Certificate> {
    serde_json::from_str(&row.body)
        .map_err(|e| AppError::Internal(format!("stored certificate: {e}")))
}

/// A fresh verification code: 10 characters without look-alikes (0/O, 1/I/L).
fn verification_code() -> AppResult<String> {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

/// Codes compared without leaking how much matched.
fn same_code(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim().to_ascii_uppercase(), b.trim().to_ascii_uppercase());
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The exporter eligibility check (出口商资格): a registered enterprise in good standing.
fn eligibility(name: &str, level: CreditLevel) -> serde_json::Value {
    let ok = !matches!(
        level,
        CreditLevel::Dishonest | CreditLevel::SeriouslyDishonest
    );
    serde_json::json!({
        "code": "EXPORTER.ELIGIBLE",
        "item": null,
        "passed": ok,
        "message_en": if ok {
            format!("{name} is a registered exporter ({})", level.as_str())
        } else {
            format!("{name} is rated {}: certificates are not issued automatically (GACC Order 251)", level.as_str())
        },
        "message_zh": if ok {
            format!("{name} 为已备案出口商（{}）", level.as_str())
        } else {
            format!("{name} 信用等级为 {}，不予自动签证（海关总署令第251号）", level.as_str())
        },
    })
}

impl App {
    /// An exporter applies; the rules decide at once.
    pub async fn apply_certificate(
        &self,
        ctx: &Ctx,
        input: &CertificateApplication,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::EnterpriseUser])?;
        let Some(exporter_id) = ctx.actor.enterprise_id else {
            return Err(AppError::Forbidden(
                "the user works for no enterprise".into(),
            ));
        };
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        if input.items.is_empty() {
            return Err(invalid(
                "items",
                "required",
                "an application covers at least one good",
            ));
        }
        let exporter = self
            .store
            .enterprise(exporter_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("enterprise {exporter_id}")))?;
        let now = self.now();
        let today = self.today();
        let app = Application {
            exporting_party: self.config.origin.home_party.clone(),
            importing_party: input.importing_party.trim().to_ascii_uppercase(),
            importer_name: input.importer_name.clone(),
            invoice_no: input.invoice_no.clone(),
            invoice_date: input.invoice_date,
            date: today,
            total_fob: input.total_fob,
            items: input.items.clone(),
        };
        let rules = self.origin.rules_on(today);
        let review = tongguan_origin::review(&app, &rules);
        let mut checks: Vec<serde_json::Value> = review
            .checks
            .iter()
            .map(|c| serde_json::to_value(c).unwrap_or_default())
            .collect();
        let eligible = eligibility(&exporter.name, exporter.credit_level);
        let approved = review.approved && eligible["passed"] == true;
        checks.push(eligible);
        let (number, code, valid_until) = if approved {
            (
                Some(self.certificate_number(today)),
                Some(verification_code()?),
                Some(today + chrono::Duration::days(self.config.origin.certificate_validity_days)),
            )
        } else {
            (None, None, None)
        };
        let failed = checks.iter().filter(|c| c["passed"] == false).count();
        let c = Certificate {
            id: new_id(),
            status: if approved { "approved" } else { "returned" }.into(),
            number,
            verification_code: code,
            exporter_id: Some(exporter_id),
            exporter_name: exporter.name.clone(),
            exporting_party: app.exporting_party.clone(),
            application: CertificateApplication {
                importing_party: app.importing_party.clone(),
                ..input.clone()
            },
            checks,
            decided_by: "system (smart review)".into(),
            decided_at: now,
            decision_reason: (!approved).then(|| format!("{failed} check(s) failed")),
            valid_until,
            created_at: now,
            version: 1,
        };
        let audit = self.audit_draft(
            ctx,
            "origin.review",
            &format!("certificate/{}", c.id),
            &match &c.number {
                Some(n) => format!("approved by the rules as {n}"),
                None => format!("returned: {failed} check(s) failed"),
            },
        );
        self.commit_reply(
            ctx,
            Changeset::new(
                vec![Op::PutDocument {
                    table: DocTable::OriginCertificates,
                    row: row_of(&c, exporter_id, now)?,
                    expected_version: None,
                }],
                audit,
            ),
            201,
            &c,
            None,
        )
        .await
    }

    /// Loads the rule tables admins stored (at start).
    pub(super) async fn start_origin(&self) -> AppResult<()> {
        for row in self
            .store
            .documents(DocTable::OriginRuleTables, None)
            .await?
        {
            let doc: RuleTableDoc = serde_json::from_str(&row.body)
                .map_err(|e| AppError::Internal(format!("stored rule table: {e}")))?;
            let table = tongguan_origin::PsrTable::from_csv(&doc.csv, self.origin.nomenclature())
                .map_err(|e| {
                AppError::Internal(format!(
                    "stored rule table {}: {} bad rows",
                    doc.label,
                    e.len()
                ))
            })?;
            self.origin
                .add(doc.valid_from, self.origin.with_table(table));
        }
        Ok(())
    }

    /// Admin: loads a product-specific rule table (the CSV of data/rcep/psr_annex3a.csv),
    /// in force from `valid_from`; every bad row is named.
    pub async fn load_origin_rules(
        &self,
        ctx: &Ctx,
        params: &tongguan_api::NewVersionParams,
        csv: &str,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::Admin])?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        if params.label.trim().is_empty() || params.source.trim().is_empty() {
            return Err(invalid(
                "label",
                "origin.label_and_source",
                "give a label and the source of the table",
            ));
        }
        let table = tongguan_origin::PsrTable::from_csv(csv, self.origin.nomenclature())
            .map_err(|e| table_errors(&e))?;
        let rows = table.len();
        let now = self.now();
        let doc = RuleTableDoc {
            label: params.label.trim().to_string(),
            valid_from: params.valid_from,
            source: params.source.trim().to_string(),
            loaded_by: ctx.actor_label(),
            rows,
            csv: csv.to_string(),
        };
        let row = DocumentRow {
            id: new_id(),
            enterprise_id: Uuid::nil(),
            key: doc.label.clone(),
            status: "loaded".into(),
            version: 1,
            created_at: now,
            updated_at: now,
            body: serde_json::to_string(&doc).map_err(|e| AppError::Internal(e.to_string()))?,
        };
        let info = serde_json::json!({ "label": doc.label, "valid_from": doc.valid_from, "source": doc.source, "rows": rows });
        let audit = self.audit_draft(
            ctx,
            "origin.rules_load",
            &format!("origin-rules/{}", doc.label),
            &format!(
                "{rows} rows from {}, in force from {}",
                doc.source, doc.valid_from
            ),
        );
        let reply = self
            .commit_reply(
                ctx,
                Changeset::new(
                    vec![Op::PutDocument {
                        table: DocTable::OriginRuleTables,
                        row,
                        expected_version: None,
                    }],
                    audit,
                ),
                201,
                &info,
                None,
            )
            .await?;
        self.origin
            .add(params.valid_from, self.origin.with_table(table));
        Ok(reply)
    }

    /// `R` + the issue date + 8 characters of a fresh id: unique without a shared counter.
    fn certificate_number(&self, today: NaiveDate) -> String {
        let id = new_id().simple().to_string().to_ascii_uppercase();
        format!(
            "R{}{}{}",
            self.config.origin.home_party,
            today.format("%y%m%d"),
            &id[id.len() - 8..]
        )
    }

    async fn visible_certificate(
        &self,
        ctx: &Ctx,
        id: Uuid,
    ) -> AppResult<(DocumentRow, Certificate)> {
        let row = self
            .store
            .document(DocTable::OriginCertificates, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("certificate {id}")))?;
        let c = parse(&row)?;
        let mine = match ctx.actor.role {
            Role::Officer | Role::Admin => true,
            Role::EnterpriseUser | Role::Broker => {
                c.exporter_id.is_some() && c.exporter_id == ctx.actor.enterprise_id
            }
            Role::TerminalOperator => false,
        };
        if !mine {
            security_denied(ctx, &format!("certificate/{id}"));
            return Err(AppError::NotFound(format!("certificate {id}")));
        }
        Ok((row, c))
    }

    pub async fn certificate(&self, ctx: &Ctx, id: Uuid) -> AppResult<Certificate> {
        Ok(self.visible_certificate(ctx, id).await?.1)
    }

    /// The caller's enterprise's certificates and returned applications (officers: all).
    pub async fn certificates(&self, ctx: &Ctx) -> AppResult<Vec<Certificate>> {
        let enterprise = match ctx.actor.role {
            Role::Officer | Role::Admin => None,
            Role::EnterpriseUser | Role::Broker => match ctx.actor.enterprise_id {
                Some(e) => Some(e),
                None => return Ok(Vec::new()),
            },
            Role::TerminalOperator => {
                return Err(AppError::Forbidden("terminals hold no certificates".into()));
            }
        };
        self.store
            .documents(DocTable::OriginCertificates, enterprise)
            .await?
            .iter()
            .map(parse)
            .collect()
    }

    /// An officer approves a returned application or revokes an approved certificate.
    pub async fn override_certificate(
        &self,
        ctx: &Ctx,
        id: Uuid,
        input: &CertificateOverride,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::Officer])?;
        let (row, mut c) = self.visible_certificate(ctx, id).await?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        if input.reason.trim().is_empty() {
            return Err(invalid(
                "reason",
                "required",
                "an override needs its reason",
            ));
        }
        let now = self.now();
        let today = self.today();
        match (input.approve, c.status.as_str()) {
            (true, "returned") => {
                c.status = "approved".into();
                c.number = Some(self.certificate_number(today));
                c.verification_code = Some(verification_code()?);
                c.valid_until = Some(
                    today + chrono::Duration::days(self.config.origin.certificate_validity_days),
                );
            }
            (false, "approved") => c.status = "revoked".into(),
            (approve, status) => {
                return Err(AppError::Conflict(tongguan_domain::Violation {
                    path: "approve".into(),
                    rule: "certificate.override".into(),
                    message: format!(
                        "a {status} certificate cannot be {}",
                        if approve { "approved" } else { "revoked" }
                    ),
                }));
            }
        }
        c.decided_by = ctx.actor_label();
        c.decided_at = now;
        c.decision_reason = Some(input.reason.trim().to_string());
        c.version += 1;
        let audit = self.audit_draft(
            ctx,
            if input.approve {
                "origin.override_approve"
            } else {
                "origin.revoke"
            },
            &format!("certificate/{id}"),
            input.reason.trim(),
        );
        self.commit_reply(
            ctx,
            Changeset::new(
                vec![Op::PutDocument {
                    table: DocTable::OriginCertificates,
                    row: row_of(&c, row.enterprise_id, now)?,
                    expected_version: Some(row.version),
                }],
                audit,
            ),
            200,
            &c,
            None,
        )
        .await
    }

    /// Officers register a certificate a partner's authority issued (for imports).
    pub async fn register_received(
        &self,
        ctx: &Ctx,
        input: &ReceivedCertificate,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::Officer, Role::Admin])?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let mut v = tongguan_domain::Violations::new();
        if input.number.trim().is_empty() {
            v.push("number", "required", "the certificate number");
        }
        if input.verification_code.trim().len() < 6 {
            v.push(
                "verification_code",
                "certificate.code",
                "the verification code (at least 6 characters)",
            );
        }
        let rules = self.origin.rules_on(self.today());
        if rules.parties.get(&input.exporting_party).is_none() {
            v.push(
                "exporting_party",
                "origin.party",
                format!("{} is not an RCEP party", input.exporting_party),
            );
        }
        if input.items.is_empty() {
            v.push("items", "required", "the goods the certificate covers");
        }
        if !v.is_empty() {
            return Err(v.into());
        }
        let now = self.now();
        let c = Certificate {
            id: new_id(),
            status: "received".into(),
            number: Some(input.number.trim().to_string()),
            verification_code: Some(input.verification_code.trim().to_string()),
            exporter_id: None,
            exporter_name: input.exporter_name.clone(),
            exporting_party: input.exporting_party.trim().to_ascii_uppercase(),
            application: CertificateApplication {
                importing_party: self.config.origin.home_party.clone(),
                importer_name: input.importer_name.clone(),
                importer_address: String::new(),
                invoice_no: String::new(),
                invoice_date: input.issued_on,
                total_fob: None,
                transport: Default::default(),
                items: input.items.clone(),
            },
            checks: Vec::new(),
            decided_by: ctx.actor_label(),
            decided_at: now,
            decision_reason: Some("issued by the exporting party's authority".into()),
            valid_until: Some(
                input.issued_on
                    + chrono::Duration::days(self.config.origin.certificate_validity_days),
            ),
            created_at: now,
            version: 1,
        };
        let audit = self.audit_draft(
            ctx,
            "origin.received",
            &format!("certificate/{}", c.id),
            &format!("{} issued by {}", input.number.trim(), c.exporting_party),
        );
        self.commit_reply(
            ctx,
            Changeset::new(
                vec![Op::PutDocument {
                    table: DocTable::OriginCertificates,
                    row: row_of(&c, Uuid::nil(), now)?,
                    expected_version: None,
                }],
                audit,
            ),
            201,
            &c,
            None,
        )
        .await
    }

    /// Public verification by number and code; an unknown number and a wrong code answer
    /// alike, so numbers cannot be probed.
    pub async fn verify_certificate(
        &self,
        number: &str,
        code: &str,
        on: NaiveDate,
    ) -> AppResult<CertificateVerification> {
        let found = match self.store.certificate_by_number(number.trim()).await? {
            Some(row) => Some(parse(&row)?),
            None => None,
        };
        let mut out = CertificateVerification {
            valid: false,
            reason: "no certificate with this number and verification code".into(),
            number: number.trim().to_string(),
            exporting_party: None,
            importing_party: None,
            issued_on: None,
            valid_until: None,
            items: Vec::new(),
        };
        let Some(c) = found.filter(|c| {
            c.verification_code
                .as_deref()
                .is_some_and(|v| same_code(v, code))
        }) else {
            return Ok(out);
        };
        out.exporting_party = Some(c.exporting_party.clone());
        out.importing_party = Some(c.application.importing_party.clone());
        out.issued_on = Some(if c.status == "received" {
            c.application.invoice_date
        } else {
            crate::app::china_date(c.decided_at)
        });
        out.valid_until = c.valid_until;
        out.items = c
            .application
            .items
            .iter()
            .map(|i| VerifiedGood {
                hs_code: i.hs_code.clone(),
                description: i.description.clone(),
            })
            .collect();
        (out.valid, out.reason) = match c.status.as_str() {
            "approved" | "received" if c.valid_until.is_some_and(|u| on <= u) => {
                (true, format!("{} certificate in force", c.status))
            }
            "approved" | "received" => (
                false,
                format!(
                    "expired on {}",
                    c.valid_until.map(|d| d.to_string()).unwrap_or_default()
                ),
            ),
            "revoked" => (false, "revoked by customs".into()),
            other => (false, format!("not issued ({other})")),
        };
        Ok(out)
    }

    /// Whether a declaration's certificate allows the agreement rate for goods of `hs_codes`
    /// exported from `partner` (M11, import side), and why not.
    pub async fn certificate_allows(
        &self,
        r: &tongguan_domain::declaration::OriginCertificateRef,
        hs_codes: &[String],
        on: NaiveDate,
    ) -> AppResult<Result<(), String>> {
        let Some(code) = r.verification_code.as_deref() else {
            return Ok(Err(format!(
                "certificate {} has no verification code to check",
                r.number
            )));
        };
        let v = self.verify_certificate(&r.number, code, on).await?;
        if !v.valid {
            return Ok(Err(format!("certificate {}: {}", r.number, v.reason)));
        }
        if v.importing_party.as_deref() != Some(self.config.origin.home_party.as_str()) {
            return Ok(Err(format!(
                "certificate {} is for imports into {}",
                r.number,
                v.importing_party.unwrap_or_default()
            )));
        }
        if v.exporting_party.as_deref() != Some(r.exporting_party.trim()) {
            return Ok(Err(format!(
                "certificate {} was issued by {}, not {}",
                r.number,
                v.exporting_party.unwrap_or_default(),
                r.exporting_party
            )));
        }
        let covered: Vec<String> = v
            .items
            .iter()
            .map(|i| tongguan_origin::rule::digits(&i.hs_code))
            .collect();
        if let Some(missing) = hs_codes.iter().find(|h| {
            !covered
                .iter()
                .any(|c| c.len() >= 6 && tongguan_origin::rule::digits(h).starts_with(&c[..6]))
        }) {
            return Ok(Err(format!(
                "certificate {} does not cover {missing}",
                r.number
            )));
        }
        Ok(Ok(()))
    }
}

/// The printable certificate (HTML, bilingual), escaped.
pub fn certificate_html(c: &Certificate) -> String {
    fn esc(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    }
    let rows: String = c
        .application
        .items
        .iter()
        .enumerate()
        .map(|(n, i)| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td></tr>",
                n + 1,
                esc(&i.description),
                esc(&i.hs_code),
                i.quantity,
                esc(&i.unit),
                serde_json::to_value(i.criterion)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                i.fob
            )
        })
        .collect();
    format!(
        r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>RCEP Certificate of Origin {number}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;color:#111}}table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #444;padding:.3em;text-align:left}}.status{{font-weight:bold}}@media print{{body{{margin:0}}}}</style></head>
<body>
<h1>RCEP Certificate of Origin · 区域全面经济伙伴关系协定原产地证明</h1>
<p class="status">Status 状态: {status}</p>
<table>
<tr><th>Certificate No. 证书编号</th><td>{number}</td><th>Verification code 核验码</th><td>{code}</td></tr>
<tr><th>Exporter 出口商</th><td>{exporter} ({exporting})</td><th>Importer 进口商</th><td>{importer} ({importing})</td></tr>
<tr><th>Invoice 发票</th><td>{invoice} · {invoice_date}</td><th>Transport 运输</th><td>{means} {voyage}, {pol} → {pod}</td></tr>
<tr><th>Issued 签发</th><td>{issued}</td><th>Valid until 有效期至</th><td>{valid}</td></tr>
</table>
<h2>Goods 货物</h2>
<table><tr><th>#</th><th>Description 品名</th><th>HS</th><th>Quantity 数量</th><th>Origin criterion 原产地标准</th><th>FOB</th></tr>
{rows}</table>
<p>Verify at 核查: <code>GET /api/v1/origin/verification?number={number}&amp;code={code}</code></p>
</body></html>
"#,
        number = esc(c.number.as_deref().unwrap_or("—")),
        code = esc(c.verification_code.as_deref().unwrap_or("—")),
        status = esc(&c.status),
        exporter = esc(&c.exporter_name),
        exporting = esc(&c.exporting_party),
        importer = esc(&c.application.importer_name),
        importing = esc(&c.application.importing_party),
        invoice = esc(&c.application.invoice_no),
        invoice_date = c.application.invoice_date,
        means = esc(&c.application.transport.means),
        voyage = esc(&c.application.transport.voyage),
        pol = esc(&c.application.transport.port_of_loading),
        pod = esc(&c.application.transport.port_of_discharge),
        issued = crate::app::china_date(c.decided_at),
        valid = c
            .valid_until
            .map(|d| d.to_string())
            .unwrap_or_else(|| "—".into()),
    )
}
