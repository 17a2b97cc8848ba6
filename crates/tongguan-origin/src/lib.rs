//! Tongguan's rules-of-origin engine (原产地规则, M11): RCEP product-specific rules as data
//! (Annex 3A, by HS edition), the general rules of Chapter 3 (accumulation, RVC formulas,
//! minimal operations, de minimis, packing and accessories), and the smart review of a
//! certificate application with every check named in English and Chinese. Pure: no IO,
//! clock or randomness.
#![forbid(unsafe_code)]

pub mod review;
pub mod rule;
pub mod table;

pub use review::{
    Application, BuildUpCosts, Check, Criterion, GeneralRules, Item, Material, MaterialRole,
    OriginRules, Review, RvcMethod, review,
};
pub use rule::{HsRef, Level, Rule, RuleError, Term, parse_rule};
pub use table::{HsVersion, Lookup, Nomenclature, Parties, Party, PsrEntry, PsrTable, TableError};
