//! Webhook subscriptions and their delivery (M15: 状态推送), after the Standard Webhooks
//! specification v1 (https://www.standardwebhooks.com):
//! - each message is POSTed as `{"type", "timestamp", "data"}` with the headers
//!   `webhook-id` (the outbox message id, the same on every retry), `webhook-timestamp`
//!   (Unix seconds of the attempt) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of
//!   "{id}.{timestamp}.{body}">`, one per secret in force, space separated during rotation);
//! - a 2xx answer delivers it; anything else is retried with exponential backoff and jitter
//!   for about three days ([`WebhookConfig`]); a message given up disables its endpoint
//!   until the owner re-enables it, and the owner can redeliver;
//! - delivery is at least once: a delivery row is committed before the first attempt and
//!   only its result ends it, so a crash mid-request sends the message again after restart
//!   and receivers de-duplicate by `webhook-id`.
//!
//! Server-side request forgery: URLs resolving to loopback, private, link-local or other
//! special addresses are refused at subscription and again at every connection (a DNS
//! answer may change), unless an admin allowed the network.

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use tongguan_api::{
    AllowedNetwork, Delivery, DeliveryAttempt, DeliveryQuery, NetworkInput, NewSubscription,
    RecoverInput, Recovered, RotateSecret, Subscription, SubscriptionFilter,
};
use tongguan_domain::identity::{EnterpriseScope, Role};
use tongguan_store::{
    AllowlistRow, AttemptRow, Changeset, DeliveryRow, DueDelivery, Op, OutboxRow, SubscriptionRow,
};
use uuid::Uuid;

use super::identity::require_role;
use super::outbox::Audience;
use super::{App, AppError, AppResult, Ctx, Reply, invalid, new_id, security_denied};
use crate::config::WebhookConfig;

/// Message types a filter may name.
pub const MESSAGE_TYPES: &[&str] = &[
    "declaration.status",
    "container.status",
    "manifest.filed",
    "arrival.reported",
    "gate.decision",
    "tax.transfer",
    "guarantee.status",
    "certificate.status",
];

/// The outbox reader position of the webhook fan-out.
const CURSOR: &str = "webhooks";
/// Outbox messages read per fan-out page.
const FANOUT_PAGE: i64 = 500;
/// Due deliveries claimed per pass.
const DUE_PAGE: i64 = 256;
/// Secrets are `whsec_` + base64 of this many bytes (Standard Webhooks: 24 to 64).
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// A signing secret and until when it signs (none: the current one).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SecretEntry {
    secret: String,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
}

/// The stored subscription document.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SubscriptionDoc {
    id: Uuid,
    url: String,
    description: String,
    filter: SubscriptionFilter,
    enterprise_id: Option<Uuid>,
    terminal: Option<String>,
    active: bool,
    disabled_reason: Option<String>,
    disabled_at: Option<DateTime<Utc>>,
    secrets: Vec<SecretEntry>,
    /// Messages after this outbox sequence are delivered (those before it predate it).
    from_seq: i64,
    created_by: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

impl SubscriptionDoc {
    fn row(&self) -> AppResult<SubscriptionRow> {
        Ok(SubscriptionRow {
            id: self.id,
            enterprise_id: self.enterprise_id,
            terminal: self.terminal.clone(),
            status: if self.active { "active" } else { "disabled" }.into(),
            version: self.version,
            created_at: self.created_at,
            body: serde_json::to_string(self).map_err(|e| AppError::Internal(e.to_string()))?,
        })
    }

    fn parse(row: &SubscriptionRow) -> AppResult<SubscriptionDoc> {
        serde_json::from_str(&row.body)
            .map_err(|e| AppError::Internal(format!("stored subscription: {e}")))
    }

    fn view(&self, show_secret: bool) -> Subscription {
        Subscription {
            id: self.id,
            url: self.url.clone(),
            description: self.description.clone(),
            filter: self.filter.clone(),
            enterprise_id: self.enterprise_id,
            terminal: self.terminal.clone(),
            status: if self.active { "active" } else { "disabled" }.into(),
            disabled_reason: self.disabled_reason.clone(),
            disabled_at: self.disabled_at,
            secret: show_secret
                .then(|| self.secrets.iter().find(|s| s.expires_at.is_none()))
                .flatten()
                .map(|s| s.secret.clone()),
            previous_secrets_expire: self.secrets.iter().filter_map(|s| s.expires_at).collect(),
            created_by: self.created_by.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        }
    }

    /// The keys signing at `now`.
    fn signing_keys(&self, now: DateTime<Utc>) -> Vec<Vec<u8>> {
        self.secrets
            .iter()
            .filter(|s| s.expires_at.is_none_or(|e| e > now))
            .filter_map(|s| secret_key(&s.secret).ok())
            .collect()
    }

    /// Whether the filter lets `m` through (pure).
    fn wants(&self, m: &OutboxRow) -> bool {
        let f = &self.filter;
        f.declaration_id.is_none_or(|d| m.declaration_id == Some(d))
            && f.bill_no
                .as_ref()
                .is_none_or(|b| m.bill_no.as_ref() == Some(b))
            && f.container_no
                .as_ref()
                .is_none_or(|c| m.containers.contains(c))
            && (f.event_types.is_empty() || f.event_types.contains(&m.kind))
    }
}

