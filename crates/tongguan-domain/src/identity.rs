//! Identities and roles (用户与角色), and the pure access rules every app service applies.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Violation;
use crate::codes::CustomsDistrictCode;

/// What a user is allowed to be in the system (MEASURES.md, "Who uses it").
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
pub enum Role {
    /// Staff of an importer/exporter (境内收发货人), bound to that one enterprise.
    EnterpriseUser,
    /// Staff of a customs broker (报关企业), acting only for enterprises that authorised it.
    Broker,
    /// Customs officer (海关关员), bound to a customs district (关区).
    Officer,
    /// Terminal, port, airport or rail operator (码头/场站/铁路), bound to terminals.
    TerminalOperator,
    /// System operator: reference data, users, configuration.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::EnterpriseUser => "enterprise_user",
            Role::Broker => "broker",
            Role::Officer => "officer",
            Role::TerminalOperator => "terminal_operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Violation> {
        match s {
            "enterprise_user" => Ok(Role::EnterpriseUser),
            "broker" => Ok(Role::Broker),
            "officer" => Ok(Role::Officer),
            "terminal_operator" => Ok(Role::TerminalOperator),
            "admin" => Ok(Role::Admin),
            other => Err(Violation::rule(
                "role.unknown",
                format!(
                    "'{other}' is not a role; use enterprise_user, broker, officer, terminal_operator or admin"
                ),
            )),
        }
    }
}

/// The authenticated actor of a request, as app services see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Actor {
    pub user_id: Uuid,
    pub username: String,
    pub role: Role,
    /// The enterprise an enterprise user works for, or the broker's own enterprise.
    pub enterprise_id: Option<Uuid>,
    /// The officer's customs district.
    #[schema(value_type = Option<String>)]
    pub district: Option<CustomsDistrictCode>,
    /// Terminal codes a terminal operator acts for.
    pub terminals: Vec<String>,
}

/// A system actor for work the server does on its own (demo seeding, migrations).
pub fn system_actor() -> Actor {
    Actor {
        user_id: Uuid::nil(),
        username: "system".to_string(),
        role: Role::Admin,
        enterprise_id: None,
        district: None,
        terminals: Vec::new(),
    }
}

/// Which enterprises' data an actor may see, given the principals that authorised it as
/// broker (委托报关). Admins and officers see all (officers are limited by district on
/// declarations, not on the registry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnterpriseScope {
    All,
    Only(Vec<Uuid>),
    None,
}

impl EnterpriseScope {
    pub fn allows(&self, enterprise: Uuid) -> bool {
        match self {
            EnterpriseScope::All => true,
            EnterpriseScope::Only(ids) => ids.contains(&enterprise),
            EnterpriseScope::None => false,
        }
    }
}

/// The enterprises whose data `actor` may read or act on. `principals` are the enterprises
/// that currently authorise the actor's enterprise as their customs broker.
pub fn enterprise_scope(actor: &Actor, principals: &[Uuid]) -> EnterpriseScope {
    match actor.role {
        Role::Admin | Role::Officer => EnterpriseScope::All,
        Role::EnterpriseUser => match actor.enterprise_id {
            Some(id) => EnterpriseScope::Only(vec![id]),
            None => EnterpriseScope::None,
        },
        Role::Broker => {
            let mut ids: Vec<Uuid> = actor.enterprise_id.into_iter().collect();
            ids.extend(principals.iter().copied());
            EnterpriseScope::Only(ids)
        }
        Role::TerminalOperator => EnterpriseScope::None,
    }
}

/// Checks that a role is given the binding it needs and no other.
pub fn check_binding(
    role: Role,
    enterprise: Option<Uuid>,
    district: Option<&CustomsDistrictCode>,
    terminals: &[String],
) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut need = |ok: bool, path: &str, rule: &str, msg: &str| {
        if !ok {
            let mut v = Violation::rule(rule, msg);
            v.path = path.to_string();
            out.push(v);
        }
    };
    let needs_enterprise = matches!(role, Role::EnterpriseUser | Role::Broker);
    need(
        needs_enterprise == enterprise.is_some(),
        "enterprise_id",
        "user.enterprise_binding",
        if needs_enterprise {
            "enterprise users and brokers are bound to exactly one enterprise"
        } else {
            "only enterprise users and brokers are bound to an enterprise"
        },
    );
    let needs_district = role == Role::Officer;
    need(
        needs_district == district.is_some(),
        "district",
        "user.district_binding",
        if needs_district {
            "officers are bound to a customs district"
        } else {
            "only officers are bound to a customs district"
        },
    );
    let needs_terminals = role == Role::TerminalOperator;
    need(
        needs_terminals != terminals.is_empty(),
        "terminals",
        "user.terminal_binding",
        if needs_terminals {
            "terminal operators are bound to at least one terminal"
        } else {
            "only terminal operators are bound to terminals"
        },
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enterprise_user_sees_only_own_enterprise() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        let actor = Actor {
            user_id: Uuid::from_u128(9),
            username: "a".into(),
            role: Role::EnterpriseUser,
            enterprise_id: Some(a),
            district: None,
            terminals: vec![],
        };
        let scope = enterprise_scope(&actor, &[b]);
        assert!(scope.allows(a));
        assert!(!scope.allows(b), "principals only count for brokers");
    }

    #[test]
    fn broker_sees_principals() {
        let broker = Uuid::from_u128(3);
        let p = Uuid::from_u128(4);
        let other = Uuid::from_u128(5);
        let actor = Actor {
            user_id: Uuid::from_u128(9),
            username: "b".into(),
            role: Role::Broker,
            enterprise_id: Some(broker),
            district: None,
            terminals: vec![],
        };
        let scope = enterprise_scope(&actor, &[p]);
        assert!(scope.allows(p) && scope.allows(broker) && !scope.allows(other));
    }

    #[test]
    fn bindings_are_checked() {
        assert!(check_binding(Role::Admin, None, None, &[]).is_empty());
        let v = check_binding(Role::Officer, Some(Uuid::nil()), None, &[]);
        let rules: Vec<_> = v.iter().map(|v| v.rule.as_str()).collect();
        assert_eq!(rules, ["user.enterprise_binding", "user.district_binding"]);
    }
}
