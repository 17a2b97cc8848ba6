//! The transactional outbox (M15: 状态推送): every status event is derived from the ops of the
//! changeset that makes the change and written in the same transaction, so a change and its
//! announcement commit together or not at all. Server-sent events, webhooks and NATS read the
//! outbox by sequence.
//!
//! Message types (the `type` of the Standard Webhooks payload):
//! - `declaration.status`: a declaration's status change (inspection, release, taxes paid, …),
//!   seen by its owner (and brokers it authorises) and the customs districts concerned;
//! - `container.status`: containers ordered to inspection or released, seen by the terminals
//!   of the port — what a terminal needs to plan, without the declaration's contents;
//! - `manifest.filed`, `arrival.reported`: manifests and arrival reports;
//! - `gate.decision`: a terminal's gate-in/gate-out/loading question and the answer;
//! - `tax.transfer`: a guarantee-quota ledger movement (reserve, post, void, pay, quota);
//! - `guarantee.status`: a guarantee registered, approved or refused;
//! - `certificate.status`: a certificate of origin approved, returned or revoked.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use tongguan_domain::identity::{EnterpriseScope, Role};
use tongguan_domain::lifecycle::{Declaration, EventKind, Status};
use tongguan_store::{DocTable, Op, OutboxRow};

use super::{App, AppResult, Ctx, new_id};

/// The `data` of a `declaration.status` message: the event with where it belongs.
#[derive(serde::Serialize)]
struct StatusMessage<'a> {
    #[serde(flatten)]
    event: &'a tongguan_domain::lifecycle::Event,
    customs_no: Option<&'a str>,
    pre_entry_no: Option<&'a str>,
    direction: Option<&'a str>,
    bill_no: Option<&'a str>,
    containers: &'a [String],
}

/// A message of `kind` at `at` about nothing yet, seen by nobody yet.
fn message(kind: &str, at: chrono::DateTime<chrono::Utc>, data: Value) -> OutboxRow {
    OutboxRow {
        seq: 0,
        id: new_id(),
        at,
        kind: kind.into(),
        enterprise_id: None,
        terminal: None,
        port: None,
        customs: Vec::new(),
        declaration_id: None,
        bill_no: None,
        containers: Vec::new(),
        data: data.to_string(),
    }
}

/// Appends the outbox rows the changeset's ops announce.
pub fn announce(ops: &mut Vec<Op>, now: chrono::DateTime<chrono::Utc>) {
    let rows = derive(ops, now);
    if !rows.is_empty() {
        ops.push(Op::InsertOutbox(rows));
    }
}

