//! Pure statistics for comparisons and trends: values in, values out, no I/O.
//!
//! Wall-clock samples on a shared machine are noisy and skewed, so the comparison works on
//! medians, not means: the bootstrap confidence interval of the ratio of medians
//! (new / old) answers "how big is the change, and how sure are we", and the Mann–Whitney U
//! test, which assumes nothing about the shape of the distributions, confirms that the two
//! samples really differ. [`classify_ratio`] turns both, together with a noise threshold,
//! into a [`Verdict`]; its rules are spelled out there.
//!
//! Resampling uses a small deterministic PRNG ([`SplitMix64`]) with a fixed seed, so the
//! same two records always give the same interval and the same verdict on every machine.
//!
//! [`change_points`] finds shifts in a series of medians (the trend of `benchmark history`)
//! by binary segmentation; see its documentation for the method.

use serde::{Deserialize, Serialize};

/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny, fast generator with good statistical
/// quality, ample for resampling indices. Not for cryptography.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `0..n` (`n > 0`), by the multiply-high method; the bias is below 2⁻⁶⁴·n.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A standard normal deviate (Box–Muller); used by the simulation tests.
    pub fn next_normal(&mut self) -> f64 {
        // 1 - u lies in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// The median of `values` (the mean of the two middle values for an even count), or
/// `None` when empty. NaNs sort last under `total_cmp`; callers pass finite samples.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut buf = values.to_vec();
    Some(median_in_place(&mut buf))
}

/// Median by selection; reorders `buf`, which must not be empty.
fn median_in_place(buf: &mut [f64]) -> f64 {
    let n = buf.len();
    let mid = n / 2;
    let (lower_half, upper_mid, _) = buf.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper_mid;
    if n % 2 == 1 {
        upper
    } else {
        let lower = lower_half
            .iter()
            .copied()
            .max_by(f64::total_cmp)
            .unwrap_or(upper);
        (lower + upper) / 2.0
    }
}

/// Median absolute deviation scaled to estimate a standard deviation of normal data
/// (×1.4826). Zero for fewer than two values.
pub fn scaled_mad(values: &[f64]) -> f64 {
    let Some(center) = median(values) else {
        return 0.0;
    };
    let deviations: Vec<f64> = values.iter().map(|v| (v - center).abs()).collect();
    median(&deviations).unwrap_or(0.0) * 1.4826
}

/// The ratio of medians `new / old` with its bootstrap confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RatioEstimate {
    /// median(new) / median(old): above 1 means the new samples are larger (slower).
    pub ratio: f64,
    pub lower: f64,
    pub upper: f64,
    /// Coverage of `[lower, upper]`, e.g. 0.95.
    pub confidence: f64,
}

/// Percentile bootstrap of median(new) / median(old): `resamples` times, resample each
/// side with replacement and take the ratio of the medians; the interval is the central
/// `confidence` share of those ratios. `None` when a side is empty, holds a non-finite
/// value, or the old median is not positive (a ratio would mean nothing).
pub fn bootstrap_median_ratio(
    old: &[f64],
    new: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Option<RatioEstimate> {
    let finite = |xs: &[f64]| !xs.is_empty() && xs.iter().all(|v| v.is_finite());
    if !finite(old) || !finite(new) || !(0.0..1.0).contains(&confidence) {
        return None;
    }
    let old_median = median(old)?;
    let new_median = median(new)?;
    if old_median <= 0.0 {
        return None;
    }
    let ratio = new_median / old_median;
    let resamples = resamples.max(1);
    let mut rng = SplitMix64::new(seed);
    let mut old_side = ResampledMedian::new(old);
    let mut new_side = ResampledMedian::new(new);
    let mut ratios = resampled_ratios(
        |rng| old_side.draw(rng),
        |rng| new_side.draw(rng),
        resamples,
        &mut rng,
    );
    if ratios.is_empty() {
        return None;
    }
    let (lower, upper) = percentile_interval(&mut ratios, confidence);
    Some(RatioEstimate {
        ratio,
        lower,
        upper,
        confidence,
    })
}

/// `resamples` bootstrap ratios new/old of two sides' resampled statistics. The old side
/// is drawn first, then the new: the same draws, in the same order, as resampling the
/// values themselves, so an estimate does not depend on how a side finds its statistic.
/// A resample whose old statistic is not positive is left out (a zero sample cannot make
/// an infinite ratio).
pub fn resampled_ratios(
    mut old: impl FnMut(&mut SplitMix64) -> f64,
    mut new: impl FnMut(&mut SplitMix64) -> f64,
    resamples: usize,
    rng: &mut SplitMix64,
) -> Vec<f64> {
    let mut ratios = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        let denominator = old(rng);
        let numerator = new(rng);
        if denominator > 0.0 {
            ratios.push(numerator / denominator);
        }
    }
    ratios
}

/// The central `confidence` percentile interval of bootstrap `draws` (reordered).
pub fn percentile_interval(draws: &mut [f64], confidence: f64) -> (f64, f64) {
    let tail = (1.0 - confidence) / 2.0;
    (
        quantile_select(draws, tail),
        quantile_select(draws, 1.0 - tail),
    )
}

