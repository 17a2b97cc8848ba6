//! Identities (身份): users, password login, browser sessions and API tokens.
//!
//! Secrets are random 256-bit values shown once; only their SHA-256 is stored, so a leaked
//! database does not leak usable credentials. Passwords are hashed with argon2id.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};
pub use tongguan_api::{CredentialCreated, CredentialView, Login, NewToken, NewUser, UserView};
use tongguan_domain::Violations;
use tongguan_domain::codes::CustomsDistrictCode;
use tongguan_domain::identity::{Actor, Role, check_binding};
use tongguan_refdata::DatasetId;
use tongguan_store::{Changeset, CredentialKind, CredentialRecord, Op, UserRecord};
use uuid::Uuid;

use super::{App, AppError, AppResult, Ctx, Reply, new_id};
use crate::config::PasswordConfig;

/// The API view of a user (never the password hash).
pub fn user_view(u: &UserRecord) -> UserView {
    {
        UserView {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role: u.role,
            enterprise_id: u.enterprise_id,
            district: u.district.as_ref().map(ToString::to_string),
            terminals: u.terminals.clone(),
            disabled: u.disabled,
            created_at: u.created_at,
        }
    }
}

/// The API view of a credential (never its hash).
pub fn credential_view(c: &CredentialRecord) -> CredentialView {
    {
        CredentialView {
            id: c.id,
            kind: c.kind.as_str().to_string(),
            name: c.name.clone(),
            created_at: c.created_at,
            expires_at: c.expires_at,
            revoked_at: c.revoked_at,
        }
    }
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub actor: Actor,
    pub credential_id: Uuid,
}

/// SHA-256 of a secret, hex.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn new_secret(prefix: &str) -> AppResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

