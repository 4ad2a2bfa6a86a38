//! After a syntax error, the checks see a file with a hole in it: the rest of the
//! broken item was not read. What the checks say about names only because of that
//! hole is not reported.
//!
//! The rule: a name written in unread text may be defined or used there, so it is
//! neither unknown (E0102) nor unused (W0701); and a root file whose unread text holds
//! the word `campaign` may have its campaign block there, so it is not said to lack
//! one (E0103). A name can only be used or defined by being written, so the text is
//! a safe over-approximation of what the broken item did; every name it does not
//! mention is still reported, and the syntax error itself always is.

use crate::load::Program;
use camp_dsl::diag::{Code, Diagnostic};
use std::collections::HashSet;

/// Drops the diagnostics that follow only from unread text.
pub(super) fn drop_cascades(program: &Program, diags: &mut Vec<Diagnostic>) {
    let mut words: HashSet<&str> = HashSet::new();
    let mut root_campaign = false;
    for (id, source) in program.sources.iter() {
        let Some(file) = program.file(id) else {
            continue;
        };
        for span in &file.unread {
            for word in source
                .slice(*span)
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty())
            {
                root_campaign |= id == program.root && word == "campaign";
                words.insert(word);
            }
        }
    }
    if words.is_empty() {
        return;
    }
    diags.retain(|d| {
        let name = program
            .sources
            .get(d.primary.loc.file)
            .map_or("", |f| f.slice(d.primary.loc.span));
        match d.code {
            Code::E0102 | Code::W0701 => !words.contains(name),
            Code::E0103 => {
                !(root_campaign
                    && d.primary.loc.file == program.root
                    && d.primary.loc.span.is_empty())
            }
            _ => true,
        }
    });
}
