//! End-to-end tests of the HTTP API through the typed client, against the real server.
//! One test binary (link time matters on 2 cores); storage-backed scenarios run on SQLite
//! and, when TONGGUAN_TEST_DATABASE_URL is set, on PostgreSQL.

mod audit;
mod authz;
mod bad_input;
mod browser;
mod clearance;
mod foundation;
mod idempotency;
mod identity;
mod nats;
mod openapi;
mod origin;
mod ports;
mod refdata;
mod taxes;
mod webhooks;
