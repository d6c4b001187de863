/// A doubly linked list of entries from most to least recently used, in one array so that touching an entry
/// (moving it to the front) and evicting the least recent one are O(1) with no allocation. The memory store's, and
/// the Redis store's near cache's.
package struct RecencyList {
    package struct Node {
        package var space: Int
        package var key: String
        var previous: Int32
        var next: Int32
    }

    package private(set) var nodes: [Node] = []
    private var free: [Int32] = []
    private var head: Int32 = -1
    package private(set) var tail: Int32 = -1

    package init() {}

    /// Adds an entry as the most recently used; returns its node.
    package mutating func insert(space: Int, key: String) -> Int32 {
        let node = Node(space: space, key: key, previous: -1, next: self.head)
        let index: Int32
        if let reused = self.free.popLast() {
            index = reused
            self.nodes[Int(index)] = node
        } else {
            index = Int32(self.nodes.count)
            self.nodes.append(node)
        }
        if self.head >= 0 { self.nodes[Int(self.head)].previous = index }
        self.head = index
        if self.tail < 0 { self.tail = index }
        return index
    }

    /// Marks an entry as the most recently used.
    package mutating func touch(_ index: Int32) {
        guard index != self.head else { return }
        self.unlink(index)
        self.nodes[Int(index)].previous = -1
        self.nodes[Int(index)].next = self.head
        if self.head >= 0 { self.nodes[Int(self.head)].previous = index }
        self.head = index
        if self.tail < 0 { self.tail = index }
    }

    /// Removes an entry's node.
    package mutating func remove(_ index: Int32) {
        self.unlink(index)
        self.nodes[Int(index)].key = ""
        self.free.append(index)
    }

    private mutating func unlink(_ index: Int32) {
        let node = self.nodes[Int(index)]
        if node.previous >= 0 { self.nodes[Int(node.previous)].next = node.next } else { self.head = node.next }
        if node.next >= 0 { self.nodes[Int(node.next)].previous = node.previous } else { self.tail = node.previous }
    }
}
