//! The demo data set (`tongguan serve --demo`): a realistic cast for trying the product.
//! Enterprises use valid GB 32100 codes with an invented organisation-code part; they do
//! not name real companies.

use chrono::NaiveDate;
use tongguan_domain::enterprise::{EnterpriseInput, NewEnterprise};
use tongguan_domain::identity::system_actor;
use tongguan_store::{BrokerAuthorisation, Changeset, Op};
use uuid::Uuid;

use super::identity::NewUser;
use super::{App, AppError, AppResult, Ctx, new_id};

/// Password of every demo user; printed at start. Demo data only.
pub const DEMO_PASSWORD: &str = "tongguan-demo";

/// One demo login, printed for the user.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoLogin {
    pub username: String,
    pub role: String,
    pub who: String,
    pub password: String,
    pub token: String,
}

struct DemoEnterprise {
    key: &'static str,
    name: &'static str,
    uscc: &'static str,
    customs_code: &'static str,
    credit_level: &'static str,
    tags: &'static [&'static str],
}

const ENTERPRISES: &[DemoEnterprise] = &[
    DemoEnterprise {
        key: "importer",
        name: "深圳前海示范进口贸易有限公司 (Qianhai Demo Import Trading Co.)",
        uscc: "91440300MA5F000181",
        customs_code: "4403160001",
        credit_level: "advanced_certified",
        tags: &["specialised_sme", "strong_enterprise_plan"],
    },
    DemoEnterprise {
        key: "exporter",
        name: "深圳龙华示范电子出口有限公司 (Longhua Demo Electronics Export Co.)",
        uscc: "91440300MA5F00026U",
        customs_code: "4403960002",
        credit_level: "routine",
        tags: &["belt_and_road"],
    },
    DemoEnterprise {
        key: "dishonest",
        name: "深圳示范失信贸易有限公司 (Demo Dishonest Trading Co.)",
        uscc: "91440300MA5F00034N",
        customs_code: "4403960003",
        credit_level: "dishonest",
        tags: &[],
    },
    DemoEnterprise {
        key: "broker",
        name: "深圳盐田示范报关行有限公司 (Yantian Demo Customs Brokerage Co.)",
        uscc: "91440300MA5F00042H",
        customs_code: "4403980004",
        credit_level: "certified",
        tags: &["customs_broker"],
    },
];

struct DemoUser {
    username: &'static str,
    role: &'static str,
    who: &'static str,
    /// Key into [`ENTERPRISES`].
    enterprise: Option<&'static str>,
    district: Option<&'static str>,
    terminals: &'static [&'static str],
}

const fn demo_user(
    username: &'static str,
    role: &'static str,
    who: &'static str,
    enterprise: Option<&'static str>,
    district: Option<&'static str>,
    terminals: &'static [&'static str],
) -> DemoUser {
    DemoUser {
        username,
        role,
        who,
        enterprise,
        district,
        terminals,
    }
}

/// Shenzhen Customs 5300 and two subordinate customs with port duty: 5316 Dapeng (Yantian
/// port) and 5304 Shekou; a terminal at Yantian (UN/LOCODE CNYTN).
const USERS: &[DemoUser] = &[
    demo_user("admin", "admin", "System administrator", None, None, &[]),
    demo_user(
        "importer",
        "enterprise_user",
        "Importer clerk (AEO importer)",
        Some("importer"),
        None,
        &[],
    ),
    demo_user(
        "exporter",
        "enterprise_user",
        "Exporter clerk (registered exporter)",
        Some("exporter"),
        None,
        &[],
    ),
    demo_user(
        "dishonest",
        "enterprise_user",
        "Clerk of the dishonest-credit enterprise",
        Some("dishonest"),
        None,
        &[],
    ),
    demo_user(
        "broker",
        "broker",
        "Broker declarant (authorised by the importer)",
        Some("broker"),
        None,
        &[],
    ),
    demo_user(
        "officer.5300",
        "officer",
        "Officer, Shenzhen Customs (深圳海关)",
        None,
        Some("5300"),
        &[],
    ),
    demo_user(
        "officer.5316",
        "officer",
        "Officer, Dapeng Customs (大鹏海关, Yantian port)",
        None,
        Some("5316"),
        &[],
    ),
    demo_user(
        "officer.5304",
        "officer",
        "Officer, Shekou Customs (蛇口海关)",
        None,
        Some("5304"),
        &[],
    ),
    demo_user(
        "terminal.yantian",
        "terminal_operator",
        "Yantian container terminal operator",
        None,
        None,
        &["CNYTN-YICT"],
    ),
    demo_user(
        "terminal.shekou",
        "terminal_operator",
        "Shekou hub terminal operator",
        None,
        None,
        &["CNSHK-SCT"],
    ),
    demo_user(
        "terminal.dongguan",
        "terminal_operator",
        "Dongguan feeder and rail terminal operator",
        None,
        None,
        &["CNDGG-XG", "CNDGG-RAIL"],
    ),
];

