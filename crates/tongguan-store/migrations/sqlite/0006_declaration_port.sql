-- The domestic port (入境/离境口岸) of a declaration and the port of a manifest as columns:
-- arrival reports from a terminal concern only declarations and bill legs at its ports.
ALTER TABLE declarations ADD COLUMN domestic_port TEXT NOT NULL DEFAULT '';
UPDATE declarations SET domestic_port = COALESCE(upper(trim(json_extract(body, '$.content.head.domestic_port'))), '');
CREATE INDEX declarations_bill_port ON declarations(bill_no, domestic_port, status);
ALTER TABLE manifests ADD COLUMN port TEXT NOT NULL DEFAULT '';
UPDATE manifests SET port = COALESCE(upper(trim(json_extract(body, '$.port'))), '');
