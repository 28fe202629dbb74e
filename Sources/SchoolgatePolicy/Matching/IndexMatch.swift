/// A list entry that covers a request, named by numbers: which source, which kind of entry, and
/// where its text lies.
///
/// A decision looks at every match but reports one. Building a `ListMatch` (two references,
/// each retained and released on every copy) for each of them was most of the cost of deciding
/// on a listed host; these are plain bits, and only the reported one becomes a `ListMatch`.
struct IndexMatch: Sendable, Equatable {
    /// Index into `ListIndex.sources`.
    var source: Int32
    var kind: ListMatch.Kind
    /// Domain: the entry is the host from byte `start` on. URL: the host from byte `start`, then
    /// the path's first `end` bytes. Expression: `start` is its index in `ListIndex.expressions`.
    var start: Int32
    var end: Int32 = 0

    /// How long the entry's text is, for "longer over shorter".
    func entryLength(hostLength: Int) -> Int {
        switch kind {
        case .domain: hostLength - Int(start)
        case .url: hostLength - Int(start) + Int(end)
        case .expression: 0
        }
    }
}

extension ListIndex {
    /// The order in which matches are reported: URL over domain over expression, longer over
    /// shorter, then by category and file name.
    func isMoreSpecific(_ a: IndexMatch, than b: IndexMatch, hostLength: Int) -> Bool {
        func rank(_ kind: ListMatch.Kind) -> Int { kind == .url ? 0 : kind == .domain ? 1 : 2 }
        if rank(a.kind) != rank(b.kind) { return rank(a.kind) < rank(b.kind) }
        if a.kind != .expression {
            let lengthA = a.entryLength(hostLength: hostLength), lengthB = b.entryLength(hostLength: hostLength)
            if lengthA != lengthB { return lengthA > lengthB }
        }
        return sourceOrder[Int(a.source)] < sourceOrder[Int(b.source)]
    }

    /// The match as reported: its source, and the entry's text recovered from the request.
    func listMatch(_ match: IndexMatch, host: HostName, path: String?) -> ListMatch {
        let text = host.text
        let entry: Substring = switch match.kind {
        case .domain:
            // The offset is on a label boundary, so a valid index of the text.
            text[text.utf8.index(text.utf8.startIndex, offsetBy: Int(match.start))...]
        case .url:
            Substring(String(decoding: text.utf8.dropFirst(Int(match.start)), as: UTF8.self)
                + String(decoding: (path ?? "").utf8.prefix(Int(match.end)), as: UTF8.self))
        case .expression:
            Substring(expressions[Int(match.start)].pattern)
        }
        return ListMatch(source: sources[Int(match.source)], entryText: entry, kind: match.kind)
    }
}
