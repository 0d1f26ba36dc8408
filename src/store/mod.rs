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
