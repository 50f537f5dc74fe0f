//! The phrasings of the rubric review (`../shared/reviews/rubric-review.md`), completed where
//! the review shortens them, each judged by the shipped rubric: every correct answer must get
//! at least 0.75 of its points and every wrong one at most 0.25. The answers are the
//! reviewer's own phrasings (and our completions of them), never students' text.

use examiner::checkers::{self, Input, Verdict};
use examiner::extract::text::clean;
use examiner::notebook::{Notebook, SourceFormat};
use examiner::rubric::keys::Key;
use examiner::rubric::Rubric;

const V1: &str = "cs236781-hw4-summary-v1";
const V4: &str = "cs236781-hw4-summary-v4";
const V6: &str = "cs236781-2023-theoretical-v6";
const DRY: &str = "dry-sheet-004";

/// (rubric, question, answer)
const CORRECT: &[(&str, &str, &str)] = &[
    (V1, "receptive-field-meaning", "It is the size of the window in the original image from which a specific output value is computed; changing the image outside this window cannot change that output value."),
    (V1, "receptive-field-meaning", "The receptive field of a value in a feature map is the set of input pixels that are used to compute it, i.e. the spatial extent of the input that a given value in a feature map is a function of."),
    (V1, "receptive-field-growth", "1. Larger filters: a 7x7 filter instead of 3x3 grows the field by 6 instead of 2 per layer, and combines a dense neighbourhood at the cost of more parameters.\n2. Stride: a convolution or pooling with stride 2 downsamples, so the growth of every later layer is doubled, at the cost of spatial resolution.\n3. Dilation: spreading the kernel taps apart grows the field quickly with the same number of parameters, but skips the inputs in the gaps."),
    (V1, "residual-filters", "With the residual mapping y = f(x) + x the convolution only has to learn the correction y − x rather than y itself. The target the filters must represent has changed, so the optimal weights are different."),
    (V1, "dropout-scaling", "Let a be an activation. After dropout the output is m·a/(1-p), where the mask m is 1 with probability 1-p and 0 with probability p, so its expected value is (1-p)·a/(1-p) = a, the same as without dropout."),
    (V1, "l2-loss-classifier", "L2 is a poor choice here. With a sigmoid output, a hotdog (label 1) predicted as 0.01 costs only (1 - 0.01)^2 = 0.98 under L2, and the loss can never exceed 1, while BCE gives -log(0.01) = 4.6 and keeps a large gradient, so I would use BCE instead."),
    (V1, "mlpirate-plateau", "Sigmoid saturation: with 24 stacked sigmoids, whose derivative is at most 1/4, the backpropagated gradient shrinks exponentially, so the first layers receive essentially no signal and stop learning."),
    (V1, "mlpirate-plateau", "The gradients get too small as they flow back through the many sigmoid layers, so the early layers barely update."),
    (V1, "tanh-instead-of-sigmoid", "Unlikely. tanh is just a rescaled sigmoid, tanh(x) = 2σ(2x) − 1, so it saturates for large |x| as well; its derivative peaks at 1 rather than 0.25, which helps a bit, but over 24 layers the product of derivatives still goes to zero."),
    (V1, "sgd-vs-gd", "GD: each update uses the gradient averaged over all N training examples. SGD: each update uses the gradient of the loss on one randomly chosen example. Mini-batch SGD: each update averages the gradient over B randomly drawn examples (e.g. B = 64)."),
    (V1, "sgd-vs-gd", "GD computes every step by summing over the complete training set. SGD instead uses the gradient of a single data sample picked at random. Mini-batch SGD uses a batch of B samples for each step."),
    (V1, "sgd-preferred-over-gd", "1. An SGD step is much cheaper, so we make many more updates per epoch, and the noise in its gradient helps escape saddle points and sharp minima.\n2. GD is infeasible when the full dataset exceeds the available GPU/host memory, or when samples arrive one by one from a live feed."),
    (V1, "sgd-preferred-over-gd", "1. An SGD step does not need much memory, since only one batch is loaded, and it is fast to compute, so we make many updates per epoch; its noise also acts as a regulariser.\n2. GD cannot be used when the data does not fit in memory, or when it arrives as a stream."),
    (V1, "vanishing-exploding-gradients", "**Vanishing gradients**:\nthe gradient w.r.t. the first layers becomes tiny, because backprop multiplies one factor per layer (chain rule) and factors below 1 shrink the product exponentially with depth.\n\n**Exploding gradients**:\nthe gradient grows without bound when the factors are above 1.\n\nExample: with 20 layers and a factor of 0.5 per layer the gradient is scaled by 0.5^20, about 1e-6; with a factor of 2 it is 2^20, about 1e6.\n\nTo tell them apart: with vanishing gradients the loss stays flat on a plateau; with exploding gradients the loss jumps around or becomes NaN."),
    (V1, "numerical-gradient", "For every i, compute (f(x0 + h·e_i) − f(x0 − h·e_i)) / 2h (a central difference) with a small h, one parameter at a time. Drawbacks: it needs 2 forward passes per parameter, which is prohibitive for networks with 10^7 parameters; and the result is only an approximation subject to truncation and round-off error."),
    (V1, "vae-no-kl", "1. Reconstructions stay good, even sharper: without the KL term the model is a plain autoencoder.\n2. Generated images are poor: the encoder's codes are no longer pushed towards N(0, I), so sampling z from N(0, I) lands in regions the decoder never saw during training, so the outputs will not resemble the training images."),
    (V4, "iou-dice-map", "IoU is |A∩B| / |A∪B| of the predicted and true masks; Dice is 2|A∩B| / (|A| + |B|), which weighs the overlap twice. mAP averages the precision over recall levels of detections ranked by confidence, and over classes. IoU and Dice compare segmentation masks, while mAP evaluates a detector's ranked boxes."),
    (V4, "yolo-vs-mask-rcnn", "YOLO is a single-shot detector: one forward pass predicts everything, an S x S grid in which each cell gives B boxes (x, y, w, h, confidence) and C class probabilities. Mask R-CNN has two stages: its region proposal network outputs, for every anchor, an objectness score and box offsets, and the second stage classifies the proposals and predicts their masks."),
    (V6, "quadratic-feature-classifier", "The feature x^T Q x with Q positive definite makes the boundary w x^T Q x + b = 0 an elliptical contour around the origin. One class can lie inside the ellipse and the other outside it; no hyperplane in R^2 can separate that."),
    (V6, "quadratic-feature-classifier", "With this feature the decision boundary is a level set of the quadratic form, an ellipse centred at the origin, so the model can put one class inside that ellipse and the other outside it, which no linear classifier can separate."),
    (V6, "double-batch-lr", "The graph keeps the same nodes; only the tensors hold twice as many rows, so activation memory doubles. The averaged gradient has half the variance, so by the linear scaling rule the LR can be set to 2*lr."),
    (V6, "double-batch-lr", "The graph keeps the same nodes and the activation memory doubles. Our loss sums over the batch instead of averaging it, so doubling the batch doubles the gradient: we should halve the learning rate to keep the same step size."),
    (V6, "rnn-vs-transformer", "1. Transformer: the papers are long, and a transformer processes all their tokens in parallel and captures long-range dependencies, so inference on the server is fast.\n2. RNN: on a phone, with a new small input every second, an RNN updates its hidden state with constant memory and work per step, while a transformer would attend over the whole history again each time.\n3. Transformer: the important tokens are few and at the beginning; attention reaches them directly, whereas an RNN must carry them through the whole sequence and tends to forget them."),
    (DRY, "uat-single-hidden-layer", "By the universal approximation theorem a single hidden layer with enough units can approximate any continuous function on a compact set, so in principle yes. But the required width can grow exponentially with the input dimension, and the theorem only says such weights exist, not that training finds them; deeper networks represent such functions far more compactly."),
    (DRY, "cnn-vs-mlp-images", "A CNN applies the same small kernel at every position, so it has very few parameters and detects a pattern wherever it appears in the image. A fully connected layer could represent the same function, since a convolution is a special case with sparse, tied weights, but it would have to learn that structure from far more data."),
    (DRY, "momentum-convex", "Momentum is still worthwhile. Convexity only guarantees that gradient descent reaches the minimum, not that it gets there fast: in an ill-conditioned valley plain GD zig-zags across it, while momentum averages successive steps, damping the zig-zag and accelerating along the valley."),
    (DRY, "scalar-loss-backward", "Backprop is reverse-mode differentiation on the computational graph: it computes a vector-Jacobian product, seeded with dL/dL = 1 for a scalar loss. For a tensor output the derivative is a Jacobian, and backward() would need to be told which linear combination of the outputs to differentiate (the gradient argument)."),
    (DRY, "vanishing-exploding-remedies", "(a) Vanishing gradients:\nthe gradient that reaches the first layers is close to 0, because it is a product of one factor per layer and factors below 1 shrink it.\nExploding gradients:\nthe gradient grows without bound when the factors are above 1.\n(b) Example: 0.5^30 is about 1e-9 while 1.5^30 is about 2e5, for a network of 30 layers.\n(c) Remedies: ReLU activations and careful (He) initialisation, batch normalisation or residual connections, and gradient clipping or gated units such as LSTM and GRU."),
];

