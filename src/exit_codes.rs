//! The process exit codes, documented in the README.

/// Everything ran and nothing fell below a threshold.
pub const OK: i32 = 0;
/// A submission scored below `--fail-under`, or a required answer is missing.
pub const BELOW_THRESHOLD: i32 = 1;
/// Bad usage, or bad input the user must fix (a rubric, or question code, that is wrong).
pub const USAGE_OR_INPUT: i32 = 2;