/// The outbox rows announcing what `ops` change (pure).
pub fn derive(ops: &[Op], now: chrono::DateTime<chrono::Utc>) -> Vec<OutboxRow> {
    let declaration = |id: uuid::Uuid| -> Option<&Declaration> {
        ops.iter().rev().find_map(|op| match op {
            Op::InsertDeclaration(d) if d.id == id => Some(d.as_ref()),
            Op::UpdateDeclaration { declaration, .. } if declaration.id == id => {
                Some(declaration.as_ref())
            }
            _ => None,
        })
    };
    let mut out = Vec::new();
    for op in ops {
        match op {
            Op::InsertEvents(events) => {
                for e in events {
                    let d = declaration(e.declaration_id);
                    let mut containers = d.map(|d| d.content.containers()).unwrap_or_default();
                    containers.sort();
                    containers.dedup();
                    // Serialised once, straight from the event (no intermediate JSON tree).
                    let data = serde_json::to_string(&StatusMessage {
                        event: e,
                        customs_no: d.and_then(|d| d.customs_no.as_deref()),
                        pre_entry_no: d.map(|d| d.pre_entry_no.as_str()),
                        direction: d.map(|d| d.content.direction.as_str()),
                        bill_no: d.map(|d| d.content.head.bill_no.trim()),
                        containers: &containers,
                    })
                    .unwrap_or_else(|_| "null".into());
                    let base = OutboxRow {
                        enterprise_id: d.map(|d| d.owner_id),
                        port: d.map(|d| d.content.head.domestic_port.trim().to_ascii_uppercase()),
                        customs: d
                            .map(|d| {
                                let mut c = vec![
                                    d.content.head.port_customs.clone(),
                                    d.content.head.declaring_customs.clone(),
                                ];
                                c.dedup();
                                c
                            })
                            .unwrap_or_default(),
                        declaration_id: Some(e.declaration_id),
                        bill_no: d.map(|d| d.content.head.bill_no.trim().to_string()),
                        containers: containers.clone(),
                        data,
                        ..message("declaration.status", e.at, Value::Null)
                    };
                    // Terminals learn at once which containers go to inspection and which
                    // may leave (M15, "码头即时获知查验指令").
                    let container_status = match (&e.kind, e.to) {
                        (EventKind::InspectionOrdered { decision }, _) => {
                            Some(("inspection", decision.action.as_str()))
                        }
                        (_, Status::Released) => Some(("released", "")),
                        _ => None,
                    };
                    if let Some((status, action)) = container_status
                        && !containers.is_empty()
                    {
                        let data = json!({
                            "status": status,
                            "inspection_action": (!action.is_empty()).then_some(action),
                            "containers": containers,
                            "bill_no": base.bill_no,
                            "customs_no": d.and_then(|d| d.customs_no.clone()),
                            "at": e.at,
                        });
                        let fresh = message("container.status", e.at, data);
                        out.push(OutboxRow {
                            id: fresh.id,
                            kind: fresh.kind,
                            data: fresh.data,
                            enterprise_id: None,
                            ..base.clone()
                        });
                    }
                    out.push(base);
                }
            }
            Op::InsertManifest(m) => {
                let bills: Vec<&str> = m.input.bills.iter().map(|b| b.bill_no.trim()).collect();
                let containers: Vec<String> = m
                    .input
                    .bills
                    .iter()
                    .flat_map(|b| b.containers.iter().map(|c| c.trim().to_ascii_uppercase()))
                    .collect();
                let data = json!({
                    "manifest_id": m.id,
                    "direction": m.input.direction.as_str(),
                    "transport_means": m.input.transport_means,
                    "voyage": m.input.voyage,
                    "port": m.input.port,
                    "eta": m.input.eta,
                    "bills": bills,
                    "containers": containers,
                });
                out.push(OutboxRow {
                    enterprise_id: Some(m.filed_by),
                    port: Some(m.input.port.trim().to_ascii_uppercase()),
                    customs: vec![m.input.customs.clone()],
                    bill_no: (bills.len() == 1).then(|| bills[0].to_string()),
                    containers,
                    ..message("manifest.filed", m.created_at, data)
                });
            }
            Op::InsertArrivalReport(r) => {
                let data = json!({
                    "report_id": r.id,
                    "terminal": r.terminal,
                    "bill_no": r.bill_no,
                    "containers": r.containers,
                    "at": r.at,
                });
                out.push(OutboxRow {
                    terminal: Some(r.terminal.clone()),
                    bill_no: r.bill_no.clone(),
                    containers: r.containers.clone(),
                    ..message("arrival.reported", r.at, data)
                });
            }
            Op::InsertTerminalEvents(rows) => out.extend(rows.iter().map(|r| {
                let data = json!({
                    "terminal": r.terminal,
                    "container_no": r.container_no,
                    "action": r.kind,
                    "allowed": r.allowed,
                    "reason": r.reason,
                    "at": r.at,
                });
                OutboxRow {
                    terminal: Some(r.terminal.clone()),
                    containers: vec![r.container_no.clone()],
                    ..message("gate.decision", r.at, data)
                }
            })),
            Op::InsertLedgerTransfers(rows) => out.extend(rows.iter().map(|r| {
                // The stored transfer is JSON already: embed it as it is.
                let data = format!(
                    "{{\"enterprise_id\":\"{}\",\"transfer\":{}}}",
                    r.enterprise_id, r.body
                );
                OutboxRow {
                    enterprise_id: Some(r.enterprise_id),
                    data,
                    ..message("tax.transfer", r.at, Value::Null)
                }
            })),
            Op::PutDocument {
                table: DocTable::Guarantees,
                row,
                ..
            } => {
                let data = json!({
                    "guarantee_id": row.id,
                    "enterprise_id": row.enterprise_id,
                    "status": row.status,
                    "guarantee": serde_json::from_str::<Value>(&row.body).unwrap_or(Value::Null),
                });
                out.push(OutboxRow {
                    enterprise_id: Some(row.enterprise_id),
                    ..message("guarantee.status", now, data)
                });
            }
            Op::PutDocument {
                table: DocTable::OriginCertificates,
                row,
                ..
            } if !row.enterprise_id.is_nil() => {
                // The number and status only: the verification code stays with its holder.
                let data = json!({
                    "certificate_id": row.id,
                    "number": (!row.key.is_empty()).then_some(&row.key),
                    "status": row.status,
                });
                out.push(OutboxRow {
                    enterprise_id: Some(row.enterprise_id),
                    ..message("certificate.status", now, data)
                });
            }
            _ => {}
        }
    }
    out
}

