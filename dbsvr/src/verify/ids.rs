//! Which ids to compare: all of them, or a seeded random sample.

use rand::rngs::StdRng;

use super::CHUNK;

/// The ids to compare: all of 1..=max, or a sorted random sample of them.
pub(super) enum Ids {
    All(u64),
    Picked(Vec<u64>),
}

impl Ids {
    /// All of `ids` (sorted), or a sorted random sample of them.
    pub(super) fn pick_from(ids: Vec<u64>, sample: Option<u64>, rng: &mut StdRng) -> Ids {
        match sample {
            Some(n) if (n as usize) < ids.len() => {
                let mut picked: Vec<u64> =
                    rand::seq::index::sample(rng, ids.len(), n as usize).into_iter().map(|i| ids[i]).collect();
                picked.sort_unstable();
                Ids::Picked(picked)
            }
            _ => Ids::Picked(ids),
        }
    }

    pub(super) fn pick(max: u64, sample: Option<u64>, rng: &mut StdRng) -> Ids {
        match sample {
            Some(n) if n < max => {
                let mut ids: Vec<u64> =
                    rand::seq::index::sample(rng, max as usize, n as usize).into_iter().map(|i| i as u64 + 1).collect();
                ids.sort_unstable();
                Ids::Picked(ids)
            }
            _ => Ids::All(max),
        }
    }

    pub(super) fn chunks(&self) -> Box<dyn Iterator<Item = Vec<u64>> + Send + '_> {
        match self {
            Ids::All(max) => {
                let max = *max;
                let step = CHUNK as u64;
                Box::new((0..max.div_ceil(step)).map(move |c| (c * step + 1..=((c + 1) * step).min(max)).collect()))
            }
            Ids::Picked(ids) => Box::new(ids.chunks(CHUNK).map(<[u64]>::to_vec)),
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    pub(super) fn samples_are_distinct_sorted_ids_in_range_and_all_means_all() {
        let mut rng = StdRng::seed_from_u64(7);
        let Ids::Picked(ids) = Ids::pick(10_000, Some(600), &mut rng) else { panic!("a sample") };
        assert_eq!(ids.len(), 600);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "sorted and distinct");
        assert!(ids.iter().all(|id| (1..=10_000).contains(id)));
        let chunks: Vec<Vec<u64>> = Ids::Picked(ids.clone()).chunks().collect();
        assert_eq!(chunks.iter().map(Vec::len).collect::<Vec<_>>(), vec![CHUNK, 100]);
        // The same seed draws the same sample.
        let Ids::Picked(again) = Ids::pick(10_000, Some(600), &mut StdRng::seed_from_u64(7)) else { panic!() };
        assert_eq!(again, ids);
        // A sample as big as the range is everything.
        let all: Vec<u64> = Ids::pick(1001, Some(5000), &mut rng).chunks().flatten().collect();
        assert_eq!(all, (1..=1001).collect::<Vec<_>>());
        assert_eq!(Ids::pick(0, None, &mut rng).chunks().count(), 0);
    }
}
