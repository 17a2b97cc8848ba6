//! Tongguan's pure domain core (领域核心).
//!
//! No IO, no clock, no randomness: time, ids and random draws are inputs, so every decision
//! can be replayed. Types here cannot hold invalid values; parsing reports every violation of
//! a request at once with its field path (see [`Violations`]).
#![forbid(unsafe_code)]

pub mod audit;
pub mod codes;
pub mod declaration;
pub mod enterprise;
pub mod identity;
pub mod lifecycle;
pub mod manifest;
pub mod violation;

pub use violation::{Violation, Violations};
