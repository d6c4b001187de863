import Foundation
import NIOCore
import Stash
import Testing

@testable import StashRedis

/// The pure parts of cluster routing: key slots, topology replies, redirections, and the router's decisions, event
/// by event, without a server.
@Suite struct RedisClusterRoutingTests {
    typealias Node = RedisClusterTopology.Node

    @Test func keySlotsAreCRC16OfTheKeyOrItsHashTag() {
        // The specification's check value, and slots as CLUSTER KEYSLOT gives them.
        "123456789".utf8CString.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: UInt8.self) { bytes in
                let text = UnsafeBufferPointer(rebasing: bytes.dropLast())
                #expect(RedisKeySlot.crc16(text[...]) == 0x31C3)
            }
        }
        #expect(RedisKeySlot.slot(of: "foo") == 12182)
        #expect(RedisKeySlot.slot(of: "bar") == 5061)
        #expect(RedisKeySlot.slot(of: "hello") == 866)
        #expect(RedisKeySlot.slot(of: "{user1000}.following") == RedisKeySlot.slot(of: "user1000"))
        #expect(RedisKeySlot.slot(of: "{user1000}.followers") == RedisKeySlot.slot(of: "user1000"))
        // An empty tag, or none closed, hashes the whole key.
        #expect(RedisKeySlot.slot(of: "foo{}{bar}") == RedisKeySlot.slot(of: "foo{}{bar}"))
        #expect(RedisKeySlot.slot(of: "foo{}{bar}") != RedisKeySlot.slot(of: "bar"))
        #expect(RedisKeySlot.slot(of: "foo{{bar}}zap") == RedisKeySlot.slot(of: "{bar"))
        #expect(RedisKeySlot.slot(of: "foo{bar}{zap}") == RedisKeySlot.slot(of: "bar"))
        #expect(RedisKeySlot.slot(of: "") == 0)
        #expect((0..<RedisKeySlot.count).contains(RedisKeySlot.slot(of: "caf\u{E9} ☕️")))
    }

    static func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }

    @Test func clusterShardsAndClusterSlotsRepliesGiveTheSameTopology() throws {
        let asked = Node(host: "10.0.0.1", port: 7000)
        func node(_ ip: String, _ port: Int64, role: String, health: String = "online") -> RESPValue {
            .map([
                Self.bulk("id"), Self.bulk("abc"), Self.bulk("port"), .integer(port), Self.bulk("ip"), Self.bulk(ip),
                Self.bulk("endpoint"), Self.bulk(ip), Self.bulk("role"), Self.bulk(role), Self.bulk("health"), Self.bulk(health),
            ])
        }
        let shards = RESPValue.array([
            .map([
                Self.bulk("slots"), .array([.integer(0), .integer(5460)]),
                Self.bulk("nodes"), .array([node("10.0.0.1", 7000, role: "master"), node("10.0.0.4", 7003, role: "replica")]),
            ]),
            // RESP2 spells a map as a list of keys and values; an endpoint of "?" is the asked node's host.
            .array([
                Self.bulk("slots"), .array([.integer(5461), .integer(10922)]),
                Self.bulk("nodes"), .array([node("?", 7001, role: "master")]),
            ]),
            .map([
                Self.bulk("slots"), .array([.integer(10923), .integer(16000), .integer(16001), .integer(16383)]),
                Self.bulk("nodes"), .array([node("10.0.0.3", 7002, role: "master"), node("10.0.0.9", 7009, role: "master", health: "failed")]),
            ]),
        ])
        let fromShards = try #require(RedisClusterTopology.fromShards(shards, asked: asked, tls: false))
        #expect(fromShards.coversEverySlot)
        #expect(fromShards.primaries == [asked, Node(host: "10.0.0.1", port: 7001), Node(host: "10.0.0.3", port: 7002)])
        #expect(fromShards.primary(forSlot: 0) == asked && fromShards.primary(forSlot: 5461)?.port == 7001)
        #expect(fromShards.primary(forSlot: 16383)?.port == 7002)

        func range(_ start: Int64, _ end: Int64, _ host: String, _ port: Int64) -> RESPValue {
            .array([
                .integer(start), .integer(end), .array([Self.bulk(host), .integer(port), Self.bulk("id")]), .array([Self.bulk("r"), .integer(1)]),
            ])
        }
        let slots = RESPValue.array([
            range(0, 5460, "10.0.0.1", 7000), range(5461, 10922, "", 7001), range(10923, 16383, "10.0.0.3", 7002),
        ])
        #expect(RedisClusterTopology.fromSlots(slots, asked: asked) == fromShards)
        #expect(RedisClusterTopology.fromShards(Self.bulk("garbage"), asked: asked, tls: false) == nil)
        #expect(RedisClusterTopology.fromSlots(.array([.array([.integer(5), .integer(1), .array([])])]), asked: asked) == nil)
    }

    @Test func theSlotsANodeServesAndThoseThatChangedHands() {
        let a = RedisClusterTopology.Node(host: "a", port: 1)
        let b = RedisClusterTopology.Node(host: "b", port: 1)
        let c = RedisClusterTopology.Node(host: "c", port: 1)
        var before = RedisClusterTopology()
        before.assign(0...8_000, to: a)
        before.assign(8_001...16_383, to: b)
        let served = before.slots(servedBy: a)
        #expect(served.filter { $0 }.count == 8_001 && served[8_000] && !served[8_001])
        #expect(!before.slots(servedBy: c).contains(true), "a node the topology does not know serves nothing")

        var after = before
        after.move(slot: 5, to: b)
        after.assign(10_000...10_009, to: c)
        let moved = after.slotsMoved(since: before)
        #expect(moved.indices.filter { moved[$0] } == [5] + Array(10_000...10_009))
        #expect(!before.slotsMoved(since: before).contains(true))
        #expect(!RedisClusterTopology().slotsMoved(since: before).contains(false), "a topology that lost every slot")
        #expect(!before.slotsMoved(since: RedisClusterTopology()).contains(true), "the first topology moves nothing")
    }

    @Test func movedAndAskRepliesAreRead() {
        let asked = Node(host: "10.0.0.1", port: 7000)
        func redirect(_ text: String) -> RedisClusterRedirect? {
            RedisClusterRedirect(.simpleError(ByteBuffer(string: text)), asked: asked)
        }
        #expect(redirect("MOVED 3999 10.0.0.2:7001") == .moved(slot: 3999, to: Node(host: "10.0.0.2", port: 7001)))
        #expect(redirect("ASK 3999 10.0.0.2:7001") == .ask(slot: 3999, to: Node(host: "10.0.0.2", port: 7001)))
        #expect(redirect("MOVED 1 :7005") == .moved(slot: 1, to: Node(host: "10.0.0.1", port: 7005)))
        #expect(redirect("MOVED 1 [::1]:7005") == .moved(slot: 1, to: Node(host: "::1", port: 7005)))
        #expect(redirect("TRYAGAIN Multiple keys request during rehashing of slot") == .tryAgain)
        #expect(redirect("CLUSTERDOWN The cluster is down") == .tryAgain)
        for garbage in ["MOVED", "MOVED 99999 h:1", "MOVED 1 h:0", "MOVED x h:1", "ERR wrong", "MOVED 1 h"] {
            #expect(redirect(garbage) == nil, "\(garbage)")
        }
        #expect(RedisClusterRedirect(.bulkString(ByteBuffer(string: "MOVED 1 h:1")), asked: asked) == nil)
    }

    @Test func theStateMachineFollowsRedirectionsWithinItsBounds() {
        let a = Node(host: "a", port: 1)
        let b = Node(host: "b", port: 2)
        var topology = RedisClusterTopology()
        topology.assign(0...16383, to: a)
        var machine = RedisClusterStateMachine(topology: topology)
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        let deadline = start + .seconds(5)

        let result1 = machine.replied(nil, attempt: 1, now: start, deadline: deadline)
        #expect(result1 == (.deliver, false))
        // MOVED: there at once, the slot remembered, and one topology read.
        let moved = machine.replied(.moved(slot: 42, to: b), attempt: 1, now: start, deadline: deadline)
        #expect(moved == (.retry(on: b, asking: false), true))
        #expect(machine.primary(forSlot: 42) == b && machine.primary(forSlot: 43) == a)
        #expect(machine.isRefreshing)
        // While it reads, more MOVED replies start no second read.
        let result2 = machine.replied(.moved(slot: 43, to: b), attempt: 1, now: start, deadline: deadline)
        #expect(result2.refresh == false)
        machine.refreshEnded(nil, now: start + .milliseconds(1))
        #expect(!machine.isRefreshing && machine.primary(forSlot: 43) == b, "a failed read keeps what is known")
        // The one requested meanwhile waits for the interval, then the next command starts it.
        let early = machine.dueRefresh(now: start + .milliseconds(50))
        #expect(!early)
        let result3 = machine.dueRefresh(now: start + .milliseconds(150))
        #expect(result3)
        var fresh = RedisClusterTopology()
        fresh.assign(0...16383, to: b)
        machine.refreshEnded(fresh, now: start + .milliseconds(160))
        #expect(machine.primary(forSlot: 0) == b && machine.topology.primaries == [b])

        // ASK: that node once, after ASKING; the slot map is unchanged.
        let result4 = machine.replied(.ask(slot: 7, to: a), attempt: 1, now: start, deadline: deadline)
        #expect(result4 == (.retry(on: a, asking: true), false))
        #expect(machine.primary(forSlot: 7) == b)

        // TRYAGAIN: pauses that double, never past the deadline.
        let result5 = machine.replied(.tryAgain, attempt: 1, now: start, deadline: deadline)
        #expect(result5.action == .retryAfter(.milliseconds(10)))
        let result6 = machine.replied(.tryAgain, attempt: 3, now: start, deadline: deadline)
        #expect(result6.action == .retryAfter(.milliseconds(40)))
        let result7 = machine.replied(.tryAgain, attempt: 10, now: start, deadline: deadline)
        #expect(result7.action == .retryAfter(.milliseconds(250)))
        let result8 = machine.replied(.tryAgain, attempt: 2, now: deadline - .milliseconds(3), deadline: deadline)
        #expect(result8.action == .retryAfter(.milliseconds(3)))

        // Bounds: too many attempts, or time over, fails.
        let exhausted = machine.replied(.tryAgain, attempt: RedisClusterStateMachine.maximumAttempts, now: start, deadline: deadline)
        if case .fail = exhausted.action {
        } else {
            Issue.record("the attempts are bounded")
        }
        let late = machine.replied(.moved(slot: 1, to: a), attempt: 1, now: deadline, deadline: deadline)
        if case .fail = late.action {
        } else {
            Issue.record("the time is bounded")
        }
        // An unreachable node: pause, read the topology again (not more often than the interval).
        let unreachable = machine.unreachable(waits: 0, now: start + .seconds(1), deadline: deadline)
        #expect(unreachable == (.retryAfter(.milliseconds(10)), true))
        // Waits are not sends: however many, only the deadline ends them.
        let manyWaits = machine.unreachable(waits: 100, now: start + .seconds(2), deadline: deadline)
        #expect(manyWaits.action == .retryAfter(.milliseconds(250)))
        if case .fail = machine.unreachable(waits: 1, now: deadline, deadline: deadline).action {
        } else {
            Issue.record("waits end with the deadline")
        }
        let result9 = machine.unreachable(waits: 1, now: start + .seconds(1), deadline: deadline)
        #expect(result9.refresh == false)
    }
}

