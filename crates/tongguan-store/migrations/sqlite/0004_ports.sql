-- Ports and terminals (M2, M3, M8, M10): the terminal registry with combination-port groups,
-- gate and loading events, air master bills.
CREATE TABLE terminals (
    code TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    body TEXT NOT NULL
);

CREATE TABLE terminal_events (
    id TEXT PRIMARY KEY,
    terminal TEXT NOT NULL,
    container_no TEXT NOT NULL,
    kind TEXT NOT NULL,
    allowed BIGINT NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX terminal_events_container ON terminal_events(container_no, at);

ALTER TABLE bills ADD COLUMN master_bill_no TEXT;
CREATE INDEX bills_master ON bills(master_bill_no);
