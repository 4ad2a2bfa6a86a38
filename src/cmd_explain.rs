//! `camp explain`.

use crate::Outcome;
use camp_compiler::{explain, Code};

pub fn run(code: &str) -> Outcome {
    match Code::parse(code) {
        Some(c) => {
            print!("{}", explain::render_text(c));
            Outcome::Success
        }
        None => {
            let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
            let hint = camp_compiler::suggest::did_you_mean(code, codes.iter().copied()).map(|h| format!(" ({h})")).unwrap_or_default();
            eprintln!("error: `{code}` is not a diagnostic code{hint}; codes are {}", codes.join(", "));
            Outcome::Usage
        }
    }
}
