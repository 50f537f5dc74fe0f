//! A network of [`Layer`]s instantiated with libtorch tensors: either PyTorch's default
//! initialisation (seeded) or an "all paths open" set-up used to measure receptive fields by
//! autograd. Every libtorch call uses the fallible `f_` API: a layer that does not fit its
//! input is an error, not a panic.

use examiner::reference::layers::Layer;
use tch::{Device, Kind, TchError, Tensor};

/// How a [`Network`]'s parameters are set and how its layers behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// PyTorch's default initialisation (from the seeded generator), layers as declared, in
    /// evaluation mode: the network the students' code builds.
    Default,
    /// Training mode: like `Default`, but dropout drops and batch norm uses batch statistics.
    Train,
    /// Every path from input to output open, for receptive fields by autograd: weights one,
    /// biases zero, activations identity, pooling replaced by a depthwise convolution of ones
    /// (a max passes gradient to one input only), dropout off.
    OpenPaths,
}

impl Mode {
    /// The floating type of parameters: double for open paths, whose products of ones grow
    /// with depth and must not overflow, float otherwise (torch's default).
    pub fn kind(self) -> Kind {
        match self {
            Mode::OpenPaths => Kind::Double,
            Mode::Default | Mode::Train => Kind::Float,
        }
    }
}

/// A parameter tensor of a layer.
#[derive(Debug)]
struct Params {
    weight: Option<Tensor>,
    bias: Option<Tensor>,
}

impl Params {
    /// The same tensors (shared storage, shared gradients).
    fn shallow_clone(&self) -> Params {
        Params {
            weight: self.weight.as_ref().map(Tensor::shallow_clone),
            bias: self.bias.as_ref().map(Tensor::shallow_clone),
        }
    }
}

/// A sequence of layers with their parameters, ready to run.
#[derive(Debug)]
pub struct Network {
    layers: Vec<(Layer, Params)>,
    mode: Mode,
}

impl Network {
    /// Instantiates `layers`. Parameters are drawn from torch's global generator, so seed it
    /// (`tch::manual_seed`) first for reproducible values.
    pub fn new(layers: &[Layer], mode: Mode) -> Result<Self, TchError> {
        let distinct: Vec<(usize, Layer)> = layers.iter().cloned().enumerate().collect();
        Self::shared(&distinct, mode)
    }

