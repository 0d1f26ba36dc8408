/// What an account may do: members keep CVs, admins also moderate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Admin,
}

/// Whether an account is in good standing. A suspended account keeps its data but cannot sign
/// in, and its public pages are hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    Active,
    Suspended,
}

/// A word stored in a text column that names none of an enum's values.
#[derive(Debug, thiserror::Error)]
#[error("unknown {kind} `{value}` in the database")]
pub struct UnknownValue {
    kind: &'static str,
    value: String,
}

impl UnknownValue {
    pub fn new(kind: &'static str, value: String) -> Self {
        Self { kind, value }
    }
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Admin => "admin",
        }
    }
}

impl TryFrom<String> for Role {
    type Error = UnknownValue;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "member" => Ok(Self::Member),
            "admin" => Ok(Self::Admin),
            _ => Err(UnknownValue {
                kind: "role",
                value,
            }),
        }
    }
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }
}

impl TryFrom<String> for AccountStatus {
    type Error = UnknownValue;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            _ => Err(UnknownValue {
                kind: "account status",
                value,
            }),
        }
    }
}
