-- Taxes: tariff table versions, customs exchange rates, tax guarantees and the quota ledger
-- (monthly consolidated-tax statements are derived from the ledger's transfers).
CREATE TABLE tariff_versions (
    id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    label TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    source TEXT NOT NULL,
    shipped BIGINT NOT NULL,
    loaded_at BIGINT NOT NULL,
    loaded_by TEXT NOT NULL,
    csv TEXT NOT NULL
);

CREATE TABLE exchange_rates (
    currency TEXT NOT NULL,
    month TEXT NOT NULL,
    cny_per_unit TEXT NOT NULL,
    source TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at BIGINT NOT NULL,
    PRIMARY KEY (currency, month)
);

CREATE TABLE guarantees (
    id TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    status TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX guarantees_enterprise ON guarantees(enterprise_id);

CREATE TABLE ledgers (
    enterprise_id TEXT PRIMARY KEY REFERENCES enterprises(id),
    version BIGINT NOT NULL,
    state TEXT NOT NULL
);

-- Transfers in the order they were applied (seq per enterprise): the ledger is rebuilt from
-- them; `ledgers.version` guards concurrent writers.
CREATE TABLE ledger_transfers (
    id TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    body TEXT NOT NULL,
    CONSTRAINT ledger_transfers_seq_key UNIQUE (enterprise_id, seq)
);

