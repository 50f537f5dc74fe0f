//! The messages rubric authors see when question code leaves the supported Python subset or
//! does not parse: each names the construct and its position.

use examiner::reference::python::parse;

/// The displayed error for `source`, which must not parse.
fn error(source: &str) -> String {
    match parse(source) {
        Ok(program) => panic!("{source:?} parsed: {program:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn for_loop() {
    insta::assert_snapshot!(error("x = 1\nfor i in range(3):\n    x = x * 2\n"));
}

#[test]
fn if_statement() {
    insta::assert_snapshot!(error(
        "if torch.cuda.is_available():\n    device = 'cuda'\n"
    ));
}

#[test]
fn while_loop() {
    insta::assert_snapshot!(error("while True:\n    pass\n"));
}

#[test]
fn with_block() {
    insta::assert_snapshot!(error("with torch.no_grad():\n    y = model(x)\n"));
}

#[test]
fn class_definition() {
    insta::assert_snapshot!(error("class Net:\n    pass\n"));
}

#[test]
fn class_without_methods() {
    insta::assert_snapshot!(error("class Net(nn.Module):\n    pass\n"));
}

#[test]
fn class_attribute() {
    insta::assert_snapshot!(error(
        "class Net(nn.Module):\n    channels = 4\n    def forward(self, x):\n        return x\n"
    ));
}

#[test]
fn if_in_forward() {
    insta::assert_snapshot!(error(
        "class Net(nn.Module):\n    def forward(self, x):\n        if x.sum() > 0:\n            \
         return x\n        return -x\n"
    ));
}

#[test]
fn while_in_init() {
    insta::assert_snapshot!(error(
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        \
         while True:\n            pass\n"
    ));
}

#[test]
fn nested_def_in_method() {
    insta::assert_snapshot!(error(
        "class Net(nn.Module):\n    def forward(self, x):\n        def g(y):\n            \
         return y\n        return g(x)\n"
    ));
}

#[test]
fn for_loop_outside_a_class_is_still_refused() {
    let e = error("layers = []\nfor i in range(3):\n    layers.append(nn.ReLU())\n");
    assert!(e.starts_with("2:1: `for` loops are not supported"), "{e}");
}

#[test]
fn attribute_assignment_outside_a_method_is_still_refused() {
    let e = error("model.fc = nn.Linear(4, 2)\n");
    assert!(e.contains("assignments to attributes"), "{e}");
}

#[test]
fn lambda() {
    insta::assert_snapshot!(error("act = lambda x: x * 2\n"));
}

#[test]
fn comparison() {
    insta::assert_snapshot!(error("ok = x.shape == (1, 2)\n"));
}

#[test]
fn augmented_assignment() {
    insta::assert_snapshot!(error("x = 1\nx += 1\n"));
}

#[test]
fn dict_literal() {
    insta::assert_snapshot!(error("kwargs = {'kernel_size': 3}\n"));
}

#[test]
fn list_comprehension() {
    insta::assert_snapshot!(error("layers = [nn.Linear(H, H) for _ in range(3)]\n"));
}

#[test]
fn slice() {
    insta::assert_snapshot!(error("y = x[:, 0]\n"));
}

#[test]
fn decorator() {
    insta::assert_snapshot!(error("@torch.no_grad()\ndef f(x):\n    return x\n"));
}

#[test]
fn unclosed_paren() {
    insta::assert_snapshot!(error(
        "cnn = nn.Sequential(\n    nn.Conv2d(3, 4, 3),\n    nn.ReLU(),\n"
    ));
}

#[test]
fn unterminated_string() {
    insta::assert_snapshot!(error("print(\"loss)\n"));
}

#[test]
fn bad_def_body() {
    insta::assert_snapshot!(error("def foo(W, b):\n    y = X @ W + b\n    return y\n"));
}

#[test]
fn unexpected_token() {
    insta::assert_snapshot!(error("x = torch.rand(2 3)\n"));
}

#[test]
fn inconsistent_dedent() {
    insta::assert_snapshot!(error("def f(x):\n        return x\n    y = 1\n"));
}

#[test]
fn keyword_argument_unpacking() {
    insta::assert_snapshot!(error("layer = nn.Linear(**config)\n"));
}

#[test]
fn def_without_indented_body() {
    insta::assert_snapshot!(error("def f(x):\nreturn x\n"));
}

#[test]
fn class_without_indented_body() {
    insta::assert_snapshot!(error(
        "class Net(nn.Module):\ndef forward(self, x):\n    return x\n"
    ));
}

#[test]
fn method_without_indented_body() {
    insta::assert_snapshot!(error(
        "class Net(nn.Module):\n    def forward(self, x):\n    return x\n"
    ));
}
