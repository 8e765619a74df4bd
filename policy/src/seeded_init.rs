//! Reproducible random weights. candle cannot seed its CPU random generator, so a freshly
//! initialised model would differ between processes. [`var_builder`] builds variables in a
//! [`VarMap`] from each variable's own initialiser hint (constant, normal, uniform, Kaiming —
//! the same formulas as `candle_nn::Init::var`) with a ChaCha stream keyed by the seed and
//! the variable's name. The same preset and seed give identical weights in every process,
//! which makes random-weight runs replayable (`ddvla replay`), benchmarks comparable and
//! training runs deterministic from their first step.

use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder, VarMap};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// FNV-1a of a name, to key one random stream per variable (independent of creation order).
fn name_key(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Values for `shape` following `init`, from a stream keyed by `seed` and `name`.
fn seeded_values(shape: &Shape, name: &str, init: Init, seed: u64) -> Vec<f32> {
    let n = shape.elem_count();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ name_key(name));
    let mut uniform = |lo: f64, up: f64| -> Vec<f32> {
        (0..n).map(|_| rng.random_range(lo..up) as f32).collect()
    };
    let normal = |rng: &mut ChaCha8Rng, mean: f64, std: f64| -> Vec<f32> {
        (0..n)
            .map(|_| {
                // Box–Muller.
                let u1: f64 = rng.random_range(f64::EPSILON..1.0);
                let u2: f64 = rng.random();
                (mean + std * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
            })
            .collect()
    };
    match init {
        Init::Const(v) => vec![v as f32; n],
        Init::Uniform { lo, up } => uniform(lo, up),
        Init::Randn { mean, stdev } => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ name_key(name));
            normal(&mut rng, mean, stdev)
        }
        Init::Kaiming {
            dist,
            fan,
            non_linearity,
        } => {
            let std = non_linearity.gain() / (fan.for_shape(shape) as f64).sqrt();
            match dist {
                candle_nn::init::NormalOrUniform::Uniform => {
                    let bound = 3f64.sqrt() * std;
                    uniform(-bound, bound)
                }
                candle_nn::init::NormalOrUniform::Normal => {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ name_key(name));
                    normal(&mut rng, 0.0, std)
                }
            }
        }
    }
}

/// A [`VarMap`] whose missing variables are created from seeded streams.
struct SeededVarMap {
    map: VarMap,
    seed: u64,
}

impl SimpleBackend for SeededVarMap {
    fn get(&self, s: Shape, name: &str, h: Init, dtype: DType, dev: &Device) -> Result<Tensor> {
        if !self.contains_tensor(name) {
            let values = seeded_values(&s, name, h, self.seed);
            let tensor = Tensor::from_vec(values, s.clone(), dev)?.to_dtype(dtype)?;
            self.map
                .data()
                .lock()
                .map_err(|_| candle_core::Error::Msg("VarMap lock poisoned".into()))?
                .insert(name.to_owned(), Var::from_tensor(&tensor)?);
        }
        self.map.get(s, name, h, dtype, dev)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> Result<Tensor> {
        candle_core::bail!("{name}: a seeded VarMap creates variables with a shape and an init")
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.map
            .data()
            .lock()
            .is_ok_and(|data| data.contains_key(name))
    }
}

/// A [`VarBuilder`] over `varmap` creating missing variables from streams keyed by `seed`.
pub fn var_builder(
    varmap: &VarMap,
    seed: u64,
    dtype: DType,
    device: &Device,
) -> VarBuilder<'static> {
    VarBuilder::from_backend(
        Box::new(SeededVarMap {
            map: varmap.clone(),
            seed,
        }),
        dtype,
        device.clone(),
    )
}

#[cfg(test)]
mod tests {
    use candle_nn::init::DEFAULT_KAIMING_UNIFORM;

    use super::*;

    fn build(seed: u64) -> Vec<f32> {
        let map = VarMap::new();
        let vb = var_builder(&map, seed, DType::F32, &Device::Cpu);
        let w = vb
            .get_with_hints((64, 32), "w", DEFAULT_KAIMING_UNIFORM)
            .expect("w");
        let ones = vb
            .get_with_hints(3, "ones", Init::Const(1.0))
            .expect("ones");
        assert_eq!(ones.to_vec1::<f32>().expect("vec"), [1.0; 3]);
        w.flatten_all().expect("flat").to_vec1().expect("vec")
    }

    #[test]
    fn same_seed_same_weights_with_the_init_scale() {
        let a = build(7);
        assert_eq!(a, build(7));
        assert_ne!(a, build(8));
        let bound = (3.0_f32).sqrt() * (2.0_f32).sqrt() / (32.0_f32).sqrt();
        assert!(a.iter().all(|v| v.abs() <= bound));
        let std = (a.iter().map(|v| v * v).sum::<f32>() / a.len() as f32).sqrt();
        assert!((std - bound / 3.0_f32.sqrt()).abs() < 0.05 * bound, "{std}");
    }
}
