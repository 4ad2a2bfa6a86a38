//! The `.camp` language: grammar, parser, AST with byte spans, and formatter.
//!
//! Architecture invariant: this crate depends on no other crate of ours, and pest's
//! types never leave it. Parsing never fails: [`parse`] returns the AST it could build
//! plus diagnostics.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

// pest is built without `std` (see the workspace Cargo.toml); its generated parser names `alloc`.
extern crate alloc;

pub mod ast;
pub mod diag;
pub mod format;
mod grammar;
mod lex;
pub mod literal;
mod parse;
pub mod span;

pub use format::{format, FormatError};
pub use parse::{parse, Parsed};