/// Medians of bootstrap resamples of one side, found by counting instead of selecting.
///
/// The values are sorted once. A resample is then a multiset of indices into the sorted
/// values, and because the sorted values are monotone in their index, the k-th smallest
/// resampled value is the value at the k-th smallest drawn index. Counting how often each
/// index was drawn and walking the counts finds it in O(n) integer steps, with no float
/// comparisons, no copying of values and no allocation per resample. The result equals
/// the median of the resampled values exactly (same draws, same order statistics, same
/// averaging of the two middle values).
struct ResampledMedian {
    sorted: Vec<f64>,
    counts: Vec<u32>,
}

impl ResampledMedian {
    /// `values` must not be empty.
    fn new(values: &[f64]) -> Self {
        let mut sorted = values.to_vec();
        sorted.sort_unstable_by(f64::total_cmp);
        ResampledMedian {
            counts: vec![0; sorted.len()],
            sorted,
        }
    }

    /// Draws one resample of the same size, with replacement, and returns its median.
    fn draw(&mut self, rng: &mut SplitMix64) -> f64 {
        let n = self.sorted.len();
        self.counts.fill(0);
        for _ in 0..n {
            self.counts[rng.below(n)] += 1;
        }
        // Order statistics wanted (0-based): `mid` always, `mid - 1` too for even n.
        let mid = n / 2;
        let even = n.is_multiple_of(2);
        let lower_rank = if even { mid - 1 } else { mid };
        let mut lower = None;
        let mut seen = 0usize;
        for (value, &count) in self.sorted.iter().zip(&self.counts) {
            seen += count as usize;
            if lower.is_none() && seen > lower_rank {
                lower = Some(*value);
            }
            if seen > mid {
                let lower = lower.unwrap_or(*value);
                return if even { (lower + *value) / 2.0 } else { *value };
            }
        }
        unreachable!("the counts add up to n > mid")
    }
}

/// The `q` quantile of non-empty `values` by linear interpolation between order
/// statistics, found by selection (O(n)); reorders `values`.
pub(crate) fn quantile_select(values: &mut [f64], q: f64) -> f64 {
    let position = q.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let below = position.floor() as usize;
    let weight = position - below as f64;
    let (_, at_below, above_part) = values.select_nth_unstable_by(below, f64::total_cmp);
    let at_below = *at_below;
    if weight == 0.0 {
        return at_below;
    }
    // The next order statistic is the smallest value after the selected one.
    let at_above = above_part
        .iter()
        .copied()
        .min_by(f64::total_cmp)
        .unwrap_or(at_below);
    at_below * (1.0 - weight) + at_above * weight
}

/// Result of a two-sided Mann–Whitney U test.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MannWhitney {
    /// U of the new sample: pairs (old, new) with new > old, ties counted half.
    pub u: f64,
    /// Standardised U (normal approximation with tie and continuity corrections).
    pub z: f64,
    /// Two-sided p-value of "both samples come from one distribution".
    pub p_value: f64,
}

/// The Mann–Whitney U test by ranks, with the normal approximation (adequate from about
/// eight samples a side; criterion records 100). `None` if a side is empty or holds a NaN.
pub fn mann_whitney_u(old: &[f64], new: &[f64]) -> Option<MannWhitney> {
    if old.is_empty() || new.is_empty() || old.iter().chain(new).any(|v| v.is_nan()) {
        return None;
    }
    let (n_old, n_new) = (old.len() as f64, new.len() as f64);
    let mut pooled: Vec<(f64, bool)> = old
        .iter()
        .map(|&v| (v, false))
        .chain(new.iter().map(|&v| (v, true)))
        .collect();
    pooled.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));

    // Average ranks over ties; accumulate Σ(t³ − t) for the variance correction.
    let mut rank_sum_new = 0.0;
    let mut tie_term = 0.0;
    let mut start = 0;
    while start < pooled.len() {
        let mut end = start + 1;
        while end < pooled.len() && pooled[end].0 == pooled[start].0 {
            end += 1;
        }
        let average_rank = (start + end + 1) as f64 / 2.0;
        let new_in_group = pooled[start..end].iter().filter(|p| p.1).count() as f64;
        rank_sum_new += average_rank * new_in_group;
        let t = (end - start) as f64;
        tie_term += t * t * t - t;
        start = end;
    }

    let u = rank_sum_new - n_new * (n_new + 1.0) / 2.0;
    let mean = n_old * n_new / 2.0;
    let n = n_old + n_new;
    let variance = n_old * n_new / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)).max(1.0));
    if variance <= 0.0 {
        // Every value equal: no evidence of any difference.
        return Some(MannWhitney {
            u,
            z: 0.0,
            p_value: 1.0,
        });
    }
    let distance = ((u - mean).abs() - 0.5).max(0.0);
    let z = distance.copysign(u - mean) / variance.sqrt();
    let p_value = erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0);
    Some(MannWhitney { u, z, p_value })
}

/// Complementary error function, Chebyshev fit with fractional error below 1.2e-7
/// everywhere (Press et al., Numerical Recipes, `erfcc`). Ample for p-values.
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let coefficients = [
        -1.265_512_23,
        1.000_023_68,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_203_98,
        1.488_515_87,
        -0.822_152_23,
        0.170_872_77,
    ];
    let poly = coefficients.iter().rev().fold(0.0, |acc, c| acc * t + c);
    let value = t * (-z * z + poly).exp();
    if x >= 0.0 { value } else { 2.0 - value }
}

