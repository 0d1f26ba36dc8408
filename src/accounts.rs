//! Keeping an account reachable: confirming its address, changing it, and resetting a forgotten
//! password. Each use case runs in one transaction with the mail it sends and its entry in the
//! security log, so a change, its mail and its record exist together or not at all.

use std::time::Duration;

use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    domain::{Email, EventKind, LinkSecret},
    mail,
    store::{
        account_links::{self, Purpose},
        security_events::{self, Origin},
        sessions,
        users::{self, InsertUserError, User},
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
    /// The address of the account `owner_id` is confirmed.
    Confirmed { owner_id: Uuid, email: String },
    /// The address of the account `owner_id` is now the one the link was sent to, confirmed.
    Changed { owner_id: Uuid, email: String },
    /// The link was for an address the account no longer has.
    AddressChanged,
    /// The link would change the address to one another account took meanwhile.
    AddressTaken { email: String },
    /// Unknown, used or expired.
    Invalid,
}

/// Follows a link confirming the account's address, or changing it to the one it was sent to.
pub async fn confirm_email(
    db: &PgPool,
    secret: &LinkSecret,
    origin: &Origin,
    now: OffsetDateTime,
) -> anyhow::Result<Confirmation> {
    let mut tx = db.begin().await?;
    let purposes = [Purpose::ConfirmEmail, Purpose::ChangeEmail];
    let Some(link) = account_links::redeem(&mut tx, secret, &purposes, now).await? else {
        return Ok(Confirmation::Invalid);
    };
    let outcome = if link.is_for(Purpose::ChangeEmail) {
        let Some(before) = users::find_by_id(&mut *tx, link.owner_id).await? else {
            return Ok(Confirmation::Invalid);
        };
        match users::set_confirmed_email(&mut *tx, link.owner_id, &link.email, now).await {
            Ok(_) => {}
            Err(InsertUserError::EmailTaken) => {
                // The link stays used: a new one can be asked for from the settings.
                tx.commit().await?;
                return Ok(Confirmation::AddressTaken { email: link.email });
            }
            Err(error) => return Err(error.into()),
        }
        let detail = format!("from {} to {}", before.email, link.email);
        let kind = EventKind::EmailChanged;
        security_events::record(&mut *tx, link.owner_id, kind, &detail, origin).await?;
        Confirmation::Changed {
            owner_id: link.owner_id,
            email: link.email,
        }
    } else if users::confirm_email(&mut *tx, link.owner_id, &link.email, now).await? {
        let kind = EventKind::EmailConfirmed;
        security_events::record(&mut *tx, link.owner_id, kind, &link.email, origin).await?;
        Confirmation::Confirmed {
            owner_id: link.owner_id,
            email: link.email,
        }
    } else {
        Confirmation::AddressChanged
    };
    tx.commit().await?;
    Ok(outcome)
}

/// What asking to change the account's address did.
#[derive(Debug, PartialEq, Eq)]
pub enum EmailChange {
    /// A link went to the new address, and a notice to the current one.
    Asked,
    /// It is the account's address already.
    Unchanged,
    /// Another account uses it.
    Taken,
}

/// Asks to make `new` the address of `user`: the new address gets a link that makes the change
/// (`app_url` is the app's public root, ending in `/`), and the current one a notice, since the
/// request may come from a session that is not the owner's. Nothing changes until the link is
/// followed.
pub async fn request_email_change(
    db: &PgPool,
    user: &User,
    new: &Email,
    app_url: &str,
    origin: &Origin,
    now: OffsetDateTime,
) -> anyhow::Result<EmailChange> {
    let mut tx = db.begin().await?;
    if let Some(holder) = users::find_by_email(&mut *tx, new.as_str()).await? {
        // Addresses are the same whatever their case: a link would prove nothing new.
        return Ok(if holder.id == user.id {
            EmailChange::Unchanged
        } else {
            EmailChange::Taken
        });
    }
    let secret = LinkSecret::generate();
    let expires_at = now + CONFIRM_LINK_LIFETIME;
    let purpose = Purpose::ChangeEmail;
    account_links::insert(&mut tx, user.id, &secret, purpose, new.as_str(), expires_at).await?;
    let link = format!("{app_url}email/confirm/{}", secret.expose());
    let to_new = mail::confirm_new_email(&user.username, new.as_str(), &link);
    mail::queue(&mut tx, user.id, &to_new).await?;
    let forgot = format!("{app_url}password/forgot");
    let notice = mail::email_change_requested(&user.username, &user.email, new.as_str(), &forgot);
    mail::queue(&mut tx, user.id, &notice).await?;
    let detail = format!("to {}", new.as_str());
    let kind = EventKind::EmailChangeRequested;
    security_events::record(&mut *tx, user.id, kind, &detail, origin).await?;
    tx.commit().await?;
    Ok(EmailChange::Asked)
}

/// The address `user` asked to change to, while its link may still be followed.
pub async fn pending_email_change(
    db: &PgPool,
    user: &User,
    now: OffsetDateTime,
) -> anyhow::Result<Option<String>> {
    Ok(account_links::pending_email(db, user.id, Purpose::ChangeEmail, now).await?)
}

/// Mails a reset link to the account that uses `email`, if there is one. The caller answers the
/// same either way, so nobody learns which addresses have accounts.
pub async fn request_password_reset(
    db: &PgPool,
    email: &str,
    app_url: &str,
    origin: &Origin,
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
    let kind = EventKind::PasswordResetRequested;
    security_events::record(&mut *tx, user.id, kind, "", origin).await?;
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
    origin: &Origin,
    now: OffsetDateTime,
) -> anyhow::Result<Option<User>> {
    let mut tx = db.begin().await?;
    let purposes = [Purpose::ResetPassword];
    let Some(link) = account_links::redeem(&mut tx, secret, &purposes, now).await? else {
        return Ok(None);
    };
    users::set_password_hash(&mut *tx, link.owner_id, hash).await?;
    sessions::delete_for_user(&mut tx, link.owner_id, None).await?;
    users::confirm_email(&mut *tx, link.owner_id, &link.email, now).await?;
    let Some(user) = users::find_by_id(&mut *tx, link.owner_id).await? else {
        return Ok(None);
    };
    let forgot = format!("{app_url}password/forgot");
    let mail = mail::password_changed(&user.username, &user.email, &forgot);
    mail::queue(&mut tx, user.id, &mail).await?;
    let kind = EventKind::PasswordReset;
    let detail = "every session was signed out";
    security_events::record(&mut *tx, user.id, kind, detail, origin).await?;
    tx.commit().await?;
    Ok(Some(user))
}
