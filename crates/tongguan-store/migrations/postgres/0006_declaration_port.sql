-- The domestic port (入境/离境口岸) of a declaration as a column: arrival reports from a
-- terminal concern only declarations cleared at its ports.
ALTER TABLE declarations ADD COLUMN domestic_port TEXT NOT NULL DEFAULT '';
UPDATE declarations SET domestic_port = COALESCE(upper(trim(body::json -> 'content' -> 'head' ->> 'domestic_port')), '');
CREATE INDEX declarations_bill_port ON declarations(bill_no, domestic_port, status);
