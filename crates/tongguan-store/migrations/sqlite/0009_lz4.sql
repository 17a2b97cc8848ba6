-- PostgreSQL only (LZ4 compression of large JSON columns); kept so both backends share
-- migration numbers.
SELECT 1;
