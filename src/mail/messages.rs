//! The mails txtcv sends. Each is a few paragraphs around at most one link, rendered twice from
//! the same parts: as plain text and as simple HTML. None carries a password or a second-factor
//! secret.

use askama::Template;

use super::{Mail, MailKind};

/// The parts of a mail's body.
struct Letter<'a> {
    username: &'a str,
    before: Vec<String>,
    /// The link the mail is about, and what following it does.
    action: Option<(&'a str, &'a str)>,
    after: Vec<String>,
}

#[derive(Template)]
#[template(path = "mail/letter.txt")]
struct Text<'a> {
    letter: &'a Letter<'a>,
}

#[derive(Template)]
#[template(path = "mail/letter.html")]
struct Html<'a> {
    subject: &'a str,
    letter: &'a Letter<'a>,
}

fn compose(kind: MailKind, to: &str, subject: &str, letter: &Letter<'_>) -> Mail {
    // The templates are compiled with the binary and take only strings: rendering cannot fail.
    let text = Text { letter }.render().expect("a mail's text renders");
    let html = Html { subject, letter }
        .render()
        .expect("a mail's HTML renders");
    Mail {
        kind,
        to: to.to_owned(),
        subject: subject.to_owned(),
        text,
        html,
    }
}

/// Sent at signup, and again on request, to the address to be confirmed.
pub fn confirm_email(username: &str, to: &str, link: &str) -> Mail {
    let letter = Letter {
        username,
        before: vec![format!(
            "Please confirm that {to} is the address of your txtcv account {username}."
        )],
        action: Some(("Confirm my address", link)),
        after: vec![
            "The link works once, for 24 hours.".into(),
            "If you did not sign up for txtcv, ignore this mail: nothing happens without it."
                .into(),
        ],
    };
    compose(
        MailKind::ConfirmEmail,
        to,
        "Confirm your email address for txtcv",
        &letter,
    )
}

/// Sent to the new address when a member asks to change theirs: the new one replaces the old
/// only once this link is followed.
pub fn confirm_new_email(username: &str, to: &str, link: &str) -> Mail {
    let letter = Letter {
        username,
        before: vec![format!(
            "You asked to make {to} the address of your txtcv account {username}."
        )],
        action: Some(("Use this address", link)),
        after: vec![
            "The link works once, for 24 hours. Until it is followed, your account keeps its \
             current address."
                .into(),
            "If you did not ask for this, ignore this mail: nothing changes without it.".into(),
        ],
    };
    compose(
        MailKind::ConfirmNewEmail,
        to,
        "Confirm your new email address for txtcv",
        &letter,
    )
}

/// Sent to the current address when a change to `new_email` is asked for, so an owner whose
/// session was taken hears of it where the taker cannot read.
pub fn email_change_requested(
    username: &str,
    to: &str,
    new_email: &str,
    forgot_link: &str,
) -> Mail {
    let letter = Letter {
        username,
        before: vec![format!(
            "Someone signed in to your txtcv account {username} asked to change its address \
             from {to} to {new_email}. It changes only if the link we sent to {new_email} is \
             followed."
        )],
        action: None,
        after: vec![format!(
            "If this was not you, reset your password at once, which signs everyone else out: \
             {forgot_link}"
        )],
    };
    compose(
        MailKind::EmailChangeRequested,
        to,
        "A change of your txtcv email address was asked for",
        &letter,
    )
}

/// Sent when someone asks to reset the password of the account that uses `to`.
pub fn reset_password(username: &str, to: &str, link: &str) -> Mail {
    let letter = Letter {
        username,
        before: vec![format!(
            "Someone, hopefully you, asked to reset the password of your txtcv account {username}."
        )],
        action: Some(("Choose a new password", link)),
        after: vec![
            "The link works once, for 10 minutes.".into(),
            "If you did not ask, ignore this mail: your password stays as it is.".into(),
        ],
    };
    compose(
        MailKind::ResetPassword,
        to,
        "Reset your txtcv password",
        &letter,
    )
}

/// Sent after the password was changed or reset, so a change the owner did not make is noticed.
pub fn password_changed(username: &str, to: &str, forgot_link: &str) -> Mail {
    let letter = Letter {
        username,
        before: vec![format!(
            "The password of your txtcv account {username} was just changed, and every other \
             session signed in to it was signed out."
        )],
        action: None,
        after: vec![format!(
            "If this was not you, reset your password at once: {forgot_link}"
        )],
    };
    compose(
        MailKind::PasswordChanged,
        to,
        "Your txtcv password was changed",
        &letter,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mail_names_the_product_and_the_account_in_both_parts() {
        let mail = confirm_email(
            "ada",
            "ada@example.org",
            "https://txtcv.test/email/confirm/x",
        );
        for body in [&mail.text, &mail.html] {
            assert!(body.contains("txtcv"), "{body}");
            assert!(body.contains("ada"), "{body}");
            assert!(
                body.contains("https://txtcv.test/email/confirm/x"),
                "{body}"
            );
        }
        assert!(
            mail.html
                .contains("<a href=\"https://txtcv.test/email/confirm/x\">")
        );
    }

    #[test]
    fn html_parts_escape_what_they_quote() {
        let mail = confirm_email("ada", "<b>@example.org", "https://x.test/?a=1&b=2");
        assert!(!mail.html.contains("<b>@"));
        assert!(!mail.html.contains("a=1&b=2"), "{}", mail.html);
        assert!(mail.text.contains("https://x.test/?a=1&b=2"));
    }
}
