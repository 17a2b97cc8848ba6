//! The declaration lifecycle (报关单状态): a pure state machine. `decide` turns a command into
//! events or refuses it; `apply` folds an event into the state. The app service stores the
//! events in the same transaction as the new state.
//!
//! Draft → submitted → accepted (customs number) → awaiting arrival (advance declaration,
//! 提前申报) → released on the arrival report (秒放); or → inspection ordered → inspected →
//! released / detained; returned for correction (退单); cancellation and amendment (修撤单)
//! need an officer's approval once accepted; two-stage access (两段准入): admitted to
//! territory → admitted to market; two-step (两步申报): the complete declaration follows a
//! released summary. Sources: MEASURES.md M1, RULES.md §1-4.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::declaration::DeclarationContent;

/// Status a user sees.
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
pub enum Status {
    /// 草稿 — may be incomplete.
    Draft,
    /// 已申报.
    Submitted,
    /// 已接受申报 — customs number assigned.
    Accepted,
    /// 提前审结，待运抵 — accepted before arrival, released when the goods arrive.
    AwaitingArrival,
    /// 布控查验 — a control instruction or random draw selected it.
    InspectionOrdered,
    /// 已查验.
    Inspected,
    /// 放行.
    Released,
    /// 扣留 — held after inspection findings.
    Detained,
    /// 退单 — returned for correction.
    Returned,
    /// 已撤销.
    Cancelled,
    /// 准许入境 (两段准入 stage 1): may leave the port under conditions, not be sold or used.
    AdmittedToTerritory,
    /// 合格入市 (stage 2).
    AdmittedToMarket,
    /// 待缴税款 — ready for release but the taxes are neither guaranteed nor paid
    /// (pay-before-release, 先税后放).
    AwaitingPayment,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::Accepted => "accepted",
            Status::AwaitingArrival => "awaiting_arrival",
            Status::InspectionOrdered => "inspection_ordered",
            Status::Inspected => "inspected",
            Status::Released => "released",
            Status::Detained => "detained",
            Status::Returned => "returned",
            Status::Cancelled => "cancelled",
            Status::AdmittedToTerritory => "admitted_to_territory",
            Status::AdmittedToMarket => "admitted_to_market",
            Status::AwaitingPayment => "awaiting_payment",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        ALL_STATUSES.iter().copied().find(|x| x.as_str() == s)
    }

    /// The goods may leave customs control (fully or, for two-stage, conditionally).
    pub fn is_released(self) -> bool {
        matches!(
            self,
            Status::Released | Status::AdmittedToTerritory | Status::AdmittedToMarket
        )
    }

    /// No further status change is possible.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Cancelled | Status::Detained | Status::AdmittedToMarket
        )
    }
}

pub const ALL_STATUSES: [Status; 13] = [
    Status::Draft,
    Status::Submitted,
    Status::Accepted,
    Status::AwaitingArrival,
    Status::InspectionOrdered,
    Status::Inspected,
    Status::Released,
    Status::Detained,
    Status::Returned,
    Status::Cancelled,
    Status::AdmittedToTerritory,
    Status::AdmittedToMarket,
    Status::AwaitingPayment,
];

/// Why a declaration goes to inspection: the strongest selected action and a summary of
/// the risk explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ControlDecision {
    /// physical_inspection, machine_scan, document_review or sampling.
    pub action: String,
    pub reason: String,
}

/// An officer's inspection result (查验结果).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectionResult {
    /// True when the goods match the declaration.
    pub passed: bool,
    #[serde(default)]
    pub findings: String,
    /// References of attached photos or reports.
    #[serde(default)]
    pub attachments: Vec<String>,
}

/// A cancellation or amendment waiting for an officer (修撤单申请).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PendingRequest {
    pub kind: RequestKind,
    pub reason: String,
    pub requested_at: DateTime<Utc>,
    /// The new content of an amendment.
    pub content: Option<Box<DeclarationContent>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    Cancellation,
    Amendment,
}

/// How the taxes of a declaration are secured (M1: 汇总征税 or pay before release).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaxMethod {
    /// No tax is due (exempt, waived under the CNY 50 rule, or an export).
    NoneDue,
    /// Reserved against the enterprise's guarantee quota (汇总征税).
    Consolidated,
    /// To be paid before release (先税后放).
    PayBeforeRelease,
    /// Could not be computed from the tariff and exchange rates loaded; assessed by an
    /// officer after release.
    Unassessed,
}

