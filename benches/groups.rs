//! Answer groups for a class of 200: embedding throughput of all-MiniLM-L6-v2 through tch
//! (answers per second, cold: no cache), the same answers again from the cache, and the
//! clustering of 200 answers. The answers are made here from phrases of our own, in 200
//! combinations of 40-80 words, like free-text answers. Prints a table, asserts nothing; skipped
//! when the model is not installed.

use std::time::Instant;

use examiner::embed::Model;
use examiner::grading::groups::{cluster, THRESHOLD};

/// Students in the class.
const CLASS: usize = 200;

const OPENINGS: [&str; 5] = [
    "Dropout removes each unit with probability p during training,",
    "During training a random subset of neurons is switched off,",
    "Because units are dropped at random,",
    "The network cannot rely on a single activation when dropout is on,",
    "With inverted dropout the kept activations are rescaled,",
];
const MIDDLES: [&str; 5] = [
    "so the expected input of the next layer shrinks by a factor of 1 - p",
    "which means that on average only (1-p) of the signal reaches the next layer",
    "so the sum of the inputs is smaller than at test time",
    "and the expectation of each activation becomes (1-p) times its value",
    "therefore the scale of the activations would differ between training and testing",
];
const ENDINGS: [&str; 8] = [
    "and dividing by 1-p restores the expectation.",
    "so we multiply by 1/(1-p) to keep it unchanged.",
    "hence the scaling keeps the training and test distributions the same.",
    "which is why we scale at training time and do nothing at test time.",
    "so at test time the weights are multiplied by 1-p instead.",
    "I think this is done to make the network train faster.",
    "and without the scaling the model would be biased at inference.",
    "this keeps E[h] equal in both phases, as required.",
];

fn main() {
    let dir = match Model::locate() {
        Ok(d) => d,
        Err(why) => {
            eprintln!("skipping: {why}");
            return;
        }
    };
    let started = Instant::now();
    let cache = std::env::temp_dir().join(format!("examiner-bench-groups-{}", std::process::id()));
    let model = Model::load(&dir, Some(&cache)).expect("model loads");
    let load = started.elapsed();
    let answers: Vec<String> = (0..CLASS)
        .map(|i| {
            format!(
                "{} {}, {} (student {i})",
                OPENINGS[i % 5],
                MIDDLES[(i / 5) % 5],
                ENDINGS[(i / 25) % 8]
            )
        })
        .collect();
    let texts: Vec<&str> = answers.iter().map(String::as_str).collect();
    let t = Instant::now();
    let embeddings = model
        .embed(&texts)
        .expect("embeds through examiner-reference");
    let cold = t.elapsed();
    let t = Instant::now();
    let again = model.embed(&texts).expect("embeds from the cache");
    let cached = t.elapsed();
    assert_eq!(embeddings.len(), again.len());
    let t = Instant::now();
    let groups = cluster(&embeddings, THRESHOLD);
    let clustering = t.elapsed();
    let _ = std::fs::remove_dir_all(&cache);

    println!("answer groups, a class of {CLASS} (examiner-reference, 1 libtorch thread)");
    println!(
        "  find the model              {:8.1} ms",
        load.as_secs_f64() * 1e3
    );
    println!(
        "  embed {CLASS} answers (cold, with starting libtorch) {:8.1} ms  ({:.0} answers/s)",
        cold.as_secs_f64() * 1e3,
        CLASS as f64 / cold.as_secs_f64()
    );
    println!(
        "  embed them again (cache)    {:8.1} ms",
        cached.as_secs_f64() * 1e3
    );
    println!(
        "  cluster {CLASS} answers         {:8.1} ms  ({} groups at {THRESHOLD})",
        clustering.as_secs_f64() * 1e3,
        groups.len()
    );
}