impl App {
    /// Seeds the demo when it is not there yet, and issues a fresh API token for each demo
    /// user (secrets are never stored, so earlier ones cannot be shown again).
    pub async fn seed_demo(&self) -> AppResult<Vec<DemoLogin>> {
        let ctx = Ctx {
            actor: system_actor(),
            request_id: "demo".into(),
            idempotency: None,
        };
        let today = self.today();
        let mut ids = std::collections::HashMap::new();
        for d in ENTERPRISES {
            let existing = self
                .store
                .list_enterprises(&tongguan_store::EnterpriseFilter {
                    q: Some(d.uscc.to_string()),
                    limit: 1,
                    offset: 0,
                })
                .await?;
            let id = match existing.first() {
                Some(e) => e.id,
                None => self.seed_enterprise(&ctx, d, today).await?,
            };
            ids.insert(d.key, id);
        }
        let id = |k: &str| ids.get(k).copied();
        let importer = id("importer").ok_or_else(|| AppError::Internal("demo importer".into()))?;
        let broker = id("broker").ok_or_else(|| AppError::Internal("demo broker".into()))?;
        let authorised = self
            .store
            .authorisations_of(importer)
            .await?
            .iter()
            .any(|a| a.broker_id == broker && a.in_force(today));
        if !authorised {
            let a = BrokerAuthorisation {
                id: new_id(),
                principal_id: importer,
                broker_id: broker,
                valid_from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or(today),
                valid_until: None,
                created_at: self.now(),
                revoked_at: None,
                reason: "demo: agency agreement for import declarations".into(),
            };
            let audit = self.audit_draft(
                &ctx,
                "broker_authorisation.create",
                &format!("enterprise/{importer}"),
                &a.reason,
            );
            self.store
                .commit(Changeset::new(
                    vec![Op::InsertBrokerAuthorisation(a)],
                    audit,
                ))
                .await
                .map_err(super::map_store_error)?;
        }
        self.seed_demo_terminals(&ctx).await?;
        let mut logins = Vec::new();
        for d in USERS {
            let enterprise_id = d.enterprise.and_then(id);
            let (username, role, who) = (d.username, d.role, d.who);
            let token = match self.store.user_by_username(username).await? {
                Some(u) => self.issue_token_for(&ctx, &u, "demo token").await?,
                None => {
                    let input = NewUser {
                        username: username.into(),
                        display_name: who.into(),
                        password: DEMO_PASSWORD.into(),
                        role: role.into(),
                        enterprise_id,
                        district: d.district.map(str::to_string),
                        terminals: d.terminals.iter().map(|t| t.to_string()).collect(),
                    };
                    self.provision_user(&ctx, &input, "demo token").await?.1
                }
            };
            logins.push(DemoLogin {
                username: username.into(),
                role: role.into(),
                who: who.into(),
                password: DEMO_PASSWORD.into(),
                token,
            });
        }
        Ok(logins)
    }

    /// Terminals of the demo: Yantian, the Shekou hub and a Dongguan feeder in its
    /// combination port (M2), a Dongguan rail terminal.
    async fn seed_demo_terminals(&self, ctx: &Ctx) -> AppResult<()> {
        use tongguan_domain::manifest::{Terminal, TerminalKind};
        let terminals = [
            (
                "CNYTN-YICT",
                "Yantian International Container Terminals",
                "CNYTN",
                "5316",
                TerminalKind::Sea,
                None,
            ),
            (
                "CNSHK-SCT",
                "Shekou Container Terminals (hub)",
                "CNSHK",
                "5304",
                TerminalKind::Sea,
                None,
            ),
            (
                "CNDGG-XG",
                "Dongguan feeder terminal (Shekou combination port)",
                "CNDGG",
                "5304",
                TerminalKind::Sea,
                Some("CNSHK"),
            ),
            (
                "CNDGG-RAIL",
                "Dongguan rail container terminal",
                "CNDGG",
                "5304",
                TerminalKind::Rail,
                None,
            ),
        ];
        let existing = self.terminals();
        let mut ops = Vec::new();
        for (code, name, port, customs, kind, hub) in terminals {
            if existing.iter().any(|t| t.terminal.code == code) {
                continue;
            }
            let t = Terminal {
                code: code.into(),
                name: name.into(),
                port: port.into(),
                customs: customs.into(),
                kinds: vec![kind],
                hub_port: hub.map(str::to_string),
            };
            ops.push(tongguan_store::Op::PutTerminal {
                code: code.into(),
                version: 1,
                expected_version: None,
                body: serde_json::to_string(&t).map_err(|e| AppError::Internal(e.to_string()))?,
            });
        }
        if ops.is_empty() {
            return Ok(());
        }
        let audit = self.audit_draft(ctx, "terminal.put", "terminals", "demo terminals");
        self.store
            .commit(Changeset::new(ops, audit))
            .await
            .map_err(super::map_store_error)?;
        self.load_terminals().await
    }

    async fn seed_enterprise(
        &self,
        ctx: &Ctx,
        d: &DemoEnterprise,
        today: NaiveDate,
    ) -> AppResult<Uuid> {
        let tags: Vec<String> = d.tags.iter().map(|t| t.to_string()).collect();
        let parsed = NewEnterprise::parse(
            &EnterpriseInput {
                name: d.name,
                uscc: d.uscc,
                customs_code: d.customs_code,
                credit_level: d.credit_level,
                tags: &tags,
                address: Some("广东省深圳市 (demo)"),
                contact_phone: Some("+86 755 0000 0000"),
            },
            today,
        )?;
        let e = parsed.register(new_id(), self.now());
        let audit = self.audit_draft(
            ctx,
            "enterprise.create",
            &format!("enterprise/{}", e.id),
            "demo data",
        );
        let id = e.id;
        self.store
            .commit(Changeset::new(vec![Op::InsertEnterprise(e)], audit))
            .await
            .map_err(super::map_store_error)?;
        Ok(id)
    }
}
