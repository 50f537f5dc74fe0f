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
    insta::assert_snapshot!(error("class Net(nn.Module):\n    pass\n"));
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
