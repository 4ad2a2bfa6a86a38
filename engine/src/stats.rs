//! The significance tests of KPIs reported per arm (language §12): a two-proportion
//! z-test for shares of users, Welch's t-test for per-user means. Pure functions over
//! each arm's summary (size, successes or sum and sum of squares); the distributions are
//! `statrs`'.
//!
//! Each compares a treatment arm with a control arm and reports the difference
//! (treatment − control), its 95% confidence interval and a two-sided p-value. The
//! numbers are those of a fixed-horizon test: they are meant to be read once, when the
//! campaign ends.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// The two-sided confidence level of the intervals.
pub const CONFIDENCE: f64 = 0.95;

/// A difference between two arms, with its interval and p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// Treatment minus control.
    pub difference: f64,
    /// The interval's lower end.
    pub ci_low: f64,
    /// The interval's upper end.
    pub ci_high: f64,
    /// The two-sided p-value of "no difference".
    pub p_value: f64,
}

/// One arm of a proportion: its size and how many of it count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Proportion {
    /// Users in the arm.
    pub n: u64,
    /// Users among them who count (at most `n`).
    pub x: u64,
}

/// One arm of a per-user mean: its size and the sum and sum of squares of its users'
/// values (users with nothing count as zero).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Users in the arm.
    pub n: u64,
    /// The sum of their values.
    pub sum: f64,
    /// The sum of their values' squares.
    pub sum_sq: f64,
}

impl Sample {
    /// The mean.
    fn mean(&self) -> f64 {
        self.sum / self.n as f64
    }

    /// The unbiased variance (n − 1 in the denominator), never below zero (rounding of
    /// the sums can take it a hair under).
    fn variance(&self) -> f64 {
        let n = self.n as f64;
        ((self.sum_sq - self.sum * self.sum / n) / (n - 1.0)).max(0.0)
    }
}

/// The two-proportion z-test of `treatment` against `control`: the p-value from the
/// pooled standard error (under "no difference" both arms share one rate), the interval
/// from the unpooled one. `None` when an arm is empty or the standard errors are zero
/// (every user, or none, counts in both arms).
pub fn two_proportions(control: Proportion, treatment: Proportion) -> Option<Comparison> {
    if control.n == 0 || treatment.n == 0 || control.x > control.n || treatment.x > treatment.n {
        return None;
    }
    let (n1, n2) = (control.n as f64, treatment.n as f64);
    let (p1, p2) = (control.x as f64 / n1, treatment.x as f64 / n2);
    let difference = p2 - p1;
    let pooled = (control.x + treatment.x) as f64 / (n1 + n2);
    let se_pooled = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    let se = (p1 * (1.0 - p1) / n1 + p2 * (1.0 - p2) / n2).sqrt();
    if se_pooled.is_nan() || se_pooled <= 0.0 {
        return None;
    }
    let normal = Normal::standard();
    let z = difference / se_pooled;
    let p_value = (2.0 * normal.sf(z.abs())).min(1.0);
    let half = normal.inverse_cdf(0.5 + CONFIDENCE / 2.0) * se;
    Some(Comparison {
        difference,
        ci_low: difference - half,
        ci_high: difference + half,
        p_value,
    })
}

