//! The protocol's server side (`examiner::reference::client` is the other): a [`Hello`] line,
//! then one [`Reply`] line for each [`Request`] line on standard input, until it closes.
//!
//! Every computation is bounded by the budgets of `examiner::reference::budget` and uses
//! libtorch's fallible API; a panic inside one (a bug) is caught and answered as an error,
//! so one bad request never takes the others down.

use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use examiner::reference::client::{Hello, Reply, Request, ENGINE};
use examiner::reference::{Code, Error};

use crate::embed::Encoder;

const USAGE: &str = "\
examiner-reference: examiner's computations that need libtorch

Usage: examiner-reference serve

examiner starts this program itself when a key is neither in the rubric's key lock nor in
its cache; it writes one JSON request per line on standard input and reads one JSON reply
per line (see examiner::reference::client). It needs no other arguments.
";

/// The command line: `serve`, `--version` or `--help`.
pub fn main(args: Vec<String>) -> ExitCode {
    match args.first().map(String::as_str) {
        Some("serve") if args.len() == 1 => match serve() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("examiner-reference: {e}");
                ExitCode::FAILURE
            }
        },
        Some("--version" | "-V") => {
            println!("{} (engine revision {ENGINE})", engine());
            ExitCode::SUCCESS
        }
        Some("--help" | "-h") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn engine() -> String {
    format!("examiner-reference {}", env!("CARGO_PKG_VERSION"))
}

/// Largest request read: question code and a class's answers to embed.
const MAX_REQUEST_BYTES: u64 = 512 * 1024 * 1024;

fn serve() -> std::io::Result<()> {
    // The surrogates' tensors are small: libtorch's thread pool costs more than it saves
    // (VGG-16: 4 s instead of 0.2 s on a loaded 2-core machine). Set once, so results never
    // depend on a thread count changing midway.
    tch::set_num_threads(1);
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut output = std::io::stdout().lock();
    let hello = Hello {
        engine: engine(),
        revision: ENGINE,
    };
    writeln!(output, "{}", serde_json::to_string(&hello)?)?;
    output.flush()?;
    let mut encoders: HashMap<PathBuf, Encoder> = HashMap::new();
    loop {
        let mut line = Vec::new();
        let n = (&mut input)
            .take(MAX_REQUEST_BYTES)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(());
        }
        let reply = match serde_json::from_slice::<Request>(&line) {
            Ok(request) => {
                let run = std::panic::AssertUnwindSafe(|| answer(&request, &mut encoders));
                std::panic::catch_unwind(run).unwrap_or_else(|_| Reply::Error {
                    located: false,
                    message: "the computation failed unexpectedly (a bug in examiner-reference)"
                        .into(),
                })
            }
            Err(e) => Reply::Error {
                located: false,
                message: format!("not a request: {e}"),
            },
        };
        writeln!(output, "{}", serde_json::to_string(&reply)?)?;
        output.flush()?;
    }
}

/// Runs one request.
pub fn answer(request: &Request, encoders: &mut HashMap<PathBuf, Encoder>) -> Reply {
    let result = match request {
        Request::ReceptiveField { code, model, input } => Code::new(code)
            .and_then(|c| {
                crate::receptive_field::receptive_field(&c, model.as_deref(), input.clone())
            })
            .and_then(to_value),
        Request::Dropout { p } => crate::dropout::dropout(p).and_then(to_value),
        Request::Gradient { code, of, wrt } => Code::new(code)
            .and_then(|c| crate::gradient::gradient(&c, of.as_deref(), wrt))
            .and_then(to_value),
        Request::Profile { code, model, input } => Code::new(code)
            .and_then(|c| crate::gradient::profile(&c, model.as_deref(), input.clone()))
            .and_then(to_value),
        Request::Embed { model_dir, texts } => {
            if !encoders.contains_key(model_dir) {
                match Encoder::load(model_dir) {
                    Ok(e) => {
                        encoders.insert(model_dir.clone(), e);
                    }
                    Err(message) => {
                        return Reply::Error {
                            located: false,
                            message,
                        }
                    }
                }
            }
            match encoders.get(model_dir) {
                Some(e) => to_value(e.embed(texts)),
                None => Err(Error::Invalid("the model could not be loaded".into())),
            }
        }
    };
    match result {
        Ok(v) => Reply::Ok(v),
        Err(e) => Reply::Error {
            located: matches!(e, Error::Parse(_) | Error::Eval(_)),
            message: e.to_string(),
        },
    }
}

fn to_value<T: serde::Serialize>(value: T) -> Result<serde_json::Value, Error> {
    serde_json::to_value(value)
        .map_err(|e| Error::Invalid(format!("cannot encode the result: {e}")))
}
