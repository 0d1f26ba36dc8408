//! Keeping an account reachable: confirming its address and resetting a forgotten password.
//! Each use case runs in one transaction with the mail it sends, so a change and its mail exist
//! together or not at all.

use std::time::Duration;

use sqlx::PgPool;
use time::OffsetDateTime;

use crate::{
    domain::LinkSecret,
    mail,
    store::{
        account_links::{self, Purpose},
        sessions,
        users::{self, User},
    },
};

/// How long a link confirming an address works.
pub const CONFIRM_LINK_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// How long a password reset link works (ASVS 6.5.5: at most ten minutes).
pub const RESET_LINK_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// Mails `user` a link confirming their current address. `app_url` is the app's public root,
/// ending in `/`.
pub async fn send_confirmation(
    tx: &mut sqlx::PgConnection,
    user: &User,
    app_url: &str,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let secret = LinkSecret::generate();
    let expires_at = now + CONFIRM_LINK_LIFETIME;
    account_links::insert(
        &mut *tx,
        user.id,
        &secret,
        Purpose::ConfirmEmail,
        &user.email,
        expires_at,
    )
    .await?;
    let link = format!("{app_url}email/confirm/{}", secret.expose());
    let mail = mail::confirm_email(&user.username, &user.email, &link);
    mail::queue(tx, user.id, &mail).await
}

/// What following a confirmation link did.
#[derive(Debug, PartialEq, Eq)]
pub enum Confirmation {
    /// The address is confirmed.
    Confirmed { email: String },
    /// The link was for an address the account no longer has.
    AddressChanged,
    /// Unknown, used or expired.
    Invalid,
}

pub async fn confirm_email(
    db: &PgPool,
    secret: &LinkSecret,
    now: OffsetDateTime,
) -> anyhow::Result<Confirmation> {
    let mut tx = db.begin().await?;
    let Some(link) = account_links::redeem(&mut *tx, secret, Purpose::ConfirmEmail, now).await?
    else {
        return Ok(Confirmation::Invalid);
    };
    let confirmed = users::confirm_email(&mut *tx, link.owner_id, &link.email, now).await?;
    tx.commit().await?;
    Ok(if confirmed {
        Confirmation::Confirmed { email: link.email }
    } else {
        Confirmation::AddressChanged
    })
}

/// Mails a reset link to the account that uses `email`, if there is one. The caller answers the
/// same either way, so nobody learns which addresses have accounts.
pub async fn request_password_reset(
    db: &PgPool,
    email: &str,
    app_url: &str,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    let Some(user) = users::find_by_email(&mut *tx, email).await? else {
        return Ok(());
    };
    if !user.is_active() {
        // A suspended account cannot sign in, so a new password would be of no use to it.
        return Ok(());
    }
    let secret = LinkSecret::generate();
    let expires_at = now + RESET_LINK_LIFETIME;
    account_links::insert(
        &mut tx,
        user.id,
        &secret,
        Purpose::ResetPassword,
        &user.email,
        expires_at,
    )
    .await?;
    let link = format!("{app_url}password/reset/{}", secret.expose());
    let mail = mail::reset_password(&user.username, &user.email, &link);
    mail::queue(&mut tx, user.id, &mail).await?;
    tx.commit().await?;
    Ok(())
}

/// Whether a reset link still works, to show its form.
pub async fn reset_link_is_valid(
    db: &PgPool,
    secret: &LinkSecret,
    now: OffsetDateTime,
) -> anyhow::Result<bool> {
    Ok(
        account_links::find_valid(db, secret, Purpose::ResetPassword, now)
            .await?
            .is_some(),
    )
}

/// Sets the password `hash` through a reset link: the link is used up, every session of the
/// account ends, the address it was sent to counts as confirmed (the mail reached it), and the
/// owner is told. `None` when the link is unknown, used or expired.
pub async fn reset_password(
    db: &PgPool,
    secret: &LinkSecret,
    hash: &str,
    app_url: &str,
    now: OffsetDateTime,
) -> anyhow::Result<Option<User>> {
    let mut tx = db.begin().await?;
    let Some(link) = account_links::redeem(&mut *tx, secret, Purpose::ResetPassword, now).await?
    else {
        return Ok(None);
    };
    users::set_password_hash(&mut *tx, link.owner_id, hash).await?;
    sessions::delete_for_user(&mut *tx, link.owner_id, None).await?;
    users::confirm_email(&mut *tx, link.owner_id, &link.email, now).await?;
    let Some(user) = users::find_by_id(&mut *tx, link.owner_id).await? else {
        return Ok(None);
    };
    let forgot = format!("{app_url}password/forgot");
    let mail = mail::password_changed(&user.username, &user.email, &forgot);
    mail::queue(&mut tx, user.id, &mail).await?;
    tx.commit().await?;
    Ok(Some(user))
}
