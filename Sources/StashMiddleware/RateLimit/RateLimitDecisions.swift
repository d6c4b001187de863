import Stash

/// The decisions of one request, one per policy that applied, in order: the first held inline, so that the common
/// case of one policy allocates no array.
struct RateLimitDecisions<Limit>: RandomAccessCollection {
    private var first: (Limit, RateLimitDecision)?
    private var rest: [(Limit, RateLimitDecision)] = []
    /// Whether a policy refused, and the longest wait a refusal named.
    private var refused = false
    private var longestWait: Duration?

    init() {}

    var startIndex: Int { 0 }

    var endIndex: Int {
        self.first == nil ? 0 : 1 + self.rest.count
    }

    subscript(position: Int) -> (Limit, RateLimitDecision) {
        position == 0 ? self.first! : self.rest[position - 1]
    }

    mutating func append(_ limit: Limit, _ decision: RateLimitDecision) {
        if !decision.isAllowed {
            self.refused = true
            if let wait = decision.retryAfter { self.longestWait = Swift.max(self.longestWait ?? wait, wait) }
        }
        if self.first == nil {
            self.first = (limit, decision)
        } else {
            self.rest.append((limit, decision))
        }
    }

    /// The longest wait the refusals ask for (1 s when none names one), or `nil` when every policy admits.
    var longestRefusal: Duration? {
        self.refused ? self.longestWait ?? .seconds(1) : nil
    }
}
