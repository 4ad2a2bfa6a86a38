//! The `.camp` language: grammar, parser, AST with byte spans, and formatter.
//!
//! Architecture invariant: of our crates this one depends only on `camp-plan`, for the
//! values its literals become ([`literal`]), and pest's types never leave it. Parsing never fails: [`parse`] returns the AST it could build
//! plus diagnostics.

// pest is built without `std` (see the workspace Cargo.toml); its generated parser names `alloc`.
extern crate alloc;

pub mod ast;
pub mod diag;
pub mod format;
mod grammar;
mod lex;
mod parse;
pub mod span;
pub mod strings;

pub use camp_plan::literal;
pub use format::{format, FormatError};
pub use parse::{parse, Parsed};