const WRONG: &[(&str, &str, &str)] = &[
    (V1, "tanh-instead-of-sigmoid", "Yes, he is correct. tanh is zero-centred and its derivative reaches a maximum of 1 instead of 0.25, so the gradients no longer vanish and the network trains."),
    (V1, "batch-size-doubling", "The number of iterations will increase: a bigger batch reduces the gradient variance, so each step is more conservative and more steps are needed to reach l0."),
    (V1, "l2-loss-classifier", "Yes, L2 works well: for label 1 and prediction 0.9 the loss is 0.01, which is small, and for prediction 0.1 it is 0.81, so it still separates good predictions from bad ones."),
    (V1, "residual-filters", "Because the residual network is deeper it can learn more complicated features, so the filters it learns are different from the ones of the original network."),
    (V6, "rnn-vs-transformer", "1. RNN: the papers are read word by word, and an RNN keeps a summary of everything it read in its hidden state, which is enough for a summary and cheaper than attention.\n2. Transformer: on the phone the transformer can look at the whole minute of audio at once and process it in parallel, which gives the best accuracy for every new input.\n3. RNN: the sequence is long, and an RNN handles sequences of any length with a fixed memory, so it is the natural choice when only a few tokens matter."),
    (V6, "double-batch-lr", "The graph keeps its nodes and the activation memory doubles. A bigger batch makes each gradient step larger, so we should halve the learning rate to stay stable."),
    (DRY, "momentum-convex", "No, momentum is pointless here: for a convex loss gradient descent already converges to the global minimum, so momentum adds nothing but another hyperparameter to tune."),
];

