//! Attempts counted over a sliding window, to throttle password guessing, signup and report
//! floods and runaway saves.
//!
//! An attempt is counted *before* the work it guards, under a lock per key held for the length
//! of one short transaction, so a burst of parallel requests from any number of web processes can
//! never get more than the limit through: the eleventh of sixty simultaneous wrong passwords
//! waits for the tenth to be written, sees ten, and is refused. An attempt that turns out not to
//! count (a right password) is given back.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

/// What an attempt counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A password check against one account, keyed by the account.
    LoginAccount,
    /// A password check from one client address, whatever the account.
    LoginAddress,
    /// A password check against one account from one address.
    LoginAccountAddress,
    /// A signup, keyed by client address.
    SignupAddress,
    /// An abuse report, keyed by client address.
    ReportAddress,
    /// A saved CV version, keyed by the owner.
    CvSave,
    /// A password reset asked for, keyed by client address.
    ResetAddress,
    /// A password reset asked for, keyed by the address typed.
    ResetEmail,
    /// A confirmation mail asked for again, keyed by the account.
    ConfirmationMail,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Self::LoginAccount => "login-account",
            Self::LoginAddress => "login-address",
            Self::LoginAccountAddress => "login-account-address",
            Self::SignupAddress => "signup-address",
            Self::ReportAddress => "report-address",
            Self::CvSave => "cv-save",
            Self::ResetAddress => "reset-address",
            Self::ResetEmail => "reset-email",
            Self::ConfirmationMail => "confirmation-mail",
        }
    }
}

/// At most `max` attempts of `scope` by `key` within the window.
#[derive(Debug, Clone, Copy)]
pub struct Limit<'a> {
    pub scope: Scope,
    pub key: &'a str,
    pub max: u32,
}

/// The attempts one call counted, to give back if they turn out not to count.
#[derive(Debug)]
#[must_use = "an attempt that should not count must be given back"]
pub struct Taken(Vec<i64>);

/// What a call to [`take`] or [`take_password_check`] decided.
#[derive(Debug)]
pub enum Verdict {
    Allowed(Taken),
    /// Not counted; the earliest another attempt could be allowed.
    Wait(Duration),
}

/// A key as stored: whatever a client typed, a NUL byte included (which PostgreSQL's text
/// refuses), counts against the same limit every time.
fn stored(key: &str) -> std::borrow::Cow<'_, str> {
    if key.contains('\0') {
        key.replace('\0', "\u{FFFD}").into()
    } else {
        key.into()
    }
}

/// One attempt against every limit, or against none when any of them is reached.
pub async fn take(db: &PgPool, window: Duration, limits: &[Limit<'_>]) -> sqlx::Result<Verdict> {
    let mut tx = db.begin().await?;
    let since = OffsetDateTime::now_utc() - window;
    lock(&mut tx, limits).await?;
    for limit in limits {
        if let Some(wait) = wait_for(&mut tx, *limit, since, window).await? {
            return Ok(Verdict::Wait(wait));
        }
    }
    let taken = insert(&mut tx, limits).await?;
    tx.commit().await?;
    Ok(Verdict::Allowed(taken))
}

/// One password check against `account` from `address`, where `max` failures per window are
/// allowed from an address (all accounts together) and against an account (all addresses
/// together).
///
/// An account over its limit is not locked for everyone: an address that has not failed against
/// it in the window still gets its check, so a stranger's wrong guesses cannot keep the owner
/// out, while a guesser spread over many addresses gets one try per fresh address.
pub async fn take_password_check(
    db: &PgPool,
    window: Duration,
    max: u32,
    account: &str,
    address: &str,
) -> sqlx::Result<Verdict> {
    let pair = format!("{account}\n{address}");
    let by_address = Limit {
        scope: Scope::LoginAddress,
        key: address,
        max,
    };
    let by_account = Limit {
        scope: Scope::LoginAccount,
        key: account,
        max,
    };
    let by_pair = Limit {
        scope: Scope::LoginAccountAddress,
        key: &pair,
        max,
    };
    let limits = [by_address, by_account, by_pair];
    let mut tx = db.begin().await?;
    let since = OffsetDateTime::now_utc() - window;
    lock(&mut tx, &limits).await?;
    if let Some(wait) = wait_for(&mut tx, by_address, since, window).await? {
        return Ok(Verdict::Wait(wait));
    }
    if let Some(wait) = wait_for(&mut tx, by_account, since, window).await? {
        let clean_address = Limit { max: 1, ..by_pair };
        if let Some(pair_wait) = wait_for(&mut tx, clean_address, since, window).await? {
            return Ok(Verdict::Wait(wait.min(pair_wait)));
        }
    }
    let taken = insert(&mut tx, &limits).await?;
    tx.commit().await?;
    Ok(Verdict::Allowed(taken))
}

/// Forgets attempts that should not count, such as a check that found the right password.
pub async fn give_back(db: &PgPool, taken: Taken) -> sqlx::Result<()> {
    sqlx::query("delete from auth_attempts where id = any($1)")
        .bind(taken.0)
        .execute(db)
        .await?;
    Ok(())
}

/// Serialises callers that share any key, until the transaction ends. Locks are taken in one
/// order, so two callers with overlapping keys cannot deadlock.
async fn lock(tx: &mut PgConnection, limits: &[Limit<'_>]) -> sqlx::Result<()> {
    let mut keys: Vec<String> = limits
        .iter()
        .map(|limit| {
            format!(
                "auth_attempts\n{}\n{}",
                limit.scope.as_str(),
                stored(limit.key)
            )
        })
        .collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(key)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// How long until `limit` allows another attempt, if it is reached now.
async fn wait_for(
    tx: &mut PgConnection,
    limit: Limit<'_>,
    since: OffsetDateTime,
    window: Duration,
) -> sqlx::Result<Option<Duration>> {
    // The attempt that must leave the window before another is allowed: the max-th newest.
    let oldest_counted: Option<OffsetDateTime> = sqlx::query_scalar(
        "select attempted_at from auth_attempts
         where scope = $1 and key = $2 and attempted_at > $3
         order by attempted_at desc offset $4 - 1 limit 1",
    )
    .bind(limit.scope.as_str())
    .bind(stored(limit.key))
    .bind(since)
    .bind(i64::from(limit.max.max(1)))
    .fetch_optional(&mut *tx)
    .await?;
    Ok(oldest_counted.map(|at| {
        let wait = (at + window - OffsetDateTime::now_utc()).max(time::Duration::SECOND);
        Duration::from_secs(wait.whole_seconds().unsigned_abs())
    }))
}

async fn insert(tx: &mut PgConnection, limits: &[Limit<'_>]) -> sqlx::Result<Taken> {
    let mut ids = Vec::with_capacity(limits.len());
    for limit in limits {
        let id: i64 = sqlx::query_scalar(
            "insert into auth_attempts (scope, key) values ($1, $2) returning id",
        )
        .bind(limit.scope.as_str())
        .bind(stored(limit.key))
        .fetch_one(&mut *tx)
        .await?;
        ids.push(id);
    }
    Ok(Taken(ids))
}

/// Forgets attempts that no window can see any more.
pub async fn delete_older_than(db: &PgPool, age: Duration) -> sqlx::Result<u64> {
    let before = OffsetDateTime::now_utc() - age;
    let done = sqlx::query("delete from auth_attempts where attempted_at < $1")
        .bind(before)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
