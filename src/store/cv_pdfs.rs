//! Printed PDFs of public CVs, one per CV and render key, of its newest printed version.

use sqlx::PgPool;

use super::public_cvs::PublishedCv;

/// The PDF of this published version under `render_key`, if one was printed.
pub async fn stored(
    db: &PgPool,
    cv: &PublishedCv,
    render_key: &str,
) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar(
        "select pdf from cv_pdfs
         where owner_id = $1 and cv_id = $2 and render_key = $3 and version_number = $4",
    )
    .bind(cv.owner_id)
    .bind(cv.cv_id)
    .bind(render_key)
    .bind(cv.version_number)
    .fetch_optional(db)
    .await
}

/// Keeps `pdf`, replacing an older version's, and answers the PDF now kept: when two requests
/// printed the same version at once, the first kept wins and both serve it, so every download of
/// a version is the same bytes.
pub async fn keep(
    db: &PgPool,
    cv: &PublishedCv,
    render_key: &str,
    pdf: &[u8],
) -> sqlx::Result<Vec<u8>> {
    sqlx::query(
        "insert into cv_pdfs (owner_id, cv_id, version_number, render_key, pdf)
         values ($1, $2, $3, $4, $5)
         on conflict (owner_id, cv_id, render_key) do update
         set version_number = excluded.version_number, pdf = excluded.pdf,
             created_at = excluded.created_at
         where cv_pdfs.version_number < excluded.version_number",
    )
    .bind(cv.owner_id)
    .bind(cv.cv_id)
    .bind(cv.version_number)
    .bind(render_key)
    .bind(pdf)
    .execute(db)
    .await?;
    // A newer version may have been kept in between: then this request serves what it printed.
    Ok(stored(db, cv, render_key)
        .await?
        .unwrap_or_else(|| pdf.to_vec()))
}