/// On a cluster, a script may touch only the keys it declares (they decide its node): every Stash script declares
/// one, and each command in it names `KEYS[1]` — or, in the chunked helper, the key it is given, always `KEYS[1]`.
@Suite struct RedisScriptKeyTests {
    static let scripts: [(String, RedisScript)] = [
        ("getRenewing", .getRenewing), ("increment", .increment), ("compareAndSet", .compareAndSet), ("rateLimit", .rateLimit),
        ("recordRenewing", .recordRenewing), ("insertRecord", .insertRecord), ("mergeRecord", .mergeRecord),
        ("takeRecord", .takeRecord),
    ]

    @Test func everyCommandOfEveryScriptNamesOnlyItsDeclaredKey() throws {
        let keyless: Set<String> = ["'TIME'"]
        for (name, script) in Self.scripts {
            var calls = 0
            for call in script.source.split(separator: "redis.call(").dropFirst() {
                let arguments = call.prefix { $0 != ")" }.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                calls += 1
                if arguments.count == 1, keyless.contains(arguments[0]) { continue }
                #expect(arguments.count >= 2 && ["KEYS[1]", "key"].contains(arguments[1]), "\(name): redis.call(\(call.prefix(40))")
            }
            #expect(calls > 0, "\(name)")
            for helper in script.source.split(separator: "chunked(").dropFirst() where !helper.hasPrefix("command") {
                let arguments = helper.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                #expect(arguments.count > 1 && arguments[1] == "KEYS[1]", "\(name): chunked(\(helper.prefix(40))")
            }
            #expect(!script.source.contains("KEYS[2]"), "\(name) declares one key")
        }
    }
}
