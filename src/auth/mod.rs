//! Who is signed in: axum-login's backend over our users table, and password hashing.

mod backend;
mod password;

pub use backend::{
    AuthSession, Backend, Credentials, LoginOutcome, PasswordCheck, PasswordThrottle, Permission,
};
pub use password::Hasher;
