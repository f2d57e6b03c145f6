//! Which requests are recorded.

use super::context::TraceId;

/// Samples a request whose `traceparent` does not say sampled with probability `ratio`,
/// by its trace id (OpenTelemetry's `TraceIdRatioBased`: every service that samples by
/// the same ratio makes the same decision for a trace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sampler {
    /// Trace ids whose low 64 bits are below this are sampled; `None` samples all.
    below: Option<u64>,
}

// === impl Sampler ===

impl Sampler {
    /// `ratio` in `0.0..=1.0` (validated by the configuration; anything outside is clamped
    /// to never or always).
    pub fn ratio(ratio: f64) -> Self {
        match ratio {
            r if r >= 1.0 => Sampler { below: None },
            r if r > 0.0 => Sampler { below: Some((r * 18_446_744_073_709_551_616.0) as u64) },
            _ => Sampler { below: Some(0) },
        }
    }

    /// Parent-based: a sampled parent is always followed; otherwise the ratio decides.
    pub fn samples(&self, parent_sampled: bool, trace_id: &TraceId) -> bool {
        parent_sampled
            || match self.below {
                None => true,
                Some(0) => false,
                Some(below) => trace_id.low_u64() < below,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ratio_decides_unless_the_parent_sampled() {
        let ids: Vec<TraceId> = (0..2000).map(|_| TraceId::random()).collect();
        let never = Sampler::ratio(0.0);
        assert!(ids.iter().all(|id| !never.samples(false, id)));
        assert!(ids.iter().all(|id| never.samples(true, id)), "a sampled parent is followed");
        assert!(ids.iter().all(|id| Sampler::ratio(1.0).samples(false, id)));
        let half = ids.iter().filter(|id| Sampler::ratio(0.5).samples(false, id)).count();
        assert!((800..1200).contains(&half), "{half} of 2000 at 0.5");
    }

    #[test]
    fn the_decision_is_the_trace_ids() {
        let sampler = Sampler::ratio(0.25);
        let id = TraceId::random();
        assert_eq!(sampler.samples(false, &id), sampler.samples(false, &id));
    }
}
