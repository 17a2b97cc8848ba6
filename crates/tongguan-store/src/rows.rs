//! One row interface over both drivers, so read mappings are written once.

use crate::{Result, StoreError};

pub trait RowLike {
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn opt_i64(&self, i: usize) -> Result<Option<i64>>;
    /// A stored JSON document ([`crate::packed`]): its JSON bytes, decompressed if need be.
    /// A damaged one is [`StoreError::Corrupt`], naming `table` and the column.
    fn document(&self, i: usize, table: &'static str) -> Result<Vec<u8>>;

    fn text(&self, i: usize) -> Result<String> {
        self.opt_text(i)?
            .ok_or_else(|| StoreError::Backend(format!("column {i} is NULL")))
    }
    fn i64(&self, i: usize) -> Result<i64> {
        self.opt_i64(i)?
            .ok_or_else(|| StoreError::Backend(format!("column {i} is NULL")))
    }
}

fn unpacked(stored: &[u8], i: usize, table: &'static str) -> Result<Vec<u8>> {
    crate::packed::unpack(stored)
        .map(std::borrow::Cow::into_owned)
        .map_err(|e| crate::corrupt(table, format!("column {i}: {e}")))
}

impl RowLike for rusqlite::Row<'_> {
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        self.get(i).map_err(|e| StoreError::Backend(e.to_string()))
    }
    fn opt_i64(&self, i: usize) -> Result<Option<i64>> {
        self.get(i).map_err(|e| StoreError::Backend(e.to_string()))
    }
    fn document(&self, i: usize, table: &'static str) -> Result<Vec<u8>> {
        use rusqlite::types::ValueRef;
        // Older rows hold the JSON as TEXT, newer ones a compressed BLOB (the column's TEXT
        // affinity keeps a BLOB as it is).
        match self
            .get_ref(i)
            .map_err(|e| StoreError::Backend(e.to_string()))?
        {
            ValueRef::Text(b) | ValueRef::Blob(b) => unpacked(b, i, table),
            _ => Err(StoreError::Backend(format!("column {i} is not a document"))),
        }
    }
}

impl RowLike for tokio_postgres::Row {
    fn document(&self, i: usize, table: &'static str) -> Result<Vec<u8>> {
        let stored: &[u8] = self
            .try_get(i)
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        unpacked(stored, i, table)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        self.try_get(i)
            .map_err(|e| StoreError::Backend(e.to_string()))
    }
    fn opt_i64(&self, i: usize) -> Result<Option<i64>> {
        self.try_get(i)
            .map_err(|e| StoreError::Backend(e.to_string()))
    }
}
