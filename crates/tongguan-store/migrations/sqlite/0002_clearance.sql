-- Clearance core: declarations with their events, manifests, arrivals, control instructions.
CREATE TABLE declarations (
    id TEXT PRIMARY KEY,
    pre_entry_no TEXT NOT NULL,
    customs_no TEXT,
    owner_id TEXT NOT NULL REFERENCES enterprises(id),
    declarant_id TEXT NOT NULL REFERENCES enterprises(id),
    direction TEXT NOT NULL,
    status TEXT NOT NULL,
    bill_no TEXT NOT NULL,
    declaring_customs TEXT NOT NULL,
    port_customs TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    CONSTRAINT declarations_pre_entry_no_key UNIQUE (pre_entry_no),
    CONSTRAINT declarations_customs_no_key UNIQUE (customs_no)
);
CREATE INDEX declarations_owner ON declarations(owner_id, created_at);
CREATE INDEX declarations_declarant ON declarations(declarant_id, created_at);
CREATE INDEX declarations_bill ON declarations(bill_no);
CREATE INDEX declarations_queue ON declarations(port_customs, status);

CREATE TABLE declaration_containers (
    declaration_id TEXT NOT NULL REFERENCES declarations(id),
    container_no TEXT NOT NULL,
    PRIMARY KEY (declaration_id, container_no)
);
CREATE INDEX declaration_containers_no ON declaration_containers(container_no);

CREATE TABLE declaration_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    declaration_id TEXT NOT NULL REFERENCES declarations(id),
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX declaration_events_declaration ON declaration_events(declaration_id, id);

CREATE TABLE manifests (
    id TEXT PRIMARY KEY,
    direction TEXT NOT NULL,
    transport_means TEXT NOT NULL,
    voyage TEXT NOT NULL,
    filed_by TEXT NOT NULL REFERENCES enterprises(id),
    eta BIGINT,
    arrived_at BIGINT,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    CONSTRAINT manifests_voyage_key UNIQUE (direction, transport_means, voyage)
);

CREATE TABLE bills (
    bill_no TEXT PRIMARY KEY,
    manifest_id TEXT NOT NULL REFERENCES manifests(id),
    arrived_at BIGINT
);
CREATE INDEX bills_manifest ON bills(manifest_id);

CREATE TABLE bill_containers (
    bill_no TEXT NOT NULL REFERENCES bills(bill_no),
    container_no TEXT NOT NULL,
    PRIMARY KEY (bill_no, container_no)
);
CREATE INDEX bill_containers_no ON bill_containers(container_no);

CREATE TABLE container_arrivals (
    container_no TEXT PRIMARY KEY,
    terminal TEXT NOT NULL,
    at BIGINT NOT NULL
);

CREATE TABLE arrival_reports (
    id TEXT PRIMARY KEY,
    terminal TEXT NOT NULL,
    bill_no TEXT,
    containers TEXT NOT NULL,
    actor TEXT NOT NULL,
    at BIGINT NOT NULL
);

CREATE TABLE control_instructions (
    id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    active BIGINT NOT NULL,
    district TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
