//! The 60 generated conv/pool stacks, shared by `tests/reference.rs` (checked against the
//! closed form and libtorch) and `benches/reference.rs` (timed), so both see the same stacks.

use examiner::reference::layers::{Conv2d, Layer, Pool2d};

/// A small deterministic generator, so the stacks are the same on every run.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
    fn pair(&mut self, lo: i64, hi: i64, square: bool) -> [i64; 2] {
        let a = self.range(lo, hi);
        if square {
            [a, a]
        } else {
            [a, self.range(lo, hi)]
        }
    }
}

pub fn random_stack(rng: &mut XorShift) -> Vec<Layer> {
    let mut layers = Vec::new();
    let mut channels = rng.range(1, 3);
    for _ in 0..rng.range(1, 5) {
        let square = rng.range(0, 2) > 0;
        match rng.range(0, 3) {
            0 | 1 => {
                let out = rng.range(1, 4);
                let kernel = rng.pair(1, 6, square);
                layers.push(Layer::Conv2d(Conv2d {
                    stride: rng.pair(1, 3, square),
                    padding: [rng.range(0, kernel[0] / 2), rng.range(0, kernel[1] / 2)],
                    dilation: rng.pair(1, 3, square),
                    ..Conv2d::new(channels, out, kernel)
                }));
                channels = out;
                layers.push(Layer::ReLU);
            }
            2 => {
                let kernel = rng.pair(2, 4, square);
                layers.push(Layer::MaxPool2d(Pool2d {
                    stride: rng.pair(1, 3, square),
                    padding: [rng.range(0, kernel[0] / 2), rng.range(0, kernel[1] / 2)],
                    dilation: rng.pair(1, 2, square),
                    ..Pool2d::new(kernel)
                }));
            }
            _ => {
                let kernel = rng.pair(2, 3, square);
                layers.push(Layer::AvgPool2d(Pool2d {
                    stride: rng.pair(1, 2, square),
                    ..Pool2d::new(kernel)
                }));
            }
        }
    }
    layers
}
