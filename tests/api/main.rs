//! The integration suite: every test starts the real server on a random port against a fresh
//! PostgreSQL database, and talks to it over HTTP.

mod account_safety;
mod accounts;
mod admin;
mod api;
mod browser;
mod cli;
mod control_characters;
mod cover_letters;
mod cv_history;
mod fast_paths;
mod github;
mod health;
mod helpers;
mod hostile;
mod link_previews;
mod local_database;
mod mail;
mod mock_github;
mod mock_llm;
mod passkeys;
mod pdf;
mod public_cv;
mod reports;
mod resumes;
mod scale_out;
mod security;
mod settings;
mod several_cvs;
mod share_links;
mod smtp;
mod tokens;
mod two_factor;
