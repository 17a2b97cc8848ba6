//! Taxes on imports (税费): the tariff table, customs exchange rates, the computation of
//! duty, consumption tax and import VAT, and the guarantee quota ledger for consolidated tax
//! payment (汇总征税, M1). Pure: no IO, no clock.
#![forbid(unsafe_code)]

pub mod compute;
pub mod exchange;
pub mod ledger;
pub mod tariff;

pub use compute::{
    DutyColumn, DutyLine, ItemTax, OriginClaim, RateUsed, TaxBreakdown, TaxError, TaxInput,
    TaxItem, TaxKind, TaxLine, TaxRules, TaxTotals, WaivedTax, compute, round_fen,
};
pub use exchange::{ExchangeRates, MonthlyRate};
pub use tariff::{Rate, TariffLine, TariffTable, parse_tariff_csv, shipped_tariff};
