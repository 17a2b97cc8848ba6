-- Certificates of origin (原产地证书, M11): applications reviewed by rules, approved or
-- returned, and certificates received from partners' issuing authorities. `key` is the
-- certificate number once there is one; body is the JSON document.
CREATE TABLE origin_certificates (
    id TEXT PRIMARY KEY,
    enterprise_id TEXT,
    key TEXT,
    status TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    CONSTRAINT origin_certificates_number_key UNIQUE (key)
);
CREATE INDEX origin_certificates_enterprise ON origin_certificates(enterprise_id, created_at);

-- Product-specific rule tables loaded by admins (the curated sample ships in the binary);
-- body is {label, valid_from, source, loaded_by, csv}.
CREATE TABLE origin_rule_tables (
    id TEXT PRIMARY KEY,
    enterprise_id TEXT,
    key TEXT,
    status TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
