//! Scoring a step's prediction: the ranking is scores descending, ties broken by the lower
//! slot (a stable sort), so every scorer is judged the same way in Rust and Python; and the
//! top-1/top-3 counts every report (eval, shadow) keeps.

use serde::Serialize;

/// Position of `target` in the ranking of `scores` (0 = best), None if it is not a slot.
pub fn rank_of(scores: &[f32], target: i32) -> Option<usize> {
    let t = usize::try_from(target).ok().filter(|&t| t < scores.len())?;
    let st = scores[t];
    Some(
        scores
            .iter()
            .enumerate()
            .filter(|&(j, &s)| s > st || (s == st && j < t))
            .count(),
    )
}

/// Slot ranked first.
pub fn best(scores: &[f32]) -> usize {
    let mut best = 0;
    for (j, &s) in scores.iter().enumerate() {
        if s > scores[best] {
            best = j;
        }
    }
    best
}

/// Top-1/top-3 of one scorer over some steps.
#[derive(Serialize, Clone, Copy, Debug, PartialEq)]
pub struct Rates {
    pub top1: f64,
    pub top3: f64,
}

/// Hit counts of one scorer.
#[derive(Default, Clone, Copy, Debug)]
pub struct Hits {
    pub top1: u64,
    pub top3: u64,
}

impl Hits {
    /// A step a scorer ranked: `rank` of the task that ran, None for a miss.
    pub fn add_rank(&mut self, rank: Option<usize>) {
        if let Some(r) = rank {
            self.top1 += u64::from(r == 0);
            self.top3 += u64::from(r < 3);
        }
    }

    /// A step an identity baseline guessed (up to 3 pids, best first).
    pub fn add_guesses(&mut self, guesses: &[i32], next: i32) {
        self.top1 += u64::from(guesses.first() == Some(&next));
        self.top3 += u64::from(guesses.contains(&next));
    }

    pub fn rates(self, steps: u64) -> Rates {
        Rates {
            top1: frac(self.top1, steps),
            top3: frac(self.top3, steps),
        }
    }
}

/// `n / d`, 0 for no steps.
pub fn frac(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_to_the_lower_slot() {
        let s = [0.5, 2.0, 2.0, -1e9, 1.0];
        assert_eq!(best(&s), 1);
        assert_eq!(rank_of(&s, 1), Some(0));
        assert_eq!(rank_of(&s, 2), Some(1));
        assert_eq!(rank_of(&s, 4), Some(2));
        assert_eq!(rank_of(&s, 0), Some(3));
        assert_eq!(rank_of(&s, -1), None);
        assert_eq!(rank_of(&s, 9), None);
    }
}
