//! A bind value both drivers accept.

use std::error::Error;

use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

/// A statement parameter: the schema's TEXT and BIGINT columns, and the compressed
/// documents ([`crate::packed`]; BLOB in SQLite, BYTEA in PostgreSQL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Null,
    Text(String),
    I64(i64),
    Bytes(Vec<u8>),
}

impl From<Vec<u8>> for Val {
    fn from(b: Vec<u8>) -> Self {
        Val::Bytes(b)
    }
}

impl From<String> for Val {
    fn from(s: String) -> Self {
        Val::Text(s)
    }
}
impl From<&str> for Val {
    fn from(s: &str) -> Self {
        Val::Text(s.to_string())
    }
}
impl From<i64> for Val {
    fn from(i: i64) -> Self {
        Val::I64(i)
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(o: Option<T>) -> Self {
        o.map_or(Val::Null, Into::into)
    }
}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Val::I64(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Val::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

impl ToSql for Val {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::Text(s) => s.to_sql_checked(ty, out),
            Val::I64(i) => i.to_sql_checked(ty, out),
            Val::Bytes(b) => b.to_sql_checked(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}
