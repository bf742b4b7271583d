//! Scoring a step's prediction: the ranking is scores descending, ties broken by the lower
//! slot (a stable sort), so every scorer is judged the same way in Rust and Python.

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
