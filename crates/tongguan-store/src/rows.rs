//! One row interface over both drivers, so read mappings are written once.

use crate::{Result, StoreError};

pub trait RowLike {
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn opt_i64(&self, i: usize) -> Result<Option<i64>>;

    fn text(&self, i: usize) -> Result<String> {
        self.opt_text(i)?
            .ok_or_else(|| StoreError::Backend(format!("column {i} is NULL")))
    }
    fn i64(&self, i: usize) -> Result<i64> {
        self.opt_i64(i)?
            .ok_or_else(|| StoreError::Backend(format!("column {i} is NULL")))
    }
}

impl RowLike for rusqlite::Row<'_> {
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        self.get(i).map_err(|e| StoreError::Backend(e.to_string()))
    }
    fn opt_i64(&self, i: usize) -> Result<Option<i64>> {
        self.get(i).map_err(|e| StoreError::Backend(e.to_string()))
    }
}

impl RowLike for tokio_postgres::Row {
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        self.try_get(i)
            .map_err(|e| StoreError::Backend(e.to_string()))
    }
    fn opt_i64(&self, i: usize) -> Result<Option<i64>> {
        self.try_get(i)
            .map_err(|e| StoreError::Backend(e.to_string()))
    }
}
