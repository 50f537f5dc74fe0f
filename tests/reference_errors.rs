//! What a rubric author reads when question code is outside the supported subset or does not
//! fit the computation: the position, the construct, and what would work instead.

use examiner::reference::{receptive_field, shape, Code};

fn code_error(source: &str) -> String {
    Code::new(source).expect_err("refused").to_string()
}

#[test]
fn unsupported_layer() {
    insta::assert_snapshot!(code_error("import torch.nn as nn\nrnn = nn.LSTM(10, 20)\n"));
}

#[test]
fn misspelled_keyword_argument() {
    insta::assert_snapshot!(code_error(
        "cnn = nn.Sequential(\n    nn.Conv2d(3, 4, kernel=3),\n)\n"
    ));
}

#[test]
fn undefined_name() {
    insta::assert_snapshot!(code_error("cnn = nn.Sequential(nn.Conv2d(C, 4, 3))\n"));
}

#[test]
fn unsupported_tensor_method() {
    insta::assert_snapshot!(code_error("x = torch.rand(2, 3)\ny = x.view(6)\n"));
}

#[test]
fn unsupported_torch_function() {
    insta::assert_snapshot!(code_error(
        "x = torch.rand(2, 3)\ny = torch.softmax(x, dim=1)\n"
    ));
}

#[test]
fn dropout_probability_out_of_range() {
    insta::assert_snapshot!(code_error("d = nn.Dropout(p=1.5)\n"));
}

#[test]
fn unpacking_mismatch() {
    insta::assert_snapshot!(code_error("p1, p2 = 0.1, 0.2, 0.3\n"));
}

#[test]
fn receptive_field_of_a_fully_connected_model() {
    let code = Code::new("m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 1))\n")
        .expect("valid code");
    let err = receptive_field::receptive_field(&code, None, None).expect_err("refused");
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn a_model_that_does_not_fit_its_input() {
    let code = Code::new(
        "cnn = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())\ny = cnn(torch.rand(1, 5, 32, 32))\n",
    )
    .expect("valid code");
    let err = shape::shape(&code, None).expect_err("refused");
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn no_such_model() {
    let code = Code::new("N = 4\ncnn = nn.Sequential(nn.Conv2d(3, 8, 3))\n").expect("valid code");
    let err = receptive_field::receptive_field(&code, Some("net"), None).expect_err("refused");
    insta::assert_snapshot!(err.to_string());
}
