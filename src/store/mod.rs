//! All SQL lives here, one module per aggregate. Functions take a pool or a connection, so a
//! caller can run several of them in one transaction.

pub mod auth_attempts;
pub mod cover_letters;
pub mod cvs;
pub mod evictions;
pub mod public_cvs;
pub mod sessions;
pub mod users;
