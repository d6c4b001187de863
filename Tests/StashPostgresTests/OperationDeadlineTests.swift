import Testing

@testable import StashPostgres

/// The race between an operation's end and its deadline, in every order, without a server.
@Suite struct OperationDeadlineTests {
    @Test func whateverComesFirstDecidesAndTheOtherChangesNothing() async {
        let finishedFirst = OperationDeadline()
        finishedFirst.finish()
        finishedFirst.expire()
        #expect(await finishedFirst.wait() == true)
        #expect(!finishedFirst.hasExpired, "a timer that fires after the end is too late")

        let expiredFirst = OperationDeadline()
        expiredFirst.expire()
        expiredFirst.finish()
        #expect(await expiredFirst.wait() == false)
        #expect(expiredFirst.hasExpired)
    }

    @Test(arguments: [true, false])
    func aWaitingParentIsWokenByEither(_ finishing: Bool) async {
        let deadline = OperationDeadline()
        async let outcome = deadline.wait()
        // Let the parent start waiting, then end the race from another task.
        await Task.yield()
        await Task { finishing ? deadline.finish() : deadline.expire() }.value
        #expect(await outcome == finishing)
        #expect(deadline.hasExpired == !finishing)
    }
}
