//! Tongguan's risk-control engine (风险布控).
//!
//! Pure: no IO, no clock, no randomness of its own. A declaration, a seed and an instant go
//! in; an explained [`Assessment`] comes out, the same every time for the same inputs, so an
//! officer (or an auditor) can replay why goods were or were not selected.
//!
//! What it models (`shared/domain/DECLARATION.md`, "Control instruction"):
//!
//! - **Control instructions (布控指令)** — an officer's or the risk model's order to check
//!   goods matching [`Conditions`] (commodity-code prefix, origin, departure country,
//!   enterprise, trade mode, transport mode, port, direction, value / unit-price / quantity
//!   bounds) with a [`ControlAction`] (人工查验, 机检, 审单, 取样送检), a selection rate, a
//!   validity window and a reason. Checked before they are stored by [`validate`].
//! - **Random selection (随机布控)** at a base rate scaled by the enterprise's credit level
//!   (M16, `RULES.md` §6): [`RandomPolicy`].
//! - **The compiled instruction set** [`RuleSet`]: built once by [`RuleSet::compile`], indexed
//!   by the most selective condition of each instruction so that an evaluation only looks at
//!   candidates; the server shares it behind an `Arc` and swaps it atomically on change.
//!
//! Why it must be fast: M1 (秒放 — an advance declaration is released the moment the arrival
//! report comes in and no control instruction hits it) and M3 (智能标识、分流 — every container
//! is tagged "inspect" / "no inspection" at the gate in milliseconds) both put this
//! evaluation on the hot path. `BENCHMARKS.md` ("Risk evaluation") has the numbers.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod draw;
mod engine;
mod index;
pub mod jdm;
mod model;
mod policy;
mod validate;

pub use draw::{RANDOM_SELECTION_SALT, draw};
pub use engine::{
    Assessment, Hit, RandomDraw, RuleSet, Skipped, SkippedBecause, Subject, SubjectItem,
};
pub use model::{Conditions, ControlAction, ControlInstruction};
pub use policy::{LevelRate, RandomPolicy};
pub use validate::validate;