/// A comparison's verdict, from the point of view of the measured cost (time,
/// instructions, bytes): lower is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Improved,
    Regressed,
    Unchanged,
    Inconclusive,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "regressed",
            Verdict::Unchanged => "unchanged",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What, besides the interval, says that two samples really differ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RankEvidence {
    /// A two-sided Mann–Whitney p-value.
    Tested { p_value: f64 },
    /// The samples allowed no rank test: never enough for a change verdict.
    Missing,
    /// No samples exist, only recorded median intervals, so no rank test can run: the
    /// interval alone decides. Callers must label such a line ("no rank test").
    IntervalOnly,
}

/// Classifies a ratio of costs (new / old) with its confidence interval, the evidence of
/// a rank test, a noise threshold `threshold` (a fraction: 0.03 for 3%) and a
/// significance level `alpha`:
///
/// - **regressed**: the interval lies entirely above 1 (the change is real), the point
///   estimate exceeds 1 + threshold (it is large enough to matter) and the rank test
///   agrees (p < alpha), or there are no samples and the evidence is
///   [`RankEvidence::IntervalOnly`];
/// - **improved**: the mirror image: interval entirely below 1, ratio below 1 − threshold,
///   same rank-test rule;
/// - **unchanged**: the whole interval lies within [1 − threshold, 1 + threshold];
/// - **inconclusive**: anything else (too noisy, a real change smaller than the threshold
///   whose interval still reaches past it, or a change without its rank test).
pub fn classify_ratio(
    estimate: &RatioEstimate,
    evidence: RankEvidence,
    threshold: f64,
    alpha: f64,
) -> Verdict {
    let significant = match evidence {
        RankEvidence::Tested { p_value } => p_value < alpha,
        RankEvidence::Missing => false,
        RankEvidence::IntervalOnly => true,
    };
    if significant && estimate.lower > 1.0 && estimate.ratio > 1.0 + threshold {
        Verdict::Regressed
    } else if significant && estimate.upper < 1.0 && estimate.ratio < 1.0 - threshold {
        Verdict::Improved
    } else if estimate.lower >= 1.0 - threshold && estimate.upper <= 1.0 + threshold {
        Verdict::Unchanged
    } else {
        Verdict::Inconclusive
    }
}

/// A shift found in a series.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangePoint {
    /// Index of the first value after the shift.
    pub index: usize,
    /// Median of the segment before the shift.
    pub before: f64,
    /// Median of the segment after it.
    pub after: f64,
    /// after / before − 1.
    pub shift: f64,
}

/// Fewest values on each side of a change point: one or two runs are an anecdote, not a
/// level, and a noise estimate from two successive differences can be zero.
pub const MIN_SEGMENT: usize = 3;

/// Change points of `series` by binary segmentation on medians.
///
/// The noise of the series is estimated once, robustly and blind to level shifts: the
/// scaled MAD of successive differences divided by √2, relative to the series median,
/// and never below `noise_floor` (a fraction; callers pass the metric's own noise
/// threshold, so a short or unusually quiet series does not make every wiggle a shift).
/// Within a segment, each split leaving at least [`MIN_SEGMENT`] values on both sides is
/// scored by the total absolute deviation of both sides from their own medians (the L1
/// cost of a piecewise-constant fit); the cheapest split sits exactly at a step, where a
/// score on the shift of medians alone is flat, because one stray value barely moves a
/// median. The best split is accepted when its relative shift is at least `min_shift` *and* more than three
/// times the noise; the segments on both sides are then searched again. Finally, cuts whose
/// neighbouring segments no longer differ by that much (a split placed one value off, then
/// corrected deeper down) are pruned, weakest first. Reported `before`/`after` are the
/// medians of the final neighbouring segments. A series holding a non-positive or
/// non-finite value has no relative shifts and gives no change points.
pub fn change_points(series: &[f64], min_shift: f64, noise_floor: f64) -> Vec<ChangePoint> {
    if series.len() < 2 * MIN_SEGMENT || series.iter().any(|v| !v.is_finite() || *v <= 0.0) {
        return Vec::new();
    }
    let differences: Vec<f64> = series.windows(2).map(|w| w[1] - w[0]).collect();
    let center = median(series).unwrap_or(1.0);
    let estimated = scaled_mad(&differences) / std::f64::consts::SQRT_2 / center;
    let noise = estimated.max(noise_floor);
    let accepts = |shift: f64| shift.abs() >= min_shift && shift.abs() > 3.0 * noise;

    let mut cuts = Vec::new();
    split_segment(series, 0, series.len(), MIN_SEGMENT, &accepts, &mut cuts);
    cuts.sort_unstable();
    loop {
        let found = neighbour_shifts(series, &cuts);
        let weakest = found
            .iter()
            .enumerate()
            .filter(|(_, c)| !accepts(c.shift))
            .min_by(|a, b| a.1.shift.abs().total_cmp(&b.1.shift.abs()));
        match weakest {
            Some((i, _)) => {
                cuts.remove(i);
            }
            None => return found,
        }
    }
}

