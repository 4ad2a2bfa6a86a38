//! `camp explain`.

use crate::Outcome;
use camp_compiler::{explain, Code};

/// The code named by `text`: exact (case-insensitive), or by its digits alone, so
/// `0404` and `e0404` both find W0404.
fn lookup(text: &str) -> Option<Code> {
    Code::parse(text).or_else(|| {
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let mut matches = Code::ALL
            .iter()
            .filter(|c| c.as_str().ends_with(&digits) && digits.len() == 4);
        match (matches.next(), matches.next()) {
            (Some(c), None) => Some(*c),
            _ => None,
        }
    })
}

pub fn run(code: &str) -> Outcome {
    match lookup(code) {
        Some(c) => {
            print!("{}", explain::render_text(c));
            Outcome::Success
        }
        None => {
            let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
            let hint = camp_compiler::suggest::did_you_mean(code, codes.iter().copied())
                .map(|h| format!(" ({h})"))
                .unwrap_or_default();
            eprintln!(
                "error: `{code}` is not a diagnostic code{hint}; codes are {}",
                codes.join(", ")
            );
            Outcome::Usage
        }
    }
}
