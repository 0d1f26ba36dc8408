//! Paginated lists: one query returns a page of rows and, alongside each, how many match in all.

use sqlx::{FromRow, Row, postgres::PgRow};

/// A row of a paginated list, with the number of rows that match in all, read from a `total`
/// column (`count(*) over () as total`).
pub struct Counted<T> {
    total: i64,
    row: T,
}

impl<'r, T: FromRow<'r, PgRow>> FromRow<'r, PgRow> for Counted<T> {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        Ok(Self {
            total: row.try_get("total")?,
            row: T::from_row(row)?,
        })
    }
}

impl<T> Counted<T> {
    /// The rows, and the total (0 for a page past the end, which the caller shows as empty).
    pub fn split(rows: Vec<Self>) -> (Vec<T>, i64) {
        let total = rows.first().map_or(0, |r| r.total);
        (rows.into_iter().map(|r| r.row).collect(), total)
    }
}
