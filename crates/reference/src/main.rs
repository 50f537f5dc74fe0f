//! `examiner-reference`: answers examiner's requests for computations that need libtorch.
//! Only parses its arguments; [`examiner_reference::serve`] does the work.

fn main() -> std::process::ExitCode {
    examiner_reference::serve::main(std::env::args().skip(1).collect())
}
