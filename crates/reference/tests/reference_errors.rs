//! What a rubric author reads when question code is outside the supported subset or does not
//! fit the computation: the position, the construct, and what would work instead.

use examiner::reference::{shape, Code};
use examiner_reference::receptive_field;

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
    insta::assert_snapshot!(code_error("x = torch.rand(2, 3)\ny = x.numpy()\n"));
}

/// A class model's errors point into its methods, with the class's name.
#[test]
fn class_without_forward() {
    insta::assert_snapshot!(code_error(
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    ));
}

#[test]
fn forward_uses_an_attribute_init_never_set() {
    insta::assert_snapshot!(code_error(
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        \
         self.conv = nn.Conv2d(3, 8, 3)\n    def forward(self, x):\n        return self.cnv(x)\n\
         net = Net()\n"
    ));
}

#[test]
fn forward_returns_a_number() {
    insta::assert_snapshot!(code_error(
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n    \
         def forward(self, x):\n        return 3\nnet = Net()\n"
    ));
}

#[test]
fn unsupported_functional() {
    insta::assert_snapshot!(code_error(
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n    \
         def forward(self, x):\n        return F.softmax(x, dim=1)\nnet = Net()\n"
    ));
}

#[test]
fn a_loop_that_runs_too_long() {
    insta::assert_snapshot!(code_error(
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        \
         for i in range(100000):\n            for j in range(100000):\n                \
         k = i\n    def forward(self, x):\n        return x\nnet = Net()\n"
    ));
}

#[test]
fn paths_with_different_strides_cannot_merge() {
    let code = Code::new(
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        \
         self.a = nn.Conv2d(1, 1, 3, stride=2)\n        self.b = nn.Conv2d(1, 1, 1)\n    \
         def forward(self, x):\n        return self.a(x) + self.b(x)\nnet = Net()\n",
    )
    .expect("valid code");
    let err = receptive_field::receptive_field(&code, None, None).expect_err("refused");
    insta::assert_snapshot!(err.to_string());
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

/// A loop can chain layers without bound; the graph's depth is bounded where it is built.
#[test]
fn a_graph_too_deep() {
    insta::assert_snapshot!(code_error(
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        \
         self.conv = nn.Conv2d(1, 1, 1)\n    def forward(self, x):\n        \
         for i in range(5000):\n            x = self.conv(x)\n        return x\nnet = Net()\n"
    ));
}

/// Shared values are evaluated once: 60 doublings of one tensor are 60 operations, not 2^60.
#[test]
fn a_graph_that_reuses_values_is_not_exponential() {
    let mut source = String::from("x = torch.ones(2, 2)\n");
    for _ in 0..60 {
        source.push_str("x = x + x\n");
    }
    source.push_str("y = torch.sum(x)\n");
    let code = Code::new(&source).expect("valid code");
    let s = shape::shape(&code, Some("y")).expect("computes");
    assert!(s.shape.is_empty());
    let g = examiner_reference::gradient::gradient(&code, Some("y"), &["x".to_string()]);
    // `x` is rebound: the leaf is no longer `x`; the engine says so instead of hanging.
    assert!(g.is_err());
}

/// Containers nested in a loop are bounded too (walks over modules recurse).
#[test]
fn modules_nested_too_deeply() {
    let err = code_error(
        "class Block(nn.Module):\n    def __init__(self):\n        super().__init__()\n        \
         self.conv = nn.Conv2d(1, 1, 1)\n    def forward(self, x):\n        return self.conv(x)\n\
         class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        \
         seq = Block()\n        for i in range(500):\n            seq = nn.Sequential(seq, \
         Block())\n        self.seq = seq\n    def forward(self, x):\n        return x\n\
         net = Net()\n",
    );
    assert!(err.contains("nested more than 64 deep"), "{err}");
}
