//! The second factor: a TOTP secret shared with an authenticator app, the six-digit codes the app
//! shows, and the recovery codes that stand in for a lost phone.

use std::fmt;

use time::OffsetDateTime;
use totp_rs::{Builder, Secret, Totp};

use super::secret;

/// How many recovery codes an account gets at once.
pub const RECOVERY_CODES: usize = 10;

/// 160 bits, the length RFC 4226 recommends.
const SECRET_BYTES: usize = 20;

/// The name authenticator apps show beside the account.
const ISSUER: &str = "txtcv";

/// The secret an authenticator app shares with us. Its `Debug` hides it.
#[derive(Clone)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
        Self(bytes)
    }

    /// A secret as the database keeps it.
    pub fn from_stored(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    // SHA-1, 6 digits and 30-second steps (the builder's defaults), whatever RFC 6238 allows
    // beyond them: most authenticator apps ignore any other setting in the QR code and show
    // SHA-1 codes anyway, which would then never match. One step of skew either way covers a
    // phone's clock that is a little off and a code typed as it changes.
    fn totp(&self, account: &str) -> Result<Totp, totp_rs::TotpError> {
        Builder::new()
            .with_secret(Secret::from(self.0.clone()))
            .with_account_name(account)
            .with_issuer(Some(ISSUER))
            .build()
    }

    /// The secret in base32, as an app asks for it when typed by hand, in groups of four.
    pub fn base32_grouped(&self) -> String {
        let base32 = Secret::from(self.0.clone()).to_base32();
        let groups: Vec<&str> = base32
            .as_bytes()
            .chunks(4)
            .map(|group| std::str::from_utf8(group).expect("base32 is ASCII"))
            .collect();
        groups.join(" ")
    }

    /// The `otpauth://` address a QR code carries, naming `account` (a username) and txtcv.
    pub fn otpauth_uri(&self, account: &str) -> Result<String, totp_rs::TotpError> {
        self.totp(account)?.to_url()
    }

    /// The 30-second step `code` belongs to, if it is right at `now` give or take one step.
    pub fn step_of(&self, code: &OneTimeCode, now: OffsetDateTime) -> Option<u64> {
        let totp = self.totp("").ok()?;
        let seconds = u64::try_from(now.unix_timestamp()).unwrap_or(0);
        totp.check(&code.0, seconds)
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

/// Six digits from an authenticator app; the space some apps show in the middle is allowed.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeCode(String);

impl OneTimeCode {
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let digits: String = input.chars().filter(|c| *c != ' ').collect();
        if digits.is_empty() {
            return Err(CodeError::Empty);
        }
        if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(digits))
        } else {
            Err(CodeError::Malformed)
        }
    }
}

impl fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeCode(…)")
    }
}

/// Letters and digits that cannot be mistaken for one another (Crockford's base32: no i, l, o,
/// u). 32 of them, so a random byte picks one without bias.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// 16 characters of 5 bits: 80 random bits, which SHA-256 may keep without a slow hash.
const RECOVERY_CHARS: usize = 16;

/// A single-use code that stands in for the app, written down at enrolment. Its `Debug` hides
/// it.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl RecoveryCode {
    pub fn generate() -> Self {
        let mut bytes = [0u8; RECOVERY_CHARS];
        getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
        let code = bytes
            .iter()
            .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b % 32)]))
            .collect();
        Self(code)
    }

    /// A code as someone typed it: any case, with or without its dashes and spaces.
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let code: String = input
            .chars()
            .filter(|c| *c != '-' && *c != ' ')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if code.is_empty() {
            return Err(CodeError::Empty);
        }
        let valid =
            code.len() == RECOVERY_CHARS && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b));
        valid.then_some(Self(code)).ok_or(CodeError::Malformed)
    }

    /// The code as shown once, in groups of four: `abcd-efgh-jkmn-pqrs`.
    pub fn expose_grouped(&self) -> String {
        let groups: Vec<&str> = (0..RECOVERY_CHARS)
            .step_by(4)
            .map(|start| &self.0[start..start + 4])
            .collect();
        groups.join("-")
    }

    /// What the database keeps.
    pub fn hash(&self) -> Vec<u8> {
        secret::hash(&self.0)
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(…)")
    }
}

