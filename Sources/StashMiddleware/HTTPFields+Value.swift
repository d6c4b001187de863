import HTTPTypes

extension HTTPFields {
    /// The value of the field `name`, as `self[name]` gives it — the lines of a field sent more than once joined by
    /// commas (by `; ` for `Cookie`) — without joining when the field has one line, as almost every field has.
    ///
    /// `self[name]` joins even a single line, through a lazy sequence whose generic metadata the runtime looks up on
    /// every read, into a new string: in a profile of a revalidated hit, about a tenth of its time went to reading
    /// `ETag` and `Last-Modified` that way.
    func value(of name: HTTPField.Name) -> String? {
        var value: String?
        for field in self where field.name == name {
            // A second line: joined as HTTPFields joins them.
            guard value == nil else { return self[name] }
            value = field.value
        }
        return value
    }
}
