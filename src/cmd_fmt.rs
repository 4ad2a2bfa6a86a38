//! `camp fmt`.

use crate::Outcome;
use std::path::PathBuf;

pub fn run(files: &[PathBuf], check: bool) -> Outcome {
    let mut outcome = Outcome::Success;
    for path in files {
        let src = match std::fs::read_to_string(path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", path.display());
                return Outcome::Usage;
            }
        };
        let formatted = match camp_dsl::format(&src) {
            Ok(f) => f,
            Err(e) => {
                eprintln!(
                    "error: `{}` was not formatted: {e}; run `camp check {}` to see why",
                    path.display(),
                    path.display()
                );
                outcome = Outcome::Failed;
                continue;
            }
        };
        if formatted == src {
            continue;
        }
        if check {
            println!("would reformat {}", path.display());
            outcome = Outcome::Failed;
        } else if let Err(e) = std::fs::write(path, formatted) {
            eprintln!("error: cannot write `{}`: {e}", path.display());
            return Outcome::Usage;
        } else {
            println!("formatted {}", path.display());
        }
    }
    outcome
}