/// What a member gives as their second factor: a code from the app, or a recovery code.
#[derive(Debug, Clone)]
pub enum SecondFactor {
    Code(OneTimeCode),
    Recovery(RecoveryCode),
}

impl SecondFactor {
    /// Digits alone are a code from the app; anything else may be a recovery code.
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let trimmed = input.trim();
        if trimmed.chars().all(|c| c.is_ascii_digit() || c == ' ') {
            OneTimeCode::parse(trimmed).map(Self::Code)
        } else {
            RecoveryCode::parse(trimmed).map(Self::Recovery)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("Enter the 6-digit code your authenticator app shows.")]
    Empty,
    #[error(
        "That is not a code: enter the 6 digits your authenticator app shows, or one of your \
         recovery codes."
    )]
    Malformed,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_at(secret: &TotpSecret, now: OffsetDateTime) -> OneTimeCode {
        let totp = secret.totp("").unwrap();
        let seconds = u64::try_from(now.unix_timestamp()).unwrap();
        OneTimeCode::parse(&totp.generate(seconds).to_string()).unwrap()
    }

    #[test]
    fn a_code_is_right_for_its_step_and_one_either_side() {
        let secret = TotpSecret::generate();
        let now = OffsetDateTime::now_utc();
        let code = code_at(&secret, now);
        let step = secret
            .step_of(&code, now)
            .expect("the current code is right");
        assert_eq!(step, u64::try_from(now.unix_timestamp()).unwrap() / 30);
        let thirty = time::Duration::seconds(30);
        assert!(secret.step_of(&code, now + thirty).is_some());
        assert!(secret.step_of(&code, now - thirty).is_some());
        assert_eq!(secret.step_of(&code, now + thirty * 3), None);
    }

    #[test]
    fn the_secret_is_shown_in_groups_and_in_an_otpauth_address() {
        let secret = TotpSecret::from_stored(vec![0u8; 20]);
        assert_eq!(
            secret.base32_grouped(),
            "AAAA AAAA AAAA AAAA AAAA AAAA AAAA AAAA"
        );
        let uri = secret.otpauth_uri("ada").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/txtcv:ada?secret=AAAA"),
            "{uri}"
        );
        assert!(uri.contains("issuer=txtcv"), "{uri}");
        assert_eq!(format!("{secret:?}"), "TotpSecret(…)");
    }

    #[test]
    fn codes_are_six_digits() {
        assert!(OneTimeCode::parse("123456").is_ok());
        assert!(OneTimeCode::parse("123 456").is_ok());
        assert_eq!(OneTimeCode::parse(""), Err(CodeError::Empty));
        for bad in ["12345", "1234567", "12345a", "12345\0", "１２３４５６"] {
            assert_eq!(
                OneTimeCode::parse(bad),
                Err(CodeError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn recovery_codes_parse_back_however_they_are_typed() {
        let code = RecoveryCode::generate();
        let shown = code.expose_grouped();
        assert_eq!(shown.len(), 19);
        assert_eq!(RecoveryCode::parse(&shown).unwrap(), code);
        assert_eq!(RecoveryCode::parse(&shown.to_uppercase()).unwrap(), code);
        assert_eq!(RecoveryCode::parse(&shown.replace('-', " ")).unwrap(), code);
        assert_ne!(RecoveryCode::generate(), code);
        assert_eq!(RecoveryCode::parse("abcd"), Err(CodeError::Malformed));
        assert_eq!(
            RecoveryCode::parse("abcd-efgh-jkmn-pqr\0"),
            Err(CodeError::Malformed)
        );
    }

    #[test]
    fn digits_are_an_app_code_and_anything_else_may_be_a_recovery_code() {
        assert!(matches!(
            SecondFactor::parse(" 123 456 "),
            Ok(SecondFactor::Code(_))
        ));
        let recovery = RecoveryCode::generate().expose_grouped();
        assert!(matches!(
            SecondFactor::parse(&recovery),
            Ok(SecondFactor::Recovery(_))
        ));
        assert_eq!(SecondFactor::parse("   ").unwrap_err(), CodeError::Empty);
        assert_eq!(
            SecondFactor::parse(&"x".repeat(100_000)).unwrap_err(),
            CodeError::Malformed
        );
    }
}
