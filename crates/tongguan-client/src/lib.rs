//! Typed client for the Tongguan HTTP API, used by the `tongguan` CLI and the tests.
//!
//! Every mutating call sends an `Idempotency-Key`: a fresh UUID per call, or a fixed key
//! from [`Client::keyed`] to retry a call safely.
#![forbid(unsafe_code)]

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
pub use tongguan_api::*;
use tongguan_refdata::DatasetId;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with problem+json.
    #[error("{status}: {} ({})", problem.title, problem.detail)]
    Problem { status: u16, problem: Problem },
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    #[error("unexpected answer {status}: {body}")]
    Unexpected { status: u16, body: String },
}

impl ClientError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Problem { status, .. } | ClientError::Unexpected { status, .. } => {
                Some(*status)
            }
            ClientError::Http(e) => e.status().map(|s| s.as_u16()),
        }
    }

    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ClientError::Problem { problem, .. } => Some(problem),
            _ => None,
        }
    }

    /// The rules the server named, e.g. `["uscc.check_character"]`.
    pub fn rules(&self) -> Vec<String> {
        self.problem()
            .map(|p| p.violations.iter().map(|v| v.rule.clone()).collect())
            .unwrap_or_default()
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// A raw answer, for calls the typed methods do not cover (tests of bad input).
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl RawResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// One server-sent event: `id`, `event` name and the JSON `data`.
#[derive(Debug, Clone)]
pub struct StreamEvent {
    pub id: String,
    pub event: String,
    pub data: serde_json::Value,
}

/// An open server-sent-event stream.
pub struct EventStream {
    resp: reqwest::Response,
    /// Bytes, not text: a chunk may end inside a multi-byte character.
    buf: Vec<u8>,
}

impl EventStream {
    /// The next event; `None` when the server closed the stream. Keep-alive comments are
    /// skipped.
    pub async fn next_event(&mut self) -> Result<Option<StreamEvent>> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let raw: Vec<u8> = self.buf.drain(..end + 2).collect();
                let frame = String::from_utf8_lossy(&raw);
                let (mut id, mut event, mut data) = (String::new(), String::new(), String::new());
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                let data = serde_json::from_str(&data).map_err(|_| ClientError::Unexpected {
                    status: 200,
                    body: data,
                })?;
                return Ok(Some(StreamEvent { id, event, data }));
            }
            match self.resp.chunk().await? {
                Some(bytes) => self.buf.extend_from_slice(&bytes),
                None => return Ok(None),
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    key: Option<String>,
    http: reqwest::Client,
}

impl Client {
    /// `base` is the server root, e.g. `http://127.0.0.1:8080`.
    pub fn new(base: &str) -> Client {
        // HTTPS servers: rustls on ring, installed once per process (a second install is
        // refused harmlessly).
        let _ = rustls::crypto::ring::default_provider().install_default();
        Client {
            base: base.trim_end_matches('/').to_string(),
            token: None,
            key: None,
            http: reqwest::Client::new(),
        }
    }

    /// The same client acting with an API token or session secret.
    pub fn with_token(&self, token: &str) -> Client {
        Client {
            token: Some(token.to_string()),
            ..self.clone()
        }
    }

    /// The same client sending this Idempotency-Key on every mutation.
    pub fn keyed(&self, key: &str) -> Client {
        Client {
            key: Some(key.to_string()),
            ..self.clone()
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn builder(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut b = self
            .http
            .request(method.clone(), format!("{}{}", self.base, path));
        if let Some(t) = &self.token {
            b = b.bearer_auth(t);
        }
        if method != Method::GET {
            let key = self
                .key
                .clone()
                .unwrap_or_else(|| Uuid::new_v4().to_string());
            b = b.header("Idempotency-Key", key);
        }
        b
    }

    async fn finish<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T> {
        let status = resp.status();
        let body = resp.text().await?;
        if status.is_success() {
            return serde_json::from_str(&body).map_err(|_| ClientError::Unexpected {
                status: status.as_u16(),
                body,
            });
        }
        match serde_json::from_str::<Problem>(&body) {
            Ok(problem) => Err(ClientError::Problem {
                status: status.as_u16(),
                problem,
            }),
            Err(_) => Err(ClientError::Unexpected {
                status: status.as_u16(),
                body,
            }),
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        Self::finish(self.builder(Method::GET, path).send().await?).await
    }

    async fn send<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T> {
        Self::finish(self.builder(method, path).json(body).send().await?).await
    }

    /// Any call with a raw body; `content_type` None sends no body.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> Result<RawResponse> {
        let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
        let mut b = self.builder(method, path);
        if let Some(ct) = content_type {
            b = b.header("content-type", ct).body(body.to_string());
        }
        let resp = b.send().await?;
        Ok(RawResponse {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body: resp.text().await?,
        })
    }

    pub async fn health(&self) -> Result<serde_json::Value> {
        self.get("/healthz").await
    }

    /// Password login; the answer carries the session secret (use it with [`Client::with_token`]).
    pub async fn login(&self, username: &str, password: &str) -> Result<CredentialCreated> {
        let resp = self
            .http
            .post(format!("{}/api/v1/sessions", self.base))
            .json(&Login {
                username: username.into(),
                password: password.into(),
            })
            .send()
            .await?;
        Self::finish(resp).await
    }

    pub async fn logout(&self) -> Result<CredentialView> {
        Self::finish(
            self.builder(Method::DELETE, "/api/v1/sessions/current")
                .send()
                .await?,
        )
        .await
    }

    pub async fn me(&self) -> Result<UserView> {
        self.get("/api/v1/me").await
    }

    pub async fn create_token(&self, input: &NewToken) -> Result<CredentialCreated> {
        self.send(Method::POST, "/api/v1/tokens", input).await
    }

    pub async fn tokens(&self) -> Result<Vec<CredentialView>> {
        self.get("/api/v1/tokens").await
    }

    pub async fn revoke_token(&self, id: Uuid) -> Result<CredentialView> {
        Self::finish(
            self.builder(Method::DELETE, &format!("/api/v1/tokens/{id}"))
                .send()
                .await?,
        )
        .await
    }

    pub async fn create_user(&self, input: &NewUser) -> Result<UserView> {
        self.send(Method::POST, "/api/v1/users", input).await
    }

    pub async fn users(&self) -> Result<Vec<UserView>> {
        self.get("/api/v1/users?limit=500").await
    }

    pub async fn create_enterprise(&self, input: &NewEnterpriseInput) -> Result<Enterprise> {
        self.send(Method::POST, "/api/v1/enterprises", input).await
    }

    pub async fn enterprises(&self, q: Option<&str>) -> Result<Vec<Enterprise>> {
        let path = match q {
            Some(q) => format!("/api/v1/enterprises?limit=500&q={}", encode(q)),
            None => "/api/v1/enterprises?limit=500".to_string(),
        };
        self.get(&path).await
    }

    pub async fn enterprise(&self, id: Uuid) -> Result<Enterprise> {
        self.get(&format!("/api/v1/enterprises/{id}")).await
    }

    pub async fn update_enterprise(&self, id: Uuid, patch: &EnterprisePatch) -> Result<Enterprise> {
        self.send(Method::PATCH, &format!("/api/v1/enterprises/{id}"), patch)
            .await
    }

    pub async fn authorise_broker(
        &self,
        principal: Uuid,
        input: &NewAuthorisation,
    ) -> Result<AuthorisationView> {
        self.send(
            Method::POST,
            &format!("/api/v1/enterprises/{principal}/broker-authorisations"),
            input,
        )
        .await
    }

    pub async fn authorisations(&self, enterprise: Uuid) -> Result<Vec<AuthorisationView>> {
        self.get(&format!(
            "/api/v1/enterprises/{enterprise}/broker-authorisations"
        ))
        .await
    }

    pub async fn revoke_authorisation(
        &self,
        enterprise: Uuid,
        id: Uuid,
        reason: &str,
    ) -> Result<AuthorisationView> {
        self.send(
            Method::DELETE,
            &format!("/api/v1/enterprises/{enterprise}/broker-authorisations/{id}"),
            &Reason {
                reason: reason.into(),
            },
        )
        .await
    }

    pub async fn reference_versions(&self) -> Result<Vec<VersionInfo>> {
        self.get("/api/v1/reference").await
    }

    /// Looks a code up, e.g. `(DatasetId::Hs, "8471.30")`.
    pub async fn reference(
        &self,
        dataset: DatasetId,
        code: &str,
    ) -> Result<tongguan_refdata::RefEntry> {
        self.get(&format!(
            "/api/v1/reference/{}/{}",
            dataset.as_str(),
            encode(code)
        ))
        .await
    }

    pub async fn reference_search(
        &self,
        dataset: DatasetId,
        q: &str,
        limit: usize,
    ) -> Result<EntryPage> {
        self.get(&format!(
            "/api/v1/reference/{}?q={}&limit={limit}",
            dataset.as_str(),
            encode(q)
        ))
        .await
    }

    pub async fn reference_children(&self, dataset: DatasetId, parent: &str) -> Result<EntryPage> {
        self.get(&format!(
            "/api/v1/reference/{}?parent={}&limit=500",
            dataset.as_str(),
            encode(parent)
        ))
        .await
    }

    /// Loads a new dataset version from canonical CSV (admin).
    pub async fn load_reference(
        &self,
        dataset: DatasetId,
        params: &NewVersionParams,
        csv: &str,
    ) -> Result<serde_json::Value> {
        let path = format!(
            "/api/v1/reference/{}/versions?label={}&valid_from={}&source={}",
            dataset.as_str(),
            encode(&params.label),
            params.valid_from,
            encode(&params.source)
        );
        let resp = self
            .builder(Method::POST, &path)
            .header("content-type", "text/csv; charset=utf-8")
            .body(csv.to_string())
            .send()
            .await?;
        Self::finish(resp).await
    }

    pub async fn audit(&self, after: i64, limit: i64) -> Result<Vec<AuditRecord>> {
        self.get(&format!("/api/v1/audit?after={after}&limit={limit}"))
            .await
    }

    pub async fn audit_verify(&self) -> Result<ChainReport> {
        self.get("/api/v1/audit/verify").await
    }
}

impl Client {
    pub async fn create_declaration(&self, input: &NewDeclaration) -> Result<DeclarationView> {
        self.send(Method::POST, "/api/v1/declarations", input).await
    }

    pub async fn declaration(&self, id: Uuid) -> Result<DeclarationView> {
        self.get(&format!("/api/v1/declarations/{id}")).await
    }

    pub async fn declarations(&self, q: &DeclarationQuery) -> Result<Vec<DeclarationView>> {
        let mut parts = Vec::new();
        let mut add = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                parts.push(format!("{k}={}", encode(&v)));
            }
        };
        add("status", q.status.clone());
        add("bill_no", q.bill_no.clone());
        add("container_no", q.container_no.clone());
        add("from", q.from.map(|t| t.to_rfc3339()));
        add("to", q.to.map(|t| t.to_rfc3339()));
        add("limit", q.limit.map(|l| l.to_string()));
        add("offset", q.offset.map(|l| l.to_string()));
        self.get(&format!("/api/v1/declarations?{}", parts.join("&")))
            .await
    }

    pub async fn create_subscription(&self, input: &NewSubscription) -> Result<Subscription> {
        self.send(Method::POST, "/api/v1/subscriptions", input)
            .await
    }

    pub async fn subscriptions(&self) -> Result<Vec<Subscription>> {
        self.get("/api/v1/subscriptions").await
    }

    pub async fn subscription(&self, id: Uuid) -> Result<Subscription> {
        self.get(&format!("/api/v1/subscriptions/{id}")).await
    }

    /// Turns a subscription on (`true`, e.g. after failures disabled it) or off.
    pub async fn set_subscription_active(
        &self,
        id: Uuid,
        active: bool,
        reason: &str,
    ) -> Result<Subscription> {
        let what = if active { "enable" } else { "disable" };
        self.send(
            Method::POST,
            &format!("/api/v1/subscriptions/{id}/{what}"),
            &Reason {
                reason: reason.into(),
            },
        )
        .await
    }

    pub async fn rotate_secret(&self, id: Uuid, secret: Option<&str>) -> Result<Subscription> {
        self.send(
            Method::POST,
            &format!("/api/v1/subscriptions/{id}/secret"),
            &RotateSecret {
                secret: secret.map(str::to_string),
            },
        )
        .await
    }

    /// The delivery log, newest first; `status` pending, delivered or failed.
    pub async fn deliveries(&self, id: Uuid, status: Option<&str>) -> Result<Vec<Delivery>> {
        let q = status
            .map(|s| format!("?status={}", encode(s)))
            .unwrap_or_default();
        self.get(&format!("/api/v1/subscriptions/{id}/deliveries{q}"))
            .await
    }

    pub async fn delivery(&self, id: Uuid, delivery: Uuid) -> Result<Delivery> {
        self.get(&format!("/api/v1/subscriptions/{id}/deliveries/{delivery}"))
            .await
    }

    pub async fn redeliver(&self, id: Uuid, delivery: Uuid) -> Result<Delivery> {
        self.send(
            Method::POST,
            &format!("/api/v1/subscriptions/{id}/deliveries/{delivery}/redeliver"),
            &serde_json::Value::Null,
        )
        .await
    }

    pub async fn recover(
        &self,
        id: Uuid,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Recovered> {
        self.send(
            Method::POST,
            &format!("/api/v1/subscriptions/{id}/recover"),
            &RecoverInput { since },
        )
        .await
    }

    pub async fn allowed_networks(&self) -> Result<Vec<AllowedNetwork>> {
        self.get("/api/v1/admin/webhook-allowlist").await
    }

    /// Admin: lets webhooks reach a loopback, private or link-local network (or, `allow`
    /// false, no longer).
    pub async fn set_network(
        &self,
        cidr: &str,
        reason: &str,
        allow: bool,
    ) -> Result<AllowedNetwork> {
        let path = if allow {
            "/api/v1/admin/webhook-allowlist"
        } else {
            "/api/v1/admin/webhook-allowlist/removal"
        };
        self.send(
            Method::POST,
            path,
            &NetworkInput {
                cidr: cidr.into(),
                reason: reason.into(),
            },
        )
        .await
    }

    /// Applies for a certificate of origin; the answer is the review's outcome.
    pub async fn apply_certificate(&self, input: &CertificateApplication) -> Result<Certificate> {
        self.send(Method::POST, "/api/v1/origin/certificates", input)
            .await
    }

    pub async fn certificates(&self) -> Result<Vec<Certificate>> {
        self.get("/api/v1/origin/certificates").await
    }

    pub async fn certificate(&self, id: Uuid) -> Result<Certificate> {
        self.get(&format!("/api/v1/origin/certificates/{id}")).await
    }

    /// The printable certificate (HTML).
    pub async fn certificate_html(&self, id: Uuid) -> Result<String> {
        let r = self
            .builder(
                Method::GET,
                &format!("/api/v1/origin/certificates/{id}/print"),
            )
            .send()
            .await?;
        if !r.status().is_success() {
            return Self::finish(r).await;
        }
        Ok(r.text().await?)
    }

    pub async fn override_certificate(
        &self,
        id: Uuid,
        input: &CertificateOverride,
    ) -> Result<Certificate> {
        self.send(
            Method::POST,
            &format!("/api/v1/origin/certificates/{id}/override"),
            input,
        )
        .await
    }

    pub async fn register_received_certificate(
        &self,
        input: &ReceivedCertificate,
    ) -> Result<Certificate> {
        self.send(Method::POST, "/api/v1/origin/received", input)
            .await
    }

    /// Public: verifies a certificate by its number and code (no login needed).
    pub async fn verify_certificate(
        &self,
        number: &str,
        code: &str,
    ) -> Result<CertificateVerification> {
        self.get(&format!(
            "/api/v1/origin/verification?number={}&code={}",
            encode(number),
            encode(code)
        ))
        .await
    }

    /// Opens the caller's server-sent-event stream of status changes; `last_event_id`
    /// resumes after an event already received.
    pub async fn event_stream(&self, last_event_id: Option<&str>) -> Result<EventStream> {
        let mut b = self.builder(Method::GET, "/api/v1/events/stream");
        if let Some(id) = last_event_id {
            b = b.header("Last-Event-ID", id);
        }
        let resp = b.send().await?;
        if !resp.status().is_success() {
            return Err(Self::finish::<serde_json::Value>(resp)
                .await
                .err()
                .unwrap_or(ClientError::Unexpected {
                    status: 0,
                    body: String::new(),
                }));
        }
        Ok(EventStream {
            resp,
            buf: Vec::new(),
        })
    }

    /// 状态查询: the timeline of a declaration, bill of lading or container.
    pub async fn timeline(&self, q: &TimelineQuery) -> Result<Timeline> {
        let mut parts = Vec::new();
        if let Some(id) = q.declaration {
            parts.push(format!("declaration={id}"));
        }
        if let Some(b) = &q.bill_no {
            parts.push(format!("bill_no={}", encode(b)));
        }
        if let Some(c) = &q.container_no {
            parts.push(format!("container_no={}", encode(c)));
        }
        self.get(&format!("/api/v1/timeline?{}", parts.join("&")))
            .await
    }

    pub async fn edit_declaration(
        &self,
        id: Uuid,
        input: &DeclarationEdit,
    ) -> Result<DeclarationView> {
        self.send(Method::PUT, &format!("/api/v1/declarations/{id}"), input)
            .await
    }

    pub async fn submit_declaration(&self, id: Uuid) -> Result<DeclarationView> {
        Self::finish(
            self.builder(Method::POST, &format!("/api/v1/declarations/{id}/submit"))
                .send()
                .await?,
        )
        .await
    }

    pub async fn declaration_events(&self, id: Uuid) -> Result<Vec<Event>> {
        self.get(&format!("/api/v1/declarations/{id}/events")).await
    }

    pub async fn request_cancellation(&self, id: Uuid, reason: &str) -> Result<DeclarationView> {
        self.send(
            Method::POST,
            &format!("/api/v1/declarations/{id}/cancellation"),
            &Reason {
                reason: reason.into(),
            },
        )
        .await
    }

    pub async fn request_amendment(
        &self,
        id: Uuid,
        input: &AmendmentInput,
    ) -> Result<DeclarationView> {
        self.send(
            Method::POST,
            &format!("/api/v1/declarations/{id}/amendment"),
            input,
        )
        .await
    }

    pub async fn decide_request(
        &self,
        id: Uuid,
        approve: bool,
        reason: &str,
    ) -> Result<DeclarationView> {
        self.send(
            Method::POST,
            &format!("/api/v1/declarations/{id}/request-decision"),
            &DecisionInput {
                approve,
                reason: reason.into(),
            },
        )
        .await
    }

    pub async fn return_declaration(&self, id: Uuid, reason: &str) -> Result<DeclarationView> {
        self.send(
            Method::POST,
            &format!("/api/v1/declarations/{id}/return"),
            &Reason {
                reason: reason.into(),
            },
        )
        .await
    }

    pub async fn record_inspection(
        &self,
        id: Uuid,
        input: &InspectionInput,
    ) -> Result<DeclarationView> {
        self.send(
            Method::POST,
            &format!("/api/v1/declarations/{id}/inspection"),
            input,
        )
        .await
    }

    pub async fn admit_to_market(
        &self,
        id: Uuid,
        passed: bool,
        reason: &str,
    ) -> Result<DeclarationView> {
        self.send(
            Method::POST,
            &format!("/api/v1/declarations/{id}/market-admission"),
            &MarketAdmissionInput {
                passed,
                reason: reason.into(),
            },
        )
        .await
    }

    pub async fn complete_declaration(
        &self,
        id: Uuid,
        input: &CompleteInput,
    ) -> Result<DeclarationView> {
        self.send(
            Method::POST,
            &format!("/api/v1/declarations/{id}/complete"),
            input,
        )
        .await
    }

    pub async fn file_manifest(&self, input: &ManifestInput) -> Result<Manifest> {
        self.send(Method::POST, "/api/v1/manifests", input).await
    }

    pub async fn manifest(&self, id: Uuid) -> Result<Manifest> {
        self.get(&format!("/api/v1/manifests/{id}")).await
    }

    pub async fn report_arrival(&self, input: &ArrivalReportInput) -> Result<ArrivalOutcome> {
        self.send(Method::POST, "/api/v1/arrival-reports", input)
            .await
    }

    pub async fn gate(&self, container_no: &str) -> Result<GateDecision> {
        self.get(&format!("/api/v1/gate/containers/{}", encode(container_no)))
            .await
    }

    pub async fn instructions(&self) -> Result<Vec<InstructionView>> {
        self.get("/api/v1/control-instructions").await
    }

    pub async fn create_instruction(&self, input: &InstructionInput) -> Result<InstructionView> {
        self.send(Method::POST, "/api/v1/control-instructions", input)
            .await
    }

    pub async fn change_instruction(
        &self,
        id: Uuid,
        input: &InstructionInput,
    ) -> Result<InstructionView> {
        self.send(
            Method::PUT,
            &format!("/api/v1/control-instructions/{id}"),
            input,
        )
        .await
    }

    pub async fn revoke_instruction(&self, id: Uuid, reason: &str) -> Result<InstructionView> {
        self.send(
            Method::POST,
            &format!("/api/v1/control-instructions/{id}/revoke"),
            &Reason {
                reason: reason.into(),
            },
        )
        .await
    }
}

impl Client {
    pub async fn set_exchange_rate(
        &self,
        currency: &str,
        month: &str,
        input: &ExchangeRateInput,
    ) -> Result<ExchangeRateView> {
        self.send(
            Method::PUT,
            &format!(
                "/api/v1/exchange-rates/{}/{}",
                encode(currency),
                encode(month)
            ),
            input,
        )
        .await
    }

    pub async fn exchange_rates(&self) -> Result<Vec<ExchangeRateView>> {
        self.get("/api/v1/exchange-rates").await
    }

    pub async fn register_guarantee(
        &self,
        enterprise: Uuid,
        input: &GuaranteeInput,
    ) -> Result<GuaranteeView> {
        self.send(
            Method::POST,
            &format!("/api/v1/enterprises/{enterprise}/guarantees"),
            input,
        )
        .await
    }

    pub async fn guarantees(&self, enterprise: Uuid) -> Result<Vec<GuaranteeView>> {
        self.get(&format!("/api/v1/enterprises/{enterprise}/guarantees"))
            .await
    }

    pub async fn decide_guarantee(
        &self,
        id: Uuid,
        approve: bool,
        reason: &str,
    ) -> Result<GuaranteeView> {
        self.send(
            Method::POST,
            &format!("/api/v1/guarantees/{id}/decision"),
            &DecisionInput {
                approve,
                reason: reason.into(),
            },
        )
        .await
    }

    pub async fn quota(&self, enterprise: Uuid) -> Result<QuotaView> {
        self.get(&format!("/api/v1/enterprises/{enterprise}/quota"))
            .await
    }

    pub async fn pay_statement(
        &self,
        enterprise: Uuid,
        month: &str,
        input: &StatementPaymentInput,
    ) -> Result<Option<StatementView>> {
        self.send(
            Method::POST,
            &format!(
                "/api/v1/enterprises/{enterprise}/statements/{}/payments",
                encode(month)
            ),
            input,
        )
        .await
    }

    /// Files the manifests of a CUSCAR interchange.
    pub async fn import_cuscar(&self, customs: &str, edifact: &str) -> Result<CuscarImport> {
        let resp = self
            .builder(
                Method::POST,
                &format!("/api/v1/manifests/cuscar?customs={}", encode(customs)),
            )
            .header("content-type", "application/edifact")
            .body(edifact.to_string())
            .send()
            .await?;
        Self::finish(resp).await
    }

    pub async fn terminals(&self) -> Result<Vec<TerminalView>> {
        self.get("/api/v1/terminals").await
    }

    pub async fn put_terminal(&self, input: &TerminalInput) -> Result<TerminalView> {
        self.send(
            Method::PUT,
            &format!("/api/v1/terminals/{}", encode(&input.terminal.code)),
            input,
        )
        .await
    }

    pub async fn combination_ports(&self) -> Result<Vec<CombinationPort>> {
        self.get("/api/v1/combination-ports").await
    }

    pub async fn terminal_event(&self, input: &TerminalEventInput) -> Result<TerminalEventAnswer> {
        self.send(Method::POST, "/api/v1/terminal-events", input)
            .await
    }

    pub async fn unloading_list(
        &self,
        terminal: &str,
        manifest: Uuid,
    ) -> Result<Vec<UnloadingEntry>> {
        self.get(&format!(
            "/api/v1/terminals/{}/unloading-list?manifest_id={manifest}",
            encode(terminal)
        ))
        .await
    }

    /// Officers: every enterprise's quota and statements.
    pub async fn quotas(&self) -> Result<Vec<QuotaView>> {
        self.get("/api/v1/quotas").await
    }

    /// The tariff line in force for a code today.
    pub async fn tariff_line(&self, code: &str) -> Result<serde_json::Value> {
        self.get(&format!("/api/v1/tariff/{}", encode(code))).await
    }

    /// Loads a tariff table version from its CSV (admin).
    /// Admin: loads a product-specific rule table (CSV as data/rcep/psr_annex3a.csv).
    pub async fn load_origin_rules(
        &self,
        params: &NewVersionParams,
        csv: &str,
    ) -> Result<serde_json::Value> {
        self.load_version("/api/v1/origin/rules", params, csv).await
    }

    /// POSTs a CSV version with its label, date and source.
    async fn load_version(
        &self,
        path: &str,
        params: &NewVersionParams,
        csv: &str,
    ) -> Result<serde_json::Value> {
        self.csv(
            &format!(
                "{path}?label={}&valid_from={}&source={}",
                encode(&params.label),
                params.valid_from,
                encode(&params.source)
            ),
            csv,
        )
        .await
    }

    pub async fn load_tariff(
        &self,
        params: &NewVersionParams,
        csv: &str,
    ) -> Result<serde_json::Value> {
        self.load_version("/api/v1/tariff/versions", params, csv)
            .await
    }

    /// Imports monthly exchange rates from CSV (admin).
    pub async fn import_exchange_rates(&self, csv: &str) -> Result<serde_json::Value> {
        self.csv("/api/v1/exchange-rates", csv).await
    }

    async fn csv(&self, path: &str, csv: &str) -> Result<serde_json::Value> {
        let resp = self
            .builder(Method::POST, path)
            .header("content-type", "text/csv; charset=utf-8")
            .body(csv.to_string())
            .send()
            .await?;
        Self::finish(resp).await
    }

    pub async fn record_payment(
        &self,
        declaration: Uuid,
        reference: &str,
    ) -> Result<DeclarationView> {
        self.send(
            Method::POST,
            &format!("/api/v1/declarations/{declaration}/payment"),
            &PaymentInput {
                reference: reference.into(),
            },
        )
        .await
    }
}

/// Percent-encodes a query or path value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// True when the status means the server refused the call as the caller's fault.
pub fn is_client_error(status: StatusCode) -> bool {
    status.is_client_error()
}

/// The server's clock and historical statements (issue 19).
impl Client {
    /// The month's consolidated-tax statement as of the server's today.
    pub async fn statement(&self, enterprise: Uuid, month: &str) -> Result<StatementView> {
        self.get(&format!(
            "/api/v1/enterprises/{enterprise}/statements/{}",
            encode(month)
        ))
        .await
    }

    /// The server's time and how it is set (admins, officers).
    pub async fn clock(&self) -> Result<ClockView> {
        self.get("/api/v1/admin/clock").await
    }

    /// Sets the server's clock (admin, development servers only).
    pub async fn set_clock(&self, input: &ClockInput) -> Result<ClockView> {
        self.send(Method::PUT, "/api/v1/admin/clock", input).await
    }
}
