-- Transactional outbox (M15): every status event, written in the transaction of the change
-- itself; server-sent events, webhook fan-out and NATS publication read it by sequence.
CREATE TABLE outbox (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The message id (UUIDv7, unique by construction; no index to keep on the hot path)
    id TEXT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    -- Who may see it: the owning enterprise, a terminal, the port and customs districts.
    enterprise_id TEXT,
    terminal TEXT,
    port TEXT,
    customs TEXT NOT NULL,
    -- What it is about, for subscription filters.
    declaration_id TEXT,
    bill_no TEXT,
    containers TEXT NOT NULL,
    data TEXT NOT NULL
);

-- Readers' positions in the outbox (the webhook fan-out, NATS publication).
CREATE TABLE outbox_cursors (
    name TEXT PRIMARY KEY,
    seq BIGINT NOT NULL
);

-- Webhook subscriptions of enterprises and terminals; body is the JSON document.
CREATE TABLE webhook_subscriptions (
    id TEXT PRIMARY KEY,
    enterprise_id TEXT,
    terminal TEXT,
    status TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX webhook_subscriptions_enterprise ON webhook_subscriptions(enterprise_id);
CREATE INDEX webhook_subscriptions_terminal ON webhook_subscriptions(terminal);

-- One message to one subscription, retried until delivered or given up.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions(id),
    message_seq BIGINT NOT NULL REFERENCES outbox(seq),
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT,
    last_status BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT webhook_deliveries_message_key UNIQUE (subscription_id, message_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);

-- Every attempt of a delivery: the delivery log its owner reads.
CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id),
    attempt BIGINT NOT NULL,
    at BIGINT NOT NULL,
    status_code BIGINT,
    error TEXT,
    duration_us BIGINT NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

-- Networks an admin allows webhooks to reach although they are loopback, private or
-- link-local (refused by default against server-side request forgery).
CREATE TABLE webhook_allowlist (
    cidr TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at BIGINT NOT NULL
);