/// Each cut with the medians of the segments on either side of it.
fn neighbour_shifts(series: &[f64], cuts: &[usize]) -> Vec<ChangePoint> {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(series.len());
    bounds
        .windows(3)
        .filter_map(|w| {
            let before = median(&series[w[0]..w[1]])?;
            let after = median(&series[w[1]..w[2]])?;
            Some(ChangePoint {
                index: w[1],
                before,
                after,
                shift: after / before - 1.0,
            })
        })
        .collect()
}

fn split_segment(
    series: &[f64],
    start: usize,
    end: usize,
    min_segment: usize,
    accepts: &dyn Fn(f64) -> bool,
    cuts: &mut Vec<usize>,
) {
    let n = end - start;
    if n < 2 * min_segment {
        return;
    }
    let mut best: Option<(f64, usize, f64)> = None;
    for split in start + min_segment..=end - min_segment {
        let (Some(left), Some(right)) =
            (median(&series[start..split]), median(&series[split..end]))
        else {
            continue;
        };
        let shift = right / left - 1.0;
        let deviation = |values: &[f64], center: f64| -> f64 {
            values.iter().map(|v| (v - center).abs()).sum()
        };
        let cost = deviation(&series[start..split], left) + deviation(&series[split..end], right);
        if best.is_none_or(|(c, _, _)| cost < c) {
            best = Some((cost, split, shift));
        }
    }
    if let Some((_, split, shift)) = best
        && accepts(shift)
    {
        cuts.push(split);
        split_segment(series, start, split, min_segment, accepts, cuts);
        split_segment(series, split, end, min_segment, accepts, cuts);
    }
}

/// FNV-1a of `bytes`: a fixed, well-spread seed per benchmark for resampling and ordering.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The 0.975 quantile of Student's t distribution with `df` degrees of freedom (two-sided
/// 95% intervals); `df = 0` gives infinity. Table values for 1–10; beyond, the value at the
/// smallest df of each band (11, 21, 31), so the interval errs on the wide side.
pub fn t_quantile_975(df: usize) -> f64 {
    const TABLE: [f64; 10] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    ];
    match df {
        0 => f64::INFINITY,
        1..=10 => TABLE[df - 1],
        11..=20 => 2.201,
        21..=30 => 2.080,
        _ => 2.040,
    }
}

/// The `p` quantile of Student's t distribution with `df` degrees of freedom, for `p` in
/// (0.5, 1): the t with P(T ≤ t) = p, found by bisection on the distribution function
/// (through the regularized incomplete beta function). `df = 0` gives infinity.
pub fn t_quantile(p: f64, df: usize) -> f64 {
    t_quantile_real(p, df as f64)
}

/// [`t_quantile`] for real degrees of freedom (a moderated t has `d0 + d` of them, d0 not
/// an integer). Beyond [`T_DF_CAP`] degrees of freedom the value at the cap is returned
/// (at 0.975 within 0.001% of the normal quantile), infinite `df` included.
pub fn t_quantile_real(p: f64, df: f64) -> f64 {
    if df.is_nan() || df <= 0.0 || !(p > 0.5 && p < 1.0) {
        return f64::INFINITY;
    }
    let n = df.min(T_DF_CAP);
    // P(T > t) = I_{n/(n+t²)}(n/2, 1/2) / 2.
    let upper_tail = |t: f64| 0.5 * incomplete_beta(n / (n + t * t), n / 2.0, 0.5);
    let target = 1.0 - p;
    let mut high = 1.0;
    while upper_tail(high) > target && high < 1e12 {
        high *= 2.0;
    }
    let mut low = 0.0;
    for _ in 0..200 {
        let mid = (low + high) / 2.0;
        if upper_tail(mid) > target {
            low = mid;
        } else {
            high = mid;
        }
        if high - low <= 1e-12 * high {
            break;
        }
    }
    (low + high) / 2.0
}

/// The two-sided p-value of Student's t statistic `t` with `df` degrees of freedom (real,
/// capped at [`T_DF_CAP`] like [`t_quantile_real`]): P(|T| ≥ |t|) = I_{df/(df+t²)}(df/2, 1/2).
/// 1 for a NaN statistic or no degrees of freedom.
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return 1.0;
    }
    if t.is_infinite() {
        return 0.0;
    }
    let n = df.min(T_DF_CAP);
    incomplete_beta(n / (n + t * t), n / 2.0, 0.5)
}

/// The degrees of freedom beyond which [`t_quantile_real`] uses the value at this many.
pub const T_DF_CAP: f64 = 100_000.0;

/// Below this the polygamma functions step up by their recurrences before their
/// asymptotic series, whose first omitted term is then under 1e-12.
const POLYGAMMA_SERIES_FROM: f64 = 10.0;

/// The digamma function ψ(x) = d/dx ln Γ(x) for x > 0: the recurrence ψ(x) = ψ(x + 1) − 1/x
/// up to x ≥ 10, then the asymptotic series (Abramowitz & Stegun 6.3.18).
pub fn digamma(x: f64) -> f64 {
    let (mut x, mut shift) = (x, 0.0);
    while x < POLYGAMMA_SERIES_FROM {
        shift -= 1.0 / x;
        x += 1.0;
    }
    let r = 1.0 / (x * x);
    shift + x.ln()
        - 0.5 / x
        - r * (1.0 / 12.0 - r * (1.0 / 120.0 - r * (1.0 / 252.0 - r * (1.0 / 240.0))))
}