/// The HMAC key of a `whsec_…` secret.
fn secret_key(secret: &str) -> Result<Vec<u8>, String> {
    let b64 = secret
        .strip_prefix("whsec_")
        .ok_or("a secret starts with whsec_")?;
    let key = B64
        .decode(b64)
        .map_err(|_| "after whsec_ comes standard base64".to_string())?;
    if !SECRET_BYTES.contains(&key.len()) {
        return Err(format!(
            "the secret decodes to {} bytes; 24 to 64 are allowed",
            key.len()
        ));
    }
    Ok(key)
}

fn new_secret() -> AppResult<String> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(format!("whsec_{}", B64.encode(key)))
}

/// The `webhook-signature` header value: `v1,<sig>` per key (Standard Webhooks §Signature).
pub fn signature_header(keys: &[Vec<u8>], id: &str, timestamp: i64, body: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    keys.iter()
        .filter_map(|k| {
            let mut mac = hmac::Hmac::<sha2_011::Sha256>::new_from_slice(k).ok()?;
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            Some(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether an address is one webhooks may not reach without an admin's allowance:
/// loopback, private (RFC 1918, RFC 4193), link-local, shared (RFC 6598), unspecified,
/// broadcast, multicast, documentation and other reserved ranges.
pub fn is_special(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (18..20).contains(&o[1]))
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_special(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x64 && s[1] == 0xff9b)
        }
    }
}

/// Networks an admin allowed, shared with the connection-time resolver.
#[derive(Debug, Default)]
pub struct NetworkPolicy {
    allowed: RwLock<Vec<IpNet>>,
}

impl NetworkPolicy {
    pub fn permits(&self, ip: IpAddr) -> bool {
        if !is_special(ip) {
            return true;
        }
        let allowed = match self.allowed.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        allowed.iter().any(|n| n.contains(&ip))
    }

    fn set(&self, nets: Vec<IpNet>) {
        match self.allowed.write() {
            Ok(mut g) => *g = nets,
            Err(p) => *p.into_inner() = nets,
        }
    }
}

/// Resolves host names for deliveries and drops addresses the policy refuses, so a DNS
/// answer that changed since the subscription was checked cannot reach inside.
struct GuardedResolver(Arc<NetworkPolicy>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| policy.permits(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!(
                    "{host} resolves only to addresses webhooks may not reach (loopback, private or link-local)"
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Delivery state of the running process.
pub struct Webhooks {
    pub policy: Arc<NetworkPolicy>,
    client: reqwest::Client,
    in_flight: Mutex<HashSet<Uuid>>,
    /// Earliest time a pending delivery may be due (none: nothing pending known).
    due_hint: Mutex<Option<DateTime<Utc>>>,
    /// Every subscription, reloaded when one changes.
    subscriptions: RwLock<Arc<Vec<SubscriptionDoc>>>,
    wake: tokio::sync::Notify,
    slots: Arc<tokio::sync::Semaphore>,
}

impl Webhooks {
    pub fn new(cfg: &WebhookConfig) -> Result<Webhooks, String> {
        let policy = Arc::new(NetworkPolicy::default());
        // https:// endpoints: rustls on ring with the system's roots, installed once per
        // process (a second install is refused harmlessly).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(cfg.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Tongguan-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver(policy.clone())))
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Webhooks {
            policy,
            client,
            in_flight: Mutex::new(HashSet::new()),
            due_hint: Mutex::new(None),
            subscriptions: RwLock::new(Arc::new(Vec::new())),
            wake: tokio::sync::Notify::new(),
            slots: Arc::new(tokio::sync::Semaphore::new(cfg.max_in_flight.max(1))),
        })
    }

    fn active(&self) -> Arc<Vec<SubscriptionDoc>> {
        match self.subscriptions.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn hint(&self, at: Option<DateTime<Utc>>) {
        let mut g = match self.due_hint.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *g = match (*g, at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    fn take_due(&self, now: DateTime<Utc>) -> bool {
        let mut g = match self.due_hint.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        match *g {
            Some(t) if t <= now => {
                *g = None;
                true
            }
            _ => false,
        }
    }

    fn claim(&self, id: Uuid) -> bool {
        match self.in_flight.lock() {
            Ok(mut g) => g.insert(id),
            Err(p) => p.into_inner().insert(id),
        }
    }

    fn release(&self, id: Uuid) {
        match self.in_flight.lock() {
            Ok(mut g) => g.remove(&id),
            Err(p) => p.into_inner().remove(&id),
        };
    }

    /// Wakes the worker (a redelivery, a re-enabled endpoint).
    pub fn nudge(&self) {
        self.wake.notify_one();
    }
}

/// The delay before attempt `failed + 1` after `failed` failed attempts: the initial delay
/// doubled per failure, capped, spread by the jitter (pure but for the random spread).
pub fn retry_delay(cfg: &WebhookConfig, failed: i64) -> Duration {
    let doublings = u32::try_from((failed - 1).clamp(0, 40)).unwrap_or(40);
    let base = cfg
        .retry_initial_ms
        .saturating_mul(2u64.saturating_pow(doublings))
        .min(cfg.retry_max_interval_ms) as f64;
    let j = cfg.jitter.clamp(0.0, 1.0);
    let spread = if j > 0.0 {
        rand::random_range(-j..=j)
    } else {
        0.0
    };
    Duration::from_millis((base * (1.0 + spread)).max(0.0) as u64)
}

/// Checks a webhook URL: scheme, host, and that every address it resolves to may be
/// reached. Violations name the field `url`.
async fn check_url(policy: &NetworkPolicy, raw: &str) -> AppResult<reqwest::Url> {
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|e| invalid("url", "webhook.url.syntax", format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(
            "url",
            "webhook.url.scheme",
            "webhook URLs use http or https",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "url",
            "webhook.url.credentials",
            "put no credentials in the URL; verify the signature instead",
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| invalid("url", "webhook.url.host", "the URL has no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| {
                invalid(
                    "url",
                    "webhook.url.unresolvable",
                    format!("{host} does not resolve: {e}"),
                )
            })?
            .map(|a| a.ip())
            .collect(),
    };
    if addrs.is_empty() {
        return Err(invalid(
            "url",
            "webhook.url.unresolvable",
            format!("{host} resolves to no address"),
        ));
    }
    if let Some(bad) = addrs.iter().find(|ip| !policy.permits(**ip)) {
        return Err(invalid(
            "url",
            "webhook.url.forbidden_address",
            format!(
                "{host} resolves to {bad}, a loopback, private, link-local or reserved address; an admin must allow its network first"
            ),
        ));
    }
    Ok(url)
}

fn check_filter(f: &SubscriptionFilter) -> AppResult<SubscriptionFilter> {
    let mut v = tongguan_domain::Violations::new();
    let mut out = f.clone();
    if let Some(c) = &f.container_no {
        match tongguan_domain::codes::ContainerNumber::parse(c) {
            Ok(c) => out.container_no = Some(String::from(c)),
            Err(e) => v.push("filter.container_no", &e.rule, e.message),
        }
    }
    if let Some(b) = &f.bill_no {
        let b = b.trim();
        if b.is_empty() {
            v.push("filter.bill_no", "required", "bill_no is empty");
        }
        out.bill_no = Some(b.to_string());
    }
    for (i, t) in f.event_types.iter().enumerate() {
        if !MESSAGE_TYPES.contains(&t.as_str()) {
            v.push(
                format!("filter.event_types[{i}]"),
                "webhook.event_type.unknown",
                format!(
                    "{t} is not a message type; known: {}",
                    MESSAGE_TYPES.join(", ")
                ),
            );
        }
    }
    if v.is_empty() { Ok(out) } else { Err(v.into()) }
}

fn check_secret(path: &str, secret: Option<&str>) -> AppResult<String> {
    match secret {
        Some(s) => {
            secret_key(s.trim()).map_err(|m| invalid(path, "webhook.secret.format", m))?;
            Ok(s.trim().to_string())
        }
        None => new_secret(),
    }
}

fn delivery_view(d: &DueDelivery, log: Vec<DeliveryAttempt>) -> Delivery {
    Delivery {
        id: d.delivery.id,
        subscription_id: d.delivery.subscription_id,
        message_id: d.message.id,
        event_type: d.message.kind.clone(),
        sequence: d.message.seq,
        status: d.delivery.status.clone(),
        attempts: d.delivery.attempts,
        next_attempt_at: d.delivery.next_attempt_at,
        last_status: d.delivery.last_status,
        last_error: d.delivery.last_error.clone(),
        created_at: d.delivery.created_at,
        updated_at: d.delivery.updated_at,
        payload: serde_json::from_str(&payload(&d.message)).unwrap_or_default(),
        log,
    }
}

/// The body POSTed for a message (Standard Webhooks payload structure).
pub fn payload(m: &OutboxRow) -> String {
    format!(
        "{{\"type\":{},\"timestamp\":{},\"data\":{}}}",
        serde_json::Value::String(m.kind.clone()),
        serde_json::Value::String(m.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        m.data
    )
}

const SUBSCRIBERS: &[Role] = &[Role::EnterpriseUser, Role::Broker, Role::TerminalOperator];

impl App {
    /// Loads the admins' network allowances and the active subscriptions.
    pub(super) async fn start_webhooks(&self) -> AppResult<()> {
        self.reload_allowlist().await?;
        self.reload_subscriptions().await?;
        // Deliveries left pending by a previous run are due now.
        let next = self.store.next_due(None).await?;
        self.webhooks.hint(next);
        Ok(())
    }

    async fn reload_allowlist(&self) -> AppResult<()> {
        let nets = self
            .store
            .webhook_allowlist()
            .await?
            .iter()
            .filter_map(|r| r.cidr.parse::<IpNet>().ok())
            .collect();
        self.webhooks.policy.set(nets);
        Ok(())
    }

    async fn reload_subscriptions(&self) -> AppResult<()> {
        let mut all = Vec::new();
        for row in self.store.subscriptions().await? {
            all.push(SubscriptionDoc::parse(&row)?);
        }
        let active = Arc::new(all);
        match self.webhooks.subscriptions.write() {
            Ok(mut g) => *g = active,
            Err(p) => *p.into_inner() = active,
        }
        Ok(())
    }

    /// Stores a subscription at its expected version (none: new), answers with its view
    /// (with the current secret when `show_secret`) and refreshes the delivery worker's copy.
    async fn save_subscription(
        &self,
        ctx: &Ctx,
        doc: &SubscriptionDoc,
        expected_version: Option<i64>,
        audit: tongguan_domain::audit::AuditDraft,
        status: u16,
        show_secret: bool,
    ) -> AppResult<Reply> {
        let reply = self
            .commit_reply(
                ctx,
                Changeset::new(
                    vec![Op::PutSubscription {
                        row: doc.row()?,
                        expected_version,
                    }],
                    audit,
                ),
                status,
                &doc.view(show_secret),
                None,
            )
            .await?;
        self.reload_subscriptions().await?;
        self.webhooks.nudge();
        Ok(reply)
    }

    /// A subscription the caller owns (an enterprise's for its users, a terminal's for its
    /// operators; admins read all). Others answer 404.
    async fn owned_subscription(&self, ctx: &Ctx, id: Uuid) -> AppResult<SubscriptionDoc> {
        let found = match self.store.subscription(id).await? {
            Some(row) => Some(SubscriptionDoc::parse(&row)?),
            None => None,
        };
        match found {
            Some(doc) if self.owns(ctx, &doc) => Ok(doc),
            Some(_) => {
                security_denied(ctx, &format!("subscription/{id}"));
                Err(AppError::NotFound(format!("subscription {id}")))
            }
            None => Err(AppError::NotFound(format!("subscription {id}"))),
        }
    }

    fn owns(&self, ctx: &Ctx, doc: &SubscriptionDoc) -> bool {
        match ctx.actor.role {
            Role::Admin => true,
            Role::EnterpriseUser | Role::Broker => {
                doc.enterprise_id.is_some() && doc.enterprise_id == ctx.actor.enterprise_id
            }
            Role::TerminalOperator => doc
                .terminal
                .as_ref()
                .is_some_and(|t| ctx.actor.terminals.contains(t)),
            Role::Officer => false,
        }
    }

    /// Creates a webhook subscription for the caller's enterprise or terminal.
    pub async fn create_subscription(
        &self,
        ctx: &Ctx,
        input: &NewSubscription,
    ) -> AppResult<Reply> {
        require_role(ctx, SUBSCRIBERS)?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let filter = check_filter(&input.filter)?;
        let secret = check_secret("secret", input.secret.as_deref())?;
        let (enterprise_id, terminal) = match ctx.actor.role {
            Role::TerminalOperator => {
                let t = match (&input.terminal, ctx.actor.terminals.as_slice()) {
                    (Some(t), mine) if mine.contains(t) => t.clone(),
                    (Some(t), _) => {
                        return Err(invalid(
                            "terminal",
                            "webhook.terminal.not_yours",
                            format!("you do not operate terminal {t}"),
                        ));
                    }
                    (None, [only]) => only.clone(),
                    (None, _) => {
                        return Err(invalid(
                            "terminal",
                            "required",
                            "name which of your terminals this subscription is for",
                        ));
                    }
                };
                (None, Some(t))
            }
            _ => match ctx.actor.enterprise_id {
                Some(e) => (Some(e), None),
                None => {
                    return Err(AppError::Forbidden(
                        "the user works for no enterprise".into(),
                    ));
                }
            },
        };
        if let Some(d) = filter.declaration_id {
            // Only one's own declaration may be named (another's answers 404).
            self.get_declaration(ctx, d).await?;
        }
        let url = check_url(&self.webhooks.policy, &input.url).await?;
        let now = self.now();
        let doc = SubscriptionDoc {
            id: new_id(),
            url: url.to_string(),
            description: input.description.trim().to_string(),
            filter,
            enterprise_id,
            terminal,
            active: true,
            disabled_reason: None,
            disabled_at: None,
            secrets: vec![SecretEntry {
                secret,
                created_at: now,
                expires_at: None,
            }],
            from_seq: self.store.last_outbox_seq().await?,
            created_by: ctx.actor_label(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let audit = self.audit_draft(
            ctx,
            "subscription.create",
            &format!("subscription/{}", doc.id),
            &format!("webhook to {}", doc.url),
        );
        self.save_subscription(ctx, &doc, None, audit, 201, true)
            .await
    }

    pub async fn list_subscriptions(&self, ctx: &Ctx) -> AppResult<Vec<Subscription>> {
        require_role(
            ctx,
            &[
                Role::EnterpriseUser,
                Role::Broker,
                Role::TerminalOperator,
                Role::Admin,
            ],
        )?;
        let mut out = Vec::new();
        for row in self.store.subscriptions().await? {
            let doc = SubscriptionDoc::parse(&row)?;
            if self.owns(ctx, &doc) {
                out.push(doc.view(false));
            }
        }
        Ok(out)
    }

    pub async fn get_subscription(&self, ctx: &Ctx, id: Uuid) -> AppResult<Subscription> {
        Ok(self.owned_subscription(ctx, id).await?.view(false))
    }

    /// The owner turns an endpoint on (after it was disabled by failures) or off.
    pub async fn set_subscription_active(
        &self,
        ctx: &Ctx,
        id: Uuid,
        active: bool,
        reason: &str,
    ) -> AppResult<Reply> {
        require_role(ctx, SUBSCRIBERS)?;
        let mut doc = self.owned_subscription(ctx, id).await?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        if reason.trim().is_empty() {
            return Err(invalid("reason", "required", "say why"));
        }
        let expected = doc.version;
        let now = self.now();
        doc.active = active;
        doc.disabled_reason = (!active).then(|| reason.trim().to_string());
        doc.disabled_at = (!active).then_some(now);
        doc.updated_at = now;
        doc.version += 1;
        let action = if active {
            "subscription.enable"
        } else {
            "subscription.disable"
        };
        let audit = self.audit_draft(ctx, action, &format!("subscription/{id}"), reason.trim());
        self.save_subscription(ctx, &doc, Some(expected), audit, 200, false)
            .await
    }

    /// A new signing secret; older ones keep signing for the grace period.
    pub async fn rotate_secret(
        &self,
        ctx: &Ctx,
        id: Uuid,
        input: &RotateSecret,
    ) -> AppResult<Reply> {
        require_role(ctx, SUBSCRIBERS)?;
        let mut doc = self.owned_subscription(ctx, id).await?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let secret = check_secret("secret", input.secret.as_deref())?;
        let now = self.now();
        let until = now + chrono::Duration::hours(self.config.webhooks.rotation_grace_hours);
        doc.secrets.retain(|s| s.expires_at.is_none_or(|e| e > now));
        for s in &mut doc.secrets {
            if s.expires_at.is_none() {
                s.expires_at = Some(until);
            }
        }
        doc.secrets.push(SecretEntry {
            secret,
            created_at: now,
            expires_at: None,
        });
        let expected = doc.version;
        doc.updated_at = now;
        doc.version += 1;
        let audit = self.audit_draft(
            ctx,
            "subscription.rotate_secret",
            &format!("subscription/{id}"),
            &format!("previous secret signs until {until}"),
        );
        self.save_subscription(ctx, &doc, Some(expected), audit, 200, true)
            .await
    }

    /// The delivery log of a subscription, newest first.
    pub async fn deliveries(
        &self,
        ctx: &Ctx,
        id: Uuid,
        q: &DeliveryQuery,
    ) -> AppResult<Vec<Delivery>> {
        self.owned_subscription(ctx, id).await?;
        let limit = q.limit.unwrap_or(50);
        if !(1..=500).contains(&limit) {
            return Err(invalid("limit", "page.limit", "limit is between 1 and 500"));
        }
        if let Some(s) = &q.status
            && !["pending", "delivered", "failed"].contains(&s.as_str())
        {
            return Err(invalid(
                "status",
                "delivery.status.unknown",
                "status is pending, delivered or failed",
            ));
        }
        Ok(self
            .store
            .deliveries_of(id, q.status.as_deref(), limit)
            .await?
            .iter()
            .map(|d| delivery_view(d, Vec::new()))
            .collect())
    }

    async fn owned_delivery(&self, ctx: &Ctx, id: Uuid, delivery: Uuid) -> AppResult<DueDelivery> {
        self.owned_subscription(ctx, id).await?;
        let row = self
            .store
            .delivery(delivery)
            .await?
            .filter(|d| d.subscription_id == id)
            .ok_or_else(|| AppError::NotFound(format!("delivery {delivery}")))?;
        let message = self
            .store
            .outbox_after(row.message_seq - 1, 1)
            .await?
            .pop()
            .filter(|m| m.seq == row.message_seq)
            .ok_or_else(|| {
                AppError::Internal(format!("outbox message {} missing", row.message_seq))
            })?;
        Ok(DueDelivery {
            delivery: row,
            message,
        })
    }

    /// One delivery with every attempt.
    pub async fn delivery(&self, ctx: &Ctx, id: Uuid, delivery: Uuid) -> AppResult<Delivery> {
        let d = self.owned_delivery(ctx, id, delivery).await?;
        let log = self
            .store
            .attempts_of(delivery)
            .await?
            .into_iter()
            .map(|a| DeliveryAttempt {
                attempt: a.attempt,
                at: a.at,
                status_code: a.status_code,
                error: a.error,
                duration_ms: a.duration_us as f64 / 1000.0,
            })
            .collect();
        Ok(delivery_view(&d, log))
    }

    /// Sends a message again now, whatever became of it (the same `webhook-id`).
    pub async fn redeliver(&self, ctx: &Ctx, id: Uuid, delivery: Uuid) -> AppResult<Reply> {
        require_role(ctx, SUBSCRIBERS)?;
        let mut d = self.owned_delivery(ctx, id, delivery).await?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let now = self.now();
        d.delivery.status = "pending".into();
        d.delivery.next_attempt_at = Some(now);
        // The retry window starts again: an old message redelivered is not given up (and
        // its endpoint disabled) at its first failure.
        d.delivery.created_at = now;
        d.delivery.updated_at = now;
        let audit = self.audit_draft(
            ctx,
            "delivery.redeliver",
            &format!("subscription/{id}/delivery/{delivery}"),
            "redelivery requested by the owner",
        );
        let reply = self
            .commit_reply(
                ctx,
                Changeset::new(vec![Op::UpdateDeliveries(vec![d.delivery.clone()])], audit),
                202,
                &delivery_view(&d, Vec::new()),
                None,
            )
            .await?;
        self.webhooks.hint(Some(now));
        self.webhooks.nudge();
        Ok(reply)
    }

    /// Schedules again every failed delivery of messages since `since` (after re-enabling).
    pub async fn recover(&self, ctx: &Ctx, id: Uuid, input: &RecoverInput) -> AppResult<Reply> {
        require_role(ctx, SUBSCRIBERS)?;
        self.owned_subscription(ctx, id).await?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let now = self.now();
        let rows: Vec<DeliveryRow> = self
            .store
            .deliveries_of(id, Some("failed"), 100_000)
            .await?
            .into_iter()
            .filter(|d| d.message.at >= input.since)
            .map(|d| DeliveryRow {
                status: "pending".into(),
                next_attempt_at: Some(now),
                created_at: now,
                updated_at: now,
                ..d.delivery
            })
            .collect();
        let n = rows.len();
        let audit = self.audit_draft(
            ctx,
            "subscription.recover",
            &format!("subscription/{id}"),
            &format!(
                "{n} failed deliveries since {} scheduled again",
                input.since
            ),
        );
        let reply = self
            .commit_reply(
                ctx,
                Changeset::new(vec![Op::UpdateDeliveries(rows)], audit),
                202,
                &Recovered { scheduled: n },
                None,
            )
            .await?;
        self.webhooks.hint(Some(now));
        self.webhooks.nudge();
        Ok(reply)
    }

    pub async fn allowed_networks(&self, ctx: &Ctx) -> AppResult<Vec<AllowedNetwork>> {
        require_role(ctx, &[Role::Admin])?;
        Ok(self
            .store
            .webhook_allowlist()
            .await?
            .into_iter()
            .map(|r| AllowedNetwork {
                cidr: r.cidr,
                reason: r.reason,
                added_by: r.added_by,
                added_at: r.added_at,
            })
            .collect())
    }

    /// Admin: allows (or, `allow` false, no longer allows) webhooks into a network.
    pub async fn set_network(
        &self,
        ctx: &Ctx,
        input: &NetworkInput,
        allow: bool,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::Admin])?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let net: IpNet = input
            .cidr
            .trim()
            .parse()
            .or_else(|_| input.cidr.trim().parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| {
                invalid(
                    "cidr",
                    "network.cidr",
                    "a network in CIDR notation, e.g. 127.0.0.1/32 or 10.0.0.0/8",
                )
            })?;
        if input.reason.trim().is_empty() {
            return Err(invalid(
                "reason",
                "required",
                "say why webhooks may reach this network",
            ));
        }
        let cidr = net.trunc().to_string();
        let row = AllowlistRow {
            cidr: cidr.clone(),
            reason: input.reason.trim().to_string(),
            added_by: ctx.actor_label(),
            added_at: self.now(),
        };
        let (op, action) = if allow {
            (Op::PutAllowlist(row.clone()), "webhook.network.allow")
        } else {
            (
                Op::DeleteAllowlist(cidr.clone()),
                "webhook.network.disallow",
            )
        };
        let audit = self.audit_draft(ctx, action, &format!("network/{cidr}"), &row.reason);
        let view = AllowedNetwork {
            cidr: row.cidr,
            reason: row.reason,
            added_by: row.added_by,
            added_at: row.added_at,
        };
        let reply = self
            .commit_reply(ctx, Changeset::new(vec![op], audit), 200, &view, None)
            .await?;
        self.reload_allowlist().await?;
        Ok(reply)
    }

    /// The audience of a subscription now: its enterprise (with the principals it is an
    /// authorised broker for), or its terminal.
    async fn subscription_audience(&self, doc: &SubscriptionDoc) -> AppResult<Audience> {
        if let Some(t) = &doc.terminal {
            return Ok(Audience::Terminals {
                terminals: [t.clone()].into_iter().collect(),
                ports: self.ports_of_terminal(t),
            });
        }
        let Some(e) = doc.enterprise_id else {
            return Ok(Audience::Enterprises(EnterpriseScope::None));
        };
        let today = self.today();
        let mut ids = vec![e];
        ids.extend(
            self.store
                .authorisations_of(e)
                .await?
                .into_iter()
                .filter(|a| a.broker_id == e && a.in_force(today))
                .map(|a| a.principal_id),
        );
        Ok(Audience::Enterprises(EnterpriseScope::Only(ids)))
    }

    /// Creates the deliveries owed for new outbox messages and moves the cursor, in one
    /// transaction (so each message is fanned out exactly once). Returns the deliveries made.
    async fn fan_out(&self) -> AppResult<usize> {
        let subs = self.webhooks.active();
        if subs.is_empty() {
            return Ok(0);
        }
        let floor = subs.iter().map(|s| s.from_seq).min().unwrap_or(0);
        let mut cursor = self
            .store
            .outbox_cursor(CURSOR)
            .await?
            .unwrap_or(0)
            .max(floor);
        let mut audiences = BTreeMap::new();
        for s in subs.iter() {
            audiences.insert(s.id, self.subscription_audience(s).await?);
        }
        let mut made = 0;
        loop {
            let page = self.store.outbox_after(cursor, FANOUT_PAGE).await?;
            let Some(last) = page.last().map(|m| m.seq) else {
                break;
            };
            let now = self.now();
            let mut rows = Vec::new();
            for m in &page {
                for s in subs.iter() {
                    if m.seq > s.from_seq
                        && audiences.get(&s.id).is_some_and(|a| a.sees(m))
                        && s.wants(m)
                    {
                        // A disabled endpoint's messages are kept as failed, so its owner
                        // can recover them after re-enabling it.
                        rows.push(DeliveryRow {
                            id: new_id(),
                            subscription_id: s.id,
                            message_seq: m.seq,
                            status: if s.active { "pending" } else { "failed" }.into(),
                            attempts: 0,
                            next_attempt_at: s.active.then_some(now),
                            last_status: None,
                            last_error: (!s.active).then(|| "endpoint disabled".to_string()),
                            created_at: now,
                            updated_at: now,
                        });
                    }
                }
            }
            made += rows.len();
            let any = rows.iter().any(|r| r.status == "pending");
            self.store
                .commit(Changeset {
                    ops: vec![
                        Op::InsertDeliveries(rows),
                        Op::SetOutboxCursor {
                            name: CURSOR.into(),
                            seq: last,
                        },
                    ],
                    audit: Vec::new(),
                    idempotency: None,
                    urgent: false,
                })
                .await?;
            if any {
                self.webhooks.hint(Some(now));
            }
            cursor = last;
            if (page.len() as i64) < FANOUT_PAGE {
                break;
            }
        }
        Ok(made)
    }

    /// Starts an attempt for every due delivery not already in flight.
    async fn deliver_due(self: &Arc<Self>) -> AppResult<()> {
        let now = self.now();
        if !self.webhooks.take_due(now) {
            return Ok(());
        }
        let due = self.store.due_deliveries(now, DUE_PAGE).await?;
        let full = due.len() as i64 == DUE_PAGE;
        for d in due {
            if !self.webhooks.claim(d.delivery.id) {
                continue;
            }
            let Ok(permit) = self.webhooks.slots.clone().acquire_owned().await else {
                return Ok(());
            };
            let app = self.clone();
            tokio::spawn(async move {
                let id = d.delivery.id;
                if let Err(e) = app.attempt(d).await {
                    tracing::warn!(delivery = %id, error = %e, "webhook attempt not recorded");
                    app.webhooks.hint(Some(app.now()));
                }
                app.webhooks.release(id);
                drop(permit);
                app.webhooks.nudge();
            });
        }
        // More than a page due, or later ones: look again.
        let next = if full {
            Some(now)
        } else {
            // Those in flight now hint their own retries when they finish.
            self.store.next_due(Some(now)).await?
        };
        self.webhooks.hint(next);
        Ok(())
    }

    /// One attempt of one delivery, its result committed with the attempt log.
    async fn attempt(&self, mut d: DueDelivery) -> AppResult<()> {
        let cfg = &self.config.webhooks;
        // The due list may predate an attempt that finished after it was read: go by the
        // stored row, read after this delivery was claimed (a finished attempt commits
        // before it lets go of its claim).
        match self.store.delivery(d.delivery.id).await? {
            Some(fresh)
                if fresh.status == "pending"
                    && fresh.next_attempt_at.is_some_and(|t| t <= self.now()) =>
            {
                d.delivery = fresh;
            }
            _ => return Ok(()),
        }
        let sub = match self.store.subscription(d.delivery.subscription_id).await? {
            Some(row) => SubscriptionDoc::parse(&row)?,
            None => return Ok(()),
        };
        let mut row = d.delivery.clone();
        let started = std::time::Instant::now();
        let at = self.now();
        let (status_code, error) = if sub.active {
            self.post(&sub, &d.message, at).await
        } else {
            (None, Some("endpoint disabled".to_string()))
        };
        let duration_us = i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX);
        row.attempts += 1;
        row.last_status = status_code;
        row.last_error = error.clone();
        let now = self.now();
        row.updated_at = now;
        let mut ops = Vec::new();
        let mut audit = Vec::new();
        if status_code.is_some_and(|c| (200..300).contains(&c)) {
            row.status = "delivered".into();
            row.next_attempt_at = None;
        } else {
            let next = now
                + chrono::Duration::from_std(retry_delay(cfg, row.attempts))
                    .unwrap_or(chrono::Duration::zero());
            // The window runs from when the delivery was scheduled (fan-out, redelivery or
            // recovery), so a recovered backlog gets its full three days.
            let deadline = row.created_at
                + chrono::Duration::milliseconds(
                    i64::try_from(cfg.give_up_after_ms).unwrap_or(i64::MAX),
                );
            if !sub.active || next > deadline {
                row.status = "failed".into();
                row.next_attempt_at = None;
                if sub.active {
                    // Persistent failure: the endpoint is disabled until its owner acts.
                    let mut off = sub.clone();
                    let expected = off.version;
                    let why = format!(
                        "message {} failed {} attempts over {} h; last: {}",
                        d.message.id,
                        row.attempts,
                        cfg.give_up_after_ms / 3_600_000,
                        error
                            .clone()
                            .unwrap_or_else(|| format!("HTTP {}", status_code.unwrap_or(0)))
                    );
                    off.active = false;
                    off.disabled_reason = Some(why.clone());
                    off.disabled_at = Some(now);
                    off.updated_at = now;
                    off.version += 1;
                    ops.push(Op::PutSubscription {
                        row: off.row()?,
                        expected_version: Some(expected),
                    });
                    audit.push(tongguan_domain::audit::AuditDraft {
                        at: now,
                        actor: "system (webhook delivery)".into(),
                        action: "subscription.disable".into(),
                        object: format!("subscription/{}", sub.id),
                        reason: why,
                        request_id: format!("delivery/{}", row.id),
                    });
                }
            } else {
                row.next_attempt_at = Some(next);
                self.webhooks.hint(Some(next));
            }
        }
        ops.push(Op::UpdateDeliveries(vec![row.clone()]));
        ops.push(Op::InsertAttempts(vec![AttemptRow {
            delivery_id: row.id,
            attempt: row.attempts,
            at,
            status_code,
            error,
            duration_us,
        }]));
        let disabled = ops.iter().any(|o| matches!(o, Op::PutSubscription { .. }));
        let result = self
            .store
            .commit(Changeset {
                ops,
                audit,
                idempotency: None,
                urgent: false,
            })
            .await;
        match result {
            Ok(_) => {}
            // The owner changed the subscription meanwhile: record the attempt alone.
            Err(tongguan_store::StoreError::VersionMismatch { .. }) if disabled => {
                self.store
                    .commit(Changeset {
                        ops: vec![
                            Op::UpdateDeliveries(vec![row.clone()]),
                            Op::InsertAttempts(vec![AttemptRow {
                                delivery_id: row.id,
                                attempt: row.attempts,
                                at,
                                status_code,
                                error: row.last_error.clone(),
                                duration_us,
                            }]),
                        ],
                        audit: Vec::new(),
                        idempotency: None,
                        urgent: false,
                    })
                    .await?;
            }
            Err(e) => return Err(e.into()),
        }
        if disabled {
            self.reload_subscriptions().await?;
        }
        metrics::counter!("tongguan_webhook_attempts_total", "outcome" => row.status.clone())
            .increment(1);
        Ok(())
    }

    /// POSTs a message; the receiver's status, or why there was none.
    async fn post(
        &self,
        sub: &SubscriptionDoc,
        m: &OutboxRow,
        at: DateTime<Utc>,
    ) -> (Option<i64>, Option<String>) {
        let url = match reqwest::Url::parse(&sub.url) {
            Ok(u) => u,
            Err(e) => return (None, Some(format!("bad URL: {e}"))),
        };
        // Literal addresses bypass the resolver: check them here.
        if let Some(host) = url.host_str()
            && let Ok(ip) = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
            && !self.webhooks.policy.permits(ip)
        {
            return (
                None,
                Some(format!("{ip} is not an address webhooks may reach")),
            );
        }
        let body = payload(m);
        let id = m.id.to_string();
        let ts = at.timestamp();
        let sig = signature_header(&sub.signing_keys(at), &id, ts, body.as_bytes());
        let sent = self
            .webhooks
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", sig)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) => {
                let code = i64::from(r.status().as_u16());
                let err = (!r.status().is_success()).then(|| format!("HTTP {code}"));
                (Some(code), err)
            }
            Err(e) => (None, Some(error_chain(&e))),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The delivery worker: fans new outbox messages out to subscriptions and attempts due
/// deliveries, woken by every commit, by redeliveries and by the next retry's time.
pub async fn run(app: Arc<App>) {
    let mut commits = app.feed.subscribe();
    loop {
        if app.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        commits.borrow_and_update();
        if let Err(e) = app.fan_out().await {
            tracing::warn!(error = %e, "webhook fan-out failed; retrying");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        if let Err(e) = app.deliver_due().await {
            tracing::warn!(error = %e, "webhook delivery pass failed; retrying");
            app.webhooks.hint(Some(app.now()));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let wait = {
            let hint = match app.webhooks.due_hint.lock() {
                Ok(g) => *g,
                Err(p) => *p.into_inner(),
            };
            match hint {
                Some(t) => (t - app.now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(Duration::from_secs(1)),
                None => Duration::from_secs(1),
            }
        };
        tokio::select! {
            r = commits.changed() => if r.is_err() { return },
            _ = app.webhooks.wake.notified() => {}
            _ = tokio::time::sleep(wait) => {
                // Idle for a while: look at the table itself, in case a hint was lost
                // (another process's redelivery, an attempt that could not be recorded).
                match app.store.next_due(None).await {
                    Ok(next) => app.webhooks.hint(next),
                    Err(e) => tracing::warn!(error = %e, "reading due webhook deliveries"),
                }
            }
        }
    }
}
