//! One rule for every command's exit code.

use std::process::ExitCode;

/// Why a command did not succeed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The inputs have problems, already reported on standard error (exit 1).
    Reported,
    /// The inputs have a problem, in one sentence (exit 1): a malformed snapshot or plan.
    Data(String),
    /// The command was used wrongly, or a file could not be read or written (exit 2).
    Usage(String),
}

impl From<tally_driver::Failure> for Failure {
    /// A driver's problems are printed by the caller first; a refusal is a usage error.
    fn from(failure: tally_driver::Failure) -> Failure {
        match failure {
            tally_driver::Failure::Problems(_) => Failure::Reported,
            tally_driver::Failure::Refusal(message) => Failure::Usage(message),
        }
    }
}

pub(crate) fn code(result: Result<(), Failure>) -> ExitCode {
    ExitCode::from(number(result))
}

/// The exit code as a number, having said why on standard error.
pub(crate) fn number(result: Result<(), Failure>) -> u8 {
    match result {
        Ok(()) => 0,
        Err(Failure::Reported) => 1,
        Err(Failure::Data(message)) => {
            eprintln!("error: {message}");
            1
        }
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            2
        }
    }
}
