//! The CV: a JSON Resume document (https://jsonresume.org/schema).

mod public;
pub mod view;

pub use public::{HIDEABLE_FIELDS, Theme, without_hidden_fields};