/// The taxes of a declaration, fixed at acceptance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaxState {
    pub method: TaxMethod,
    /// Duty + consumption tax + VAT after the waiver, in fen (分).
    pub total_fen: i64,
    /// Guaranteed, paid, or nothing due: release may proceed.
    pub secured: bool,
    /// Why this method (e.g. "quota short: needs 12,345.67, 1,000.00 available").
    pub reason: String,
    /// The computation with rates and formulas.
    #[schema(value_type = Option<Object>)]
    pub breakdown: Option<serde_json::Value>,
    pub paid_at: Option<DateTime<Utc>>,
    pub payment_reference: Option<String>,
    /// Consolidated: the quota reservation (pending ledger transfer) to post at release or
    /// void at cancellation.
    #[serde(default)]
    pub reservation: Option<Uuid>,
}

/// Two-step declaration (两步申报) progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TwoStep {
    /// Complete declaration due (完整申报): 14 days after the transport means' declared
    /// arrival (Ann. 2019 No. 127; RULES.md §2).
    pub complete_due: NaiveDate,
    pub completed_at: Option<DateTime<Utc>>,
}

/// A declaration with its lifecycle state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Declaration {
    pub id: Uuid,
    /// 预录入编号, assigned on first save.
    pub pre_entry_no: String,
    /// 海关编号, 18 digits, assigned on acceptance.
    pub customs_no: Option<String>,
    /// The domestic consignee/consignor's enterprise (境内收发货人).
    pub owner_id: Uuid,
    /// The enterprise that filed it: the owner or its customs broker (申报单位).
    pub declarant_id: Uuid,
    pub status: Status,
    pub content: DeclarationContent,
    /// When the goods were reported in the supervised area (运抵).
    pub arrived_at: Option<DateTime<Utc>>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub released_at: Option<DateTime<Utc>>,
    pub control: Option<ControlDecision>,
    /// The risk assessment at acceptance, with its explanation (officers only).
    #[schema(value_type = Option<Object>)]
    pub assessment: Option<serde_json::Value>,
    pub inspection: Option<InspectionResult>,
    pub pending: Option<PendingRequest>,
    pub two_step: Option<TwoStep>,
    /// Taxes, set at acceptance.
    #[serde(default)]
    pub tax: Option<TaxState>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// What happened, stored as the event row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    Created,
    Edited,
    Submitted,
    Accepted {
        customs_no: String,
    },
    AwaitingArrival,
    InspectionOrdered {
        decision: ControlDecision,
    },
    Arrived {
        arrived_at: DateTime<Utc>,
    },
    Inspected {
        result: InspectionResult,
    },
    Released,
    AdmittedToTerritory,
    AdmittedToMarket,
    Detained,
    Returned,
    RequestSubmitted {
        request: RequestKind,
    },
    RequestApproved {
        request: RequestKind,
    },
    RequestRejected {
        request: RequestKind,
    },
    Cancelled,
    Amended,
    CompleteDeclared,
    /// Ready for release, waiting for the taxes to be paid.
    AwaitingPayment,
    /// The taxes were paid.
    TaxPaid {
        reference: String,
    },
}

impl EventKind {
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Edited => "edited",
            EventKind::Submitted => "submitted",
            EventKind::Accepted { .. } => "accepted",
            EventKind::AwaitingArrival => "awaiting_arrival",
            EventKind::InspectionOrdered { .. } => "inspection_ordered",
            EventKind::Arrived { .. } => "arrived",
            EventKind::Inspected { .. } => "inspected",
            EventKind::Released => "released",
            EventKind::AdmittedToTerritory => "admitted_to_territory",
            EventKind::AdmittedToMarket => "admitted_to_market",
            EventKind::Detained => "detained",
            EventKind::Returned => "returned",
            EventKind::RequestSubmitted { .. } => "request_submitted",
            EventKind::RequestApproved { .. } => "request_approved",
            EventKind::RequestRejected { .. } => "request_rejected",
            EventKind::Cancelled => "cancelled",
            EventKind::Amended => "amended",
            EventKind::CompleteDeclared => "complete_declared",
            EventKind::AwaitingPayment => "awaiting_payment",
            EventKind::TaxPaid { .. } => "tax_paid",
        }
    }
}

