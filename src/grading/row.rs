//! The one input every class-level report takes: a submission that was graded, or one that
//! could not be read (or matched to a rubric). Broken notebooks get their own row in every
//! report instead of being skipped, so the reports borrow both kinds through this type.

use super::SubmissionResult;

/// One submission of a run, as the reports see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Row<'a> {
    /// Read and graded.
    Graded {
        /// The student's id (the file's stem or the folder's name).
        student: &'a str,
        result: &'a SubmissionResult,
    },
    /// Could not be read or matched to a rubric.
    Failed {
        student: &'a str,
        /// The submission's path, as given.
        submission: &'a str,
        /// Why, in words for the person reading the report.
        error: &'a str,
    },
}

impl<'a> Row<'a> {
    /// The student's id.
    pub fn student(&self) -> &'a str {
        match self {
            Row::Graded { student, .. } | Row::Failed { student, .. } => student,
        }
    }

    /// The submission's path.
    pub fn submission(&self) -> &'a str {
        match self {
            Row::Graded { result, .. } => &result.submission,
            Row::Failed { submission, .. } => submission,
        }
    }

    /// The result, when the submission was graded.
    pub fn result(&self) -> Option<&'a SubmissionResult> {
        match self {
            Row::Graded { result, .. } => Some(result),
            Row::Failed { .. } => None,
        }
    }
}
