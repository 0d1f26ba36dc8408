//! What an account's security log records (ASVS 16.3.1): each event is a kind and, where it
//! helps the owner, a few words of detail. Nothing here ever holds a secret.

use super::UnknownValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    SignedIn,
    SignInFailed,
    SignedOut,
    Reauthenticated,
    TwoFactorEnabled,
    TwoFactorDisabled,
    RecoveryCodesRegenerated,
    RecoveryCodeUsed,
    PasswordChanged,
    PasswordResetRequested,
    PasswordReset,
    EmailConfirmed,
    EmailChangeRequested,
    EmailChanged,
    SessionEnded,
    AccessTokenCreated,
    GitHubLinked,
    GitHubUnlinked,
    PasskeyAdded,
    PasskeyRemoved,
}

const ALL: [EventKind; 20] = [
    EventKind::SignedIn,
    EventKind::SignInFailed,
    EventKind::SignedOut,
    EventKind::Reauthenticated,
    EventKind::TwoFactorEnabled,
    EventKind::TwoFactorDisabled,
    EventKind::RecoveryCodesRegenerated,
    EventKind::RecoveryCodeUsed,
    EventKind::PasswordChanged,
    EventKind::PasswordResetRequested,
    EventKind::PasswordReset,
    EventKind::EmailConfirmed,
    EventKind::EmailChangeRequested,
    EventKind::EmailChanged,
    EventKind::SessionEnded,
    EventKind::AccessTokenCreated,
    EventKind::GitHubLinked,
    EventKind::GitHubUnlinked,
    EventKind::PasskeyAdded,
    EventKind::PasskeyRemoved,
];

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignedIn => "signed-in",
            Self::SignInFailed => "sign-in-failed",
            Self::SignedOut => "signed-out",
            Self::Reauthenticated => "reauthenticated",
            Self::TwoFactorEnabled => "two-factor-enabled",
            Self::TwoFactorDisabled => "two-factor-disabled",
            Self::RecoveryCodesRegenerated => "recovery-codes-regenerated",
            Self::RecoveryCodeUsed => "recovery-code-used",
            Self::PasswordChanged => "password-changed",
            Self::PasswordResetRequested => "password-reset-requested",
            Self::PasswordReset => "password-reset",
            Self::EmailConfirmed => "email-confirmed",
            Self::EmailChangeRequested => "email-change-requested",
            Self::EmailChanged => "email-changed",
            Self::SessionEnded => "session-ended",
            Self::AccessTokenCreated => "access-token-created",
            Self::GitHubLinked => "github-linked",
            Self::GitHubUnlinked => "github-unlinked",
            Self::PasskeyAdded => "passkey-added",
            Self::PasskeyRemoved => "passkey-removed",
        }
    }

    /// What happened, in words for the account's owner.
    pub fn label(self) -> &'static str {
        match self {
            Self::SignedIn => "Signed in",
            Self::SignInFailed => "Failed sign-in",
            Self::SignedOut => "Signed out",
            Self::Reauthenticated => "Confirmed it was you",
            Self::TwoFactorEnabled => "Two-factor sign-in turned on",
            Self::TwoFactorDisabled => "Two-factor sign-in turned off",
            Self::RecoveryCodesRegenerated => "New recovery codes made",
            Self::RecoveryCodeUsed => "Recovery code used",
            Self::PasswordChanged => "Password changed",
            Self::PasswordResetRequested => "Password reset asked for",
            Self::PasswordReset => "Password reset",
            Self::EmailConfirmed => "Email address confirmed",
            Self::EmailChangeRequested => "Email change asked for",
            Self::EmailChanged => "Email address changed",
            Self::SessionEnded => "Session ended",
            Self::AccessTokenCreated => "Access token created",
            Self::GitHubLinked => "GitHub account linked",
            Self::GitHubUnlinked => "GitHub account unlinked",
            Self::PasskeyAdded => "Passkey added",
            Self::PasskeyRemoved => "Passkey removed",
        }
    }

    /// Whether the event is one the owner should look at twice.
    pub fn is_warning(self) -> bool {
        matches!(
            self,
            Self::SignInFailed
                | Self::TwoFactorDisabled
                | Self::GitHubUnlinked
                | Self::PasskeyRemoved
        )
    }
}

impl TryFrom<String> for EventKind {
    type Error = UnknownValue;

    fn try_from(value: String) -> Result<Self, UnknownValue> {
        ALL.into_iter()
            .find(|kind| kind.as_str() == value)
            .ok_or_else(|| UnknownValue::new("security event", value))
    }
}

/// What a sign-in proved first: something the person knows, or an account elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum FirstFactor {
    #[default]
    Password,
    GitHub,
    /// Something the person has, unlocked by something they are or know: two factors in one.
    Passkey,
}

/// The second step of a sign-in with two-factor on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondStep {
    Code,
    RecoveryCode,
}

/// How a sign-in was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInFactors {
    pub first: FirstFactor,
    pub second: Option<SecondStep>,
}

impl SignInFactors {
    /// A password and nothing else.
    pub const PASSWORD: Self = Self::only(FirstFactor::Password);

    pub const fn only(first: FirstFactor) -> Self {
        Self {
            first,
            second: None,
        }
    }

    pub fn describe(self) -> String {
        let first = match self.first {
            FirstFactor::Password => "with the password",
            FirstFactor::GitHub => "with GitHub",
            FirstFactor::Passkey => "with a passkey",
        };
        match self.second {
            None => first.to_owned(),
            Some(SecondStep::Code) => format!("{first} and an app code"),
            Some(SecondStep::RecoveryCode) => format!("{first} and a recovery code"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_are_described_in_words() {
        let github_and_code = SignInFactors {
            first: FirstFactor::GitHub,
            second: Some(SecondStep::Code),
        };
        assert_eq!(github_and_code.describe(), "with GitHub and an app code");
        assert_eq!(
            SignInFactors::only(FirstFactor::Password).describe(),
            "with the password"
        );
    }

    #[test]
    fn every_kind_reads_back_as_itself() {
        for kind in ALL {
            assert_eq!(
                EventKind::try_from(kind.as_str().to_owned()).ok(),
                Some(kind)
            );
        }
        assert!(EventKind::try_from("nonsense".to_owned()).is_err());
    }
}
