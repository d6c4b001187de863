import Stash
import Tracing

extension RateLimiter {
    /// Says a request's decisions on the span of the decision: `stash.rate_limit.outcome` (`admitted`, `refused`, or
    /// `error` with the store's failure recorded as its code), `.policies`, `.refused_by` and `.insured`; nothing
    /// when no policy applied.
    static func describe(_ decisions: RateLimitDecisions<Decided>, failure: (any Error)?, on span: any Span) {
        if let failure {
            span.attributes["stash.rate_limit.outcome"] = "error"
            span.recordFailure(failure)
            return
        }
        guard !decisions.isEmpty else { return }
        let refusedBy = decisions.filter { !$0.1.isAllowed }.map { $0.0.limit.policy.name }
        span.updateAttributes { attributes in
            attributes["stash.rate_limit.outcome"] = refusedBy.isEmpty ? "admitted" : "refused"
            attributes["stash.rate_limit.policies"] = decisions.map { $0.0.limit.policy.name }
            if !refusedBy.isEmpty { attributes["stash.rate_limit.refused_by"] = refusedBy }
            if decisions.contains(where: { $0.0.insured }) { attributes["stash.rate_limit.insured"] = true }
        }
    }
}