/// One stored event: who, when, why, and the status before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    pub declaration_id: Uuid,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub reason: String,
    pub from: Status,
    pub to: Status,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// A request to change a declaration.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Replace the content of a draft or a returned declaration.
    Edit {
        content: Box<DeclarationContent>,
    },
    /// Submit a valid declaration. The app service has validated the content, allocated a
    /// customs number (kept on resubmission), assessed the risk and checked arrival.
    Submit {
        customs_no: String,
        arrived_at: Option<DateTime<Utc>>,
        control: Option<ControlDecision>,
        assessment: Option<serde_json::Value>,
        complete_due: Option<NaiveDate>,
        /// The taxes; `None` means nothing to secure.
        tax: Option<TaxState>,
    },
    /// The terminal reported the goods in the supervised area (运抵报告).
    ReportArrival,
    RecordInspection {
        result: InspectionResult,
        release: bool,
    },
    ReturnForCorrection,
    RequestCancellation,
    RequestAmendment {
        content: Box<DeclarationContent>,
    },
    DecideRequest {
        approve: bool,
    },
    CompleteDeclaration {
        content: Box<DeclarationContent>,
    },
    AdmitToMarket {
        passed: bool,
    },
    /// The taxes were paid (recorded by an officer or reported through the bank link).
    RecordPayment {
        reference: String,
    },
}

/// Why a command was refused; `rule` is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub rule: &'static str,
    pub message: String,
}

fn refuse(rule: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        rule,
        message: message.into(),
    }
}

/// Where goods ready for release go: to payment when their taxes are not secured; else
/// released, or for two-stage access "admitted to territory".
fn release_kind(d: &Declaration, taxes_secured: bool) -> EventKind {
    if !taxes_secured {
        EventKind::AwaitingPayment
    } else if d.content.head.modes.two_stage {
        EventKind::AdmittedToTerritory
    } else {
        EventKind::Released
    }
}

/// The status an event leads to from `from`.
pub fn status_after(from: Status, kind: &EventKind) -> Status {
    match kind {
        EventKind::Created => Status::Draft,
        EventKind::Edited
        | EventKind::Arrived { .. }
        | EventKind::RequestSubmitted { .. }
        | EventKind::RequestRejected { .. }
        | EventKind::Amended
        | EventKind::CompleteDeclared
        | EventKind::TaxPaid { .. } => from,
        EventKind::AwaitingPayment => Status::AwaitingPayment,
        EventKind::RequestApproved { .. } => from,
        EventKind::Submitted => Status::Submitted,
        EventKind::Accepted { .. } => Status::Accepted,
        EventKind::AwaitingArrival => Status::AwaitingArrival,
        EventKind::InspectionOrdered { .. } => Status::InspectionOrdered,
        EventKind::Inspected { .. } => Status::Inspected,
        EventKind::Released => Status::Released,
        EventKind::AdmittedToTerritory => Status::AdmittedToTerritory,
        EventKind::AdmittedToMarket => Status::AdmittedToMarket,
        EventKind::Detained => Status::Detained,
        EventKind::Returned => Status::Returned,
        EventKind::Cancelled => Status::Cancelled,
    }
}

