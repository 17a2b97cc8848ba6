//! Reads of the tax tables.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::{
    DocTable, DocumentRow, ExchangeRateRow, Result, RowLike, Store, TariffVersionRow, corrupt,
};

fn time(r: &dyn RowLike, i: usize, table: &'static str) -> Result<DateTime<Utc>> {
    let us = r.i64(i)?;
    DateTime::from_timestamp_micros(us).ok_or_else(|| corrupt(table, "time"))
}

fn uuid(r: &dyn RowLike, i: usize, table: &'static str) -> Result<Uuid> {
    Uuid::parse_str(&r.text(i)?).map_err(|e| corrupt(table, e))
}

impl Store {
    /// Every stored tariff table version, in load order.
    pub async fn tariff_versions(&self) -> Result<Vec<TariffVersionRow>> {
        self.query(
            "SELECT id, seq, label, valid_from, source, shipped, loaded_at, loaded_by, csv FROM tariff_versions ORDER BY seq",
            vec![],
            |r| {
                const T: &str = "tariff_versions";
                Ok(TariffVersionRow {
                    id: uuid(r, 0, T)?,
                    seq: r.i64(1)?,
                    label: r.text(2)?,
                    valid_from: r.text(3)?.parse::<NaiveDate>().map_err(|e| corrupt(T, e))?,
                    source: r.text(4)?,
                    shipped: r.i64(5)? != 0,
                    loaded_at: time(r, 6, T)?,
                    loaded_by: r.text(7)?,
                    csv: r.text(8)?,
                })
            },
        )
        .await
    }

    pub async fn exchange_rates(&self) -> Result<Vec<ExchangeRateRow>> {
        self.query(
            "SELECT currency, month, cny_per_unit, source, set_by, set_at FROM exchange_rates ORDER BY month, currency",
            vec![],
            |r| {
                Ok(ExchangeRateRow {
                    currency: r.text(0)?,
                    month: r.text(1)?,
                    cny_per_unit: r.text(2)?,
                    source: r.text(3)?,
                    set_by: r.text(4)?,
                    set_at: time(r, 5, "exchange_rates")?,
                })
            },
        )
        .await
    }

    /// Documents of an enterprise (or all when `enterprise` is none), newest first.
    pub async fn documents(
        &self,
        table: DocTable,
        enterprise: Option<Uuid>,
    ) -> Result<Vec<DocumentRow>> {
        let sql = match table {
            DocTable::Guarantees => {
                "SELECT id, enterprise_id, status, version, created_at, updated_at, body, '' FROM guarantees WHERE (CAST($1 AS TEXT) IS NULL OR enterprise_id = $1) ORDER BY created_at DESC, id"
            }
            DocTable::OriginCertificates => {
                "SELECT id, enterprise_id, status, version, created_at, updated_at, body, COALESCE(key, '') FROM origin_certificates WHERE (CAST($1 AS TEXT) IS NULL OR enterprise_id = $1) ORDER BY created_at DESC, id"
            }
            DocTable::OriginRuleTables => {
                "SELECT id, enterprise_id, status, version, created_at, updated_at, body, COALESCE(key, '') FROM origin_rule_tables WHERE (CAST($1 AS TEXT) IS NULL OR enterprise_id = $1) ORDER BY created_at DESC, id"
            }
        };
        self.lookup(
            sql,
            vec![enterprise.map(|e| e.to_string()).into()],
            map_document,
        )
        .await
    }

    pub async fn document(&self, table: DocTable, id: Uuid) -> Result<Option<DocumentRow>> {
        let sql = match table {
            DocTable::Guarantees => {
                "SELECT id, enterprise_id, status, version, created_at, updated_at, body, '' FROM guarantees WHERE id = $1"
            }
            DocTable::OriginCertificates => {
                "SELECT id, enterprise_id, status, version, created_at, updated_at, body, COALESCE(key, '') FROM origin_certificates WHERE id = $1"
            }
            DocTable::OriginRuleTables => {
                "SELECT id, enterprise_id, status, version, created_at, updated_at, body, COALESCE(key, '') FROM origin_rule_tables WHERE id = $1"
            }
        };
        Ok(self
            .lookup(sql, vec![id.to_string().into()], map_document)
            .await?
            .pop())
    }

    /// A certificate of origin by its number.
    pub async fn certificate_by_number(&self, number: &str) -> Result<Option<DocumentRow>> {
        Ok(self
            .lookup(
                "SELECT id, enterprise_id, status, version, created_at, updated_at, body, COALESCE(key, '') FROM origin_certificates WHERE key = $1",
                vec![number.into()],
                map_document,
            )
            .await?
            .pop())
    }

    /// An enterprise's ledger transfers (JSON) in application order.
    pub async fn ledger_transfers(&self, enterprise: Uuid) -> Result<Vec<String>> {
        self.lookup(
            "SELECT body FROM ledger_transfers WHERE enterprise_id = $1 ORDER BY seq",
            vec![enterprise.to_string().into()],
            |r| r.text(0),
        )
        .await
    }

    /// Enterprises that have a quota ledger.
    pub async fn ledger_enterprises(&self) -> Result<Vec<Uuid>> {
        self.query(
            "SELECT enterprise_id FROM ledgers ORDER BY enterprise_id",
            vec![],
            |r| uuid(r, 0, "ledgers"),
        )
        .await
    }

    /// An enterprise's ledger state and its version.
    pub async fn ledger(&self, enterprise: Uuid) -> Result<Option<(i64, String)>> {
        Ok(self
            .lookup(
                "SELECT version, state FROM ledgers WHERE enterprise_id = $1",
                vec![enterprise.to_string().into()],
                |r| Ok((r.i64(0)?, r.text(1)?)),
            )
            .await?
            .pop())
    }
}

fn map_document(r: &dyn RowLike) -> Result<DocumentRow> {
    const T: &str = "tax documents";
    let t = |i: usize| -> Result<DateTime<Utc>> {
        DateTime::from_timestamp_micros(r.i64(i)?).ok_or_else(|| corrupt(T, "time"))
    };
    Ok(DocumentRow {
        id: uuid(r, 0, T)?,
        enterprise_id: uuid(r, 1, T)?,
        status: r.text(2)?,
        version: r.i64(3)?,
        created_at: t(4)?,
        updated_at: t(5)?,
        body: r.text(6)?,
        key: r.text(7)?,
    })
}
