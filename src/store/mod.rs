//! All SQL lives here, one module per aggregate. Functions take a pool or a connection, so a
//! caller can run several of them in one transaction.

pub mod access_tokens;
pub mod account_links;
pub mod audit;
pub mod auth_attempts;
pub mod cover_letters;
pub mod cv_pdfs;
pub mod cvs;
pub mod evictions;
pub mod github_accounts;
pub mod job_queue;
pub mod mails;
pub mod moderation;
pub mod paging;
pub mod passkeys;
pub mod public_cvs;
pub mod reports;
pub mod security_events;
pub mod sessions;
pub mod share_links;
pub mod two_factor;
pub mod users;

/// The constraint a database error says was violated, as the migrations name it.
///
/// On Citus the error comes from a shard: its name carries the shard's id
/// (`users_username_key_102008`), and the constraint field may be missing, leaving the name only
/// in the message. Neither happens on plain PostgreSQL. None of our constraint names ends in
/// `_<digits>`, so that suffix is always a shard's.
pub fn violated_constraint(error: &sqlx::Error) -> Option<&str> {
    let error = error.as_database_error()?;
    let name = match error.constraint() {
        Some(name) => name,
        None => {
            let (_, rest) = error.message().split_once("constraint \"")?;
            rest.split_once('"')?.0
        }
    };
    Some(match name.rsplit_once('_') {
        Some((base, shard)) if !shard.is_empty() && shard.bytes().all(|b| b.is_ascii_digit()) => {
            base
        }
        _ => name,
    })
}
