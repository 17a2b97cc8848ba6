-- One bill end to end (一单到底, M2): a bill may be on several manifests, one per leg
-- (feeder barge, mainline vessel). Bills and their containers are keyed by bill and manifest.
CREATE TABLE bills_legs (
    bill_no TEXT NOT NULL,
    manifest_id TEXT NOT NULL REFERENCES manifests(id),
    arrived_at BIGINT,
    master_bill_no TEXT,
    leg TEXT NOT NULL,
    PRIMARY KEY (bill_no, manifest_id)
);
INSERT INTO bills_legs (bill_no, manifest_id, arrived_at, master_bill_no, leg)
    SELECT bill_no, manifest_id, arrived_at, master_bill_no, 'direct' FROM bills;
CREATE TABLE bill_containers_legs (
    bill_no TEXT NOT NULL,
    manifest_id TEXT NOT NULL,
    container_no TEXT NOT NULL,
    PRIMARY KEY (bill_no, manifest_id, container_no)
);
INSERT INTO bill_containers_legs (bill_no, manifest_id, container_no)
    SELECT c.bill_no, b.manifest_id, c.container_no FROM bill_containers c JOIN bills b ON b.bill_no = c.bill_no;
DROP TABLE bill_containers;
DROP TABLE bills;
ALTER TABLE bills_legs RENAME TO bills;
ALTER TABLE bill_containers_legs RENAME TO bill_containers;
CREATE INDEX bills_manifest ON bills(manifest_id);
CREATE INDEX bills_master ON bills(master_bill_no);
CREATE INDEX bills_no ON bills(bill_no);
CREATE INDEX bill_containers_no ON bill_containers(container_no);
CREATE INDEX bill_containers_manifest ON bill_containers(manifest_id);
