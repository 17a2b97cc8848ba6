//! Lifecycle steps after acceptance: payment, cancellation and amendment requests and their decisions, returns, inspection results, market admission (两段准入) and the complete declaration (两步申报).

use super::*;

impl App {
    /// The payment step of pay-before-release (see `App::record_payment`).
    pub(in crate::app) async fn transition_payment(
        &self,
        ctx: &Ctx,
        id: Uuid,
        reference: &str,
    ) -> AppResult<Reply> {
        self.transition(
            ctx,
            id,
            Step {
                roles: &[Role::Officer],
                cmd: Command::RecordPayment {
                    reference: reference.to_string(),
                },
                reason: "taxes paid",
                action: "declaration.tax_paid",
                replace_containers: false,
            },
        )
        .await
    }

    pub async fn request_cancellation(
        &self,
        ctx: &Ctx,
        id: Uuid,
        reason: &str,
    ) -> AppResult<Reply> {
        let reason = require_reason(reason)?;
        self.transition(
            ctx,
            id,
            Step {
                roles: &[Role::EnterpriseUser, Role::Broker],
                cmd: Command::RequestCancellation,
                reason: &reason,
                action: "declaration.cancel_request",
                replace_containers: false,
            },
        )
        .await
    }

    pub async fn request_amendment(
        &self,
        ctx: &Ctx,
        id: Uuid,
        input: &AmendmentInput,
    ) -> AppResult<Reply> {
        let reason = require_reason(&input.reason)?;
        let d = self.visible_declaration(ctx, id).await?;
        let owner = self
            .store
            .enterprise(d.owner_id)
            .await?
            .ok_or_else(|| AppError::NotFound("owner".into()))?;
        self.validate_complete(&input.content, &owner)?;
        self.transition(
            ctx,
            id,
            Step {
                roles: &[Role::EnterpriseUser, Role::Broker],
                cmd: Command::RequestAmendment {
                    content: Box::new(input.content.clone()),
                },
                reason: &reason,
                action: "declaration.amend_request",
                replace_containers: false,
            },
        )
        .await
    }

    pub async fn decide_request(
        &self,
        ctx: &Ctx,
        id: Uuid,
        input: &DecisionInput,
    ) -> AppResult<Reply> {
        let reason = require_reason(&input.reason)?;
        self.transition(
            ctx,
            id,
            Step {
                roles: &[Role::Officer],
                cmd: Command::DecideRequest {
                    approve: input.approve,
                },
                reason: &reason,
                action: "declaration.decide_request",
                replace_containers: input.approve,
            },
        )
        .await
    }

    pub async fn return_declaration(&self, ctx: &Ctx, id: Uuid, reason: &str) -> AppResult<Reply> {
        let reason = require_reason(reason)?;
        self.transition(
            ctx,
            id,
            Step {
                roles: &[Role::Officer],
                cmd: Command::ReturnForCorrection,
                reason: &reason,
                action: "declaration.return",
                replace_containers: false,
            },
        )
        .await
    }

    pub async fn record_inspection(
        &self,
        ctx: &Ctx,
        id: Uuid,
        input: &InspectionInput,
    ) -> AppResult<Reply> {
        let reason = require_reason(&input.reason)?;
        let cmd = Command::RecordInspection {
            result: input.result.clone(),
            release: input.release,
        };
        self.transition(
            ctx,
            id,
            Step {
                roles: &[Role::Officer],
                cmd,
                reason: &reason,
                action: "declaration.inspection",
                replace_containers: false,
            },
        )
        .await
    }

    pub async fn admit_to_market(
        &self,
        ctx: &Ctx,
        id: Uuid,
        input: &MarketAdmissionInput,
    ) -> AppResult<Reply> {
        let reason = require_reason(&input.reason)?;
        self.transition(
            ctx,
            id,
            Step {
                roles: &[Role::Officer],
                cmd: Command::AdmitToMarket {
                    passed: input.passed,
                },
                reason: &reason,
                action: "declaration.market_admission",
                replace_containers: false,
            },
        )
        .await
    }

    pub async fn complete_declaration(
        &self,
        ctx: &Ctx,
        id: Uuid,
        input: &CompleteInput,
    ) -> AppResult<Reply> {
        let d = self.visible_declaration(ctx, id).await?;
        let owner = self
            .store
            .enterprise(d.owner_id)
            .await?
            .ok_or_else(|| AppError::NotFound("owner".into()))?;
        let mut content = input.content.clone();
        // The complete declaration keeps the summary's modes and bill.
        content.head.modes = d.content.head.modes;
        self.validate_complete(&content, &owner)?;
        self.transition(
            ctx,
            id,
            Step {
                roles: &[Role::EnterpriseUser, Role::Broker],
                cmd: Command::CompleteDeclaration {
                    content: Box::new(content),
                },
                reason: "complete declaration (完整申报)",
                action: "declaration.complete",
                replace_containers: true,
            },
        )
        .await
    }
}