/// The trigamma function ψ′(x) for x > 0: ψ′(x) = ψ′(x + 1) + 1/x² up to x ≥ 10, then the
/// asymptotic series (Abramowitz & Stegun 6.4.12).
pub fn trigamma(x: f64) -> f64 {
    let (mut x, mut shift) = (x, 0.0);
    while x < POLYGAMMA_SERIES_FROM {
        shift += 1.0 / (x * x);
        x += 1.0;
    }
    let r = 1.0 / (x * x);
    shift + 1.0 / x + r / 2.0 + r / x * (1.0 / 6.0 - r * (1.0 / 30.0 - r * (1.0 / 42.0 - r / 30.0)))
}

/// The tetragamma function ψ″(x) for x > 0: ψ″(x) = ψ″(x + 1) − 2/x³ up to x ≥ 10, then
/// the derivative of [`trigamma`]'s series.
fn tetragamma(x: f64) -> f64 {
    let (mut x, mut shift) = (x, 0.0);
    while x < POLYGAMMA_SERIES_FROM {
        shift -= 2.0 / (x * x * x);
        x += 1.0;
    }
    let r = 1.0 / (x * x);
    shift - r - r / x - r * r * (0.5 - r * (1.0 / 6.0 - r * (1.0 / 6.0 - r * 0.3)))
}

/// The x > 0 with ψ′(x) = y, for y > 0: Newton's method on 1/ψ′ from x = 0.5 + 1/y, as
/// Smyth (2004) does for the prior degrees of freedom of moderated t statistics.
pub fn trigamma_inverse(y: f64) -> f64 {
    if y > 1e7 {
        return 1.0 / y.sqrt();
    }
    if y < 1e-6 {
        return 1.0 / y;
    }
    let mut x = 0.5 + 1.0 / y;
    for _ in 0..50 {
        let tri = trigamma(x);
        let step = tri * (1.0 - tri / y) / tetragamma(x);
        x += step;
        if -step / x < 1e-8 {
            break;
        }
    }
    x
}

