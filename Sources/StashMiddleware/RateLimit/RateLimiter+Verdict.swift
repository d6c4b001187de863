import Stash
import Tracing

extension RateLimiter {
    /// What the limiter decided of a request, before the handler runs (or not).
    enum Verdict {
        /// The policies' decisions; none when no policy applies to the request.
        case decided(RateLimitDecisions<Decided>)
        /// The store failed and no insurance limiter could decide: the failure mode answers.
        case failed(any Error)

        /// Says the verdict on the span of the decision: `stash.rate_limit.outcome`, `.policies`, `.refused_by`,
        /// `.insured`; a failure recorded as its code.
        func describe(on span: any Span) {
            switch self {
            case .decided(let decisions):
                guard !decisions.isEmpty else { return }
                let refusedBy = decisions.filter { !$0.1.isAllowed }.map { $0.0.limit.policy.name }
                span.updateAttributes { attributes in
                    attributes["stash.rate_limit.outcome"] = refusedBy.isEmpty ? "admitted" : "refused"
                    attributes["stash.rate_limit.policies"] = decisions.map { $0.0.limit.policy.name }
                    if !refusedBy.isEmpty { attributes["stash.rate_limit.refused_by"] = refusedBy }
                    if decisions.contains(where: { $0.0.insured }) { attributes["stash.rate_limit.insured"] = true }
                }
            case .failed(let error):
                span.attributes["stash.rate_limit.outcome"] = "error"
                span.recordFailure(error)
            }
        }
    }
}
