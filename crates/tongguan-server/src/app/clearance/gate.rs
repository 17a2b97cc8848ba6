//! Gate decisions (M3) from the in-memory index, and control instructions (布控指令), compiled into the rule set in force.

use super::*;

impl App {
    /// The gate index entries of a container.
    pub(in crate::app) fn clearance_gate_entries(&self, cn: &str) -> Vec<GateEntry> {
        let gate = match self.clearance.gate.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        gate.get(cn).cloned().unwrap_or_default()
    }

    /// What a terminal does with a container, answered from memory (M3).
    pub fn gate_decision(&self, ctx: &Ctx, container: &str) -> AppResult<GateDecision> {
        require_role(ctx, &[Role::TerminalOperator, Role::Officer, Role::Admin])?;
        let cn = crate::app::container_no(container)?;
        let gate = match self.clearance.gate.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let entries = gate.get(&cn).cloned().unwrap_or_default();
        drop(gate);
        if ctx.actor.role == Role::TerminalOperator && !entries.is_empty() {
            let ports = self.operator_ports(&ctx.actor);
            if !entries.iter().any(|e| ports.contains(&e.port)) {
                security_denied(ctx, &format!("container/{cn}"));
                return Err(AppError::NotFound(format!(
                    "container {cn} at your terminals"
                )));
            }
        }
        Ok(decide_gate(cn, &entries))
    }

    pub fn instruction_view(row: &InstructionRow) -> AppResult<InstructionView> {
        Ok(InstructionView {
            instruction: serde_json::from_str(&row.body)
                .map_err(|e| AppError::Internal(e.to_string()))?,
            active: row.active,
            district: row.district.clone(),
            created_by: row.created_by.clone(),
        })
    }

    pub async fn list_instructions(&self, ctx: &Ctx) -> AppResult<Vec<InstructionView>> {
        require_role(ctx, &[Role::Officer, Role::Admin])?;
        self.store
            .instructions(false)
            .await?
            .iter()
            .map(Self::instruction_view)
            .collect()
    }

    /// Officers create control instructions; the compiled set is swapped after commit.
    pub async fn create_instruction(
        &self,
        ctx: &Ctx,
        input: &InstructionInput,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::Officer])?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let now = self.now();
        let instr = ControlInstruction {
            id: new_id(),
            conditions: input.conditions.clone(),
            action: input.action,
            selection_rate: input.selection_rate,
            valid_from: input.valid_from,
            valid_until: input.valid_until,
            reason: input.reason.trim().to_string(),
            version: 1,
        };
        tongguan_risk::validate(&instr)?;
        let row = InstructionRow {
            id: instr.id,
            version: 1,
            active: true,
            district: ctx
                .actor
                .district
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            created_by: ctx.actor_label(),
            created_at: now,
            updated_at: now,
            body: serde_json::to_string(&instr).map_err(|e| AppError::Internal(e.to_string()))?,
        };
        let view = Self::instruction_view(&row)?;
        let audit = self.audit_draft(
            ctx,
            "instruction.create",
            &format!("instruction/{}", instr.id),
            &instr.reason,
        );
        let reply = self
            .commit_reply(
                ctx,
                Changeset::new(vec![Op::InsertInstruction(row)], audit),
                201,
                &view,
                None,
            )
            .await?;
        self.recompile_rules().await?;
        Ok(reply)
    }

    /// Changes (when `input` is given) or revokes an instruction.
    pub async fn change_instruction(
        &self,
        ctx: &Ctx,
        id: Uuid,
        input: Option<&InstructionInput>,
        revoke_reason: Option<&str>,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::Officer])?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let row = self
            .store
            .instruction(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("control instruction {id}")))?;
        let mut instr: ControlInstruction =
            serde_json::from_str(&row.body).map_err(|e| AppError::Internal(e.to_string()))?;
        if !row.active {
            return Err(invalid(
                "id",
                "instruction.revoked",
                "this instruction was revoked",
            ));
        }
        let (action, reason) = match (input, revoke_reason) {
            (Some(i), _) => {
                if let Some(v) = i.version
                    && v != row.version
                {
                    return Err(invalid(
                        "version",
                        "version.stale",
                        format!("the instruction is at version {}", row.version),
                    ));
                }
                instr.conditions = i.conditions.clone();
                instr.action = i.action;
                instr.selection_rate = i.selection_rate;
                instr.valid_from = i.valid_from;
                instr.valid_until = i.valid_until;
                instr.reason = i.reason.trim().to_string();
                instr.version = row.version + 1;
                tongguan_risk::validate(&instr)?;
                ("instruction.change", instr.reason.clone())
            }
            (None, Some(r)) => ("instruction.revoke", require_reason(r)?),
            (None, None) => return Err(invalid("reason", "reason.required", "give the reason")),
        };
        let next = InstructionRow {
            version: row.version + 1,
            active: input.is_some(),
            updated_at: self.now(),
            body: serde_json::to_string(&instr).map_err(|e| AppError::Internal(e.to_string()))?,
            ..row.clone()
        };
        let view = Self::instruction_view(&next)?;
        let audit = self.audit_draft(ctx, action, &format!("instruction/{id}"), &reason);
        let reply = self
            .commit_reply(
                ctx,
                Changeset::new(
                    vec![Op::UpdateInstruction {
                        row: next,
                        expected_version: row.version,
                    }],
                    audit,
                ),
                200,
                &view,
                None,
            )
            .await?;
        self.recompile_rules().await?;
        Ok(reply)
    }

    /// Evaluates the current instruction set on a stored declaration (officers), to see why
    /// it would be selected now.
    pub fn rules_in_force(&self) -> Arc<RuleSet> {
        self.clearance.rules()
    }
}