/// Welch's t-test of `treatment`'s mean against `control`'s: unequal variances,
/// Welch–Satterthwaite degrees of freedom, the interval from the t distribution with
/// them. `None` when an arm has fewer than two users or both variances are zero.
pub fn welch(control: Sample, treatment: Sample) -> Option<Comparison> {
    if control.n < 2 || treatment.n < 2 {
        return None;
    }
    let (n1, n2) = (control.n as f64, treatment.n as f64);
    let (a, b) = (control.variance() / n1, treatment.variance() / n2);
    let se2 = a + b;
    if se2.is_nan() || se2 <= 0.0 || !se2.is_finite() {
        return None;
    }
    let se = se2.sqrt();
    let df = se2 * se2 / (a * a / (n1 - 1.0) + b * b / (n2 - 1.0));
    let difference = treatment.mean() - control.mean();
    let t = StudentsT::new(0.0, 1.0, df).ok()?;
    let p_value = (2.0 * t.sf((difference / se).abs())).min(1.0);
    let half = t.inverse_cdf(0.5 + CONFIDENCE / 2.0) * se;
    Some(Comparison {
        difference,
        ci_low: difference - half,
        ci_high: difference + half,
        p_value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!(
            (a - b).abs() <= 1e-9,
            "{a} != {b} (off by {})",
            (a - b).abs()
        );
    }

    fn sample(v: &[f64]) -> Sample {
        Sample {
            n: v.len() as u64,
            sum: v.iter().sum(),
            sum_sq: v.iter().map(|x| x * x).sum(),
        }
    }

    fn check(c: Comparison, expected: [f64; 4]) {
        close(c.difference, expected[0]);
        close(c.ci_low, expected[1]);
        close(c.ci_high, expected[2]);
        close(c.p_value, expected[3]);
    }

    // Reference values (SciPy 1.17):
    //
    //   from scipy import stats
    //   import math
    //   def ztest(x1, n1, x2, n2):
    //       p1, p2 = x1 / n1, x2 / n2
    //       d = p2 - p1
    //       p = (x1 + x2) / (n1 + n2)
    //       se_pooled = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    //       se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    //       z = d / se_pooled
    //       q = stats.norm.ppf(0.975)
    //       print(d, d - q * se, d + q * se, 2 * stats.norm.sf(abs(z)))
    //   ztest(120, 1000, 150, 1000)
    //   ztest(3, 10, 1, 8)
    #[test]
    fn two_proportions_match_scipy() {
        let c = two_proportions(
            Proportion { n: 1000, x: 120 },
            Proportion { n: 1000, x: 150 },
        );
        check(
            c.unwrap(),
            [
                0.03,
                7.602882129778554e-05,
                0.05992397117870221,
                0.04964038686536878,
            ],
        );
        let c = two_proportions(Proportion { n: 10, x: 3 }, Proportion { n: 8, x: 1 });
        check(
            c.unwrap(),
            [
                -0.175,
                -0.5399528463360084,
                0.1899528463360084,
                0.37485714268334014,
            ],
        );
    }

    #[test]
    fn two_proportions_need_users_and_variation() {
        assert!(two_proportions(Proportion { n: 0, x: 0 }, Proportion { n: 5, x: 1 }).is_none());
        assert!(two_proportions(Proportion { n: 4, x: 4 }, Proportion { n: 5, x: 5 }).is_none());
        assert!(two_proportions(Proportion { n: 4, x: 5 }, Proportion { n: 5, x: 1 }).is_none());
    }

    // Reference values:
    //
    //   from scipy import stats
    //   import numpy as np
    //   def welch(a, b):
    //       r = stats.ttest_ind(b, a, equal_var=False)
    //       ci = r.confidence_interval(0.95)
    //       print(np.mean(b) - np.mean(a), ci.low, ci.high, r.pvalue)
    //   welch([0, 1, 2, 0, 0, 3, 1, 0], [2, 0, 4, 1, 3, 0, 2, 5, 1, 2])
    //   welch([10.5, 0, 0, 22.25, 7, 0], [0, 0, 31.5, 12, 0, 0, 0, 40])
    #[test]
    fn welch_matches_scipy() {
        let c = welch(
            sample(&[0., 1., 2., 0., 0., 3., 1., 0.]),
            sample(&[2., 0., 4., 1., 3., 0., 2., 5., 1., 2.]),
        );
        check(
            c.unwrap(),
            [
                1.125,
                -0.25916632915086635,
                2.509166329150866,
                0.10404547968496292,
            ],
        );
        let c = welch(
            sample(&[10.5, 0., 0., 22.25, 7., 0.]),
            sample(&[0., 0., 31.5, 12., 0., 0., 0., 40.]),
        );
        check(
            c.unwrap(),
            [
                3.8125,
                -11.14295623071616,
                18.76795623071616,
                0.5864718648543599,
            ],
        );
    }

    #[test]
    fn welch_needs_two_users_an_arm_and_variation() {
        assert!(welch(sample(&[1.]), sample(&[1., 2.])).is_none());
        assert!(welch(sample(&[1., 1.]), sample(&[2., 2.])).is_none());
    }
}