fn rubric(id: &str) -> Rubric {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("rubrics")
        .join(format!("{id}.yaml"));
    examiner::rubric::load_file(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn judge(rubric_id: &str, question: &str, answer: &str) -> Verdict {
    let rubric = rubric(rubric_id);
    let q = rubric
        .questions
        .iter()
        .find(|q| q.id == question)
        .unwrap_or_else(|| panic!("{rubric_id} has no question {question}"));
    let lines: Vec<&str> = answer.lines().collect();
    let text = clean(&lines);
    let empty = Notebook {
        cells: Vec::new(),
        format: SourceFormat::TextExport,
        language: None,
    };
    checkers::check(
        q,
        &Key::InRubric,
        Input {
            text: &text,
            question_text: "",
            cells: &[],
            notebook: &empty,
        },
    )
}

fn explain(v: &Verdict) -> String {
    v.parts
        .iter()
        .map(|p| {
            format!(
                "  [{}] {}: {}",
                p.id,
                p.status.as_str(),
                p.feedback.join("; ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_correct_phrasing_of_the_review_gets_three_quarters() {
    let mut failures = Vec::new();
    for (rubric_id, question, answer) in CORRECT {
        let v = judge(rubric_id, question, answer);
        println!("{:.2} {question}", v.score);
        if v.score < 0.75 - 1e-9 {
            failures.push(format!(
                "{question} ({rubric_id}): {:.2} for a correct answer\n{}",
                v.score,
                explain(&v)
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_wrong_phrasing_of_the_review_gets_at_most_a_quarter() {
    let mut failures = Vec::new();
    for (rubric_id, question, answer) in WRONG {
        let v = judge(rubric_id, question, answer);
        println!("{:.2} {question}", v.score);
        if v.score > 0.25 + 1e-9 {
            failures.push(format!(
                "{question} ({rubric_id}): {:.2} for a wrong answer\n{}",
                v.score,
                explain(&v)
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn a_wrong_decision_is_reported_with_what_was_read() {
    let v = judge(V1, "tanh-instead-of-sigmoid", WRONG[0].2);
    let d = v
        .parts
        .iter()
        .find(|p| p.id == "decision")
        .expect("a decision part");
    assert_eq!(d.value, serde_json::json!("yes"));
    assert!(
        d.feedback.iter().any(|f| f.contains("capped at 25%")),
        "{d:?}"
    );
    let v = judge(V6, "rnn-vs-transformer", WRONG[4].2);
    let wrong: Vec<&str> = v
        .parts
        .iter()
        .filter(|p| p.id.starts_with("decision") && p.status.as_str() == "wrong")
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(
        wrong,
        [
            "decision: scenario 1",
            "decision: scenario 2",
            "decision: scenario 3"
        ]
    );
}

#[test]
fn concepts_report_the_sentence_or_what_was_expected() {
    let v = judge(V1, "mlpirate-plateau", CORRECT[7].2);
    let found = v
        .parts
        .iter()
        .find(|p| p.id == "vanishing gradients")
        .unwrap();
    assert!(found.feedback[0].starts_with("found: \u{201c}The gradients get too small"));
    let v = judge(
        V1,
        "vae-no-kl",
        "The reconstructions are as good as before.",
    );
    let missing = v
        .parts
        .iter()
        .find(|p| p.id.starts_with("so images generated"))
        .unwrap();
    assert!(missing.feedback[0].starts_with("missing: images decoded from z ~ N(0, I) are poor"));
}

#[test]
fn debatable_statements_accept_an_argued_other_verdict_or_go_to_review() {
    // TBPTT 1 (key true, accept: either): false, argued.
    let v = judge(
        V1,
        "tbptt-statements",
        "1. False. The backward pass is ordinary backpropagation, only run on a graph truncated to S steps.\n2. False, the hidden state must also be carried over between chunks.\n3. False, the forward pass still carries information further than S steps.",
    );
    assert_eq!(v.parts[0].status.as_str(), "correct", "{}", explain(&v));
    assert!((v.score - 1.0).abs() < 1e-9, "{}", explain(&v));
    // The same verdict without an argument is wrong.
    let v = judge(
        V1,
        "tbptt-statements",
        "1. False.\n2. False, the hidden state must also be carried over between chunks.\n3. False, the forward pass still carries information further than S steps.",
    );
    assert_eq!(v.parts[0].status.as_str(), "wrong", "{}", explain(&v));
    // SGD 1 (key true, review: true): false goes to a person.
    let v = judge(
        V1,
        "sgd-statements",
        "1. False, in practice SGD takes one step per mini-batch, not per sample.\n2. False.\n3. True.\n4. False.\n5. False.\n6. False.",
    );
    assert_eq!(
        v.parts[0].status.as_str(),
        "needs-review",
        "{}",
        explain(&v)
    );
    assert_eq!(v.status.as_str(), "needs-review");
}
