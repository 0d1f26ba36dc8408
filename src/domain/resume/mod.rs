//! The CV: a JSON Resume document (https://jsonresume.org/schema).

mod document;
pub mod json_schema;
pub mod linked_data;
mod public;
mod rules;
pub mod view;

pub use document::{Place, Problem, ResumeDocument};
pub use public::{HIDEABLE_FIELDS, Theme, without_hidden_fields};
