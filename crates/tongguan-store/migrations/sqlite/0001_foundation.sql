-- Foundation: enterprises, identities, credentials, broker authorisations, idempotency,
-- audit chain, reference data versions. Times are microseconds since the Unix epoch (UTC).
CREATE TABLE enterprises (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    uscc TEXT NOT NULL,
    customs_code TEXT NOT NULL,
    credit_level TEXT NOT NULL,
    tags TEXT NOT NULL,
    address TEXT,
    contact_phone TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    CONSTRAINT enterprises_uscc_key UNIQUE (uscc),
    CONSTRAINT enterprises_customs_code_key UNIQUE (customs_code)
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    enterprise_id TEXT REFERENCES enterprises(id),
    district TEXT,
    terminals TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    CONSTRAINT users_username_key UNIQUE (username)
);
CREATE INDEX users_enterprise ON users(enterprise_id);

CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    CONSTRAINT credentials_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX credentials_user ON credentials(user_id);

CREATE TABLE broker_authorisations (
    id TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES enterprises(id),
    broker_id TEXT NOT NULL REFERENCES enterprises(id),
    valid_from TEXT NOT NULL,
    valid_until TEXT,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    reason TEXT NOT NULL
);
CREATE INDEX broker_authorisations_broker ON broker_authorisations(broker_id);
CREATE INDEX broker_authorisations_principal ON broker_authorisations(principal_id);

CREATE TABLE idempotency (
    actor_id TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (actor_id, key)
);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    reason TEXT NOT NULL,
    request_id TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
-- Append-only: the database itself refuses changes to written rows.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE ref_versions (
    id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    dataset TEXT NOT NULL,
    label TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    source TEXT NOT NULL,
    shipped BIGINT NOT NULL,
    loaded_at BIGINT NOT NULL,
    loaded_by TEXT NOT NULL,
    entries BIGINT NOT NULL
);
CREATE TABLE ref_entries (
    version_id TEXT NOT NULL REFERENCES ref_versions(id),
    code TEXT NOT NULL,
    name_en TEXT,
    name_zh TEXT,
    parent TEXT,
    attributes TEXT NOT NULL,
    PRIMARY KEY (version_id, code)
);
