-- Declaration bodies and stored replies are written LZ4-compressed by the app from now on
-- (tongguan-store/src/packed.rs): a zero byte, then an LZ4 block. Rows stored before stay
-- plain UTF-8 JSON, which the app still reads. Compressed they stay under the 2 kB TOAST
-- threshold, so they no longer go through a TOAST table and its index on every insert.
-- The columns become BYTEA; this rewrites both tables once.
ALTER TABLE declarations ALTER COLUMN body TYPE BYTEA USING convert_to(body, 'UTF8');
ALTER TABLE idempotency ALTER COLUMN body TYPE BYTEA USING convert_to(body, 'UTF8');