fn argon2(cfg: &PasswordConfig) -> AppResult<Argon2<'static>> {
    let params = Params::new(cfg.memory_kib, cfg.iterations, cfg.parallelism, None)
        .map_err(|e| AppError::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password on a blocking thread (argon2 is deliberately slow).
pub async fn hash_password(cfg: &PasswordConfig, password: String) -> AppResult<String> {
    let a = argon2(cfg)?;
    tokio::task::spawn_blocking(move || {
        a.hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(format!("hashing: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
}

async fn verify_password(hash: String, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

fn actor_of(u: &UserRecord) -> Actor {
    Actor {
        user_id: u.id,
        username: u.username.clone(),
        role: u.role,
        enterprise_id: u.enterprise_id,
        district: u.district.clone(),
        terminals: u.terminals.clone(),
    }
}

pub fn require_role(ctx: &Ctx, roles: &[Role]) -> AppResult<()> {
    if roles.contains(&ctx.actor.role) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "the {} role may not do this",
            ctx.actor.role.as_str()
        )))
    }
}

fn valid_username(s: &str) -> bool {
    (3..=64).contains(&s.len())
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

impl App {
    /// Resolves a bearer secret (API token or session) to its actor.
    pub async fn authenticate(&self, secret: &str) -> AppResult<Authenticated> {
        let cred = self
            .store
            .credential_by_hash(&secret_hash(secret))
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let now = self.now();
        if cred.revoked_at.is_some() || cred.expires_at.is_some_and(|e| e <= now) {
            return Err(AppError::Unauthenticated);
        }
        let user = self
            .store
            .user(cred.user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if user.disabled {
            return Err(AppError::Unauthenticated);
        }
        Ok(Authenticated {
            actor: actor_of(&user),
            credential_id: cred.id,
        })
    }

    /// Whether a credential still authenticates its user: long-lived connections (event
    /// streams) check it again instead of trusting the moment they were opened.
    pub async fn credential_in_force(&self, credential: uuid::Uuid) -> AppResult<bool> {
        let now = self.now();
        let Some(cred) = self.store.credential(credential).await? else {
            return Ok(false);
        };
        if cred.revoked_at.is_some() || cred.expires_at.is_some_and(|e| e <= now) {
            return Ok(false);
        }
        Ok(self
            .store
            .user(cred.user_id)
            .await?
            .is_some_and(|u| !u.disabled))
    }

    /// Password login: a new browser session. Not idempotent by design: every login is a
    /// new session, and its secret must never be stored for replay.
    pub async fn login(&self, login: &Login, request_id: &str) -> AppResult<CredentialCreated> {
        let user = self.store.user_by_username(login.username.trim()).await?;
        let ok = match &user {
            Some(u) => verify_password(u.password_hash.clone(), login.password.clone()).await,
            None => {
                // Spend the same argon2 work for an unknown user, so response time does not
                // tell which usernames exist.
                let _ = hash_password(&self.config.password, login.password.clone()).await;
                false
            }
        };
        let user = match user {
            Some(u) if ok && !u.disabled => u,
            _ => {
                tracing::warn!(target: "security", username = %login.username, request_id, "failed login");
                metrics::counter!("tongguan_login_failures_total").increment(1);
                return Err(AppError::Unauthenticated);
            }
        };
        let now = self.now();
        let secret = new_secret("tgs_")?;
        let cred = CredentialRecord {
            id: new_id(),
            user_id: user.id,
            kind: CredentialKind::Session,
            name: "browser session".into(),
            token_hash: secret_hash(&secret),
            created_at: now,
            expires_at: Some(now + chrono::Duration::hours(self.config.session_hours)),
            revoked_at: None,
        };
        let ctx = Ctx {
            actor: actor_of(&user),
            request_id: request_id.to_string(),
            idempotency: None,
        };
        let audit = self.audit_draft(
            &ctx,
            "session.create",
            &format!("user/{}", user.id),
            "password login",
        );
        self.store
            .commit(Changeset::new(
                vec![Op::InsertCredential(cred.clone())],
                audit,
            ))
            .await
            .map_err(super::map_store_error)?;
        Ok(CredentialCreated {
            credential: credential_view(&cred),
            secret: Some(secret),
            user: user_view(&user),
        })
    }

    /// Ends the caller's session or revokes one of its tokens.
    pub async fn revoke_credential(&self, ctx: &Ctx, id: Uuid, reason: &str) -> AppResult<Reply> {
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let cred = self.store.credential(id).await?;
        let cred = match cred {
            Some(c) if c.user_id == ctx.actor.user_id || ctx.actor.role == Role::Admin => c,
            Some(_) => {
                super::security_denied(ctx, &format!("credential/{id}"));
                return Err(AppError::NotFound(format!("credential {id}")));
            }
            None => return Err(AppError::NotFound(format!("credential {id}"))),
        };
        if cred.revoked_at.is_some() {
            return Err(super::invalid(
                "id",
                "credential.revoked",
                "this credential is already revoked",
            ));
        }
        let now = self.now();
        let audit = self.audit_draft(
            ctx,
            "credential.revoke",
            &format!("credential/{id}"),
            reason,
        );
        let mut view = credential_view(&cred);
        view.revoked_at = Some(now);
        self.commit_reply(
            ctx,
            Changeset::new(vec![Op::RevokeCredential { id, at: now }], audit),
            200,
            &view,
            None,
        )
        .await
    }

    pub async fn create_token(&self, ctx: &Ctx, input: &NewToken) -> AppResult<Reply> {
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let mut v = Violations::new();
        let name = v.check(
            "name",
            tongguan_domain::enterprise::text_field(&input.name, 100),
        );
        if let Some(d) = input.expires_in_days
            && !(1..=3650).contains(&d)
        {
            v.push(
                "expires_in_days",
                "token.expiry_range",
                "between 1 and 3650 days",
            );
        }
        let name = match name {
            Some(n) if v.is_empty() => n,
            _ => return Err(v.into()),
        };
        let user = self
            .store
            .user(ctx.actor.user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let now = self.now();
        let secret = new_secret("tgk_")?;
        let cred = CredentialRecord {
            id: new_id(),
            user_id: user.id,
            kind: CredentialKind::ApiToken,
            name,
            token_hash: secret_hash(&secret),
            created_at: now,
            expires_at: input
                .expires_in_days
                .map(|d| now + chrono::Duration::days(d)),
            revoked_at: None,
        };
        let audit = self.audit_draft(
            ctx,
            "token.create",
            &format!("credential/{}", cred.id),
            "API token created by its user",
        );
        let mut created = CredentialCreated {
            credential: credential_view(&cred),
            secret: None,
            user: user_view(&user),
        };
        let stored =
            serde_json::to_string(&created).map_err(|e| AppError::Internal(e.to_string()))?;
        created.secret = Some(secret);
        self.commit_reply(
            ctx,
            Changeset::new(vec![Op::InsertCredential(cred)], audit),
            201,
            &created,
            Some(stored),
        )
        .await
    }

    pub async fn list_credentials(&self, ctx: &Ctx) -> AppResult<Vec<CredentialView>> {
        Ok(self
            .store
            .credentials_of_user(ctx.actor.user_id)
            .await?
            .iter()
            .map(credential_view)
            .collect())
    }

    pub async fn me(&self, ctx: &Ctx) -> AppResult<UserView> {
        self.store
            .user(ctx.actor.user_id)
            .await?
            .map(|u| user_view(&u))
            .ok_or(AppError::Unauthenticated)
    }

    /// Validates a new user's fields, reporting every violation at once.
    async fn parse_new_user(&self, input: &NewUser) -> AppResult<UserRecord> {
        let mut v = Violations::new();
        let username = input.username.trim().to_string();
        if !valid_username(&username) {
            v.push(
                "username",
                "username.format",
                "3-64 characters: lower-case letters, digits, '.', '_' or '-'",
            );
        }
        let display_name = v.check(
            "display_name",
            tongguan_domain::enterprise::text_field(&input.display_name, 100),
        );
        if input.password.chars().count() < self.config.password.min_length {
            v.push(
                "password",
                "password.too_short",
                format!(
                    "at least {} characters (NIST SP 800-63B)",
                    self.config.password.min_length
                ),
            );
        }
        let role = v.check("role", Role::parse(&input.role));
        let catalog = self.catalog();
        let district = match &input.district {
            Some(d) => v
                .check("district", CustomsDistrictCode::parse(d))
                .and_then(|d| {
                    if catalog.contains(DatasetId::CustomsDistricts, d.as_str()) {
                        Some(d)
                    } else {
                        v.push(
                            "district",
                            "customs_district.unknown",
                            format!("{d} is not in the customs district table (关区代码表)"),
                        );
                        None
                    }
                }),
            None => None,
        };
        let mut terminals = Vec::new();
        for (i, t) in input.terminals.iter().enumerate() {
            let t = t.trim().to_ascii_uppercase();
            let port = t.split('-').next().unwrap_or("");
            let suffix_ok =
                t.len() <= 40 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !suffix_ok || !catalog.contains(DatasetId::Ports, port) {
                v.push(
                    format!("terminals/{i}"),
                    "terminal.unknown_port",
                    format!(
                        "'{t}' must be a UN/LOCODE port code, optionally followed by -TERMINAL (e.g. CNYTN-YICT)"
                    ),
                );
            } else if !terminals.contains(&t) {
                terminals.push(t);
            }
        }
        if let Some(eid) = input.enterprise_id
            && self.store.enterprise(eid).await?.is_none()
        {
            v.push(
                "enterprise_id",
                "enterprise.unknown",
                format!("no enterprise {eid}"),
            );
        }
        if let Some(role) = role {
            for b in check_binding(
                role,
                input.enterprise_id,
                district.as_ref(),
                &input.terminals,
            ) {
                v.0.push(b);
            }
        }
        match (role, display_name) {
            (Some(role), Some(display_name)) if v.is_empty() => Ok(UserRecord {
                id: new_id(),
                username,
                display_name,
                role,
                enterprise_id: input.enterprise_id,
                district,
                terminals,
                password_hash: hash_password(&self.config.password, input.password.clone()).await?,
                disabled: false,
                created_at: self.now(),
                version: 1,
            }),
            _ => Err(v.into()),
        }
    }

    /// Admin: creates a user bound as its role requires.
    pub async fn create_user(&self, ctx: &Ctx, input: &NewUser) -> AppResult<Reply> {
        require_role(ctx, &[Role::Admin])?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let user = self.parse_new_user(input).await?;
        let audit = self.audit_draft(
            ctx,
            "user.create",
            &format!("user/{}", user.id),
            &format!("created {} as {}", user.username, user.role.as_str()),
        );
        let view = user_view(&user);
        self.commit_reply(
            ctx,
            Changeset::new(vec![Op::InsertUser(user)], audit),
            201,
            &view,
            None,
        )
        .await
    }

    pub async fn list_users(&self, ctx: &Ctx, limit: i64, offset: i64) -> AppResult<Vec<UserView>> {
        require_role(ctx, &[Role::Admin])?;
        Ok(self
            .store
            .list_users(limit, offset)
            .await?
            .iter()
            .map(user_view)
            .collect())
    }

    /// Issues a new API token to an existing user without an HTTP call (demo seeding, CLI).
    pub async fn issue_token_for(
        &self,
        ctx: &Ctx,
        user: &UserRecord,
        name: &str,
    ) -> AppResult<String> {
        let secret = new_secret("tgk_")?;
        let cred = CredentialRecord {
            id: new_id(),
            user_id: user.id,
            kind: CredentialKind::ApiToken,
            name: name.to_string(),
            token_hash: secret_hash(&secret),
            created_at: self.now(),
            expires_at: None,
            revoked_at: None,
        };
        let audit = self.audit_draft(
            ctx,
            "token.create",
            &format!("credential/{}", cred.id),
            &format!("token '{name}' issued to {}", user.username),
        );
        self.store
            .commit(Changeset::new(vec![Op::InsertCredential(cred)], audit))
            .await
            .map_err(super::map_store_error)?;
        Ok(secret)
    }

    /// Creates a user and an API token for it without an HTTP call (CLI and demo seeding).
    pub async fn provision_user(
        &self,
        ctx: &Ctx,
        input: &NewUser,
        token_name: &str,
    ) -> AppResult<(UserView, String)> {
        let user = self.parse_new_user(input).await?;
        let secret = new_secret("tgk_")?;
        let now = self.now();
        let cred = CredentialRecord {
            id: new_id(),
            user_id: user.id,
            kind: CredentialKind::ApiToken,
            name: token_name.to_string(),
            token_hash: secret_hash(&secret),
            created_at: now,
            expires_at: None,
            revoked_at: None,
        };
        let audit = self.audit_draft(
            ctx,
            "user.create",
            &format!("user/{}", user.id),
            &format!(
                "provisioned {} as {} with an API token",
                user.username,
                user.role.as_str()
            ),
        );
        let view = user_view(&user);
        self.store
            .commit(Changeset::new(
                vec![Op::InsertUser(user), Op::InsertCredential(cred)],
                audit,
            ))
            .await
            .map_err(super::map_store_error)?;
        Ok((view, secret))
    }
}