/// Who receives a message: an enterprise (with the enterprises it acts for), a terminal
/// operator (its terminals and their ports), an officer's district, or everything (admin).
#[derive(Debug, Clone)]
pub enum Audience {
    Everything,
    District(tongguan_domain::codes::CustomsDistrictCode),
    Enterprises(EnterpriseScope),
    Terminals {
        terminals: BTreeSet<String>,
        ports: BTreeSet<String>,
    },
}

impl Audience {
    /// Whether this audience may receive `m` (pure).
    pub fn sees(&self, m: &OutboxRow) -> bool {
        match self {
            Audience::Everything => true,
            Audience::District(dist) => m.customs.iter().any(|c| {
                tongguan_domain::codes::CustomsDistrictCode::parse(c).is_ok_and(|c| dist.covers(&c))
            }),
            Audience::Enterprises(scope) => m.enterprise_id.is_some_and(|e| scope.allows(e)),
            Audience::Terminals { terminals, ports } => {
                m.terminal.as_ref().is_some_and(|t| terminals.contains(t))
                    || (m.kind == "container.status"
                        && m.port.as_ref().is_some_and(|p| ports.contains(p)))
            }
        }
    }
}

impl App {
    /// The audience of the caller, read now (a revoked broker authorisation narrows it).
    pub async fn audience(&self, ctx: &Ctx) -> AppResult<Audience> {
        Ok(match ctx.actor.role {
            Role::Admin => Audience::Everything,
            Role::Officer => match &ctx.actor.district {
                Some(d) => Audience::District(d.clone()),
                None => Audience::Enterprises(EnterpriseScope::None),
            },
            Role::EnterpriseUser | Role::Broker => Audience::Enterprises(self.scope(ctx).await?),
            Role::TerminalOperator => Audience::Terminals {
                terminals: ctx.actor.terminals.iter().cloned().collect(),
                ports: self.operator_ports(&ctx.actor),
            },
        })
    }

    /// The next page of the caller's feed (server-sent events): outbox messages after
    /// `after` the caller may see, and the sequence to continue from (past the messages
    /// the caller may not see, so they are not read again).
    pub async fn feed_page(
        &self,
        ctx: &Ctx,
        after: i64,
        limit: i64,
    ) -> AppResult<(i64, Vec<OutboxRow>)> {
        let page = self.store.outbox_after(after, limit).await?;
        let next = page.last().map_or(after, |m| m.seq);
        let audience = self.audience(ctx).await?;
        Ok((
            next,
            page.into_iter().filter(|m| audience.sees(m)).collect(),
        ))
    }
}
