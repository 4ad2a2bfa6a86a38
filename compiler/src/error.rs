//! The compiler's one error type: failures that stop a check before any diagnostic can
//! be given (the campaign file itself could not be read).

/// Why a check could not run.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CompileError {
    /// The campaign file could not be read.
    #[error("cannot read `{path}`: {source}")]
    #[diagnostic(code(camp::io))]
    Read {
        /// The path as given.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The checks passed but the campaign could not be lowered: a bug in camp.
    #[error("internal error: {what} could not be resolved after checking; please report this")]
    #[diagnostic(code(camp::internal))]
    Internal {
        /// What was missing.
        what: String,
    },
}
