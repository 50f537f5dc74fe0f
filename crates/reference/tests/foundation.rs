//! The first real use of libtorch: the CNN of the seeds' receptive-field question runs and has
//! the output shape torch gives it.

use examiner::reference::layers::{Conv2d, Layer, Pool2d};
use examiner_reference::network::{Mode, Network};
use tch::{Device, Kind, Tensor};

/// `nn.Conv2d(3,4,3,padding=1)`, ReLU, MaxPool2d(2), `nn.Conv2d(4,16,5,stride=2,padding=2)`,
/// ReLU, MaxPool2d(2), `nn.Conv2d(16,32,7,dilation=2,padding=3)`, ReLU.
fn seed_cnn() -> Vec<Layer> {
    vec![
        Layer::Conv2d(Conv2d {
            padding: [1, 1],
            ..Conv2d::new(3, 4, [3, 3])
        }),
        Layer::ReLU,
        Layer::MaxPool2d(Pool2d::new([2, 2])),
        Layer::Conv2d(Conv2d {
            stride: [2, 2],
            padding: [2, 2],
            ..Conv2d::new(4, 16, [5, 5])
        }),
        Layer::ReLU,
        Layer::MaxPool2d(Pool2d::new([2, 2])),
        Layer::Conv2d(Conv2d {
            dilation: [2, 2],
            padding: [3, 3],
            ..Conv2d::new(16, 32, [7, 7])
        }),
        Layer::ReLU,
    ]
}

#[test]
fn seed_cnn_output_shape_on_a_1024_image() {
    tch::manual_seed(0);
    let net = Network::new(&seed_cnn(), Mode::Default).expect("network builds");
    let input = Tensor::rand([1, 3, 1024, 1024], (Kind::Float, Device::Cpu));
    let output = net.forward(&input).expect("forward runs");
    assert_eq!(output.size(), vec![1, 32, 122, 122]);
    // ReLU is the last layer: a real forward pass leaves no negative value.
    assert!(output.min().double_value(&[]) >= 0.0);
}

#[test]
fn a_layer_that_does_not_fit_its_input_is_an_error_not_a_panic() {
    let net = Network::new(&seed_cnn(), Mode::Default).expect("network builds");
    // 3 channels expected; 5 given.
    let input = Tensor::rand([1, 5, 64, 64], (Kind::Float, Device::Cpu));
    let err = net
        .forward(&input)
        .expect_err("channel mismatch is reported");
    assert!(err.to_string().contains("channels"), "{err}");
}
