//! `camp schedule`: the concrete timeline of a campaign, for a launch review.

use crate::{compiled, Outcome, ScheduleFormat};
use camp_compiler::schedule;
use std::io::Write;
use std::path::Path;

pub fn run(file: &Path, format: ScheduleFormat) -> Outcome {
    let plan = match compiled::plan(file) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let timeline = schedule::build(&plan);
    let text = match format {
        ScheduleFormat::Table => schedule::to_table(&timeline),
        ScheduleFormat::Json => schedule::to_json(&timeline),
        ScheduleFormat::Ics => schedule::to_ics(&timeline),
    };
    // `print!` would panic on a closed pipe (`camp schedule x.camp | head`).
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Outcome::Success,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Outcome::Success,
        Err(e) => {
            eprintln!("error: cannot write the schedule: {e}");
            Outcome::Usage
        }
    }
}