    /// Like [`Network::new`], but layers that carry the same module id share one set of
    /// parameters, as a Python list `[nn.Linear(H, H)] * 24` repeats one module.
    pub fn shared(layers: &[(usize, Layer)], mode: Mode) -> Result<Self, TchError> {
        // Budgets before any allocation (issue 15, class 7).
        examiner::reference::budget::check_network(layers).map_err(TchError::Torch)?;
        let mut owned: Vec<(usize, Params)> = Vec::new();
        for (id, layer) in layers {
            if !owned.iter().any(|(i, _)| i == id) {
                owned.push((*id, params(layer, mode)?));
            }
        }
        let layers = layers
            .iter()
            .map(|(id, layer)| {
                let (_, p) = owned.iter().find(|(i, _)| i == id).expect("made above");
                (layer.clone(), p.shallow_clone())
            })
            .collect();
        Ok(Network { layers, mode })
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// True when the network has no layer.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The layers, in order.
    pub fn layers(&self) -> impl Iterator<Item = &Layer> {
        self.layers.iter().map(|(layer, _)| layer)
    }

    /// The parameter tensors, in order (weight then bias of each layer that has them).
    pub fn parameters(&self) -> Vec<&Tensor> {
        self.layers
            .iter()
            .flat_map(|(_, p)| p.weight.iter().chain(p.bias.iter()))
            .collect()
    }

    /// Makes every parameter a leaf that records gradients.
    pub fn set_requires_grad(&mut self) {
        for (_, p) in &mut self.layers {
            for t in p.weight.iter_mut().chain(p.bias.iter_mut()) {
                *t = t.detach().set_requires_grad(true);
            }
        }
    }

    /// Runs the whole network.
    pub fn forward(&self, input: &Tensor) -> Result<Tensor, TchError> {
        let mut x = input.shallow_clone();
        for index in 0..self.layers.len() {
            x = self.forward_layer(index, &x)?;
        }
        Ok(x)
    }

    /// Runs layer `index` alone.
    pub fn forward_layer(&self, index: usize, x: &Tensor) -> Result<Tensor, TchError> {
        let (layer, p) = &self.layers[index];
        let open = self.mode == Mode::OpenPaths;
        let train = self.mode == Mode::Train;
        match layer {
            Layer::Conv2d(c) => {
                let weight = p.weight.as_ref().expect("conv has a weight");
                x.f_conv2d(
                    weight,
                    p.bias.as_ref(),
                    c.stride,
                    c.padding,
                    c.dilation,
                    c.groups,
                )
            }
            // A max passes gradient to one input only; with paths open every pooling layer is
            // a depthwise convolution of ones with the pool's geometry (dilation included).
            Layer::MaxPool2d(pool) | Layer::AvgPool2d(pool) if open => {
                let channels = x.size().get(1).copied().unwrap_or(1);
                let ones = Tensor::f_ones(
                    [channels, 1, pool.kernel_size[0], pool.kernel_size[1]],
                    (x.kind(), Device::Cpu),
                )?;
                x.f_conv2d(
                    &ones,
                    None::<&Tensor>,
                    pool.stride,
                    pool.padding,
                    pool.dilation,
                    channels,
                )
            }
            Layer::MaxPool2d(pool) => x.f_max_pool2d(
                pool.kernel_size,
                pool.stride,
                pool.padding,
                pool.dilation,
                pool.ceil_mode,
            ),
            Layer::AvgPool2d(pool) => x.f_avg_pool2d(
                pool.kernel_size,
                pool.stride,
                pool.padding,
                pool.ceil_mode,
                true,
                None,
            ),
            Layer::ReLU | Layer::Sigmoid | Layer::Tanh | Layer::Identity if open => {
                Ok(x.shallow_clone())
            }
            Layer::ReLU => x.f_relu(),
            Layer::Sigmoid => x.f_sigmoid(),
            Layer::Tanh => x.f_tanh(),
            Layer::Identity => Ok(x.shallow_clone()),
            Layer::Linear { .. } => {
                let weight = p.weight.as_ref().expect("linear has a weight");
                x.f_linear(weight, p.bias.as_ref())
            }
            Layer::Dropout { p: prob } => x.f_dropout(*prob, train),
            Layer::Embedding { .. } => {
                let weight = p.weight.as_ref().expect("embedding has a weight");
                Tensor::f_embedding(weight, x, -1, false, false)
            }
            Layer::BatchNorm2d { num_features, eps } if !open => {
                let opts = (x.kind(), Device::Cpu);
                let mean = Tensor::f_zeros([*num_features], opts)?;
                let var = Tensor::f_ones([*num_features], opts)?;
                x.f_batch_norm(
                    p.weight.as_ref(),
                    p.bias.as_ref(),
                    Some(&mean),
                    Some(&var),
                    train,
                    0.1,
                    *eps,
                    false,
                )
            }
            Layer::BatchNorm2d { .. } => Ok(x.shallow_clone()),
            Layer::Flatten { start_dim, end_dim } => x.f_flatten(*start_dim, *end_dim),
        }
    }
}

/// PyTorch's default initialisation for conv and linear layers (`kaiming_uniform_(a=sqrt(5))`
/// for the weight, which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the
/// bias); N(0, 1) for embeddings; ones and zeros for batch norm.
fn params(layer: &Layer, mode: Mode) -> Result<Params, TchError> {
    let open = mode == Mode::OpenPaths;
    let opts = (mode.kind(), Device::Cpu);
    let uniform = |shape: &[i64], fan_in: i64| -> Result<Tensor, TchError> {
        if open {
            return Tensor::f_ones(shape, opts);
        }
        let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
        Tensor::f_empty(shape, opts)?.f_uniform_(-bound, bound)
    };
    let bias = |size: i64, fan_in: i64, present: bool| -> Result<Option<Tensor>, TchError> {
        match (present, open) {
            (false, _) => Ok(None),
            (true, true) => Tensor::f_zeros([size], opts).map(Some),
            (true, false) => uniform(&[size], fan_in).map(Some),
        }
    };
    Ok(match layer {
        Layer::Conv2d(c) => {
            let per_group = c.in_channels / c.groups.max(1);
            let fan_in = per_group * c.kernel_size[0] * c.kernel_size[1];
            let shape = [
                c.out_channels,
                per_group,
                c.kernel_size[0],
                c.kernel_size[1],
            ];
            Params {
                weight: Some(uniform(&shape, fan_in)?),
                bias: bias(c.out_channels, fan_in, c.bias)?,
            }
        }
        Layer::Linear {
            in_features,
            out_features,
            bias: has_bias,
        } => Params {
            weight: Some(uniform(&[*out_features, *in_features], *in_features)?),
            bias: bias(*out_features, *in_features, *has_bias)?,
        },
        Layer::Embedding {
            num_embeddings,
            embedding_dim,
        } => Params {
            weight: Some(if open {
                Tensor::f_ones([*num_embeddings, *embedding_dim], opts)?
            } else {
                Tensor::f_randn([*num_embeddings, *embedding_dim], opts)?
            }),
            bias: None,
        },
        Layer::BatchNorm2d { num_features, .. } => Params {
            weight: Some(Tensor::f_ones([*num_features], opts)?),
            bias: Some(Tensor::f_zeros([*num_features], opts)?),
        },
        _ => Params {
            weight: None,
            bias: None,
        },
    })
}
