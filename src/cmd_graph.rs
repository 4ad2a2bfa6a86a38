//! `camp graph`.

use crate::{compiled, GraphFormat, Outcome};
use camp_compiler::machines;
use std::path::Path;

pub fn run(file: &Path, format: GraphFormat) -> Outcome {
    let plan = match compiled::plan(file) {
        Ok(p) => p,
        Err(o) => return o,
    };
    match format {
        GraphFormat::Dot => print!("{}", machines::to_dot(&plan.machines)),
        GraphFormat::Mermaid => print!("{}", machines::to_mermaid(&plan.machines)),
    }
    Outcome::Success
}
