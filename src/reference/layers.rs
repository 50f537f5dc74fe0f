//! The `torch.nn` layers examiner understands, as plain data: a [`Layer`] says what the
//! question's code declared (`nn.Conv2d(3, 4, 3, padding=1)`). `examiner-reference`'s `network`
//! instantiates them with libtorch tensors.

use std::fmt;

/// A pair of sizes `(height, width)`, as torch's `_pair` arguments.
pub type Pair = [i64; 2];

/// One `torch.nn` module of a `nn.Sequential`.
#[derive(Debug, Clone, PartialEq)]
pub enum Layer {
    Conv2d(Conv2d),
    MaxPool2d(Pool2d),
    AvgPool2d(Pool2d),
    ReLU,
    Sigmoid,
    Tanh,
    Linear {
        in_features: i64,
        out_features: i64,
        bias: bool,
    },
    Dropout {
        p: f64,
    },
    Embedding {
        num_embeddings: i64,
        embedding_dim: i64,
    },
    BatchNorm2d {
        num_features: i64,
        eps: f64,
    },
    Flatten {
        start_dim: i64,
        end_dim: i64,
    },
    Identity,
}

/// `nn.Conv2d` arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv2d {
    pub in_channels: i64,
    pub out_channels: i64,
    pub kernel_size: Pair,
    pub stride: Pair,
    pub padding: Pair,
    pub dilation: Pair,
    pub groups: i64,
    pub bias: bool,
}

impl Conv2d {
    /// `nn.Conv2d(in, out, kernel)` with torch's defaults for everything else.
    pub fn new(in_channels: i64, out_channels: i64, kernel_size: Pair) -> Self {
        Conv2d {
            in_channels,
            out_channels,
            kernel_size,
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
            groups: 1,
            bias: true,
        }
    }
}

/// `nn.MaxPool2d` / `nn.AvgPool2d` arguments (`stride` defaults to the kernel size).
#[derive(Debug, Clone, PartialEq)]
pub struct Pool2d {
    pub kernel_size: Pair,
    pub stride: Pair,
    pub padding: Pair,
    pub dilation: Pair,
    pub ceil_mode: bool,
}

impl Pool2d {
    /// `nn.MaxPool2d(kernel)` with torch's defaults.
    pub fn new(kernel_size: Pair) -> Self {
        Pool2d {
            kernel_size,
            stride: kernel_size,
            padding: [0, 0],
            dilation: [1, 1],
            ceil_mode: false,
        }
    }
}

impl Layer {
    /// The name torch prints for this module (`Conv2d`, `ReLU`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Layer::Conv2d(_) => "Conv2d",
            Layer::MaxPool2d(_) => "MaxPool2d",
            Layer::AvgPool2d(_) => "AvgPool2d",
            Layer::ReLU => "ReLU",
            Layer::Sigmoid => "Sigmoid",
            Layer::Tanh => "Tanh",
            Layer::Linear { .. } => "Linear",
            Layer::Dropout { .. } => "Dropout",
            Layer::Embedding { .. } => "Embedding",
            Layer::BatchNorm2d { .. } => "BatchNorm2d",
            Layer::Flatten { .. } => "Flatten",
            Layer::Identity => "Identity",
        }
    }

    /// Kernel, stride, padding and dilation of a layer that slides a window over the image;
    /// `None` for layers that act per position (activations, dropout, batch norm).
    pub fn window(&self) -> Option<Window> {
        match self {
            Layer::Conv2d(c) => Some(Window {
                kernel: c.kernel_size,
                stride: c.stride,
                dilation: c.dilation,
            }),
            Layer::MaxPool2d(p) => Some(Window {
                kernel: p.kernel_size,
                stride: p.stride,
                dilation: p.dilation,
            }),
            Layer::AvgPool2d(p) => Some(Window {
                kernel: p.kernel_size,
                stride: p.stride,
                dilation: [1, 1],
            }),
            _ => None,
        }
    }
}

/// The geometry of a sliding-window layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub kernel: Pair,
    pub stride: Pair,
    pub dilation: Pair,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn pair(p: Pair) -> String {
            format!("({}, {})", p[0], p[1])
        }
        match self {
            Layer::Conv2d(c) => write!(
                f,
                "Conv2d({}, {}, kernel_size={}, stride={}, padding={}, dilation={})",
                c.in_channels,
                c.out_channels,
                pair(c.kernel_size),
                pair(c.stride),
                pair(c.padding),
                pair(c.dilation)
            ),
            Layer::MaxPool2d(p) | Layer::AvgPool2d(p) => write!(
                f,
                "{}(kernel_size={}, stride={}, padding={})",
                self.name(),
                pair(p.kernel_size),
                pair(p.stride),
                pair(p.padding)
            ),
            Layer::Linear {
                in_features,
                out_features,
                ..
            } => write!(f, "Linear({in_features}, {out_features})"),
            Layer::Dropout { p } => write!(f, "Dropout(p={p})"),
            Layer::Embedding {
                num_embeddings,
                embedding_dim,
            } => write!(f, "Embedding({num_embeddings}, {embedding_dim})"),
            Layer::BatchNorm2d { num_features, .. } => write!(f, "BatchNorm2d({num_features})"),
            Layer::Flatten { start_dim, end_dim } => write!(f, "Flatten({start_dim}, {end_dim})"),
            other => write!(f, "{}()", other.name()),
        }
    }
}