/// ln Γ(x) for x > 0 (Lanczos approximation, g = 7, nine coefficients; relative error
/// about 1e-15).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The regularized incomplete beta function I_x(a, b), by its continued fraction (Lentz's
/// method), using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where the fraction converges
/// slowly.
fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - incomplete_beta(1.0 - x, b, a);
    }
    const TINY: f64 = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut fraction = d;
    for m in 1..=300 {
        let m = m as f64;
        for numerator in [
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + numerator * d;
            if d.abs() < TINY {
                d = TINY;
            }
            c = 1.0 + numerator / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            fraction *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-15 {
            break;
        }
    }
    front * fraction / a
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The verdict under the default wall policy, exactly as `compare` reaches it.
    fn verdict(old: &[f64], new: &[f64], seed: u64) -> Verdict {
        let policy = crate::analysis::compare::WallPolicy::default();
        let estimate =
            bootstrap_median_ratio(old, new, policy.resamples, policy.confidence, seed).unwrap();
        let test = mann_whitney_u(old, new).unwrap();
        let (threshold, alpha) = (policy.threshold_pct / 100.0, 1.0 - policy.confidence);
        classify_ratio(
            &estimate,
            RankEvidence::Tested {
                p_value: test.p_value,
            },
            threshold,
            alpha,
        )
    }

    /// Against published tables of Student's t (two-sided 95% and 99%, and the normal
    /// limit): within 1e-3.
    #[test]
    fn t_quantiles_match_the_tables() {
        for (p, df, want) in [
            (0.975, 1, 12.706),
            (0.975, 2, 4.303),
            (0.975, 4, 2.776),
            (0.975, 10, 2.228),
            (0.975, 30, 2.042),
            (0.995, 2, 9.925),
            (0.995, 4, 4.604),
            (0.95, 3, 2.353),
            (0.975, 100_000, 1.960),
        ] {
            let got = t_quantile(p, df);
            assert!(
                (got - want).abs() < 1e-3,
                "t({p}, {df}) = {got}, tables {want}"
            );
        }
        assert_eq!(t_quantile(0.975, 0), f64::INFINITY);
        assert_eq!(t_quantile(0.4, 3), f64::INFINITY);
        let between = t_quantile_real(0.975, 8.5);
        assert!(t_quantile(0.975, 9) < between && between < t_quantile(0.975, 8));
        assert_eq!(t_quantile_real(0.975, 8.0), t_quantile(0.975, 8));
        for (p, df) in [(0.975, 4usize), (0.995, 2), (0.95, 30)] {
            let t = t_quantile(p, df);
            let two_sided = t_two_sided_p(t, df as f64);
            assert!(
                (two_sided - 2.0 * (1.0 - p)).abs() < 1e-9,
                "{p} {df}: {two_sided}"
            );
            assert_eq!(t_two_sided_p(-t, df as f64), two_sided);
        }
        assert_eq!(t_two_sided_p(0.0, 4.0), 1.0);
        assert_eq!(t_two_sided_p(f64::NAN, 4.0), 1.0);
        assert!((t_quantile_real(0.975, f64::INFINITY) - 1.95996).abs() < 1e-4);
    }

    /// Values from the tables of Abramowitz & Stegun (6.3, 6.4) and closed forms:
    /// ψ(1) = −γ, ψ(1/2) = −γ − 2 ln 2, ψ′(1) = π²/6, ψ′(1/2) = π²/2, ψ″(1) = −2ζ(3).
    #[test]
    fn polygamma_functions_match_closed_forms() {
        let gamma = 0.577_215_664_901_532_9;
        let pi2 = std::f64::consts::PI.powi(2);
        for (got, want) in [
            (digamma(1.0), -gamma),
            (digamma(0.5), -gamma - 2.0 * std::f64::consts::LN_2),
            (digamma(10.0), 2.251_752_589_066_721),
            (trigamma(1.0), pi2 / 6.0),
            (trigamma(0.5), pi2 / 2.0),
            (trigamma(10.0), 0.105_166_335_681_685_5),
            (tetragamma(1.0), -2.0 * 1.202_056_903_159_594),
        ] {
            assert!((got - want).abs() < 1e-10, "{got} vs {want}");
        }
        for x in [0.01, 0.3, 1.0, 2.5, 17.0, 400.0] {
            let back = trigamma_inverse(trigamma(x));
            assert!((back - x).abs() < 1e-6 * x.max(1.0), "{x} → {back}");
        }
        for df in 1..=10 {
            assert!((t_quantile(0.975, df) - t_quantile_975(df)).abs() < 1e-3);
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn erfc_matches_known_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-7);
        assert!((erfc(2.0) - 0.004_677_735).abs() < 1e-8);
    }

    #[test]
    fn mann_whitney_matches_a_hand_computed_example() {
        // old = 1,2,3; new = 4,5,6: every new value is larger, U = 9 of 9 pairs.
        let test = mann_whitney_u(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert_eq!(test.u, 9.0);
        // mean 4.5, variance 3·3·7/12 = 5.25, z = (4.5 − 0.5)/√5.25 = 1.7457
        assert!((test.z - 1.745_743).abs() < 1e-5, "z = {}", test.z);
        assert!(
            (test.p_value - 0.080_856).abs() < 1e-4,
            "p = {}",
            test.p_value
        );
    }

    #[test]
    fn mann_whitney_of_all_equal_values_finds_nothing() {
        let test = mann_whitney_u(&[5.0; 10], &[5.0; 12]).unwrap();
        assert_eq!(test.p_value, 1.0);
    }

    #[test]
    fn bootstrap_is_deterministic_for_a_seed() {
        let old: Vec<f64> = (0..30).map(|i| 100.0 + (i % 7) as f64).collect();
        let new: Vec<f64> = (0..30).map(|i| 104.0 + (i % 5) as f64).collect();
        let a = bootstrap_median_ratio(&old, &new, 2_000, 0.95, 7).unwrap();
        let b = bootstrap_median_ratio(&old, &new, 2_000, 0.95, 7).unwrap();
        assert_eq!(a, b);
        assert!(a.lower <= a.ratio && a.ratio <= a.upper);
    }

    #[test]
    fn bootstrap_refuses_meaningless_ratios() {
        assert!(bootstrap_median_ratio(&[], &[1.0], 10, 0.95, 1).is_none());
        assert!(bootstrap_median_ratio(&[0.0, 0.0], &[1.0], 10, 0.95, 1).is_none());
        assert!(bootstrap_median_ratio(&[1.0, f64::NAN], &[1.0], 10, 0.95, 1).is_none());
    }

    #[test]
    fn classification_rules() {
        assert_eq!(
            classify_ratio(&est(1.10, 1.06, 1.14), tested(0.001), 0.03, 0.05),
            Verdict::Regressed
        );
        assert_eq!(
            classify_ratio(&est(0.90, 0.86, 0.94), tested(0.001), 0.03, 0.05),
            Verdict::Improved
        );
        assert_eq!(
            classify_ratio(&est(1.00, 0.99, 1.01), tested(0.8), 0.03, 0.05),
            Verdict::Unchanged
        );
        // Significant by the interval but the rank test disagrees.
        assert_eq!(
            classify_ratio(&est(1.10, 1.06, 1.14), tested(0.2), 0.03, 0.05),
            Verdict::Inconclusive
        );
        // Real but smaller than the threshold, interval reaching past it.
        assert_eq!(
            classify_ratio(&est(1.02, 1.01, 1.04), tested(0.01), 0.03, 0.05),
            Verdict::Inconclusive
        );
        // Too noisy to say.
        assert_eq!(
            classify_ratio(&est(1.05, 0.95, 1.15), tested(0.3), 0.03, 0.05),
            Verdict::Inconclusive
        );
    }

    fn est(ratio: f64, lower: f64, upper: f64) -> RatioEstimate {
        RatioEstimate {
            ratio,
            lower,
            upper,
            confidence: 0.95,
        }
    }

    fn tested(p_value: f64) -> RankEvidence {
        RankEvidence::Tested { p_value }
    }

    #[test]
    fn missing_rank_test_is_never_treated_as_passed() {
        let clear_regression = est(1.10, 1.06, 1.14);
        assert_eq!(
            classify_ratio(&clear_regression, RankEvidence::Missing, 0.03, 0.05),
            Verdict::Inconclusive
        );
        assert_eq!(
            classify_ratio(&est(0.90, 0.86, 0.94), RankEvidence::Missing, 0.03, 0.05),
            Verdict::Inconclusive
        );
        // Only the explicit interval-only evidence (no samples at all) lets the interval
        // decide alone; the comparison labels those lines.
        assert_eq!(
            classify_ratio(&clear_regression, RankEvidence::IntervalOnly, 0.03, 0.05),
            Verdict::Regressed
        );
    }

    /// The median of a resample drawn by value, the way the counting shortcut claims to
    /// reproduce.
    fn median_of_resample(values: &[f64], rng: &mut SplitMix64) -> f64 {
        let mut sorted = values.to_vec();
        sorted.sort_unstable_by(f64::total_cmp);
        let drawn: Vec<f64> = (0..values.len())
            .map(|_| sorted[rng.below(values.len())])
            .collect();
        median(&drawn).unwrap()
    }

    #[test]
    fn counted_resample_medians_equal_medians_of_the_resampled_values() {
        let mut data_rng = SplitMix64::new(5);
        for n in 1..40 {
            let values: Vec<f64> = (0..n).map(|_| (data_rng.below(7) as f64) * 1.5).collect();
            let mut counted = ResampledMedian::new(&values);
            let (mut a, mut b) = (SplitMix64::new(n as u64), SplitMix64::new(n as u64));
            for _ in 0..200 {
                assert_eq!(
                    counted.draw(&mut a),
                    median_of_resample(&values, &mut b),
                    "n = {n}"
                );
            }
        }
    }

    /// Draws `n` samples around `center` with coefficient of variation `cv`: normal when
    /// `skewed` is false, log-normal (the right-skewed shape of timings) otherwise.
    fn draw(rng: &mut SplitMix64, n: usize, center: f64, cv: f64, skewed: bool) -> Vec<f64> {
        (0..n)
            .map(|_| {
                let z = rng.next_normal();
                if skewed {
                    let sigma = (1.0 + cv * cv).ln().sqrt();
                    center * (sigma * z).exp()
                } else {
                    center * (1.0 + cv * z)
                }
            })
            .collect()
    }

    /// Runs `trials` comparisons of `n` samples a side with the new side scaled by
    /// `1 + shift`; returns how many were flagged as changed (regressed or improved) and
    /// how many as regressed.
    fn simulate(trials: usize, n: usize, shift: f64, skewed: bool, seed: u64) -> (usize, usize) {
        let mut rng = SplitMix64::new(seed);
        let mut changed = 0;
        let mut regressed = 0;
        for trial in 0..trials {
            let old = draw(&mut rng, n, 1000.0, 0.02, skewed);
            let new = draw(&mut rng, n, 1000.0 * (1.0 + shift), 0.02, skewed);
            match verdict(&old, &new, trial as u64) {
                Verdict::Regressed => {
                    changed += 1;
                    regressed += 1;
                }
                Verdict::Improved => changed += 1,
                _ => {}
            }
        }
        (changed, regressed)
    }

    // Statistical quality, 1000 trials each with fixed seeds. The measured rates are
    // printed (`cargo test -p benchseal stats::tests::simulated -- --nocapture`).

    #[test]
    fn simulated_a_a_comparisons_rarely_flag_a_change() {
        for (skewed, n) in [(false, 20), (true, 20)] {
            let (changed, _) = simulate(1000, n, 0.0, skewed, 0xA0A0 + n as u64);
            println!("A/A, 2% CV, n = {n}, skewed = {skewed}: {changed}/1000 flagged as changed");
            assert!(
                changed <= 10,
                "{changed}/1000 A/A comparisons flagged as changed"
            );
        }
    }

    #[test]
    fn simulated_five_percent_shift_is_detected() {
        for (skewed, n) in [(false, 20), (true, 20)] {
            let (_, regressed) = simulate(1000, n, 0.05, skewed, 0x5EED + n as u64);
            println!("+5% shift, 2% CV, n = {n}, skewed = {skewed}: {regressed}/1000 regressed");
            assert!(
                regressed >= 950,
                "only {regressed}/1000 shifts of 5% detected"
            );
            let (changed, _) = simulate(1000, n, -0.05, skewed, 0x5EEE + n as u64);
            println!("−5% shift, 2% CV, n = {n}, skewed = {skewed}: {changed}/1000 flagged");
            assert!(
                changed >= 950,
                "only {changed}/1000 improvements of 5% detected"
            );
        }
    }

    #[test]
    fn change_points_find_a_step_and_ignore_noise() {
        let mut rng = SplitMix64::new(11);
        let mut series: Vec<f64> = (0..12)
            .map(|_| 100.0 * (1.0 + 0.01 * rng.next_normal()))
            .collect();
        assert!(
            change_points(&series, 0.05, 0.0).is_empty(),
            "noise alone is no change"
        );
        series.extend((0..8).map(|_| 120.0 * (1.0 + 0.01 * rng.next_normal())));
        let found = change_points(&series, 0.05, 0.0);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].index, 12);
        assert!((found[0].shift - 0.2).abs() < 0.03, "{found:?}");
    }

    #[test]
    fn change_points_find_a_regression_once_three_runs_confirm_it() {
        let series = [100.0, 101.0, 99.0, 100.5, 99.5, 100.0, 130.0];
        assert!(
            change_points(&series, 0.05, 0.03).is_empty(),
            "one slow run is not yet a level"
        );
        let series = [100.0, 101.0, 99.0, 100.5, 99.5, 100.0, 130.0, 131.0, 129.0];
        let found = change_points(&series, 0.05, 0.03);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].index, 6);
    }

    /// Regression: with two or three points the noise of successive differences is zero,
    /// so any wiggle of the threshold's size used to be reported as a change point.
    #[test]
    fn change_points_short_series_wiggle_is_no_change_point() {
        let wall_threshold = 0.03;
        for series in [
            vec![100.0, 103.0],
            vec![100.0, 103.0, 100.0],
            vec![100.0, 100.0, 103.0],
        ] {
            assert!(
                change_points(&series, wall_threshold, wall_threshold).is_empty(),
                "{series:?}"
            );
        }
        // Enough points, but the 3% wiggle sits under the noise floor of the threshold.
        let wiggle = [100.0, 103.0, 100.0, 103.0, 100.0, 103.0, 100.0];
        assert!(change_points(&wiggle, wall_threshold, wall_threshold).is_empty());
    }

    #[test]
    fn change_points_real_twenty_percent_step_over_ten_runs_is_found() {
        let series = [
            100.0, 101.0, 99.5, 100.5, 100.0, 120.0, 121.0, 119.5, 120.5, 120.0,
        ];
        let found = change_points(&series, 0.03, 0.03);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].index, 5);
        assert!((found[0].shift - 0.2).abs() < 0.01, "{found:?}");
    }

    #[test]
    fn change_points_find_two_steps() {
        let series = [
            100.0, 101.0, 99.0, 100.0, 120.0, 121.0, 119.0, 120.0, 90.0, 91.0, 89.0, 90.0,
        ];
        let indices: Vec<usize> = change_points(&series, 0.05, 0.0)
            .iter()
            .map(|c| c.index)
            .collect();
        assert_eq!(indices, vec![4, 8]);
    }

    proptest! {
        /// An A/A comparison of identical samples is never a regression or an improvement.
        #[test]
        fn identical_samples_are_never_a_change(
            samples in prop::collection::vec(1.0f64..1e9, 1..60),
            seed in any::<u64>(),
        ) {
            let estimate = bootstrap_median_ratio(&samples, &samples, 500, 0.95, seed).unwrap();
            let test = mann_whitney_u(&samples, &samples).unwrap();
            prop_assert_eq!(estimate.ratio, 1.0);
            prop_assert!(test.p_value > 0.9);
            let v = classify_ratio(&estimate, RankEvidence::Tested { p_value: test.p_value }, 0.03, 0.05);
            prop_assert!(v == Verdict::Unchanged || v == Verdict::Inconclusive, "{:?}", v);
        }

        /// The interval always contains the point estimate, and scaling both sides by one
        /// factor does not change the ratio.
        #[test]
        fn interval_contains_estimate_and_is_scale_free(
            old in prop::collection::vec(1.0f64..1e6, 1..40),
            new in prop::collection::vec(1.0f64..1e6, 1..40),
            scale in 0.001f64..1000.0,
        ) {
            let a = bootstrap_median_ratio(&old, &new, 300, 0.9, 3).unwrap();
            prop_assert!(a.lower <= a.ratio * (1.0 + 1e-12) && a.ratio <= a.upper * (1.0 + 1e-12));
            let old_scaled: Vec<f64> = old.iter().map(|v| v * scale).collect();
            let new_scaled: Vec<f64> = new.iter().map(|v| v * scale).collect();
            let b = bootstrap_median_ratio(&old_scaled, &new_scaled, 300, 0.9, 3).unwrap();
            prop_assert!((a.ratio - b.ratio).abs() <= 1e-9 * a.ratio);
        }

        /// Swapping the sides mirrors U and keeps the p-value.
        #[test]
        fn mann_whitney_is_symmetric(
            old in prop::collection::vec(0.0f64..100.0, 1..30),
            new in prop::collection::vec(0.0f64..100.0, 1..30),
        ) {
            let ab = mann_whitney_u(&old, &new).unwrap();
            let ba = mann_whitney_u(&new, &old).unwrap();
            prop_assert!((ab.u + ba.u - (old.len() * new.len()) as f64).abs() < 1e-9);
            prop_assert!((ab.p_value - ba.p_value).abs() < 1e-12);
        }

        /// Quantiles by selection equal quantiles of the sorted values.
        #[test]
        fn quantile_by_selection_matches_sorting(
            values in prop::collection::vec(-1e6f64..1e6, 1..200),
            q in 0.0f64..=1.0,
        ) {
            let mut sorted = values.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            let position = q * (sorted.len() - 1) as f64;
            let (below, above) = (position.floor() as usize, position.ceil() as usize);
            let weight = position - below as f64;
            let expected = sorted[below] * (1.0 - weight) + sorted[above] * weight;
            let mut scratch = values.clone();
            prop_assert_eq!(quantile_select(&mut scratch, q), expected);
        }

        /// A constant series has no change points.
        #[test]
        fn constant_series_has_no_change_points(value in 1.0f64..1e9, n in 0usize..40) {
            prop_assert!(change_points(&vec![value; n], 0.01, 0.01).is_empty());
        }
    }
}
