-- Large JSON columns compressed with LZ4 instead of PostgreSQL's default pglz: pglz was 6 %
-- of the server's CPU in the clearance benchmark (declaration bodies, stored replies and
-- outbox payloads over the 2 kB TOAST threshold); LZ4 compresses several times faster.
-- Rows already stored keep their compression until rewritten.
ALTER TABLE declarations ALTER COLUMN body SET COMPRESSION lz4;
ALTER TABLE idempotency ALTER COLUMN body SET COMPRESSION lz4;
ALTER TABLE outbox ALTER COLUMN data SET COMPRESSION lz4;
