//! Domain types: each can only hold a valid value, and `parse` is the only way to make one.

mod access_token;
mod account;
mod cover_letter;
mod cv_slug;
pub mod device;
mod email;
pub mod moderation;
mod password;
pub mod resume;
mod secret;
mod security_event;
pub mod text;
mod two_factor;
mod username;

pub use access_token::{SECRET_PREFIX, TokenScope, TokenSecret};
pub use account::{AccountStatus, Role, UnknownValue};
pub use cover_letter::{CoverLetterStatus, LetterDetails, LetterDetailsErrors};
pub use cv_slug::{CvSlug, CvSlugError, CvTitle, CvTitleError, RESERVED as RESERVED_SLUGS};
pub use email::{Email, EmailError};
pub use password::{NewPassword, PasswordError};
pub use secret::{LinkSecret, random_hex};
pub use security_event::{EventKind, FirstFactor, SecondStep, SignInFactors};
pub use two_factor::{
    CodeError, OneTimeCode, RECOVERY_CODES, RecoveryCode, SecondFactor, TotpSecret,
};
pub use username::{Username, UsernameError};

/// What a person calls one of their passkeys ("MacBook", "YubiKey").
pub type PasskeyName = text::Line<60>;
/// What a private link is for ("Acme, backend role").
pub type ShareLabel = text::Line<100>;