impl Declaration {
    /// A new draft.
    pub fn draft(
        id: Uuid,
        pre_entry_no: String,
        owner_id: Uuid,
        declarant_id: Uuid,
        content: DeclarationContent,
        at: DateTime<Utc>,
    ) -> Declaration {
        Declaration {
            id,
            pre_entry_no,
            customs_no: None,
            owner_id,
            declarant_id,
            status: Status::Draft,
            content,
            arrived_at: None,
            submitted_at: None,
            accepted_at: None,
            released_at: None,
            control: None,
            assessment: None,
            inspection: None,
            pending: None,
            two_step: None,
            tax: None,
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    /// Guaranteed, paid or nothing due.
    pub fn taxes_secured(&self) -> bool {
        self.tax.as_ref().is_none_or(|t| t.secured)
    }

    /// Decides the events a command produces, or refuses it.
    pub fn decide(&self, cmd: &Command, at: DateTime<Utc>) -> Result<Vec<EventKind>, Refusal> {
        use Status::*;
        let s = self.status;
        if s.is_final() && !matches!(cmd, Command::ReportArrival) {
            return Err(refuse(
                "status.final",
                format!("the declaration is {} and cannot change", s.as_str()),
            ));
        }
        match cmd {
            Command::Edit { .. } => match s {
                Draft | Returned => Ok(vec![EventKind::Edited]),
                _ => Err(refuse(
                    "status.not_editable",
                    "only drafts and returned declarations are edited; request an amendment",
                )),
            },
            Command::Submit {
                customs_no,
                arrived_at,
                control,
                tax,
                ..
            } => {
                let secured = tax.as_ref().is_none_or(|t| t.secured);
                if !matches!(s, Draft | Returned) {
                    return Err(refuse(
                        "status.not_submittable",
                        format!("a {} declaration cannot be submitted", s.as_str()),
                    ));
                }
                if self.customs_no.as_ref().is_some_and(|n| n != customs_no) {
                    return Err(refuse(
                        "customs_no.immutable",
                        "the customs number does not change on resubmission",
                    ));
                }
                let mut ev = vec![
                    EventKind::Submitted,
                    EventKind::Accepted {
                        customs_no: customs_no.clone(),
                    },
                ];
                let arrived = self.arrived_at.or(*arrived_at);
                if let Some(a) = arrived.filter(|_| self.arrived_at.is_none()) {
                    ev.push(EventKind::Arrived { arrived_at: a });
                }
                if let Some(decision) = control {
                    ev.push(EventKind::InspectionOrdered {
                        decision: decision.clone(),
                    });
                } else if arrived.is_some() {
                    ev.push(release_kind(self, secured));
                } else {
                    ev.push(EventKind::AwaitingArrival);
                }
                Ok(ev)
            }
            Command::ReportArrival => {
                if self.arrived_at.is_some() {
                    return Ok(vec![]);
                }
                let mut ev = vec![EventKind::Arrived { arrived_at: at }];
                if s == AwaitingArrival {
                    ev.push(release_kind(self, self.taxes_secured()));
                }
                Ok(ev)
            }
            Command::RecordInspection { result, release } => {
                if s != InspectionOrdered {
                    return Err(refuse(
                        "status.not_under_inspection",
                        "no inspection is ordered",
                    ));
                }
                if self.arrived_at.is_none() {
                    return Err(refuse(
                        "inspection.not_arrived",
                        "the goods have not arrived in the supervised area",
                    ));
                }
                if !result.passed && *release && result.findings.trim().is_empty() {
                    return Err(refuse(
                        "inspection.findings_required",
                        "describe the findings",
                    ));
                }
                Ok(vec![
                    EventKind::Inspected {
                        result: result.clone(),
                    },
                    if *release {
                        release_kind(self, self.taxes_secured())
                    } else {
                        EventKind::Detained
                    },
                ])
            }
            Command::ReturnForCorrection => match s {
                Accepted | AwaitingArrival | InspectionOrdered | Inspected | AwaitingPayment => {
                    Ok(vec![EventKind::Returned])
                }
                _ => Err(refuse(
                    "status.not_returnable",
                    format!("a {} declaration cannot be returned", s.as_str()),
                )),
            },
            Command::RequestCancellation => match s {
                Draft | Returned => Ok(vec![EventKind::Cancelled]),
                _ if self.pending.is_some() => Err(refuse(
                    "request.pending",
                    "a request is already waiting for an officer",
                )),
                AwaitingArrival | InspectionOrdered | Accepted | AwaitingPayment => {
                    Ok(vec![EventKind::RequestSubmitted {
                        request: RequestKind::Cancellation,
                    }])
                }
                _ => Err(refuse(
                    "cancellation.too_late",
                    format!("a {} declaration cannot be cancelled", s.as_str()),
                )),
            },
            Command::RequestAmendment { .. } => match s {
                _ if self.pending.is_some() => Err(refuse(
                    "request.pending",
                    "a request is already waiting for an officer",
                )),
                Accepted | AwaitingArrival | InspectionOrdered | Released | AdmittedToTerritory
                | AwaitingPayment => Ok(vec![EventKind::RequestSubmitted {
                    request: RequestKind::Amendment,
                }]),
                Draft | Returned => Err(refuse(
                    "amendment.edit_instead",
                    "edit the declaration instead",
                )),
                _ => Err(refuse(
                    "amendment.not_possible",
                    format!("a {} declaration cannot be amended", s.as_str()),
                )),
            },
            Command::DecideRequest { approve } => {
                let Some(p) = &self.pending else {
                    return Err(refuse("request.none", "no request is waiting"));
                };
                if !approve {
                    return Ok(vec![EventKind::RequestRejected { request: p.kind }]);
                }
                if p.kind == RequestKind::Cancellation && s.is_released() {
                    return Err(refuse(
                        "cancellation.too_late",
                        "the goods were released after the request; reject it instead",
                    ));
                }
                Ok(match p.kind {
                    RequestKind::Cancellation => vec![
                        EventKind::RequestApproved { request: p.kind },
                        EventKind::Cancelled,
                    ],
                    RequestKind::Amendment => vec![
                        EventKind::RequestApproved { request: p.kind },
                        EventKind::Amended,
                    ],
                })
            }
            Command::CompleteDeclaration { .. } => match &self.two_step {
                None => Err(refuse(
                    "two_step.not_summary",
                    "this is not a two-step summary declaration",
                )),
                Some(t) if t.completed_at.is_some() => Err(refuse(
                    "two_step.already_complete",
                    "the complete declaration was already filed",
                )),
                Some(_) if !s.is_released() => Err(refuse(
                    "two_step.not_released",
                    "the complete declaration follows the release on the summary",
                )),
                Some(_) => Ok(vec![EventKind::CompleteDeclared]),
            },
            Command::RecordPayment { reference } => {
                if self.taxes_secured() {
                    return Err(refuse(
                        "tax.nothing_to_pay",
                        "no unpaid taxes are due on this declaration",
                    ));
                }
                if reference.trim().is_empty() {
                    return Err(refuse(
                        "tax.payment_reference",
                        "name the payment (bank transfer or receipt number)",
                    ));
                }
                let mut ev = vec![EventKind::TaxPaid {
                    reference: reference.trim().to_string(),
                }];
                if s == AwaitingPayment {
                    let mut paid = self.clone();
                    if let Some(t) = paid.tax.as_mut() {
                        t.secured = true;
                    }
                    ev.push(release_kind(&paid, true));
                }
                Ok(ev)
            }
            Command::AdmitToMarket { passed } => {
                if s != AdmittedToTerritory {
                    return Err(refuse(
                        "two_stage.not_admitted",
                        "only goods admitted to territory are checked for the market",
                    ));
                }
                Ok(vec![if *passed {
                    EventKind::AdmittedToMarket
                } else {
                    EventKind::Detained
                }])
            }
        }
    }

    /// Folds one event into the state.
    pub fn apply(&mut self, kind: &EventKind, cmd: &Command, reason: &str, at: DateTime<Utc>) {
        self.status = status_after(self.status, kind);
        self.updated_at = at;
        match kind {
            EventKind::Edited => {
                if let Command::Edit { content } = cmd {
                    self.content = (**content).clone();
                }
            }
            EventKind::Submitted => self.submitted_at = Some(at),
            EventKind::Accepted { customs_no } => {
                self.customs_no = Some(customs_no.clone());
                self.accepted_at = Some(at);
                self.control = None;
                self.inspection = None;
                if let Command::Submit {
                    assessment,
                    complete_due,
                    tax,
                    ..
                } = cmd
                {
                    self.assessment = assessment.clone();
                    self.tax = tax.clone();
                    if let (Some(due), true) = (complete_due, self.content.head.modes.two_step) {
                        self.two_step = Some(TwoStep {
                            complete_due: *due,
                            completed_at: None,
                        });
                    }
                }
            }
            EventKind::Arrived {
                arrived_at: arrived,
            } => self.arrived_at = Some(*arrived),
            EventKind::InspectionOrdered { decision } => self.control = Some(decision.clone()),
            EventKind::Inspected { result } => self.inspection = Some(result.clone()),
            EventKind::Released | EventKind::AdmittedToTerritory => self.released_at = Some(at),
            EventKind::TaxPaid { reference } => {
                if let Some(t) = self.tax.as_mut() {
                    t.secured = true;
                    t.paid_at = Some(at);
                    t.payment_reference = Some(reference.clone());
                }
            }
            EventKind::RequestSubmitted { request } => {
                let content = match cmd {
                    Command::RequestAmendment { content } => Some(content.clone()),
                    _ => None,
                };
                self.pending = Some(PendingRequest {
                    kind: *request,
                    reason: reason.to_string(),
                    requested_at: at,
                    content,
                });
            }
            EventKind::RequestRejected { .. } => self.pending = None,
            EventKind::Amended => {
                if let Some(c) = self.pending.take().and_then(|p| p.content) {
                    self.content = *c;
                }
            }
            EventKind::Cancelled => self.pending = None,
            EventKind::CompleteDeclared => {
                if let Command::CompleteDeclaration { content } = cmd {
                    self.content = (**content).clone();
                }
                if let Some(t) = self.two_step.as_mut() {
                    t.completed_at = Some(at);
                }
            }
            _ => {}
        }
    }

    /// Decides and applies a command, returning the events to store. The state changes
    /// only when the command is accepted.
    pub fn handle(
        &mut self,
        cmd: &Command,
        actor: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<Event>, Refusal> {
        let kinds = self.decide(cmd, at)?;
        let mut events = Vec::with_capacity(kinds.len());
        for kind in kinds {
            let from = self.status;
            self.apply(&kind, cmd, reason, at);
            events.push(Event {
                declaration_id: self.id,
                at,
                actor: actor.to_string(),
                reason: reason.to_string(),
                from,
                to: self.status,
                kind,
            });
        }
        if !events.is_empty() {
            self.version += 1;
        }
        Ok(events)
    }

    /// Days a two-step complete declaration is overdue on `today` (0 when not due or done).
    pub fn complete_overdue_days(&self, today: NaiveDate) -> i64 {
        match &self.two_step {
            Some(t) if t.completed_at.is_none() && today > t.complete_due => {
                (today - t.complete_due).num_days()
            }
            _ => 0,
        }
    }
}

/// The 18-digit customs number: 4-digit declaring customs + 4-digit year of acceptance +
/// I/E flag (1 import, 0 export) + 9-digit sequence (RULES.md §1).
pub fn customs_number(
    customs: &str,
    year: i32,
    direction: crate::codes::Direction,
    seq: u64,
) -> String {
    format!("{customs}{year:04}{}{seq:09}", direction.flag())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + s, 0).unwrap()
    }

    fn draft(two_stage: bool, two_step: bool) -> Declaration {
        let mut c = DeclarationContent::default();
        c.head.modes.two_stage = two_stage;
        c.head.modes.two_step = two_step;
        Declaration::draft(
            Uuid::from_u128(1),
            "P1".into(),
            Uuid::from_u128(2),
            Uuid::from_u128(2),
            c,
            t(0),
        )
    }

    fn submit(arrived: bool, control: bool) -> Command {
        Command::Submit {
            customs_no: "530020261000000001".into(),
            arrived_at: arrived.then(|| t(1)),
            control: control.then(|| ControlDecision {
                action: "physical_inspection".into(),
                reason: "test".into(),
            }),
            assessment: None,
            tax: None,
            complete_due: Some(NaiveDate::from_ymd_opt(2026, 12, 11).unwrap()),
        }
    }

    #[test]
    fn advance_declaration_is_released_by_the_arrival_report() {
        let mut d = draft(false, false);
        let ev = d
            .handle(&submit(false, false), "importer", "submit", t(10))
            .unwrap();
        assert_eq!(d.status, Status::AwaitingArrival);
        assert_eq!(
            ev.iter().map(|e| e.kind.name()).collect::<Vec<_>>(),
            ["submitted", "accepted", "awaiting_arrival"]
        );
        let ev = d
            .handle(&Command::ReportArrival, "terminal", "arrival report", t(20))
            .unwrap();
        assert_eq!(d.status, Status::Released);
        assert_eq!(ev.last().unwrap().kind, EventKind::Released);
        assert_eq!(d.released_at, Some(t(20)));
        // A second arrival report changes nothing.
        assert!(
            d.handle(&Command::ReportArrival, "terminal", "again", t(30))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn selected_goods_wait_for_the_inspection_result() {
        let mut d = draft(false, false);
        d.handle(&submit(false, true), "importer", "submit", t(10))
            .unwrap();
        assert_eq!(d.status, Status::InspectionOrdered);
        d.handle(&Command::ReportArrival, "terminal", "arrived", t(20))
            .unwrap();
        assert_eq!(
            d.status,
            Status::InspectionOrdered,
            "arrival does not release selected goods"
        );
        let result = InspectionResult {
            passed: true,
            findings: String::new(),
            attachments: vec![],
        };
        d.handle(
            &Command::RecordInspection {
                result,
                release: true,
            },
            "officer",
            "matches",
            t(30),
        )
        .unwrap();
        assert_eq!(d.status, Status::Released);
    }

    #[test]
    fn inspection_needs_the_goods_and_two_stage_stops_at_territory() {
        let mut d = draft(true, false);
        d.handle(&submit(false, true), "importer", "submit", t(10))
            .unwrap();
        let result = InspectionResult {
            passed: true,
            findings: String::new(),
            attachments: vec![],
        };
        let refused = d.handle(
            &Command::RecordInspection {
                result: result.clone(),
                release: true,
            },
            "officer",
            "x",
            t(11),
        );
        assert_eq!(refused.unwrap_err().rule, "inspection.not_arrived");
        d.handle(&Command::ReportArrival, "terminal", "arrived", t(20))
            .unwrap();
        d.handle(
            &Command::RecordInspection {
                result,
                release: true,
            },
            "officer",
            "ok",
            t(30),
        )
        .unwrap();
        assert_eq!(d.status, Status::AdmittedToTerritory);
        d.handle(
            &Command::AdmitToMarket { passed: true },
            "officer",
            "conformity check passed",
            t(40),
        )
        .unwrap();
        assert_eq!(d.status, Status::AdmittedToMarket);
    }

    #[test]
    fn cancellation_needs_an_officer_once_accepted() {
        let mut d = draft(false, false);
        d.handle(&submit(false, false), "importer", "submit", t(10))
            .unwrap();
        d.handle(
            &Command::RequestCancellation,
            "importer",
            "order cancelled by buyer",
            t(11),
        )
        .unwrap();
        assert_eq!(d.status, Status::AwaitingArrival);
        assert_eq!(d.pending.as_ref().unwrap().kind, RequestKind::Cancellation);
        d.handle(
            &Command::DecideRequest { approve: true },
            "officer",
            "approved",
            t(12),
        )
        .unwrap();
        assert_eq!(d.status, Status::Cancelled);
        assert!(
            d.handle(&Command::ReportArrival, "terminal", "late", t(13))
                .unwrap()
                .iter()
                .all(|e| e.kind.name() == "arrived")
        );
        assert_eq!(d.status, Status::Cancelled);
    }

    #[test]
    fn unpaid_taxes_hold_the_release_until_payment() {
        let mut d = draft(false, false);
        let mut cmd = submit(true, false);
        if let Command::Submit { tax, .. } = &mut cmd {
            *tax = Some(TaxState {
                method: TaxMethod::PayBeforeRelease,
                total_fen: 1_234_567,
                secured: false,
                reason: "quota short".into(),
                breakdown: None,
                paid_at: None,
                payment_reference: None,
                reservation: None,
            });
        }
        d.handle(&cmd, "importer", "submit", t(10)).unwrap();
        assert_eq!(d.status, Status::AwaitingPayment);
        let ev = d
            .handle(
                &Command::RecordPayment {
                    reference: "ICBC-20261127-001".into(),
                },
                "officer",
                "paid",
                t(20),
            )
            .unwrap();
        assert_eq!(
            ev.iter().map(|e| e.kind.name()).collect::<Vec<_>>(),
            ["tax_paid", "released"]
        );
        assert!(d.taxes_secured());
        assert_eq!(
            d.tax.as_ref().unwrap().payment_reference.as_deref(),
            Some("ICBC-20261127-001")
        );
    }

    #[test]
    fn two_step_completion_is_due_and_overdue() {
        let mut d = draft(false, true);
        d.handle(&submit(true, false), "importer", "summary", t(10))
            .unwrap();
        assert_eq!(d.status, Status::Released);
        let due = d.two_step.as_ref().unwrap().complete_due;
        assert_eq!(d.complete_overdue_days(due), 0);
        assert_eq!(d.complete_overdue_days(due + chrono::Duration::days(3)), 3);
        d.handle(
            &Command::CompleteDeclaration {
                content: Box::new(d.content.clone()),
            },
            "importer",
            "complete",
            t(20),
        )
        .unwrap();
        assert_eq!(d.complete_overdue_days(due + chrono::Duration::days(3)), 0);
        let again = d.handle(
            &Command::CompleteDeclaration {
                content: Box::new(d.content.clone()),
            },
            "importer",
            "again",
            t(21),
        );
        assert_eq!(again.unwrap_err().rule, "two_step.already_complete");
    }

    fn command() -> impl Strategy<Value = Command> {
        prop_oneof![
            Just(Command::Edit {
                content: Box::default()
            }),
            (any::<bool>(), any::<bool>()).prop_map(|(a, c)| submit(a, c)),
            (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(a, c, secured)| {
                let mut cmd = submit(a, c);
                if let Command::Submit { tax, .. } = &mut cmd {
                    *tax = Some(TaxState {
                        method: if secured {
                            TaxMethod::Consolidated
                        } else {
                            TaxMethod::PayBeforeRelease
                        },
                        total_fen: 901_000,
                        secured,
                        reason: "test".into(),
                        breakdown: None,
                        paid_at: None,
                        payment_reference: None,
                        reservation: None,
                    });
                }
                cmd
            }),
            Just(Command::RecordPayment {
                reference: "BANK-1".into()
            }),
            Just(Command::ReportArrival),
            (any::<bool>(), any::<bool>()).prop_map(|(passed, release)| {
                Command::RecordInspection {
                    result: InspectionResult {
                        passed,
                        findings: if passed {
                            String::new()
                        } else {
                            "mis-declared".into()
                        },
                        attachments: vec![],
                    },
                    release,
                }
            }),
            Just(Command::ReturnForCorrection),
            Just(Command::RequestCancellation),
            Just(Command::RequestAmendment {
                content: Box::default()
            }),
            any::<bool>().prop_map(|approve| Command::DecideRequest { approve }),
            Just(Command::CompleteDeclaration {
                content: Box::default()
            }),
            any::<bool>().prop_map(|passed| Command::AdmitToMarket { passed }),
        ]
    }

    fn legal(from: Status, to: Status) -> bool {
        use Status::*;
        from == to
            || matches!(
                (from, to),
                (Draft | Returned, Submitted)
                    | (Submitted, Accepted)
                    | (
                        Accepted,
                        InspectionOrdered | AwaitingArrival | Released | AdmittedToTerritory
                    )
                    | (
                        AwaitingArrival,
                        Released | AdmittedToTerritory | Returned | Cancelled
                    )
                    | (InspectionOrdered, Inspected | Returned | Cancelled)
                    | (Inspected, Released | AdmittedToTerritory | Detained)
                    | (Draft | Returned, Cancelled)
                    | (AdmittedToTerritory, AdmittedToMarket | Detained)
                    | (Accepted | AwaitingArrival | Inspected, AwaitingPayment)
                    | (
                        AwaitingPayment,
                        Released | AdmittedToTerritory | Returned | Cancelled
                    )
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn no_command_sequence_reaches_an_illegal_state(
            two_stage in any::<bool>(),
            two_step in any::<bool>(),
            cmds in proptest::collection::vec(command(), 0..25),
        ) {
            let mut d = draft(two_stage, two_step);
            let mut releases = 0;
            let mut customs_no: Option<String> = None;
            for (i, cmd) in cmds.iter().enumerate() {
                let before = d.clone();
                match d.handle(cmd, "actor", "reason", t(100 + i as i64)) {
                    Err(_) => prop_assert_eq!(&d, &before, "a refused command changes nothing"),
                    Ok(events) => {
                        let mut status = before.status;
                        for e in &events {
                            prop_assert_eq!(e.from, status);
                            prop_assert!(legal(e.from, e.to), "illegal {:?} -> {:?} by {:?}", e.from, e.to, e.kind);
                            status = e.to;
                            if matches!(e.kind, EventKind::Released | EventKind::AdmittedToTerritory) {
                                releases += 1;
                            }
                        }
                        prop_assert!(!before.status.is_final() || events.iter().all(|e| e.from == e.to),
                            "a final status never changes");
                    }
                }
                prop_assert!(releases <= 1, "released at most once");
                if let Some(n) = &customs_no {
                    prop_assert_eq!(d.customs_no.as_ref(), Some(n), "the customs number never changes");
                }
                customs_no = d.customs_no.clone();
                if d.status.is_released() {
                    prop_assert!(d.arrived_at.is_some(), "goods are released only after they arrived");
                    prop_assert!(d.taxes_secured(), "goods are released only with their taxes secured");
                    prop_assert!(d.customs_no.is_some() && d.accepted_at.is_some());
                    prop_assert!(d.released_at.is_some());
                }
                if d.status == Status::InspectionOrdered {
                    prop_assert!(d.control.is_some());
                }
            }
        }
    }
}
